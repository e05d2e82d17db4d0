//! The remote client: find a server, check its identity, log in, get the project into the
//! system folder (nothing, a delta, or a resumable verified download), follow the session's
//! events, and — on the server's own machine — work in development mode.
//!
//! [`connect`] does it all and reports each phase through a [`Progress`] callback. Questions for
//! the user (a new server identity, a password, the server hook's challenge) come back as typed
//! [`ConnectError`]s; the caller asks, then calls [`connect`] again with the answer in
//! [`ConnectOptions`].

pub mod address;
pub mod admin;
pub mod api;
mod connect;
pub mod devmode;
mod error;
mod fetch;
mod mirrors;
mod resources;
pub mod session;
pub mod tls;
pub mod transport;
pub mod trust;
mod two_parts;
pub mod update;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

pub use address::ServerAddress;
pub use api::{ApiClient, RequestError};
pub use connect::{connect, find_by_name, offline_copy_exists};
pub use error::{ConnectError, Corruption, Interruption};
pub use tls::SeenFingerprint;
pub use transport::{NotAServer, Transport};

use crate::cache::{PendingDeltaError, SystemFolder};
use crate::link::{Link, ServerPath};
use crate::protocol::{ChallengeAnswer, ServerInfo, SessionOpened};

/// What to connect to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// An address (`host[:port]`); an empty host means "find by name".
    Address(ServerPath),
    /// A `.4DLink` shortcut.
    Link(Box<Link>),
}

/// Everything a connection needs.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The server.
    pub target: Target,
    /// The publication name expected (a link's `server_database_name` when not given).
    pub project: Option<String>,
    /// User name (a link's `user_name` when not given).
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// The stored hash (a link's `md5_password`).
    pub password_hash: Option<String>,
    /// Trust a server seen for the first time (the user confirmed its fingerprint).
    pub trust_new: bool,
    /// Accept a changed identity (the user confirmed the new fingerprint explicitly).
    pub accept_changed_identity: bool,
    /// A fingerprint the user holds beforehand (a Recent entry's, or one given explicitly):
    /// a server presenting another one is refused as a changed identity.
    pub expected_fingerprint: Option<String>,
    /// The fingerprint a DNS-SD announcement carried: a hint (logged when it differs), never a
    /// reason to trust — anyone on the network can announce anything.
    pub announced_fingerprint: Option<String>,
    /// The answer to the server hook's question.
    pub challenge: Option<ChallengeAnswer>,
    /// "Activate development mode".
    pub development: bool,
    /// Development mode from another machine: the project folder as seen from here.
    pub shared_project_folder: Option<PathBuf>,
    /// Open the last good cached version read-only when the server cannot be reached.
    pub allow_offline: bool,
    /// Use the server's archive even on the server's own machine (no automatic development mode).
    pub force_remote: bool,
    /// Unpack a full download as it arrives (default), rather than after it: the files are
    /// checked against the verified archive either way.
    pub unpack_while_downloading: bool,
    /// The local name of the project (the Custom tab's "Project name"), used in Recent.
    pub display_name: Option<String>,
    /// How long to look for a server by name.
    pub discovery_timeout: Duration,
    /// The folders Remote4D uses.
    pub env: crate::environment::Environment,
    /// The client program (its path keys the system folder, as 4D's).
    pub client_exe: PathBuf,
}

impl ConnectOptions {
    /// Applies the development-mode opening options of the link being opened (a `.4DLink`
    /// opened, a Recent entry): `remote4d_development_mode="true"` activates development mode,
    /// `"false"` opens the server's build even on the server's machine, and
    /// `remote4d_project_folder` is the server's project folder as seen from here (development
    /// mode from another machine). Options a caller sets afterwards (command-line flags) win.
    pub fn apply_link_opening_options(&mut self) {
        let Target::Link(link) = &self.target else {
            return;
        };
        let folder = link
            .remote4d_project_folder
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(PathBuf::from);
        match link.remote4d_development_mode {
            Some(true) => (self.development, self.force_remote) = (true, false),
            Some(false) => (self.development, self.force_remote) = (false, true),
            None => {}
        }
        if let Some(folder) = folder {
            self.shared_project_folder = Some(folder);
            (self.development, self.force_remote) = (true, false);
        }
    }

