//! Sessions of connected clients (4D's `Session` for remote users) and their events.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::protocol::{ApiError, ErrorCode};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::protocol::{SessionEvent, SessionInfo, SessionState};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The longest a session lives without a live connection (4D keeps a "sleeping" session 48 h).
pub const SLEEPING_LIMIT: Duration = Duration::from_secs(48 * 3600);

/// Sessions a server holds at most by default.
pub const DEFAULT_MAX_SESSIONS: usize = 10_000;

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
    /// Size of `storage` as JSON.
    storage_bytes: AtomicUsize,
    /// Every session's storage, counted together.
    total: Arc<StorageTotal>,
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
    ///
    /// # Errors
    /// [`ErrorCode::PayloadTooLarge`] or [`ErrorCode::StorageFull`] past the limits; the storage
    /// is then unchanged.
    pub fn set_storage(&self, value: Value) -> Result<Value, ApiError> {
        let mut s = lock(&self.storage);
        self.commit(&mut s, value.clone())?;
        drop(s);
        self.send(SessionEvent::StorageChanged {
            storage: value.clone(),
        });
        Ok(value)
    }

    /// Applies a JSON merge patch (RFC 7396) to the storage and tells the client.
    ///
    /// # Errors
    /// As [`Session::set_storage`].
    pub fn patch_storage(&self, patch: &Value) -> Result<Value, ApiError> {
        let updated = {
            let mut s = lock(&self.storage);
            let mut next = s.clone();
            merge_patch(&mut next, patch);
            self.commit(&mut s, next.clone())?;
            next
        };
        self.send(SessionEvent::StorageChanged {
            storage: updated.clone(),
        });
        Ok(updated)
    }

    /// Replaces `current` by `next` if the limits allow it.
    fn commit(&self, current: &mut Value, next: Value) -> Result<(), ApiError> {
        let size = json_size(&next);
        let old = self.storage_bytes.load(Ordering::SeqCst);
        self.total.reserve(old, size)?;
        self.storage_bytes.store(size, Ordering::SeqCst);
        *current = next;
        Ok(())
    }

    /// Size of the storage as JSON, in bytes.
    pub fn storage_size(&self) -> usize {
        self.storage_bytes.load(Ordering::SeqCst)
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

    /// Seconds since the client was last heard from.
    pub fn idle_secs(&self) -> u64 {
        lock(&self.last_seen).elapsed().as_secs()
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

/// Limits of the session storage (4D's `Session.storage`): per session and for all together, so
/// that clients cannot make the server spend its memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageLimits {
    /// Largest storage of one session, as JSON.
    pub per_session: usize,
    /// Largest storage of all sessions together.
    pub total: usize,
}

impl Default for StorageLimits {
    fn default() -> Self {
        Self {
            per_session: 256 << 10,
            total: 64 << 20,
        }
    }
}

/// The storage of all sessions, counted.
#[derive(Debug)]
struct StorageTotal {
    used: Mutex<usize>,
    limits: StorageLimits,
}

impl StorageTotal {
    /// Makes room for a storage going from `old` to `new` bytes.
    fn reserve(&self, old: usize, new: usize) -> Result<(), ApiError> {
        if new > self.limits.per_session {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "the session storage would take {new} bytes; this server keeps at most {} per session",
                    self.limits.per_session
                ),
            ));
        }
        let mut used = lock(&self.used);
        let next = used.saturating_sub(old) + new;
        if new > old && next > self.limits.total {
            return Err(ApiError::new(
                ErrorCode::StorageFull,
                "the server's session storage is full; try again later or store less",
            ));
        }
        *used = next;
        Ok(())
    }

    fn release(&self, bytes: usize) {
        let mut used = lock(&self.used);
        *used = used.saturating_sub(bytes);
    }
}

fn json_size(v: &Value) -> usize {
    serde_json::to_vec(v).map_or(usize::MAX, |b| b.len())
}

