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
use crate::protocol::{
    Challenge, ErrorCode, HostType, OpenSession, OpenSessionResponse, SessionEvent, SessionInfo,
    SessionOpened, SessionState, encode_sse,
};
use crate::server::hooks::OpenOutcome;
use crate::server::sessions::{NewSession, Session};
use crate::server::{PendingChallenge, State, auth};

type Shared = AxState<Arc<State>>;

const CHALLENGE_LIFETIME: Duration = Duration::from_secs(300);
/// How long a refused client may fetch the offered update after its login.
const UPDATE_TOKEN_LIFETIME: Duration = Duration::from_secs(600);

fn clip(s: &str, n: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(n).collect()
}

pub(super) async fn open(
    AxState(state): Shared,
    Peer(ip): Peer,
    Json(req): Json<OpenSession>,
) -> Result<Response, Failure> {
    if state
        .shutting_down
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        return Err(fail(
            ErrorCode::ShuttingDown,
            "the server is shutting down; try again later",
        ));
    }
    if !auth::ip_allowed(&state.config.access, ip) {
        tracing::info!(%ip, "connection refused by the address rules");
        return Err(fail(
            ErrorCode::Refused,
            "this server does not accept connections from your address",
        ));
    }
    if let Some(resume) = &req.resume {
        let Some(session) = state.sessions.get(&resume.session_id, &resume.token) else {
            return Err(fail(
                ErrorCode::UnknownSession,
                "that session has ended; connect again",
            ));
        };
        tracing::info!(session = %session.id, %ip, "session resumed");
        return Ok(opened(&session, resume.token.clone(), true));
    }
    let claimed = req.user_name.as_deref().unwrap_or("");
    state.throttle.check(ip, claimed)?;
    let directory = state.directory();
    let user_name = match auth::check_login(
        &directory,
        req.user_name.as_deref(),
        req.password.as_deref(),
        req.password_hash.as_deref(),
    ) {
        Ok(u) => u,
        Err(e) => {
            state.throttle.failed(ip, claimed);
            return Err(Failure(e));
        }
    };
    state.throttle.succeeded(ip, claimed);
    // A client of a version the server does not accept may fetch the offered update, once
    // logged in (the build is the project publisher's, not for anyone who asks).
    if let Some(u) = state.config.client_update.as_ref() {
        if !crate::protocol::in_range(
            &req.client_version,
            u.min_version.as_deref(),
            u.max_version.as_deref(),
        ) {
            let range = format!(
                "{} to {}",
                u.min_version.as_deref().unwrap_or("any"),
                u.max_version.as_deref().unwrap_or("any")
            );
            let mut refusal = crate::protocol::ApiError::new(
                ErrorCode::ClientVersion,
                format!(
                    "this server accepts Remote4D clients {range}; this one is {}. Version {} is offered: accept the update to connect",
                    if req.client_version.is_empty() {
                        "unknown"
                    } else {
                        &req.client_version
                    },
                    u.version
                ),
            );
            let token = crate::server::sessions::new_token();
            state
                .update_tokens
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(token.clone(), Instant::now() + UPDATE_TOKEN_LIFETIME);
            refusal.update_token = Some(token);
            return Err(Failure(refusal));
        }
    }
    let client_id = clip(&req.client_id, 64);
    let mut info = SessionInfo {
        kind: "remote".into(),
        user_name: user_name.clone(),
        machine_name: clip(&req.machine_name, 255),
        system_user_name: clip(&req.system_user_name, 255),
        ip_address: ip.to_string(),
        host_type: req.host_type.unwrap_or(HostType::Linux).name().into(),
        creation_date_time: crate::time::iso8601(std::time::SystemTime::now()),
        state: SessionState::Active,
        id: uuid::Uuid::new_v4().to_string(),
        persistent_id: client_id.clone(),
    };
    let outcome = match &req.challenge {
        Some(answer) => {
            let pending = state
                .challenges
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&answer.id);
            let Some(p) = pending.filter(|p| {
                p.expires > Instant::now() && p.client_id == client_id && p.user_name == user_name
            }) else {
                return Err(fail(
                    ErrorCode::ChallengeFailed,
                    "the question has expired; connect again",
                ));
            };
            info.id = p.session_id.clone();
            match state
                .hooks
                .open(&info, Some(&answer.answer), Some(&p.state))
                .await
            {
                OpenOutcome::Refuse { message } => {
                    return Err(fail(ErrorCode::ChallengeFailed, message));
                }
                other => other,
            }
        }
        None => state.hooks.open(&info, None, None).await,
    };
    let storage = match outcome {
        OpenOutcome::Accept { storage } => storage,
        OpenOutcome::Refuse { message } => return Err(fail(ErrorCode::Refused, message)),
        OpenOutcome::Challenge {
            prompt,
            state: hook_state,
        } => {
            let id = crate::server::sessions::new_token();
            state
                .challenges
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(
                    id.clone(),
                    PendingChallenge {
                        client_id,
                        user_name,
                        session_id: info.id.clone(),
                        state: hook_state,
                        expires: Instant::now() + CHALLENGE_LIFETIME,
                    },
                );
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
            storage: storage
                .filter(Value::is_object)
                .unwrap_or_else(|| Value::Object(serde_json::Map::new())),
        })
        .map_err(Failure)?;
    tracing::info!(session = %session.id, user = %info.user_name, %ip, machine = %info.machine_name, "session opened");
    Ok(opened(&session, token, false))
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
