//! The server's configuration: a TOML file and command-line flags.
//!
//! ```toml
//! port = 19813                  # else the project's publication port, else 19813
//! bind = ["0.0.0.0"]            # default: every address, IPv6 and IPv4
//! publish = true                # DNS-SD publication (4D's "Publish database at startup")
//! inactivity_timeout_secs = 3600  # end sessions with no connection idle this long (0 = 48 h);
//!                               # default: the project's connections timeout, else 3600
//! resume_grace_secs = 300       # a lost client may resume its session this long (48 h at most)
//! resources_update = "always"   # "Update Resources folder during a session": never, always, ask
//!
//! [limits]                      # what clients can make the server spend
//! max_sessions = 10000          # at the limit, the longest idle session without a connection ends
//! session_storage_bytes = 262144          # one session's storage, as JSON
//! session_storage_total_bytes = 67108864  # all sessions' storage together
//! max_connections = 4096        # open connections in all
//! max_connections_per_address = 512
//! request_header_secs = 20      # a request's headers must arrive within this (slow-loris)
//! connection_idle_secs = 60     # a connection with no byte either way for this long is closed
//!
//! [hooks]
//! open_connection = ["/path/to/on-open", "--flag"]
//! close_connection = ["/path/to/on-close"]
//! timeout_secs = 10
//!
//! [[access]]                    # first match wins; no match = refused (when rules exist)
//! allow = "192.168.1.*"
//! [[access]]
//! deny = "*"
//!
//! [[mirror]]                    # caching proxies / copies clients fetch archives from first
//! url = "https://cache.site-b.example:8443"
//! subnets = ["10.2.0.0/16"]     # clients in these networks try it before the others
//!
//! [login]
//! max_failures = 5              # per address (IPv6: per /64 network), within window_secs
//! max_failures_per_user = 10    # per user name, from any address, within window_secs
//! window_secs = 60
//! ```

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Everything the server can be configured with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// TCP port (default: the project's publication port, else 19813).
    pub port: Option<u16>,
    /// Addresses to listen on (default: all, IPv6 and IPv4).
    pub bind: Vec<IpAddr>,
    /// Publish on the network with DNS-SD.
    pub publish: bool,
    /// Overrides the publication name.
    pub publication_name: Option<String>,
    /// Where the server keeps its identity and builds (default: the platform data folder).
    pub data_dir: Option<PathBuf>,
    /// Seconds a session without a live connection (no event stream, no request) lives
    /// (0 = as long as 4D keeps a sleeping session, 48 h; never longer). Default: the project's
    /// "Client-Server Connections Timeout" (`settings.4DSettings`), else
    /// [`DEFAULT_INACTIVITY_TIMEOUT_SECS`].
    pub inactivity_timeout_secs: Option<u64>,
    /// Seconds a client that lost its connection may resume its session (48 h at most).
    pub resume_grace_secs: u64,
    /// When connected clients copy `Resources/` again after it changed (4D's "Update
    /// Resources folder during a session"; a new connection always copies it).
    pub resources_update: crate::protocol::ResourcesUpdate,
    /// Only clients carrying this pairing text connect (4D's `HardLink` of Build Application;
    /// the project's Designer and Administrator, logged in with their password, always may).
    pub hard_link: Option<String>,
    /// What clients can make the server spend.
    pub limits: Limits,
    /// Seconds between heartbeats on event streams.
    pub heartbeat_secs: u64,
    /// Previous builds kept for deltas and resumed downloads.
    pub keep_builds: usize,
    /// Rebuild automatically when the project changes.
    pub watch: bool,
    /// Quiet time before a change triggers a rebuild, in milliseconds.
    pub debounce_ms: u64,
    /// Connection hooks.
    pub hooks: HooksConfig,
    /// IP allow/deny rules, first match wins.
    pub access: Vec<AccessRule>,
    /// Login throttling.
    pub login: LoginConfig,
    /// The client versions accepted, and the newer client build offered.
    pub client_update: Option<ClientUpdateConfig>,
    /// Mirrors (`[[mirror]]`): caching proxies or copies serving this server's paths, where
    /// clients fetch stamped archives and deltas first, verifying every byte.
    #[serde(rename = "mirror")]
    pub mirrors: Vec<crate::protocol::Mirror>,
}

/// Seconds a session without a live connection lives when neither the configuration nor the
/// project says.
pub const DEFAULT_INACTIVITY_TIMEOUT_SECS: u64 = 3600;

/// Client versions (4D's `RangeVersMin`/`RangeVersMax`) and the build offered to older clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientUpdateConfig {
    /// Oldest client version accepted.
    pub min_version: Option<String>,
    /// Newest client version accepted.
    pub max_version: Option<String>,
    /// Version of `build`.
    pub version: String,
    /// The client executable offered.
    pub build: PathBuf,
    /// Its signature, made with the key of `remote4d build client` (default: `<build>.sig`).
    /// Clients install nothing unsigned.
    pub signature: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            port: None,
            bind: Vec::new(),
            publish: true,
            publication_name: None,
            data_dir: None,
            inactivity_timeout_secs: None,
            resume_grace_secs: 300,
            resources_update: crate::protocol::ResourcesUpdate::Always,
            hard_link: None,
            limits: Limits::default(),
            heartbeat_secs: 15,
            keep_builds: 8,
            watch: true,
            debounce_ms: 300,
            hooks: HooksConfig::default(),
            access: Vec::new(),
            login: LoginConfig::default(),
            client_update: None,
            mirrors: Vec::new(),
        }
    }
}

