//! Decompressing one entry's data from the archive file, checked against its size and CRC-32.
//!
//! An unpack writes thousands of small files: each thread keeps its buffers and its inflaters
//! from one entry to the next (a fresh decoder, its buffers zeroed and allocated, cost more than
//! decompressing a small method). An entry of up to 1 MiB is read in one positioned read and
//! decompressed whole by libdeflate (about 1.7 times as fast as a stream), into a buffer of its
//! declared size; a larger one is read in large positioned reads and streamed through zlib-rs,
//! its output handed to the writer in chunks of the same size.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use flate2::{Decompress, FlushDecompress, Status};

use super::error::{ArchiveError, Result};
use super::read::Entry;
use super::write::Method;
use crate::fsutil::read_exact_at;

/// The size of a read from the archive and of a write to the output.
const CHUNK: usize = 256 * 1024;

/// Entries up to this size (and compressed size) are decompressed whole, in memory, by
/// libdeflate (a thread's two buffers grow to this size at most: an unpack's memory stays small
/// whatever the files); larger ones are streamed through zlib-rs in chunks.
const WHOLE: u64 = 1 << 20;

/// One thread's buffers and inflaters, reused from entry to entry.
struct Scratch {
    input: Vec<u8>,
    output: Vec<u8>,
    inflater: Decompress,
    whole: libdeflater::Decompressor,
}

thread_local! {
    static SCRATCH: RefCell<Option<Scratch>> = const { RefCell::new(None) };
}

/// Decompresses the data of `e`, read from `file`, into `out`, checking its size and CRC-32
/// (never producing more than the declared size, whatever the stream says).
///
/// # Errors
/// [`ArchiveError::Corrupt`] when the data does not match the header, [`ArchiveError::Io`]
/// naming `archive` on read errors, and with an empty path on write errors (the caller knows
/// what it writes: [`output_error`]).
pub(crate) fn inflate_entry(
    file: &File,
    archive: &Path,
    e: &Entry,
    out: &mut dyn Write,
) -> Result<u64> {
    SCRATCH.with(|cell| {
        // Taken out for the call (and put back after): `out` could itself unpack an entry.
        let mut scratch = cell.borrow_mut().take().unwrap_or_else(|| Scratch {
            input: vec![0; CHUNK],
            output: vec![0; CHUNK],
            inflater: Decompress::new(false),
            whole: libdeflater::Decompressor::new(),
        });
        let result = inflate_with(&mut scratch, file, archive, e, out);
        *cell.borrow_mut() = Some(scratch);
        result
    })
}

/// Makes `buf` at least `len` bytes long.
fn grow(buf: &mut Vec<u8>, len: usize) {
    if buf.len() < len {
        buf.resize(len, 0);
    }
}

/// Names `output` in the write errors of [`inflate_entry`].
pub(crate) fn output_error(output: &Path) -> impl Fn(ArchiveError) -> ArchiveError + '_ {
    move |err| match err {
        ArchiveError::Io { path, source } if path.as_os_str().is_empty() => {
            ArchiveError::io(output)(source)
        }
        other => other,
    }
}

