//! Who may connect: IP rules, 4D users and passwords, failed-login throttling.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::config::{AccessRule, LoginConfig};
use super::sessions::same_secret;
use crate::project::{Directory, HashKind};
use crate::protocol::{ApiError, ErrorCode};

/// Applies the IP allow/deny table: first match wins; with rules and no match, refused.
/// `*` matches any rest of the address, as in 4D ("starts with").
pub fn ip_allowed(rules: &[AccessRule], ip: IpAddr) -> bool {
    if rules.is_empty() {
        return true;
    }
    let text = match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
        IpAddr::V4(v4) => v4.to_string(),
    };
    for rule in rules {
        if let Some(p) = &rule.allow {
            if pattern_matches(p, &text) {
                return true;
            }
        }
        if let Some(p) = &rule.deny {
            if pattern_matches(p, &text) {
                return false;
            }
        }
    }
    false
}

fn pattern_matches(pattern: &str, text: &str) -> bool {
    let pattern = pattern.trim();
    match pattern.split_once('*') {
        Some((prefix, _)) => text.starts_with(prefix),
        None => pattern == text,
    }
}

/// Checks a login against the project's users. Returns the 4D user name of the session.
///
/// - No user has a password: open access; the session is the named user if it exists, else the
///   Designer (4D opens as the Designer without a login dialog).
/// - Otherwise the user must exist; a user without password needs none; a bcrypt hash
///   (`$2y$`, `$2b$`) verifies the clear password; a `.4DLink` `md5_password` must equal the
///   stored hash, as in 4D.
///
/// # Errors
/// [`ErrorCode::WrongPassword`] with the same message for unknown users and wrong passwords.
pub fn check_login(
    directory: &Directory,
    user: Option<&str>,
    password: Option<&str>,
    hash: Option<&str>,
) -> Result<String, ApiError> {
    let wrong = || {
        ApiError::new(
            ErrorCode::WrongPassword,
            "unknown user or wrong password; check them (4D user names are not case-sensitive)",
        )
    };
    let requested = user.map(str::trim).filter(|u| !u.is_empty());
    if directory.is_open_access() {
        let name = requested
            .and_then(|u| directory.user(u).map(|x| x.name.clone()))
            .unwrap_or_else(|| "Designer".into());
        return Ok(name);
    }
    let found = match requested {
        Some(u) => directory.user(u),
        None => directory.users.iter().find(|u| u.is_designer()),
    }
    .ok_or_else(wrong)?;
    let Some(stored) = found.password_hash.as_deref() else {
        return Ok(found.name.clone());
    };
    if let Some(h) = hash.filter(|h| !h.is_empty()) {
        return if same_secret(h, stored) {
            Ok(found.name.clone())
        } else {
            Err(wrong())
        };
    }
    let password = password.unwrap_or_default();
    let ok = match found.hash_kind() {
        Some(HashKind::Bcrypt) => bcrypt::verify(password, stored).unwrap_or(false),
        _ => false,
    };
    if ok {
        Ok(found.name.clone())
    } else {
        Err(wrong())
    }
}

/// Counts failed logins per address and refuses further attempts past the limit.
pub struct LoginThrottle {
    config: LoginConfig,
    failures: Mutex<HashMap<IpAddr, Vec<Instant>>>,
}

impl LoginThrottle {
    /// A throttle with these limits.
    pub fn new(config: LoginConfig) -> Self {
        Self {
            config,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.config.window_secs.max(1))
    }

    /// Refuses when `ip` failed too often recently.
    ///
    /// # Errors
    /// [`ErrorCode::TooManyAttempts`] saying how long to wait.
    pub fn check(&self, ip: IpAddr) -> Result<(), ApiError> {
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let window = self.window();
        let list = map.entry(ip).or_default();
        list.retain(|t| now.duration_since(*t) < window);
        if self.config.max_failures > 0 && list.len() >= self.config.max_failures as usize {
            let wait = list
                .first()
                .map_or(window, |t| window.saturating_sub(now.duration_since(*t)));
            return Err(ApiError::new(
                ErrorCode::TooManyAttempts,
                format!(
                    "too many failed logins from this address; try again in {} s",
                    wait.as_secs().max(1)
                ),
            ));
        }
        Ok(())
    }

