//! Who may connect: IP rules, 4D users and passwords, failed-login throttling.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};
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
    };
    let Some(found) = found else {
        // As long as for a known user: the time of an answer must not tell which names exist.
        if hash.is_none_or(str::is_empty) {
            let _ = bcrypt::verify(password.unwrap_or_default(), decoy_hash(directory));
        }
        return Err(wrong());
    };
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

/// A bcrypt hash of a random password at the cost the project's own hashes use, checked for
/// unknown users so that they take as long to refuse as known ones.
fn decoy_hash(directory: &Directory) -> &'static str {
    static DECOYS: OnceLock<Mutex<HashMap<u32, &'static str>>> = OnceLock::new();
    let cost = directory
        .users
        .iter()
        .filter_map(|u| u.password_hash.as_deref())
        .find_map(|h| {
            let mut parts = h.split('$');
            let (_, _, cost) = (parts.next(), parts.next(), parts.next());
            cost.and_then(|c| c.parse::<u32>().ok())
        })
        .unwrap_or(bcrypt::DEFAULT_COST)
        .clamp(4, 14);
    let mut decoys = DECOYS
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    decoys.entry(cost).or_insert_with(|| {
        let hash = bcrypt::hash(super::sessions::new_token(), cost).unwrap_or_default();
        Box::leak(hash.into_boxed_str())
    })
}

/// What failed logins are counted by: an IPv4 address, or an IPv6 /64 network (one host can
/// use a whole /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    V4(std::net::Ipv4Addr),
    V6Net(u64),
}

impl From<IpAddr> for Source {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => Self::V6Net((v6.to_bits() >> 64) as u64),
            },
        }
    }
}

/// Counts failed logins per address (IPv6: per /64) and per user name, and refuses further
/// attempts past either limit.
pub struct LoginThrottle {
    config: LoginConfig,
    failures: Mutex<HashMap<Source, Vec<Instant>>>,
    users: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginThrottle {
    /// A throttle with these limits.
    pub fn new(config: LoginConfig) -> Self {
        Self {
            config,
            failures: Mutex::new(HashMap::new()),
            users: Mutex::new(HashMap::new()),
        }
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.config.window_secs.max(1))
    }

    /// How long until a list of recent failures is under `max` again, if it is at it.
    fn wait<K: std::hash::Hash + Eq>(
        &self,
        map: &Mutex<HashMap<K, Vec<Instant>>>,
        key: K,
        max: u32,
    ) -> Option<Duration> {
        let mut map = map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let window = self.window();
        let list = map.get_mut(&key)?;
        list.retain(|t| now.duration_since(*t) < window);
        (max > 0 && list.len() >= max as usize).then(|| {
            list.first()
                .map_or(window, |t| window.saturating_sub(now.duration_since(*t)))
        })
    }

    /// Refuses when `ip` (or its IPv6 /64), or the user name `user`, failed too often recently.
    ///
    /// # Errors
    /// [`ErrorCode::TooManyAttempts`] saying how long to wait.
    pub fn check(&self, ip: IpAddr, user: &str) -> Result<(), ApiError> {
        let refuse = |who: &str, wait: Duration| {
            ApiError::new(
                ErrorCode::TooManyAttempts,
                format!(
                    "too many failed logins {who}; try again in {} s",
                    wait.as_secs().max(1)
                ),
            )
        };
        if let Some(wait) = self.wait(&self.failures, Source::from(ip), self.config.max_failures) {
            return Err(refuse("from this address", wait));
        }
        let user = user.trim().to_lowercase();
        if let Some(wait) = self.wait(&self.users, user, self.config.max_failures_per_user) {
            return Err(refuse("for this user", wait));
        }
        Ok(())
    }

    /// Records a failure (and logs it).
    pub fn failed(&self, ip: IpAddr, user: &str) {
        tracing::warn!(%ip, user, "failed login");
        let now = Instant::now();
        let window = self.window();
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(Source::from(ip)).or_default().push(now);
        // Forget addresses with no recent failure so the table stays small.
        if map.len() > 10_000 {
            map.retain(|_, v| v.last().is_some_and(|t| t.elapsed() < window));
        }
        drop(map);
        let mut users = self
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        users
            .entry(user.trim().to_lowercase())
            .or_default()
            .push(now);
        if users.len() > 10_000 {
            users.retain(|_, v| v.last().is_some_and(|t| t.elapsed() < window));
        }
    }

    /// Clears an address and a user after a successful login.
    pub fn succeeded(&self, ip: IpAddr, user: &str) {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&Source::from(ip));
        self.users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&user.trim().to_lowercase());
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
            max_failures_per_user: 3,
            window_secs: 60,
        });
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        t.check(ip, "x").unwrap();
        t.failed(ip, "x");
        t.failed(ip, "x");
        assert_eq!(
            t.check(ip, "y").unwrap_err().code,
            ErrorCode::TooManyAttempts
        );
        assert!(t.check("10.0.0.8".parse().unwrap(), "y").is_ok());
        t.succeeded(ip, "x");
        assert!(t.check(ip, "x").is_ok());
        // One user, many addresses (IPv6 makes addresses cheap): the user is throttled.
        for i in 1..=3 {
            t.failed(format!("10.1.0.{i}").parse().unwrap(), "Bob");
        }
        assert_eq!(
            t.check("10.2.0.1".parse().unwrap(), "bob")
                .unwrap_err()
                .code,
            ErrorCode::TooManyAttempts
        );
        // One IPv6 /64 counts as one address.
        t.failed("2001:db8:1:2::1".parse().unwrap(), "p");
        t.failed("2001:db8:1:2:ffff::9".parse().unwrap(), "q");
        assert!(t.check("2001:db8:1:2::77".parse().unwrap(), "r").is_err());
        assert!(t.check("2001:db8:1:3::1".parse().unwrap(), "r").is_ok());
    }

    #[test]
    fn unknown_users_cost_a_bcrypt_check() {
        let hash = bcrypt::hash("secret", 6).unwrap();
        let json = format!(r#"{{"users":{{"bob":{{"password":"{hash}"}}}}}}"#);
        let d = Directory::parse(json.as_bytes()).unwrap();
        let decoy = decoy_hash(&d);
        assert!(decoy.starts_with("$2") && decoy.contains("$06$"), "{decoy}");
        // The decoy is checked (same cost as the project's hashes) and never matches.
        let time = |user: &str| {
            let t = Instant::now();
            for _ in 0..5 {
                let _ = check_login(&d, Some(user), Some("guess"), None);
            }
            t.elapsed()
        };
        let (_, known, unknown) = (time("warm-up"), time("bob"), time("eve"));
        assert!(
            unknown * 3 > known,
            "an unknown user is refused without the work of a known one: {unknown:?} vs {known:?}"
        );
    }
}
