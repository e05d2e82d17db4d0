//! Administration: sessions, message, drop, shutdown. Allowed to
//! - the server's own machine with the token of its token file (a loopback connection), and
//! - from anywhere, a session of the project's Designer or Administrator (logged in with their
//!   password, over the same pinned TLS; login attempts are throttled like any other) when the
//!   project has passwords.
//!
//! Every action is logged with who did it.

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{Failure, Json, Peer, bearer, fail};
use crate::protocol::paths::{
    AcceptRequest, ActivityKind, AdminSession, AdminStatus, BuildRecord, DropRequest,
    MessageRequest, PublishRequest, ShutdownRequest, VersionRange,
};
use crate::protocol::{ErrorCode, SessionEvent};
use crate::server::monitor::Monitor;
use crate::server::sessions::same_secret;
use crate::server::{AUDIT, State};

type Shared = AxState<Arc<State>>;

/// Who administers: "the local administrator" or the 4D user of the session, with its address.
fn authorize(
    state: &State,
    peer: std::net::IpAddr,
    headers: &HeaderMap,
) -> Result<String, Failure> {
    let token = bearer(headers).unwrap_or_default();
    if peer.is_loopback() && same_secret(token, &state.admin_token) {
        return Ok("the local administrator".into());
    }
    let session = state
        .sessions
        .all()
        .into_iter()
        .find(|s| !token.is_empty() && s.token_matches(token));
    let Some(session) = session else {
        tracing::warn!(target: AUDIT, %peer, "administration refused: no administration token or session");
        return Err(fail(
            ErrorCode::NotAuthorized,
            "administration needs the token of the server's machine (run remote4d admin there, as \
             the server's user) or a session of the project's Designer or Administrator \
             (remote4d admin --server HOST --user Administrator)",
        ));
    };
    let user = session.info().user_name;
    let directory = state.directory();
    if !directory.may_administer(&user) {
        tracing::warn!(target: AUDIT, %peer, %user, "administration refused: not the Designer or the Administrator");
        return Err(fail(
            ErrorCode::NotAuthorized,
            if directory.is_open_access() {
                "remote administration needs a project with passwords (directory.json): log in as its \
                 Designer or Administrator"
                    .to_owned()
            } else {
                format!(
                    "{user} may not administer this server: only the Designer and the Administrator may"
                )
            },
        ));
    }
    session.touch();
    Ok(format!("{user} from {peer}"))
}

