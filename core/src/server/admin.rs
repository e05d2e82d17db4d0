//! The administration token: a file only the server's user can read, found by port (the file
//! format and its reading are [`AdminToken`], [`read_token`] and [`token_path`]).

use std::path::Path;

pub use crate::admin_token::{AdminToken, read_token, token_path};

/// Writes a fresh token (and the server's fingerprint, so that the administration client can
/// pin it) to `path`, readable only by this user (mode 0600); returns the token.
///
/// # Errors
/// The I/O error when it cannot be written.
pub fn write_token(path: &Path, fingerprint: &str) -> std::io::Result<String> {
    let token = super::sessions::new_token();
    crate::admin_token::write_token(path, &token, fingerprint)?;
    Ok(token)
}
