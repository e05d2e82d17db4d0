//! Signatures of client updates (Ed25519): a server may offer a newer client build, but a
//! client installs only a build signed by the key its builder holds — the server that offers it
//! (or an impostor answering in its place) cannot make one up.
//!
//! - The **signing key** is made once by `remote4d build client` (or given to it) and stays with
//!   the developer: a text file `remote4d-update.key` holding the PKCS#8 key in base64.
//! - The **public key** (`remote4d-ed25519:<base64 of 32 bytes>`) is built into the clients made
//!   with that key (`remote4d-app.toml` beside the executable, or `REMOTE4D_UPDATE_PUBLIC_KEY` at
//!   compile time).
//! - A **signature** covers the version and the SHA-256 of the build ([`signed_message`]), so a
//!   signature can neither be moved to another build nor to another version number.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

/// The prefix of a public key's text form.
pub const PUBLIC_KEY_PREFIX: &str = "remote4d-ed25519:";
/// The first line of a signing key file.
const KEY_FILE_HEADER: &str =
    "remote4d update signing key (Ed25519, PKCS#8, base64) - keep it secret";

/// Why a key or a signature cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigningError {
    /// The key file could not be read or written.
    #[error("the update signing key {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not a key of ours.
    #[error("not a Remote4D update key: {0}")]
    BadKey(&'static str),
    /// The signature is missing, malformed or does not match.
    #[error("the update is not signed by this client's publisher ({0}); it was not installed")]
    BadSignature(&'static str),
    /// No randomness from the system.
    #[error("the system gave no random bytes for a new key")]
    Random,
}

/// What a signature covers: the version and the SHA-256 (hex) of a client build.
pub fn signed_message(version: &str, sha256: &str) -> Vec<u8> {
    format!(
        "remote4d-client-update-v1\n{}\n{}\n",
        version.trim(),
        sha256.trim().to_ascii_lowercase()
    )
    .into_bytes()
}

/// A key that signs client builds.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    pkcs8: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.public_key().to_string())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new random key.
    ///
    /// # Errors
    /// [`SigningError::Random`] when the system has no randomness to give.
    pub fn generate() -> Result<Self, SigningError> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| SigningError::Random)?;
        Self::from_pkcs8(pkcs8.as_ref().to_vec())
    }

    fn from_pkcs8(pkcs8: Vec<u8>) -> Result<Self, SigningError> {
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8)
            .map_err(|_| SigningError::BadKey("the key is not an Ed25519 PKCS#8 key"))?;
        Ok(Self { pair, pkcs8 })
    }

    /// Reads a key file.
    ///
    /// # Errors
    /// [`SigningError::Io`], or [`SigningError::BadKey`] when it is not a key file of ours.
    pub fn read(path: &Path) -> Result<Self, SigningError> {
        let text = std::fs::read_to_string(path).map_err(|source| SigningError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let body = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("remote4d update signing key"))
            .ok_or(SigningError::BadKey("the file holds no key"))?;
        let pkcs8 = B64
            .decode(body)
            .map_err(|_| SigningError::BadKey("the key is not base64"))?;
        Self::from_pkcs8(pkcs8)
    }

    /// Writes the key file, readable by its owner only; never replaces an existing file.
    ///
    /// # Errors
    /// [`SigningError::Io`] (also when the file exists).
    pub fn write_new(&self, path: &Path) -> Result<(), SigningError> {
        let io = |source| SigningError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        if path.exists() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "a key is already there; it is kept",
            )));
        }
        let text = format!("{KEY_FILE_HEADER}\n{}\n", B64.encode(&self.pkcs8));
        crate::fsutil::write_private(path, text.as_bytes()).map_err(io)
    }

    /// The key that checks this key's signatures.
    pub fn public_key(&self) -> PublicKey {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(bytes)
    }

    /// Signs build `sha256` of `version`; the signature in base64.
    pub fn sign(&self, version: &str, sha256: &str) -> String {
        B64.encode(self.pair.sign(&signed_message(version, sha256)).as_ref())
    }
}

/// A key that checks update signatures.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey([u8; 32]);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_KEY_PREFIX}{}", B64.encode(self.0))
    }
}

impl std::str::FromStr for PublicKey {
    type Err = SigningError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let b64 = text
            .trim()
            .strip_prefix(PUBLIC_KEY_PREFIX)
            .ok_or(SigningError::BadKey(
                "a public key starts with remote4d-ed25519:",
            ))?;
        let bytes = B64
            .decode(b64)
            .map_err(|_| SigningError::BadKey("the public key is not base64"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| SigningError::BadKey("a public key has 32 bytes"))?;
        Ok(Self(bytes))
    }
}

impl PublicKey {
    /// Checks `signature` (base64) of build `sha256` of `version`.
    ///
    /// # Errors
    /// [`SigningError::BadSignature`] when it is missing, malformed or made by another key.
    pub fn verify(
        &self,
        version: &str,
        sha256: &str,
        signature: Option<&str>,
    ) -> Result<(), SigningError> {
        let signature = signature
            .filter(|s| !s.trim().is_empty())
            .ok_or(SigningError::BadSignature("it has no signature"))?;
        let bytes = B64
            .decode(signature.trim())
            .map_err(|_| SigningError::BadSignature("the signature is not base64"))?;
        UnparsedPublicKey::new(&ED25519, &self.0)
            .verify(&signed_message(version, sha256), &bytes)
            .map_err(|_| SigningError::BadSignature("the signature does not match"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_refuse() {
        let key = SigningKey::generate().unwrap();
        let public = key.public_key();
        let sha = "ab".repeat(32);
        let sig = key.sign("1.2.0", &sha);
        public.verify("1.2.0", &sha, Some(&sig)).unwrap();
        public
            .verify("1.2.0", &sha.to_uppercase(), Some(&sig))
            .unwrap();
        for (version, hash, sig) in [
            ("1.2.1", sha.as_str(), Some(sig.as_str())),
            ("1.2.0", &*"cd".repeat(32), Some(sig.as_str())),
            ("1.2.0", sha.as_str(), None),
            ("1.2.0", sha.as_str(), Some("not base64!")),
            ("1.2.0", sha.as_str(), Some("AAAA")),
        ] {
            assert!(
                public.verify(version, hash, sig).is_err(),
                "{version} {sig:?}"
            );
        }
        let other = SigningKey::generate().unwrap();
        assert!(
            other
                .public_key()
                .verify("1.2.0", &sha, Some(&sig))
                .is_err()
        );
        let text = public.to_string();
        assert!(text.starts_with(PUBLIC_KEY_PREFIX));
        assert_eq!(text.parse::<PublicKey>().unwrap(), public);
        assert!("remote4d-ed25519:AAAA".parse::<PublicKey>().is_err());
        assert!("ssh-ed25519 AAAA".parse::<PublicKey>().is_err());
    }

    #[test]
    fn key_files_round_trip_and_are_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/remote4d-update.key");
        let key = SigningKey::generate().unwrap();
        key.write_new(&path).unwrap();
        let again = SigningKey::read(&path).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        assert!(SigningKey::generate().unwrap().write_new(&path).is_err());
        assert_eq!(
            SigningKey::read(&path).unwrap().public_key(),
            key.public_key()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by its owner only");
        }
        std::fs::write(&path, "garbage").unwrap();
        assert!(SigningKey::read(&path).is_err());
    }
}
