//! A server's identity: the SHA-256 of its certificate, in one form everywhere.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// The SHA-256 fingerprint of a certificate (DER). Parsed from any common spelling (upper or
/// lower case, with colons, spaces or nothing between the bytes); displayed as the full
/// colon-separated upper-case form `AB:CD:…` (32 bytes), as `remote4d serve` prints it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER certificate.
    pub fn of_certificate(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// The first four bytes (`AB:CD:EF:01…`), for places with no room: always marked as short
    /// by the trailing ellipsis.
    pub fn short(&self) -> String {
        let mut s = super::format_fingerprint(&self.0[..4]);
        s.push('…');
        s
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&super::format_fingerprint(&self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// The text is not a SHA-256 fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a SHA-256 fingerprint (64 hexadecimal digits, e.g. AB:CD:… as remote4d serve prints it)"
)]
pub struct BadFingerprint(pub String);

impl FromStr for Fingerprint {
    type Err = BadFingerprint;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadFingerprint(text.to_owned());
        if text
            .chars()
            .any(|c| !(c.is_ascii_hexdigit() || c == ':' || c.is_whitespace()))
        {
            return Err(bad());
        }
        let hex = super::normalize_fingerprint(text);
        let bytes = hex::decode(&hex).map_err(|_| bad())?;
        Ok(Self(bytes.try_into().map_err(|_| bad())?))
    }
}

/// Written as its display form (`AB:CD:…`).
impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Read from any spelling [`FromStr`] accepts.
impl<'de> serde::Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_form_whatever_the_spelling() {
        let fp = Fingerprint::of_certificate(b"certificate");
        let text = fp.to_string();
        assert_eq!(text.len(), 32 * 3 - 1);
        assert_eq!(text, text.to_uppercase());
        for spelling in [
            text.clone(),
            text.to_lowercase(),
            text.replace(':', ""),
            text.replace(':', " "),
        ] {
            assert_eq!(spelling.parse::<Fingerprint>().unwrap(), fp, "{spelling}");
        }
        for bad in ["", "AB:CD", "zz", &format!("{text}:00"), "SHA256:abc"] {
            assert!(bad.parse::<Fingerprint>().is_err(), "{bad}");
        }
        assert!(fp.short().ends_with('…'));
        let json = serde_json::to_string(&fp).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        let lower = format!("\"{}\"", text.to_lowercase().replace(':', ""));
        assert_eq!(serde_json::from_str::<Fingerprint>(&lower).unwrap(), fp);
        assert!(text.starts_with(fp.short().trim_end_matches('…')));
    }
}
