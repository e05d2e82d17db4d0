//! Every path of the API (version 1), used by the server's router and by the client alike, and
//! the small request bodies without a better home. See `docs/protocol.md`.

use serde::{Deserialize, Serialize};

use crate::archive::Stamp;
use crate::protocol::SessionInfo;

/// `GET`: what the server says about itself.
pub const INFO: &str = "/api/v1/info";
/// `POST`: open (or resume) a session.
pub const SESSIONS: &str = "/api/v1/sessions";
/// Router pattern of one session (`GET` its info, `DELETE` it).
pub const SESSION: &str = "/api/v1/sessions/{id}";
/// Router pattern of a session's events (`GET`, server-sent events).
pub const SESSION_EVENTS: &str = "/api/v1/sessions/{id}/events";
/// Router pattern of a session's storage (`GET`, `PUT`, `PATCH`).
pub const SESSION_STORAGE: &str = "/api/v1/sessions/{id}/storage";
/// `GET`: the current project archive (`?stamp=` for a given build).
pub const ARCHIVE: &str = "/api/v1/project/archive";
/// `GET`: the entries of the archive.
pub const MANIFEST: &str = "/api/v1/project/manifest";
/// `GET`: the archive of the project's `Resources/`.
pub const RESOURCES: &str = "/api/v1/project/resources";
/// Router pattern of the archive of `Components/`, `Plugins/` or `Libraries/` (`GET`).
pub const FOLDER: &str = "/api/v1/project/folders/{name}";
/// `GET`: a delta (`?from=STAMP`).
pub const DELTA: &str = "/api/v1/project/delta";
/// `GET`: `204` when the request may read the project's archives (a cache's `auth_request`).
pub const ACCESS: &str = "/api/v1/project/access";
/// `GET`: a delta of the `Resources/` archive (`?from=STAMP`).
pub const RESOURCES_DELTA: &str = "/api/v1/project/resources/delta";
/// Router pattern of a delta of the archive of `Components/`, `Plugins/` or `Libraries/`
/// (`GET`, `?from=STAMP`).
pub const FOLDER_DELTA: &str = "/api/v1/project/folders/{name}/delta";
/// `POST`: rebuild now (`?wait=true` answers when it is ready).
pub const RELOAD: &str = "/api/v1/project/reload";
/// `POST`: ask for a same-folder proof.
pub const DEVMODE_PROOF: &str = "/api/v1/devmode/proof";
/// `POST`: answer the proof.
pub const DEVMODE_CONFIRM: &str = "/api/v1/devmode/confirm";
/// `GET` the edit locks, `POST` take one, `DELETE` release one ([`LockRequest`]).
pub const DEVMODE_LOCKS: &str = "/api/v1/devmode/locks";
/// `PUT`: a file only the server writes (`?path=`).
pub const DEVMODE_FILE: &str = "/api/v1/devmode/file";
/// `GET`: the client build offered.
pub const CLIENT_UPDATE: &str = "/api/v1/client/update";
/// `GET`: the offered build's bytes (`?sha256=`: that build only, immutable: caches keep it).
pub const CLIENT_UPDATE_BINARY: &str = "/api/v1/client/update/binary";
/// `GET`: `204` when the request may fetch the offered build (a cache's `auth_request`).
pub const CLIENT_UPDATE_ACCESS: &str = "/api/v1/client/update/access";
/// `GET`: every session (administration).
pub const ADMIN_SESSIONS: &str = "/api/v1/admin/sessions";
/// `POST` [`MessageRequest`] (administration).
pub const ADMIN_MESSAGE: &str = "/api/v1/admin/message";
/// `POST` [`DropRequest`] (administration).
pub const ADMIN_DROP: &str = "/api/v1/admin/drop";
/// `POST` [`ShutdownRequest`] (administration).
pub const ADMIN_SHUTDOWN: &str = "/api/v1/admin/shutdown";
/// `GET`: the server's [`AdminStatus`] (administration).
pub const ADMIN_STATUS: &str = "/api/v1/admin/status";
/// `POST` [`AcceptRequest`]: accept or reject new connections (administration).
pub const ADMIN_ACCEPT: &str = "/api/v1/admin/accept";
/// `POST` [`PublishRequest`]: announce the server on the network or stop (administration).
pub const ADMIN_PUBLISH: &str = "/api/v1/admin/publish";
/// `GET ?after=N`: the [`ActivityEntry`]s after number N (administration).
pub const ADMIN_ACTIVITY: &str = "/api/v1/admin/activity";
/// `GET ?after=N`: the server log's [`LogLine`]s after number N (administration).
pub const ADMIN_LOG: &str = "/api/v1/admin/log";
/// `GET`: the builds kept, newest first, as [`BuildRecord`]s (administration).
pub const ADMIN_BUILDS: &str = "/api/v1/admin/builds";
/// `POST`: stop and start again, reading the project and configuration anew (administration).
pub const ADMIN_RESTART: &str = "/api/v1/admin/restart";

