//! Unpacking an archive safely and atomically.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use super::Limits;
use super::error::{ArchiveError, Result};
use super::inflate::output_error;
use super::names::check_name;
use super::read::Archive;
use crate::fsutil::temp_sibling;

/// What an unpack wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnpackReport {
    /// Files written.
    pub files: usize,
    /// Folders created.
    pub folders: usize,
    /// Bytes written.
    pub bytes: u64,
}

/// Opens `archive` with `limits` and unpacks it into `target` (see [`Archive::unpack_to`]).
///
/// # Errors
/// Any error of [`Archive::open`] or [`Archive::unpack_to`]; `target` is then unchanged.
pub fn unpack(archive: &Path, target: &Path, limits: &Limits) -> Result<UnpackReport> {
    Archive::open(archive, limits)?.unpack_to(target)
}

impl Archive {
    /// Unpacks every entry into `target`, replacing its previous content.
    ///
    /// Entries are written (in parallel) into a temporary folder beside `target`, each checked
    /// against its size and CRC; only when all succeeded is the folder renamed into place. A
    /// refused, damaged or interrupted unpack leaves `target` exactly as it was.
    ///
    /// # Errors
    /// [`ArchiveError::Corrupt`] for damaged entries, [`ArchiveError::Io`] when the disk refuses
    /// a write (full disk, permissions).
    pub fn unpack_to(&self, target: &Path) -> Result<UnpackReport> {
        self.unpack_into(target, None)
    }

    /// Like [`Archive::unpack_to`], for the entries under `prefix` (e.g. `Project/`) with the
    /// prefix removed: `Project/Sources/a.4dm` lands in `target/Sources/a.4dm`.
    ///
    /// # Errors
    /// As [`Archive::unpack_to`]; [`ArchiveError::NotProjectArchive`] for an entry outside `prefix`.
    pub fn unpack_subtree_to(&self, prefix: &str, target: &Path) -> Result<UnpackReport> {
        self.unpack_into(target, Some(prefix))
    }

    fn unpack_into(&self, target: &Path, strip: Option<&str>) -> Result<UnpackReport> {
        let parent = parent_of(target);
        fs::create_dir_all(&parent).map_err(ArchiveError::io(&parent))?;
        remove_leftovers(target);
        let tmp = temp_sibling(target, "unpack");
        fs::create_dir(&tmp).map_err(ArchiveError::io(&tmp))?;
        match self.write_into(&tmp, strip) {
            Ok(report) => {
                swap_into_place(&tmp, target)?;
                Ok(report)
            }
            Err(e) => {
                let _ = fs::remove_dir_all(&tmp);
                Err(e)
            }
        }
    }

    /// Writes every entry under `root` (which exists and is empty), without `strip` in front.
    pub(crate) fn write_into(&self, root: &Path, strip: Option<&str>) -> Result<UnpackReport> {
        let relative = |name: &str| -> Result<String> {
            match strip {
                None => Ok(name.to_owned()),
                Some(p) if name == p || format!("{name}/") == p => Ok(String::new()),
                Some(p) => name.strip_prefix(p).map(str::to_owned).ok_or_else(|| {
                    ArchiveError::NotProjectArchive {
                        name: name.to_owned(),
                    }
                }),
            }
        };
        let mut folders = BTreeSet::new();
        let mut files = Vec::new();
        for (i, e) in self.entries().iter().enumerate() {
            check_name(&e.name)?;
            let rel = relative(&e.name)?;
            if rel.is_empty() {
                continue;
            }
            let parts: Vec<&str> = rel.trim_end_matches('/').split('/').collect();
            let keep = if e.is_dir {
                parts.len()
            } else {
                parts.len() - 1
            };
            for n in 1..=keep {
                folders.insert(parts[..n].join("/"));
            }
            if !e.is_dir {
                files.push((i, rel));
            }
        }
        for f in &folders {
            let path = root.join(f);
            fs::create_dir_all(&path).map_err(ArchiveError::io(&path))?;
        }
        let bytes: Result<Vec<u64>> = files
            .par_iter()
            .map(|(i, rel)| {
                let path = root.join(rel);
                // No buffer: the entry comes in large chunks.
                let mut out = fs::File::create(&path).map_err(ArchiveError::io(&path))?;
                self.copy_entry(*i, &mut out).map_err(output_error(&path))
            })
            .collect();
        Ok(UnpackReport {
            files: files.len(),
            folders: folders.len(),
            bytes: bytes?.iter().sum(),
        })
    }
}

fn parent_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Replaces `target` with `fresh`: the old content is moved aside, the new one renamed in, the
/// old one removed. If the second rename fails the old content is put back.
pub(crate) fn swap_into_place(fresh: &Path, target: &Path) -> Result<()> {
    if fs::symlink_metadata(target).is_ok() {
        let old = temp_sibling(target, "old");
        fs::rename(target, &old).map_err(|source| in_use_or_io(target, source))?;
        if let Err(source) = fs::rename(fresh, target) {
            let _ = fs::rename(&old, target);
            let _ = fs::remove_dir_all(fresh);
            return Err(ArchiveError::Io {
                path: target.to_path_buf(),
                source,
            });
        }
        if let Err(err) = fs::remove_dir_all(&old) {
            tracing::warn!(path = %old.display(), %err, "could not remove the previous content");
        }
    } else {
        fs::rename(fresh, target).map_err(ArchiveError::io(target))?;
    }
    Ok(())
}

/// Windows refuses to move a folder holding a file another program keeps open (access denied,
/// sharing violation): say so, rather than a bare "access denied".
pub(crate) fn in_use_or_io(target: &Path, source: std::io::Error) -> ArchiveError {
    const ERROR_ACCESS_DENIED: i32 = 5;
    const ERROR_SHARING_VIOLATION: i32 = 32;
    let path = target.to_path_buf();
    if cfg!(windows)
        && matches!(
            source.raw_os_error(),
            Some(ERROR_ACCESS_DENIED | ERROR_SHARING_VIOLATION)
        )
    {
        ArchiveError::InUse { path, source }
    } else {
        ArchiveError::Io { path, source }
    }
}

/// Removes temporary folders an interrupted unpack of `target` left beside it.
pub(crate) fn remove_leftovers(target: &Path) {
    let (Some(parent), Some(name)) = (target.parent(), target.file_name()) else {
        return;
    };
    let name = name.to_string_lossy();
    let prefixes = [format!(".{name}.unpack-"), format!(".{name}.old-")];
    let Ok(read) = fs::read_dir(if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    }) else {
        return;
    };
    for entry in read.flatten() {
        let n = entry.file_name().to_string_lossy().into_owned();
        if prefixes.iter().any(|p| n.starts_with(p.as_str())) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}
