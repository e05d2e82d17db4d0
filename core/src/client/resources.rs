//! The project's related folders from the server (`Resources/`, `Components/`, `Plugins/`,
//! `Libraries/`): each copied again at a connection when the server's copy changed (its stamp,
//! announced in the server's info, differs), verified (SHA-256 = stamp), and handed to the
//! cache, which swaps it in atomically; removed when the project has none any more.

use std::io::Write;
use std::path::Path;

use futures::StreamExt;
use reqwest::Method;
use sha2::{Digest, Sha256};

use super::Progress;
use super::api::ApiClient;
use super::error::{ConnectError, Corruption};
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
    let bytes = download(api, &folder.related_download(related), related, offered).await?;
    super::fetch::blocking(folder, move |f| f.install_related(related, offered.stamp)).await?;
    progress(Progress::Resources {
        folder: related,
        bytes,
    });
    Ok(true)
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
