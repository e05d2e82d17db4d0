//! `directory.json`: the project's users and groups.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{ProjectError, Result};

/// Users and groups of a 4D project (`Settings/directory.json` or `Data/Settings/directory.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Directory {
    /// Users, in file order.
    pub users: Vec<User>,
    /// Groups, in file order.
    pub groups: Vec<Group>,
    /// `settings.designAccessGroup`: the group whose members may use the Design environment
    /// (development mode), besides the Designer and the Administrator (`*` or empty: none more).
    pub design_access_group: Option<String>,
}

/// A 4D user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// The key in `directory.json` (`designer`, `administrator`, or the user's name).
    pub key: String,
    /// The name users log in with (`alias` when present, e.g. "Designer").
    pub name: String,
    /// The stored password hash, if the user has a password.
    pub password_hash: Option<String>,
}

/// How a stored 4D password hash is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HashKind {
    /// bcrypt (`$2y$`, `$2b$`, `$2a$`), 4D 19 R3 and later.
    Bcrypt,
    /// The 16-byte base64 digest of earlier 4D versions.
    LegacyDigest,
    /// Anything else.
    Unknown,
}

impl User {
    /// True for the Designer (key `designer`).
    pub fn is_designer(&self) -> bool {
        self.key.eq_ignore_ascii_case("designer")
    }

    /// True for the Administrator (key `administrator`).
    pub fn is_administrator(&self) -> bool {
        self.key.eq_ignore_ascii_case("administrator")
    }

    /// The kind of the stored hash.
    pub fn hash_kind(&self) -> Option<HashKind> {
        self.password_hash.as_deref().map(|h| {
            if h.starts_with("$2y$") || h.starts_with("$2b$") || h.starts_with("$2a$") {
                HashKind::Bcrypt
            } else if h.len() == 24 && h.ends_with("==") {
                HashKind::LegacyDigest
            } else {
                HashKind::Unknown
            }
        })
    }
}

/// A 4D group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Group name.
    pub name: String,
    /// Member user names.
    pub users: Vec<String>,
    /// Member group names.
    pub groups: Vec<String>,
}

