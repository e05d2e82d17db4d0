//! Getting the project into the system folder over the network: nothing when unchanged, a
//! delta when possible, else a resumable, verified download. What the folder holds, and how
//! it changes, is the cache's business ([`crate::cache`]); this module only talks to the server.

use std::io::{IoSlice, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::{Method, StatusCode, header};

use super::api::ApiClient;
use super::error::{ConnectError, Corruption, Interruption};
use super::mirrors::{self, AfterError, Source};
use super::two_parts::{self, LastPartError, Plan, Planned, TWO_PARTS_FROM};
use super::{Fetched, Progress};
use crate::archive::{Checkpoints, FollowingUnpack, Limits, ResumableSha256, Stamp};
use crate::cache::{CacheError, Download, SystemFolder};
use crate::protocol::paths;

/// Attempts of a full download (each resuming where the previous one stopped).
const ATTEMPTS: u32 = 5;

/// Runs a blocking step of the cache on a blocking thread, with a clone of the folder.
pub(super) async fn blocking<T: Send + 'static>(
    folder: &SystemFolder,
    step: impl FnOnce(&SystemFolder) -> Result<T, CacheError> + Send + 'static,
) -> Result<T, CacheError> {
    let held = folder.clone();
    tokio::task::spawn_blocking(move || step(&held))
        .await
        .map_err(|_| CacheError::Stopped)?
}

