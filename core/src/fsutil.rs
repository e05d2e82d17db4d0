//! File-system helpers: atomic writes, temporary siblings.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A path beside `target` (same folder, so renames are atomic) that does not exist yet,
/// named `.<target name>.<tag>-<random>`.
pub(crate) fn temp_sibling(target: &Path, tag: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "remote4d".to_owned());
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let file = format!(".{name}.{tag}-{}", &unique[..12]);
    match target.parent() {
        Some(parent) => parent.join(file),
        None => PathBuf::from(file),
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder, flushed to disk,
/// then renamed into place: readers see the old content or the new one, never a mix.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_sibling(path, "tmp");
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
