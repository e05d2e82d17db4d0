//! A byte range of a file as a response body, with one copy of its bytes in this process.
//!
//! Each chunk is read with a positioned read straight into a buffer that becomes the body chunk
//! itself (`Bytes::from_owner`), and the buffer goes back to a small process-wide pool when hyper
//! has written the chunk. On Linux, what the page cache holds is read on the spot without
//! blocking (`RWF_NOWAIT`); the rest, and everything elsewhere, on the blocking pool.
//! (`tokio::fs::File` + `ReaderStream` handed every read to another thread, read into the file's
//! own buffer, then copied it into the stream's, newly allocated for every chunk.)

use std::fs::File;
use std::io;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::Stream;

/// Bytes per chunk: a few TLS records, small enough to stay in the CPU's cache between the
/// read and the encryption.
const CHUNK: usize = 128 * 1024;
/// Buffers kept for reuse (4 MB); more are freed when returned.
const POOL_MAX: usize = 32;

static POOL: Mutex<Vec<Box<[u8]>>> = Mutex::new(Vec::new());

/// A pooled buffer holding `len` valid bytes; back to the pool when dropped.
struct Chunk {
    buf: Option<Box<[u8]>>,
    len: usize,
}

impl Chunk {
    fn new() -> Self {
        let pooled = POOL.lock().ok().and_then(|mut p| p.pop());
        Chunk {
            buf: Some(pooled.unwrap_or_else(|| vec![0; CHUNK].into_boxed_slice())),
            len: 0,
        }
    }
}

impl AsRef<[u8]> for Chunk {
    fn as_ref(&self) -> &[u8] {
        match &self.buf {
            Some(b) => &b[..self.len],
            None => &[],
        }
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        if let (Some(buf), Ok(mut pool)) = (self.buf.take(), POOL.lock())
            && pool.len() < POOL_MAX
        {
            pool.push(buf);
        }
    }
}

/// Reads `chunk`'s missing bytes, up to `len`, at `at` onwards (fewer only at the end of the
/// file: an error then).
fn fill(file: &File, mut chunk: Chunk, len: usize, at: u64) -> io::Result<Bytes> {
    let Some(buf) = chunk.buf.as_mut() else {
        return Ok(Bytes::new());
    };
    let want = len.min(buf.len());
    let mut got = chunk.len;
    while got < want {
        match read_at(file, &mut buf[got..want], at + got as u64) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file got shorter while it was being sent",
                ));
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    chunk.len = got;
    Ok(Bytes::from_owner(chunk))
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, at)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, at)
}

