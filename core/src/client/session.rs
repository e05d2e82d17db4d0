//! Following a session: its events, with reconnection and resumption after a network loss.

use std::time::Duration;

use futures::{Stream, StreamExt};
use reqwest::Method;
use serde_json::Value;
use tokio::sync::mpsc;

use super::api::{ApiClient, RequestError};
use crate::protocol::{
    ErrorCode, OpenSession, OpenSessionResponse, ResumeSession, SessionEvent, SseDecoder, paths,
};

/// What happens to a followed session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionUpdate {
    /// An event from the server.
    Event(SessionEvent),
    /// The connection was lost; reconnecting after a wait.
    Reconnecting {
        /// Attempt number.
        attempt: u32,
        /// Wait before it, in ms.
        wait_ms: u64,
        /// Why.
        reason: String,
    },
    /// The same session was resumed.
    Resumed,
    /// The session is over (dropped, closed, or expired while away).
    Ended {
        /// Why.
        reason: String,
    },
}

/// Stops following when dropped.
pub struct Follower {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Follows session `id` (with its `token`) through `api`: events as they come; after a network
/// loss, reconnects with backoff (0.5 s doubling to 15 s) and resumes the same session.
pub fn follow(
    api: ApiClient,
    id: String,
    token: String,
) -> (Follower, impl Stream<Item = SessionUpdate> + Send + Unpin) {
    let (tx, rx) = mpsc::channel(64);
    let task = tokio::spawn(run(api, id, token, tx));
    let stream =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|u| (u, rx)) });
    (Follower { task }, Box::pin(stream))
}

async fn run(api: ApiClient, id: String, token: String, tx: mpsc::Sender<SessionUpdate>) {
    let mut attempt = 0u32;
    loop {
        let reason = match listen(&api, &id, &tx, &mut attempt).await {
            Followed::Lost(reason) => reason,
            Followed::Over => return,
        };
        if !resume(&api, (&id, &token), &tx, &mut attempt, reason).await {
            return;
        }
    }
}

/// How following a session's events went.
enum Followed {
    /// The connection was lost (why): resume.
    Lost(String),
    /// The session ended, or nobody listens any more.
    Over,
}

/// Follows the event stream until it ends; after `attempt` failed attempts, says it resumed.
async fn listen(
    api: &ApiClient,
    id: &str,
    tx: &mpsc::Sender<SessionUpdate>,
    attempt: &mut u32,
) -> Followed {
    let resp = match api
        .request(Method::GET, &paths::session_events(id))
        .send()
        .await
    {
        Ok(resp) if resp.status().is_success() => resp,
        Ok(resp) => {
            return match api.check(resp).await {
                Err(e) if e.code() == Some(ErrorCode::UnknownSession) => {
                    let reason = "the session ended on the server".into();
                    let _ = tx.send(SessionUpdate::Ended { reason }).await;
                    Followed::Over
                }
                Err(e) => Followed::Lost(e.to_string()),
                Ok(_) => Followed::Lost("unexpected answer".into()),
            };
        }
        Err(e) => return Followed::Lost(api.transport_error(&e).to_string()),
    };
    if *attempt > 0 && tx.send(SessionUpdate::Resumed).await.is_err() {
        return Followed::Over;
    }
    *attempt = 0;
    let mut body = resp.bytes_stream();
    let mut decoder = SseDecoder::default();
    // A silent connection for 3 heartbeats is a lost connection.
    while let Ok(next) = tokio::time::timeout(Duration::from_secs(50), body.next()).await {
        let chunk = match next {
            None => break,
            Some(Ok(c)) => c,
            Some(Err(e)) => return Followed::Lost(e.to_string()),
        };
        for event in decoder.push(&chunk) {
            if let SessionEvent::Dropped { reason } = &event {
                let reason = reason.clone();
                let _ = tx.send(SessionUpdate::Event(event)).await;
                let _ = tx.send(SessionUpdate::Ended { reason }).await;
                return Followed::Over;
            }
            if event != SessionEvent::Heartbeat
                && tx.send(SessionUpdate::Event(event)).await.is_err()
            {
                return Followed::Over;
            }
        }
    }
    Followed::Lost("the event stream ended".into())
}

/// Lost: waits (longer each time), then resumes the same session with its token. False when
/// the session is over (expired meanwhile) or nobody listens any more.
async fn resume(
    api: &ApiClient,
    (id, token): (&str, &str),
    tx: &mpsc::Sender<SessionUpdate>,
    attempt: &mut u32,
    reason: String,
) -> bool {
    loop {
        *attempt += 1;
        let wait = Duration::from_millis((500u64 << (*attempt - 1).min(5)).min(15_000));
        let reconnecting = SessionUpdate::Reconnecting {
            attempt: *attempt,
            wait_ms: wait.as_millis() as u64,
            reason: reason.clone(),
        };
        if tx.send(reconnecting).await.is_err() {
            return false;
        }
        tokio::time::sleep(wait).await;
        let resume = OpenSession {
            resume: Some(ResumeSession {
                session_id: id.to_owned(),
                token: token.to_owned(),
            }),
            ..OpenSession::default()
        };
        match api
            .json::<_, OpenSessionResponse>(Method::POST, paths::SESSIONS, Some(&resume))
            .await
        {
            Ok(_) => return true,
            Err(RequestError::Api(e)) if e.code == ErrorCode::UnknownSession => {
                let reason =
                    "the session expired while the connection was lost; connect again".into();
                let _ = tx.send(SessionUpdate::Ended { reason }).await;
                return false;
            }
            Err(_) => {}
        }
    }
}

/// Reads the session storage.
///
/// # Errors
/// A [`RequestError`].
pub async fn storage(api: &ApiClient, id: &str) -> Result<Value, RequestError> {
    api.json::<(), _>(Method::GET, &paths::session_storage(id), None)
        .await
}

/// Replaces the session storage (a JSON object).
///
/// # Errors
/// A [`RequestError`].
pub async fn set_storage(api: &ApiClient, id: &str, value: &Value) -> Result<Value, RequestError> {
    api.json(Method::PUT, &paths::session_storage(id), Some(value))
        .await
}

/// Applies a JSON merge patch to the session storage.
///
/// # Errors
/// A [`RequestError`].
pub async fn patch_storage(
    api: &ApiClient,
    id: &str,
    patch: &Value,
) -> Result<Value, RequestError> {
    api.json(Method::PATCH, &paths::session_storage(id), Some(patch))
        .await
}
