//! Replacing this client by the newer build a server offers: its signature checked against the
//! publisher's key built into this client (before a byte is downloaded), downloaded, verified
//! (SHA-256, the signed one), then swapped in atomically with the previous version kept beside
//! it (`<exe>.previous`), so a failure at any step leaves the installed client working. A
//! client without a publisher key installs no update: it is updated by whoever installed it.
//! The build is fetched through the server's mirrors first (a Monday morning's new client
//! crosses the line to the server once per site cache), every byte checked against the signed
//! SHA-256; a mirror that fails or serves other bytes is skipped and reported.

use std::io::Write;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};

use super::Progress;
use super::api::{ApiClient, RequestError};
use super::mirrors::{AfterError, Source, then_server};
use crate::protocol::UpdateOffer;

/// Why an update failed; the installed client is unchanged in every case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// This client carries no publisher key: it accepts no update from a server.
    #[error(
        "this client has no update key (only applications made with `remote4d build client` have one): \
         install the new version the way this one was installed"
    )]
    NoKey,
    /// The offer is not signed by this client's publisher.
    #[error(transparent)]
    Unsigned(#[from] crate::signing::SigningError),
    /// The offered build is not newer than this client.
    #[error(
        "the server offers version {offered}, not newer than this client ({current}); nothing was installed"
    )]
    NotNewer {
        /// Offered.
        offered: String,
        /// Running.
        current: String,
    },
    /// The download failed.
    #[error("the update could not be downloaded: {0}; the installed client is unchanged")]
    Download(#[from] RequestError),
    /// The offer names no SHA-256 (nothing can be checked, so nothing is downloaded).
    #[error("the server's offer names no SHA-256 ({0:?}); nothing was installed")]
    BadOffer(String),
    /// The download does not have the announced SHA-256.
    #[error("the update is damaged (SHA-256 {got} instead of {expected}); nothing was replaced")]
    Damaged {
        /// Announced.
        expected: String,
        /// Found.
        got: String,
    },
    /// The new build could not be written or swapped in (disk full, permissions).
    #[error(
        "the update could not be installed at {}: {}; the installed client is unchanged",
        path.display(),
        install_advice(path, source)
    )]
    Install {
        /// Where.
        path: PathBuf,
        /// What happened.
        #[source]
        source: std::io::Error,
    },
}

/// A client build a server offered when it refused this client's version, and where to fetch
/// it from: that server only (its checked identity), through its mirrors first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedUpdate {
    /// The build.
    pub offer: UpdateOffer,
    /// host:port of the server.
    pub address: String,
    /// Its trusted fingerprint: the update is fetched from no other server.
    pub fingerprint: String,
    /// The token the server gave after the login, to fetch the update with.
    pub token: Option<String>,
    /// The server's mirrors (its info), tried first.
    pub mirrors: Vec<crate::protocol::Mirror>,
}

impl OfferedUpdate {
    /// A client to fetch the build with ([`install`]): pinned to the server, with the update
    /// token, through the server's mirrors.
    ///
    /// # Errors
    /// [`RequestError::Address`], [`RequestError::Tls`] or [`RequestError::Setup`] when the
    /// client cannot be made.
    pub fn client(&self) -> Result<ApiClient, RequestError> {
        let mut api = ApiClient::new(&self.address, Some(&self.fingerprint))?;
        if let Some(token) = &self.token {
            api = api.with_token(token.clone());
        }
        // Clients spread over the mirrors by their token (one per refused login).
        let key = self.token.as_deref().unwrap_or(&self.offer.sha256);
        Ok(api.through_mirrors(&self.mirrors, key))
    }
}

/// The update a server offers, if any.
///
/// # Errors
/// A [`RequestError`] other than "none offered".
pub async fn offer(api: &ApiClient) -> Result<Option<UpdateOffer>, RequestError> {
    let resp = api
        .request(Method::GET, crate::protocol::paths::CLIENT_UPDATE)
        .send()
        .await
        .map_err(|e| api.transport_error(&e))?;
    if resp.status() == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let resp = api.check(resp).await?;
    let bytes = api.read_limited(resp, 64 << 10).await?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| RequestError::NotRemote4d {
            address: api.authority().to_owned(),
            cause: super::transport::NotAServer::Undecodable(e),
        })
}

fn sibling(exe: &Path, suffix: &str) -> PathBuf {
    let mut name = exe
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    exe.with_file_name(name)
}

/// What to tell the user when the update cannot be written beside `exe`.
/// What to do when the update cannot be written at `path` (the client's folder or a file in it).
fn install_advice(path: &Path, e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let folder = path.parent().unwrap_or(Path::new(".")).display();
    match e.kind() {
        ErrorKind::StorageFull => "the disk is full: free some space and connect again".into(),
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => format!(
            "this user may not write in {folder} ({e}): the update must be installed by whoever \
             installed this client (an administrator, the package manager), or run the client \
             from a folder you own"
        ),
        _ => e.to_string(),
    }
}

/// Attempts of the download of an update.
const DOWNLOAD_ATTEMPTS: u32 = 3;

