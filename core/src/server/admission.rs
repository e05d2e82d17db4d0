//! Who may open a session, decided before any hook runs and without HTTP: the server's state
//! (shutting down), the address rules, a resumed session, the login (throttled), and the
//! client's version. The API handler only turns the decision into an answer.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use super::sessions::Session;
use super::{State, auth};
use crate::protocol::{ApiError, ErrorCode, HostType, OpenSession, SessionInfo, SessionState};

/// How long a refused client may fetch the offered update after its login.
const UPDATE_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(600);

/// What the server decided about a request to open a session.
#[derive(Debug)]
pub(crate) enum Admission {
    /// An existing session, resumed with its token.
    Resume(Arc<Session>, String),
    /// A new session for this user, once the open hook accepts it.
    New {
        /// The user logged in.
        user_name: String,
    },
}

/// Decides on `req` from `ip`.
///
/// # Errors
/// The [`ApiError`] to answer: shutting down, refused by the address rules, unknown session,
/// a failed or throttled login, or a client version the server does not accept (with a token
/// to fetch the offered update).
pub(crate) fn admit(state: &State, ip: IpAddr, req: &OpenSession) -> Result<Admission, ApiError> {
    if state
        .shutting_down
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        return Err(ApiError::new(
            ErrorCode::ShuttingDown,
            "the server is shutting down; try again later",
        ));
    }
    if !auth::ip_allowed(&state.config.access, ip) {
        tracing::info!(%ip, "connection refused by the address rules");
        return Err(ApiError::new(
            ErrorCode::Refused,
            "this server does not accept connections from your address",
        ));
    }
    if let Some(resume) = &req.resume {
        let session = state
            .sessions
            .get(&resume.session_id, &resume.token)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::UnknownSession,
                    "that session has ended; connect again",
                )
            })?;
        return Ok(Admission::Resume(session, resume.token.clone()));
    }
    let claimed = req.user_name.as_deref().unwrap_or("");
    state.throttle.check(ip, claimed)?;
    let user_name = match auth::check_login(
        &state.directory(),
        req.user_name.as_deref(),
        req.password.as_deref(),
        req.password_hash.as_deref(),
    ) {
        Ok(u) => u,
        Err(e) => {
            state.throttle.failed(ip, claimed);
            return Err(e);
        }
    };
    state.throttle.succeeded(ip, claimed);
    // New connections turned off by the administrator: only the Designer and the Administrator
    // get in (to turn them on again from anywhere); existing sessions were let be.
    if !state.accepting.load(std::sync::atomic::Ordering::SeqCst)
        && !state.directory().may_administer(&user_name)
    {
        tracing::info!(%ip, user = %user_name, "new connection refused: the administrator turned new connections off");
        return Err(ApiError::new(
            ErrorCode::Refused,
            "the server does not accept new connections at the moment (its administrator turned them off); try again later",
        ));
    }
    // A server paired with its own client application (4D's HardLink) refuses any other; the
    // Designer and the Administrator, logged in with their password, still get in to
    // administer it (an open-access project has no such login: everyone is the Designer).
    let directory = state.directory();
    let administrator = !directory.is_open_access() && directory.may_administer(&user_name);
    if let Some(expected) = state.config.hard_link.as_deref().filter(|h| !h.is_empty())
        && req.hard_link.as_deref() != Some(expected)
        && !administrator
    {
        tracing::info!(%ip, user = %user_name, "connection refused: not this server's own client application (HardLink)");
        return Err(ApiError::new(
            ErrorCode::Refused,
            "this server accepts only its own client application (built with the same HardLink in Build Application); connect with the client made for it",
        ));
    }
    // A client of a version the server does not accept may fetch the offered update, once
    // logged in (the build is the project publisher's, not for anyone who asks).
    if let Some(mut refusal) = state
        .config
        .client_update
        .as_ref()
        .and_then(|u| version_refusal(u, &req.client_version))
    {
        let token = super::sessions::new_token();
        state
            .update_tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(token.clone(), Instant::now() + UPDATE_TOKEN_LIFETIME);
        refusal.update_token = Some(token);
        return Err(refusal);
    }
    Ok(Admission::New { user_name })
}