/// One session's path.
pub fn session(id: &str) -> String {
    SESSION.replace("{id}", id)
}

/// One session's event stream.
pub fn session_events(id: &str) -> String {
    SESSION_EVENTS.replace("{id}", id)
}

/// One session's storage.
pub fn session_storage(id: &str) -> String {
    SESSION_STORAGE.replace("{id}", id)
}

/// The archive of build `stamp`.
pub fn archive_of(stamp: &Stamp) -> String {
    format!("{ARCHIVE}?stamp={stamp}")
}

/// The Resources archive of build `stamp`.
pub fn resources_of(stamp: &Stamp) -> String {
    format!("{RESOURCES}?stamp={stamp}")
}

/// The archive of `folder` in build `stamp` (`Resources/`: [`resources_of`]).
pub fn folder_of(folder: super::Related, stamp: &Stamp) -> String {
    match folder {
        super::Related::Resources => resources_of(stamp),
        other => format!(
            "{}/project/folders/{}?stamp={stamp}",
            super::API,
            other.key()
        ),
    }
}

/// The offered client build whose SHA-256 is `sha256` (`404` once another is offered): an
/// address that never changes meaning, which caches and mirrors can keep.
pub fn client_update_binary(sha256: &Stamp) -> String {
    format!("{CLIENT_UPDATE_BINARY}?sha256={sha256}")
}

/// The delta from build `from` to the current one.
pub fn delta_from(from: &Stamp) -> String {
    format!("{DELTA}?from={from}")
}

/// The delta from build `from` to build `to` (`410` once `to` is not current): an address that
/// never changes meaning, which caches and mirrors can keep.
pub fn delta_between(from: &Stamp, to: &Stamp) -> String {
    format!("{DELTA}?from={from}&to={to}")
}

/// The delta from the archive of `folder` in build `from` to build `to`.
pub fn folder_delta_from(folder: super::Related, from: &Stamp, to: &Stamp) -> String {
    match folder {
        super::Related::Resources => format!("{RESOURCES_DELTA}?from={from}&to={to}"),
        other => format!(
            "{}/project/folders/{}/delta?from={from}&to={to}",
            super::API,
            other.key()
        ),
    }
}

/// Rebuild, answering when the new archive is ready.
pub fn reload_and_wait() -> String {
    format!("{RELOAD}?wait=true")
}

/// A file only the server writes (project-relative, `/`-separated).
pub fn devmode_file(path: &str) -> String {
    let encoded: String = path
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("{DEVMODE_FILE}?path={encoded}")
}

/// An edit lock to take or release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRequest {
    /// The file, relative to the project root.
    pub path: String,
}

/// A message from the administrator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRequest {
    /// The text.
    pub text: String,
    /// One session (with `session_ids`: these sessions; neither: every session).
    #[serde(default)]
    pub session_id: Option<String>,
    /// Several sessions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub session_ids: Vec<String>,
}

/// Ending a session (administration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropRequest {
    /// The session.
    pub session_id: String,
    /// Why (shown to its user).
    #[serde(default)]
    pub reason: Option<String>,
    /// Seconds before it ends (0: now); its user is told at once.
    #[serde(default)]
    pub in_seconds: u64,
}

/// Publishing on the network (DNS-SD) or not; the server stays reachable by its address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishRequest {
    /// True: announce it; false: withdraw the announcement (goodbye packets).
    pub publish: bool,
}

/// What an activity event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// A session opened, resumed or ended.
    Session,
    /// A connection or login refused.
    Refused,
    /// The project rebuilt (or not, with the reason).
    Reload,
    /// What an administrator did.
    Admin,
    /// Something failed.
    Error,
}

/// One event of the server's activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityEntry {
    /// Its number (ask for the events after it).
    pub seq: u64,
    /// When (ms since the epoch).
    pub at_ms: u64,
    /// What it is about.
    pub kind: ActivityKind,
    /// What happened, as a sentence.
    pub text: String,
}

/// Accepting new connections or not (existing sessions stay either way).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptRequest {
    /// True: accept; false: refuse new sessions but the Designer's and the Administrator's.
    pub accept: bool,
}