    /// Records a failure (and logs it).
    pub fn failed(&self, ip: IpAddr, user: &str) {
        tracing::warn!(%ip, user, "failed login");
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(ip).or_default().push(Instant::now());
        // Forget addresses with no recent failure so the table stays small.
        if map.len() > 10_000 {
            let window = self.window();
            map.retain(|_, v| v.last().is_some_and(|t| t.elapsed() < window));
        }
    }

    /// Clears an address after a successful login.
    pub fn succeeded(&self, ip: IpAddr) {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(allow: Option<&str>, deny: Option<&str>) -> AccessRule {
        AccessRule {
            allow: allow.map(Into::into),
            deny: deny.map(Into::into),
        }
    }

    #[test]
    fn ip_rules_first_match_wins() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(ip_allowed(&[], ip("10.0.0.1")));
        let rules = [rule(Some("192.168.1.*"), None), rule(None, Some("*"))];
        assert!(ip_allowed(&rules, ip("192.168.1.20")));
        assert!(ip_allowed(&rules, ip("::ffff:192.168.1.20")));
        assert!(!ip_allowed(&rules, ip("10.0.0.1")));
        let deny_only = [rule(None, Some("10.*"))];
        assert!(!ip_allowed(&deny_only, ip("10.1.1.1")));
        assert!(
            !ip_allowed(&deny_only, ip("192.168.1.1")),
            "only deny rules: everyone refused"
        );
        let exact = [rule(None, Some("127.0.0.1")), rule(Some("*"), None)];
        assert!(!ip_allowed(&exact, ip("127.0.0.1")));
        assert!(ip_allowed(&exact, ip("127.0.0.2")));
    }

    #[test]
    fn logins() {
        let hash = bcrypt::hash("secret", 4)
            .unwrap()
            .replacen("$2b$", "$2y$", 1);
        let json = format!(
            r#"{{"users":{{"designer":{{"password":"{hash}","alias":"Designer"}},"administrator":{{"alias":"Administrator"}},"bob":{{"password":"{hash}"}}}}}}"#
        );
        let d = Directory::parse(json.as_bytes()).unwrap();
        assert_eq!(
            check_login(&d, Some("BOB"), Some("secret"), None).unwrap(),
            "bob"
        );
        assert_eq!(
            check_login(&d, None, Some("secret"), None).unwrap(),
            "Designer"
        );
        assert_eq!(
            check_login(&d, Some("Administrator"), None, None).unwrap(),
            "Administrator"
        );
        assert_eq!(
            check_login(&d, Some("bob"), Some("wrong"), None)
                .unwrap_err()
                .code,
            ErrorCode::WrongPassword
        );
        assert_eq!(
            check_login(&d, Some("eve"), Some("secret"), None)
                .unwrap_err()
                .code,
            ErrorCode::WrongPassword
        );
        assert_eq!(
            check_login(&d, Some("bob"), None, Some(&hash)).unwrap(),
            "bob"
        );
        let fresh = bcrypt::hash("secret", 4).unwrap();
        assert!(
            check_login(&d, Some("bob"), None, Some(&fresh)).is_err(),
            "a fresh hash of the same password is refused, as in 4D"
        );
        let open = Directory::default();
        assert_eq!(
            check_login(&open, Some("anyone"), None, None).unwrap(),
            "Designer"
        );
    }

    #[test]
    fn throttle() {
        let t = LoginThrottle::new(LoginConfig {
            max_failures: 2,
            window_secs: 60,
        });
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        t.check(ip).unwrap();
        t.failed(ip, "x");
        t.failed(ip, "x");
        assert_eq!(t.check(ip).unwrap_err().code, ErrorCode::TooManyAttempts);
        assert!(t.check("10.0.0.8".parse().unwrap()).is_ok());
        t.succeeded(ip);
        assert!(t.check(ip).is_ok());
    }
}
