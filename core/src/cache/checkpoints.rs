//! The SHA-256 checkpoints of the cached archive (`project.4dz.checkpoints`), so that the next delta
//! hashes only from the first byte that changed (see [`crate::archive::Checkpoints`]).
//!
//! A cache file: missing, unreadable or for another build, it is ignored and the next delta
//! hashes the whole archive. A wrong state can only make a good delta look bad (and the
//! client download the whole archive), never a bad one look good: the stamp is still the
//! SHA-256 of every byte, and the archive written afterwards is hashed again.

use std::path::Path;

use super::names::{CHECKPOINTS as FILE, CHECKPOINTS_BEFORE};
use crate::archive::Checkpoints;

/// The checkpoints saved in `dir` (by this version, or under the name earlier ones used), if any.
pub(super) fn read(dir: &Path) -> Option<Checkpoints> {
    let bytes = std::fs::read(dir.join(FILE))
        .or_else(|_| std::fs::read(dir.join(CHECKPOINTS_BEFORE)))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Saves `checkpoints` in `dir` (none: removes the file).
pub(super) fn write(dir: &Path, checkpoints: Option<&Checkpoints>) {
    let _ = std::fs::remove_file(dir.join(CHECKPOINTS_BEFORE));
    let path = dir.join(FILE);
    let result = match checkpoints.map(serde_json::to_vec) {
        Some(Ok(bytes)) => crate::fsutil::replace_cache_file(&path, &bytes),
        _ => std::fs::remove_file(&path).or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        }),
    };
    if let Err(err) = result {
        tracing::debug!(%err, "archive checkpoints not saved");
    }
}
