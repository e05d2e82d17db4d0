//! A delta accepted but not yet written into `project.4dz`.
//!
//! Applying a delta must prove the new build (its SHA-256 is the stamp) and update the files of
//! `Project/`; neither needs the new archive as one file. So the connect does only that —
//! hashing the new archive where its bytes already are, in the old archive and the delta — and
//! the system folder remembers the delta (`pending.json`, `pending-delta.zip`). The next delta
//! is composed with the pending one into a single delta from `project.4dz`
//! ([`crate::archive::compose_deltas`]), so updates after updates never rewrite the archive.
//! The new `project.4dz` is written ([`write_into_archive`]) only when the pending delta grows
//! past [`LARGE`] of the archive (in the background, and a process waits for it before
//! exiting: [`settle`]), or first thing when a repair needs it.
//!
//! While a delta is pending, `project.4dz` is the previous build and the index records it, so
//! the quick check of a warm connect still holds. Every step leaves a state [`write_into_archive`] can
//! finish or undo: nothing here can make a connect use a wrong archive.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::index;
use super::names::{ARCHIVE, INDEX, MATERIALIZING, PENDING as FILE, PENDING_DELTA as DELTA};
use crate::archive::{self, Archive, Limits, Stamp};

/// One writer of archives at a time in this process (the background thread and a connect).
static WRITING: Mutex<()> = Mutex::new(());

/// The archive writers' turn: while it is held, no other thread of this process writes
/// `project.4dz` or the pending delta (the background write of a large pending delta included).
pub(super) struct Turn {
    _held: MutexGuard<'static, ()>,
}

/// Waits for the archive writers' turn (a background write running ends first).
pub(super) fn turn() -> Turn {
    Turn {
        _held: WRITING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    /// The build `project.4dz` + the delta make.
    stamp: Stamp,
}

/// A pending delta larger than `1 / LARGE` of the archive is written into it: composing
/// copies the pending delta at each update, and past that size writing the archive once is
/// the cheaper way.
pub const LARGE: u64 = 8;

/// True when `dir` holds a delta not yet written into `project.4dz`.
pub(super) fn exists(dir: &Path) -> bool {
    dir.join(FILE).is_file()
}

/// True when the pending delta of `dir` is larger than `1 / LARGE` of `project.4dz`.
pub(super) fn is_large(dir: &Path) -> bool {
    let len = |name| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
    exists(dir) && len(DELTA).saturating_mul(LARGE) > len(ARCHIVE)
}

/// Before a process exits: writes the pending delta into the archive when it is large (waiting
/// for the background write started after the delta, if any); leaves a small one pending.
///
/// # Errors
/// As [`write_into_archive`].
pub(super) fn settle(dir: &Path) -> Result<(), PendingDeltaError> {
    if is_large(dir) {
        write_into_archive(dir)
    } else {
        Ok(())
    }
}

/// Records `delta` (moved into the system folder) as pending on `project.4dz`, giving `stamp`.
pub(super) fn record(dir: &Path, delta: &Path, stamp: Stamp) -> std::io::Result<()> {
    std::fs::rename(delta, dir.join(DELTA))?;
    let bytes = serde_json::to_vec(&Pending { stamp }).map_err(std::io::Error::other)?;
    crate::fsutil::write_atomic(&dir.join(FILE), &bytes)
}

/// Forgets a pending delta (a full download replaced the archive).
pub(super) fn discard(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(FILE));
    let _ = std::fs::remove_file(dir.join(DELTA));
    let _ = std::fs::remove_file(dir.join(MATERIALIZING));
}

/// Why a pending delta could not be written into `project.4dz`; the delta then stays pending
/// (or is dropped when its record is damaged), and a connect that needs the archive falls back
/// to a full download.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PendingDeltaError {
    /// The record of the pending delta is damaged; it was dropped.
    #[error("the pending delta's record is damaged; it was dropped")]
    Damaged,
    /// The archive or the delta cannot be read or combined.
    #[error("cannot write the pending delta into the archive")]
    Archive(#[source] archive::ArchiveError),
    /// Combined, they do not give the recorded build.
    #[error("cannot write the pending delta into the archive: it gave {got} instead of {expected}")]
    WrongStamp {
        /// The stamp the combination gave (short form).
        got: String,
        /// The stamp recorded (short form).
        expected: String,
    },
    /// A file of the system folder cannot be written.
    #[error("cannot update {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Writes the pending delta, if any, into `project.4dz` (checked against its stamp), then
/// records the new archive in the index. Nothing to do takes one `stat`.
///
/// # Errors
/// A [`PendingDeltaError`]; the pending delta then stays (and a connect that needs the archive falls
/// back to a full download).
pub(super) fn write_into_archive(dir: &Path) -> Result<(), PendingDeltaError> {
    if !exists(dir) {
        return Ok(());
    }
    write_into_archive_in_turn(dir, &turn())
}

/// [`write_into_archive`] by a thread that holds the archive writers' turn.
///
/// # Errors
/// As [`write_into_archive`].
pub(super) fn write_into_archive_in_turn(
    dir: &Path,
    _turn: &Turn,
) -> Result<(), PendingDeltaError> {
    let Ok(bytes) = std::fs::read(dir.join(FILE)) else {
        return Ok(()); // written while this one waited
    };
    let Ok(pending) = serde_json::from_slice::<Pending>(&bytes) else {
        discard(dir);
        return Err(PendingDeltaError::Damaged);
    };
    let started = std::time::Instant::now();
    let archive = dir.join(ARCHIVE);
    let out = dir.join(MATERIALIZING);
    let index_io = |source| PendingDeltaError::Io {
        path: dir.join(INDEX),
        source,
    };
    let written = (|| {
        let old = Archive::open_written_here(&archive, &Limits::default())
            .map_err(PendingDeltaError::Archive)?;
        let d = Archive::open(&dir.join(DELTA), &Limits::default())
            .map_err(PendingDeltaError::Archive)?;
        let (_, stamp) =
            archive::apply_opened(&old, &d, &out).map_err(PendingDeltaError::Archive)?;
        if stamp == pending.stamp {
            Ok(())
        } else {
            Err(PendingDeltaError::WrongStamp {
                got: stamp.short(),
                expected: pending.stamp.short(),
            })
        }
    })();
    if let Err(err) = written {
        let _ = std::fs::remove_file(&out);
        // A crash after the rename below leaves the new archive in place with the record:
        // then there is nothing left to write.
        if Stamp::of_file(&archive).is_ok_and(|s| s == pending.stamp) {
            index::refresh_archive(dir).map_err(index_io)?;
            discard(dir);
            return Ok(());
        }
        return Err(err);
    }
    std::fs::rename(&out, &archive).map_err(|source| PendingDeltaError::Io {
        path: archive.clone(),
        source,
    })?;
    index::refresh_archive(dir).map_err(index_io)?;
    discard(dir);
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        folder = %dir.display(),
        "pending delta written into the archive"
    );
    Ok(())
}

