//! Building a `.4dz` from a project folder: deterministic, parallel, incremental.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::compress::{Compressed, compress_file};
use super::error::{ArchiveError, Result};
use super::select::{Source, collect};
use super::stamp::Stamp;
use super::stream::{STREAM_FROM, write_large};
use super::write::{Header, Method, ZipWriter};
use crate::fsutil::{RangeReader, read_exact_at, temp_sibling};

/// How an archive is built.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Deflate level, 0 (store only) to 9. The default, 6, matches `zip`'s.
    pub level: u32,
    /// Bytes of file content prepared in parallel before being written, bounding memory use.
    /// Files of 4 MiB or more are streamed one at a time, whatever this says.
    pub batch_bytes: u64,
    /// The folder of the project archived: `Project` (a `.4dz`), or `Resources` (the project's
    /// resources, which clients keep beside it).
    pub top_folder: String,
    /// Told how far the build is, from the building thread, often (throttle before printing).
    pub progress: Option<OnProgress>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            level: 6,
            batch_bytes: 16 * 1024 * 1024,
            top_folder: super::names::TOP_FOLDER.to_owned(),
            progress: None,
        }
    }
}

/// How far a build is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildProgress {
    /// Bytes of file content read so far.
    pub done: u64,
    /// Bytes of file content in the project.
    pub total: u64,
    /// Files and folders written so far.
    pub entries_done: usize,
    /// Files and folders in the project.
    pub entries_total: usize,
}

/// A function told of a build's progress ([`BuildOptions::progress`]).
#[derive(Clone)]
pub struct OnProgress(Arc<dyn Fn(BuildProgress) + Send + Sync>);

impl OnProgress {
    /// Wraps `f`.
    pub fn new(f: impl Fn(BuildProgress) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    fn tell(&self, p: BuildProgress) {
        (self.0)(p);
    }
}

impl std::fmt::Debug for OnProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnProgress")
    }
}

/// One entry of a built archive, with what is needed to reuse it in the next build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltEntry {
    /// Entry name (`Project/...`, folders end with `/`).
    pub name: String,
    /// Uncompressed size.
    pub size: u64,
    /// CRC-32 of the content.
    pub crc32: u32,
    /// Compression method.
    pub method: Method,
    /// Size of the data in the archive.
    pub compressed_size: u64,
    /// Offset of the entry's data in the archive.
    pub data_offset: u64,
    /// Modification time of the source file when it was read (ns since the epoch).
    pub source_mtime_ns: u128,
}

impl BuiltEntry {
    /// True for folder entries.
    pub fn is_dir(&self) -> bool {
        self.name.ends_with('/')
    }

    /// The headers this entry was written with.
    pub(crate) fn header(&self) -> Header {
        Header {
            name: self.name.clone(),
            is_dir: self.is_dir(),
            method: self.method,
            crc32: self.crc32,
            size: self.size,
            compressed_size: self.compressed_size,
        }
    }
}

/// What a build produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildReport {
    /// SHA-256 of the archive: the project stamp.
    pub stamp: Stamp,
    /// Archive length in bytes.
    pub archive_size: u64,
    /// Every entry, in archive order.
    pub entries: Vec<BuiltEntry>,
    /// When the build started reading files (ns since the epoch).
    pub started_ns: u128,
    /// Entries whose compressed bytes were copied from the previous archive.
    pub reused: usize,
}

impl BuildReport {
    /// Number of file (not folder) entries.
    pub fn file_count(&self) -> usize {
        self.entries.iter().filter(|e| !e.is_dir()).count()
    }

    /// Total uncompressed size of the files.
    pub fn content_size(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }
}

/// A previous build whose unchanged entries may be copied raw.
#[derive(Debug, Clone, Copy)]
pub struct Previous<'a> {
    /// The previous archive.
    pub archive: &'a Path,
    /// Its report.
    pub report: &'a BuildReport,
}

/// Files modified this close to the previous build's start are re-read even when their size
/// and time match ("racily clean": the clock may not have ticked between two writes).
const RACY_WINDOW: Duration = Duration::from_secs(2);

