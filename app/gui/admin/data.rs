//! What the server window reads and asks of the server, through core's typed administration
//! client only: the same API as `remote4d admin`, locally (the token file) or from elsewhere
//! (the Designer's or the Administrator's login).

use std::time::Instant;

use remote4d_core::client::admin::AdminClient;
use remote4d_core::environment::Environment;
use remote4d_core::protocol::paths::{
    ActivityEntry, AdminSession, AdminStatus, BuildRecord, LogLine,
};

/// Which server the window administers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The server on this machine's port (its token file).
    Local {
        /// The port.
        port: u16,
    },
    /// A server elsewhere, as its Designer or Administrator.
    Remote {
        /// `host[:port]`.
        address: String,
        /// The 4D user.
        user: String,
        /// The password.
        password: String,
    },
}

impl Target {
    /// The address shown in the title.
    pub fn label(&self) -> String {
        match self {
            Self::Local { port } => format!("this machine, port {port}"),
            Self::Remote { address, user, .. } => format!("{address} as {user}"),
        }
    }
}

/// Opens the administration client of `target`.
pub async fn open(env: Environment, target: Target) -> Result<AdminClient, String> {
    match target {
        Target::Local { port } => AdminClient::local(&env, port).map_err(|e| e.to_string()),
        Target::Remote {
            address,
            user,
            password,
        } => AdminClient::remote(&env, &address, &user, &password)
            .await
            .map_err(|e| e.to_string()),
    }
}

/// One reading of the server.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When it was read (for rates).
    pub at: Instant,
    /// Its status.
    pub status: AdminStatus,
    /// Its sessions.
    pub sessions: Vec<AdminSession>,
    /// The activity events after the last one the window had.
    pub activity: Vec<ActivityEntry>,
    /// The log lines after the last one the window had.
    pub log: Vec<LogLine>,
    /// The builds kept.
    pub builds: Vec<BuildRecord>,
}

/// Reads the server: status, sessions, builds, and what is new in its activity and log.
pub async fn fetch(
    client: AdminClient,
    after_activity: u64,
    after_log: u64,
) -> Result<Snapshot, String> {
    let e = |e: remote4d_core::client::RequestError| e.to_string();
    let (status, sessions, activity, log, builds) = futures::try_join!(
        async { client.status().await.map_err(e) },
        async { client.sessions().await.map_err(e) },
        async { client.activity(after_activity).await.map_err(e) },
        async { client.log(after_log).await.map_err(e) },
        async { client.builds().await.map_err(e) },
    )?;
    Ok(Snapshot {
        at: Instant::now(),
        status,
        sessions,
        activity,
        log,
        builds,
    })
}

/// What the administrator asks of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A message to these sessions (none: to every client).
    Message {
        /// The text.
        text: String,
        /// The sessions.
        sessions: Vec<String>,
    },
    /// End these sessions, after a delay.
    Drop {
        /// The sessions.
        sessions: Vec<String>,
        /// Seconds before they end.
        in_seconds: u64,
        /// Why (shown to the users).
        reason: Option<String>,
    },
    /// Accept new connections or not.
    Accept(bool),
    /// Publish on the network or not.
    Publish(bool),
    /// Rebuild now (RELOAD PROJECT); `quiet`: the window came to the front.
    Reload {
        /// Said only when the project changed.
        quiet: bool,
    },
    /// Stop and start again.
    Restart,
    /// Stop, after a countdown, with a message to the clients.
    Shutdown {
        /// Seconds.
        in_seconds: u64,
        /// Shown to the clients.
        message: Option<String>,
    },
}

/// Asks `request` of the server; the sentence that says what happened (`None`: nothing to say).
pub async fn perform(client: AdminClient, request: Request) -> Result<Option<String>, String> {
    let e = |e: remote4d_core::client::RequestError| e.to_string();
    let said = match request {
        Request::Message { text, sessions } => {
            let ids: Vec<&str> = sessions.iter().map(String::as_str).collect();
            client.message(&text, &ids).await.map_err(e)?;
            match sessions.len() {
                0 => "message sent to every client".to_owned(),
                1 => "message sent to 1 session".to_owned(),
                n => format!("message sent to {n} sessions"),
            }
        }
        Request::Drop {
            sessions,
            in_seconds,
            reason,
        } => {
            for id in &sessions {
                client
                    .drop_session(id, reason.as_deref(), in_seconds)
                    .await
                    .map_err(e)?;
            }
            let who = if sessions.len() == 1 {
                "1 session".to_owned()
            } else {
                format!("{} sessions", sessions.len())
            };
            if in_seconds == 0 {
                format!("{who} dropped")
            } else {
                format!("{who} will be dropped in {in_seconds} s; the users are told")
            }
        }
        Request::Accept(accept) => {
            client.set_accepting(accept).await.map_err(e)?;
            if accept {
                "new connections are accepted".to_owned()
            } else {
                "new connections are refused; connected users stay".to_owned()
            }
        }
        Request::Publish(publish) => {
            client.set_published(publish).await.map_err(e)?;
            if publish {
                "published on the network".to_owned()
            } else {
                "no longer published (still reachable by its address)".to_owned()
            }
        }
        Request::Reload { quiet } => {
            let result = client.reload(true).await.map_err(e)?;
            match result {
                Some(r) if r.changed => {
                    format!("project reloaded in {} ms: {}", r.build_ms, r.stamp.short())
                }
                Some(r) if !quiet => format!("project checked in {} ms: unchanged", r.build_ms),
                _ => return Ok(None),
            }
        }
        Request::Restart => {
            client.restart().await.map_err(e)?;
            "the server is restarting".to_owned()
        }
        Request::Shutdown {
            in_seconds,
            message,
        } => {
            client
                .shutdown(in_seconds, message.as_deref())
                .await
                .map_err(e)?;
            if in_seconds == 0 {
                "the server is stopping".to_owned()
            } else {
                format!("the server stops in {in_seconds} s; clients are warned")
            }
        }
    };
    Ok(Some(said))
}
