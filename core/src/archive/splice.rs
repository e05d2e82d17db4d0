//! Writing a file made mostly of byte ranges of other files — an archive rebuilt from the
//! previous archive and a delta — and hashing it at the same time.
//!
//! The ranges are copied by the kernel (`std::io::copy` between files uses `copy_file_range`
//! on Linux: no round trip through user memory) while a second thread reads the same bytes
//! and computes their SHA-256, so a rebuild costs about one read of the result instead of a
//! read, a write and a hash one after the other.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use super::resumable::{Checkpoint, ResumableSha256};
use super::stamp::Stamp;
use crate::fsutil::{RangeReader, read_exact_at};

/// One part of a spliced file.
enum Piece<'a> {
    /// Bytes made here (headers, the central directory).
    Bytes(Vec<u8>),
    /// `len` bytes of `file` from `offset`.
    Range {
        file: &'a File,
        offset: u64,
        len: u64,
    },
}

/// A file described as the concatenation of byte strings and ranges of other files.
#[derive(Default)]
pub(crate) struct Splice<'a> {
    pieces: Vec<Piece<'a>>,
    len: u64,
}

impl<'a> Splice<'a> {
    /// Length of the file described so far.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Appends `bytes`.
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if let Some(Piece::Bytes(last)) = self.pieces.last_mut() {
            last.extend_from_slice(bytes);
        } else {
            self.pieces.push(Piece::Bytes(bytes.to_vec()));
        }
    }

    /// Appends `len` bytes of `file` from `offset` (merged with the previous range when it
    /// continues it).
    pub(crate) fn range(&mut self, file: &'a File, offset: u64, len: u64) {
        if len == 0 {
            return;
        }
        self.len += len;
        if let Some(Piece::Range {
            file: f,
            offset: o,
            len: l,
        }) = self.pieces.last_mut()
            && std::ptr::eq(*f, file)
            && *o + *l == offset
        {
            *l += len;
            return;
        }
        self.pieces.push(Piece::Range { file, offset, len });
    }

    /// Writes the file to `out` (created or truncated) and returns the SHA-256 of its bytes,
    /// the copy and the hash running on two threads.
    ///
    /// # Errors
    /// The first I/O error of either thread; a range that ends past the end of its file is an
    /// [`io::ErrorKind::UnexpectedEof`].
    pub(crate) fn write_hashed(&self, out: &Path) -> io::Result<Stamp> {
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let t = std::time::Instant::now();
            let stop = &stop;
            let hashing = scope.spawn(move || {
                let r = self.hash_until(None, stop).map(|(stamp, _)| stamp);
                tracing::debug!(ms = t.elapsed().as_millis() as u64, "splice hashed");
                r
            });
            let written = self.write(out);
            tracing::debug!(
                ms = t.elapsed().as_millis() as u64,
                pieces = self.pieces.len(),
                "splice written"
            );
            if written.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            let hashed = hashing
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the hashing thread failed")));
            written?;
            hashed
        })
    }

    fn write(&self, out: &Path) -> io::Result<()> {
        let mut file = File::create(out)?;
        for piece in &self.pieces {
            match *piece {
                Piece::Bytes(ref b) => file.write_all(b)?,
                Piece::Range {
                    file: source,
                    offset,
                    len,
                } => {
                    // Positioned reads only: the hashing thread reads the same handle at the
                    // same time, and on Windows a positioned read moves the handle's cursor (a
                    // seek then sequential read here corrupted the output there).
                    let copied = io::copy(&mut RangeReader::new(source, offset, len), &mut file)
                        .map_err(|e| {
                            if e.kind() == io::ErrorKind::UnexpectedEof {
                                io::Error::new(
                                    io::ErrorKind::UnexpectedEof,
                                    "a source file is shorter than expected",
                                )
                            } else {
                                e
                            }
                        })?;
                    if copied != len {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "a source file is shorter than expected",
                        ));
                    }
                }
            }
        }
        file.flush()
    }

    /// How many first bytes of the file described are the first bytes of `file`.
    pub(crate) fn prefix_from(&self, file: &File) -> u64 {
        match self.pieces.first() {
            Some(Piece::Range {
                file: f,
                offset: 0,
                len,
            }) if std::ptr::eq(*f, file) => *len,
            _ => 0,
        }
    }

    /// The SHA-256 of the file described, read from its sources (nothing is written), resumed
    /// at `from` (a state of the same first bytes) when given; with the checkpoints on the way.
    ///
    /// # Errors
    /// As [`Splice::write_hashed`].
    pub(crate) fn hash_from(
        &self,
        from: Option<Checkpoint>,
    ) -> io::Result<(Stamp, Vec<Checkpoint>)> {
        self.hash_until(from, &AtomicBool::new(false))
    }

    fn hash_until(
        &self,
        from: Option<Checkpoint>,
        stop: &AtomicBool,
    ) -> io::Result<(Stamp, Vec<Checkpoint>)> {
        const CHUNK: u64 = 1 << 20;
        let (mut hasher, mut skip) = match from {
            Some(c) => (ResumableSha256::resume(c), c.offset),
            None => (ResumableSha256::new(), 0),
        };
        let mut buf = vec![0u8; CHUNK as usize];
        for piece in &self.pieces {
            if stop.load(Ordering::Relaxed) {
                return Err(io::Error::other("stopped"));
            }
            let len = match piece {
                Piece::Bytes(b) => b.len() as u64,
                Piece::Range { len, .. } => *len,
            };
            if skip >= len {
                skip -= len;
                continue;
            }
            let start = std::mem::take(&mut skip);
            match *piece {
                Piece::Bytes(ref b) => hasher.update(&b[start as usize..]),
                Piece::Range { file, offset, len } => {
                    let mut done = start;
                    while done < len {
                        let n = (len - done).min(CHUNK) as usize;
                        read_exact_at(file, &mut buf[..n], offset + done)?;
                        hasher.update(&buf[..n]);
                        done += n as u64;
                    }
                }
            }
        }
        let (digest, checkpoints) = hasher.finish();
        Ok((Stamp::from_bytes(digest), checkpoints))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_hashes_the_concatenation() {
        let dir = tempfile::tempdir().unwrap();
        let a_path = dir.path().join("a");
        let b_path = dir.path().join("b");
        let a_bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&a_path, &a_bytes).unwrap();
        std::fs::write(&b_path, b"0123456789").unwrap();
        let a = File::open(&a_path).unwrap();
        let b = File::open(&b_path).unwrap();
        let mut s = Splice::default();
        s.bytes(b"head");
        s.range(&a, 10, 1_500_000);
        s.range(&a, 1_500_010, 1_000_000); // continues the previous range: merged
        s.range(&b, 2, 3);
        s.bytes(b"");
        s.bytes(b"tail");
        s.range(&a, 0, 5);
        assert_eq!(s.pieces.len(), 5);
        let mut expected = b"head".to_vec();
        expected.extend_from_slice(&a_bytes[10..2_500_010]);
        expected.extend_from_slice(b"234tail");
        expected.extend_from_slice(&a_bytes[..5]);
        assert_eq!(s.len(), expected.len() as u64);
        let out = dir.path().join("out");
        let stamp = s.write_hashed(&out).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), expected);
        assert_eq!(stamp, Stamp::of_bytes(&expected));
    }

    #[test]
    fn a_range_past_the_end_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short");
        std::fs::write(&path, b"abc").unwrap();
        let f = File::open(&path).unwrap();
        let mut s = Splice::default();
        s.range(&f, 1, 10);
        let err = s.write_hashed(&dir.path().join("out")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
