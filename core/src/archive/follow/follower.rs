//! The thread that follows one part of a growing archive file: it reads each local header as
//! soon as its bytes are there and queues the entry's file for its writers.

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use super::super::Limits;
use super::super::delta::header_of;
use super::super::error::{ArchiveError, Result};
use super::super::inflate::{inflate_entry, output_error};
use super::super::names::check_name;
use super::super::read::Entry;
use super::super::write::{Central, Method};
use super::UnpackedFile;
use crate::fsutil::read_exact_at;

const LOCAL_SIG: [u8; 4] = [0x50, 0x4b, 0x03, 0x04];
pub(super) const CENTRAL_SIG: [u8; 4] = [0x50, 0x4b, 0x01, 0x02];
const EOCD_SIG: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];

/// What the file being followed did, in bytes of that file.
pub(super) enum Signal {
    /// The file has at least this many bytes.
    Grew(u64),
    /// The file is complete, with this many bytes.
    Complete(u64),
}

/// What a following thread ends with, or why it stopped.
pub(super) type Followed = std::result::Result<Done, String>;

/// What a following thread read and wrote.
pub(super) struct Done {
    /// The entries, from their local headers (offsets in the archive).
    pub(super) entries: Vec<Entry>,
    /// The files written.
    pub(super) files: Vec<UnpackedFile>,
    /// The central directory records this program writes for `entries`, when it could make
    /// them.
    pub(super) central: Option<Central>,
    /// The entries' names, lower case, without a final `/`.
    pub(super) names: HashSet<String>,
    /// Their total uncompressed size.
    pub(super) total: u64,
    /// The offset in the archive where the local entries end.
    pub(super) end: u64,
    /// The length of the followed file when it was complete.
    pub(super) length: u64,
}

/// Follows one file holding the archive's bytes from offset `base` on.
pub(super) struct Follower {
    pub(super) file: Arc<File>,
    /// The file's path, for read errors.
    pub(super) path: Arc<Path>,
    /// The archive offset of the file's first byte (a local header).
    pub(super) base: u64,
    /// Where this part's entries end, when another part has the rest: reaching it ends the
    /// part (an entry that would cross it is an error).
    pub(super) stop_at: Option<u64>,
    /// Set when the unpack is abandoned: the writers skip what is queued.
    pub(super) stop: Arc<AtomicBool>,
    pub(super) rx: mpsc::Receiver<Signal>,
    pub(super) root: PathBuf,
    pub(super) prefix: String,
    pub(super) limits: Limits,
}

/// A local header read from the file.
struct Local {
    name: String,
    method: Method,
    crc32: u32,
    size: u64,
    compressed_size: u64,
    data_start: u64,
}

