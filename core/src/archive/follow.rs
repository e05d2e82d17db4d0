//! Unpacking an archive while it is being written (downloaded), so that unpacking overlaps the
//! download.
//!
//! A thread follows the growing file: it reads each local header as soon as its bytes are
//! there and, once an entry's data is complete, hands the entry to the thread pool, which
//! decompresses it (size and CRC checked) into a new folder beside the target. Nothing is
//! trusted yet: when the download is complete and verified, [`FollowingUnpack::finish`]
//! checks that the archive's central directory lists exactly the entries unpacked — byte for
//! byte the one this program writes for them (built as they came, compared once the last byte
//! is in: no second pass over the archive), or else as [`Archive::open`] reads it — and only
//! then puts the folder in place. Anything unexpected (a data descriptor, an entry outside the
//! prefix, an interrupted download) abandons the folder, and the caller unpacks the verified
//! archive the usual way.

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use super::Limits;
use super::delta::header_of;
use super::error::{ArchiveError, Result};
use super::inflate::{inflate_entry, output_error};
use super::names::check_name;
use super::read::{Archive, Entry};
use super::unpack::{remove_leftovers, swap_into_place};
use super::write::{Central, Method};
use crate::fsutil::{read_exact_at, temp_sibling};

const LOCAL_SIG: [u8; 4] = [0x50, 0x4b, 0x03, 0x04];
const CENTRAL_SIG: [u8; 4] = [0x50, 0x4b, 0x01, 0x02];
const EOCD_SIG: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];

enum Signal {
    /// The file has at least this many bytes.
    Grew(u64),
    /// The file is complete, with this many bytes.
    Complete(u64),
}

/// What the following thread ends with, or why it stopped.
type Followed = std::result::Result<Done, String>;

/// What the following thread read and wrote.
struct Done {
    /// The entries, from their local headers.
    entries: Vec<Entry>,
    /// The files written.
    files: Vec<UnpackedFile>,
    /// The central directory and end records are exactly those this program writes for
    /// `entries`, and end the file.
    central_as_written_here: bool,
}

/// An unpack following a file being written. Dropping it abandons the unpack.
pub struct FollowingUnpack {
    tx: Option<mpsc::Sender<Signal>>,
    thread: Option<JoinHandle<Followed>>,
    file: Arc<File>,
    archive: PathBuf,
    limits: Limits,
    staging: PathBuf,
    target: PathBuf,
}

impl FollowingUnpack {
    /// Starts unpacking the entries under `prefix` of `archive` (being written, from its first
    /// byte) for `target`, into a new folder beside it.
    ///
    /// # Errors
    /// [`ArchiveError::Io`] when the folder cannot be made or the file opened.
    pub fn start(archive: &Path, prefix: &str, target: &Path, limits: Limits) -> Result<Self> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(ArchiveError::io(&parent))?;
        remove_leftovers(target);
        let staging = temp_sibling(target, "unpack");
        fs::create_dir(&staging).map_err(ArchiveError::io(&staging))?;
        let file = match File::open(archive) {
            Ok(f) => Arc::new(f),
            Err(e) => {
                let _ = fs::remove_dir(&staging);
                return Err(ArchiveError::io(archive)(e));
            }
        };
        let (tx, rx) = mpsc::channel();
        let follower = Follower {
            file: Arc::clone(&file),
            path: Arc::from(archive),
            stop: Arc::default(),
            rx,
            root: staging.clone(),
            prefix: prefix.to_owned(),
            limits,
        };
        let thread = std::thread::Builder::new()
            .name("remote4d-unpack".into())
            .spawn(move || follower.run())
            .map_err(ArchiveError::io(&staging))?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
            file,
            archive: archive.to_path_buf(),
            limits,
            staging,
            target: target.to_path_buf(),
        })
    }

    /// The file now has at least `len` bytes (written and flushed).
    pub fn grew(&self, len: u64) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Signal::Grew(len));
        }
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
        let length = self
            .file
            .metadata()
            .map_err(ArchiveError::io(&self.archive))?
            .len();
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Signal::Complete(length));
        }
        let mut done = match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Ok(done))) => done,
            Some(Ok(Err(reason))) => {
                tracing::debug!(%reason, "unpacking during the download stopped");
                return Ok(None);
            }
            _ => return Ok(None),
        };
        // Nothing unpacked is nothing to keep (the caller's own open names what is wrong).
        if done.entries.is_empty() {
            return Ok(None);
        }
        // Not laid out as written here (another writer's archive): its central directory as
        // the zip reader reads it, with every check of an open.
        if !done.central_as_written_here {
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
            central_as_written_here = done.central_as_written_here,
            "the unpack that followed the download is in place"
        );
        Ok(Some((done.files, done.central_as_written_here)))
    }
}

