//! Servers this client trusts: fingerprints pinned at first contact (trust on first use).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::protocol::normalize_fingerprint;

/// A server trusted before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownServer {
    /// Its id.
    pub server_id: String,
    /// Its pinned certificate fingerprint.
    pub fingerprint: String,
    /// Its publication name.
    pub publication_name: String,
    /// Addresses it was reached at (`host:port`).
    #[serde(default)]
    pub addresses: Vec<String>,
    /// When it was first trusted (ms since the epoch).
    #[serde(default)]
    pub trusted_at_ms: u64,
}

/// What the store says about a presented identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Pinned and matching.
    Trusted,
    /// Never seen: ask the user.
    New,
    /// Pinned with another fingerprint.
    Changed {
        /// The pinned fingerprint.
        expected: String,
    },
}

/// The list of trusted servers, in `known_servers.json`.
#[derive(Debug, Clone)]
pub struct TrustStore {
    path: PathBuf,
}

impl TrustStore {
    /// The store kept in `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            path: dir.join("known_servers.json"),
        }
    }

    /// Every trusted server (an unreadable file counts as empty, never as trusted).
    pub fn list(&self) -> Vec<KnownServer> {
        std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Judges `fingerprint`, presented by a server claiming `server_id`, reached at `address`:
    /// an entry with that id, or else with that address and publication name, must match. With
    /// `by_name` (the server was found by its name, at an address it announced itself), an entry
    /// with that publication name anywhere must match too.
    pub fn verdict(
        &self,
        server_id: &str,
        address: &str,
        name: &str,
        fingerprint: &str,
        by_name: bool,
    ) -> Verdict {
        let list = self.list();
        let known = list
            .iter()
            .find(|k| k.server_id == server_id)
            .or_else(|| {
                list.iter().find(|k| {
                    k.publication_name == name && k.addresses.iter().any(|a| a == address)
                })
            })
            .or_else(|| {
                by_name
                    .then(|| list.iter().find(|k| k.publication_name == name))
                    .flatten()
            });
        match known {
            None => Verdict::New,
            Some(k)
                if normalize_fingerprint(&k.fingerprint) == normalize_fingerprint(fingerprint) =>
            {
                Verdict::Trusted
            }
            Some(k) => Verdict::Changed {
                expected: k.fingerprint.clone(),
            },
        }
    }

    /// Pins (or re-pins) a server.
    ///
    /// # Errors
    /// The I/O error when the store cannot be written.
    pub fn trust(
        &self,
        server_id: &str,
        address: &str,
        name: &str,
        fingerprint: &str,
    ) -> std::io::Result<()> {
        let mut list = self.list();
        list.retain(|k| {
            k.server_id != server_id
                && !(k.publication_name == name && k.addresses.iter().any(|a| a == address))
        });
        let mut addresses = vec![address.to_owned()];
        addresses.dedup();
        list.push(KnownServer {
            server_id: server_id.to_owned(),
            fingerprint: fingerprint.to_owned(),
            publication_name: name.to_owned(),
            addresses,
            trusted_at_ms: crate::time::now_ms(),
        });
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let bytes = serde_json::to_vec_pretty(&list).map_err(std::io::Error::other)?;
        crate::fsutil::write_atomic(&self.path, &bytes)
    }

    /// Remembers another address of a trusted server.
    pub fn note_address(&self, server_id: &str, address: &str) {
        let mut list = self.list();
        let Some(k) = list.iter_mut().find(|k| k.server_id == server_id) else {
            return;
        };
        if k.addresses.iter().any(|a| a == address) {
            return;
        }
        k.addresses.push(address.to_owned());
        if let Ok(bytes) = serde_json::to_vec_pretty(&list) {
            let _ = crate::fsutil::write_atomic(&self.path, &bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_use_then_pinned_then_changed() {
        let dir = tempfile::tempdir().unwrap();
        let t = TrustStore::new(dir.path());
        assert_eq!(
            t.verdict("id1", "h:1", "Shop", "AA:BB", false),
            Verdict::New
        );
        t.trust("id1", "h:1", "Shop", "AA:BB").unwrap();
        assert_eq!(
            t.verdict("id1", "h:1", "Shop", "aabb", false),
            Verdict::Trusted
        );
        assert_eq!(
            t.verdict("id1", "other:1", "Shop", "AA:BB", false),
            Verdict::Trusted
        );
        assert_eq!(
            t.verdict("id1", "h:1", "Shop", "CC:DD", false),
            Verdict::Changed {
                expected: "AA:BB".into()
            }
        );
        // Another id at the same address with the same name: still the pinned one is expected.
        assert_eq!(
            t.verdict("id2", "h:1", "Shop", "CC:DD", false),
            Verdict::Changed {
                expected: "AA:BB".into()
            }
        );
        assert_eq!(
            t.verdict("id3", "x:1", "Other", "CC:DD", false),
            Verdict::New
        );
        // Found by name at another address, with another id: the server trusted under that
        // name is expected (an announcement is not a reason to trust).
        assert_eq!(
            t.verdict("id9", "x:1", "Shop", "EE:FF", false),
            Verdict::New
        );
        assert_eq!(
            t.verdict("id9", "x:1", "Shop", "EE:FF", true),
            Verdict::Changed {
                expected: "AA:BB".into()
            }
        );
        t.trust("id2", "h:1", "Shop", "CC:DD").unwrap();
        assert_eq!(
            t.verdict("id2", "h:1", "Shop", "CC:DD", false),
            Verdict::Trusted
        );
        assert_eq!(t.list().len(), 1, "the replaced identity is forgotten");
        std::fs::write(dir.path().join("known_servers.json"), "garbage").unwrap();
        assert_eq!(
            t.verdict("id2", "h:1", "Shop", "CC:DD", false),
            Verdict::New,
            "a damaged store never trusts"
        );
    }
}
