//! What a client remembers about a server in its system folder (`state.json`).

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::archive::Stamp;
use crate::protocol::Related;

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
    /// Stamps of the server's `Components/`, `Plugins/`, `Libraries/` copied beside them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub folders: BTreeMap<Related, Stamp>,
}

impl FolderState {
    /// The stamp of the copy of `folder` installed, if any.
    pub fn related_stamp(&self, folder: Related) -> Option<Stamp> {
        match folder {
            Related::Resources => self.resources_stamp,
            other => self.folders.get(&other).copied(),
        }
    }

    /// Records the copy of `folder` installed (`None`: none).
    pub fn set_related_stamp(&mut self, folder: Related, stamp: Option<Stamp>) {
        match (folder, stamp) {
            (Related::Resources, s) => self.resources_stamp = s,
            (other, Some(s)) => {
                self.folders.insert(other, s);
            }
            (other, None) => {
                self.folders.remove(&other);
            }
        }
    }
}