#[derive(Deserialize)]
struct RawDirectory {
    #[serde(default)]
    users: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    groups: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    settings: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct RawUser {
    password: Option<String>,
    alias: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawGroup {
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
}

impl Directory {
    /// Reads a `directory.json` file.
    ///
    /// # Errors
    /// [`ProjectError::Io`] or [`ProjectError::Json`] (with line and column).
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(ProjectError::io(path))?;
        Self::parse(&bytes).map_err(|source| ProjectError::Json {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Parses the JSON text of a `directory.json`. Entries of an unexpected shape are skipped.
    ///
    /// # Errors
    /// The JSON error when the text is not a JSON object.
    pub fn parse(bytes: &[u8]) -> std::result::Result<Self, serde_json::Error> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let raw: RawDirectory = serde_json::from_slice(bytes)?;
        let users = raw
            .users
            .into_iter()
            .map(|(key, v)| {
                let u: RawUser = serde_json::from_value(v).unwrap_or_default();
                User {
                    name: u
                        .alias
                        .filter(|a| !a.is_empty())
                        .unwrap_or_else(|| key.clone()),
                    key,
                    password_hash: u.password.filter(|p| !p.is_empty()),
                }
            })
            .collect();
        let groups = raw
            .groups
            .into_iter()
            .map(|(name, v)| {
                let g: RawGroup = serde_json::from_value(v).unwrap_or_default();
                Group {
                    name,
                    users: g.users,
                    groups: g.groups,
                }
            })
            .collect();
        let design_access_group = raw
            .settings
            .get("designAccessGroup")
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|g| !g.is_empty() && *g != "*")
            .map(str::to_owned);
        Ok(Self {
            users,
            groups,
            design_access_group,
        })
    }

    /// Checks a `directory.json` a client wants the server to write, against the users in force:
    /// it must be a JSON object whose `users` and `groups` are objects of objects, every password
    /// a hash 4D can check (bcrypt, or the digest of earlier versions), and — when the project
    /// had someone with design rights — someone must keep them (the Designer, the Administrator
    /// or a member of the design access group), or nobody could administer the project again.
    ///
    /// # Errors
    /// What is wrong, in words for the developer who sent it.
    pub fn validate_replacement(
        &self,
        bytes: &[u8],
    ) -> std::result::Result<Self, ReplacementError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(ReplacementError::NotJson)?;
        let object = value.as_object().ok_or(ReplacementError::NotAnObject)?;
        for key in ["users", "groups"] {
            if let Some(v) = object.get(key) {
                let map = v.as_object().ok_or_else(|| ReplacementError::NotObjects {
                    path: format!("\"{key}\""),
                })?;
                if let Some((name, _)) = map.iter().find(|(_, e)| !e.is_object()) {
                    return Err(ReplacementError::NotObjects {
                        path: format!("\"{key}\".\"{name}\""),
                    });
                }
            }
        }
        if let Some(users) = object.get("users").and_then(serde_json::Value::as_object) {
            for (name, entry) in users {
                check_password(name, entry.get("password"))?;
            }
        }
        let fresh = Self::parse(bytes).map_err(ReplacementError::Invalid)?;
        if self.has_designers() && !fresh.has_designers() {
            return Err(ReplacementError::LastDesigner);
        }
        Ok(fresh)
    }

    /// True when `user` may work in development mode (4D's Design environment): anyone when the
    /// project has no passwords; otherwise the Designer, the Administrator, and the members of
    /// the design access group.
    pub fn may_design(&self, user: &str) -> bool {
        if self.is_open_access() {
            return true;
        }
        let Some(u) = self.user(user) else {
            return false;
        };
        u.is_designer() || u.is_administrator() || self.members_include(u)
    }

    /// True when `user` may administer the server from a session: the Designer or the
    /// Administrator of a project with passwords (without them everyone would be the Designer).
    pub fn may_administer(&self, user: &str) -> bool {
        !self.is_open_access()
            && self
                .user(user)
                .is_some_and(|u| u.is_designer() || u.is_administrator())
    }

    /// True when at least one user has design rights (see [`Directory::may_design`]).
    fn has_designers(&self) -> bool {
        self.users
            .iter()
            .any(|u| u.is_designer() || u.is_administrator() || self.members_include(u))
    }

    fn members_include(&self, u: &User) -> bool {
        self.design_access_group.as_ref().is_some_and(|g| {
            self.members().get(g).is_some_and(|members| {
                members
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(&u.name) || m.eq_ignore_ascii_case(&u.key))
            })
        })
    }

    /// The user logging in as `name` (matched on name or key, case-insensitively as 4D does).
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.name.eq_ignore_ascii_case(name) || u.key.eq_ignore_ascii_case(name))
    }

    /// True when nobody needs a password: no users, or only users without passwords
    /// (4D then opens as the Designer without a login dialog).
    pub fn is_open_access(&self) -> bool {
        self.users.iter().all(|u| u.password_hash.is_none())
    }

    /// Group name → member user names, with nested groups expanded.
    pub fn members(&self) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        for g in &self.groups {
            let mut users = Vec::new();
            let mut seen = vec![g.name.clone()];
            self.collect(g, &mut users, &mut seen);
            users.sort();
            users.dedup();
            out.insert(g.name.clone(), users);
        }
        out
    }

    fn collect(&self, g: &Group, users: &mut Vec<String>, seen: &mut Vec<String>) {
        users.extend(g.users.iter().cloned());
        for sub in &g.groups {
            if seen.contains(sub) {
                continue;
            }
            seen.push(sub.clone());
            if let Some(sg) = self.groups.iter().find(|x| &x.name == sub) {
                self.collect(sg, users, seen);
            }
        }
    }
}

/// Why a `directory.json` sent by a client is refused (nothing is written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplacementError {
    /// It is not JSON.
    #[error("it is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// It is not an object.
    #[error("it must be a JSON object with \"users\" and \"groups\"")]
    NotAnObject,
    /// `users`, `groups` or one of their entries is not an object.
    #[error("{path} must be an object")]
    NotObjects {
        /// Where, as `"users"."name"`.
        path: String,
    },
    /// A password is not a hash 4D can check.
    #[error(
        "the password of \"{user}\" is not a 4D password hash (bcrypt $2y$…); set passwords with 4D's editor or SET USER PROPERTIES"
    )]
    NotAHash {
        /// The user.
        user: String,
    },
    /// A password is not a string.
    #[error("the password of \"{user}\" must be a string")]
    NotAString {
        /// The user.
        user: String,
    },
    /// It does not parse as a directory.
    #[error("it is not valid: {0}")]
    Invalid(#[source] serde_json::Error),
    /// Nobody would keep design rights.
    #[error(
        "it removes the last user with design rights (the Designer, the Administrator, or a member of the design access group); nobody could administer the project any more"
    )]
    LastDesigner,
}

