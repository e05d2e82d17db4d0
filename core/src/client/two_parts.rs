//! The client's side of a cold download in two parts at once (see [`crate::archive::split_point`]):
//! the archive's last bytes first (its central directory, with one or two small ranges), then
//! the first part and the last part of the archive as two ranges at the same time, the last
//! written into a second file and appended once both are in.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use reqwest::{Method, StatusCode, header};

use super::api::ApiClient;
use super::error::Interruption;
use super::fetch::Chunks;
use crate::archive::{ResumableSha256, Stamp, TailFeed, central_directory_offset, split_point};
use crate::protocol::paths;

/// Archives from this size on are downloaded in two parts (smaller ones unpack in no time).
pub(super) const TWO_PARTS_FROM: u64 = 8 << 20;

/// The last bytes asked for first: the end records and, usually, the whole central directory.
const PROBE: u64 = 64 * 1024;

/// A central directory larger than this is not fetched ahead (the archive comes in one part).
const MAX_DIRECTORY: u64 = 64 << 20;

/// How an archive is fetched in two parts.
pub(super) struct Plan {
    /// Where the last part starts (a local header).
    pub(super) split: u64,
    /// Where the central directory starts: the last part is `split..central`.
    pub(super) central: u64,
    /// The bytes from `central` to the end, already fetched.
    pub(super) end: Vec<u8>,
}

/// What asking for the archive's last bytes gave.
pub(super) enum Planned {
    /// A plan.
    Parts(Plan),
    /// An answer that is not the range asked for (the whole archive, or an error): the
    /// download goes on with it as with an answer to a request for the whole archive.
    Answer(reqwest::Response),
    /// No plan: the archive is fetched from its first byte, in one part.
    OnePart,
}

/// Asks for the last bytes of the archive `stamp` (`size` bytes) and plans its download;
/// `transferred` counts the bytes received.
pub(super) async fn plan(
    api: &ApiClient,
    stamp: Stamp,
    size: u64,
    transferred: &mut u64,
) -> Result<Planned, Interruption> {
    let probe = PROBE.min(size);
    let first = size - probe;
    let resp = ranged(api, stamp, first, size).await?;
    if resp.status() != StatusCode::PARTIAL_CONTENT {
        return Ok(Planned::Answer(resp));
    }
    let last = read_range(api, resp, (first, size), size, transferred).await?;
    let Some(last) = last else {
        return Ok(Planned::OnePart);
    };
    let Some(central) = central_directory_offset(&last, size) else {
        return Ok(Planned::OnePart);
    };
    let mut end = Vec::new();
    if central < first {
        if first - central > MAX_DIRECTORY {
            return Ok(Planned::OnePart);
        }
        let resp = ranged(api, stamp, central, first).await?;
        match read_range(api, resp, (central, first), size, transferred).await? {
            Some(rest) => end = rest,
            None => return Ok(Planned::OnePart),
        }
    }
    end.extend_from_slice(
        last.get(central.saturating_sub(first) as usize..)
            .unwrap_or(&[]),
    );
    // No worthwhile split: the whole before the central directory in one part.
    let split = split_point(&end, central).unwrap_or(central);
    Ok(Planned::Parts(Plan {
        split,
        central,
        end,
    }))
}

/// Asks for bytes `from..to` of the archive `stamp`.
pub(super) async fn ranged(
    api: &ApiClient,
    stamp: Stamp,
    from: u64,
    to: u64,
) -> Result<reqwest::Response, Interruption> {
    api.request(Method::GET, &paths::archive_of(&stamp))
        .header(header::RANGE, format!("bytes={from}-{}", to - 1))
        .send()
        .await
        .map_err(|e| api.transport_error(&e).into())
}

/// The body of `resp` when it is exactly bytes `from..to` of an archive of `size` bytes.
async fn read_range(
    api: &ApiClient,
    resp: reqwest::Response,
    (from, to): (u64, u64),
    size: u64,
    transferred: &mut u64,
) -> Result<Option<Vec<u8>>, Interruption> {
    if !is_range(&resp, (from, to), size) {
        return Ok(None);
    }
    let body = api
        .read_limited(resp, (to - from) as usize)
        .await
        .map_err(Interruption::from)?;
    *transferred += body.len() as u64;
    Ok((body.len() as u64 == to - from).then(|| body.to_vec()))
}