/// Downloads the offered build into `new`: through each of the server's mirrors in turn (one
/// that fails or serves other bytes is skipped and reported; a local write error ends it
/// all), then from the server itself, retried when the connection is lost.
async fn fetch(
    api: &ApiClient,
    offer: &UpdateOffer,
    new: &Path,
    io: &(dyn Fn(&Path, std::io::Error) -> UpdateError + Sync),
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<(), UpdateError> {
    let sha256 = offer
        .sha256
        .parse()
        .map_err(|_| UpdateError::BadOffer(offer.sha256.clone()))?;
    let path = &crate::protocol::paths::client_update_binary(&sha256);
    // A local write error stops it all; a mirror that fails otherwise is skipped.
    let after = |e: &UpdateError| match e {
        UpdateError::Install { .. } => AfterError::Stop,
        _ => AfterError::Skip,
    };
    then_server(api, progress, after, |api, source| async move {
        // A lost connection with the server is retried (the build is small: from the start
        // each time).
        let attempts = if source == Source::Server {
            DOWNLOAD_ATTEMPTS
        } else {
            1
        };
        let mut attempt = 1;
        loop {
            match download(api, path, offer, new, io).await {
                Err(UpdateError::Download(e)) if attempt < attempts => {
                    tracing::info!(%e, attempt, "the update download was interrupted; again");
                    tokio::time::sleep(std::time::Duration::from_millis(300 << attempt)).await;
                    attempt += 1;
                }
                other => break other,
            }
        }
    })
    .await
}

/// Downloads the offered build (at `path` of `api`) into `new` and checks its SHA-256.
async fn download(
    api: &ApiClient,
    path: &str,
    offer: &UpdateOffer,
    new: &Path,
    io: &(dyn Fn(&Path, std::io::Error) -> UpdateError + Sync),
) -> Result<(), UpdateError> {
    let resp = api
        .request(Method::GET, path)
        .send()
        .await
        .map_err(|e| api.transport_error(&e))?;
    let resp = api.check(resp).await?;
    let mut file = std::fs::File::create(new).map_err(|e| io(new, e))?;
    let mut hasher = Sha256::new();
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| UpdateError::Download(api.transport_error(&e)))?;
        hasher.update(&chunk);
        file.write_all(&chunk).map_err(|e| io(new, e))?;
    }
    file.sync_all().map_err(|e| io(new, e))?;
    let got = hex::encode(hasher.finalize());
    if !got.eq_ignore_ascii_case(&offer.sha256) {
        return Err(UpdateError::Damaged {
            expected: offer.sha256.clone(),
            got,
        });
    }
    Ok(())
}

/// Checks that `offer` may be installed by a client with publisher `key`: signed by it, and
/// newer than this client.
///
/// # Errors
/// [`UpdateError::NoKey`], [`UpdateError::Unsigned`] or [`UpdateError::NotNewer`].
pub fn check_offer(
    offer: &UpdateOffer,
    key: Option<&crate::signing::PublicKey>,
) -> Result<(), UpdateError> {
    let key = key.ok_or(UpdateError::NoKey)?;
    key.verify(&offer.version, &offer.sha256, offer.signature.as_deref())?;
    let current = env!("CARGO_PKG_VERSION");
    if crate::protocol::compare_versions(&offer.version, current) != std::cmp::Ordering::Greater {
        return Err(UpdateError::NotNewer {
            offered: offer.version.clone(),
            current: current.to_owned(),
        });
    }
    Ok(())
}

/// Downloads `offer` and replaces `exe` with it, after [`check_offer`] with the publisher's
/// `key`; returns where the previous version was kept. `api` carries the session's (or the
/// update) token, and the server's mirrors ([`ApiClient::through_mirrors`]), tried first;
/// `progress` hears of each ([`Progress::FromMirror`], [`Progress::MirrorSkipped`]).
///
/// # Errors
/// An [`UpdateError`]; `exe` is then unchanged.
pub async fn install(
    api: &ApiClient,
    offer: &UpdateOffer,
    exe: &Path,
    key: Option<&crate::signing::PublicKey>,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<PathBuf, UpdateError> {
    check_offer(offer, key)?;
    let new = sibling(exe, ".new");
    let previous = sibling(exe, ".previous");
    let io = |path: &Path, e: std::io::Error| UpdateError::Install {
        path: path.to_path_buf(),
        source: e,
    };
    let result = async {
        fetch(api, offer, &new, &io, progress).await?;
        if let Ok(meta) = std::fs::metadata(exe) {
            std::fs::set_permissions(&new, meta.permissions()).map_err(|e| io(&new, e))?;
        }
        // Swap: the current build becomes `.previous`, the new one takes its name.
        let _ = std::fs::remove_file(&previous);
        std::fs::rename(exe, &previous).map_err(|e| io(exe, e))?;
        if let Err(e) = std::fs::rename(&new, exe) {
            let _ = std::fs::rename(&previous, exe);
            return Err(io(exe, e));
        }
        Ok(previous.clone())
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&new);
    }
    result
}
