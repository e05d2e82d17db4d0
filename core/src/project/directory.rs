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
        Ok(Self { users, groups })
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