impl Follower {
    pub(super) fn run(self) -> Followed {
        let (done_tx, done_rx) = mpsc::channel::<Result<Option<UnpackedFile>>>();
        // Writers of their own (the thread pool's wake-ups cost more than small files).
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let job_rx = Arc::new(std::sync::Mutex::new(job_rx));
        let base = self.base;
        let writers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
        let mut handles = Vec::new();
        for _ in 0..writers {
            let rx = Arc::clone(&job_rx);
            let stop = Arc::clone(&self.stop);
            let file = Arc::clone(&self.file);
            let archive = Arc::clone(&self.path);
            let done = done_tx.clone();
            let spawned = std::thread::Builder::new()
                .name("remote4d-unpack-writer".into())
                .spawn(move || {
                    loop {
                        let job = rx
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv();
                        let Ok((mut entry, path, name)) = job else {
                            break;
                        };
                        // Abandoned: the queued files are not written (the folder goes away).
                        let result = if stop.load(Ordering::Relaxed) {
                            Ok(None)
                        } else {
                            // Where the data is in the file followed.
                            entry.data_start -= base;
                            write_file(&file, &archive, &entry, &path)
                                .map(|metadata| Some(UnpackedFile { name, metadata }))
                        };
                        let _ = done.send(result);
                    }
                });
            if let Ok(h) = spawned {
                handles.push(h);
            }
        }
        let mut jobs = 0usize;
        let t = std::time::Instant::now();
        let result = if handles.is_empty() {
            Err("no writer thread".to_owned())
        } else {
            self.follow(&job_tx, &mut jobs)
        };
        if result.is_err() {
            self.stop.store(true, Ordering::Relaxed);
        }
        tracing::debug!(
            ms = t.elapsed().as_millis() as u64,
            jobs,
            "followed to the end"
        );
        drop(job_tx);
        drop(done_tx);
        // Every job ends (and stops writing into the folder) before the result is known.
        let mut failed = None;
        let mut written = Vec::with_capacity(jobs);
        for _ in 0..jobs {
            match done_rx.recv() {
                Ok(Ok(file)) => written.extend(file),
                Ok(Err(e)) => failed = failed.or(Some(e.to_string())),
                Err(_) => failed = failed.or(Some("an unpack job was lost".into())),
            }
        }
        for h in handles {
            let _ = h.join();
        }
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "unpack jobs done");
        let mut done = result?;
        match failed {
            Some(reason) => Err(reason),
            None => {
                done.files = written;
                Ok(done)
            }
        }
    }

    /// Reads the entries as they come and queues their files, until the part's end (`stop_at`)
    /// or, once the file is complete, the central directory.
    fn follow(&self, queue: &mpsc::Sender<Job>, jobs: &mut usize) -> Followed {
        let mut entries = Vec::new();
        let mut seen = Seen::default();
        // The central directory this program would write for the entries read so far.
        let mut central = Some(Central::default());
        let mut total = 0u64;
        let mut pos = self.base;
        let mut available = self.base;
        let mut complete = false;
        loop {
            if self.stop_at == Some(pos) {
                // Every entry of the part is queued: nothing more to wait for.
                complete = true;
            } else {
                match self.next_local(pos, available)? {
                    Next::Entry(local) => {
                        let header_start = pos;
                        pos = local.data_start + local.compressed_size;
                        if self.stop_at.is_some_and(|at| pos > at) {
                            return Err("an entry crosses the end of its part".into());
                        }
                        let entry = self.unpack(local, &mut seen, &mut total, queue, jobs)?;
                        central = central.and_then(|mut c| {
                            c.push(&header_of(&entry), header_start).ok()?;
                            Some(c)
                        });
                        entries.push(entry);
                        if entries.len() as u64 > self.limits.max_entries {
                            return Err("too many entries".into());
                        }
                        continue;
                    }
                    Next::End if self.stop_at.is_some() => {
                        return Err("the central directory starts inside a part".into());
                    }
                    Next::NeedMore if complete => {
                        return Err("the file ends inside an entry".into());
                    }
                    Next::End | Next::NeedMore => {}
                }
            }
            if complete {
                return Ok(Done {
                    entries,
                    files: Vec::new(),
                    central,
                    names: seen.names,
                    total,
                    end: pos,
                    length: available - self.base,
                });
            }
            // Woken now and then to see whether the unpack was abandoned.
            match self.rx.recv_timeout(Duration::from_millis(200)) {
                Ok(Signal::Grew(len)) => available = available.max(self.base + len),
                Ok(Signal::Complete(len)) => {
                    tracing::debug!(pos, "download complete");
                    available = self.base + len;
                    complete = true;
                }
                Err(mpsc::RecvTimeoutError::Timeout) if !self.stop.load(Ordering::Relaxed) => {}
                Err(_) => {
                    self.stop.store(true, Ordering::Relaxed);
                    return Err("abandoned".into());
                }
            }
        }
    }

    /// The entry at `pos` if its header and data are all within `available` bytes.
    fn next_local(&self, pos: u64, available: u64) -> std::result::Result<Next, String> {
        let read = |buf: &mut [u8], at: u64| {
            read_exact_at(&self.file, buf, at - self.base).map_err(|e| format!("cannot read: {e}"))
        };
        if pos + 4 > available {
            return Ok(Next::NeedMore);
        }
        // One read for the header with (usually) its name and extra field.
        let mut head = [0u8; 1024];
        let head_len = (available - pos).min(head.len() as u64) as usize;
        let head = &mut head[..head_len];
        read(head, pos)?;
        let sig = &head[..4];
        if sig == CENTRAL_SIG || sig == EOCD_SIG {
            return Ok(Next::End);
        }
        if sig != LOCAL_SIG {
            return Err(format!("unexpected bytes at offset {pos}"));
        }
        if head.len() < 30 {
            return Ok(Next::NeedMore);
        }
        let h = &head[..30];
        let u16_at = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let flags = u16_at(6);
        if flags & 0x0009 != 0 {
            return Err("encrypted entry or data descriptor".into());
        }
        let method = match u16_at(8) {
            0 => Method::Stored,
            8 => Method::Deflated,
            m => return Err(format!("compression method {m}")),
        };
        let name_len = u64::from(u16_at(26));
        let extra_len = u64::from(u16_at(28));
        let data_start = pos + 30 + name_len + extra_len;
        if data_start > available {
            return Ok(Next::NeedMore);
        }
        // The name and extra field, from the first read or (when longer) one more.
        let rest = match head.get(30..(data_start - pos) as usize) {
            Some(rest) => rest.to_vec(),
            None => {
                let mut rest = vec![0u8; (name_len + extra_len) as usize];
                read(&mut rest, pos + 30)?;
                rest
            }
        };
        let (name, extra) = rest.split_at(name_len as usize);
        let name =
            String::from_utf8(name.to_vec()).map_err(|_| "a name is not UTF-8".to_owned())?;
        let (mut size, mut compressed_size) = (u64::from(u32_at(22)), u64::from(u32_at(18)));
        if size == 0xFFFF_FFFF || compressed_size == 0xFFFF_FFFF {
            (size, compressed_size) = zip64_sizes(extra).ok_or("a zip64 entry without sizes")?;
        }
        if data_start.saturating_add(compressed_size) > available {
            return Ok(Next::NeedMore);
        }
        Ok(Next::Entry(Local {
            name,
            method,
            crc32: u32_at(14),
            size,
            compressed_size,
            data_start,
        }))
    }

    /// Checks `local` and unpacks it: a folder at once, a file by a job of the thread pool.
    fn unpack(
        &self,
        local: Local,
        seen: &mut Seen,
        total: &mut u64,
        queue: &mpsc::Sender<Job>,
        jobs: &mut usize,
    ) -> std::result::Result<Entry, String> {
        check_name(&local.name).map_err(|e| e.to_string())?;
        // Case-insensitively, as `Archive::open`: on Windows and macOS they are one file.
        if !seen
            .names
            .insert(local.name.trim_end_matches('/').to_lowercase())
        {
            return Err(format!("{} is in the archive twice", local.name));
        }
        let rel = local
            .name
            .strip_prefix(&self.prefix)
            .ok_or_else(|| format!("{} is outside {}", local.name, self.prefix))?
            .trim_end_matches('/')
            .to_owned();
        *total = total.saturating_add(local.size);
        if *total > self.limits.max_total_size {
            return Err("the archive is larger than allowed".into());
        }
        // The same bomb check as `Archive::open`, before anything is inflated.
        if local.size > self.limits.ratio_floor
            && local.size / local.compressed_size.max(1) > self.limits.max_ratio
        {
            return Err(format!("{} is compressed suspiciously well", local.name));
        }
        if local.method == Method::Stored && local.size != local.compressed_size {
            return Err(format!("{} is stored with a wrong size", local.name));
        }
        let is_dir = local.name.ends_with('/');
        let entry = Entry {
            is_dir,
            size: local.size,
            compressed_size: local.compressed_size,
            method: local.method,
            crc32: local.crc32,
            data_start: local.data_start,
            name: local.name,
        };
        if rel.is_empty() {
            return Ok(entry);
        }
        let path = self.root.join(&rel);
        let folder = if is_dir {
            Some(path.as_path())
        } else {
            path.parent()
        };
        if let Some(folder) = folder
            && !seen.folders.contains(folder)
        {
            fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
            seen.folders.insert(folder.to_path_buf());
        }
        if !is_dir {
            queue
                .send((entry.clone(), path, rel))
                .map_err(|_| "the writers stopped".to_owned())?;
            *jobs += 1;
        }
        Ok(entry)
    }
}

