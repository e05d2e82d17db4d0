//! Getting the project into the system folder: nothing when unchanged, a delta when possible,
//! else a resumable, verified download; unpacked atomically; a damaged cache repaired.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::{Method, StatusCode, header};

use super::api::ApiClient;
use super::error::ConnectError;
use super::index::{self, Damage};
use super::{Fetched, Progress};
use super::{hashstate, pending};
use crate::archive::{self, Archive, Checkpoints, FollowingUnpack, Limits, ResumableSha256, Stamp};
use crate::protocol::paths;
use crate::system_folder::SystemFolder;

/// Attempts of a full download (each resuming where the previous one stopped).
const ATTEMPTS: u32 = 5;

fn part_path(folder: &SystemFolder) -> PathBuf {
    folder.path().join("project.4dz.part")
}

/// Gets the build `stamp` (of `size` bytes) of the server into `folder`; a full download is
/// unpacked as it arrives when `overlap`.
pub(crate) async fn fetch(
    api: &ApiClient,
    folder: &SystemFolder,
    (stamp, size): (Stamp, u64),
    overlap: bool,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Fetched, ConnectError> {
    let state = folder.state();
    let archive = folder.archive_path();
    if state.stamp == Some(stamp) {
        match index::check(folder.path(), &stamp) {
            Ok(()) => {
                // One conditional request confirms it.
                let resp = api
                    .request(Method::GET, &paths::archive_of(&stamp))
                    .header(header::IF_NONE_MATCH, format!("\"{stamp}\""))
                    .send()
                    .await
                    .map_err(|e| api.transport_error(&e))?;
                let resp = api.check(resp).await?;
                if resp.status() == StatusCode::NOT_MODIFIED {
                    progress(Progress::UpToDate);
                    return Ok(Fetched::UpToDate);
                }
            }
            Err(damage) => {
                let reason = match damage {
                    Damage::NoIndex => "the cache index is missing".to_owned(),
                    Damage::Archive => "the cached archive changed".to_owned(),
                    Damage::File(f) => format!("Project/{f} was changed or removed"),
                };
                progress(Progress::Repairing {
                    reason: reason.clone(),
                });
                tracing::warn!(folder = %folder.path().display(), %reason, "repairing the cache");
                let dir = folder.path().to_path_buf();
                let settled = tokio::task::spawn_blocking(move || pending::settle(&dir)).await;
                if let Ok(Err(reason)) = settled {
                    tracing::warn!(%reason, "the pending delta is lost");
                }
                if Stamp::of_file(&archive).is_ok_and(|s| s == stamp) {
                    install(folder, &archive, stamp, progress).await?;
                    return Ok(Fetched::Repaired);
                }
            }
        }
    } else if let Some(old) = state.stamp {
        if archive.is_file() {
            match delta(api, folder, old, (stamp, size), progress).await {
                Ok(bytes) => {
                    let mut state = folder.state();
                    state.stamp = Some(stamp);
                    folder.save_state(&state)?;
                    // The new project.4dz is only needed by the next delta or a repair.
                    pending::settle_in_background(folder.path().to_path_buf());
                    return Ok(Fetched::Delta { bytes });
                }
                Err(reason) => {
                    tracing::info!(%reason, "no delta; downloading the whole archive");
                }
            }
        }
    }
    let part = part_path(folder);
    let got = download(api, folder, (stamp, size), overlap, progress).await?;
    install_with(folder, &part, stamp, progress, got.unpacked).await?;
    hashstate::write(folder.path(), got.checkpoints.as_ref());
    Ok(Fetched::Full { bytes: got.bytes })
}

/// Fetches the delta from `old`, rebuilds the new archive from it (checked against `new`),
/// writes only the changed files into `Project/`, then installs the archive and updates the index.
async fn delta(
    api: &ApiClient,
    folder: &SystemFolder,
    old: Stamp,
    (new, size): (Stamp, u64),
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<u64, String> {
    let resp = api
        .request(Method::GET, &paths::delta_from(&old))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if resp.status() != StatusCode::OK {
        return Err(format!("the server answered {}", resp.status()));
    }
    // A delta larger than the whole archive is no delta: refused before it fills the memory.
    let limit = usize::try_from(size.max(1 << 20)).unwrap_or(usize::MAX);
    let body = api
        .read_limited(resp, limit)
        .await
        .map_err(|e| e.to_string())?;
    let bytes = body.len() as u64;
    progress(Progress::Delta { bytes });
    let delta_file = folder.path().join("delta.zip");
    std::fs::write(&delta_file, &body).map_err(|e| e.to_string())?;
    progress(Progress::Unpacking);
    let started = Instant::now();
    let dir = folder.path().to_path_buf();
    let result = tokio::task::spawn_blocking(move || apply_delta_here(&dir, new))
        .await
        .map_err(|e| e.to_string())?;
    if result.is_err() {
        let _ = std::fs::remove_file(&delta_file);
    }
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        bytes,
        "delta applied"
    );
    result.map(|()| bytes)
}

/// The blocking part of [`delta`], in the system folder `dir`: proves the new build from the
/// old archive and the delta without writing it, updates `Project/`, and leaves the delta
/// pending on the archive (see [`pending`]).
fn apply_delta_here(dir: &Path, new: Stamp) -> Result<(), String> {
    let t = Instant::now();
    // A previous delta not yet written into the archive (its process ended first): now.
    pending::settle(dir).map_err(|e| e.to_string())?;
    let archive = dir.join("project.4dz");
    let delta_file = dir.join("delta.zip");
    let old = Archive::open(&archive, &Limits::default()).map_err(|e| e.to_string())?;
    let d = Archive::open(&delta_file, &Limits::default()).map_err(|e| e.to_string())?;
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "archives opened");
    let known = hashstate::read(dir);
    let (plan, checkpoints) =
        archive::check_delta(&old, &d, known.as_ref()).map_err(|e| e.to_string())?;
    if plan.to != new {
        return Err(format!(
            "the delta leads to {} instead of {}",
            plan.to.short(),
            new.short()
        ));
    }
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "new archive checked");
    // From here, an interruption leaves the index out of date: the next connect repairs.
    let (written, removed) =
        archive::update_folder(&old, &d, &plan, "Project/", &dir.join("Project"))
            .map_err(|e| e.to_string())?;
    drop((old, d));
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        "project folder updated"
    );
    pending::record(dir, &delta_file, new).map_err(|e| e.to_string())?;
    hashstate::write(dir, Some(&checkpoints));
    index::update(dir, &new, &written, &removed).map_err(|e| e.to_string())?;
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "index updated");
    Ok(())
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

