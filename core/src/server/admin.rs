//! The administration token: a file only the server's user can read, found by port.

use std::path::{Path, PathBuf};

use crate::environment::Environment;

/// Where the token of the server on `port` is kept.
pub fn token_path(env: &Environment, port: u16) -> PathBuf {
    env.server_dir().join("admin").join(format!("{port}.token"))
}

/// Writes a fresh token (and the server's fingerprint, so that the administration client can
/// pin it) to `path`, readable only by this user (mode 0600).
///
/// # Errors
/// The I/O error when it cannot be written.
pub fn write_token(path: &Path, fingerprint: &str) -> std::io::Result<String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let token = super::sessions::new_token();
    crate::fsutil::write_private(path, format!("{token}\n{fingerprint}\n").as_bytes())?;
    Ok(token)
}

/// The token and fingerprint in a token file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminToken {
    /// The secret.
    pub token: String,
    /// The server's certificate fingerprint.
    pub fingerprint: Option<String>,
}

/// Reads a token file.
///
/// # Errors
/// The I/O error (usually: no server of this user runs on that port).
pub fn read_token(path: &Path) -> std::io::Result<AdminToken> {
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines().map(str::trim);
    let token = lines.next().unwrap_or_default().to_owned();
    let fingerprint = lines.next().filter(|l| !l.is_empty()).map(str::to_owned);
    Ok(AdminToken { token, fingerprint })
}