/// Gets the build `stamp` (of `size` bytes) of the server into `folder`; a full download is
/// unpacked as it arrives when `unpack_while_downloading`.
pub(crate) async fn fetch(
    api: &ApiClient,
    folder: &SystemFolder,
    (stamp, size): (Stamp, u64),
    unpack_while_downloading: bool,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Fetched, ConnectError> {
    folder.forget_other_downloads(stamp);
    let installed = folder.state().stamp;
    if installed == Some(stamp) {
        match folder.check(&stamp) {
            Ok(()) => {
                if unchanged_on_server(api, stamp).await? {
                    progress(Progress::UpToDate);
                    return Ok(Fetched::UpToDate);
                }
            }
            Err(damage) => {
                let reason = damage.to_string();
                progress(Progress::Repairing {
                    reason: reason.clone(),
                });
                tracing::warn!(folder = %folder.path().display(), %reason, "repairing the cache");
                progress(Progress::Unpacking);
                if blocking(folder, move |f| f.repair(stamp)).await? {
                    return Ok(Fetched::Repaired);
                }
            }
        }
    } else if let Some(old) = installed
        && folder.archive_path().is_file()
    {
        let delta = |api, _| delta(api, folder, old, (stamp, size), progress);
        match mirrors::then_server(api, progress, NoDelta::after, delta).await {
            Ok(bytes) => return Ok(Fetched::Delta { bytes }),
            Err(reason) => {
                tracing::info!(?reason, "no delta; downloading the whole archive");
            }
        }
    }
    let download = folder.begin_download(stamp)?;
    // Each mirror once (the next source is there), the server with retries.
    let download_from = |api, source| {
        let attempts = if source == Source::Server {
            ATTEMPTS
        } else {
            1
        };
        fetch_archive(
            api,
            folder,
            &download,
            size,
            unpack_while_downloading,
            attempts,
            progress,
        )
    };
    let got = mirrors::then_server(api, progress, AfterError::of_download, download_from).await?;
    progress(Progress::Unpacking);
    blocking(folder, move |f| {
        f.install_download(&download, got.unpacked, got.checkpoints.as_ref())
    })
    .await?;
    Ok(Fetched::Full { bytes: got.bytes })
}

/// One conditional request: true when the server still serves build `stamp`.
async fn unchanged_on_server(api: &ApiClient, stamp: Stamp) -> Result<bool, ConnectError> {
    let resp = api
        .request(Method::GET, &paths::archive_of(&stamp))
        .header(header::IF_NONE_MATCH, format!("\"{stamp}\""))
        .send()
        .await
        .map_err(|e| api.transport_error(&e))?;
    let resp = api.check(resp).await?;
    Ok(resp.status() == StatusCode::NOT_MODIFIED)
}

/// Why no delta was applied (the whole archive, or folder, is downloaded instead).
#[derive(Debug, thiserror::Error)]
pub(super) enum NoDelta {
    #[error("the server has no delta")]
    Request(#[from] super::api::RequestError),
    #[error("the server answered {0}")]
    Status(StatusCode),
    #[error("the delta cannot be applied: {0}")]
    Cache(#[from] CacheError),
    #[error("{0}")]
    Connect(#[from] ConnectError),
}

impl NoDelta {
    /// After a mirror's answer: the server's "no such delta" (or "already there"), as a mirror
    /// relays it, ends the mirrors' turn; any other failure skips that mirror.
    pub(super) fn after(&self) -> AfterError {
        match self {
            Self::Status(s) if *s == StatusCode::GONE || *s == StatusCode::NOT_MODIFIED => {
                AfterError::Server
            }
            _ => AfterError::Skip,
        }
    }
}

/// Fetches the delta from `old` (no larger than the whole archive) and has the cache apply it.
async fn delta(
    api: &ApiClient,
    folder: &SystemFolder,
    old: Stamp,
    (new, size): (Stamp, u64),
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<u64, NoDelta> {
    let resp = api
        .request(Method::GET, &paths::delta_between(&old, &new))
        .send()
        .await
        .map_err(|e| api.transport_error(&e))?;
    if resp.status() != StatusCode::OK {
        return Err(NoDelta::Status(resp.status()));
    }
    // A delta larger than the whole archive is no delta: refused before it fills the memory.
    let limit = usize::try_from(size.max(1 << 20)).unwrap_or(usize::MAX);
    let body = api.read_limited(resp, limit).await?;
    let bytes = body.len() as u64;
    progress(Progress::Delta { bytes });
    progress(Progress::Unpacking);
    let started = Instant::now();
    blocking(folder, move |f| f.apply_delta(&body, new)).await?;
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        bytes,
        "delta applied"
    );
    Ok(bytes)
}

/// A download from the first byte: hashed as it arrives, and unpacked as it arrives.
struct Streaming {
    hasher: ResumableSha256,
    unpack: Option<FollowingUnpack>,
}

/// Abandons an unpack that followed a download (its thread waits for its writes to end: not
/// on the async runtime).
fn abandon<T: Send + 'static>(what: Option<T>) {
    if let Some(what) = what {
        tokio::task::spawn_blocking(move || drop(what));
    }
}

/// A verified download.
struct Downloaded {
    /// Bytes transferred.
    bytes: u64,
    /// The unpack that followed the download, to check and put in place.
    unpacked: Option<FollowingUnpack>,
    /// The archive's SHA-256 checkpoints, when it was hashed as it arrived.
    checkpoints: Option<Checkpoints>,
}

/// Downloads the archive into `download`, resuming what it holds, retrying with backoff, and
/// verifying the SHA-256 (a download from the first byte is unpacked as it arrives when
/// `unpack_while_downloading`).
async fn fetch_archive(
    api: &ApiClient,
    folder: &SystemFolder,
    download: &Download,
    size: u64,
    unpack_while_downloading: bool,
    attempts: u32,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Downloaded, ConnectError> {
    let mut transfer = Transfer {
        api,
        download,
        size,
        unpack_target: unpack_while_downloading.then(|| folder.project_dir()),
        progress,
        transferred: 0,
        streaming: None,
        planned: false,
        alongside: Arc::default(),
    };
    let stamp = download.stamp();
    // Every attempt after the first follows an interruption.
    let mut last_error = Interruption::FailedVerification;
    let mut damaged_once = false;
    for attempt in 0..attempts {
        if attempt > 0 {
            let wait = Duration::from_millis(500 * (1 << (attempt - 1)).min(8));
            progress(Progress::Retrying {
                attempt,
                in_ms: wait.as_millis() as u64,
                reason: last_error.to_string(),
            });
            tokio::time::sleep(wait).await;
        }
        match transfer.attempt().await {
            Ok(()) => {}
            Err(Attempt::Fatal(e)) => {
                abandon(transfer.streaming.take());
                return Err(e);
            }
            Err(Attempt::Retry(reason)) => {
                abandon(transfer.streaming.take());
                last_error = reason;
                continue;
            }
        }
        progress(Progress::Verifying);
        let (got, unpacked, states) = transfer.finish().await?;
        if got == stamp {
            return Ok(Downloaded {
                bytes: transfer.transferred,
                unpacked,
                checkpoints: (!states.is_empty()).then_some(Checkpoints { stamp, states }),
            });
        }
        abandon(unpacked);
        download.discard();
        if damaged_once {
            return Err(ConnectError::Damaged(Corruption::WrongStamp {
                what: "the downloaded archive",
                got: got.short(),
                expected: stamp.short(),
            }));
        }
        damaged_once = true;
        last_error = Interruption::FailedVerification;
    }
    Err(ConnectError::DownloadInterrupted { cause: last_error })
}

/// Why an attempt of a download stopped.
enum Attempt {
    /// Nothing to retry: the error for the user.
    Fatal(ConnectError),
    /// Worth another attempt (resuming), for this reason.
    Retry(Interruption),
}

/// The download of one archive across attempts: what it writes to, and what it carries over
/// from one attempt to the next.
struct Transfer<'a> {
    api: &'a ApiClient,
    download: &'a Download,
    /// The archive's size.
    size: u64,
    /// Where a download from the first byte is unpacked as it arrives, if anywhere.
    unpack_target: Option<std::path::PathBuf>,
    progress: &'a (dyn Fn(Progress) + Send + Sync),
    /// Bytes transferred by every attempt.
    transferred: u64,
    /// The hash (and unpack) following a download from the first byte.
    streaming: Option<Streaming>,
    /// A download in two parts was considered (it is, once).
    planned: bool,
    /// Bytes received by the request running beside the one reporting progress.
    alongside: Arc<AtomicU64>,
}

impl Transfer<'_> {
    /// One attempt: asks for what is missing, and appends it to the part file.
    async fn attempt(&mut self) -> Result<(), Attempt> {
        let have = self.download.len();
        if have == self.size && self.size > 0 {
            return Ok(());
        }
        if have == 0
            && self.unpack_target.is_some()
            && self.size >= TWO_PARTS_FROM
            && !std::mem::replace(&mut self.planned, true)
        {
            let stamp = self.download.stamp();
            let planned = two_parts::plan(self.api, stamp, self.size, &mut self.transferred)
                .await
                .map_err(Attempt::Retry)?;
            match planned {
                Planned::Parts(plan) => match self.in_two_parts(plan).await {
                    // Ranges answered wrongly (a proxy that serves some and not others): the
                    // same source again, in one part, in this attempt.
                    Err(Attempt::Retry(Interruption::WrongRange)) => {
                        tracing::info!(
                            "another range than the one asked for: downloading in one part"
                        );
                    }
                    done => return done,
                },
                Planned::Answer(resp) => return self.take(resp, 0).await,
                Planned::OnePart => {}
            }
        }
        let mut req = self
            .api
            .request(Method::GET, &paths::archive_of(&self.download.stamp()));
        if have > 0 && have < self.size {
            req = req.header(header::RANGE, format!("bytes={have}-"));
        }
        let resp = req
            .send()
            .await
            .map_err(|e| Attempt::Retry(self.api.transport_error(&e).into()))?;
        self.take(resp, have).await
    }

    /// Receives the answer `resp` to a request for the archive, from byte `have` on.
    async fn take(&mut self, resp: reqwest::Response, have: u64) -> Result<(), Attempt> {
        let (file, start) = self.open_part(&resp, have)?;
        let Some(file) = file else {
            let e = self.api.check(resp).await.err();
            return Err(Attempt::Fatal(e.map_or_else(
                || {
                    ConnectError::Damaged(Corruption::UnexpectedAnswer {
                        status: 200, // an answer `check` accepts, yet neither 200 nor 206
                    })
                },
                ConnectError::from,
            )));
        };
        self.receive(resp, file, start, self.size).await
    }

    /// Downloads the archive from its first byte in two parts at once, as `plan` says: the
    /// first into the part file, the last into a second file appended once both are in; both
    /// followed by the unpack.
    async fn in_two_parts(&mut self, plan: Plan) -> Result<(), Attempt> {
        let stamp = self.download.stamp();
        let part = self.download.path().to_path_buf();
        let tail = self.download.tail_path();
        let fatal = |path: &std::path::Path| {
            let path = path.to_path_buf();
            move |e| Attempt::Fatal(ConnectError::io(&path, e))
        };
        let head = std::fs::File::create(&part).map_err(fatal(&part))?;
        let last = std::fs::File::create(&tail).map_err(fatal(&tail))?;
        let unpack = self.unpack_target.as_deref().and_then(|target| {
            FollowingUnpack::start_in_two_parts(
                &part,
                (&tail, plan.split),
                "Project/",
                target,
                Limits::default(),
            )
            .inspect_err(|e| tracing::debug!(%e, "not unpacking during the download"))
            .ok()
        });
        let feed = unpack.as_ref().and_then(FollowingUnpack::tail_feed);
        abandon(self.streaming.replace(Streaming {
            hasher: ResumableSha256::new(),
            unpack,
        }));
        tracing::debug!(
            split = plan.split,
            central = plan.central,
            size = self.size,
            "downloading in two parts"
        );
        let api = self.api;
        let last_part = (plan.split < plan.central)
            .then(|| two_parts::ranged(api, stamp, plan.split, plan.central));
        let (first, second) =
            futures::future::join(two_parts::ranged(api, stamp, 0, plan.split), async {
                match last_part {
                    Some(request) => request.await.map(Some),
                    None => Ok(None),
                }
            })
            .await;
        let first = first.map_err(Attempt::Retry)?;
        let second = second.map_err(Attempt::Retry)?;
        let both_ranges = two_parts::is_range(&first, (0, plan.split), self.size)
            && second
                .as_ref()
                .is_none_or(|r| two_parts::is_range(r, (plan.split, plan.central), self.size));
        if !both_ranges {
            let _ = std::fs::remove_file(&tail);
            return Err(Attempt::Retry(Interruption::WrongRange));
        }
        self.alongside.store(0, Ordering::Relaxed);
        let received = Arc::clone(&self.alongside);
        let (got_first, got_last) = futures::future::join(
            self.receive(first, head, 0, plan.split),
            two_parts::receive_last_part(api, second, last, &plan, feed, received),
        )
        .await;
        self.transferred += self.alongside.swap(0, Ordering::Relaxed);
        let appended = match (got_first, got_last) {
            (Err(e), _) => Err(e),
            (Ok(()), Err(LastPartError::Lost(reason))) => Err(Attempt::Retry(reason)),
            (Ok(()), Err(LastPartError::Io(e))) => Err(fatal(&tail)(e)),
            (Ok(()), Ok(())) => self.append_last_part(&tail, &part).await,
        };
        let _ = std::fs::remove_file(&tail);
        appended
    }

    /// Appends the last part to the part file, hashed after the first.
    async fn append_last_part(
        &mut self,
        tail: &std::path::Path,
        part: &std::path::Path,
    ) -> Result<(), Attempt> {
        let Some(streaming) = self.streaming.as_mut() else {
            return Err(Attempt::Retry(Interruption::FailedVerification));
        };
        let hasher = std::mem::replace(&mut streaming.hasher, ResumableSha256::new());
        let (t, p) = (tail.to_path_buf(), part.to_path_buf());
        let appended =
            tokio::task::spawn_blocking(move || two_parts::append_hashed(&t, &p, hasher))
                .await
                .map_err(|_| Attempt::Fatal(ConnectError::Cache(CacheError::Stopped)))?
                .map_err(|e| Attempt::Fatal(ConnectError::io(part, e)))?;
        streaming.hasher = appended;
        let len = self.download.len();
        if len == self.size {
            Ok(())
        } else {
            Err(Attempt::Retry(Interruption::EndedEarly {
                done: len,
                size: self.size,
            }))
        }
    }

    /// Opens the part file for the answer `resp`: appended to for the range asked for,
    /// written from the first byte (hashed and unpacked as it arrives) for the whole archive;
    /// `None` for any other answer.
    fn open_part(
        &mut self,
        resp: &reqwest::Response,
        have: u64,
    ) -> Result<(Option<std::fs::File>, u64), Attempt> {
        let part = self.download.path();
        let fatal = |e| Attempt::Fatal(ConnectError::io(part, e));
        match resp.status() {
            StatusCode::PARTIAL_CONTENT if !range_is(resp, have, self.size) => {
                // Not the bytes asked for: start again from the first byte (verified at the end).
                self.download.discard();
                Err(Attempt::Retry(Interruption::WrongRange))
            }
            StatusCode::PARTIAL_CONTENT => {
                let f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(part)
                    .map_err(fatal)?;
                Ok((Some(f), have))
            }
            StatusCode::OK => {
                let f = std::fs::File::create(part).map_err(fatal)?;
                let unpack = self.unpack_target.as_deref().and_then(|target| {
                    FollowingUnpack::start(part, "Project/", target, Limits::default())
                        .inspect_err(|e| tracing::debug!(%e, "not unpacking during the download"))
                        .ok()
                });
                abandon(self.streaming.replace(Streaming {
                    hasher: ResumableSha256::new(),
                    unpack,
                }));
                Ok((Some(f), 0))
            }
            _ => Ok((None, 0)),
        }
    }

    /// Receives the body of `resp` into `file` (which holds `start` bytes) up to byte `end` of
    /// the archive, in writes of 1 MiB or more (the chunks as they came, not copied), reporting
    /// progress every 100 ms.
    async fn receive(
        &mut self,
        resp: reqwest::Response,
        mut file: std::fs::File,
        start: u64,
        end: u64,
    ) -> Result<(), Attempt> {
        let (size, part) = (self.size, self.download.path());
        let alongside = Arc::clone(&self.alongside);
        let fatal = |e| Attempt::Fatal(ConnectError::io(part, e));
        let started = Instant::now();
        let mut done = start;
        let mut last = Instant::now();
        let mut stream = resp.bytes_stream();
        let mut pending = Chunks::default();
        let report = |done: u64| {
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            let done = done + alongside.load(Ordering::Relaxed);
            (self.progress)(Progress::Downloading {
                done,
                total: size,
                bytes_per_sec: (done.saturating_sub(start) as f64 / secs) as u64,
            });
        };
        report(done);
        while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    let _ = pending.write_to(&mut file);
                    return Err(Attempt::Retry(self.api.transport_error(&e).into()));
                }
            };
            self.transferred += chunk.len() as u64;
            done += chunk.len() as u64;
            if done > end {
                drop(file);
                self.download.discard();
                return Err(Attempt::Retry(Interruption::TooMuch));
            }
            if let Some(s) = self.streaming.as_mut() {
                s.hasher.update(&chunk);
            }
            pending.push(chunk);
            if pending.is_full() {
                pending.write_to(&mut file).map_err(fatal)?;
                if let Some(u) = self.streaming.as_ref().and_then(|s| s.unpack.as_ref()) {
                    u.grew(done);
                }
            }
            if last.elapsed() >= Duration::from_millis(100) {
                last = Instant::now();
                report(done);
            }
        }
        pending.write_to(&mut file).map_err(fatal)?;
        file.flush().map_err(fatal)?;
        // The last entries are unpacked at once, while the archive is checked.
        if let Some(u) = self.streaming.as_ref().and_then(|s| s.unpack.as_ref()) {
            u.grew(done);
        }
        report(done);
        if done < end {
            return Err(Attempt::Retry(Interruption::EndedEarly { done, size }));
        }
        Ok(())
    }

    /// The SHA-256 of the complete part file (hashed as it arrived, or read once now), with
    /// the unpack that followed it and the hash's checkpoints.
    async fn finish(
        &mut self,
    ) -> Result<
        (
            Stamp,
            Option<FollowingUnpack>,
            Vec<crate::archive::Checkpoint>,
        ),
        ConnectError,
    > {
        if let Some(s) = self.streaming.take() {
            // Hashed as it arrived: no second read.
            let (digest, states) = s.hasher.finish();
            return Ok((Stamp::from_bytes(digest), s.unpack, states));
        }
        let part = self.download.path().to_path_buf();
        let p = part.clone();
        let got = tokio::task::spawn_blocking(move || Stamp::of_file(&p))
            .await
            .map_err(|_| ConnectError::Cache(CacheError::Stopped))?
            .map_err(|e| ConnectError::io(&part, e))?;
        Ok((got, None, Vec::new()))
    }
}