/// Downloads build `stamp` into `project.4dz.part`, resuming a previous part of the same build,
/// retrying with backoff, and verifying the SHA-256.
async fn download(
    api: &ApiClient,
    folder: &SystemFolder,
    (stamp, size): (Stamp, u64),
    overlap: bool,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Downloaded, ConnectError> {
    let part = part_path(folder);
    let part_stamp = folder.path().join("project.4dz.part.stamp");
    if std::fs::read_to_string(&part_stamp)
        .ok()
        .and_then(|s| s.trim().parse::<Stamp>().ok())
        != Some(stamp)
    {
        let _ = std::fs::remove_file(&part);
        std::fs::write(&part_stamp, stamp.to_string())
            .map_err(|e| ConnectError::io(&part_stamp, &e))?;
    }
    let mut transferred = 0u64;
    let mut last_error = String::new();
    let mut damaged_once = false;
    let mut streaming: Option<Streaming> = None;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            let wait = Duration::from_millis(500 * (1 << (attempt - 1)).min(8));
            progress(Progress::Retrying {
                attempt,
                in_ms: wait.as_millis() as u64,
                reason: last_error.clone(),
            });
            tokio::time::sleep(wait).await;
        }
        let project_dir = folder.project_dir();
        let once = download_once(
            api,
            &part,
            overlap.then_some(project_dir.as_path()),
            (stamp, size),
            progress,
            &mut transferred,
            &mut streaming,
        )
        .await;
        match once {
            Ok(()) => {}
            Err(Attempt::Fatal(e)) => {
                abandon(streaming.take());
                return Err(e);
            }
            Err(Attempt::Retry(reason)) => {
                abandon(streaming.take());
                last_error = reason;
                continue;
            }
        }
        progress(Progress::Verifying);
        let (got, unpacked, states) = match streaming.take() {
            // Hashed as it arrived: no second read.
            Some(s) => {
                let (digest, states) = s.hasher.finish();
                (Stamp::from_bytes(digest), s.unpack, states)
            }
            None => {
                let p = part.clone();
                let got = tokio::task::spawn_blocking(move || Stamp::of_file(&p))
                    .await
                    .map_err(|e| ConnectError::Io {
                        path: part.clone(),
                        detail: e.to_string(),
                    })?
                    .map_err(|e| ConnectError::io(&part, &e))?;
                (got, None, Vec::new())
            }
        };
        if got == stamp {
            return Ok(Downloaded {
                bytes: transferred,
                unpacked,
                checkpoints: (!states.is_empty()).then_some(Checkpoints { stamp, states }),
            });
        }
        abandon(unpacked);
        let _ = std::fs::remove_file(&part);
        if damaged_once {
            return Err(ConnectError::Damaged {
                detail: format!(
                    "its SHA-256 is {} instead of {}",
                    got.short(),
                    stamp.short()
                ),
            });
        }
        damaged_once = true;
        last_error = "the download did not pass verification".into();
    }
    Err(ConnectError::DownloadInterrupted { detail: last_error })
}

