//! Mirrors: places that serve the server's own paths under another base URL (a caching reverse
//! proxy such as nginx `proxy_cache`, a CDN, a plain copy), named by the server in its info.
//! Clients fetch stamped archives and deltas there first and verify every byte against the
//! stamp the pinned server gave: a mirror needs no trust.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// One mirror, as `[[mirror]]` in `server.toml` names it and `/info` announces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mirror {
    /// Its base URL (`https://cache.site-b.example:8443`, or with a path prefix): the server's
    /// paths are appended to it.
    pub url: String,
    /// Clients with an address in one of these networks (`10.2.0.0/16`, `fd00:2::/32`) try it
    /// before the others (the mirror of their site); empty: no preference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<String>,
}

/// Why a mirror's description is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadMirror {
    /// Not an `https://host[:port][/prefix]` URL.
    #[error("mirror {url:?}: not an https:// URL (https://host[:port][/prefix])")]
    Url {
        /// The URL given.
        url: String,
    },
    /// A subnet that is not `address/length`.
    #[error("mirror {url:?}: {subnet:?} is not a network (address/length, as 10.2.0.0/16)")]
    Subnet {
        /// The mirror's URL.
        url: String,
        /// The subnet given.
        subnet: String,
    },
}

impl Mirror {
    /// Checks the URL and the subnets.
    ///
    /// # Errors
    /// [`BadMirror`] naming what is wrong.
    pub fn validate(&self) -> Result<(), BadMirror> {
        let rest = self
            .url
            .strip_prefix("https://")
            .filter(|r| !r.is_empty() && !r.starts_with('/') && !r.contains(['?', '#', ' ']))
            .ok_or_else(|| BadMirror::Url {
                url: self.url.clone(),
            })?;
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() || authority.contains('@') {
            return Err(BadMirror::Url {
                url: self.url.clone(),
            });
        }
        for s in &self.subnets {
            if parse_subnet(s).is_none() {
                return Err(BadMirror::Subnet {
                    url: self.url.clone(),
                    subnet: s.clone(),
                });
            }
        }
        Ok(())
    }

    /// The base URL without a trailing `/`.
    pub fn base(&self) -> &str {
        self.url.trim_end_matches('/')
    }

    /// True when one of `addresses` is in one of its subnets.
    pub fn prefers(&self, addresses: &[IpAddr]) -> bool {
        self.subnets
            .iter()
            .filter_map(|s| parse_subnet(s))
            .any(|(net, len)| addresses.iter().any(|a| in_subnet(*a, net, len)))
    }
}

/// `address/length` (a bare address is a network of that one address).
fn parse_subnet(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match s.trim().split_once('/') {
        Some((a, l)) => (a.parse::<IpAddr>().ok()?, l.parse::<u8>().ok()?),
        None => {
            let a = s.trim().parse::<IpAddr>().ok()?;
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((addr, len))
}

fn in_subnet(a: IpAddr, net: IpAddr, len: u8) -> bool {
    let (a, net, bits) = match (a, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => (u128::from(u32::from(a)), u128::from(u32::from(n)), 32),
        (IpAddr::V6(a), IpAddr::V6(n)) => (u128::from(a), u128::from(n), 128),
        (IpAddr::V6(a), IpAddr::V4(n)) => match a.to_ipv4_mapped() {
            Some(a) => (u128::from(u32::from(a)), u128::from(u32::from(n)), 32),
            None => return false,
        },
        (IpAddr::V4(_), IpAddr::V6(_)) => return false,
    };
    if len == 0 {
        return true;
    }
    let shift = bits - u32::from(len);
    (a >> shift) == (net >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(url: &str, subnets: &[&str]) -> Mirror {
        Mirror {
            url: url.into(),
            subnets: subnets.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn urls_and_subnets_are_checked() {
        assert!(m("https://cache.example:8443", &[]).validate().is_ok());
        assert!(
            m("https://cache.example/remote4d/", &["10.2.0.0/16"])
                .validate()
                .is_ok()
        );
        for bad in [
            "http://cache",
            "https://",
            "https:///x",
            "cache:443",
            "https://u@h",
            "https://h?x",
        ] {
            assert!(m(bad, &[]).validate().is_err(), "{bad}");
        }
        assert!(m("https://h", &["10.2.0.0/33"]).validate().is_err());
        assert!(m("https://h", &["site-b"]).validate().is_err());
        assert_eq!(m("https://h/p/", &[]).base(), "https://h/p");
    }

    #[test]
    fn a_client_prefers_the_mirror_of_its_network() {
        let site_b = m("https://b", &["10.2.0.0/16", "fd00:2::/32"]);
        let here = |s: &str| vec![s.parse::<IpAddr>().unwrap()];
        assert!(site_b.prefers(&here("10.2.7.9")));
        assert!(!site_b.prefers(&here("10.3.7.9")));
        assert!(site_b.prefers(&here("fd00:2:1::5")));
        assert!(site_b.prefers(&here("::ffff:10.2.0.1")));
        assert!(!site_b.prefers(&here("192.168.1.2")));
        assert!(m("https://all", &["0.0.0.0/0"]).prefers(&here("8.8.8.8")));
        assert!(!m("https://none", &[]).prefers(&here("10.2.0.1")));
    }
}
