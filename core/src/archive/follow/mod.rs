//! Unpacking an archive while it is being written (downloaded), so that unpacking overlaps the
//! download.
//!
//! A thread follows the growing file: it reads each local header as soon as its bytes are
//! there and, once an entry's data is complete, hands the entry to its writers, which
//! decompress it (size and CRC checked) into a new folder beside the target. A download may
//! come in two parts at once — the archive's first bytes into the archive file, its last ones
//! into a second file, to be appended — each part followed by its own thread into the same
//! folder. Nothing is trusted yet: when the download is complete and verified,
//! [`FollowingUnpack::finish`] checks that the archive's central directory lists exactly the
//! entries unpacked — byte for byte the one this program writes for them (built as they came,
//! compared once the last byte is in: no second pass over the archive), or else as
//! [`Archive::open`] reads it — and only then puts the folder in place. Anything unexpected (a
//! data descriptor, an entry outside the prefix, an interrupted download) abandons the folder,
//! and the caller unpacks the verified archive the usual way.

mod follower;
#[cfg(test)]
mod tests;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use super::Limits;
use super::error::{ArchiveError, Result};
use super::read::Archive;
use super::unpack::{remove_leftovers, swap_into_place};
use crate::fsutil::{read_exact_at, temp_sibling};
use follower::{Done, Followed, Follower, Signal};

/// One file being followed, by its own thread.
struct Part {
    tx: Option<mpsc::Sender<Signal>>,
    thread: Option<JoinHandle<Followed>>,
    file: Arc<File>,
    path: PathBuf,
    /// The archive offset of the file's first byte.
    base: u64,
}

