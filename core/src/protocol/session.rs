//! Opening and describing sessions (4D's `Session` for remote users).

use serde::{Deserialize, Serialize};

/// The client's platform, as 4D's `hostType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostType {
    /// Windows.
    Windows,
    /// macOS.
    Mac,
    /// Linux and others.
    Linux,
}

impl HostType {
    /// The name 4D uses in `Session.info.hostType`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Windows => "windows",
            Self::Mac => "mac",
            Self::Linux => "linux",
        }
    }

    /// This machine's name for [`HostType::name`].
    pub fn current_name() -> &'static str {
        Self::current().name()
    }

    /// This machine's.
    pub fn current() -> Self {
        if cfg!(windows) {
            Self::Windows
        } else if cfg!(target_os = "macos") {
            Self::Mac
        } else {
            Self::Linux
        }
    }
}

/// `POST /api/v1/sessions`: open (or resume) a session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OpenSession {
    /// User name (empty: the Designer, when the project allows it).
    pub user_name: Option<String>,
    /// Clear-text password (sent over TLS only).
    pub password: Option<String>,
    /// The stored hash, as a `.4DLink`'s `md5_password` carries it.
    pub password_hash: Option<String>,
    /// The client machine's name.
    pub machine_name: String,
    /// The OS user on the client.
    pub system_user_name: String,
    /// The client's platform.
    pub host_type: Option<HostType>,
    /// The client's persistent id (its `uuid.txt`).
    pub client_id: String,
    /// The client program's version.
    pub client_version: String,
    /// The answer to a challenge returned by a previous attempt.
    pub challenge: Option<ChallengeAnswer>,
    /// Resume this session instead of opening a new one.
    pub resume: Option<ResumeSession>,
    /// The `.4DLink`'s `user_param` (4D's *User param value*): given to the session and its hooks.
    pub user_param: Option<String>,
    /// The pairing text of a merged client (4D's `HardLink`), from its link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hard_link: Option<String>,
}

/// Resume an existing session after a lost connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeSession {
    /// Session id.
    pub session_id: String,
    /// Its token.
    pub token: String,
}

/// The answer to a hook's challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeAnswer {
    /// The challenge's id.
    pub id: String,
    /// What the user typed.
    pub answer: String,
}

/// The server's answer to [`OpenSession`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum OpenSessionResponse {
    /// The session is open.
    Opened(SessionOpened),
    /// The server's hook asks a question first; send it again with the answer.
    Challenge(Challenge),
}

/// An open session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionOpened {
    /// Its description.
    pub session: SessionInfo,
    /// The secret that authorises the session's requests (`Authorization: Bearer`).
    pub token: String,
    /// Its shared storage.
    pub storage: serde_json::Value,
    /// True when an existing session was resumed.
    pub resumed: bool,
}

/// A question from the server's open-connection hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// Id to send back with the answer.
    pub id: String,
    /// What to ask the user.
    pub prompt: String,
}

/// A session's state, as 4D's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Connected.
    Active,
    /// Connection lost; resumable until the grace period ends.
    Postponed,
    /// The client said it sleeps.
    Sleeping,
}

/// `Session.info` of 4D, for remote sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// `"remote"` or `"storedProcedure"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// 4D user name.
    #[serde(rename = "userName")]
    pub user_name: String,
    /// Client machine name.
    #[serde(rename = "machineName")]
    pub machine_name: String,
    /// OS user on the client.
    #[serde(rename = "systemUserName")]
    pub system_user_name: String,
    /// Client address.
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    /// Client platform: `"windows"`, `"mac"`, `"linux"`.
    #[serde(rename = "hostType")]
    pub host_type: String,
    /// ISO 8601 creation time.
    #[serde(rename = "creationDateTime")]
    pub creation_date_time: String,
    /// State.
    pub state: SessionState,
    /// Session id (UUID).
    #[serde(rename = "ID")]
    pub id: String,
    /// The client's persistent id.
    #[serde(rename = "persistentID")]
    pub persistent_id: String,
    /// The `.4DLink`'s `user_param` the client connected with (4D's *User param value*), if any.
    #[serde(rename = "userParam", default, skip_serializing_if = "Option::is_none")]
    pub user_param: Option<String>,
}
