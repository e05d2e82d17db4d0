//! The index of an unpacked project in a system folder: enough to notice, at connect time and
//! without reading file contents, that a file was changed or removed.

use std::path::Path;
use std::time::UNIX_EPOCH;

use rayon::prelude::*;

use super::names::{ARCHIVE, INDEX as FILE, PROJECT};
use crate::archive::{Stamp, UnpackedFile};

fn mtime_ns(meta: &std::fs::Metadata) -> u128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
}

fn files_under(root: &Path) -> Vec<(String, u64, u128)> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in read.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push((e.path(), child)),
                Ok(t) if t.is_file() => {
                    if let Ok(m) = e.metadata() {
                        out.push((child, m.len(), mtime_ns(&m)));
                    }
                }
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// Records the state of `folder/Project` and `folder/project.4dz` after an unpack: the
/// `unpacked` files when the unpack listed them (sorted by name, as [`FollowingUnpack::finish`]
/// returns them), else what a walk of `Project/` finds.
///
/// [`FollowingUnpack::finish`]: crate::archive::FollowingUnpack::finish
pub(super) fn write(
    folder: &Path,
    stamp: &Stamp,
    unpacked: Option<&[UnpackedFile]>,
) -> std::io::Result<()> {
    let archive = std::fs::metadata(folder.join(ARCHIVE))?;
    let mut text = format!("{stamp}\t{}\t{}\n", archive.len(), mtime_ns(&archive));
    match unpacked {
        Some(files) => {
            for f in files {
                push_line(&mut text, &f.name, f.metadata.len(), mtime_ns(&f.metadata));
            }
        }
        None => text.push_str(&listing(&folder.join(PROJECT))),
    }
    crate::fsutil::replace_cache_file(&folder.join(FILE), text.as_bytes())
}

/// Appends one file's line of a listing.
fn push_line(text: &mut String, rel: &str, size: u64, mtime: u128) {
    use std::fmt::Write as _;
    let _ = writeln!(text, "{size}\t{mtime}\t{rel}");
}

/// Why a cached project is not intact (its display is the reason shown to the user).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Damage {
    /// No index: never completed, or removed.
    #[error("the cache index is missing")]
    NoIndex,
    /// The archive is missing or not the one indexed.
    #[error("the cached archive changed")]
    Archive,
    /// A file was changed or removed (its path in the system folder).
    #[error("{0} was changed or removed")]
    File(String),
}

/// Checks (quickly: sizes and times, in parallel) that `folder` still holds the project of
/// `stamp` exactly as unpacked.
pub(super) fn check(folder: &Path, stamp: &Stamp) -> Result<(), Damage> {
    let text = std::fs::read_to_string(folder.join(FILE)).map_err(|_| Damage::NoIndex)?;
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    if head.len() != 3 || head[0] != stamp.to_string() {
        return Err(Damage::NoIndex);
    }
    let archive = std::fs::metadata(folder.join(ARCHIVE)).map_err(|_| Damage::Archive)?;
    if archive.len().to_string() != head[1] || mtime_ns(&archive).to_string() != head[2] {
        return Err(Damage::Archive);
    }
    check_listing(folder, PROJECT, lines)
}

/// The files under `dir` as index lines (size, modification time, relative path).
pub(super) fn listing(dir: &Path) -> String {
    let mut text = String::new();
    for (rel, size, mtime) in files_under(dir) {
        push_line(&mut text, &rel, size, mtime);
    }
    text
}

/// Checks index `lines` (as [`listing`] makes them) against `folder/sub`, in parallel.
pub(super) fn check_listing<'a>(
    folder: &Path,
    sub: &str,
    lines: impl Iterator<Item = &'a str>,
) -> Result<(), Damage> {
    let dir = folder.join(sub);
    let entries: Vec<&str> = lines.collect();
    entries.par_iter().try_for_each(|line| {
        let mut parts = line.splitn(3, '\t');
        let (Some(size), Some(mtime), Some(rel)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(Damage::NoIndex);
        };
        match std::fs::metadata(dir.join(rel)) {
            Ok(m) if m.len().to_string() == size && mtime_ns(&m).to_string() == mtime => Ok(()),
            _ => Err(Damage::File(format!("{sub}/{rel}"))),
        }
    })
}

