//! Why a connection failed, in plain words: what happened and what to do.

use std::path::PathBuf;

use super::api::RequestError;
use super::transport::{NotAServer, Transport};
use crate::cache::CacheError;
use crate::protocol::{ApiError, ErrorCode};

/// Why connecting (or getting the project) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// A local shortcut was given where a server was expected.
    #[error(
        "this shortcut opens a local project, not a remote one: open it with 4D, or give a server address"
    )]
    NotRemote,
    /// The shortcut or address lacks the project name.
    #[error(
        "the project's publication name is missing: give it with --project NAME (a .4DLink gives it in server_database_name)"
    )]
    NoProjectName,
    /// No server with that publication name answered on the network.
    #[error(
        "no server publishing \"{name}\" was found on the network within {seconds} s; check that it runs and publishes, or give its address"
    )]
    NotFound {
        /// The publication name.
        name: String,
        /// How long it was looked for.
        seconds: u64,
    },
    /// Servers cannot be looked for on this machine's network.
    #[error("cannot look for servers on the network; give the server's address instead")]
    Discovery(#[source] crate::discovery::DiscoveryError),
    /// Several servers publish the same name and none is pinned.
    #[error(
        "{count} servers publish \"{name}\" on this network; choose one by address (Remote4D never joins one silently)"
    )]
    Ambiguous {
        /// The publication name.
        name: String,
        /// How many.
        count: usize,
    },
    /// Nothing listens at that address (or a firewall drops it).
    #[error(
        "cannot reach {address}: {cause}. Check that the server runs, the address and the port (default 19813)"
    )]
    Unreachable {
        /// host:port.
        address: String,
        /// What the network said.
        cause: Transport,
    },
    /// Something answers, but not a Remote4D server.
    #[error("{address} is not a Remote4D server ({cause}); check the address and the port")]
    NotRemote4d {
        /// host:port.
        address: String,
        /// What was wrong.
        cause: NotAServer,
    },
    /// The server publishes another project than the one asked for.
    #[error(
        "the server at {address} publishes \"{found}\", not \"{expected}\"; check the address or the project name"
    )]
    WrongProject {
        /// host:port.
        address: String,
        /// Asked for.
        expected: String,
        /// Found.
        found: String,
    },
    /// First contact: the user must confirm the server's identity.
    #[error(
        "first connection to \"{name}\": confirm that its certificate fingerprint is {fingerprint} (compare with what the server printed at start), then connect again trusting it"
    )]
    NewIdentity {
        /// Publication name.
        name: String,
        /// The fingerprint presented.
        fingerprint: String,
        /// The server id it claims.
        server_id: String,
    },
    /// The server's identity is not the one trusted before.
    #[error(
        "the server's identity changed: trusted {expected}, presented {presented}. This happens when the server was reinstalled, or when someone impersonates it; connect only if its administrator confirms the new fingerprint"
    )]
    IdentityChanged {
        /// Fingerprint trusted before.
        expected: String,
        /// Fingerprint presented now.
        presented: String,
    },
    /// The server needs a user name and password.
    #[error("{0}")]
    Login(ApiError),
    /// The server's connection hook asks a question.
    #[error("the server asks: {prompt}")]
    Challenge {
        /// The challenge id.
        id: String,
        /// The question.
        prompt: String,
    },
    /// Refused by the server (its hook or its address rules), with its message.
    #[error("the server refused the connection: {0}")]
    Refused(String),
    /// The server stopped answering during the download, even after retries.
    #[error(
        "the server stopped answering during the download ({cause}); it resumes where it stopped when you connect again. The previous version of the project is still usable"
    )]
    DownloadInterrupted {
        /// What stopped the last attempt.
        cause: Interruption,
    },
    /// What the server sent did not pass verification.
    #[error(
        "the downloaded project did not pass verification; nothing was replaced. Connect again; if it persists the server's archive or the network is damaged"
    )]
    Damaged(#[source] Corruption),
    /// The disk is full.
    #[error("the disk is full at {}: free some space and connect again; the previous version of the project is intact", path.display())]
    DiskFull {
        /// Where.
        path: PathBuf,
    },
    /// A local file or folder could not be used.
    #[error("cannot use {}", path.display())]
    Io {
        /// Where.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The system folder (the cache) could not be used or changed; the previous project stays.
    #[error("the cached copy of the project cannot be updated")]
    Cache(#[source] CacheError),
    /// The server address given is not valid.
    #[error("the server address is not valid")]
    Address(#[source] crate::link::ServerPathError),
    /// The HTTPS client could not be set up on this machine.
    #[error("cannot set up a secure connection on this machine")]
    Setup(#[source] reqwest::Error),
    /// TLS could not be set up on this machine.
    #[error("cannot set up a secure connection on this machine")]
    Tls(#[source] rustls::Error),
    /// The server does not accept this client's version; maybe it offers a newer build.
    #[error("{message}")]
    ClientVersion {
        /// The server's message.
        message: String,
        /// The build it offers, and where to fetch it.
        update: Option<Box<super::update::OfferedUpdate>>,
    },
    /// Development mode is not possible for this connection.
    #[error("development mode is not possible: {0}")]
    Development(#[source] super::devmode::ProofError),
    /// Any other answer of the server.
    #[error("the server answered: {0}")]
    Api(ApiError),
}

impl ConnectError {
    /// A short, stable name of the kind of failure (for scripts and UIs).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotRemote => "not_remote",
            Self::NoProjectName => "no_project_name",
            Self::NotFound { .. } => "not_found",
            Self::Ambiguous { .. } => "ambiguous",
            Self::Discovery(_) => "discovery",
            Self::Unreachable { .. } => "unreachable",
            Self::NotRemote4d { .. } => "not_remote4d",
            Self::WrongProject { .. } => "wrong_project",
            Self::NewIdentity { .. } => "new_identity",
            Self::IdentityChanged { .. } => "identity_changed",
            Self::Login(_) => "login",
            Self::Challenge { .. } => "challenge",
            Self::Refused(_) => "refused",
            Self::DownloadInterrupted { .. } => "download_interrupted",
            Self::Damaged { .. } => "damaged",
            Self::DiskFull { .. } => "disk_full",
            Self::Io { .. } => "io",
            Self::Cache(_) => "cache",
            Self::Tls(_) | Self::Setup(_) => "tls",
            Self::Address(_) => "address",
            Self::ClientVersion { .. } => "client_version",
            Self::Development(_) => "development",
            Self::Api(_) => "api",
        }
    }

    /// True when the cached version may be opened offline instead.
    pub fn allows_offline(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. } | Self::DownloadInterrupted { .. }
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>, e: std::io::Error) -> Self {
        let path = path.into();
        if is_disk_full(&e) {
            Self::DiskFull { path }
        } else {
            Self::Io { path, source: e }
        }
    }
}

fn is_disk_full(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(28) || e.kind() == std::io::ErrorKind::StorageFull
}

/// What stopped an attempt to download the archive (the next attempt resumes).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Interruption {
    /// The connection was lost.
    #[error("{0}")]
    Lost(Transport),
    /// The request failed otherwise.
    #[error("{0}")]
    Request(Box<RequestError>),
    /// The server sent another range than the one asked for.
    #[error("the server answered another range than the one asked for")]
    WrongRange,
    /// The server sent more than the archive's size.
    #[error("the server sent more than the archive's size")]
    TooMuch,
    /// The connection ended before the end of the archive.
    #[error("the connection ended after {done} of {size} bytes")]
    EndedEarly {
        /// Bytes received.
        done: u64,
        /// The archive's size.
        size: u64,
    },
    /// The download did not have the announced SHA-256.
    #[error("the download did not pass verification")]
    FailedVerification,
}

impl From<RequestError> for Interruption {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Lost { cause, .. } => Self::Lost(cause),
            other => Self::Request(Box::new(other)),
        }
    }
}