    /// Options for `target` with defaults: no credentials, no trust given yet.
    pub fn new(target: Target, env: crate::environment::Environment) -> Self {
        Self {
            target,
            project: None,
            user: None,
            password: None,
            password_hash: None,
            trust_new: false,
            accept_changed_identity: false,
            expected_fingerprint: None,
            announced_fingerprint: None,
            challenge: None,
            development: false,
            shared_project_folder: None,
            allow_offline: false,
            force_remote: false,
            unpack_while_downloading: true,
            display_name: None,
            discovery_timeout: Duration::from_secs(4),
            env,
            client_exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("remote4d")),
        }
    }
}

/// A phase of a connection, for progress displays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Progress {
    /// Looking for the server by name on the network.
    LookingUp {
        /// The publication name.
        name: String,
    },
    /// Opening the connection.
    Connecting {
        /// host:port.
        address: String,
    },
    /// Checking the server's certificate.
    CheckingIdentity {
        /// The fingerprint presented.
        fingerprint: String,
    },
    /// Logging in.
    LoggingIn {
        /// As whom.
        user: String,
    },
    /// The cached project is current: nothing to download.
    UpToDate,
    /// The cache is damaged and is being repaired.
    Repairing {
        /// What was wrong.
        reason: String,
    },
    /// A delta was downloaded.
    Delta {
        /// Its size.
        bytes: u64,
    },
    /// What follows comes from a mirror of the server (checked against the server's stamp).
    FromMirror {
        /// The mirror's base URL.
        url: String,
    },
    /// A mirror failed (down, slow, or other bytes than the server's stamp): the next mirror,
    /// or the server, is used instead.
    MirrorSkipped {
        /// The mirror's base URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// One of the project's related folders (`Resources/`, `Components/`, `Plugins/`,
    /// `Libraries/`) was new or had changed on the server, and was copied.
    Resources {
        /// Which folder.
        folder: crate::protocol::Related,
        /// Bytes downloaded.
        bytes: u64,
        /// Only what changed was downloaded (a delta against the copy installed).
        delta: bool,
    },
    /// Downloading the archive.
    Downloading {
        /// Bytes so far (including a resumed part).
        done: u64,
        /// Archive size.
        total: u64,
        /// Current rate.
        bytes_per_sec: u64,
    },
    /// Waiting before retrying.
    Retrying {
        /// Attempt number.
        attempt: u32,
        /// Wait, in ms.
        in_ms: u64,
        /// Why.
        reason: String,
    },
    /// Checking the download's SHA-256.
    Verifying,
    /// Unpacking.
    Unpacking,
    /// Proving that the server's project folder is reachable here.
    CheckingSameMachine,
    /// Connected.
    Ready {
        /// The project folder to open.
        path: PathBuf,
    },
}

/// How the project was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fetched {
    /// The cache was current (one conditional request).
    UpToDate,
    /// A delta of this many bytes.
    Delta {
        /// Bytes downloaded.
        bytes: u64,
    },
    /// The whole archive.
    Full {
        /// Bytes downloaded.
        bytes: u64,
    },
    /// The cache was repaired from its own archive.
    Repaired,
    /// Development mode: the project folder is used directly.
    Direct,
    /// Offline: the last good cached version.
    Offline,
}

/// How the project is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The server's archive, read-only.
    Remote,
    /// The server's project folder, read/write (same machine or shared folder).
    Development,
    /// The last good cached version, read-only; the server could not be reached.
    Offline,
}

/// Copies the server's `Resources/` folder into a connection's system folder again (see
/// [`Connection::resources_updater`]).
#[derive(Debug, Clone)]
pub struct ResourcesUpdater {
    api: ApiClient,
    folder: SystemFolder,
}

