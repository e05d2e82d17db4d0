//! The project's `Resources/` folder, kept in the system folder beside `Project/` as 4D keeps
//! it in the client cache: copied again at a connection when the server's copy changed
//! (its stamp, announced in the server's info, differs), verified (SHA-256 = stamp), and
//! swapped in atomically; removed when the project has none any more.

use std::io::Write;
use std::path::Path;

use futures::StreamExt;
use reqwest::Method;
use sha2::{Digest, Sha256};

use super::Progress;
use super::api::ApiClient;
use super::error::ConnectError;
use super::index;
use crate::archive::{Archive, Limits, Stamp};
use crate::protocol::ResourcesInfo;
use crate::system_folder::SystemFolder;

const FOLDER: &str = "Resources";
/// Sizes and times of the copied files, to notice a local change (as `index.tsv` for `Project/`).
const INDEX: &str = "resources.tsv";

/// Brings `folder/Resources` to the server's `offered` version (none: removes it). Returns
/// whether anything changed.
pub(crate) async fn sync(
    api: &ApiClient,
    folder: &SystemFolder,
    offered: Option<ResourcesInfo>,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<bool, ConnectError> {
    let target = folder.path().join(FOLDER);
    let mut state = folder.state();
    let Some(offered) = offered else {
        if state.resources_stamp.is_some() || target.exists() {
            remove(&target)?;
            let _ = std::fs::remove_file(folder.path().join(INDEX));
            state.resources_stamp = None;
            folder.save_state(&state)?;
            return Ok(true);
        }
        return Ok(false);
    };
    if state.resources_stamp == Some(offered.stamp) && target.is_dir() {
        match intact(folder.path(), &offered.stamp) {
            Ok(()) => return Ok(false),
            Err(damage) => {
                tracing::warn!(
                    ?damage,
                    "the cached Resources folder changed: copying it again"
                );
            }
        }
    }
    let zip = folder.path().join("resources.zip");
    let bytes = download(api, &zip, offered).await?;
    let (src, dest) = (zip.clone(), target.clone());
    let unpacked = tokio::task::spawn_blocking(move || {
        let a = Archive::open(&src, &Limits::default())?;
        let prefix = format!("{FOLDER}/");
        if let Some(e) = a.entries().iter().find(|e| !e.name.starts_with(&prefix)) {
            return Err(crate::archive::ArchiveError::NotProjectArchive {
                name: e.name.clone(),
            });
        }
        a.unpack_subtree_to(&prefix, &dest).map(|_| ())
    })
    .await;
    let _ = std::fs::remove_file(&zip);
    unpacked
        .map_err(|e| ConnectError::Io {
            path: target.clone(),
            detail: e.to_string(),
        })?
        .map_err(ConnectError::from)?;
    state.resources_stamp = Some(offered.stamp);
    folder.save_state(&state)?;
    let index = format!("{}\n{}", offered.stamp, index::listing(&target));
    let _ = crate::fsutil::replace_cache_file(&folder.path().join(INDEX), index.as_bytes());
    progress(Progress::Resources { bytes });
    Ok(true)
}

/// Whether `dir/Resources` is still exactly as copied for `stamp` (sizes and times).
fn intact(dir: &Path, stamp: &Stamp) -> Result<(), index::Damage> {
    let text = std::fs::read_to_string(dir.join(INDEX)).map_err(|_| index::Damage::NoIndex)?;
    let mut lines = text.lines();
    if lines.next() != Some(stamp.to_string().as_str()) {
        return Err(index::Damage::NoIndex);
    }
    index::check_listing(&dir.join(FOLDER), lines)
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
    let mut file = std::fs::File::create(zip).map_err(|e| ConnectError::io(zip, &e))?;
    let mut hasher = Sha256::new();
    let mut body = resp.bytes_stream();
    let mut bytes = 0u64;
    let written = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| ConnectError::from(api.transport_error(&e)))?;
            bytes += chunk.len() as u64;
            if bytes > offered.size {
                return Err(ConnectError::Damaged {
                    detail: "the Resources archive is larger than announced".into(),
                });
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .map_err(|e| ConnectError::io(zip, &e))?;
        }
        file.flush().map_err(|e| ConnectError::io(zip, &e))
    }
    .await;
    let got = Stamp::from_bytes(hasher.finalize().into());
    let result = written.and_then(|()| {
        if got == offered.stamp {
            Ok(bytes)
        } else {
            Err(ConnectError::Damaged {
                detail: format!(
                    "the Resources archive's SHA-256 is {} instead of {}",
                    got.short(),
                    offered.stamp.short()
                ),
            })
        }
    });
    if result.is_err() {
        let _ = std::fs::remove_file(zip);
    }
    result
}

/// Removes `target` (moved aside first, so that it is never half there).
fn remove(target: &Path) -> Result<(), ConnectError> {
    if !target.exists() {
        return Ok(());
    }
    let aside = target.with_file_name(".Resources.removed");
    let _ = std::fs::remove_dir_all(&aside);
    std::fs::rename(target, &aside).map_err(|e| ConnectError::io(target, &e))?;
    let _ = std::fs::remove_dir_all(&aside);
    Ok(())
}
