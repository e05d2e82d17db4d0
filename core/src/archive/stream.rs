//! Large files: read, checksummed and compressed piece by piece, never held whole in memory.
//!
//! A zip local header carries the CRC-32 and both sizes before the data (Remote4D's archives use
//! no data descriptors, so that they stay byte-for-byte deterministic), so a large file is read
//! twice: a stored file once for its CRC-32 and once to copy it; a deflated file once into a
//! spool file beside the archive, which is then copied. Memory stays a few buffers whatever the
//! file's size. Incompressible data is recognised from its first mebibyte, so 300 MB of random
//! bytes are not deflated for nothing.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use flate2::Compression;
use flate2::write::DeflateEncoder;

use super::compress::precompressed;
use super::error::{ArchiveError, Result};
use super::select::Source;
use super::write::{Header, Method, ZipWriter};

/// Files of this size or more are streamed; smaller ones are compressed in memory, in parallel.
pub(crate) const STREAM_FROM: u64 = 4 << 20;
/// The piece read at a time.
const PIECE: usize = 1 << 20;

/// Deflating the probe saved less than 3 %: the data is treated as incompressible and stored.
fn incompressible(probe: &[u8], level: u32) -> std::io::Result<bool> {
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(probe.len()), Compression::new(level));
    encoder.write_all(probe)?;
    let out = encoder.finish()?;
    Ok(out.len() as u64 * 100 >= probe.len() as u64 * 97)
}

/// Reads `file` from the start to its end in pieces, handing each to `each`; returns the length.
fn read_pieces(
    file: &mut File,
    mut each: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> std::io::Result<u64> {
    let mut buf = vec![0u8; PIECE];
    let mut total = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        each(&buf[..n])?;
        total += n as u64;
    }
}

/// A reader that checksums what it passes on, and remembers whether reading failed (so that a
/// failed copy blames the right file).
pub(crate) struct Checked<R> {
    inner: R,
    crc: crc32fast::Hasher,
    len: u64,
    /// A read failed.
    pub(crate) failed: bool,
}

