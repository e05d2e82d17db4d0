//! Glue between core's async services and iced: discovery and session events as subscriptions,
//! the connection as a task whose progress arrives as messages.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use futures::{Stream, StreamExt};
use iced::Subscription;
use remote4d_core::client::session::{SessionUpdate, follow};
use remote4d_core::client::update::OfferedUpdate;
use remote4d_core::client::{
    ApiClient, ConnectError, ConnectOptions, Connection, Progress, connect,
};
use remote4d_core::discovery::{DiscoveryEvent, browse};

use super::i18n::Strings;

/// Aborts a spawned task when dropped (when iced drops the stream).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Servers appearing, changing and leaving, while subscribed.
pub fn discovery() -> Subscription<DiscoveryEvent> {
    Subscription::run(discovery_stream)
}

fn discovery_stream() -> impl Stream<Item = DiscoveryEvent> {
    match browse() {
        Ok((handle, events)) => {
            futures::stream::unfold((handle, events), |(handle, mut events)| async move {
                let e = events.next().await?;
                Some((e, (handle, events)))
            })
            .boxed()
        }
        Err(err) => {
            tracing::warn!(%err, "network discovery unavailable");
            futures::stream::pending().boxed()
        }
    }
}

/// A live connection, shared between messages.
#[derive(Clone)]
pub struct ConnHandle(pub Arc<Mutex<Option<Connection>>>);

impl std::fmt::Debug for ConnHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnHandle")
    }
}

impl ConnHandle {
    /// Runs `f` on the connection, if it is still there.
    pub fn with<T>(&self, f: impl FnOnce(&Connection) -> T) -> Option<T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(f)
    }

    /// Takes the connection out (to close it).
    pub fn take(&self) -> Option<Connection> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

/// How a connection attempt ended, in a form messages can carry.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Connected.
    Connected(ConnHandle),
    /// First contact: confirm the fingerprint.
    NewIdentity {
        /// Publication name.
        name: String,
        /// Fingerprint presented.
        fingerprint: String,
    },
    /// The identity changed.
    IdentityChanged {
        /// Trusted before.
        expected: String,
        /// Presented now.
        presented: String,
    },
    /// User name and password needed (or wrong).
    Login {
        /// What the server said.
        message: String,
    },
    /// The server's hook asks a question.
    Challenge {
        /// Challenge id.
        id: String,
        /// The question.
        prompt: String,
    },
    /// The server needs a newer client and offers one.
    Update(Box<UpdateInfo>),
    /// Failed; `offline` when the cached version may be opened instead.
    Failed {
        /// Plain words: what happened and what to do.
        message: String,
        /// An offline copy may be opened.
        offline: bool,
    },
}

/// A client update offered by a server.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateInfo {
    /// The server's message.
    pub message: String,
    /// The build offered, and where to fetch it.
    pub update: OfferedUpdate,
}

/// Installs the offered build in place of this program, then starts it again (and this one
/// quits): its progress (mirrors tried and skipped), then its end. On failure, the installed
/// program is unchanged.
pub fn updating(info: UpdateInfo) -> impl Stream<Item = UpdateStep> + Send {
    with_progress(move |progress| async move {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let api = info.update.client().map_err(|e| e.to_string())?;
        let key = crate::merged::update_key();
        remote4d_core::client::update::install(
            &api,
            &info.update.offer,
            &exe,
            key.as_ref(),
            &*progress,
        )
        .await
        .map_err(|e| e.to_string())?;
        let args: Vec<String> = std::env::args().skip(1).collect();
        std::process::Command::new(&exe)
            .args(&args)
            .env("REMOTE4D_UPDATED", "1")
            .spawn()
            .map(|_| ())
            .map_err(|e| {
                format!("updated, but the new version could not be started: {e}; start it again")
            })
    })
}

/// A step of work that reports its progress: a phase, then the end.
#[derive(Debug, Clone)]
pub enum Step<T> {
    /// A phase.
    Progress(Progress),
    /// The end.
    Done(T),
}

/// A step of a connection attempt.
pub type ConnectUpdate = Step<Outcome>;

/// A step of a client update: its end is the error shown, if any.
pub type UpdateStep = Step<Result<(), String>>;