/// Reads into `chunk` what of `len` bytes at `at` the page cache already holds, without
/// waiting for the disk (`preadv2` with `RWF_NOWAIT`): a served archive is nearly always
/// there, and reading it on the worker costs less than handing each chunk to another thread.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn read_cached(file: &File, chunk: &mut Chunk, len: usize, at: u64) {
    use std::os::fd::AsRawFd;
    let Some(buf) = chunk.buf.as_mut() else {
        return;
    };
    let want = len.min(buf.len());
    let Ok(offset) = libc::off_t::try_from(at) else {
        return;
    };
    let iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: want,
    };
    // SAFETY: `iov` points into `buf`, valid and writable for `want` bytes for the whole call;
    // the file descriptor is open (borrowed from `file`).
    #[allow(unsafe_code)]
    let n = unsafe {
        libc::preadv2(
            file.as_raw_fd(),
            &raw const iov,
            1,
            offset,
            libc::RWF_NOWAIT,
        )
    };
    // Not cached, not supported here, or an error: the blocking read finds out.
    if let Ok(n) = usize::try_from(n) {
        chunk.len = n.min(want);
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn read_cached(_: &File, _: &mut Chunk, _: usize, _: u64) {}

/// The `count` bytes of `file` from `start`, as a stream of chunks; an error (the file got
/// shorter, a read failed) ends it, which cuts the response short.
pub(super) fn chunks(file: File, start: u64, count: u64) -> impl Stream<Item = io::Result<Bytes>> {
    let file = Arc::new(file);
    let end = start.saturating_add(count);
    futures::stream::unfold(Some(start), move |at| {
        let file = file.clone();
        async move {
            let at = at?;
            if at >= end {
                return None;
            }
            let len = usize::try_from(end - at).unwrap_or(CHUNK).min(CHUNK);
            let mut chunk = Chunk::new();
            read_cached(&file, &mut chunk, len, at);
            let read = if chunk.len == len {
                Ok(Bytes::from_owner(chunk))
            } else {
                tokio::task::spawn_blocking(move || fill(&file, chunk, len, at))
                    .await
                    .unwrap_or_else(|e| Err(io::Error::other(e)))
            };
            match read {
                Ok(bytes) => Some((Ok(bytes), Some(at + len as u64))),
                Err(e) => Some((Err(e), None)),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;
    use crate::archive::tests_large::noise;

    async fn collect(file: File, start: u64, count: u64) -> (Vec<u8>, Option<io::Error>) {
        let mut out = Vec::new();
        let mut stream = std::pin::pin!(chunks(file, start, count));
        while let Some(item) = stream.next().await {
            match item {
                Ok(b) => {
                    assert!(b.len() <= CHUNK);
                    out.extend_from_slice(&b);
                }
                Err(e) => return (out, Some(e)),
            }
        }
        (out, None)
    }

    #[tokio::test]
    async fn ranges_come_back_byte_exact_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.4dz");
        let data = noise(3 * CHUNK + 1234);
        std::fs::write(&path, &data).unwrap();
        for (start, count) in [
            (0, data.len()),
            (0, 0),
            (1, CHUNK),
            (CHUNK - 1, 2),
            (5000, 2 * CHUNK + 7),
            (data.len() - 1, 1),
        ] {
            let file = File::open(&path).unwrap();
            let (got, err) = collect(file, start as u64, count as u64).await;
            assert!(err.is_none(), "{start}+{count}: {err:?}");
            assert_eq!(got, data[start..start + count], "{start}+{count}");
        }
        // Many bodies one after the other reuse the pooled buffers and still read right.
        for _ in 0..3 * POOL_MAX {
            let file = File::open(&path).unwrap();
            let (got, _) = collect(file, 7, 100).await;
            assert_eq!(got, data[7..107]);
        }
    }

    #[test]
    fn the_blocking_read_completes_what_the_cached_read_began() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.4dz");
        let data = noise(CHUNK + 99);
        std::fs::write(&path, &data).unwrap();
        let file = File::open(&path).unwrap();
        // Whatever the page cache gave (all, part or nothing), it is the file's bytes...
        let mut chunk = Chunk::new();
        read_cached(&file, &mut chunk, CHUNK, 50);
        assert_eq!(chunk.as_ref(), &data[50..50 + chunk.len]);
        // ...and the blocking read fills in the rest of them.
        let bytes = fill(&file, chunk, CHUNK, 50).unwrap();
        assert_eq!(bytes, data[50..50 + CHUNK]);
        // From nothing, too.
        let mut chunk = Chunk::new();
        chunk.len = 0;
        assert_eq!(fill(&file, chunk, 1000, 7).unwrap(), data[7..1007]);
    }

    #[tokio::test]
    async fn a_file_shorter_than_promised_ends_the_body_with_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.4dz");
        let data = noise(CHUNK + 10);
        std::fs::write(&path, &data).unwrap();
        let file = File::open(&path).unwrap();
        let (got, err) = collect(file, 0, 2 * CHUNK as u64).await;
        let err = err.expect("an error");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(err.to_string().contains("shorter"), "{err}");
        // Whatever came before the error is the file's own bytes.
        assert_eq!(got, data[..got.len()]);
        assert_eq!(got.len(), CHUNK);
    }
}