/// Received chunks not yet written (both parts of a download use them).
#[derive(Default)]
pub(super) struct Chunks {
    chunks: Vec<bytes::Bytes>,
    /// Their total length.
    len: usize,
}

impl Chunks {
    /// True when they are worth a write: 1 MiB, or as many slices as one write takes.
    pub(super) fn is_full(&self) -> bool {
        self.len >= (1 << 20) || self.chunks.len() >= 1024
    }

    pub(super) fn push(&mut self, chunk: bytes::Bytes) {
        self.len += chunk.len();
        self.chunks.push(chunk);
    }

    /// Writes them all (vectored writes), leaving none.
    pub(super) fn write_to(&mut self, file: &mut std::fs::File) -> std::io::Result<()> {
        let mut slices: Vec<IoSlice<'_>> = self.chunks.iter().map(|c| IoSlice::new(c)).collect();
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            match file.write_vectored(rest) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut rest, n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        drop(slices);
        self.chunks.clear();
        self.len = 0;
        Ok(())
    }
}

/// True when a 206 answer holds bytes `have..` of an archive of `size` bytes, as asked.
fn range_is(resp: &reqwest::Response, have: u64, size: u64) -> bool {
    have != 0
        && two_parts::content_range(resp)
            .is_some_and(|(first, _, total)| first == have && total == size)
}