impl ResourcesUpdater {
    /// Asks the server for its current `Resources/` and copies it when it changed. Returns
    /// whether anything changed.
    ///
    /// # Errors
    /// A [`ConnectError`] when the server cannot be asked or the copy fails; the previous
    /// copy then stays as it was.
    pub async fn update(
        &self,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<bool, ConnectError> {
        let info = self.api.info().await?;
        resources::sync(
            &self.api,
            &self.folder,
            crate::protocol::Related::Resources,
            info.resources,
            progress,
        )
        .await
    }
}

/// A connected (or offline) project.
#[derive(Debug)]
pub struct Connection {
    /// What the server said about itself (for offline: what the cache remembers).
    pub info: Option<ServerInfo>,
    /// host:port.
    pub address: String,
    /// The session (none offline).
    pub session: Option<SessionOpened>,
    /// API client with the session token (none offline).
    pub api: Option<ApiClient>,
    /// The system folder (held while connected).
    pub folder: SystemFolder,
    /// The project root to open (contains `Project/`).
    pub project_root: PathBuf,
    /// How it is opened.
    pub mode: Mode,
    /// How the project was obtained.
    pub fetched: Fetched,
    /// The link saved to Recent for this connection.
    pub link: Link,
    /// The display name (Recent entry name).
    pub name: String,
}

impl Connection {
    /// Before a process exits: after a delta, the new `project.4dz` is written in the
    /// background only when the deltas pending on the archive have grown large; this waits for
    /// that write. A small pending delta stays (the next delta is composed with it; see the
    /// cache's `pending` module).
    ///
    /// # Errors
    /// Why the archive could not be written; the next delta then downloads the whole archive.
    pub fn settle_archive(&self) -> Result<(), PendingDeltaError> {
        self.folder.settle_archive()
    }

    /// Writes the pending delta, if any, into the system folder's `project.4dz` now, so that
    /// the archive is exactly the current build.
    ///
    /// # Errors
    /// Why the archive could not be written; the next delta then downloads the whole archive.
    pub fn complete_archive(&self) -> Result<(), PendingDeltaError> {
        self.folder.complete_archive()
    }

    /// Copies the server's `Resources/` folder again if it changed (after a
    /// `resources-updated` event: 4D's "Update Resources folder during a session"). Returns
    /// whether anything changed; nothing to do in development mode or offline.
    ///
    /// # Errors
    /// A [`ConnectError`] when the server cannot be asked or the copy fails; the previous
    /// copy then stays as it was.
    pub async fn update_resources(
        &self,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<bool, ConnectError> {
        match self.resources_updater() {
            Some(u) => u.update(progress).await,
            None => Ok(false),
        }
    }

    /// What copies `Resources/` again during the session, apart from the connection (a UI
    /// runs it on its own task); `None` in development mode or offline.
    pub fn resources_updater(&self) -> Option<ResourcesUpdater> {
        let api = self.api.clone().filter(|_| self.mode == Mode::Remote)?;
        Some(ResourcesUpdater {
            api,
            folder: self.folder.clone(),
        })
    }

    /// The server's policy for a `resources-updated` event (4D's "Update Resources folder
    /// during a session"); `None` in development mode or offline, where nothing is copied.
    pub fn resources_update(&self) -> Option<crate::protocol::ResourcesUpdate> {
        self.info
            .as_ref()
            .filter(|_| self.mode == Mode::Remote && self.api.is_some())
            .map(|i| i.resources_update)
    }

    /// Closes the session (the server runs its close hook).
    pub async fn close(&self) {
        if let (Some(api), Some(s)) = (&self.api, &self.session) {
            let _ = api
                .send::<()>(
                    reqwest::Method::DELETE,
                    &crate::protocol::paths::session(&s.session.id),
                    None,
                )
                .await;
        }
    }
}
