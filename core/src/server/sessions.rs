//! Sessions of connected clients (4D's `Session` for remote users) and their events.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::protocol::{SessionEvent, SessionInfo, SessionState};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A random secret as 64 hex digits.
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; 32];
    if getrandom::fill(&mut bytes).is_err() {
        // Fall back to two v4 UUIDs (also from the OS generator).
        bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    hex::encode(bytes)
}

/// Compares secrets in constant time.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// One client's session.
#[derive(Debug)]
pub struct Session {
    /// Session id.
    pub id: String,
    token: String,
    info: Mutex<SessionInfo>,
    storage: Mutex<Value>,
    events: broadcast::Sender<SessionEvent>,
    streams: AtomicUsize,
    last_seen: Mutex<Instant>,
    disconnected_at: Mutex<Option<Instant>>,
}

impl Session {
    /// The session's description.
    pub fn info(&self) -> SessionInfo {
        lock(&self.info).clone()
    }

    /// The token's check.
    pub fn token_matches(&self, token: &str) -> bool {
        same_secret(&self.token, token)
    }

    /// The shared storage.
    pub fn storage(&self) -> Value {
        lock(&self.storage).clone()
    }

    /// Replaces the storage (must be an object) and tells the client.
    pub fn set_storage(&self, value: Value) {
        *lock(&self.storage) = value.clone();
        self.send(SessionEvent::StorageChanged { storage: value });
    }

    /// Applies a JSON merge patch (RFC 7396) to the storage and tells the client.
    pub fn patch_storage(&self, patch: &Value) -> Value {
        let updated = {
            let mut s = lock(&self.storage);
            merge_patch(&mut s, patch);
            s.clone()
        };
        self.send(SessionEvent::StorageChanged {
            storage: updated.clone(),
        });
        updated
    }

    /// Sends an event to the session's event streams.
    pub fn send(&self, event: SessionEvent) {
        let _ = self.events.send(event);
    }

    /// A receiver of the session's events.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.events.subscribe()
    }

    /// Notes activity.
    pub fn touch(&self) {
        *lock(&self.last_seen) = Instant::now();
    }

    /// An event stream opened: the session is active.
    pub fn stream_opened(&self) {
        self.streams.fetch_add(1, Ordering::SeqCst);
        *lock(&self.disconnected_at) = None;
        lock(&self.info).state = SessionState::Active;
        self.touch();
    }

    /// An event stream closed: with none left, the session is postponed (resumable).
    pub fn stream_closed(&self) {
        if self.streams.fetch_sub(1, Ordering::SeqCst) == 1 {
            *lock(&self.disconnected_at) = Some(Instant::now());
            lock(&self.info).state = SessionState::Postponed;
        }
        self.touch();
    }

    /// Open event streams.
    pub fn stream_count(&self) -> usize {
        self.streams.load(Ordering::SeqCst)
    }
}

/// RFC 7396 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(serde_json::Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// What is needed to open a session.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The session id (chosen before the open hook runs, so the hook sees it).
    pub id: String,
    /// 4D user name.
    pub user_name: String,
    /// Client machine name.
    pub machine_name: String,
    /// OS user on the client.
    pub system_user_name: String,
    /// Client address.
    pub ip: IpAddr,
    /// `"windows"`, `"mac"`, `"linux"`.
    pub host_type: String,
    /// Client's persistent id.
    pub persistent_id: String,
    /// Initial storage.
    pub storage: Value,
}

/// All sessions.
pub struct Sessions {
    map: Mutex<HashMap<String, Arc<Session>>>,
    stored_procedure: SessionInfo,
}

impl Default for Sessions {
    fn default() -> Self {
        Self::new()
    }
}