impl Drop for Session {
    fn drop(&mut self) {
        self.total
            .release(self.storage_bytes.load(Ordering::SeqCst));
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
    /// The link's `user_param`.
    pub user_param: Option<String>,
    /// Initial storage.
    pub storage: Value,
}

/// All sessions.
pub struct Sessions {
    map: Mutex<HashMap<String, Arc<Session>>>,
    stored_procedure: SessionInfo,
    storage: Arc<StorageTotal>,
    max_sessions: usize,
}

impl Default for Sessions {
    fn default() -> Self {
        Self::new()
    }
}

impl Sessions {
    /// No sessions yet (but the virtual `storedProcedure` one), with the default limits.
    pub fn new() -> Self {
        Self::with_limits(StorageLimits::default(), DEFAULT_MAX_SESSIONS)
    }

    /// No sessions yet, with these limits of storage and of open sessions.
    pub fn with_limits(storage: StorageLimits, max_sessions: usize) -> Self {
        let id = uuid::Uuid::new_v4().to_string();
        Self {
            storage: Arc::new(StorageTotal {
                used: Mutex::new(0),
                limits: storage,
            }),
            max_sessions: max_sessions.max(1),
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
                user_param: None,
            },
        }
    }

    /// Opens a session; returns it and its token. An initial storage past the limits is
    /// replaced by an empty object (and logged).
    ///
    /// # Errors
    /// [`ErrorCode::Busy`] when the server holds as many sessions as it may, all of them live.
    pub fn open(&self, new: NewSession) -> Result<(Arc<Session>, String), ApiError> {
        self.make_room()?;
        let id = new.id;
        let token = new_token();
        let (events, _) = broadcast::channel(64);
        let mut storage = if new.storage.is_object() {
            new.storage
        } else {
            Value::Object(serde_json::Map::new())
        };
        let mut size = json_size(&storage);
        if let Err(err) = self.storage.reserve(0, size) {
            tracing::warn!(%err, session = %id, "the initial session storage is not kept");
            storage = Value::Object(serde_json::Map::new());
            size = 2;
            self.storage.reserve(0, size)?;
        }
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
                user_param: new.user_param,
            }),
            storage: Mutex::new(storage),
            storage_bytes: AtomicUsize::new(size),
            total: Arc::clone(&self.storage),
            events,
            streams: AtomicUsize::new(0),
            last_seen: Mutex::new(Instant::now()),
            disconnected_at: Mutex::new(None),
        });
        lock(&self.map).insert(id, Arc::clone(&session));
        Ok((session, token))
    }

    /// At the limit of sessions, ends the one idle the longest without an event stream (an
    /// abandoned client); refuses when every session is live.
    fn make_room(&self) -> Result<(), ApiError> {
        let mut map = lock(&self.map);
        if map.len() < self.max_sessions {
            return Ok(());
        }
        let oldest = map
            .values()
            .filter(|s| s.stream_count() == 0)
            .min_by_key(|s| *lock(&s.last_seen))
            .map(|s| s.id.clone());
        match oldest {
            Some(id) => {
                if let Some(s) = map.remove(&id) {
                    tracing::warn!(session = %id, "too many sessions: the longest idle one ends");
                    s.send(SessionEvent::Dropped {
                        reason: "the server had too many sessions; this idle one ended".into(),
                    });
                }
                Ok(())
            }
            None => Err(ApiError::new(
                ErrorCode::Busy,
                format!(
                    "the server holds {} sessions, its limit; try again later",
                    map.len()
                ),
            )),
        }
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
    /// (when not zero; never longer than [`SLEEPING_LIMIT`]) without an open event stream.
    pub fn expired(
        &self,
        grace: Duration,
        inactivity: Duration,
    ) -> Vec<(Arc<Session>, &'static str)> {
        self.expired_at(Instant::now(), grace, inactivity)
    }

    fn expired_at(
        &self,
        now: Instant,
        grace: Duration,
        inactivity: Duration,
    ) -> Vec<(Arc<Session>, &'static str)> {
        let mut out = Vec::new();
        for s in self.all() {
            let since_lost = *lock(&s.disconnected_at);
            let idle = now.duration_since(*lock(&s.last_seen));
            if let Some(at) = since_lost {
                if now.duration_since(at) > grace.min(SLEEPING_LIMIT) {
                    out.push((s, "the connection was lost and not resumed in time"));
                    continue;
                }
            }
            let limit = if inactivity.is_zero() {
                SLEEPING_LIMIT
            } else {
                inactivity.min(SLEEPING_LIMIT)
            };
            if s.stream_count() == 0 && idle > limit {
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
        let mut new = new_session("s1");
        new.storage = json!(null);
        let (s, token) = sessions.open(new).unwrap();
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

    fn new_session(id: &str) -> NewSession {
        NewSession {
            id: id.into(),
            user_name: "Designer".into(),
            machine_name: "m".into(),
            system_user_name: "u".into(),
            ip: "127.0.0.1".parse().unwrap(),
            host_type: "linux".into(),
            persistent_id: "p".into(),
            user_param: None,
            storage: json!({}),
        }
    }

    #[test]
    fn storage_is_capped_per_session_and_in_total() {
        let sessions = Sessions::with_limits(
            StorageLimits {
                per_session: 1000,
                total: 2500,
            },
            100,
        );
        let (a, _) = sessions.open(new_session("a")).unwrap();
        let (b, _) = sessions.open(new_session("b")).unwrap();
        let (c, _) = sessions.open(new_session("c")).unwrap();
        let big = json!({ "x": "y".repeat(900) });
        a.set_storage(big.clone()).unwrap();
        assert_eq!(
            a.patch_storage(&json!({ "z": "y".repeat(200) }))
                .unwrap_err()
                .code,
            ErrorCode::PayloadTooLarge
        );
        assert_eq!(
            a.storage(),
            big,
            "a refused change leaves the storage as it was"
        );
        b.set_storage(big.clone()).unwrap();
        assert_eq!(
            c.set_storage(big.clone()).unwrap_err().code,
            ErrorCode::StorageFull
        );
        // Shrinking is always allowed, and an ended session gives its room back.
        b.set_storage(json!({})).unwrap();
        c.set_storage(big.clone()).unwrap();
        drop(sessions.remove("a"));
        drop(a);
        sessions
            .get_unchecked("b")
            .unwrap()
            .set_storage(big)
            .unwrap();
    }

    #[test]
    fn at_the_session_limit_the_longest_idle_one_ends() {
        let sessions = Sessions::with_limits(StorageLimits::default(), 2);
        let (a, _) = sessions.open(new_session("a")).unwrap();
        let (b, _) = sessions.open(new_session("b")).unwrap();
        a.stream_opened();
        b.touch();
        sessions.open(new_session("c")).unwrap();
        assert!(sessions.get_unchecked("b").is_none(), "b was idle");
        assert!(sessions.get_unchecked("a").is_some(), "a has a live stream");
        sessions.get_unchecked("c").unwrap().stream_opened();
        assert_eq!(
            sessions.open(new_session("d")).unwrap_err().code,
            ErrorCode::Busy
        );
    }

    #[test]
    fn sessions_without_a_connection_never_outlive_the_sleeping_limit() {
        let sessions = Sessions::new();
        let (a, _) = sessions.open(new_session("a")).unwrap();
        let later = Instant::now() + SLEEPING_LIMIT + Duration::from_secs(1);
        let grace = Duration::from_secs(300);
        assert!(sessions.expired(grace, Duration::ZERO).is_empty());
        assert_eq!(
            sessions.expired_at(later, grace, Duration::ZERO).len(),
            1,
            "0 (unlimited) still ends a session with no connection after 48 h"
        );
        assert_eq!(
            sessions
                .expired_at(later, grace, Duration::from_secs(100 * 3600))
                .len(),
            1,
            "a longer setting is capped at 48 h"
        );
        a.stream_opened();
        assert!(sessions.expired_at(later, grace, Duration::ZERO).is_empty());
    }
}
