//! Administering a server from its own machine, typed: the app and the command line never send
//! raw HTTP for it.

use reqwest::Method;

use super::api::{ApiClient, RequestError};
use crate::admin_token::{read_token, token_path};
use crate::environment::Environment;
use crate::protocol::ReloadResult;
use crate::protocol::paths::{self, AdminSession, DropRequest, MessageRequest, ShutdownRequest};

/// Why the administration client could not be made or was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// No token file: no server of this user runs on that port.
    #[error(
        "no administration token at {} — is a Remote4D server running on port {port} as this user?",
        path.display()
    )]
    NoToken {
        /// The port.
        port: u16,
        /// Where the token was looked for.
        path: std::path::PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// The request failed or was refused.
    #[error(transparent)]
    Request(#[from] RequestError),
}

/// A client of the administration API of the server on this machine's `port`, pinned to the
/// fingerprint its token file names.
#[derive(Debug, Clone)]
pub struct AdminClient {
    api: ApiClient,
}

impl AdminClient {
    /// The client of the server on `port` of this machine (its token file under `env`).
    ///
    /// # Errors
    /// [`AdminError::NoToken`] when no server of this user runs there.
    pub fn local(env: &Environment, port: u16) -> Result<Self, AdminError> {
        let path = token_path(env, port);
        let token = read_token(&path).map_err(|source| AdminError::NoToken {
            port,
            path: path.clone(),
            source,
        })?;
        let api = ApiClient::new(&format!("127.0.0.1:{port}"), token.fingerprint.as_deref())?
            .with_token(token.token);
        Ok(Self { api })
    }

    /// Every session, the virtual `storedProcedure` one included, with its storage.
    ///
    /// # Errors
    /// A [`RequestError`].
    pub async fn sessions(&self) -> Result<Vec<AdminSession>, RequestError> {
        self.api
            .json::<(), _>(Method::GET, paths::ADMIN_SESSIONS, None)
            .await
    }

    /// Sends `text` to one session, or to all.
    ///
    /// # Errors
    /// A [`RequestError`] (`not_found` for an unknown session).
    pub async fn message(&self, text: &str, session_id: Option<&str>) -> Result<(), RequestError> {
        let body = MessageRequest {
            text: text.to_owned(),
            session_id: session_id.map(str::to_owned),
        };
        self.api
            .send(Method::POST, paths::ADMIN_MESSAGE, Some(&body))
            .await
            .map(|_| ())
    }

    /// Ends a session.
    ///
    /// # Errors
    /// A [`RequestError`] (`not_found` for an unknown session).
    pub async fn drop_session(
        &self,
        session_id: &str,
        reason: Option<&str>,
    ) -> Result<(), RequestError> {
        let body = DropRequest {
            session_id: session_id.to_owned(),
            reason: reason.map(str::to_owned),
        };
        self.api
            .send(Method::POST, paths::ADMIN_DROP, Some(&body))
            .await
            .map(|_| ())
    }

    /// Stops the server in `in_seconds`, warning every client.
    ///
    /// # Errors
    /// A [`RequestError`].
    pub async fn shutdown(
        &self,
        in_seconds: u64,
        message: Option<&str>,
    ) -> Result<(), RequestError> {
        let body = ShutdownRequest {
            in_seconds,
            message: message.map(str::to_owned),
        };
        self.api
            .send(Method::POST, paths::ADMIN_SHUTDOWN, Some(&body))
            .await
            .map(|_| ())
    }

    /// Rebuilds the project now (RELOAD PROJECT); with `wait`, answers when the new archive is
    /// ready (else `None` at once).
    ///
    /// # Errors
    /// A [`RequestError`] (`build_failed`: the previous archive stays current).
    pub async fn reload(&self, wait: bool) -> Result<Option<ReloadResult>, RequestError> {
        if wait {
            self.api
                .json::<(), _>(Method::POST, &paths::reload_and_wait(), None)
                .await
                .map(Some)
        } else {
            self.api
                .send::<()>(Method::POST, paths::RELOAD, None)
                .await
                .map(|_| None)
        }
    }
}
