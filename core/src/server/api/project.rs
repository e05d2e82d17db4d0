//! Server info and the project: archive (ETag, conditional, ranges, streamed), manifest, delta,
//! reload.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Failure, bearer, fail};
use crate::archive::Stamp;
use crate::protocol::{ErrorCode, Manifest, Related, ReloadResult};
use crate::server::State;
use crate::server::builds::{Build, Builds};
use crate::server::sessions::same_secret;

type Shared = AxState<Arc<State>>;

pub(super) async fn info(AxState(state): Shared) -> Response {
    axum::Json(state.info()).into_response()
}

/// Project content needs a session when the project has passwords; open projects are open.
fn may_read_project(state: &State, headers: &HeaderMap) -> Result<(), Failure> {
    if state.directory().is_open_access() {
        return Ok(());
    }
    let token = bearer(headers).unwrap_or_default();
    if state.sessions.all().iter().any(|s| s.token_matches(token))
        || same_secret(token, &state.admin_token)
    {
        Ok(())
    } else {
        Err(fail(
            ErrorCode::UnknownSession,
            "this project requires a login: open a session and send Authorization: Bearer <token>",
        ))
    }
}

#[derive(Deserialize)]
pub(super) struct StampQuery {
    stamp: Option<String>,
}

fn which_build(state: &State, stamp: Option<&str>) -> Result<Arc<Build>, Failure> {
    build_of(&state.builds, stamp)
}

fn build_of(builds: &Builds, stamp: Option<&str>) -> Result<Arc<Build>, Failure> {
    match stamp {
        None => Ok(builds.current()),
        Some(s) => {
            let s: Stamp = s
                .parse()
                .map_err(|_| fail(ErrorCode::BadRequest, "stamp must be 64 hexadecimal digits"))?;
            builds.find(&s).ok_or_else(|| {
                fail(
                    ErrorCode::StampGone,
                    "the server no longer keeps that build; download the current archive",
                )
            })
        }
    }
}

fn etag(stamp: &Stamp) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{stamp}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