/// [`write_into_archive`] on a background thread (when a delta is pending).
pub(super) fn write_into_archive_in_background(
    dir: PathBuf,
) -> Option<std::thread::JoinHandle<()>> {
    if !exists(&dir) {
        return None;
    }
    std::thread::Builder::new()
        .name("remote4d-archive".into())
        .spawn(move || {
            if let Err(err) = write_into_archive(&dir) {
                tracing::warn!(folder = %dir.display(), %err, "archive not updated yet");
            }
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{BuildOptions, build, make_delta};

    fn write(root: &Path, rel: &str, body: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }

    /// A system folder holding build 1 and, pending on it, the delta to build 2; and build 2.
    fn folder_with_a_pending_delta() -> (tempfile::TempDir, PathBuf, Stamp, Vec<u8>) {
        let tmp = tempfile::tempdir().unwrap();
        let project = tmp.path().join("p");
        write(&project, "Project/Demo.4DProject", "{}");
        for i in 0..30 {
            write(
                &project,
                &format!("Project/Sources/Methods/m{i}.4dm"),
                &format!("// method {i}\n").repeat(50),
            );
        }
        let v1 = tmp.path().join("v1.4dz");
        let r1 = build(&project, &v1, &BuildOptions::default()).unwrap();
        write(&project, "Project/Sources/Methods/m7.4dm", "// changed\n");
        let v2 = tmp.path().join("v2.4dz");
        let r2 = build(&project, &v2, &BuildOptions::default()).unwrap();
        let dir = tmp.path().join("folder");
        std::fs::create_dir_all(dir.join("Project")).unwrap();
        std::fs::copy(&v1, dir.join(ARCHIVE)).unwrap();
        make_delta(&r1, &r2, &v2, &dir.join("delta.zip")).unwrap();
        index::write(&dir, &r2.stamp, None).unwrap();
        record(&dir, &dir.join("delta.zip"), r2.stamp).unwrap();
        let v2_bytes = std::fs::read(&v2).unwrap();
        (tmp, dir, r2.stamp, v2_bytes)
    }

    #[test]
    fn settling_writes_the_new_archive_and_records_it() {
        let (_tmp, dir, stamp, v2) = folder_with_a_pending_delta();
        assert!(exists(&dir));
        // While pending, the index describes the previous archive: a warm connect's check holds.
        index::check(&dir, &stamp).unwrap();
        write_into_archive(&dir).unwrap();
        assert_eq!(std::fs::read(dir.join(ARCHIVE)).unwrap(), v2);
        assert!(!exists(&dir) && !dir.join(DELTA).exists() && !dir.join(MATERIALIZING).exists());
        index::check(&dir, &stamp).unwrap();
        // Nothing left to do.
        write_into_archive(&dir).unwrap();
    }

    #[test]
    fn a_crash_after_the_archive_was_replaced_is_finished() {
        let (_tmp, dir, stamp, v2) = folder_with_a_pending_delta();
        std::fs::write(dir.join(ARCHIVE), &v2).unwrap();
        write_into_archive(&dir).unwrap();
        assert!(!exists(&dir));
        index::check(&dir, &stamp).unwrap();
    }

    #[test]
    fn a_delta_that_does_not_fit_leaves_the_archive_untouched() {
        let (_tmp, dir, _, _) = folder_with_a_pending_delta();
        let mut damaged = std::fs::read(dir.join(ARCHIVE)).unwrap();
        let n = damaged.len() / 3;
        damaged[n] ^= 0x55;
        std::fs::write(dir.join(ARCHIVE), &damaged).unwrap();
        let err = write_into_archive(&dir).unwrap_err();
        assert!(
            matches!(
                err,
                PendingDeltaError::Archive(_) | PendingDeltaError::WrongStamp { .. }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("cannot write the pending delta"),
            "{err}"
        );
        assert_eq!(std::fs::read(dir.join(ARCHIVE)).unwrap(), damaged);
        assert!(!dir.join(MATERIALIZING).exists());
        discard(&dir);
        assert!(!exists(&dir) && !dir.join(DELTA).exists());
    }
}
