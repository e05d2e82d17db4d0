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

/// What the server writes in the proof file: a secret, and the fingerprint of the server that
/// wrote it. The client answers only a server presenting that very fingerprint, and with
/// [`proof_answer`], which binds the secret to the identity it sees: a hostile server relaying
/// a real server's proof to a client on that machine gets nothing it can replay.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProofFile {
    /// The random secret.
    pub secret: String,
    /// The certificate fingerprint of the server that wrote the file.
    pub fingerprint: String,
}

/// `POST /api/v1/devmode/confirm` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProofAnswer {
    /// [`proof_answer`] of the secret and the fingerprint the client sees.
    pub answer: String,
}

/// The answer to a proof: SHA-256 of the secret and the server fingerprint (normalised), in hex.
pub fn proof_answer(secret: &str, fingerprint: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"remote4d-devmode-proof\n");
    h.update(secret.as_bytes());
    h.update(b"\n");
    h.update(super::normalize_fingerprint(fingerprint).as_bytes());
    hex::encode(h.finalize())
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