/// Runs `work` on the runtime, given where to report its progress: a stream of that progress,
/// then its end. Dropping the stream stops the work.
fn with_progress<T, F, Fut>(work: F) -> impl Stream<Item = Step<T>> + Send
where
    T: Send + 'static,
    F: FnOnce(Box<dyn Fn(Progress) + Send + Sync>) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    // The work starts when the runtime first polls the stream.
    futures::stream::once(async move {
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let progress_tx = tx.clone();
        let progress = Box::new(move |p| {
            let _ = progress_tx.try_send(Step::Progress(p));
        });
        let task = tokio::spawn(async move {
            let done = work(progress).await;
            let _ = tx.send(Step::Done(done)).await;
        });
        futures::stream::unfold((rx, AbortOnDrop(task)), |(mut rx, guard)| async move {
            let u = rx.recv().await?;
            Some((u, (rx, guard)))
        })
    })
    .flatten()
}

fn outcome(
    result: Result<Connection, ConnectError>,
    opts: &ConnectOptions,
    tr: &'static Strings,
) -> Outcome {
    match result {
        Ok(c) => Outcome::Connected(ConnHandle(Arc::new(Mutex::new(Some(c))))),
        Err(ConnectError::NewIdentity {
            name, fingerprint, ..
        }) => Outcome::NewIdentity { name, fingerprint },
        Err(ConnectError::IdentityChanged {
            expected,
            presented,
        }) => Outcome::IdentityChanged {
            expected,
            presented,
        },
        Err(ConnectError::Login(e)) => Outcome::Login { message: e.message },
        Err(ConnectError::Challenge { id, prompt }) => Outcome::Challenge { id, prompt },
        Err(ConnectError::ClientVersion {
            message,
            update: Some(update),
        }) => Outcome::Update(Box::new(UpdateInfo {
            message,
            update: *update,
        })),
        // "Open the last version" only when there is one, verified.
        Err(e) => Outcome::Failed {
            offline: e.allows_offline() && remote4d_core::client::offline_copy_exists(opts),
            message: super::errors::connect_error(tr, &e),
        },
    }
}

/// An error's message followed by its causes ("…: because …"), as the command line prints
/// them one per line.
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
    e.to_string() + &causes(e)
}

/// The causes behind `e`, each after a dash (nothing when it has none).
pub(crate) fn causes(e: &dyn std::error::Error) -> String {
    let mut text = String::new();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(" — ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Connects with `opts`; the stream yields progress, then the outcome. Dropping it cancels.
pub fn connecting(
    opts: ConnectOptions,
    tr: &'static Strings,
) -> impl Stream<Item = ConnectUpdate> + Send {
    with_progress(move |progress| async move {
        let result = connect(opts.clone(), &*progress).await;
        tokio::task::spawn_blocking(move || outcome(result, &opts, tr))
            .await
            .unwrap_or(Outcome::Failed {
                message: "the connection attempt failed".into(),
                offline: false,
            })
    })
}

/// What identifies a followed session (everything the builder needs, as iced requires).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKey {
    /// host:port.
    pub authority: String,
    /// Pinned fingerprint.
    pub fingerprint: String,
    /// Session id.
    pub session_id: String,
    /// Its token.
    pub token: String,
}

impl Hash for SessionKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.authority.hash(state);
        self.session_id.hash(state);
    }
}

/// The session's events, with reconnection and resumption.
pub fn session(key: SessionKey) -> Subscription<SessionUpdate> {
    Subscription::run_with(key, session_stream)
}

fn session_stream(key: &SessionKey) -> impl Stream<Item = SessionUpdate> + use<> {
    let api = match ApiClient::new(&key.authority, Some(&key.fingerprint)) {
        Ok(a) => a.with_token(key.token.clone()),
        Err(err) => {
            tracing::warn!(%err, "cannot follow the session");
            return futures::stream::pending().boxed();
        }
    };
    let (follower, updates) = follow(api, key.session_id.clone(), key.token.clone());
    futures::stream::unfold((follower, updates), |(follower, mut updates)| async move {
        let u = updates.next().await?;
        Some((u, (follower, updates)))
    })
    .boxed()
}
