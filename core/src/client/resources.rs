//! The project's related folders from the server (`Resources/`, `Components/`, `Plugins/`,
//! `Libraries/`): each copied again at a connection when the server's copy changed (its stamp,
//! announced in the server's info, differs) — by a delta against the archive of the copy
//! installed when the server has one, else whole — verified (SHA-256 = stamp), and handed to
//! the cache, which swaps it in atomically; removed when the project has none any more.

use std::io::Write;
use std::path::Path;

use futures::StreamExt;
use reqwest::Method;
use sha2::{Digest, Sha256};

use super::Progress;
use super::api::ApiClient;
use super::error::{ConnectError, Corruption};
use super::fetch::NoDelta;
use super::mirrors::{AfterError, then_server};
use crate::archive::Stamp;
use crate::cache::SystemFolder;
use crate::protocol::{Related, ResourcesInfo, ServerInfo};

/// Brings every related folder to the versions `info` offers. Returns whether anything
/// changed.
pub(crate) async fn sync_all(
    api: &ApiClient,
    folder: &SystemFolder,
    info: &ServerInfo,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<bool, ConnectError> {
    let mut changed = false;
    for related in Related::ALL {
        changed |= sync(api, folder, related, info.offered(related), progress).await?;
    }
    Ok(changed)
}

/// Brings the system folder's copy of `related` to the server's `offered` version (none:
/// removes it). Returns whether anything changed.
pub(crate) async fn sync(
    api: &ApiClient,
    folder: &SystemFolder,
    related: Related,
    offered: Option<ResourcesInfo>,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<bool, ConnectError> {
    let Some(offered) = offered else {
        return Ok(folder.remove_related(related)?);
    };
    match folder.check_related(related, &offered.stamp) {
        Ok(()) => return Ok(false),
        Err(damage) if folder.related_stamp(related) == Some(offered.stamp) => {
            tracing::warn!(%damage, "the cached {related} folder changed: copying it again");
        }
        Err(_) => {}
    }
    // Another build installed (not a damaged copy of this one): what changed is enough.
    let installed = folder
        .related_stamp(related)
        .filter(|s| *s != offered.stamp);
    if let (Some(old), Some(_)) = (installed, folder.related_archive(related))
        && let Some(bytes) = delta_anywhere(api, folder, related, old, offered, progress).await
    {
        progress(Progress::Resources {
            folder: related,
            bytes,
            delta: true,
        });
        return Ok(true);
    }
    let zip = &folder.related_download(related);
    let bytes = then_server(api, progress, AfterError::of_download, |api, _| {
        download(api, zip, related, offered)
    })
    .await?;
    super::fetch::blocking(folder, move |f| f.install_related(related, offered.stamp)).await?;
    progress(Progress::Resources {
        folder: related,
        bytes,
        delta: false,
    });
    Ok(true)
}

/// Applies the delta from the installed build `old` of `related`, fetched from the first mirror
/// that has it right, else from the server; `None` when there is none (the folder is then
/// downloaded whole). A mirror relaying the server's "no such delta" ends the mirrors' turn.
async fn delta_anywhere(
    api: &ApiClient,
    folder: &SystemFolder,
    related: Related,
    old: Stamp,
    offered: ResourcesInfo,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Option<u64> {
    let delta = |api, _| delta(api, folder, related, old, offered);
    then_server(api, progress, NoDelta::after, delta)
        .await
        .inspect_err(|reason| {
            tracing::info!(%reason, "no delta for the {related} folder; downloading it whole");
        })
        .ok()
}

/// Fetches the delta from the installed build `old` of `related` (no larger than the whole
/// archive) and has the cache rebuild, verify and install the new one. Returns the bytes
/// transferred.
async fn delta(
    api: &ApiClient,
    folder: &SystemFolder,
    related: Related,
    old: Stamp,
    offered: ResourcesInfo,
) -> Result<u64, NoDelta> {
    let resp = api
        .request(
            Method::GET,
            &crate::protocol::paths::folder_delta_from(related, &old, &offered.stamp),
        )
        .send()
        .await
        .map_err(|e| api.transport_error(&e))?;
    if resp.status() != reqwest::StatusCode::OK {
        return Err(NoDelta::Status(resp.status()));
    }
    // A delta larger than the whole archive is no delta: refused before it fills the memory.
    let limit = usize::try_from(offered.size.max(1 << 20)).unwrap_or(usize::MAX);
    let body = api.read_limited(resp, limit).await?;
    let bytes = body.len() as u64;
    super::fetch::blocking(folder, move |f| {
        f.apply_related_delta(related, &body, offered.stamp)
    })
    .await?;
    Ok(bytes)
}

/// Downloads the archive of `offered` into `zip`, checking its SHA-256.
async fn download(
    api: &ApiClient,
    zip: &Path,
    related: Related,
    offered: ResourcesInfo,
) -> Result<u64, ConnectError> {
    let resp = api
        .request(
            Method::GET,
            &crate::protocol::paths::folder_of(related, &offered.stamp),
        )
        .send()
        .await
        .map_err(|e| api.transport_error(&e))?;
    let resp = api.check(resp).await?;
    let mut file = std::fs::File::create(zip).map_err(|e| ConnectError::io(zip, e))?;
    let mut hasher = Sha256::new();
    let mut body = resp.bytes_stream();
    let mut bytes = 0u64;
    let written = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| ConnectError::from(api.transport_error(&e)))?;
            bytes += chunk.len() as u64;
            if bytes > offered.size {
                return Err(ConnectError::Damaged(Corruption::TooLarge {
                    what: archive_name(related),
                }));
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .map_err(|e| ConnectError::io(zip, e))?;
        }
        file.flush().map_err(|e| ConnectError::io(zip, e))
    }
    .await;
    let got = Stamp::from_bytes(hasher.finalize().into());
    let result = written.and_then(|()| {
        if got == offered.stamp {
            Ok(bytes)
        } else {
            Err(ConnectError::Damaged(Corruption::WrongStamp {
                what: archive_name(related),
                got: got.short(),
                expected: offered.stamp.short(),
            }))
        }
    });
    if result.is_err() {
        let _ = std::fs::remove_file(zip);
    }
    result
}

/// How errors name the archive of `related`.
fn archive_name(related: Related) -> &'static str {
    match related {
        Related::Resources => "the Resources archive",
        Related::Components => "the Components archive",
        Related::Plugins => "the Plugins archive",
        Related::Libraries => "the Libraries archive",
    }
}
