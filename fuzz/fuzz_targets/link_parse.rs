//! Fuzz the `.4DLink` parser: it must never panic, and what it accepts must round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remote4d_core::link::Link;

fuzz_target!(|data: &[u8]| {
    if let Ok(link) = Link::parse(data) {
        let xml = link.to_xml();
        let again = Link::parse(xml.as_bytes()).expect("our own output parses");
        assert_eq!(again, link, "round trip");
        assert_eq!(again.to_xml(), xml, "stable writing");
    }
});