/// What the follower has seen: the entry names (lower case) and the folders made.
#[derive(Default)]
struct Seen {
    names: HashSet<String>,
    folders: HashSet<PathBuf>,
}

/// A file to write: the entry, where, and its name under the target.
type Job = (Entry, PathBuf, String);

enum Next {
    Entry(Local),
    NeedMore,
    End,
}

/// Writes entry `e` at `path`; returns the file's metadata once written.
fn write_file(file: &File, archive: &Path, e: &Entry, path: &Path) -> Result<fs::Metadata> {
    // No buffer: the entry comes in large chunks.
    let mut out = File::create(path).map_err(ArchiveError::io(path))?;
    inflate_entry(file, archive, e, &mut out).map_err(output_error(path))?;
    // Unix sets a file's times as it is written: they are final here. Windows may set the
    // last write time when the handle closes, so it is read after.
    #[cfg(unix)]
    let metadata = out.metadata();
    #[cfg(not(unix))]
    let metadata = {
        drop(out);
        fs::metadata(path)
    };
    metadata.map_err(ArchiveError::io(path))
}

/// Uncompressed and compressed sizes from a local header's zip64 extra field.
fn zip64_sizes(extra: &[u8]) -> Option<(u64, u64)> {
    let mut rest = extra;
    while rest.len() >= 4 {
        let id = u16::from_le_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_le_bytes([rest[2], rest[3]]));
        let body = rest.get(4..4 + len)?;
        if id == 1 && body.len() >= 16 {
            let size = u64::from_le_bytes(body[0..8].try_into().ok()?);
            let compressed = u64::from_le_bytes(body[8..16].try_into().ok()?);
            return Some((size, compressed));
        }
        rest = &rest[4 + len..];
    }
    None
}