fn etag_matches(headers: &HeaderMap, name: header::HeaderName, stamp: &Stamp) -> bool {
    let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let wanted = stamp.to_string();
    v.split(',')
        .map(|t| t.trim().trim_start_matches("W/").trim_matches('"'))
        .any(|t| t == "*" || t == wanted)
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` → (start, end inclusive). `Err` = unsatisfiable.
/// `Ok(None)` = ignore (absent, malformed or several ranges): send everything.
fn parse_range(headers: &HeaderMap, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(v) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some(spec) = v.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 || len == 0 {
            return Err(());
        }
        (len.saturating_sub(n), len - 1)
    } else {
        let start: u64 = a.parse().map_err(|_| ())?;
        let end: u64 = if b.is_empty() {
            len.saturating_sub(1)
        } else {
            b.parse().map_err(|_| ())?
        };
        if start >= len || end < start {
            return Err(());
        }
        (start, end.min(len - 1))
    };
    Ok(Some(range))
}

pub(super) async fn send_file(
    path: &std::path::Path,
    headers: &HeaderMap,
    mut resp_headers: HeaderMap,
    tag: &Stamp,
) -> Result<Response, Failure> {
    let file = tokio::fs::File::open(path).await.map_err(|e| {
        fail(
            ErrorCode::Internal,
            format!("the archive is not readable: {e}"),
        )
    })?;
    let len = file
        .metadata()
        .await
        .map_err(|e| {
            fail(
                ErrorCode::Internal,
                format!("the archive is not readable: {e}"),
            )
        })?
        .len();
    resp_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    resp_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    // If-Range with another stamp: send the whole file.
    let if_range_ok =
        headers.get(header::IF_RANGE).is_none() || etag_matches(headers, header::IF_RANGE, tag);
    let range = if if_range_ok {
        parse_range(headers, len)
    } else {
        Ok(None)
    };
    let (status, start, count) = match range {
        Ok(Some((start, end))) => {
            let v = format!("bytes {start}-{end}/{len}");
            if let Ok(h) = HeaderValue::from_str(&v) {
                resp_headers.insert(header::CONTENT_RANGE, h);
            }
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        Ok(None) => (StatusCode::OK, 0, len),
        Err(()) => {
            if let Ok(h) = HeaderValue::from_str(&format!("bytes */{len}")) {
                resp_headers.insert(header::CONTENT_RANGE, h);
            }
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, resp_headers).into_response());
        }
    };
    resp_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    let file = file.into_std().await;
    let body = Body::from_stream(super::file_body::chunks(file, start, count));
    Ok((status, resp_headers, body).into_response())
}

pub(super) async fn archive(
    AxState(state): Shared,
    headers: HeaderMap,
    Query(q): Query<StampQuery>,
) -> Result<Response, Failure> {
    may_read_project(&state, &headers)?;
    let build = which_build(&state, q.stamp.as_deref())?;
    let cache = match (q.stamp.is_some(), state.directory().is_open_access()) {
        (true, true) => "public, max-age=31536000, immutable",
        (true, false) => "private, max-age=31536000, immutable",
        (false, _) => "no-cache",
    };
    let mut h = HeaderMap::new();
    let name = format!(
        "attachment; filename=\"{}.4dz\"",
        state.project_name.replace(['"', '\\'], "_")
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    let answer = serve_build(&build, &headers, cache, h).await?;
    // A whole archive served (a resumed range or a 304 is not another download).
    if answer.status() == StatusCode::OK {
        state.monitor.served(false);
    }
    count_bytes(&state.monitor.archive_bytes_served, &answer);
    Ok(answer)
}

/// Adds the bytes `answer` sends (its length, when it succeeded) to `counter`.
fn count_bytes(counter: &std::sync::atomic::AtomicU64, answer: &Response) {
    if let Some(len) = answer
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .filter(|_| answer.status().is_success())
    {
        counter.fetch_add(len, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Serves the archive of `build` with its ETag and `cache` policy (plus headers `h`):
/// `304` when the client has it, else the file (ranges honoured).
async fn serve_build(
    build: &Build,
    headers: &HeaderMap,
    cache: &'static str,
    mut h: HeaderMap,
) -> Result<Response, Failure> {
    h.insert(header::ETAG, etag(&build.stamp));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if etag_matches(headers, header::IF_NONE_MATCH, &build.stamp) {
        return Ok((StatusCode::NOT_MODIFIED, h).into_response());
    }
    send_file(&build.path, headers, h, &build.stamp).await
}

/// `GET /api/v1/project/resources`: the archive of the project's `Resources/` folder, served
/// as the project archive (ETag, conditional requests, ranges).
pub(super) async fn resources(
    state: Shared,
    headers: HeaderMap,
    q: Query<StampQuery>,
) -> Result<Response, Failure> {
    serve_related(state, headers, q, Related::Resources).await
}

/// `GET /api/v1/project/folders/{name}`: the archive of `Components/`, `Plugins/` or
/// `Libraries/`, served as `Resources/`.
pub(super) async fn folder(
    state: Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    q: Query<StampQuery>,
) -> Result<Response, Failure> {
    serve_related(state, headers, q, named_folder(&name)?).await
}

/// `Components/`, `Plugins/` or `Libraries/` by its name in a path (`Resources/` has its own).
fn named_folder(name: &str) -> Result<Related, Failure> {
    Related::from_folder(name)
        .filter(|f| *f != Related::Resources)
        .ok_or_else(|| {
            fail(
                ErrorCode::NotFound,
                "no such folder: components, plugins or libraries",
            )
        })
}

async fn serve_related(
    AxState(state): Shared,
    headers: HeaderMap,
    Query(q): Query<StampQuery>,
    folder: Related,
) -> Result<Response, Failure> {
    may_read_project(&state, &headers)?;
    let builds = state.related.builds(folder).ok_or_else(|| {
        fail(
            ErrorCode::NotFound,
            format!("the project has no {folder} folder"),
        )
    })?;
    let build = build_of(&builds, q.stamp.as_deref())?;
    let cache = if q.stamp.is_some() {
        "private, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    serve_build(&build, &headers, cache, HeaderMap::new()).await
}

pub(super) async fn manifest(
    AxState(state): Shared,
    headers: HeaderMap,
    Query(q): Query<StampQuery>,
) -> Result<Response, Failure> {
    may_read_project(&state, &headers)?;
    let build = which_build(&state, q.stamp.as_deref())?;
    let mut h = HeaderMap::new();
    h.insert(header::ETAG, etag(&build.stamp));
    if etag_matches(&headers, header::IF_NONE_MATCH, &build.stamp) {
        return Ok((StatusCode::NOT_MODIFIED, h).into_response());
    }
    Ok((h, axum::Json(Manifest::of(&build.report))).into_response())
}

#[derive(Deserialize)]
pub(super) struct DeltaQuery {
    from: String,
    /// The build the delta must lead to (a URL that names both ends never changes meaning:
    /// caches keep it); absent: the current one.
    to: Option<String>,
}

/// `GET /api/v1/project/access`: `204` when this request may read the project's archives and
/// deltas — what a cache in front of the server asks before answering from its copy (nginx
/// `auth_request`) — else the same refusal as the archive itself.
pub(super) async fn access(
    AxState(state): Shared,
    headers: HeaderMap,
) -> Result<StatusCode, Failure> {
    may_read_project(&state, &headers)?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn delta(
    AxState(state): Shared,
    headers: HeaderMap,
    Query(q): Query<DeltaQuery>,
) -> Result<Response, Failure> {
    may_read_project(&state, &headers)?;
    let answer = delta_of(&state.builds, &q, "the whole archive").await?;
    if answer.status() == StatusCode::OK {
        state.monitor.served(true);
    }
    Ok(answer)
}

/// `GET /api/v1/project/resources/delta`: a delta of the `Resources/` archive.
pub(super) async fn resources_delta(
    state: Shared,
    headers: HeaderMap,
    q: Query<DeltaQuery>,
) -> Result<Response, Failure> {
    related_delta(state, headers, q, Related::Resources).await
}

/// `GET /api/v1/project/folders/{name}/delta`: a delta of the archive of `Components/`,
/// `Plugins/` or `Libraries/`.
pub(super) async fn folder_delta(
    state: Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    q: Query<DeltaQuery>,
) -> Result<Response, Failure> {
    related_delta(state, headers, q, named_folder(&name)?).await
}

async fn related_delta(
    AxState(state): Shared,
    headers: HeaderMap,
    Query(q): Query<DeltaQuery>,
    folder: Related,
) -> Result<Response, Failure> {
    may_read_project(&state, &headers)?;
    let builds = state.related.builds(folder).ok_or_else(|| {
        fail(
            ErrorCode::NotFound,
            format!("the project has no {folder} folder"),
        )
    })?;
    delta_of(&builds, &q, "the whole folder archive").await
}

/// The delta from build `from` of `builds` to its current one: `304` when `from` is current,
/// `410` (download `whole` instead) when it is not kept.
async fn delta_of(builds: &Arc<Builds>, q: &DeltaQuery, whole: &str) -> Result<Response, Failure> {
    let stamp = |text: &str, name: &str| {
        text.parse::<Stamp>().map_err(|_| {
            fail(
                ErrorCode::BadRequest,
                format!("{name} must be a stamp (64 hexadecimal digits)"),
            )
        })
    };
    let from = stamp(&q.from, "from")?;
    let to = q.to.as_deref().map(|t| stamp(t, "to")).transpose()?;
    let current = builds.current();
    let mut h = HeaderMap::new();
    h.insert(header::ETAG, etag(&current.stamp));
    if to.is_some_and(|t| t != current.stamp) {
        return Err(fail(
            ErrorCode::StampGone,
            format!("that build is not the current one any more; ask again, or download {whole}"),
        ));
    }
    if from == current.stamp {
        return Ok((StatusCode::NOT_MODIFIED, h).into_response());
    }
    // Both ends named: the answer never changes (a cache may keep it for ever).
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if to.is_some() {
            "private, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    let Some((path, summary)) = builds
        .delta(&from)
        .await
        .map_err(|e| fail(ErrorCode::BuildFailed, e.to_string()))?
    else {
        return Err(fail(
            ErrorCode::StampGone,
            format!("the server no longer keeps that build; download {whole}"),
        ));
    };
    for (name, value) in [
        ("x-remote4d-from", summary.from.to_string()),
        ("x-remote4d-to", summary.to.to_string()),
        ("x-remote4d-changed", summary.changed.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(header::HeaderName::from_static(name), v);
        }
    }
    let disposition = format!(
        "attachment; filename=\"delta-{}-{}.zip\"",
        summary.from.short(),
        summary.to.short()
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    send_file(&path, &HeaderMap::new(), h, &summary.to).await
}

#[derive(Deserialize)]
pub(super) struct ReloadQuery {
    #[serde(default)]
    wait: bool,
}

pub(super) async fn reload(
    AxState(state): Shared,
    headers: HeaderMap,
    Query(q): Query<ReloadQuery>,
) -> Result<Response, Failure> {
    let token = bearer(&headers).unwrap_or_default();
    let allowed = same_secret(token, &state.admin_token)
        || state.sessions.all().iter().any(|s| s.token_matches(token));
    if !allowed {
        return Err(fail(
            ErrorCode::NotAuthorized,
            "reloading needs a session token or the administration token",
        ));
    }
    if q.wait {
        let r = state.rebuild().await.map_err(|e| {
            fail(
                ErrorCode::BuildFailed,
                format!("the project could not be rebuilt: {e}"),
            )
        })?;
        return Ok(axum::Json(ReloadResult {
            stamp: r.build.stamp,
            changed: r.changed,
            build_ms: r.millis,
        })
        .into_response());
    }
    let bg = Arc::clone(&state);
    tokio::spawn(async move {
        if let Err(err) = bg.rebuild().await {
            tracing::error!(%err, "reload failed");
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(crate::protocol::ReloadStarted {
            stamp: state.builds.current().stamp,
        }),
    )
        .into_response())
}

/// The update is for logged-in clients: a session's token, or the update token a refused client
/// received after its login.
fn update_authorized(state: &State, headers: &HeaderMap) -> Result<(), Failure> {
    let token = bearer(headers).unwrap_or_default();
    let by_update_token = !token.is_empty()
        && state
            .update_tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(token)
            .is_some_and(|expires| *expires > std::time::Instant::now());
    if by_update_token || state.sessions.all().iter().any(|s| s.token_matches(token)) {
        Ok(())
    } else {
        Err(fail(
            ErrorCode::UnknownSession,
            "the client update is given to logged-in clients only: connect first",
        ))
    }
}

/// `GET /api/v1/client/update`: the client build offered (404 when none).
pub(super) async fn update_offer(
    AxState(state): Shared,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    update_authorized(&state, &headers)?;
    match &state.update {
        Some((offer, _)) => Ok(axum::Json(offer.clone()).into_response()),
        None => Err(fail(
            ErrorCode::NotFound,
            "this server offers no client update",
        )),
    }
}

/// `GET /api/v1/client/update/access`: `204` when this request may fetch the offered client
/// build — what a cache in front of the server asks before answering from its copy (nginx
/// `auth_request`) — else the same refusal as the build itself.
pub(super) async fn update_access(
    AxState(state): Shared,
    headers: HeaderMap,
) -> Result<StatusCode, Failure> {
    update_authorized(&state, &headers)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(super) struct UpdateQuery {
    /// The SHA-256 of the build wanted: answered only while it is the one offered, and then
    /// never changes meaning (caches keep it).
    sha256: Option<String>,
}

/// `GET /api/v1/client/update/binary`: the offered client build.
pub(super) async fn update_binary(
    AxState(state): Shared,
    headers: HeaderMap,
    Query(q): Query<UpdateQuery>,
) -> Result<Response, Failure> {
    update_authorized(&state, &headers)?;
    let Some((offer, path)) = &state.update else {
        return Err(fail(
            ErrorCode::NotFound,
            "this server offers no client update",
        ));
    };
    if let Some(wanted) = &q.sha256
        && !wanted.eq_ignore_ascii_case(&offer.sha256)
    {
        return Err(fail(
            ErrorCode::NotFound,
            "this client build is no longer offered: connect again to get the current offer",
        ));
    }
    let stamp: Stamp = offer
        .sha256
        .parse()
        .map_err(|_| fail(ErrorCode::Internal, "bad update hash"))?;
    let mut h = HeaderMap::new();
    h.insert(header::ETAG, etag(&stamp));
    let cache = if q.sha256.is_some() {
        "private, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    let answer = send_file(path, &headers, h, &stamp).await?;
    count_bytes(&state.monitor.update_bytes_served, &answer);
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(range: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::RANGE, HeaderValue::from_str(range).unwrap());
        m
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range(&HeaderMap::new(), 100), Ok(None));
        assert_eq!(parse_range(&h("bytes=0-9"), 100), Ok(Some((0, 9))));
        assert_eq!(parse_range(&h("bytes=90-"), 100), Ok(Some((90, 99))));
        assert_eq!(parse_range(&h("bytes=-10"), 100), Ok(Some((90, 99))));
        assert_eq!(parse_range(&h("bytes=50-500"), 100), Ok(Some((50, 99))));
        assert_eq!(parse_range(&h("bytes=100-"), 100), Err(()));
        assert_eq!(parse_range(&h("bytes=9-3"), 100), Err(()));
        assert_eq!(parse_range(&h("bytes=x-3"), 100), Err(()));
        assert_eq!(parse_range(&h("bytes=0-1,5-6"), 100), Ok(None));
        assert_eq!(parse_range(&h("items=0-1"), 100), Ok(None));
    }
}
