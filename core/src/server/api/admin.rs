//! Administration from the server's machine: sessions, message, drop, shutdown.
//! Needs the token from the token file and a loopback connection.

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{Failure, Json, Peer, bearer, fail};
use crate::protocol::paths::{AdminSession, DropRequest, MessageRequest, ShutdownRequest};
use crate::protocol::{ErrorCode, SessionEvent};
use crate::server::State;
use crate::server::sessions::same_secret;

type Shared = AxState<Arc<State>>;

fn authorize(state: &State, peer: std::net::IpAddr, headers: &HeaderMap) -> Result<(), Failure> {
    if !peer.is_loopback() {
        return Err(fail(
            ErrorCode::NotAuthorized,
            "administration is only possible from the server's machine",
        ));
    }
    if !same_secret(bearer(headers).unwrap_or_default(), &state.admin_token) {
        return Err(fail(
            ErrorCode::NotAuthorized,
            "wrong administration token (it is in the server's admin token file; run remote4d admin as the server's user)",
        ));
    }
    Ok(())
}

pub(super) async fn sessions(
    AxState(state): Shared,
    Peer(ip): Peer,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    authorize(&state, ip, &headers)?;
    let list: Vec<AdminSession> = state
        .sessions
        .infos()
        .into_iter()
        .map(|info| AdminSession {
            storage: state.sessions.get_unchecked(&info.id).map(|s| s.storage()),
            info,
        })
        .collect();
    Ok(axum::Json(list).into_response())
}

pub(super) async fn message(
    AxState(state): Shared,
    Peer(ip): Peer,
    headers: HeaderMap,
    Json(req): Json<MessageRequest>,
) -> Result<StatusCode, Failure> {
    authorize(&state, ip, &headers)?;
    let event = SessionEvent::Message { text: req.text };
    match req.session_id {
        Some(id) => state
            .sessions
            .get_unchecked(&id)
            .ok_or_else(|| fail(ErrorCode::NotFound, "no such session"))?
            .send(event),
        None => state.sessions.broadcast(&event),
    }
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn drop_session(
    AxState(state): Shared,
    Peer(ip): Peer,
    headers: HeaderMap,
    Json(req): Json<DropRequest>,
) -> Result<StatusCode, Failure> {
    authorize(&state, ip, &headers)?;
    let reason = req
        .reason
        .unwrap_or_else(|| "disconnected by the administrator".into());
    if state.end_session(&req.session_id, &reason).await {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(fail(ErrorCode::NotFound, "no such session"))
    }
}

pub(super) async fn shutdown(
    AxState(state): Shared,
    Peer(ip): Peer,
    headers: HeaderMap,
    Json(req): Json<ShutdownRequest>,
) -> Result<StatusCode, Failure> {
    authorize(&state, ip, &headers)?;
    tracing::info!(
        in_seconds = req.in_seconds,
        "shutdown requested by the administrator"
    );
    state.schedule_shutdown(req.in_seconds, req.message);
    Ok(StatusCode::ACCEPTED)
}
