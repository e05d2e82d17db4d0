//! Development-mode wire types.

use serde::{Deserialize, Serialize};

/// `POST /api/v1/devmode/proof` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProofRequest {
    /// The server's project root (absolute, on the server).
    pub project_root: String,
    /// Name of the file holding the secret, at that root.
    pub proof_file: String,
}

/// An edit lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// The file, relative to the project root (`Project/Sources/Methods/a.4dm`).
    pub path: String,
    /// Holder's session.
    pub session_id: String,
    /// Holder's user.
    pub user_name: String,
    /// Holder's machine.
    pub machine_name: String,
}

/// Files only the server writes.
pub const SERVER_WRITTEN: &[&str] = &[
    "Project/Sources/catalog.4DCatalog",
    "Settings/directory.json",
    "Data/Settings/directory.json",
];
