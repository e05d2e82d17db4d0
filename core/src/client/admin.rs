//! Administering a server from its own machine, typed: the app and the command line never send
//! raw HTTP for it.

use reqwest::Method;

use super::api::{ApiClient, RequestError};
use super::trust::TrustStore;
use crate::admin_token::{read_token, token_path};
use crate::environment::Environment;
use crate::protocol::paths::{
    self, AcceptRequest, ActivityEntry, AdminSession, AdminStatus, BuildRecord, DropRequest,
    LogLine, MessageRequest, PublishRequest, ShutdownRequest,
};
use crate::protocol::{HostType, OpenSession, OpenSessionResponse, ReloadResult};

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
    /// The server was never connected to from here: its identity is not pinned.
    #[error(
        "the identity of {address} is not pinned here: connect to it once (remote4d connect {address} --trust-new, after checking its fingerprint), then administer it"
    )]
    NotPinned {
        /// The address (`host:port`).
        address: String,
    },
    /// The address cannot be read.
    #[error(transparent)]
    Address(#[from] crate::link::ServerPathError),
    /// The login was refused or needs an answer this client cannot give.
    #[error("cannot log in to {address} as {user}: {reason}")]
    Login {
        /// The address.
        address: String,
        /// The user.
        user: String,
        /// Why.
        reason: String,
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
    /// The administrator's own session (remote administration).
    session: Option<String>,
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
        Ok(Self { api, session: None })
    }

    /// The client of a server elsewhere, administered by the project's Designer or Administrator:
    /// logs in as `user` (a session of its own, closed by [`AdminClient::close`]) over TLS pinned
    /// to the fingerprint this machine's trust store holds for `address` (`host[:port]`).
    ///
    /// # Errors
    /// [`AdminError::NotPinned`] when the server was never connected to from here,
    /// [`AdminError::Login`] when the login is refused, a [`RequestError`] otherwise.
    pub async fn remote(
        env: &Environment,
        address: &str,
        user: &str,
        password: &str,
    ) -> Result<Self, AdminError> {
        let path = crate::link::ServerPath::parse(address)?;
        let authority = path.authority();
        let pinned = TrustStore::new(&env.data_dir)
            .list()
            .into_iter()
            .find(|k| k.addresses.iter().any(|a| a == &authority))
            .map(|k| k.fingerprint)
            .ok_or_else(|| AdminError::NotPinned {
                address: authority.clone(),
            })?;
        let api = ApiClient::new(&authority, Some(&pinned))?;
        let request = OpenSession {
            user_name: Some(user.to_owned()),
            password: Some(password.to_owned()),
            password_hash: None,
            machine_name: super::connect::machine_name(),
            system_user_name: super::connect::system_user(),
            host_type: Some(HostType::current()),
            client_id: format!("admin-{}", crate::time::now_ms()),
            client_version: env!("CARGO_PKG_VERSION").into(),
            challenge: None,
            resume: None,
            user_param: None,
            hard_link: None,
        };
        let login = |reason: String| AdminError::Login {
            address: authority.clone(),
            user: user.to_owned(),
            reason,
        };
        match api
            .json(Method::POST, paths::SESSIONS, Some(&request))
            .await
        {
            Ok(OpenSessionResponse::Opened(o)) => Ok(Self {
                api: api.with_token(o.token),
                session: Some(o.session.id),
            }),
            Ok(OpenSessionResponse::Challenge(c)) => Err(login(format!(
                "the server asks a question ({}), which administration cannot answer",
                c.prompt
            ))),
            // Refused (wrong password, throttled, an IP rule, a hook): the server's reason.
            Err(RequestError::Api(e)) => Err(login(e.message)),
            Err(e) => Err(e.into()),
        }
    }

    /// Ends the administrator's own session (remote administration); nothing for a local client.
    ///
    /// # Errors
    /// A [`RequestError`].
    pub async fn close(&self) -> Result<(), RequestError> {
        if let Some(id) = &self.session {
            self.api
                .send::<()>(Method::DELETE, &paths::session(id), None)
                .await?;
        }
        Ok(())
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
    pub async fn message(&self, text: &str, sessions: &[&str]) -> Result<(), RequestError> {
        let body = MessageRequest {
            text: text.to_owned(),
            session_id: None,
            session_ids: sessions.iter().map(|s| (*s).to_owned()).collect(),
        };
        self.api
            .send(Method::POST, paths::ADMIN_MESSAGE, Some(&body))
            .await
            .map(|_| ())
    }

    /// Ends a session, now or in `in_seconds` (its user is told at once, with `reason`).
    ///
    /// # Errors
    /// A [`RequestError`] (`not_found` for an unknown session).
    pub async fn drop_session(
        &self,
        session_id: &str,
        reason: Option<&str>,
        in_seconds: u64,
    ) -> Result<(), RequestError> {
        let body = DropRequest {
            session_id: session_id.to_owned(),
            reason: reason.map(str::to_owned),
            in_seconds,
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

    /// The server's status: uptime, sessions now and at most, whether it accepts new
    /// connections, its archive and identity.
    ///
    /// # Errors
    /// A [`RequestError`].
    pub async fn status(&self) -> Result<AdminStatus, RequestError> {
        self.api
            .json::<(), _>(Method::GET, paths::ADMIN_STATUS, None)
            .await
    }

    /// Accepts new connections again, or refuses them (existing sessions stay; the Designer
    /// and the Administrator may still log in).
    ///
    /// # Errors
    /// A [`RequestError`].
    pub async fn set_accepting(&self, accept: bool) -> Result<(), RequestError> {
        self.api
            .send(
                Method::POST,
                paths::ADMIN_ACCEPT,
                Some(&AcceptRequest { accept }),
            )
            .await
            .map(|_| ())
    }

    /// Announces the server on the network (DNS-SD), or withdraws the announcement (it stays
    /// reachable by its address).
    ///
    /// # Errors
    /// A [`RequestError`] (`internal` when publishing failed).
    pub async fn set_published(&self, publish: bool) -> Result<(), RequestError> {
        self.api
            .send(
                Method::POST,
                paths::ADMIN_PUBLISH,
                Some(&PublishRequest { publish }),
            )
            .await
            .map(|_| ())
    }

    /// The server's activity after event number `after` (0: every event it keeps).
    ///
    /// # Errors
    /// A [`RequestError`].
    pub async fn activity(&self, after: u64) -> Result<Vec<ActivityEntry>, RequestError> {
        self.api
            .json::<(), _>(
                Method::GET,
                &format!("{}?after={after}", paths::ADMIN_ACTIVITY),
                None,
            )
            .await
    }

    /// The server log's lines after number `after` (0: every line it keeps).
    ///
    /// # Errors
    /// A [`RequestError`].
    pub async fn log(&self, after: u64) -> Result<Vec<LogLine>, RequestError> {
        self.api
            .json::<(), _>(
                Method::GET,
                &format!("{}?after={after}", paths::ADMIN_LOG),
                None,
            )
            .await
    }

    /// The builds the server keeps, newest (current) first.
    ///
    /// # Errors
    /// A [`RequestError`].
    pub async fn builds(&self) -> Result<Vec<BuildRecord>, RequestError> {
        self.api
            .json::<(), _>(Method::GET, paths::ADMIN_BUILDS, None)
            .await
    }

    /// Restarts the server: its sessions end (their users are told to connect again), and the
    /// program running it starts it anew with the project and configuration read again.
    ///
    /// # Errors
    /// A [`RequestError`].
    pub async fn restart(&self) -> Result<(), RequestError> {
        self.api
            .send::<()>(Method::POST, paths::ADMIN_RESTART, None)
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