/// Limits on what clients can make the server spend (memory, connections).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Sessions held at most; at the limit the longest idle one without a connection ends, and
    /// when all are live a new one is refused (busy).
    pub max_sessions: usize,
    /// Largest storage of one session, as JSON bytes.
    pub session_storage_bytes: usize,
    /// Largest storage of all sessions together.
    pub session_storage_total_bytes: usize,
    /// Open connections at most (further ones are closed at once).
    pub max_connections: usize,
    /// Open connections from one address at most (IPv6: one /64 network).
    pub max_connections_per_address: usize,
    /// Seconds a connection may wait for the headers of a request (its first one included).
    pub request_header_secs: u64,
    /// Seconds a connection may go without a byte either way once used (event streams send a
    /// heartbeat every `heartbeat_secs`; never less than three of them).
    pub connection_idle_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_sessions: super::sessions::DEFAULT_MAX_SESSIONS,
            session_storage_bytes: 256 << 10,
            session_storage_total_bytes: 64 << 20,
            max_connections: 4096,
            max_connections_per_address: 512,
            request_header_secs: 20,
            connection_idle_secs: 60,
        }
    }
}

/// The equivalents of On Server Open / Close Connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HooksConfig {
    /// Program and arguments run when a client connects.
    pub open_connection: Option<Vec<String>>,
    /// Program and arguments run when a session ends.
    pub close_connection: Option<Vec<String>>,
    /// Seconds a hook may run before it is killed (and the connection refused).
    pub timeout_secs: u64,
}

impl Default for HooksConfig {
    fn default() -> Self {
        Self {
            open_connection: None,
            close_connection: None,
            timeout_secs: 10,
        }
    }
}

/// One IP rule: `allow` or `deny` a pattern (`*` matches any rest, as in 4D).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRule {
    /// Addresses allowed.
    pub allow: Option<String>,
    /// Addresses refused.
    pub deny: Option<String>,
}

/// Failed-login throttling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoginConfig {
    /// Failures allowed per address (IPv6: per /64 network) within the window.
    pub max_failures: u32,
    /// Failures allowed per user name, from any address, within the window.
    pub max_failures_per_user: u32,
    /// The window, in seconds.
    pub window_secs: u64,
}

impl Default for LoginConfig {
    fn default() -> Self {
        Self {
            max_failures: 5,
            max_failures_per_user: 10,
            window_secs: 60,
        }
    }
}

/// The configuration file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// It could not be read.
    #[error("cannot read the server configuration {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// It is not valid.
    #[error("the server configuration {} is invalid: {source}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (with line and column).
        #[source]
        source: toml::de::Error,
    },
    /// A mirror is described wrongly.
    #[error("the server configuration names a wrong mirror: {0}")]
    Mirror(#[from] crate::protocol::BadMirror),
}

impl ServerConfig {
    /// Reads a TOML configuration file.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file and the problem.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Invalid {
            path: path.to_path_buf(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let c: ServerConfig = toml::from_str(
            r#"
port = 20000
publish = false
inactivity_timeout_secs = 600
[hooks]
open_connection = ["/bin/true"]
timeout_secs = 3
[[access]]
allow = "192.168.1.*"
[[access]]
deny = "*"
[login]
max_failures = 3
[limits]
max_connections_per_address = 20
"#,
        )
        .unwrap();
        assert_eq!(c.port, Some(20000));
        assert!(!c.publish);
        assert_eq!(
            c.hooks.open_connection.as_deref(),
            Some(&["/bin/true".to_owned()][..])
        );
        assert_eq!(c.access.len(), 2);
        assert_eq!(c.login.max_failures, 3);
        assert_eq!(c.login.window_secs, 60);
        assert_eq!(c.resume_grace_secs, 300);
        assert_eq!(c.limits.max_connections_per_address, 20);
        assert_eq!(c.limits.max_sessions, 10_000);
        let err = toml::from_str::<ServerConfig>("prot = 1").unwrap_err();
        assert!(err.to_string().contains("prot"), "{err}");
    }

    #[test]
    fn the_shipped_example_and_the_resources_policy_parse() {
        let c: ServerConfig =
            toml::from_str(include_str!("../../../resources/systemd/server.toml")).unwrap();
        assert_eq!(c.resources_update, crate::protocol::ResourcesUpdate::Always);
        for (text, policy) in [
            ("never", crate::protocol::ResourcesUpdate::Never),
            ("ask", crate::protocol::ResourcesUpdate::Ask),
        ] {
            let c: ServerConfig =
                toml::from_str(&format!("resources_update = \"{text}\"")).unwrap();
            assert_eq!(c.resources_update, policy);
        }
        let err = toml::from_str::<ServerConfig>("resources_update = \"sometimes\"").unwrap_err();
        assert!(err.to_string().contains("sometimes"), "{err}");
    }
}