/// A user's `password` in a `directory.json` sent by a client: none, or a hash 4D can check.
fn check_password(
    name: &str,
    password: Option<&serde_json::Value>,
) -> std::result::Result<(), ReplacementError> {
    match password {
        None | Some(serde_json::Value::Null) => Ok(()),
        Some(serde_json::Value::String(p)) if p.is_empty() => Ok(()),
        Some(serde_json::Value::String(p)) => {
            let probe = User {
                key: name.to_owned(),
                name: name.to_owned(),
                password_hash: Some(p.clone()),
            };
            if probe.hash_kind() == Some(HashKind::Unknown) {
                Err(ReplacementError::NotAHash {
                    user: name.to_owned(),
                })
            } else {
                Ok(())
            }
        }
        Some(_) => Err(ReplacementError::NotAString {
            user: name.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$2y$04$abcdefghijklmnopqrstuu5Ek1pW2Grj0hZQZXg5s2WiQb4Y8mN1S";

    fn dir(json: &str) -> Directory {
        Directory::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn design_rights_follow_4d() {
        let d = dir(&format!(
            r#"{{"users":{{"designer":{{"alias":"Designer","password":"{HASH}"}},
                "administrator":{{"alias":"Administrator"}},"ann":{{"password":"{HASH}"}},
                "bob":{{"password":"{HASH}"}}}},
              "groups":{{"devs":{{"users":["ann"]}},"all":{{"groups":["devs"],"users":["bob"]}}}},
              "settings":{{"designAccessGroup":"devs"}}}}"#
        ));
        assert!(d.may_design("Designer"));
        assert!(d.may_design("administrator"));
        assert!(d.may_design("Ann"), "a member of the design access group");
        assert!(!d.may_design("bob"), "not in the design access group");
        assert!(!d.may_design("nobody"));
        let open = dir(r#"{"users":{"bob":{}}}"#);
        assert!(open.may_design("bob"), "no passwords: everyone, as in 4D");
        let star = dir(&format!(
            r#"{{"users":{{"bob":{{"password":"{HASH}"}}}},"settings":{{"designAccessGroup":"*"}}}}"#
        ));
        assert!(!star.may_design("bob"));
    }

    #[test]
    fn a_replacement_is_validated_and_cannot_remove_the_last_designer() {
        let d = dir(&format!(
            r#"{{"users":{{"designer":{{"alias":"Designer","password":"{HASH}"}},"bob":{{"password":"{HASH}"}}}}}}"#
        ));
        let ok = format!(
            r#"{{"users":{{"designer":{{"alias":"Designer","password":"{HASH}"}},"bob":{{}}}}}}"#
        );
        assert!(d.validate_replacement(ok.as_bytes()).is_ok());
        for (bad, why) in [
            (r#"{"users":{}}"#.to_owned(), "last user with design rights"),
            (
                r#"{"users":{"bob":{}}}"#.to_owned(),
                "last user with design rights",
            ),
            ("[]".to_owned(), "JSON object"),
            ("{".to_owned(), "not JSON"),
            (
                r#"{"users":{"designer":3}}"#.to_owned(),
                "must be an object",
            ),
            (r#"{"users":[]}"#.to_owned(), "must be an object"),
            (
                r#"{"users":{"designer":{"password":"secret"}}}"#.to_owned(),
                "not a 4D password hash",
            ),
            (
                r#"{"users":{"designer":{"password":5}}}"#.to_owned(),
                "must be a string",
            ),
        ] {
            let err = d
                .validate_replacement(bad.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
        // A project without any design user yet may get one, or none.
        assert!(
            Directory::default()
                .validate_replacement(br#"{"users":{}}"#)
                .is_ok()
        );
    }
}