impl Sessions {
    /// No sessions yet (but the virtual `storedProcedure` one).
    pub fn new() -> Self {
        let id = uuid::Uuid::new_v4().to_string();
        Self {
            map: Mutex::new(HashMap::new()),
            stored_procedure: SessionInfo {
                kind: "storedProcedure".into(),
                user_name: "Designer".into(),
                machine_name: hostname::get()
                    .map(|h| h.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                system_user_name: String::new(),
                ip_address: String::new(),
                host_type: crate::protocol::HostType::current_name().into(),
                creation_date_time: crate::time::iso8601(SystemTime::now()),
                state: SessionState::Active,
                id: id.clone(),
                persistent_id: id,
            },
        }
    }

    /// Opens a session; returns it and its token.
    pub fn open(&self, new: NewSession) -> (Arc<Session>, String) {
        let id = new.id;
        let token = new_token();
        let (events, _) = broadcast::channel(64);
        let storage = if new.storage.is_object() {
            new.storage
        } else {
            Value::Object(serde_json::Map::new())
        };
        let session = Arc::new(Session {
            id: id.clone(),
            token: token.clone(),
            info: Mutex::new(SessionInfo {
                kind: "remote".into(),
                user_name: new.user_name,
                machine_name: new.machine_name,
                system_user_name: new.system_user_name,
                ip_address: new.ip.to_string(),
                host_type: new.host_type,
                creation_date_time: crate::time::iso8601(SystemTime::now()),
                state: SessionState::Active,
                id: id.clone(),
                persistent_id: new.persistent_id,
            }),
            storage: Mutex::new(storage),
            events,
            streams: AtomicUsize::new(0),
            last_seen: Mutex::new(Instant::now()),
            disconnected_at: Mutex::new(None),
        });
        lock(&self.map).insert(id, Arc::clone(&session));
        (session, token)
    }

    /// The session `id` if `token` is its token.
    pub fn get(&self, id: &str, token: &str) -> Option<Arc<Session>> {
        let s = lock(&self.map).get(id).cloned()?;
        s.token_matches(token).then(|| {
            s.touch();
            s
        })
    }

    /// The session `id` (administration).
    pub fn get_unchecked(&self, id: &str) -> Option<Arc<Session>> {
        lock(&self.map).get(id).cloned()
    }

    /// Removes a session; returns it if it existed.
    pub fn remove(&self, id: &str) -> Option<Arc<Session>> {
        lock(&self.map).remove(id)
    }

    /// Every remote session.
    pub fn all(&self) -> Vec<Arc<Session>> {
        let mut v: Vec<_> = lock(&self.map).values().cloned().collect();
        v.sort_by(|a, b| {
            a.info()
                .creation_date_time
                .cmp(&b.info().creation_date_time)
        });
        v
    }

    /// Every session's info, the virtual `storedProcedure` one included.
    pub fn infos(&self) -> Vec<SessionInfo> {
        let mut v: Vec<SessionInfo> = self.all().iter().map(|s| s.info()).collect();
        v.push(self.stored_procedure.clone());
        v
    }

    /// Sends an event to every session.
    pub fn broadcast(&self, event: &SessionEvent) {
        for s in self.all() {
            s.send(event.clone());
        }
    }

    /// Sessions to end now: postponed longer than `grace`, or idle longer than `inactivity`
    /// (when not zero) without an open event stream.
    pub fn expired(
        &self,
        grace: Duration,
        inactivity: Duration,
    ) -> Vec<(Arc<Session>, &'static str)> {
        let now = Instant::now();
        let mut out = Vec::new();
        for s in self.all() {
            let since_lost = *lock(&s.disconnected_at);
            let idle = now.duration_since(*lock(&s.last_seen));
            if let Some(at) = since_lost {
                if now.duration_since(at) > grace {
                    out.push((s, "the connection was lost and not resumed in time"));
                    continue;
                }
            }
            if !inactivity.is_zero() && s.stream_count() == 0 && idle > inactivity {
                out.push((s, "inactivity timeout"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}}));
        merge_patch(&mut t, &json!({"x": [1, 2]}));
        assert_eq!(t["x"], json!([1, 2]));
    }

    #[test]
    fn tokens_and_lifecycle() {
        let sessions = Sessions::new();
        let (s, token) = sessions.open(NewSession {
            id: "s1".into(),
            user_name: "Designer".into(),
            machine_name: "m".into(),
            system_user_name: "u".into(),
            ip: "127.0.0.1".parse().unwrap(),
            host_type: "linux".into(),
            persistent_id: "p".into(),
            storage: json!(null),
        });
        assert_eq!(token.len(), 64);
        assert!(sessions.get(&s.id, &token).is_some());
        assert!(sessions.get(&s.id, "nope").is_none());
        assert_eq!(s.storage(), json!({}));
        assert_eq!(sessions.infos().len(), 2, "remote + storedProcedure");
        s.stream_opened();
        s.stream_closed();
        assert_eq!(s.info().state, SessionState::Postponed);
        assert_eq!(
            sessions
                .expired(Duration::from_secs(60), Duration::ZERO)
                .len(),
            0
        );
        assert_eq!(sessions.expired(Duration::ZERO, Duration::ZERO).len(), 1);
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("a", "ab"));
    }
}