fn inflate_with(
    s: &mut Scratch,
    file: &File,
    archive: &Path,
    e: &Entry,
    out: &mut dyn Write,
) -> Result<u64> {
    let corrupt = |reason: String| ArchiveError::Corrupt {
        name: e.name.clone(),
        reason,
    };
    let read_err = |err: io::Error| match err.kind() {
        io::ErrorKind::UnexpectedEof => corrupt("the archive ends inside it".into()),
        _ => ArchiveError::io(archive)(err),
    };
    let mut hasher = crc32fast::Hasher::new();
    let mut emit = |bytes: &[u8], written: &mut u64| -> Result<()> {
        *written += bytes.len() as u64;
        if *written > e.size {
            return Err(corrupt(format!(
                "it holds more than the {} bytes it declares",
                e.size
            )));
        }
        hasher.update(bytes);
        out.write_all(bytes)
            .map_err(ArchiveError::io(Path::new("")))
    };
    let mut written = 0u64;
    match e.method {
        Method::Stored => {
            let mut at = 0u64;
            while at < e.compressed_size {
                let n = (e.compressed_size - at).min(CHUNK as u64) as usize;
                read_exact_at(file, &mut s.output[..n], e.data_start + at).map_err(read_err)?;
                at += n as u64;
                emit(&s.output[..n], &mut written)?;
            }
        }
        Method::Deflated if e.size <= WHOLE && e.compressed_size <= WHOLE => {
            let (size, compressed) = (e.size as usize, e.compressed_size as usize);
            grow(&mut s.input, compressed);
            grow(&mut s.output, size);
            read_exact_at(file, &mut s.input[..compressed], e.data_start).map_err(read_err)?;
            // The output room is the declared size: a longer stream stops there.
            let n = match s
                .whole
                .deflate_decompress(&s.input[..compressed], &mut s.output[..size])
            {
                Ok(n) => n,
                Err(libdeflater::DecompressionError::InsufficientSpace) => {
                    return Err(corrupt(format!(
                        "it holds more than the {} bytes it declares",
                        e.size
                    )));
                }
                Err(libdeflater::DecompressionError::BadData) => {
                    return Err(corrupt(
                        "its compressed data is damaged or ends too soon".into(),
                    ));
                }
            };
            emit(&s.output[..n], &mut written)?;
        }
        Method::Deflated => {
            s.inflater.reset(false);
            let (mut read, mut start, mut end) = (0u64, 0usize, 0usize);
            let mut filled = 0usize;
            loop {
                if start == end && read < e.compressed_size {
                    let n = (e.compressed_size - read).min(CHUNK as u64) as usize;
                    read_exact_at(file, &mut s.input[..n], e.data_start + read)
                        .map_err(read_err)?;
                    read += n as u64;
                    (start, end) = (0, n);
                }
                // Room for one byte more than declared at most: enough to see a lie.
                let room =
                    ((CHUNK - filled) as u64).min(e.size + 1 - written - filled as u64) as usize;
                let (in_before, out_before) = (s.inflater.total_in(), s.inflater.total_out());
                let status = s
                    .inflater
                    .decompress(
                        &s.input[start..end],
                        &mut s.output[filled..filled + room],
                        FlushDecompress::None,
                    )
                    .map_err(|err| corrupt(format!("cannot decompress: {err}")))?;
                let consumed = (s.inflater.total_in() - in_before) as usize;
                let produced = (s.inflater.total_out() - out_before) as usize;
                start += consumed;
                filled += produced;
                let ended = status == Status::StreamEnd;
                if filled == CHUNK || ended || filled as u64 + written > e.size {
                    emit(&s.output[..filled], &mut written)?;
                    filled = 0;
                }
                if ended {
                    break;
                }
                if consumed == 0 && produced == 0 && start == end && read == e.compressed_size {
                    return Err(corrupt("its compressed data ends too soon".into()));
                }
            }
        }
    }
    if written != e.size {
        return Err(corrupt(format!("{written} bytes instead of {}", e.size)));
    }
    let crc = hasher.finalize();
    if crc != e.crc32 {
        return Err(corrupt(format!("CRC {crc:08x} instead of {:08x}", e.crc32)));
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use flate2::Compression;
    use flate2::write::DeflateEncoder;

    use super::super::write::{Header, ZipWriter};
    use super::super::{Archive, ArchiveError, Limits};
    use super::*;

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// An archive of `(name, method, declared size, declared CRC, data as stored)`.
    fn archive(dir: &Path, entries: &[(&str, Method, u64, u32, Vec<u8>)]) -> Archive {
        let path = dir.join("a.4dz");
        let mut w = ZipWriter::new(File::create(&path).unwrap());
        for (name, method, size, crc32, data) in entries {
            let h = Header {
                name: (*name).into(),
                is_dir: false,
                method: *method,
                crc32: *crc32,
                size: *size,
                compressed_size: data.len() as u64,
            };
            w.add(&h, data).unwrap();
        }
        w.finish().unwrap();
        Archive::open(&path, &Limits::default()).unwrap()
    }

    fn crc(data: &[u8]) -> u32 {
        crc32fast::hash(data)
    }

    fn reason(err: ArchiveError) -> String {
        match err {
            ArchiveError::Corrupt { reason, .. } => reason,
            other => panic!("not a corrupt entry: {other:?}"),
        }
    }

    #[test]
    fn entries_of_many_chunks_come_out_whole_and_the_buffers_serve_the_next_entry() {
        let dir = tempfile::tempdir().unwrap();
        // Several chunks in and out, a stored one, an empty one, then a small one after them.
        let text: Vec<u8> = (0..3 * CHUNK as u32 + 17)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let noise: Vec<u8> = (0..2 * CHUNK as u32 + 5)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let small = b"// method\n".to_vec();
        let a = archive(
            dir.path(),
            &[
                (
                    "Project/t",
                    Method::Deflated,
                    text.len() as u64,
                    crc(&text),
                    deflate(&text),
                ),
                (
                    "Project/n",
                    Method::Stored,
                    noise.len() as u64,
                    crc(&noise),
                    noise.clone(),
                ),
                ("Project/e", Method::Deflated, 0, 0, deflate(b"")),
                (
                    "Project/s",
                    Method::Deflated,
                    small.len() as u64,
                    crc(&small),
                    deflate(&small),
                ),
            ],
        );
        for (i, want) in [text, noise, Vec::new(), small].iter().enumerate() {
            let mut out = Vec::new();
            assert_eq!(a.copy_entry(i, &mut out).unwrap(), want.len() as u64);
            assert!(out == *want, "entry {i} differs");
        }
    }

    /// A bomb in small: `zeros` zeros declared as `declared` bytes, decompressed whole or
    /// streamed depending on their sizes.
    fn a_longer_stream_stops_at_the_declared_size(zeros: usize, declared: u64) {
        let dir = tempfile::tempdir().unwrap();
        let zeros = vec![0u8; zeros];
        let a = archive(
            dir.path(),
            &[(
                "Project/z",
                Method::Deflated,
                declared,
                crc(&zeros),
                deflate(&zeros),
            )],
        );
        let mut out = Vec::new();
        let err = a.copy_entry(0, &mut out).unwrap_err();
        assert!(reason(err).contains(&format!("more than the {declared} bytes")));
        // Nothing past the declared size was even produced.
        assert!(out.len() as u64 <= declared, "{} bytes written", out.len());
    }

    #[test]
    fn a_stream_longer_than_declared_stops_one_byte_past_the_size() {
        // Decompressed whole (libdeflate), then streamed (zlib-rs).
        a_longer_stream_stops_at_the_declared_size(1 << 20, 1000);
        a_longer_stream_stops_at_the_declared_size(3 * WHOLE as usize, WHOLE + 1000);
    }

    #[test]
    fn cut_data_a_short_stream_and_a_wrong_crc_are_each_named() {
        // Decompressed whole (libdeflate), then streamed (zlib-rs).
        cut_short_and_wrong_crc_are_named(50_000);
        cut_short_and_wrong_crc_are_named(1_000_000);
    }

    fn cut_short_and_wrong_crc_are_named(numbers: u32) {
        let dir = tempfile::tempdir().unwrap();
        let text: Vec<u8> = (0..numbers)
            .flat_map(|i| format!("{i},").into_bytes())
            .collect();
        let packed = deflate(&text);
        let n = text.len() as u64;
        let a = archive(
            dir.path(),
            &[
                // The stream stops in the middle (its compressed bytes were cut).
                (
                    "Project/cut",
                    Method::Deflated,
                    n,
                    crc(&text),
                    packed[..packed.len() / 2].to_vec(),
                ),
                // A whole stream, shorter than declared.
                (
                    "Project/short",
                    Method::Deflated,
                    n + 1,
                    crc(&text),
                    packed.clone(),
                ),
                // The right bytes, the wrong CRC.
                (
                    "Project/crc",
                    Method::Deflated,
                    n,
                    crc(&text) ^ 1,
                    packed.clone(),
                ),
                // Then a good entry: the inflater starts afresh.
                ("Project/ok", Method::Deflated, n, crc(&text), packed),
            ],
        );
        let mut sink = io::sink();
        assert!(reason(a.copy_entry(0, &mut sink).unwrap_err()).contains("ends too soon"));
        assert!(reason(a.copy_entry(1, &mut sink).unwrap_err()).contains("bytes instead of"));
        assert!(reason(a.copy_entry(2, &mut sink).unwrap_err()).contains("CRC"));
        let mut out = Vec::new();
        a.copy_entry(3, &mut out).unwrap();
        assert!(out == text);
    }

    #[test]
    fn a_write_error_names_the_output() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("no space left"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let a = archive(
            dir.path(),
            &[("Project/a", Method::Stored, 3, crc(b"abc"), b"abc".to_vec())],
        );
        let err = a.copy_entry(0, &mut Full).unwrap_err();
        let out = Path::new("/somewhere/a");
        match output_error(out)(err) {
            ArchiveError::Io { path, .. } => assert_eq!(path, out),
            other => panic!("{other:?}"),
        }
    }
}
