//! Opening, resuming, describing and closing sessions; their events and storage.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;

use super::{Failure, Json, Peer, bearer, fail};
use crate::protocol::paths::ActivityKind;
use crate::protocol::{
    Challenge, ErrorCode, OpenSession, OpenSessionResponse, SessionEvent, SessionInfo,
    SessionOpened, encode_sse,
};
use crate::server::admission::{self, Admission};
use crate::server::hooks::OpenOutcome;
use crate::server::sessions::{NewSession, Session};
use crate::server::{PendingChallenge, State};

type Shared = AxState<Arc<State>>;

const CHALLENGE_LIFETIME: Duration = Duration::from_secs(300);

pub(super) async fn open(
    AxState(state): Shared,
    Peer(ip): Peer,
    Json(req): Json<OpenSession>,
) -> Result<Response, Failure> {
    let admitted = admission::admit(&state, ip, &req).inspect_err(|e| {
        state.activity.record(
            ActivityKind::Refused,
            format!(
                "{} from {ip} ({}) refused: {}",
                req.user_name.as_deref().unwrap_or("Designer"),
                req.machine_name,
                e.message
            ),
        );
    });
    let user_name = match admitted.map_err(Failure)? {
        Admission::Resume(session, token) => {
            tracing::info!(session = %session.id, %ip, "session resumed");
            return Ok(opened(&session, token, true));
        }
        Admission::New { user_name } => user_name,
    };
    let mut info = admission::session_info(&req, ip, &user_name);
    let storage = match run_open_hook(&state, &mut info, &req).await? {
        OpenOutcome::Accept { storage } => storage,
        OpenOutcome::Refuse { message } => {
            state.activity.record(
                ActivityKind::Refused,
                format!("{user_name} from {ip} refused by the connection hook: {message}"),
            );
            return Err(fail(ErrorCode::Refused, message));
        }
        OpenOutcome::Challenge {
            prompt,
            state: hook_state,
        } => {
            let id = ask(&state, &info, hook_state);
            return Ok(
                axum::Json(OpenSessionResponse::Challenge(Challenge { id, prompt }))
                    .into_response(),
            );
        }
    };
    let (session, token) = state
        .sessions
        .open(NewSession {
            id: info.id.clone(),
            user_name: info.user_name.clone(),
            machine_name: info.machine_name.clone(),
            system_user_name: info.system_user_name.clone(),
            ip,
            host_type: info.host_type.clone(),
            persistent_id: info.persistent_id.clone(),
            user_param: info.user_param.clone(),
            storage: storage
                .filter(Value::is_object)
                .unwrap_or_else(|| Value::Object(serde_json::Map::new())),
        })
        .map_err(Failure)?;
    tracing::info!(session = %session.id, user = %info.user_name, %ip, machine = %info.machine_name, "session opened");
    state.activity.record(
        ActivityKind::Session,
        format!(
            "{} connected from {ip} ({})",
            info.user_name, info.machine_name
        ),
    );
    state.peak_sessions.fetch_max(
        state.client_sessions(),
        std::sync::atomic::Ordering::Relaxed,
    );
    Ok(opened(&session, token, false))
}

/// Runs the open hook for `info`: with the answer to its earlier question (which must be this
/// client's, for this user, not expired; the session keeps the id it was asked under), or
/// afresh.
async fn run_open_hook(
    state: &State,
    info: &mut SessionInfo,
    req: &OpenSession,
) -> Result<OpenOutcome, Failure> {
    let Some(answer) = &req.challenge else {
        return Ok(state.hooks.open(info, None, None).await);
    };
    let pending = state
        .challenges
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(&answer.id);
    let Some(p) = pending.filter(|p| {
        p.expires > Instant::now()
            && p.client_id == info.persistent_id
            && p.user_name == info.user_name
    }) else {
        return Err(fail(
            ErrorCode::ChallengeFailed,
            "the question has expired; connect again",
        ));
    };
    info.id = p.session_id.clone();
    match state
        .hooks
        .open(info, Some(&answer.answer), Some(&p.state))
        .await
    {
        OpenOutcome::Refuse { message } => Err(fail(ErrorCode::ChallengeFailed, message)),
        other => Ok(other),
    }
}