impl Drop for FollowingUnpack {
    fn drop(&mut self) {
        // Closing the channel stops the thread, which waits for its writes to end.
        self.tx.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
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

struct Follower {
    file: Arc<File>,
    /// The archive's path, for read errors.
    path: Arc<Path>,
    /// Set when the unpack is abandoned: the writers skip what is queued.
    stop: Arc<std::sync::atomic::AtomicBool>,
    rx: mpsc::Receiver<Signal>,
    root: PathBuf,
    prefix: String,
    limits: Limits,
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
    fn run(self) -> Followed {
        let (done_tx, done_rx) = mpsc::channel::<Result<Option<UnpackedFile>>>();
        // Writers of their own (the thread pool's wake-ups cost more than small files).
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let job_rx = Arc::new(std::sync::Mutex::new(job_rx));
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
                        let Ok((entry, path, name)) = job else { break };
                        // Abandoned: the queued files are not written (the folder goes away).
                        let result = if stop.load(std::sync::atomic::Ordering::Relaxed) {
                            Ok(None)
                        } else {
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
            self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
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
        let (entries, central_as_written_here) = result?;
        match failed {
            Some(reason) => Err(reason),
            None => Ok(Done {
                entries,
                files: written,
                central_as_written_here,
            }),
        }
    }

    /// Reads the entries as they come and queues their files; once the file is complete,
    /// returns them and whether the rest of the file is exactly the central directory and end
    /// records this program writes for them.
    fn follow(
        &self,
        queue: &mpsc::Sender<Job>,
        jobs: &mut usize,
    ) -> std::result::Result<(Vec<Entry>, bool), String> {
        let mut entries = Vec::new();
        let mut seen = Seen::default();
        // The central directory this program would write for the entries read so far.
        let mut central = Some(Central::default());
        let mut total = 0u64;
        let mut pos = 0u64;
        let mut available = 0u64;
        let mut complete = false;
        loop {
            match self.next_local(pos, available)? {
                Next::Entry(local) => {
                    let header_start = pos;
                    pos = local.data_start + local.compressed_size;
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
                Next::End => {
                    if complete {
                        let exact =
                            central.is_some_and(|c| self.ends_with(c.end(pos), pos, available));
                        return Ok((entries, exact));
                    }
                }
                Next::NeedMore if complete => {
                    return Err("the file ends inside an entry".into());
                }
                Next::NeedMore => {}
            }
            match self.rx.recv() {
                Ok(Signal::Grew(len)) => available = available.max(len),
                Ok(Signal::Complete(len)) => {
                    tracing::debug!(pos, "download complete");
                    available = len;
                    complete = true;
                }
                Err(_) => {
                    self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    return Err("abandoned".into());
                }
            }
        }
    }

    /// True when the file, `length` bytes long, is `expected` from `at` to its end.
    fn ends_with(&self, expected: Vec<u8>, at: u64, length: u64) -> bool {
        if at.checked_add(expected.len() as u64) != Some(length) {
            return false;
        }
        let mut found = vec![0u8; expected.len()];
        read_exact_at(&self.file, &mut found, at).is_ok() && found == expected
    }

    /// The entry at `pos` if its header and data are all within `available` bytes.
    fn next_local(&self, pos: u64, available: u64) -> std::result::Result<Next, String> {
        let read = |buf: &mut [u8], at: u64| {
            read_exact_at(&self.file, buf, at).map_err(|e| format!("cannot read: {e}"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{BuildOptions, build};
    use std::io::Write;

    fn project(root: &Path) {
        let write = |rel: &str, body: Vec<u8>| {
            let p = root.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, body).unwrap();
        };
        write("Project/Demo.4DProject", b"{}".to_vec());
        for i in 0..200u32 {
            write(
                &format!("Project/Sources/Methods/m{i:03}.4dm"),
                format!("// method {i}\n")
                    .repeat(i as usize * 10)
                    .into_bytes(),
            );
        }
        // Incompressible: stored.
        let noise: Vec<u8> = (0..300_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        write("Project/Resources/noise.bin", noise);
        fs::create_dir_all(root.join("Project/Sources/Classes")).unwrap();
    }

    fn listing(root: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in fs::read_dir(&dir).unwrap() {
                let e = e.unwrap();
                let rel = e
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .display()
                    .to_string()
                    .replace('\\', "/");
                if e.file_type().unwrap().is_dir() {
                    out.push((rel + "/", Vec::new()));
                    stack.push(e.path());
                } else {
                    out.push((rel, fs::read(e.path()).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    /// A built project archive (its bytes), an empty part file to write them into, and the
    /// target folder, in a temporary folder.
    fn a_download() -> (tempfile::TempDir, Vec<u8>, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        project(&dir.path().join("p"));
        let built = dir.path().join("built.4dz");
        build(&dir.path().join("p"), &built, &BuildOptions::default()).unwrap();
        let bytes = fs::read(&built).unwrap();
        let part = dir.path().join("project.4dz.part");
        fs::write(&part, b"").unwrap();
        let target = dir.path().join("cache/Project");
        (dir, bytes, part, target)
    }

    /// Writes `bytes` into `path` in pieces, telling `u` after each.
    fn download(bytes: &[u8], path: &Path, u: &FollowingUnpack, upto: usize) {
        let mut f = fs::OpenOptions::new().append(true).open(path).unwrap();
        let mut done = 0;
        for piece in bytes[..upto].chunks(7_919) {
            f.write_all(piece).unwrap();
            done += piece.len();
            u.grew(done as u64);
        }
    }

    /// Follows the whole of `part` for `target`: the unpack must keep nothing.
    fn assert_refused(part: &Path, target: &Path) {
        let u = FollowingUnpack::start(part, "Project/", target, Limits::default()).unwrap();
        u.grew(fs::metadata(part).unwrap().len());
        assert!(u.finish().unwrap().is_none());
        assert!(!target.exists());
    }

    #[test]
    fn unpacks_as_the_file_grows_exactly_like_an_unpack_after() {
        let (dir, bytes, part, target) = a_download();
        let u = FollowingUnpack::start(&part, "Project/", &target, Limits::default()).unwrap();
        download(&bytes, &part, &u, bytes.len());
        let (written, as_written_here) = u.finish_checked().unwrap().expect("unpacked");
        // Its central directory is the one this program writes: not read again.
        assert!(as_written_here);
        let archive = Archive::open(&part, &Limits::default()).unwrap();
        let reference = dir.path().join("reference");
        archive.unpack_subtree_to("Project/", &reference).unwrap();
        assert_eq!(listing(&target), listing(&reference));
        // What it says it wrote is every file there, in order, with the metadata a stat finds.
        let files: Vec<String> = listing(&target)
            .into_iter()
            .filter(|(n, _)| !n.ends_with('/'))
            .map(|(n, _)| n)
            .collect();
        let names: Vec<&str> = written.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, files);
        for w in &written {
            let now = fs::metadata(target.join(&w.name)).unwrap();
            assert_eq!(w.metadata.len(), now.len(), "{}", w.name);
            assert_eq!(
                w.metadata.modified().unwrap(),
                now.modified().unwrap(),
                "{}",
                w.name
            );
        }
        assert!(
            listing(&target)
                .iter()
                .any(|(n, _)| n == "Sources/Classes/")
        );
        // Nothing left beside it.
        assert_eq!(fs::read_dir(dir.path().join("cache")).unwrap().count(), 1);
    }

    #[test]
    fn an_interrupted_download_leaves_the_previous_content() {
        let (dir, bytes, part, target) = a_download();
        fs::create_dir_all(&target).unwrap();
        fs::write(target.join("previous.txt"), b"kept").unwrap();
        let u = FollowingUnpack::start(&part, "Project/", &target, Limits::default()).unwrap();
        download(&bytes, &part, &u, bytes.len() / 2);
        drop(u);
        assert_eq!(
            listing(&target),
            vec![("previous.txt".into(), b"kept".to_vec())]
        );
        assert_eq!(fs::read_dir(dir.path().join("cache")).unwrap().count(), 1);
    }

    /// The offset of the central directory record of entry `name` in `bytes`.
    fn central_record(bytes: &[u8], name: &str) -> usize {
        let archive = tempfile::NamedTempFile::new().unwrap();
        fs::write(archive.path(), bytes).unwrap();
        let zip = zip::ZipArchive::new(File::open(archive.path()).unwrap()).unwrap();
        let cd = zip.central_directory_start() as usize;
        let mut at = cd;
        loop {
            assert_eq!(bytes[at..at + 4], CENTRAL_SIG, "record at {at}");
            let u16_at = |i: usize| usize::from(u16::from_le_bytes([bytes[i], bytes[i + 1]]));
            let (n, x, c) = (u16_at(at + 28), u16_at(at + 30), u16_at(at + 32));
            if &bytes[at + 46..at + 46 + n] == name.as_bytes() {
                return at;
            }
            at += 46 + n + x + c;
        }
    }

    #[test]
    fn a_central_directory_that_differs_from_the_local_headers_is_not_used() {
        let (dir, mut bytes, part, target) = a_download();
        // The central directory says another CRC for one file than its local header.
        let at = central_record(&bytes, "Project/Sources/Methods/m007.4dm");
        bytes[at + 16] ^= 0xFF;
        let u = FollowingUnpack::start(&part, "Project/", &target, Limits::default()).unwrap();
        download(&bytes, &part, &u, bytes.len());
        assert!(u.finish().unwrap().is_none());
        assert!(!target.exists());
        assert_eq!(fs::read_dir(dir.path().join("cache")).unwrap().count(), 0);
    }

    #[test]
    fn a_central_directory_written_otherwise_is_read_and_compared() {
        let (_dir, mut bytes, part, target) = a_download();
        // Another tool's record: the same entry, but made on another system (what a zip
        // reader lists is the same).
        let at = central_record(&bytes, "Project/Sources/Methods/m007.4dm");
        bytes[at + 5] = 0;
        let u = FollowingUnpack::start(&part, "Project/", &target, Limits::default()).unwrap();
        download(&bytes, &part, &u, bytes.len());
        let (files, as_written_here) = u.finish_checked().unwrap().expect("unpacked");
        assert!(!as_written_here);
        assert!(files.iter().any(|f| f.name == "Sources/Methods/m007.4dm"));
        assert!(target.join("Sources/Methods/m007.4dm").is_file());
    }

    #[test]
    fn bytes_after_the_end_record_are_not_taken_for_an_archive_written_here() {
        let (_dir, mut bytes, part, target) = a_download();
        bytes.extend_from_slice(b"trailing");
        let u = FollowingUnpack::start(&part, "Project/", &target, Limits::default()).unwrap();
        download(&bytes, &part, &u, bytes.len());
        // The zip reader decides: whatever it says, never the fast path.
        if let Some((_, as_written_here)) = u.finish_checked().unwrap() {
            assert!(!as_written_here);
        }
    }

    #[test]
    fn names_that_differ_only_in_case_stop_the_unpack() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("x.zip");
        let mut w = zip::ZipWriter::new(File::create(&part).unwrap());
        for name in ["Project/a.txt", "Project/A.txt"] {
            w.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(name.as_bytes()).unwrap();
        }
        w.finish().unwrap();
        assert_refused(&part, &dir.path().join("cache/Project"));
    }

    #[test]
    fn an_archive_without_entries_is_left_to_the_caller() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("empty.zip");
        zip::ZipWriter::new(File::create(&part).unwrap())
            .finish()
            .unwrap();
        assert_refused(&part, &dir.path().join("cache/Project"));
    }

    #[test]
    fn a_bomb_is_refused_before_it_is_inflated() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("bomb.zip");
        let mut w = zip::ZipWriter::new(File::create(&part).unwrap());
        let deflated = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.start_file("Project/zeros.bin", deflated).unwrap();
        w.write_all(&vec![0u8; 40 << 20]).unwrap();
        w.finish().unwrap();
        // The unpack that followed refused it by its sizes, before inflating anything.
        assert_refused(&part, &dir.path().join("cache/Project"));
        assert_eq!(fs::read_dir(dir.path().join("cache")).unwrap().count(), 0);
    }

    #[test]
    fn entries_outside_the_prefix_stop_the_unpack() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("x.zip");
        let mut w = zip::ZipWriter::new(File::create(&part).unwrap());
        w.start_file("Elsewhere/a.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"a").unwrap();
        w.finish().unwrap();
        assert_refused(&part, &dir.path().join("cache/Project"));
    }
}
