//! Client updates: the newer client build a server offers, and version ranges.

use serde::{Deserialize, Serialize};

/// `GET /api/v1/client/update`: the client build the server offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateOffer {
    /// Version of the offered build.
    pub version: String,
    /// SHA-256 of the build, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Oldest client version accepted.
    pub min_version: Option<String>,
    /// Newest client version accepted.
    pub max_version: Option<String>,
    /// The publisher's Ed25519 signature of the version and SHA-256 (base64; see
    /// [`crate::signing`]): a client installs nothing without a valid one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// Compares dotted versions numerically (`0.10.0` > `0.9.1`); non-numeric parts compare as text.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| -> Vec<String> {
        v.trim()
            .trim_start_matches('v')
            .split(['.', '-', '+'])
            .map(str::to_owned)
            .collect()
    };
    let (pa, pb) = (parts(a), parts(b));
    for i in 0..pa.len().max(pb.len()) {
        let x = pa.get(i).map_or("0", String::as_str);
        let y = pb.get(i).map_or("0", String::as_str);
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => x.cmp(y),
        };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

/// True when `version` is within `[min, max]` (either bound optional).
pub fn in_range(version: &str, min: Option<&str>, max: Option<&str>) -> bool {
    min.is_none_or(|m| compare_versions(version, m) != std::cmp::Ordering::Less)
        && max.is_none_or(|m| compare_versions(version, m) != std::cmp::Ordering::Greater)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn versions() {
        assert_eq!(compare_versions("0.10.0", "0.9.1"), Ordering::Greater);
        assert_eq!(compare_versions("1.0", "1.0.0"), Ordering::Equal);
        assert_eq!(compare_versions("v2.1.0", "2.0.9"), Ordering::Greater);
        assert!(in_range("0.2.0", Some("0.2.0"), Some("0.3")));
        assert!(!in_range("0.1.9", Some("0.2.0"), None));
        assert!(!in_range("1.0.0", None, Some("0.9")));
        assert!(in_range("5.0", None, None));
    }
}
