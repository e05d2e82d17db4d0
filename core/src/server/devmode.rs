//! Development mode, server side: same-folder proofs, development sessions, per-file edit locks.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::protocol::LockInfo;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How long a proof file waits for its answer.
pub const PROOF_LIFETIME: Duration = Duration::from_secs(60);

/// A proof waiting for its answer.
#[derive(Debug)]
struct Proof {
    file: PathBuf,
    secret: String,
    expires: Instant,
}

/// Proofs, development sessions and edit locks.
#[derive(Debug, Default)]
pub struct DevState {
    proofs: Mutex<HashMap<String, Proof>>,
    sessions: Mutex<HashSet<String>>,
    locks: Mutex<HashMap<String, LockInfo>>,
}

/// Someone else holds the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held(pub LockInfo);

impl DevState {
    /// Records a proof for `session` (its file already written).
    pub fn add_proof(&self, session: &str, file: PathBuf, secret: String) {
        if let Some(old) = lock(&self.proofs).insert(
            session.to_owned(),
            Proof {
                file,
                secret,
                expires: Instant::now() + PROOF_LIFETIME,
            },
        ) {
            let _ = std::fs::remove_file(old.file);
        }
    }

    /// Checks the answer (`secret` is the answer expected, see [`crate::protocol::proof_answer`]);
    /// on success the session is a development session. The proof file is removed either way.
    pub fn confirm(&self, session: &str, secret: &str) -> bool {
        let Some(proof) = lock(&self.proofs).remove(session) else {
            return false;
        };
        let _ = std::fs::remove_file(&proof.file);
        let ok = proof.expires > Instant::now()
            && crate::server::sessions::same_secret(&proof.secret, secret);
        if ok {
            lock(&self.sessions).insert(session.to_owned());
        }
        ok
    }

    /// True for a development session.
    pub fn is_development(&self, session: &str) -> bool {
        lock(&self.sessions).contains(session)
    }

    /// Takes the lock of `path` for `holder` (again if it already holds it).
    ///
    /// # Errors
    /// [`Held`] with the holder when another session has it.
    pub fn acquire(&self, holder: LockInfo) -> Result<(), Held> {
        let mut locks = lock(&self.locks);
        match locks.get(&holder.path) {
            Some(other) if other.session_id != holder.session_id => Err(Held(other.clone())),
            _ => {
                locks.insert(holder.path.clone(), holder);
                Ok(())
            }
        }
    }

    /// Releases `path` if `session` holds it.
    pub fn release(&self, session: &str, path: &str) -> bool {
        let mut locks = lock(&self.locks);
        if locks.get(path).is_some_and(|l| l.session_id == session) {
            locks.remove(path);
            true
        } else {
            false
        }
    }

    /// Every lock.
    pub fn locks(&self) -> Vec<LockInfo> {
        let mut v: Vec<LockInfo> = lock(&self.locks).values().cloned().collect();
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v
    }

    /// Forgets a session: its locks, its proof, its development flag.
    pub fn forget(&self, session: &str) {
        lock(&self.locks).retain(|_, l| l.session_id != session);
        lock(&self.sessions).remove(session);
        if let Some(p) = lock(&self.proofs).remove(session) {
            let _ = std::fs::remove_file(p.file);
        }
    }

    /// Removes expired proofs (and their files).
    pub fn expire_proofs(&self) {
        lock(&self.proofs).retain(|_, p| {
            let keep = p.expires > Instant::now();
            if !keep {
                let _ = std::fs::remove_file(&p.file);
            }
            keep
        });
    }
}