enum Attempt {
    Fatal(ConnectError),
    Retry(String),
}

/// One attempt of [`download`]; a download from the first byte is unpacked as it arrives into
/// `unpack_into` when given.
async fn download_once(
    api: &ApiClient,
    part: &Path,
    unpack_into: Option<&Path>,
    (stamp, size): (Stamp, u64),
    progress: &(dyn Fn(Progress) + Send + Sync),
    transferred: &mut u64,
    streaming: &mut Option<Streaming>,
) -> Result<(), Attempt> {
    let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    if have == size && size > 0 {
        return Ok(());
    }
    let mut req = api.request(Method::GET, &paths::archive_of(&stamp));
    if have > 0 && have < size {
        req = req.header(header::RANGE, format!("bytes={have}-"));
    }
    let resp = req
        .send()
        .await
        .map_err(|e| Attempt::Retry(api.transport_error(&e).to_string()))?;
    let (mut file, start) = match resp.status() {
        StatusCode::PARTIAL_CONTENT if !range_is(&resp, have, size) => {
            // Not the bytes asked for: start again from the first byte (verified at the end).
            let _ = std::fs::remove_file(part);
            return Err(Attempt::Retry(
                "the server answered another range than the one asked for".into(),
            ));
        }
        StatusCode::PARTIAL_CONTENT => {
            let f = std::fs::OpenOptions::new()
                .append(true)
                .open(part)
                .map_err(|e| Attempt::Fatal(ConnectError::io(part, &e)))?;
            (f, have)
        }
        StatusCode::OK => {
            let f = std::fs::File::create(part)
                .map_err(|e| Attempt::Fatal(ConnectError::io(part, &e)))?;
            // From the first byte: hash it and unpack it as it arrives.
            let unpack = unpack_into.and_then(|target| {
                FollowingUnpack::start(part, "Project/", target, Limits::default())
                    .inspect_err(|e| tracing::debug!(%e, "not unpacking during the download"))
                    .ok()
            });
            abandon(streaming.replace(Streaming {
                hasher: ResumableSha256::new(),
                unpack,
            }));
            (f, 0)
        }
        _ => {
            let e = api.check(resp).await.err();
            return Err(Attempt::Fatal(e.map_or_else(
                || ConnectError::Damaged {
                    detail: "unexpected answer to the download".into(),
                },
                ConnectError::from,
            )));
        }
    };
    let started = Instant::now();
    let mut done = start;
    let mut last = Instant::now();
    let mut stream = resp.bytes_stream();
    let mut buffer: Vec<u8> = Vec::with_capacity(1 << 20);
    progress(Progress::Downloading {
        done,
        total: size,
        bytes_per_sec: 0,
    });
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                let _ = file.write_all(&buffer);
                return Err(Attempt::Retry(api.transport_error(&e).to_string()));
            }
        };
        *transferred += chunk.len() as u64;
        done += chunk.len() as u64;
        if done > size {
            drop(file);
            let _ = std::fs::remove_file(part);
            return Err(Attempt::Retry(
                "the server sent more than the archive's size".into(),
            ));
        }
        buffer.extend_from_slice(&chunk);
        if buffer.len() >= (1 << 20) {
            file.write_all(&buffer)
                .map_err(|e| Attempt::Fatal(ConnectError::io(part, &e)))?;
            if let Some(s) = streaming.as_mut() {
                s.hasher.update(&buffer);
                if let Some(u) = &s.unpack {
                    u.grew(done);
                }
            }
            buffer.clear();
        }
        if last.elapsed() >= Duration::from_millis(100) {
            last = Instant::now();
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            progress(Progress::Downloading {
                done,
                total: size,
                bytes_per_sec: ((done - start) as f64 / secs) as u64,
            });
        }
    }
    file.write_all(&buffer)
        .map_err(|e| Attempt::Fatal(ConnectError::io(part, &e)))?;
    file.flush()
        .map_err(|e| Attempt::Fatal(ConnectError::io(part, &e)))?;
    if let Some(s) = streaming.as_mut() {
        s.hasher.update(&buffer);
    }
    let secs = started.elapsed().as_secs_f64().max(1e-3);
    progress(Progress::Downloading {
        done,
        total: size,
        bytes_per_sec: ((done - start) as f64 / secs) as u64,
    });
    if done < size {
        return Err(Attempt::Retry(format!(
            "the connection ended after {done} of {size} bytes"
        )));
    }
    Ok(())
}