impl Part {
    /// Tells the thread the file is complete, and waits for what it read and wrote.
    fn complete(&mut self) -> Option<Done> {
        let length = self.file.metadata().ok()?.len();
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Signal::Complete(length));
        }
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Ok(done))) => Some(done),
            Some(Ok(Err(reason))) => {
                tracing::debug!(%reason, path = %self.path.display(), "unpacking during the download stopped");
                None
            }
            _ => None,
        }
    }

    /// True when the file, `length` bytes long, is `expected` from archive offset `at` to its
    /// end.
    fn ends_with(&self, expected: &[u8], at: u64, length: u64) -> bool {
        let Some(at) = at.checked_sub(self.base) else {
            return false;
        };
        if at.checked_add(expected.len() as u64) != Some(length) {
            return false;
        }
        let mut found = vec![0u8; expected.len()];
        read_exact_at(&self.file, &mut found, at).is_ok() && found == expected
    }

    fn stop(&mut self) {
        // Closing the channel stops the thread, which waits for its writes to end.
        self.tx.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// An unpack following a file being written. Dropping it abandons the unpack.
pub struct FollowingUnpack {
    head: Part,
    tail: Option<Part>,
    /// Set when the unpack is abandoned.
    stop: Arc<AtomicBool>,
    archive: PathBuf,
    limits: Limits,
    staging: PathBuf,
    target: PathBuf,
}

/// Tells the unpack how far the second part of a download has come (see
/// [`FollowingUnpack::start_in_two_parts`]).
pub struct TailFeed(mpsc::Sender<Signal>);

impl TailFeed {
    /// The second part's file now has at least `len` bytes (written and flushed).
    pub fn grew(&self, len: u64) {
        let _ = self.0.send(Signal::Grew(len));
    }
}

impl FollowingUnpack {
    /// Starts unpacking the entries under `prefix` of `archive` (being written, from its first
    /// byte) for `target`, into a new folder beside it.
    ///
    /// # Errors
    /// [`ArchiveError::Io`] when the folder cannot be made or the file opened.
    pub fn start(archive: &Path, prefix: &str, target: &Path, limits: Limits) -> Result<Self> {
        Self::start_parts(archive, None, prefix, target, limits)
    }

    /// As [`FollowingUnpack::start`], for a download in two parts written at once: `archive`
    /// gets the bytes before offset `split` (where a local header starts), `tail` the bytes
    /// from `split` to the end (its first byte is the archive's byte `split`). Once both are
    /// complete, and before [`FollowingUnpack::finish`], `tail` is appended to `archive`.
    ///
    /// # Errors
    /// As [`FollowingUnpack::start`].
    pub fn start_in_two_parts(
        archive: &Path,
        (tail, split): (&Path, u64),
        prefix: &str,
        target: &Path,
        limits: Limits,
    ) -> Result<Self> {
        Self::start_parts(archive, Some((tail, split)), prefix, target, limits)
    }

    fn start_parts(
        archive: &Path,
        tail: Option<(&Path, u64)>,
        prefix: &str,
        target: &Path,
        limits: Limits,
    ) -> Result<Self> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(ArchiveError::io(&parent))?;
        remove_leftovers(target);
        let staging = temp_sibling(target, "unpack");
        fs::create_dir(&staging).map_err(ArchiveError::io(&staging))?;
        let stop = Arc::new(AtomicBool::new(false));
        let follow = |path: &Path, base: u64, stop_at: Option<u64>| -> Result<Part> {
            let file = Arc::new(File::open(path).map_err(ArchiveError::io(path))?);
            let (tx, rx) = mpsc::channel();
            let follower = Follower {
                file: Arc::clone(&file),
                path: Arc::from(path),
                base,
                stop_at,
                stop: Arc::clone(&stop),
                rx,
                root: staging.clone(),
                prefix: prefix.to_owned(),
                limits,
            };
            let thread = std::thread::Builder::new()
                .name("remote4d-unpack".into())
                .spawn(move || follower.run())
                .map_err(ArchiveError::io(path))?;
            Ok(Part {
                tx: Some(tx),
                thread: Some(thread),
                file,
                path: path.to_path_buf(),
                base,
            })
        };
        let parts = follow(archive, 0, tail.map(|(_, split)| split)).and_then(|head| {
            let tail = match tail {
                Some((path, split)) => match follow(path, split, None) {
                    Ok(part) => Some(part),
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        let mut head = head;
                        head.stop();
                        return Err(e);
                    }
                },
                None => None,
            };
            Ok((head, tail))
        });
        let (head, tail) = match parts {
            Ok(parts) => parts,
            Err(e) => {
                let _ = fs::remove_dir_all(&staging);
                return Err(e);
            }
        };
        Ok(Self {
            head,
            tail,
            stop,
            archive: archive.to_path_buf(),
            limits,
            staging,
            target: target.to_path_buf(),
        })
    }

    /// The file now has at least `len` bytes (written and flushed).
    pub fn grew(&self, len: u64) {
        if let Some(tx) = &self.head.tx {
            let _ = tx.send(Signal::Grew(len));
        }
    }

    /// What tells the unpack how far the second part has come, for an unpack started in two
    /// parts. Drop it once the part is written (an unpack is abandoned only then).
    pub fn tail_feed(&self) -> Option<TailFeed> {
        let tx = self.tail.as_ref()?.tx.as_ref()?;
        Some(TailFeed(tx.clone()))
    }

    /// The download is complete and verified (the file has all its bytes): waits for the
    /// unpack and, when the archive's central directory lists exactly the entries unpacked,
    /// puts the folder in place of the target and returns the files it wrote, sorted by name,
    /// with their metadata as they were written (what a listing of the target would find,
    /// without walking it). Returns `None` when it does not (the caller unpacks the archive
    /// itself, and meets the error that stopped this one).
    ///
    /// # Errors
    /// [`ArchiveError::Io`] when the folder cannot be put in place (the target is then
    /// unchanged).
    pub fn finish(self) -> Result<Option<Vec<UnpackedFile>>> {
        Ok(self.finish_checked()?.map(|(files, _)| files))
    }

    /// [`FollowingUnpack::finish`], and whether the central directory was the one this program
    /// writes (else the zip reader read it).
    fn finish_checked(mut self) -> Result<Option<(Vec<UnpackedFile>, bool)>> {
        let head = self.head.complete();
        let tail = self.tail.as_mut().map(Part::complete);
        let Some(mut done) = head else {
            return Ok(None);
        };
        // The second part's entries follow the first's.
        let last = match tail {
            None => &self.head,
            Some(None) => return Ok(None),
            Some(Some(tail)) => {
                if !self.joined(&mut done, tail) {
                    return Ok(None);
                }
                self.tail.as_ref().unwrap_or(&self.head)
            }
        };
        // Nothing unpacked is nothing to keep (the caller's own open names what is wrong).
        if done.entries.is_empty() {
            return Ok(None);
        }
        let as_written_here = done
            .central
            .take()
            .is_some_and(|c| last.ends_with(&c.end(done.end), done.end, done.length));
        // Not laid out as written here (another writer's archive): its central directory as
        // the zip reader reads it, with every check of an open.
        if !as_written_here {
            let listed = Archive::open(&self.archive, &self.limits);
            if !listed.is_ok_and(|a| a.entries() == done.entries.as_slice()) {
                tracing::warn!(
                    "the entries unpacked during the download differ from the archive's"
                );
                return Ok(None);
            }
        }
        swap_into_place(&self.staging, &self.target)?;
        done.files.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        tracing::debug!(
            central_as_written_here = as_written_here,
            parts = if self.tail.is_some() { 2 } else { 1 },
            "the unpack that followed the download is in place"
        );
        Ok(Some((done.files, as_written_here)))
    }

    /// Adds the second part's entries to the first's, with the checks an unpack of the whole
    /// makes: false when they fail.
    fn joined(&self, head: &mut Done, tail: Done) -> bool {
        if let Some(name) = tail.names.iter().find(|n| head.names.contains(*n)) {
            tracing::warn!(%name, "an entry is in both parts of the download");
            return false;
        }
        let entries = head.entries.len() + tail.entries.len();
        let total = head.total.saturating_add(tail.total);
        if entries as u64 > self.limits.max_entries || total > self.limits.max_total_size {
            return false;
        }
        head.central = match (head.central.take(), tail.central) {
            (Some(mut c), Some(after)) => {
                c.append(after);
                Some(c)
            }
            _ => None,
        };
        head.entries.extend(tail.entries);
        head.files.extend(tail.files);
        head.total = total;
        head.end = tail.end;
        head.length = tail.length;
        true
    }
}

impl Drop for FollowingUnpack {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.head.stop();
        if let Some(tail) = self.tail.as_mut() {
            tail.stop();
        }
        if self.staging.exists() {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// A file an unpack wrote.
#[derive(Debug)]
pub struct UnpackedFile {
    /// Its path under the target, `/`-separated.
    pub name: String,
    /// Its metadata once written and closed.
    pub metadata: fs::Metadata,
}
