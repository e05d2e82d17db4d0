//! The administration token file: written by a server for its own user, found by port, read by
//! the administration client on the same machine (`<data>/server/admin/<port>.token`: the
//! secret, then the server's certificate fingerprint, one per line; mode 0600).

use std::path::{Path, PathBuf};

use crate::environment::Environment;

/// Where the token of the server on `port` is kept.
pub fn token_path(env: &Environment, port: u16) -> PathBuf {
    env.server_dir().join("admin").join(format!("{port}.token"))
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

/// Writes a fresh `token` (and the server's `fingerprint`, so that the administration client
/// can pin it) to `path`, readable only by this user.
///
/// # Errors
/// The I/O error when it cannot be written.
pub fn write_token(path: &Path, token: &str, fingerprint: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::fsutil::write_private(path, format!("{token}\n{fingerprint}\n").as_bytes())
}
