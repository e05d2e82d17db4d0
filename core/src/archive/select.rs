//! Which files of a project folder go into its archive.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::error::{ArchiveError, Result};
use super::names::is_excluded;

/// A file or folder of the project to archive.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    /// Entry name: `Project/...`, folders with a trailing `/`.
    pub name: String,
    /// Where it is on disk.
    pub path: PathBuf,
    /// Size in bytes (0 for folders).
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch (0 when unknown).
    pub mtime_ns: u128,
    /// A folder.
    pub is_dir: bool,
}

/// Every file and folder under `root/<top_folder>` (`Project`, `Resources`) that the archive
/// keeps, sorted by entry name. Symbolic links are skipped (they could point outside the
/// project).
pub(crate) fn collect(root: &Path, top_folder: &str) -> Result<Vec<Source>> {
    let top = root.join(top_folder);
    let meta = fs::metadata(&top).map_err(|_| ArchiveError::NotAProject {
        path: root.to_path_buf(),
    })?;
    if !meta.is_dir() {
        return Err(ArchiveError::NotAProject {
            path: root.to_path_buf(),
        });
    }
    let mut out = vec![Source {
        name: format!("{top_folder}/"),
        path: top.clone(),
        size: 0,
        mtime_ns: 0,
        is_dir: true,
    }];
    let mut stack = vec![(top, top_folder.to_owned())];
    while let Some((dir, rel)) = stack.pop() {
        let entries = fs::read_dir(&dir).map_err(ArchiveError::io(&dir))?;
        for entry in entries {
            let entry = entry.map_err(ArchiveError::io(&dir))?;
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                return Err(ArchiveError::NonUnicodeName { path });
            };
            let child_rel = format!("{rel}/{name}");
            if is_excluded(&child_rel) {
                continue;
            }
            let file_type = entry.file_type().map_err(ArchiveError::io(&path))?;
            if file_type.is_symlink() {
                tracing::warn!(path = %path.display(), "symbolic link left out of the archive");
                continue;
            }
            if file_type.is_dir() {
                out.push(Source {
                    name: format!("{child_rel}/"),
                    path: path.clone(),
                    size: 0,
                    mtime_ns: 0,
                    is_dir: true,
                });
                stack.push((path, child_rel));
            } else if file_type.is_file() {
                let meta = entry.metadata().map_err(ArchiveError::io(&path))?;
                out.push(Source {
                    name: child_rel,
                    path,
                    size: meta.len(),
                    mtime_ns: mtime_ns(&meta),
                    is_dir: false,
                });
            }
        }
    }
    out.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Modification time in nanoseconds since the epoch, 0 when unavailable.
pub(crate) fn mtime_ns(meta: &fs::Metadata) -> u128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
}