/// What was wrong with what the server sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Corruption {
    /// Its SHA-256 is not the stamp announced.
    #[error("{what}'s SHA-256 is {got} instead of {expected}")]
    WrongStamp {
        /// What was checked.
        what: &'static str,
        /// The SHA-256 found (short form).
        got: String,
        /// The stamp announced (short form).
        expected: String,
    },
    /// It is larger than announced.
    #[error("{what} is larger than announced")]
    TooLarge {
        /// What was received.
        what: &'static str,
    },
    /// The server answered the download with an unexpected status.
    #[error("the server answered {status} to the download")]
    UnexpectedAnswer {
        /// The HTTP status.
        status: u16,
    },
    /// The archive, verified, is not a usable project archive.
    #[error("the archive is not a usable project archive")]
    Archive(#[source] crate::archive::ArchiveError),
}

impl From<RequestError> for ConnectError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Unreachable { address, cause } => Self::Unreachable { address, cause },
            RequestError::NotRemote4d { address, cause } => Self::NotRemote4d { address, cause },
            RequestError::IdentityMismatch {
                expected,
                presented,
                ..
            } => Self::IdentityChanged {
                expected,
                presented,
            },
            RequestError::Lost { cause, .. } => Self::DownloadInterrupted {
                cause: Interruption::Lost(cause),
            },
            RequestError::Tls(e) => Self::Tls(e),
            RequestError::Setup(e) => Self::Setup(e),
            RequestError::Address(e) => Self::Address(e),
            RequestError::Api(e) => match e.code {
                ErrorCode::WrongPassword
                | ErrorCode::TooManyAttempts
                | ErrorCode::ChallengeFailed => Self::Login(e),
                ErrorCode::Refused => Self::Refused(e.message),
                _ => Self::Api(e),
            },
        }
    }
}

impl From<CacheError> for ConnectError {
    fn from(e: CacheError) -> Self {
        if let Some((path, source)) = e.io_error()
            && is_disk_full(source)
        {
            return Self::DiskFull {
                path: path.to_path_buf(),
            };
        }
        match e {
            CacheError::Io { path, source }
            | CacheError::Archive(crate::archive::ArchiveError::Io { path, source }) => {
                Self::Io { path, source }
            }
            CacheError::Archive(source) => Self::Damaged(Corruption::Archive(source)),
            other => Self::Cache(other),
        }
    }
}