pub(super) async fn sessions(
    AxState(state): Shared,
    Peer(ip): Peer,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let who = authorize(&state, ip, &headers)?;
    tracing::debug!(by = %who, "administration: sessions listed");
    let locks = state.dev.locks();
    let list: Vec<AdminSession> = state
        .sessions
        .infos()
        .into_iter()
        .map(|info| {
            let session = state.sessions.get_unchecked(&info.id);
            AdminSession {
                storage: session.as_ref().map(|s| s.storage()),
                development: state.dev.is_development(&info.id),
                idle_secs: session.as_ref().map_or(0, |s| s.idle_secs()),
                locks: locks
                    .iter()
                    .filter(|l| l.session_id == info.id)
                    .map(|l| l.path.clone())
                    .collect(),
                info,
            }
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
    let who = authorize(&state, ip, &headers)?;
    tracing::info!(target: AUDIT, by = %who, to = ?req.session_id.iter().chain(&req.session_ids).collect::<Vec<_>>(), "administration: message sent");
    state
        .activity
        .record(ActivityKind::Admin, format!("{who} sent a message"));
    let event = SessionEvent::Message { text: req.text };
    let ids: Vec<String> = req.session_id.into_iter().chain(req.session_ids).collect();
    if ids.is_empty() {
        state.sessions.broadcast(&event);
        return Ok(StatusCode::NO_CONTENT);
    }
    // Every one known first: a typo sends nothing.
    let targets = ids
        .iter()
        .map(|id| {
            state
                .sessions
                .get_unchecked(id)
                .ok_or_else(|| fail(ErrorCode::NotFound, format!("no session {id}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for session in targets {
        session.send(event.clone());
    }
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn drop_session(
    AxState(state): Shared,
    Peer(ip): Peer,
    headers: HeaderMap,
    Json(req): Json<DropRequest>,
) -> Result<StatusCode, Failure> {
    let who = authorize(&state, ip, &headers)?;
    tracing::info!(target: AUDIT, by = %who, session = %req.session_id, in_seconds = req.in_seconds, "administration: session dropped");
    let reason = req
        .reason
        .unwrap_or_else(|| "disconnected by the administrator".into());
    state.activity.record(
        ActivityKind::Admin,
        format!(
            "{who} dropped session {}{}",
            req.session_id,
            if req.in_seconds > 0 {
                format!(" in {} s", req.in_seconds)
            } else {
                String::new()
            }
        ),
    );
    if req.in_seconds == 0 {
        return if state.end_session(&req.session_id, &reason).await {
            Ok(StatusCode::NO_CONTENT)
        } else {
            Err(fail(ErrorCode::NotFound, "no such session"))
        };
    }
    let session = state
        .sessions
        .get_unchecked(&req.session_id)
        .ok_or_else(|| fail(ErrorCode::NotFound, "no such session"))?;
    session.send(SessionEvent::Message {
        text: format!(
            "The administrator will end your session in {} s: {reason}",
            req.in_seconds
        ),
    });
    let later = Arc::clone(&state);
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(req.in_seconds)).await;
        later.end_session(&req.session_id, &reason).await;
    });
    Ok(StatusCode::ACCEPTED)
}

pub(super) async fn shutdown(
    AxState(state): Shared,
    Peer(ip): Peer,
    headers: HeaderMap,
    Json(req): Json<ShutdownRequest>,
) -> Result<StatusCode, Failure> {
    let who = authorize(&state, ip, &headers)?;
    tracing::info!(
        target: AUDIT,
        by = %who,
        in_seconds = req.in_seconds,
        "administration: shutdown requested"
    );
    state.activity.record(
        ActivityKind::Admin,
        format!("{who} asked for a shutdown in {} s", req.in_seconds),
    );
    state.schedule_shutdown(req.in_seconds, req.message);
    Ok(StatusCode::ACCEPTED)
}

pub(super) async fn status(
    AxState(state): Shared,
    Peer(ip): Peer,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    authorize(&state, ip, &headers)?;
    let info = state.info();
    let sessions = state.client_sessions();
    let usage = crate::process::usage();
    let status = AdminStatus {
        server_version: info.server_version,
        publication_name: info.publication_name,
        port: state.port,
        fingerprint: info.fingerprint,
        stamp: info.stamp.to_string(),
        archive_size: info.archive_size,
        uptime_secs: state.started.elapsed().as_secs(),
        sessions,
        peak_sessions: state
            .peak_sessions
            .load(std::sync::atomic::Ordering::Relaxed)
            .max(sessions),
        accepting: state.accepting.load(std::sync::atomic::Ordering::SeqCst),
        published: state.is_published(),
        addresses: state.addresses.iter().map(ToString::to_string).collect(),
        bytes_in: Monitor::get(&state.monitor.bytes_in),
        bytes_out: Monitor::get(&state.monitor.bytes_out),
        archives_served: Monitor::get(&state.monitor.archives_served),
        deltas_served: Monitor::get(&state.monitor.deltas_served),
        archive_bytes_served: Monitor::get(&state.monitor.archive_bytes_served),
        update_bytes_served: Monitor::get(&state.monitor.update_bytes_served),
        cpu_ms: usage.map(|u| u.cpu_ms),
        memory_bytes: usage.and_then(|u| u.memory_bytes),
        last_reload: state.monitor.last_reload(),
        client_versions: state.config.client_update.as_ref().and_then(|u| {
            (u.min_version.is_some() || u.max_version.is_some()).then(|| VersionRange {
                min: u.min_version.clone(),
                max: u.max_version.clone(),
            })
        }),
        update_offered: state
            .update
            .as_ref()
            .map(|(offer, _)| offer.version.clone()),
    };
    Ok(axum::Json(status).into_response())
}

pub(super) async fn accept(
    AxState(state): Shared,
    Peer(ip): Peer,
    headers: HeaderMap,
    Json(req): Json<AcceptRequest>,
) -> Result<StatusCode, Failure> {
    let who = authorize(&state, ip, &headers)?;
    tracing::info!(
        target: AUDIT,
        by = %who,
        accept = req.accept,
        "administration: new connections {}",
        if req.accept { "accepted" } else { "refused" }
    );
    state.activity.record(
        ActivityKind::Admin,
        format!(
            "{who} {} new connections",
            if req.accept { "accepted" } else { "refused" }
        ),
    );
    state
        .accepting
        .store(req.accept, std::sync::atomic::Ordering::SeqCst);
    Ok(StatusCode::NO_CONTENT)
}

/// `?after=N`: the events after number N.
#[derive(Debug, serde::Deserialize)]
pub(super) struct ActivityQuery {
    #[serde(default)]
    after: u64,
}

pub(super) async fn activity(
    AxState(state): Shared,
    Peer(ip): Peer,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<ActivityQuery>,
) -> Result<Response, Failure> {
    authorize(&state, ip, &headers)?;
    Ok(axum::Json(state.activity.since(q.after)).into_response())
}

/// The server log's lines after `?after=N`.
pub(super) async fn log(
    AxState(state): Shared,
    Peer(ip): Peer,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<ActivityQuery>,
) -> Result<Response, Failure> {
    authorize(&state, ip, &headers)?;
    Ok(axum::Json(crate::server::log::since(q.after)).into_response())
}

/// The builds kept, newest first, with the delta each has to the current one.
pub(super) async fn builds(
    AxState(state): Shared,
    Peer(ip): Peer,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    authorize(&state, ip, &headers)?;
    let kept = state.builds.kept();
    let current = kept.first().map(|b| b.stamp);
    let records: Vec<BuildRecord> = kept
        .iter()
        .enumerate()
        .map(|(i, b)| BuildRecord {
            stamp: b.stamp.to_string(),
            built_at_ms: u64::try_from(b.report.started_ns / 1_000_000).unwrap_or(0),
            archive_size: b.report.archive_size,
            files: b.report.file_count(),
            changed_files: kept
                .get(i + 1)
                .map(|before| changed_files(&before.report, &b.report)),
            current: Some(b.stamp) == current,
            delta_size: if Some(b.stamp) == current {
                None
            } else {
                state.builds.delta_size(&b.stamp)
            },
        })
        .collect();
    Ok(axum::Json(records).into_response())
}

/// Files added, changed (size or CRC) or removed from `before` to `after`.
fn changed_files(
    before: &crate::archive::BuildReport,
    after: &crate::archive::BuildReport,
) -> usize {
    let files = |r: &crate::archive::BuildReport| {
        r.entries
            .iter()
            .filter(|e| !e.is_dir())
            .map(|e| (e.name.clone(), (e.size, e.crc32)))
            .collect::<std::collections::HashMap<_, _>>()
    };
    let (old, new) = (files(before), files(after));
    let changed = new.iter().filter(|(n, v)| old.get(*n) != Some(v)).count();
    changed + old.keys().filter(|n| !new.contains_key(*n)).count()
}

/// Stops the server so that the program running it starts it again (the project, its users
/// and the configuration read anew); every session ends, its user told to connect again.
pub(super) async fn restart(
    AxState(state): Shared,
    Peer(ip): Peer,
    headers: HeaderMap,
) -> Result<StatusCode, Failure> {
    let who = authorize(&state, ip, &headers)?;
    tracing::info!(target: AUDIT, by = %who, "administration: restart");
    state
        .activity
        .record(ActivityKind::Admin, format!("{who} restarted the server"));
    state
        .restart
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = state.stop.send(true);
    Ok(StatusCode::ACCEPTED)
}

pub(super) async fn publish(
    AxState(state): Shared,
    Peer(ip): Peer,
    headers: HeaderMap,
    Json(req): Json<PublishRequest>,
) -> Result<Response, Failure> {
    let who = authorize(&state, ip, &headers)?;
    tracing::info!(target: AUDIT, by = %who, publish = req.publish, "administration: publication {}", if req.publish { "on" } else { "off" });
    state.activity.record(
        ActivityKind::Admin,
        format!(
            "{who} {} the publication on the network",
            if req.publish { "started" } else { "stopped" }
        ),
    );
    if !req.publish {
        state.unpublish().await;
    } else if !state.is_published() {
        crate::server::publish(&state).await;
        if !state.is_published() {
            return Err(fail(
                ErrorCode::Internal,
                "the server could not be published on the network (see its log); clients can still type its address",
            ));
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
