//! Development mode, client side: proving that the server's project folder is the same folder
//! here, edit locks, and Save all.
//!
//! The proof: the server writes a random secret and its own certificate fingerprint in a new file
//! at the root of its project folder and says which; the client reads it back through its own path
//! to that folder (the server's path on the same machine, or a shared folder), checks that the
//! fingerprint is the one of the server it is talking to, and returns a hash of the secret bound
//! to that fingerprint. An address alone is not enough (containers, NAT, port forwarding), and a
//! hostile server cannot relay a real server's proof through a client on that server's machine.
//!
//! In development mode the client works on the project files directly, except
//! `catalog.4DCatalog` and `directory.json`, which only the server writes: the client sends them.
//! **Save all** takes the edit lock of each file, writes the files, then asks the server for a
//! synchronous reload.

use std::path::{Path, PathBuf};

use super::api::{ApiClient, RequestError};
use crate::protocol::paths::{self, LockRequest};
use crate::protocol::{
    ErrorCode, ProofAnswer, ProofFile, ReloadResult, normalize_fingerprint, proof_answer,
};
pub use crate::protocol::{LockInfo, ProofRequest, SERVER_WRITTEN};
use reqwest::Method;

/// Why the server's project folder could not be proven to be the same folder here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The server refused (e.g. the user has no design rights) or could not be asked.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The server named a proof file outside its project folder.
    #[error("the server named an unexpected proof file ({0})")]
    UnexpectedFile(String),
    /// The folder is not reachable here (another machine, or another copy).
    #[error("the server's project folder {} is not reachable here as the same folder", root.display())]
    NotReachable {
        /// The folder as seen from here.
        root: PathBuf,
    },
    /// The file is not a proof.
    #[error("the proof file {} is not what the server wrote", file.display())]
    Damaged {
        /// The file.
        file: PathBuf,
    },
    /// The file was written by another server than the one connected to: not answered.
    #[error(
        "the proof file was written by another server ({wrote}) than the one connected to ({seen}); not answered"
    )]
    OtherServer {
        /// The fingerprint of the server connected to.
        seen: String,
        /// The fingerprint in the file.
        wrote: String,
    },
}

/// Proves the project folder is reachable here; returns its local path.
///
/// # Errors
/// A [`ProofError`]: the folder is not reachable or is another copy, the file was written by
/// another server, or the server refused.
pub async fn prove(
    api: &ApiClient,
    session_id: &str,
    shared: Option<&Path>,
) -> Result<PathBuf, ProofError> {
    let _ = session_id;
    let req: ProofRequest = api
        .json::<(), _>(Method::POST, paths::DEVMODE_PROOF, None)
        .await?;
    if req.proof_file.contains(['/', '\\']) || !req.proof_file.starts_with(".remote4d-proof-") {
        return Err(ProofError::UnexpectedFile(req.proof_file));
    }
    let root = shared.map_or_else(|| PathBuf::from(&req.project_root), Path::to_path_buf);
    let file = root.join(&req.proof_file);
    let proof: ProofFile = match std::fs::read(&file) {
        Ok(b) if b.len() <= 1024 => {
            serde_json::from_slice(&b).map_err(|_| ProofError::Damaged { file: file.clone() })?
        }
        Ok(_) => return Err(ProofError::Damaged { file }),
        Err(_) => return Err(ProofError::NotReachable { root }),
    };
    // Answer only the server that wrote the file: a server relaying another one's proof (to
    // borrow this machine's access to that server's folder) presents another identity.
    let seen = api.seen_fingerprint().unwrap_or_default();
    if normalize_fingerprint(&seen) != normalize_fingerprint(&proof.fingerprint) {
        tracing::warn!(%seen, wrote = %proof.fingerprint, "a proof file written by another server");
        return Err(ProofError::OtherServer {
            seen,
            wrote: proof.fingerprint,
        });
    }
    api.send(
        Method::POST,
        paths::DEVMODE_CONFIRM,
        Some(&ProofAnswer {
            answer: proof_answer(&proof.secret, &seen),
        }),
    )
    .await?;
    Ok(dunce::canonicalize(&root).unwrap_or(root))
}

/// Why a development-mode action failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevError {
    /// Someone else is editing the file.
    #[error("{path} is being edited by {holder}; it stays read-only until they save or disconnect")]
    Locked {
        /// The file.
        path: String,
        /// Who.
        holder: String,
    },
    /// The path is not a project file.
    #[error("{0} is not a file of the project")]
    BadPath(String),
    /// A file could not be written.
    #[error("cannot write {}; nothing else was saved after it", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server refused or failed.
    #[error(transparent)]
    Request(#[from] RequestError),
}

/// A project opened in development mode.
#[derive(Debug, Clone)]
pub struct DevProject {
    api: ApiClient,
    root: PathBuf,
}

impl DevProject {
    /// The project at `root` (local path), through the session's `api`.
    pub fn new(api: ApiClient, root: PathBuf) -> Self {
        Self { api, root }
    }

    /// The project root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every edit lock on the server.
    ///
    /// # Errors
    /// A [`RequestError`].
    pub async fn locks(&self) -> Result<Vec<LockInfo>, RequestError> {
        self.api
            .json::<(), _>(Method::GET, paths::DEVMODE_LOCKS, None)
            .await
    }

    /// Takes the edit lock of `path` (relative to the project root).
    ///
    /// # Errors
    /// [`DevError::Locked`] when another developer holds it.
    pub async fn lock(&self, path: &str) -> Result<(), DevError> {
        match self
            .api
            .send(
                Method::POST,
                paths::DEVMODE_LOCKS,
                Some(&LockRequest {
                    path: path.to_owned(),
                }),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(RequestError::Api(e)) if e.code == ErrorCode::Locked => Err(DevError::Locked {
                path: path.to_owned(),
                holder: e.message,
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Releases the edit lock of `path`.
    ///
    /// # Errors
    /// A [`RequestError`].
    pub async fn unlock(&self, path: &str) -> Result<(), RequestError> {
        self.api
            .send(
                Method::DELETE,
                paths::DEVMODE_LOCKS,
                Some(&LockRequest {
                    path: path.to_owned(),
                }),
            )
            .await
            .map(|_| ())
    }

    /// Save all: locks each changed file, writes it (the server writes `catalog.4DCatalog` and
    /// `directory.json` itself), then waits for the server's reload.
    ///
    /// # Errors
    /// [`DevError::Locked`] before anything is written when a file is held by someone else;
    /// [`DevError::Write`] for a disk error; the server's refusal.
    pub async fn save_all(&self, changes: &[(String, Vec<u8>)]) -> Result<ReloadResult, DevError> {
        for (path, _) in changes {
            if crate::archive::check_relative_path(path).is_err() {
                return Err(DevError::BadPath(path.clone()));
            }
            if !SERVER_WRITTEN.contains(&path.as_str()) {
                self.lock(path).await?;
            }
        }
        for (path, bytes) in changes {
            if SERVER_WRITTEN.contains(&path.as_str()) {
                let resp = self
                    .api
                    .request(Method::PUT, &paths::devmode_file(path))
                    .body(bytes.clone())
                    .send()
                    .await
                    .map_err(|e| self.api.transport_error(&e))?;
                self.api.check(resp).await?;
            } else {
                let file = self.root.join(path);
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir).map_err(|source| DevError::Write {
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
                crate::fsutil::write_atomic(&file, bytes).map_err(|source| DevError::Write {
                    path: file.clone(),
                    source,
                })?;
            }
        }
        Ok(self
            .api
            .json::<(), _>(Method::POST, &paths::reload_and_wait(), None)
            .await?)
    }
}