/// Records the current `project.4dz` (size and time) in the index, the files unchanged: after a
/// pending delta was written into the archive.
pub(super) fn refresh_archive(folder: &Path) -> std::io::Result<()> {
    let text = std::fs::read_to_string(folder.join(FILE))?;
    let (head, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let stamp = head.split('\t').next().unwrap_or_default();
    let archive = std::fs::metadata(folder.join(ARCHIVE))?;
    let out = format!("{stamp}\t{}\t{}\n{rest}", archive.len(), mtime_ns(&archive));
    crate::fsutil::replace_cache_file(&folder.join(FILE), out.as_bytes())
}

/// Updates the index after a delta: removed files dropped, written ones re-read, the others kept.
pub(super) fn update(
    folder: &Path,
    stamp: &Stamp,
    written: &[String],
    removed: &[String],
) -> std::io::Result<()> {
    use std::collections::HashSet;
    let text = std::fs::read_to_string(folder.join(FILE))?;
    let removed: HashSet<&str> = removed.iter().map(String::as_str).collect();
    let mut pending: HashSet<&str> = written.iter().map(String::as_str).collect();
    let project = folder.join(PROJECT);
    let archive = std::fs::metadata(folder.join(ARCHIVE))?;
    // (relative path, its line; empty when the file must be measured again)
    let mut lines: Vec<(&str, &str)> = Vec::with_capacity(text.len() / 48 + written.len());
    for line in text.lines().skip(1) {
        let Some(rel) = line.splitn(3, '\t').nth(2) else {
            continue;
        };
        if removed.contains(rel) {
            continue;
        }
        lines.push((rel, if pending.remove(rel) { "" } else { line }));
    }
    // Files the delta added (not in the index yet) go to their sorted place.
    if !pending.is_empty() {
        lines.extend(pending.iter().map(|rel| (*rel, "")));
        lines.sort_unstable_by(|a, b| a.0.cmp(b.0));
    }
    let mut out = format!("{stamp}\t{}\t{}\n", archive.len(), mtime_ns(&archive));
    out.reserve(text.len() + 64 * written.len());
    for (rel, line) in lines {
        if line.is_empty() {
            let m = std::fs::metadata(project.join(rel))?;
            out.push_str(&format!("{}\t{}\t{rel}\n", m.len(), mtime_ns(&m)));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    crate::fsutil::replace_cache_file(&folder.join(FILE), out.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp::of_bytes(b"index test")
    }

    /// A cache folder: an archive and a small tree, indexed.
    fn indexed() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path();
        std::fs::write(f.join(ARCHIVE), b"archive").unwrap();
        for (rel, text) in [
            ("Project/a.4DProject", "{}"),
            ("Project/Sources/Methods/m1.4dm", "// one"),
            ("Project/Sources/Methods/m2.4dm", "// two"),
            ("Project/Sources/Forms/F/form.4DForm", "{}"),
            ("Project/Sources/Forms/G/form.4DForm", "{ }"),
        ] {
            let p = f.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        write(f, &stamp(), None).unwrap();
        dir
    }

    fn damaged(dir: &tempfile::TempDir) -> String {
        match check(dir.path(), &stamp()) {
            Err(Damage::File(path)) => path,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_intact_tree_passes_and_each_kind_of_change_names_the_file() {
        let dir = indexed();
        check(dir.path(), &stamp()).unwrap();
        // A file added by someone is not the index's business.
        std::fs::write(dir.path().join("Project/Sources/Methods/extra.4dm"), "x").unwrap();
        check(dir.path(), &stamp()).unwrap();
        // Another stamp: no index for it.
        assert_eq!(
            check(dir.path(), &Stamp::of_bytes(b"other")),
            Err(Damage::NoIndex)
        );

        let m1 = dir.path().join("Project/Sources/Methods/m1.4dm");
        std::fs::write(&m1, "// one, longer").unwrap();
        assert_eq!(damaged(&dir), "Project/Sources/Methods/m1.4dm");

        let dir = indexed();
        std::fs::remove_file(dir.path().join("Project/Sources/Methods/m2.4dm")).unwrap();
        assert_eq!(damaged(&dir), "Project/Sources/Methods/m2.4dm");

        // Same size, another time.
        let dir = indexed();
        let g = dir.path().join("Project/Sources/Forms/G/form.4DForm");
        std::fs::File::options()
            .write(true)
            .open(&g)
            .unwrap()
            .set_modified(UNIX_EPOCH + std::time::Duration::from_secs(1_000_000))
            .unwrap();
        assert_eq!(damaged(&dir), "Project/Sources/Forms/G/form.4DForm");

        // A whole folder gone; a file replaced by a folder of that name.
        let dir = indexed();
        std::fs::remove_dir_all(dir.path().join("Project/Sources/Forms/F")).unwrap();
        assert_eq!(damaged(&dir), "Project/Sources/Forms/F/form.4DForm");
        let dir = indexed();
        let top = dir.path().join("Project/a.4DProject");
        std::fs::remove_file(&top).unwrap();
        std::fs::create_dir(&top).unwrap();
        assert_eq!(damaged(&dir), "Project/a.4DProject");

        // The archive replaced.
        let dir = indexed();
        std::fs::write(dir.path().join(ARCHIVE), b"another archive").unwrap();
        assert_eq!(check(dir.path(), &stamp()), Err(Damage::Archive));
    }
}
