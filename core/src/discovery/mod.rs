//! DNS-SD over mDNS: servers publish `_remote4d._tcp.local.`; clients browse it.
//!
//! The instance name is the publication name (UTF-8; truncated to the 63-byte DNS label limit,
//! the full name also travels in the TXT record). TXT keys: `id` (server id), `fp` (certificate
//! fingerprint, hex), `stamp` (project stamp), `pv` (protocol version), `name` (publication name).
//!
//! mdns-sd joins multicast groups on every interface as soon as it starts: on development
//! machines run it only inside a private network namespace.

mod browse;
mod publish;

pub use browse::{BrowseHandle, DiscoveredServer, DiscoveryEvent, browse};
pub use publish::{Publication, Publisher};

/// Why discovery could not start or act.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The mDNS daemon failed.
    #[error("network discovery (mDNS) failed: {0}")]
    Mdns(#[from] mdns_sd::Error),
}

/// The largest DNS label, in bytes.
const MAX_LABEL: usize = 63;

/// `name` cut to at most 63 bytes at a character boundary.
pub(crate) fn instance_label(name: &str) -> String {
    let mut end = name.len().min(MAX_LABEL);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_cut_at_character_boundaries() {
        assert_eq!(instance_label("私のサーバー"), "私のサーバー");
        let long = "é".repeat(40);
        let l = instance_label(&long);
        assert!(l.len() <= 63 && l.chars().all(|c| c == 'é'));
        assert_eq!(l.chars().count(), 31);
    }
}
