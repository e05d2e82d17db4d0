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

/// Replaces `path` with `bytes` through a temporary file and a rename, without waiting for the
/// disk: readers see the old content or the new one, but after a power loss the file may be
/// gone or empty. For caches that are checked and rebuilt when damaged (the unpacked project's
/// index), where an `fsync` would wait for every pending write of the file system (hundreds of
/// megabytes after an unpack, on ext4).
pub(crate) fn replace_cache_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_sibling(path, "tmp");
    let result = fs::write(&tmp, bytes).and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Reads exactly `buf.len()` bytes at `offset` without moving any shared cursor, so several
/// threads can read one file at once.
pub(crate) fn read_exact_at(file: &fs::File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            let n = std::os::windows::fs::FileExt::seek_read(
                file,
                &mut buf[done..],
                offset + done as u64,
            )?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            done += n;
        }
        Ok(())
    }
}

/// A `Read` over `len` bytes of a file starting at `offset`, using positioned reads.
pub(crate) struct RangeReader<'a> {
    file: &'a fs::File,
    offset: u64,
    remaining: u64,
}

impl<'a> RangeReader<'a> {
    pub(crate) fn new(file: &'a fs::File, offset: u64, len: u64) -> Self {
        Self {
            file,
            offset,
            remaining: len,
        }
    }
}

impl io::Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = (buf.len() as u64).min(self.remaining) as usize;
        if want == 0 {
            return Ok(0);
        }
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(self.file, &mut buf[..want], self.offset)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(self.file, &mut buf[..want], self.offset)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.offset += n as u64;
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Writes a file only the current user can read (mode 0600 on Unix), atomically.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_sibling(path, "tmp");
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
