//! What a client remembers about a server in its system folder (`state.json`).

use serde::{Deserialize, Serialize};

use crate::archive::Stamp;

/// What a client remembers about a server in its system folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FolderState {
    /// Stamp of the build in `Project/` (and `project.4dz`, or with a pending delta on it).
    pub stamp: Option<Stamp>,
    /// Pinned SHA-256 certificate fingerprint of the server.
    pub fingerprint: Option<String>,
    /// The server's id.
    pub server_id: Option<String>,
    /// Publication name of the server.
    pub publication_name: Option<String>,
    /// Address last used (`host:port`).
    pub address: Option<String>,
    /// Last successful connection, ms since the epoch.
    pub last_connection_ms: Option<u64>,
    /// Stamp of the server's `Resources/` folder copied into `Resources/`.
    pub resources_stamp: Option<Stamp>,
}