/// The server as its administrator watches it (4D Server's Monitor and Application Server pages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminStatus {
    /// The server's version.
    pub server_version: String,
    /// Its publication name.
    pub publication_name: String,
    /// Its port.
    pub port: u16,
    /// Its certificate's fingerprint.
    pub fingerprint: String,
    /// The current archive's stamp.
    pub stamp: String,
    /// The current archive's size in bytes.
    pub archive_size: u64,
    /// Seconds since it started.
    pub uptime_secs: u64,
    /// Client sessions now (the virtual `storedProcedure` one not counted).
    pub sessions: usize,
    /// The most client sessions at once since it started.
    pub peak_sessions: usize,
    /// Whether new connections are accepted.
    pub accepting: bool,
    /// Whether it is announced on the network.
    #[serde(default)]
    pub published: bool,
    /// The addresses it listens on (`ip:port`).
    #[serde(default)]
    pub addresses: Vec<String>,
    /// Bytes received since it started, on every connection (TLS included).
    #[serde(default)]
    pub bytes_in: u64,
    /// Bytes sent since it started.
    #[serde(default)]
    pub bytes_out: u64,
    /// Whole archives served since it started.
    #[serde(default)]
    pub archives_served: u64,
    /// Deltas served since it started.
    #[serde(default)]
    pub deltas_served: u64,
    /// Bytes of the project's archive answered since it started, whole or in ranges (what the
    /// caches in front of it cost it).
    #[serde(default)]
    pub archive_bytes_served: u64,
    /// Bytes of the offered client build answered since it started, whole or in ranges (one
    /// download per cache when the clients update through caches).
    #[serde(default)]
    pub update_bytes_served: u64,
    /// CPU time the server process used, in milliseconds (none where not known).
    #[serde(default)]
    pub cpu_ms: Option<u64>,
    /// Memory the server process holds, in bytes (none where not known).
    #[serde(default)]
    pub memory_bytes: Option<u64>,
    /// The last reload that ran.
    #[serde(default)]
    pub last_reload: Option<LastReload>,
    /// The client versions accepted (`[client_update]` of the configuration); none: any.
    #[serde(default)]
    pub client_versions: Option<VersionRange>,
    /// The client version offered as an update, if any.
    #[serde(default)]
    pub update_offered: Option<String>,
}

/// A reload that ran (RELOAD PROJECT, the watcher, the window coming to the front).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastReload {
    /// When it ended (ms since the epoch).
    pub at_ms: u64,
    /// How long it took.
    pub millis: u64,
    /// Whether the project had changed.
    pub changed: bool,
    /// The stamp after it.
    pub stamp: String,
    /// Why it failed, when it did (the previous archive stayed).
    #[serde(default)]
    pub error: Option<String>,
}

/// The client versions a server accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRange {
    /// The oldest accepted, if any.
    pub min: Option<String>,
    /// The newest accepted, if any.
    pub max: Option<String>,
}

/// A build the server keeps (4D Server's build history, with what a client needs from it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildRecord {
    /// Its stamp.
    pub stamp: String,
    /// When it was built (ms since the epoch).
    pub built_at_ms: u64,
    /// Its archive's size.
    pub archive_size: u64,
    /// Files in it.
    pub files: usize,
    /// Files added, changed or removed since the build before it (none for the oldest kept).
    #[serde(default)]
    pub changed_files: Option<usize>,
    /// True for the build clients download now.
    pub current: bool,
    /// The size of the delta from it to the current build, once a client asked for it.
    #[serde(default)]
    pub delta_size: Option<u64>,
}

/// How serious a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// Details.
    Debug,
    /// What happened.
    Info,
    /// Something to look at.
    Warn,
    /// Something failed.
    Error,
}

/// One line of the server's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// Its number (ask for the lines after it).
    pub seq: u64,
    /// When (ms since the epoch).
    pub at_ms: u64,
    /// How serious.
    pub level: LogLevel,
    /// Where it comes from (`remote4d::audit` for what administrators did).
    pub target: String,
    /// The message and its fields.
    pub text: String,
}

/// One session as the administration lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminSession {
    /// Its description.
    pub info: SessionInfo,
    /// Its storage (none for the virtual `storedProcedure` session).
    #[serde(default)]
    pub storage: Option<serde_json::Value>,
    /// True for a development-mode session (on the server's machine).
    #[serde(default)]
    pub development: bool,
    /// Seconds since the client was last heard from.
    #[serde(default)]
    pub idle_secs: u64,
    /// The files it holds for editing (development mode).
    #[serde(default)]
    pub locks: Vec<String>,
}

/// Stopping the server after a countdown (administration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShutdownRequest {
    /// Seconds before it stops.
    #[serde(default)]
    pub in_seconds: u64,
    /// Shown to every client.
    #[serde(default)]
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_built_from_the_router_patterns() {
        assert_eq!(session("abc"), "/api/v1/sessions/abc");
        assert_eq!(session_events("abc"), "/api/v1/sessions/abc/events");
        assert_eq!(session_storage("abc"), "/api/v1/sessions/abc/storage");
        assert_eq!(
            devmode_file("Settings/directory json"),
            "/api/v1/devmode/file?path=Settings/directory%20json"
        );
        let s = Stamp::of_bytes(b"x");
        assert_eq!(delta_from(&s), format!("/api/v1/project/delta?from={s}"));
        assert_eq!(
            client_update_binary(&s),
            format!("/api/v1/client/update/binary?sha256={s}")
        );
        assert!(reload_and_wait().ends_with("?wait=true"));
        for p in [INFO, SESSIONS, ARCHIVE, RELOAD, ADMIN_DROP, CLIENT_UPDATE] {
            assert!(p.starts_with(super::super::API), "{p}");
        }
    }
}