impl<R> Checked<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            crc: crc32fast::Hasher::new(),
            len: 0,
            failed: false,
        }
    }
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf).inspect_err(|_| self.failed = true)?;
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// Writes the large file `source` into `writer` as one entry; `spool` is a free path beside the
/// archive for the deflated data (removed before returning). `progress` receives the bytes of
/// the file read so far. Returns the entry's header and the offset of its data.
///
/// # Errors
/// [`ArchiveError::Io`] when the file cannot be read or the archive or spool written;
/// [`ArchiveError::Changed`] when the file changed between its two reads.
pub(crate) fn write_large<W: Write>(
    source: &Source,
    level: u32,
    spool: &Path,
    writer: &mut ZipWriter<W>,
    archive: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<(Header, u64)> {
    let unreadable = |e| ArchiveError::io(&source.path)(e);
    let mut file = File::open(&source.path).map_err(unreadable)?;
    let store = level == 0 || precompressed(&source.name) || {
        // The first piece is the probe.
        let probe = read_piece(&mut file).map_err(unreadable)?;
        probe.is_empty() || incompressible(&probe, level).map_err(unreadable)?
    };
    if !store {
        let spooled = deflate_to_spool(source, &mut file, level, spool, progress);
        let written = match spooled {
            Ok(Spooled::Smaller(s)) => Some(copy_spool(source, &s, spool, writer, archive)),
            Ok(Spooled::NotSmaller) => None,
            Err(e) => Some(Err(e)),
        };
        let _ = std::fs::remove_file(spool);
        if let Some(written) = written {
            return written;
        }
    }
    store_file(source, &mut file, writer, progress).map_err(|e| match e {
        Stored::Source(e) => unreadable(e),
        Stored::Archive(e) => ArchiveError::io(archive)(e),
        Stored::Changed => ArchiveError::Changed {
            path: source.path.clone(),
        },
    })
}

/// What deflating into the spool gave.
enum Spooled {
    /// Deflate saved space: the CRC-32, the file's size and the spool's.
    Smaller(SpoolDone),
    /// Deflate saved nothing: store the file.
    NotSmaller,
}

struct SpoolDone {
    crc32: u32,
    size: u64,
    compressed_size: u64,
}

/// Pieces deflated at once (in parallel), bounding memory to about twice this many MiB.
const WINDOW: usize = 8;

/// Reads up to `PIECE` bytes (fewer only at the end of the file).
fn read_piece(file: &mut File) -> std::io::Result<Vec<u8>> {
    let mut piece = Vec::with_capacity(PIECE);
    Read::by_ref(file)
        .take(PIECE as u64)
        .read_to_end(&mut piece)?;
    Ok(piece)
}

/// Deflates one piece as a run of raw deflate blocks: ended by a sync flush (byte-aligned, not
/// final) so that the next piece's blocks follow it, or, for the last piece, by the final block.
/// Each piece depends on its own bytes only, so the pieces are deflated in parallel and the
/// result is the same whatever the number of cores (as pigz does, without priming each piece
/// with the previous one's last 32 KiB: a fraction of a percent larger).
fn deflate_piece(data: &[u8], level: u32, last: bool) -> std::io::Result<Vec<u8>> {
    use flate2::{Compress, FlushCompress, Status};
    let mut c = Compress::new(Compression::new(level), false);
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    loop {
        let consumed = usize::try_from(c.total_in()).unwrap_or(data.len());
        let status = c
            .compress_vec(&data[consumed.min(data.len())..], &mut out, flush)
            .map_err(std::io::Error::other)?;
        let all_in = usize::try_from(c.total_in()).is_ok_and(|n| n == data.len());
        let room_left = out.len() < out.capacity();
        match status {
            Status::StreamEnd => return Ok(out),
            _ if all_in && room_left && !last => return Ok(out),
            _ => out.reserve(out.capacity().max(64 * 1024)),
        }
    }
}

fn deflate_to_spool(
    source: &Source,
    file: &mut File,
    level: u32,
    spool: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<Spooled> {
    use rayon::prelude::*;
    use std::io::Seek;
    let unreadable = |e| ArchiveError::io(&source.path)(e);
    let unwritable = |e| ArchiveError::io(spool)(e);
    file.rewind().map_err(unreadable)?;
    let mut out = BufWriter::with_capacity(PIECE, File::create(spool).map_err(unwritable)?);
    let mut crc = crc32fast::Hasher::new();
    let mut size = 0u64;
    // One piece read ahead: a piece is the last one only when nothing follows it.
    let mut ahead = read_piece(file).map_err(unreadable)?;
    loop {
        let mut window = Vec::with_capacity(WINDOW);
        while window.len() < WINDOW && !ahead.is_empty() {
            let next = read_piece(file).map_err(unreadable)?;
            window.push(std::mem::replace(&mut ahead, next));
        }
        if window.is_empty() {
            break;
        }
        let count = window.len();
        let at_end = ahead.is_empty();
        let deflated: Vec<std::io::Result<Vec<u8>>> = window
            .par_iter()
            .enumerate()
            .map(|(i, piece)| deflate_piece(piece, level, at_end && i + 1 == count))
            .collect();
        for (piece, packed) in window.iter().zip(deflated) {
            crc.update(piece);
            out.write_all(&packed.map_err(unwritable)?)
                .map_err(unwritable)?;
            size += piece.len() as u64;
            progress(size);
        }
    }
    let out = out.into_inner().map_err(|e| unwritable(e.into_error()))?;
    let compressed_size = out.metadata().map_err(unwritable)?.len();
    Ok(if compressed_size < size {
        Spooled::Smaller(SpoolDone {
            crc32: crc.finalize(),
            size,
            compressed_size,
        })
    } else {
        Spooled::NotSmaller
    })
}

fn copy_spool<W: Write>(
    source: &Source,
    s: &SpoolDone,
    spool: &Path,
    writer: &mut ZipWriter<W>,
    archive: &Path,
) -> Result<(Header, u64)> {
    let header = Header {
        name: source.name.clone(),
        is_dir: false,
        method: Method::Deflated,
        crc32: s.crc32,
        size: s.size,
        compressed_size: s.compressed_size,
    };
    let mut data = File::open(spool).map_err(ArchiveError::io(spool))?;
    let offset = writer
        .add_stream(&header, &mut data)
        .map_err(ArchiveError::io(archive))?;
    Ok((header, offset))
}

/// Why storing a file failed.
enum Stored {
    Source(std::io::Error),
    Archive(std::io::Error),
    Changed,
}

/// Stores `file` as is: one read for its CRC-32, one to copy it, checked against the first.
fn store_file<W: Write>(
    source: &Source,
    file: &mut File,
    writer: &mut ZipWriter<W>,
    progress: &mut dyn FnMut(u64),
) -> std::result::Result<(Header, u64), Stored> {
    use std::io::Seek;
    file.rewind().map_err(Stored::Source)?;
    let mut crc = crc32fast::Hasher::new();
    let mut done = 0u64;
    let size = read_pieces(file, |piece| {
        crc.update(piece);
        done += piece.len() as u64;
        progress(done);
        Ok(())
    })
    .map_err(Stored::Source)?;
    let header = Header {
        name: source.name.clone(),
        is_dir: false,
        method: Method::Stored,
        crc32: crc.finalize(),
        size,
        compressed_size: size,
    };
    file.rewind().map_err(Stored::Source)?;
    let mut checked = Checked::new(file);
    let offset = writer
        .add_stream(&header, &mut checked)
        .map_err(|e| match e.kind() {
            _ if checked.failed => Stored::Source(e),
            std::io::ErrorKind::UnexpectedEof => Stored::Changed,
            _ => Stored::Archive(e),
        })?;
    // Longer than the first read: the copy stopped at the header's size; check for more.
    let mut extra = [0u8; 1];
    let longer = checked.inner.read(&mut extra).map_err(Stored::Source)? > 0;
    if longer || checked.len != size || checked.crc.finalize() != header.crc32 {
        return Err(Stored::Changed);
    }
    Ok((header, offset))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::deflate_piece;

    #[test]
    fn pieces_deflated_apart_make_one_deflate_stream() {
        let text: Vec<u8> = (0..300_000u32)
            .flat_map(|i| format!("line {} {}\n", i % 977, i % 13).into_bytes())
            .collect();
        for pieces in [1, 2, 5] {
            let size = text.len().div_ceil(pieces);
            let chunks: Vec<&[u8]> = text.chunks(size).collect();
            let mut stream = Vec::new();
            for (i, c) in chunks.iter().enumerate() {
                stream.extend(deflate_piece(c, 6, i + 1 == chunks.len()).unwrap());
            }
            let mut back = Vec::new();
            flate2::read::DeflateDecoder::new(&stream[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, text, "{pieces} pieces");
            assert!(
                stream.len() < text.len() / 3,
                "still compressed: {}",
                stream.len()
            );
        }
        // The same pieces always give the same bytes.
        assert_eq!(
            deflate_piece(&text[..100_000], 6, false).unwrap(),
            deflate_piece(&text[..100_000], 6, false).unwrap()
        );
    }
}
