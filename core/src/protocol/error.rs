//! API errors: a stable code for programs and a message for people.

use serde::{Deserialize, Serialize};

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request is malformed.
    BadRequest,
    /// Unknown user or wrong password.
    WrongPassword,
    /// Too many failed logins from this address; wait.
    TooManyAttempts,
    /// The connection was refused (by the server's hook or its address rules).
    Refused,
    /// The answer to the hook's challenge was wrong or expired.
    ChallengeFailed,
    /// No session with that id, or the token does not match.
    UnknownSession,
    /// Missing or wrong administration token.
    NotAuthorized,
    /// Nothing at that path.
    NotFound,
    /// The build asked for is no longer kept (ask for the full archive).
    StampGone,
    /// The request body is too large.
    PayloadTooLarge,
    /// Someone else holds the edit lock.
    Locked,
    /// The project could not be (re)built.
    BuildFailed,
    /// The server is shutting down.
    ShuttingDown,
    /// The client's version is not accepted.
    ClientVersion,
    /// The server is at one of its limits (sessions, connections); try again later.
    Busy,
    /// The session storage would exceed the server's limits.
    StorageFull,
    /// Anything else.
    Internal,
}

impl ErrorCode {
    /// The HTTP status that carries this code.
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::WrongPassword
            | Self::ChallengeFailed
            | Self::UnknownSession
            | Self::NotAuthorized => 401,
            Self::Refused => 403,
            Self::NotFound => 404,
            Self::Locked => 409,
            Self::StampGone => 410,
            Self::PayloadTooLarge => 413,
            Self::ClientVersion => 426,
            Self::TooManyAttempts => 429,
            Self::BuildFailed | Self::Internal => 500,
            Self::ShuttingDown | Self::Busy => 503,
            Self::StorageFull => 507,
        }
    }
}

/// An error as the API returns it: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// Stable code.
    pub code: ErrorCode,
    /// What happened and what to do, in plain words.
    pub message: String,
    /// With [`ErrorCode::ClientVersion`], after a successful login: a short-lived token that
    /// lets this client fetch the update the server offers (and nothing else).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_token: Option<String>,
}

/// The JSON body of an error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ApiError,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            update_token: None,
        }
    }
}