/// The refusal of a client of `version` when the server offers `update` and accepts only its
/// range; `None` when the version is accepted.
pub(crate) fn version_refusal(
    update: &super::config::ClientUpdateConfig,
    version: &str,
) -> Option<ApiError> {
    let (min, max) = (update.min_version.as_deref(), update.max_version.as_deref());
    if crate::protocol::in_range(version, min, max) {
        return None;
    }
    let range = format!("{} to {}", min.unwrap_or("any"), max.unwrap_or("any"));
    let this = if version.is_empty() {
        "unknown"
    } else {
        version
    };
    Some(ApiError::new(
        ErrorCode::ClientVersion,
        format!(
            "this server accepts Remote4D clients {range}; this one is {this}. Version {} is offered: accept the update to connect",
            update.version
        ),
    ))
}

/// The description of a new session of `user_name` from `ip`, from what the client said
/// (clipped, control characters removed: it is shown to administrators).
pub(crate) fn session_info(req: &OpenSession, ip: IpAddr, user_name: &str) -> SessionInfo {
    SessionInfo {
        kind: "remote".into(),
        user_name: user_name.to_owned(),
        machine_name: clip(&req.machine_name, 255),
        system_user_name: clip(&req.system_user_name, 255),
        ip_address: ip.to_string(),
        host_type: req.host_type.unwrap_or(HostType::Linux).name().into(),
        creation_date_time: crate::time::iso8601(std::time::SystemTime::now()),
        state: SessionState::Active,
        id: uuid::Uuid::new_v4().to_string(),
        persistent_id: clip(&req.client_id, 64),
        user_param: req
            .user_param
            .as_deref()
            .map(|p| clip(p, MAX_USER_PARAM))
            .filter(|p| !p.is_empty()),
    }
}

/// The longest `user_param` kept, in characters (4D passes it as text; a link carries a short one).
const MAX_USER_PARAM: usize = 4096;

fn clip(s: &str, n: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::ClientUpdateConfig;

    fn offer(min: Option<&str>, max: Option<&str>) -> ClientUpdateConfig {
        ClientUpdateConfig {
            min_version: min.map(Into::into),
            max_version: max.map(Into::into),
            version: "2.0.0".into(),
            build: "remote4d-2.0.0".into(),
            signature: None,
        }
    }

    #[test]
    fn a_version_outside_the_range_is_refused_with_the_offer() {
        let u = offer(Some("1.5.0"), Some("2.0.0"));
        assert!(version_refusal(&u, "1.7.3").is_none());
        assert!(version_refusal(&u, "2.0.0").is_none());
        let old = version_refusal(&u, "1.4.9").unwrap();
        assert_eq!(old.code, ErrorCode::ClientVersion);
        assert!(
            old.message.contains("1.5.0 to 2.0.0") && old.message.contains("this one is 1.4.9"),
            "{}",
            old.message
        );
        assert!(old.message.contains("Version 2.0.0 is offered"));
        let unknown = version_refusal(&offer(Some("1.0.0"), None), "").unwrap();
        assert!(
            unknown
                .message
                .contains("1.0.0 to any; this one is unknown")
        );
    }

    #[test]
    fn what_a_client_says_about_itself_is_clipped_and_cleaned() {
        let req = OpenSession {
            machine_name: format!("pc\u{1b}[31m{}", "m".repeat(400)),
            system_user_name: "ann\n".into(),
            client_id: "c".repeat(100),
            ..OpenSession::default()
        };
        let ip: IpAddr = "192.168.1.20".parse().unwrap();
        let info = session_info(&req, ip, "Ann");
        assert_eq!(info.user_name, "Ann");
        assert_eq!(info.machine_name.chars().count(), 255);
        assert!(!info.machine_name.contains('\u{1b}'));
        assert_eq!(info.system_user_name, "ann");
        assert_eq!(info.persistent_id.len(), 64);
        assert_eq!(info.ip_address, "192.168.1.20");
        assert_eq!(info.host_type, HostType::Linux.name());
        assert!(uuid::Uuid::parse_str(&info.id).is_ok());
    }
}