/// Remembers the hook's question for `info` (with the hook's state) until it is answered;
/// returns its id.
fn ask(state: &State, info: &SessionInfo, hook_state: Value) -> String {
    let id = crate::server::sessions::new_token();
    state
        .challenges
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(
            id.clone(),
            PendingChallenge {
                client_id: info.persistent_id.clone(),
                user_name: info.user_name.clone(),
                session_id: info.id.clone(),
                state: hook_state,
                expires: Instant::now() + CHALLENGE_LIFETIME,
            },
        );
    id
}

fn opened(session: &Session, token: String, resumed: bool) -> Response {
    (
        if resumed {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
        axum::Json(OpenSessionResponse::Opened(SessionOpened {
            session: session.info(),
            token,
            storage: session.storage(),
            resumed,
        })),
    )
        .into_response()
}

/// The session named in the path, if the bearer token is its token.
pub(super) fn authorized(
    state: &State,
    id: &str,
    headers: &HeaderMap,
) -> Result<Arc<Session>, Failure> {
    let token = bearer(headers).unwrap_or_default();
    state.sessions.get(id, token).ok_or_else(|| {
        fail(
            ErrorCode::UnknownSession,
            "unknown session or wrong token (send Authorization: Bearer <token> from the session's opening)",
        )
    })
}

pub(super) async fn get(
    AxState(state): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let s = authorized(&state, &id, &headers)?;
    Ok(axum::Json(s.info()).into_response())
}

pub(super) async fn close(
    AxState(state): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, Failure> {
    authorized(&state, &id, &headers)?;
    state.end_session(&id, "closed by the client").await;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn storage_get(
    AxState(state): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let s = authorized(&state, &id, &headers)?;
    Ok(axum::Json(s.storage()).into_response())
}

pub(super) async fn storage_put(
    AxState(state): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(value): Json<Value>,
) -> Result<Response, Failure> {
    let s = authorized(&state, &id, &headers)?;
    if !value.is_object() {
        return Err(fail(
            ErrorCode::BadRequest,
            "the session storage is a JSON object",
        ));
    }
    Ok(axum::Json(s.set_storage(value)?).into_response())
}

pub(super) async fn storage_patch(
    AxState(state): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(patch): Json<Value>,
) -> Result<Response, Failure> {
    let s = authorized(&state, &id, &headers)?;
    if !patch.is_object() {
        return Err(fail(
            ErrorCode::BadRequest,
            "a merge patch of the storage is a JSON object",
        ));
    }
    Ok(axum::Json(s.patch_storage(&patch)?).into_response())
}

/// Marks the session postponed when the event stream ends.
struct StreamGuard(Arc<Session>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.stream_closed();
    }
}

pub(super) async fn events(
    AxState(state): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let session = authorized(&state, &id, &headers)?;
    session.stream_opened();
    let rx = session.subscribe();
    let guard = StreamGuard(Arc::clone(&session));
    let period = Duration::from_secs(state.config.heartbeat_secs.max(1));
    let heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let first = encode_sse(&SessionEvent::Heartbeat);
    let stream = futures::stream::unfold(
        (rx, heartbeat, guard, false),
        |(mut rx, mut heartbeat, guard, done)| async move {
            if done {
                return None;
            }
            let (event, end) = loop {
                tokio::select! {
                    received = rx.recv() => match received {
                        Ok(e) => {
                            let end = matches!(e, SessionEvent::Dropped { .. });
                            break (e, end);
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                    },
                    _ = heartbeat.tick() => break (SessionEvent::Heartbeat, false),
                }
            };
            guard.0.touch();
            Some((
                Ok::<Bytes, std::convert::Infallible>(Bytes::from(encode_sse(&event))),
                (rx, heartbeat, guard, end),
            ))
        },
    );
    let body = futures::stream::once(async move { Ok(Bytes::from(first)) }).chain(stream);
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-store"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(body),
    )
        .into_response())
}
