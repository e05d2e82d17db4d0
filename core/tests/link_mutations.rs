//! A stable-Rust stand-in for the cargo-fuzz target (`fuzz/`): thousands of deterministic
//! mutations of valid links must never panic, and what parses must round-trip.

use remote4d_core::link::Link;

const SEEDS: &[&str] = &[
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<database_shortcut is_remote=\"true\" server_database_name=\"Invoices\" server_path=\"192.0.2.10:19813\"/>",
    "\u{feff}<?xml version=\"1.0\"?>\r\n<database_shortcut is_remote=\"true\" server_database_name=\"A &amp; B &#233;\" server_path=\"[fd00::1]:19820\" user_name=\"Désirée\" structure_opening_mode=\"2\" x=\"y\"/>",
    "<database_shortcut structure_file=\"file:///a b/c.4DProject\" data_opening_mode=\"3\" reopen_design_windows=\"false\"/>",
    "<!DOCTYPE d [<!ENTITY a \"b\">]><database_shortcut/>",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn mutated_links_never_panic_and_accepted_ones_round_trip() {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let specials = b"<>&;\"'=/[]:#\0\xff\xc3\r\n ";
    let mut accepted = 0;
    for i in 0..20_000 {
        let mut bytes = SEEDS[i % SEEDS.len()].as_bytes().to_vec();
        for _ in 0..1 + rng.next() % 4 {
            let pos = (rng.next() as usize) % (bytes.len() + 1);
            match rng.next() % 4 {
                0 if pos < bytes.len() => {
                    bytes.remove(pos);
                }
                1 => bytes.insert(pos, specials[(rng.next() as usize) % specials.len()]),
                2 if pos < bytes.len() => bytes[pos] = rng.next() as u8,
                _ => bytes.truncate(pos),
            }
        }
        if let Ok(link) = Link::parse(&bytes) {
            accepted += 1;
            let xml = link.to_xml();
            let again = Link::parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{xml}: {e}"));
            assert_eq!(again, link);
            assert_eq!(again.to_xml(), xml);
        }
    }
    assert!(
        accepted > 100,
        "the mutations should keep some links valid ({accepted})"
    );
}
