//! Development-mode requests: same-folder proof, edit locks, files only the server writes.

use std::sync::Arc;

use axum::extract::{Query, Request, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Failure, Json, MAX_FILE, bearer, fail};
use crate::protocol::paths::LockRequest;
use crate::protocol::{ErrorCode, ReloadResult};
use crate::protocol::{
    LockInfo, ProofAnswer, ProofFile, ProofRequest, SERVER_WRITTEN, proof_answer,
};
use crate::server::State;
use crate::server::sessions::{Session, new_token};

type Shared = AxState<Arc<State>>;

fn session_of(state: &State, headers: &HeaderMap) -> Result<Arc<Session>, Failure> {
    let token = bearer(headers).unwrap_or_default();
    state
        .sessions
        .all()
        .into_iter()
        .find(|s| s.token_matches(token))
        .ok_or_else(|| {
            fail(
                ErrorCode::UnknownSession,
                "development mode needs a session token",
            )
        })
}

/// Refuses users without design rights (4D's Design environment: the Designer, the
/// Administrator, the design access group) when the project has passwords.
fn may_design(state: &State, s: &Session) -> Result<(), Failure> {
    let user = s.info().user_name;
    if state.directory().may_design(&user) {
        Ok(())
    } else {
        Err(fail(
            ErrorCode::NotAuthorized,
            format!(
                "{user} may not work in development mode: it needs the Designer, the Administrator \
                 or a member of the project's design access group"
            ),
        ))
    }
}

fn dev_session_of(state: &State, headers: &HeaderMap) -> Result<Arc<Session>, Failure> {
    let s = session_of(state, headers)?;
    if !state.dev.is_development(&s.id) {
        return Err(fail(
            ErrorCode::NotAuthorized,
            "this session is not in development mode (prove access to the project folder first)",
        ));
    }
    // The users may have changed since: the right is checked at every request.
    may_design(state, &s)?;
    Ok(s)
}

pub(super) async fn proof(AxState(state): Shared, headers: HeaderMap) -> Result<Response, Failure> {
    let s = session_of(&state, &headers)?;
    may_design(&state, &s)?;
    state.dev.expire_proofs();
    let name = format!(".remote4d-proof-{}", &new_token()[..16]);
    let secret = new_token();
    let file = state.root.join(&name);
    let content = serde_json::to_vec(&ProofFile {
        secret: secret.clone(),
        fingerprint: state.fingerprint.clone(),
    })
    .map_err(|e| fail(ErrorCode::Internal, e.to_string()))?;
    crate::fsutil::write_atomic(&file, &content).map_err(|e| {
        fail(
            ErrorCode::Internal,
            format!("cannot write the proof in the project folder: {e}"),
        )
    })?;
    state
        .dev
        .add_proof(&s.id, file, proof_answer(&secret, &state.fingerprint));
    Ok(axum::Json(ProofRequest {
        project_root: state.root.display().to_string(),
        proof_file: name,
    })
    .into_response())
}

pub(super) async fn confirm(
    AxState(state): Shared,
    headers: HeaderMap,
    Json(c): Json<ProofAnswer>,
) -> Result<StatusCode, Failure> {
    let s = session_of(&state, &headers)?;
    may_design(&state, &s)?;
    if state.dev.confirm(&s.id, &c.answer) {
        tracing::info!(session = %s.id, user = %s.info().user_name, "development mode");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(fail(
            ErrorCode::NotAuthorized,
            "the proof does not match: this is not the server's project folder",
        ))
    }
}

pub(super) async fn locks(AxState(state): Shared, headers: HeaderMap) -> Result<Response, Failure> {
    dev_session_of(&state, &headers)?;
    Ok(axum::Json(state.dev.locks()).into_response())
}

fn check_path(path: &str) -> Result<(), Failure> {
    crate::archive::check_relative_path(path)
        .map_err(|e| fail(ErrorCode::BadRequest, e.to_string()))
}

pub(super) async fn acquire(
    AxState(state): Shared,
    headers: HeaderMap,
    Json(r): Json<LockRequest>,
) -> Result<StatusCode, Failure> {
    let s = dev_session_of(&state, &headers)?;
    check_path(&r.path)?;
    let info = s.info();
    state
        .dev
        .acquire(LockInfo {
            path: r.path,
            session_id: s.id.clone(),
            user_name: info.user_name,
            machine_name: info.machine_name,
        })
        .map_err(|held| {
            fail(
                ErrorCode::Locked,
                format!("{} on {}", held.0.user_name, held.0.machine_name),
            )
        })?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn release(
    AxState(state): Shared,
    headers: HeaderMap,
    Json(r): Json<LockRequest>,
) -> Result<StatusCode, Failure> {
    let s = dev_session_of(&state, &headers)?;
    if state.dev.release(&s.id, &r.path) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(fail(
            ErrorCode::NotFound,
            "this session does not hold that lock",
        ))
    }
}

#[derive(Deserialize)]
pub(super) struct FileQuery {
    path: String,
}

/// Writes `catalog.4DCatalog` or `directory.json` for a development client, then reloads. The
/// session and its rights are checked before a byte of the body is read.
pub(super) async fn put_file(
    AxState(state): Shared,
    headers: HeaderMap,
    Query(q): Query<FileQuery>,
    request: Request,
) -> Result<Response, Failure> {
    dev_session_of(&state, &headers)?;
    check_path(&q.path)?;
    if !SERVER_WRITTEN.contains(&q.path.as_str()) {
        return Err(fail(
            ErrorCode::BadRequest,
            "only catalog.4DCatalog and directory.json are written by the server; write other files directly",
        ));
    }
    let body = axum::body::to_bytes(request.into_body(), MAX_FILE)
        .await
        .map_err(|_| {
            fail(
                ErrorCode::PayloadTooLarge,
                format!(
                    "{} is larger than {} MiB, or its upload was cut",
                    q.path,
                    MAX_FILE >> 20
                ),
            )
        })?;
    // Refuse what would break the project (or lock everybody out of it).
    if q.path.ends_with(".json") {
        state
            .directory()
            .validate_replacement(&body)
            .map_err(|why| {
                fail(
                    ErrorCode::BadRequest,
                    format!("{} was not written: {why}", q.path),
                )
            })?;
    } else if !std::str::from_utf8(&body).is_ok_and(|t| t.contains("<base")) {
        return Err(fail(
            ErrorCode::BadRequest,
            format!("{} is not valid; nothing was written", q.path),
        ));
    }
    let file = state.root.join(&q.path);
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| fail(ErrorCode::Internal, e.to_string()))?;
    }
    crate::fsutil::write_atomic(&file, &body)
        .map_err(|e| fail(ErrorCode::Internal, format!("cannot write {}: {e}", q.path)))?;
    tracing::info!(path = %q.path, "written for a development client");
    let r = state
        .rebuild()
        .await
        .map_err(|e| fail(ErrorCode::BuildFailed, e.to_string()))?;
    Ok(axum::Json(ReloadResult {
        stamp: r.build.stamp,
        changed: r.changed,
        build_ms: r.millis,
    })
    .into_response())
}
