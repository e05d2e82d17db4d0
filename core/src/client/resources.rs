//! The project's `Resources/` folder from the server: copied again at a connection when the
//! server's copy changed (its stamp, announced in the server's info, differs), verified
//! (SHA-256 = stamp), and handed to the cache, which swaps it in atomically; removed when the
//! project has none any more.

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
use crate::protocol::ResourcesInfo;

/// Brings the folder's `Resources/` to the server's `offered` version (none: removes it).
/// Returns whether anything changed.
pub(crate) async fn sync(
    api: &ApiClient,
    folder: &SystemFolder,
    offered: Option<ResourcesInfo>,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<bool, ConnectError> {
    let Some(offered) = offered else {
        return Ok(folder.remove_resources()?);
    };
    match folder.check_resources(&offered.stamp) {
        Ok(()) => return Ok(false),
        Err(damage) if folder.state().resources_stamp == Some(offered.stamp) => {
            tracing::warn!(%damage, "the cached Resources folder changed: copying it again");
        }
        Err(_) => {}
    }
    let bytes = download(api, &folder.resources_download(), offered).await?;
    super::fetch::blocking(folder, move |f| f.install_resources(offered.stamp)).await?;
    progress(Progress::Resources { bytes });
    Ok(true)
}

/// Downloads the archive of `offered` into `zip`, checking its SHA-256.
async fn download(
    api: &ApiClient,
    zip: &Path,
    offered: ResourcesInfo,
) -> Result<u64, ConnectError> {
    let resp = api
        .request(
            Method::GET,
            &crate::protocol::paths::resources_of(&offered.stamp),
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
                    what: "the Resources archive",
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
                what: "the Resources archive",
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
