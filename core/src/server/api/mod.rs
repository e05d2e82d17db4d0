//! The HTTP API under `/api/v1` (see `docs/protocol.md`).

mod admin;
mod devmode;
mod file_body;
mod project;
mod sessions;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::State;
use crate::protocol::{ApiError, ErrorBody, ErrorCode, paths};

/// JSON bodies are small; larger ones are refused with 413.
const MAX_JSON: usize = 1 << 20;
/// Files a development client sends (catalog, directory) may be larger.
pub(super) const MAX_FILE: usize = 64 << 20;

pub(super) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route(paths::INFO, get(project::info))
        .route(paths::SESSIONS, post(sessions::open))
        .route(paths::SESSION, get(sessions::get).delete(sessions::close))
        .route(paths::SESSION_EVENTS, get(sessions::events))
        .route(
            paths::SESSION_STORAGE,
            get(sessions::storage_get)
                .put(sessions::storage_put)
                .patch(sessions::storage_patch),
        )
        .route(paths::ARCHIVE, get(project::archive))
        .route(paths::MANIFEST, get(project::manifest))
        .route(paths::RESOURCES, get(project::resources))
        .route(paths::FOLDER, get(project::folder))
        .route(paths::DELTA, get(project::delta))
        .route(paths::ACCESS, get(project::access))
        .route(paths::RESOURCES_DELTA, get(project::resources_delta))
        .route(paths::FOLDER_DELTA, get(project::folder_delta))
        .route(paths::RELOAD, post(project::reload))
        .route(paths::DEVMODE_PROOF, post(devmode::proof))
        .route(paths::DEVMODE_CONFIRM, post(devmode::confirm))
        .route(
            paths::DEVMODE_LOCKS,
            get(devmode::locks)
                .post(devmode::acquire)
                .delete(devmode::release),
        )
        .route(
            paths::DEVMODE_FILE,
            axum::routing::put(devmode::put_file).layer(DefaultBodyLimit::max(MAX_FILE)),
        )
        .route(paths::CLIENT_UPDATE, get(project::update_offer))
        .route(paths::CLIENT_UPDATE_BINARY, get(project::update_binary))
        .route(paths::CLIENT_UPDATE_ACCESS, get(project::update_access))
        .route(paths::ADMIN_SESSIONS, get(admin::sessions))
        .route(paths::ADMIN_MESSAGE, post(admin::message))
        .route(paths::ADMIN_DROP, post(admin::drop_session))
        .route(paths::ADMIN_SHUTDOWN, post(admin::shutdown))
        .route(paths::ADMIN_STATUS, get(admin::status))
        .route(paths::ADMIN_ACCEPT, post(admin::accept))
        .route(paths::ADMIN_ACTIVITY, get(admin::activity))
        .route(paths::ADMIN_PUBLISH, post(admin::publish))
        .route(paths::ADMIN_LOG, get(admin::log))
        .route(paths::ADMIN_BUILDS, get(admin::builds))
        .route(paths::ADMIN_RESTART, post(admin::restart))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_JSON))
        .with_state(state)
}

async fn not_found() -> Failure {
    Failure(ApiError::new(
        ErrorCode::NotFound,
        "no such API path; see docs/protocol.md",
    ))
}

/// An [`ApiError`] as a response: its status and `{"error": {...}}`.
pub(super) struct Failure(pub ApiError);

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, axum::Json(ErrorBody { error: self.0 })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

pub(super) fn fail(code: ErrorCode, message: impl Into<String>) -> Failure {
    Failure(ApiError::new(code, message))
}

/// The bearer token of a request, if any.
pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The client's address (IPv4-mapped IPv6 shown as IPv4).
pub(super) struct Peer(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = Failure;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| fail(ErrorCode::Internal, "no peer address"))?;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        Ok(Self(ip))
    }
}

/// JSON bodies with our error format for malformed or oversized input.
pub(super) struct Json<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for Json<T> {
    type Rejection = Failure;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => {
                let code = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ErrorCode::PayloadTooLarge
                } else {
                    ErrorCode::BadRequest
                };
                Err(fail(
                    code,
                    format!(
                        "the request body is not acceptable: {}",
                        rejection.body_text()
                    ),
                ))
            }
        }
    }
}