/// The `Content-Range` of an answer: first byte, last byte, total size.
pub(super) fn content_range(resp: &reqwest::Response) -> Option<(u64, u64, u64)> {
    let range = resp.headers().get(header::CONTENT_RANGE)?.to_str().ok()?;
    let (span, total) = range.trim().strip_prefix("bytes ")?.split_once('/')?;
    let (a, b) = span.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?, total.parse().ok()?))
}

/// True when `resp` is a `206` with bytes `from..to` of an archive of `size` bytes.
pub(super) fn is_range(resp: &reqwest::Response, (from, to): (u64, u64), size: u64) -> bool {
    resp.status() == StatusCode::PARTIAL_CONTENT
        && to > from
        && content_range(resp) == Some((from, to - 1, size))
}

/// Receives the last part (`resp`, bytes `split..central`) into `file`, then the end bytes
/// already fetched, telling the unpack as it goes; `received` counts the bytes received.
pub(super) async fn receive_last_part(
    api: &ApiClient,
    resp: Option<reqwest::Response>,
    mut file: std::fs::File,
    plan: &Plan,
    feed: Option<TailFeed>,
    received: Arc<AtomicU64>,
) -> Result<(), LastPartError> {
    let mut written = 0u64;
    let expected = plan.central - plan.split;
    if let Some(resp) = resp {
        let mut stream = resp.bytes_stream();
        let mut pending = Chunks::default();
        let mut got = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| LastPartError::Lost(api.transport_error(&e).into()))?;
            received.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            got += chunk.len() as u64;
            if got > expected {
                return Err(LastPartError::Lost(Interruption::TooMuch));
            }
            pending.push(chunk);
            if pending.is_full() {
                pending.write_to(&mut file).map_err(LastPartError::Io)?;
                written = got;
                if let Some(f) = &feed {
                    f.grew(written);
                }
            }
        }
        pending.write_to(&mut file).map_err(LastPartError::Io)?;
        written = got;
    }
    if written != expected {
        return Err(LastPartError::Lost(Interruption::EndedEarly {
            done: plan.split + written,
            size: plan.central,
        }));
    }
    file.write_all(&plan.end).map_err(LastPartError::Io)?;
    file.flush().map_err(LastPartError::Io)?;
    if let Some(f) = &feed {
        f.grew(written + plan.end.len() as u64);
    }
    Ok(())
}

/// Why the last part was not received.
pub(super) enum LastPartError {
    /// The transfer stopped (worth another attempt).
    Lost(Interruption),
    /// Its file could not be written.
    Io(std::io::Error),
}

/// Appends `tail` to `part`, hashing its bytes after those already in `hasher`: the copy
/// (by the kernel where it can: `copy_file_range` on Linux) and the hash on two threads.
pub(super) fn append_hashed(
    tail: &Path,
    part: &Path,
    mut hasher: ResumableSha256,
) -> std::io::Result<ResumableSha256> {
    use std::io::{Seek, SeekFrom};
    let mut from = std::fs::File::open(tail)?;
    // A second handle for the hash: reading one handle from two threads would move its cursor
    // under the copy on Windows.
    let hashed = std::fs::File::open(tail)?;
    let len = hashed.metadata()?.len();
    // Not in append mode: the kernel's copy refuses files opened so.
    let mut to = std::fs::OpenOptions::new().write(true).open(part)?;
    to.seek(SeekFrom::End(0))?;
    std::thread::scope(|scope| {
        let copy = scope.spawn(move || -> std::io::Result<u64> {
            let n = std::io::copy(&mut from, &mut to)?;
            to.flush()?;
            Ok(n)
        });
        let mut buf = vec![0u8; 1 << 20];
        let mut at = 0u64;
        let mut read = Ok(());
        while at < len {
            let n = (len - at).min(buf.len() as u64) as usize;
            if let Err(e) = crate::fsutil::read_exact_at(&hashed, &mut buf[..n], at) {
                read = Err(e);
                break;
            }
            hasher.update(&buf[..n]);
            at += n as u64;
        }
        let copied = copy
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the copying thread failed")))?;
        read?;
        if copied == len {
            Ok(hasher)
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the last part changed while it was appended",
            ))
        }
    })
}