/// Builds the archive of the project at `root` (the folder containing `Project/`) into `out`.
///
/// Entries are sorted, timestamps and permissions fixed, so the same content always gives the
/// same bytes. The file is written beside `out` and renamed into place when complete. Memory
/// stays bounded whatever the size of the files: small ones are compressed in parallel batches
/// of [`BuildOptions::batch_bytes`], large ones streamed through a spool file beside `out`.
///
/// # Errors
/// [`ArchiveError::NotAProject`] without `root/Project`, [`ArchiveError::Io`] when a file cannot
/// be read or the archive written, [`ArchiveError::NonUnicodeName`] for unportable names.
pub fn build(root: &Path, out: &Path, options: &BuildOptions) -> Result<BuildReport> {
    build_incremental(root, out, options, None)
}

/// Like [`build`], copying the compressed bytes of unchanged files from `previous`.
///
/// A file is unchanged when its size and modification time equal those recorded in the previous
/// report and it was not modified within two seconds of that build's start. The result is the
/// same, byte for byte, as a full build.
///
/// # Errors
/// As [`build`]; a previous archive that cannot be read only disables reuse.
pub fn build_incremental(
    root: &Path,
    out: &Path,
    options: &BuildOptions,
    previous: Option<Previous<'_>>,
) -> Result<BuildReport> {
    let started_ns = now_ns();
    let sources = collect(root, &options.top_folder)?;
    let reuse = previous.and_then(|p| ReuseSource::open(p).ok());
    let tmp = temp_sibling(out, "building");
    let result = write_all(&sources, &tmp, options, reuse.as_ref(), started_ns);
    match result {
        Ok(report) => {
            std::fs::rename(&tmp, out).map_err(ArchiveError::io(out))?;
            Ok(report)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

struct ReuseSource<'a> {
    file: File,
    by_name: HashMap<&'a str, &'a BuiltEntry>,
    started_ns: u128,
}

impl<'a> ReuseSource<'a> {
    fn open(p: Previous<'a>) -> std::io::Result<Self> {
        let file = File::open(p.archive)?;
        if file.metadata()?.len() != p.report.archive_size {
            return Err(std::io::Error::other("previous archive changed"));
        }
        Ok(Self {
            file,
            by_name: p
                .report
                .entries
                .iter()
                .map(|e| (e.name.as_str(), e))
                .collect(),
            started_ns: p.report.started_ns,
        })
    }

    /// The previous entry for `source` when it can be reused as is.
    fn lookup(&self, source: &Source) -> Option<&'a BuiltEntry> {
        let prev = *self.by_name.get(source.name.as_str())?;
        let racy = source.mtime_ns + RACY_WINDOW.as_nanos() >= self.started_ns;
        (prev.size == source.size
            && prev.source_mtime_ns == source.mtime_ns
            && source.mtime_ns != 0
            && !racy)
            .then_some(prev)
    }

    fn read(&self, prev: &BuiltEntry) -> std::io::Result<Compressed> {
        let len = usize::try_from(prev.compressed_size).map_err(std::io::Error::other)?;
        let mut data = vec![0u8; len];
        read_exact_at(&self.file, &mut data, prev.data_offset)?;
        Ok(Compressed {
            method: prev.method,
            crc32: prev.crc32,
            size: prev.size,
            data,
        })
    }
}

struct Prepared {
    compressed: Compressed,
    reused: bool,
}

fn prepare(
    source: &Source,
    options: &BuildOptions,
    reuse: Option<&ReuseSource<'_>>,
) -> Result<Prepared> {
    if source.is_dir {
        return Ok(Prepared {
            compressed: Compressed {
                method: Method::Stored,
                crc32: 0,
                size: 0,
                data: Vec::new(),
            },
            reused: false,
        });
    }
    if let Some(reuse) = reuse {
        if let Some(prev) = reuse.lookup(source) {
            if let Ok(compressed) = reuse.read(prev) {
                return Ok(Prepared {
                    compressed,
                    reused: true,
                });
            }
        }
    }
    let compressed = compress_file(&source.name, &source.path, options.level)
        .map_err(ArchiveError::io(&source.path))?;
    Ok(Prepared {
        compressed,
        reused: false,
    })
}

// Long: the one loop that writes every entry in order — a batch of small files compressed in
// parallel, or one large file streamed — and records each for the report and the progress.
fn write_all(
    sources: &[Source],
    tmp: &Path,
    options: &BuildOptions,
    reuse: Option<&ReuseSource<'_>>,
    started_ns: u128,
) -> Result<BuildReport> {
    let file = File::create(tmp).map_err(ArchiveError::io(tmp))?;
    let mut writer = ZipWriter::new(BufWriter::with_capacity(1 << 20, file));
    let mut entries = Vec::with_capacity(sources.len());
    let mut reused = 0;
    let mut progress = BuildProgress {
        done: 0,
        total: sources.iter().map(|s| s.size).sum(),
        entries_done: 0,
        entries_total: sources.len(),
    };
    let tell = |p: BuildProgress| {
        if let Some(f) = &options.progress {
            f.tell(p);
        }
    };
    tell(progress);
    let spool = temp_sibling(tmp, "spool");
    for batch in batches(sources, options.batch_bytes) {
        let written: Vec<(Header, u64, bool, &Source)> = match batch {
            Batch::Large(source) => {
                let before = progress.done;
                let (header, offset, was_reused) =
                    match reuse.and_then(|r| Some((r, r.lookup(source)?))) {
                        Some((r, prev)) => {
                            let header = prev.header();
                            let mut data =
                                RangeReader::new(&r.file, prev.data_offset, prev.compressed_size);
                            let offset = writer
                                .add_stream(&header, &mut data)
                                .map_err(ArchiveError::io(tmp))?;
                            (header, offset, true)
                        }
                        None => {
                            // A file stored after a failed deflate is read again: never go back.
                            let mut high = before;
                            let (header, offset) = write_large(
                                source,
                                options.level,
                                &spool,
                                &mut writer,
                                tmp,
                                &mut |n| {
                                    if before + n > high {
                                        high = before + n;
                                        tell(BuildProgress {
                                            done: high,
                                            ..progress
                                        });
                                    }
                                },
                            )?;
                            (header, offset, false)
                        }
                    };
                vec![(header, offset, was_reused, source)]
            }
            Batch::Small(batch) => {
                let prepared: Vec<Result<Prepared>> = batch
                    .par_iter()
                    .map(|s| prepare(s, options, reuse))
                    .collect();
                let mut written = Vec::with_capacity(batch.len());
                for (source, prepared) in batch.iter().zip(prepared) {
                    let prepared = prepared?;
                    let c = &prepared.compressed;
                    let header = Header {
                        name: source.name.clone(),
                        is_dir: source.is_dir,
                        method: c.method,
                        crc32: c.crc32,
                        size: c.size,
                        compressed_size: c.data.len() as u64,
                    };
                    let offset = writer
                        .add(&header, &c.data)
                        .map_err(ArchiveError::io(tmp))?;
                    written.push((header, offset, prepared.reused, source));
                }
                written
            }
        };
        for (header, data_offset, was_reused, source) in written {
            reused += usize::from(was_reused);
            progress.done += source.size;
            progress.entries_done += 1;
            entries.push(BuiltEntry {
                name: header.name,
                size: header.size,
                crc32: header.crc32,
                method: header.method,
                compressed_size: header.compressed_size,
                data_offset,
                source_mtime_ns: source.mtime_ns,
            });
        }
        tell(progress);
    }
    let (buffered, stamp, archive_size) = writer.finish().map_err(ArchiveError::io(tmp))?;
    // No fsync: an archive is always rebuilt from the project at start, and clients check its
    // stamp, so a torn file after a power loss is harmless; the rename keeps readers consistent.
    buffered.into_inner().map_err(|e| ArchiveError::Io {
        path: tmp.to_path_buf(),
        source: e.into_error(),
    })?;
    Ok(BuildReport {
        stamp,
        archive_size,
        entries,
        started_ns,
        reused,
    })
}

/// A run of small files compressed in parallel, or one large file streamed.
enum Batch<'a> {
    Small(&'a [Source]),
    Large(&'a Source),
}

/// Splits `sources` into consecutive runs of small files of about `limit` bytes (at least one
/// entry each), each large file alone.
fn batches(sources: &[Source], limit: u64) -> Vec<Batch<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0u64;
    for (i, s) in sources.iter().enumerate() {
        if !s.is_dir && s.size >= STREAM_FROM {
            if start < i {
                out.push(Batch::Small(&sources[start..i]));
            }
            out.push(Batch::Large(s));
            start = i + 1;
            bytes = 0;
            continue;
        }
        bytes += s.size.max(1024);
        if bytes >= limit {
            out.push(Batch::Small(&sources[start..=i]));
            start = i + 1;
            bytes = 0;
        }
    }
    if start < sources.len() {
        out.push(Batch::Small(&sources[start..]));
    }
    out
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}