/// True when a 206 answer holds bytes `have..` of an archive of `size` bytes, as asked.
fn range_is(resp: &reqwest::Response, have: u64, size: u64) -> bool {
    if have == 0 {
        return false;
    }
    let Some(range) = resp
        .headers()
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((span, total)) = range
        .trim()
        .strip_prefix("bytes ")
        .and_then(|r| r.split_once('/'))
    else {
        return false;
    };
    let start = span
        .split_once('-')
        .and_then(|(a, _)| a.parse::<u64>().ok());
    start == Some(have) && total.parse::<u64>().ok() == Some(size)
}

fn finish(folder: &SystemFolder, source: &Path, stamp: Stamp) -> Result<(), ConnectError> {
    let archive = folder.archive_path();
    pending::discard(folder.path());
    if source != archive {
        std::fs::rename(source, &archive).map_err(|e| ConnectError::io(&archive, &e))?;
    }
    let _ = std::fs::remove_file(folder.path().join("project.4dz.part.stamp"));
    index::write(folder.path(), &stamp).map_err(|e| ConnectError::io(folder.path(), &e))?;
    let mut state = folder.state();
    state.stamp = Some(stamp);
    folder.save_state(&state)?;
    Ok(())
}

/// Unpacks the verified archive `source` (the part file, or `project.4dz` itself for a repair)
/// into `folder/Project` atomically, makes it `project.4dz`, and records the index and state.
async fn install(
    folder: &SystemFolder,
    source: &Path,
    stamp: Stamp,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<(), ConnectError> {
    install_with(folder, source, stamp, progress, None).await
}

/// [`install`], using the unpack that followed the download when it holds exactly the
/// archive's entries.
async fn install_with(
    folder: &SystemFolder,
    source: &Path,
    stamp: Stamp,
    progress: &(dyn Fn(Progress) + Send + Sync),
    unpacked: Option<FollowingUnpack>,
) -> Result<(), ConnectError> {
    progress(Progress::Unpacking);
    let src = source.to_path_buf();
    let target = folder.project_dir();
    tokio::task::spawn_blocking(move || {
        let a = Archive::open(&src, &Limits::default())?;
        a.check_project_layout()?;
        if let Some(unpacked) = unpacked
            && unpacked.finish(&a)?
        {
            return Ok(());
        }
        a.unpack_subtree_to("Project/", &target).map(|_| ())
    })
    .await
    .map_err(|e| ConnectError::Io {
        path: folder.project_dir(),
        detail: e.to_string(),
    })??;
    finish(folder, source, stamp)
}
