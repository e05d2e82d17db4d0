//! The wire protocol shared by the server and the client: HTTPS + JSON under `/api/v1/`,
//! server-sent events for a session's events. See `docs/protocol.md`.

mod devmode;
mod error;
mod event;
mod mirror;
mod related;
mod session;
mod update;

use serde::{Deserialize, Serialize};

mod fingerprint;
pub mod paths;

pub use devmode::{LockInfo, ProofAnswer, ProofFile, ProofRequest, SERVER_WRITTEN, proof_answer};
pub use error::{ApiError, ErrorBody, ErrorCode};
pub use event::{SessionEvent, SseDecoder, encode_sse};
pub use fingerprint::{BadFingerprint, Fingerprint};
pub use mirror::{BadMirror, Mirror};
pub use related::Related;
pub use session::{
    Challenge, ChallengeAnswer, HostType, OpenSession, OpenSessionResponse, ResumeSession,
    SessionInfo, SessionOpened, SessionState,
};
pub use update::{UpdateOffer, compare_versions, in_range};

use crate::archive::{BuildReport, Method, Stamp};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The DNS-SD service type servers publish.
pub const SERVICE_TYPE: &str = "_remote4d._tcp.local.";

/// Prefix of every API path.
pub const API: &str = "/api/v1";

/// `GET /api/v1/info`: what a server says about itself (no authentication needed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Always `"Remote4D"`: tells a Remote4D server from anything else on the port.
    pub product: String,
    /// Protocol version.
    pub protocol_version: u32,
    /// The server program's version.
    pub server_version: String,
    /// A stable id of this server (kept across restarts).
    pub server_id: String,
    /// Publication name (settings, else the project name).
    pub publication_name: String,
    /// Project name (the `.4DProject` file name).
    pub project_name: String,
    /// Current project stamp.
    pub stamp: Stamp,
    /// Size of the current archive.
    pub archive_size: u64,
    /// SHA-256 fingerprint of the server certificate (`AB:CD:...`).
    pub fingerprint: String,
    /// True when users must log in (the project has users with passwords).
    pub login_required: bool,
    /// The server machine's host name.
    pub host_name: String,
    /// The project's `Resources/` folder, which clients keep beside the project (absent when
    /// the project has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesInfo>,
    /// The project's `Components/`, `Plugins/` and `Libraries/` folders that exist, which
    /// remote clients keep beside the project too (`Resources/` is in `resources`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub folders: std::collections::BTreeMap<Related, ResourcesInfo>,
    /// When clients copy `Resources/` again during a session (4D's "Update Resources folder
    /// during a session").
    #[serde(default)]
    pub resources_update: ResourcesUpdate,
    /// Where clients may fetch stamped archives and deltas first (caching proxies, copies),
    /// every byte checked against the stamps given here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mirrors: Vec<Mirror>,
}

impl ServerInfo {
    /// The archive of `folder` the server offers (`None`: the project has no such folder).
    pub fn offered(&self, folder: Related) -> Option<ResourcesInfo> {
        match folder {
            Related::Resources => self.resources,
            other => self.folders.get(&other).copied(),
        }
    }
}

/// When a connected client copies the project's `Resources/` folder again after the server
/// said it changed: 4D's "Update Resources folder during a session". A new connection always
/// copies it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourcesUpdate {
    /// Not during the session: at the next connection.
    Never,
    /// At once (4D's default).
    #[default]
    Always,
    /// The user is asked (the command line follows its `--resources-update` flag).
    Ask,
}

/// The current archive of one of the project's [`Related`] folders
/// (`GET /api/v1/project/resources`, `GET /api/v1/project/folders/{name}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourcesInfo {
    /// SHA-256 of the archive.
    pub stamp: Stamp,
    /// Its size in bytes.
    pub size: u64,
}

/// The product name in [`ServerInfo::product`].
pub const PRODUCT: &str = "Remote4D";

/// `GET /api/v1/project/manifest`: the entries of the current archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Stamp of the archive described.
    pub stamp: Stamp,
    /// Its size.
    pub archive_size: u64,
    /// Its entries, in archive order.
    pub entries: Vec<ManifestEntry>,
}

/// One entry of a [`Manifest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Entry name.
    pub name: String,
    /// Uncompressed size.
    pub size: u64,
    /// CRC-32.
    pub crc32: u32,
    /// Compression method.
    pub method: Method,
    /// Compressed size.
    pub compressed_size: u64,
}

impl Manifest {
    /// The manifest of a build.
    pub fn of(report: &BuildReport) -> Self {
        Self {
            stamp: report.stamp,
            archive_size: report.archive_size,
            entries: report
                .entries
                .iter()
                .map(|e| ManifestEntry {
                    name: e.name.clone(),
                    size: e.size,
                    crc32: e.crc32,
                    method: e.method,
                    compressed_size: e.compressed_size,
                })
                .collect(),
        }
    }
}

/// `POST /api/v1/project/reload` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadResult {
    /// The stamp after the reload.
    pub stamp: Stamp,
    /// False when the project had not changed.
    pub changed: bool,
    /// Milliseconds the build took.
    pub build_ms: u64,
}

/// `POST /api/v1/project/reload` without `wait`: `202`, the rebuild started from this stamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadStarted {
    /// The stamp being served while the project is rebuilt.
    pub stamp: Stamp,
}

/// Formats a SHA-256 digest as `AB:CD:...`.
pub fn format_fingerprint(digest: &[u8]) -> String {
    digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Normalises a fingerprint typed or stored in any form (case, colons, spaces) for comparison.
pub fn normalize_fingerprint(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}
