//! The project server (`remote4d serve`): publishes a 4D project, serves its `.4dz` over HTTPS,
//! rebuilds it when the project changes, and keeps a session per connected client.
//!
//! [`Server::start`] returns a [`Server`] handle once the archive is built and the port open.

pub mod admin;

/// The log target of what administrators do (who did what), which `remote4d serve` shows by
/// default: `RUST_LOG=remote4d::audit=info`.
pub const AUDIT: &str = "remote4d::audit";

mod activity;
mod admission;
mod api;
pub mod auth;
pub mod builds;
pub mod config;
pub mod devmode;
mod error;
pub mod hooks;
pub mod identity;
mod idle;
mod listener;
pub mod log;
mod monitor;
pub mod origins;
mod related;
pub mod sessions;
pub mod watch;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::watch as tokio_watch;

pub use config::ServerConfig;
pub use error::ServerError;

use crate::discovery::{Publication, Publisher};
use crate::environment::Environment;
use crate::project::{Directory, Project};
use crate::protocol::paths::{self, ActivityKind};
use crate::protocol::{PRODUCT, PROTOCOL_VERSION, ServerInfo, SessionEvent};
use builds::{Builds, Rebuilt};
use hooks::Hooks;
use identity::{Identity, IdentitySource};
use sessions::Sessions;

/// A pending challenge of the open hook.
#[derive(Debug, Clone)]
pub(crate) struct PendingChallenge {
    pub client_id: String,
    pub user_name: String,
    pub session_id: String,
    pub state: serde_json::Value,
    pub expires: Instant,
}

/// Everything the request handlers share.
pub(crate) struct State {
    pub root: PathBuf,
    pub project_name: String,
    pub publication_name: String,
    pub server_id: String,
    pub fingerprint: String,
    pub host_name: String,
    pub port: u16,
    pub config: ServerConfig,
    pub builds: Arc<Builds>,
    /// Archives of the project's `Resources/`, `Components/`, `Plugins/`, `Libraries/`.
    pub related: related::RelatedFolders,
    pub sessions: Sessions,
    pub directory: RwLock<Directory>,
    pub hooks: Hooks,
    pub throttle: auth::LoginThrottle,
    pub challenges: Mutex<HashMap<String, PendingChallenge>>,
    /// Tokens that let a logged-in client of a refused version fetch the offered update.
    pub update_tokens: Mutex<HashMap<String, Instant>>,
    pub admin_token: String,
    pub stop: tokio_watch::Sender<bool>,
    pub shutting_down: std::sync::atomic::AtomicBool,
    pub publisher: Mutex<Option<Publisher>>,
    pub dev: devmode::DevState,
    pub update: Option<(crate::protocol::UpdateOffer, PathBuf)>,
    /// When the server started (its uptime).
    pub started: Instant,
    /// Whether new sessions are accepted (the administrator's switch; existing ones stay).
    pub accepting: std::sync::atomic::AtomicBool,
    /// The most client sessions at once since the start.
    pub peak_sessions: std::sync::atomic::AtomicUsize,
    /// The last events, for the administrator.
    pub activity: activity::Activity,
    /// Traffic, archives served, the last reload.
    pub monitor: Arc<monitor::Monitor>,
    /// The addresses it listens on.
    pub addresses: Vec<SocketAddr>,
    /// Set when an administrator asked for a restart (then `stop` fires).
    pub restart: std::sync::atomic::AtomicBool,
}

impl State {
    /// True when announced on the network.
    pub fn is_published(&self) -> bool {
        self.publisher
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some()
    }

    /// Withdraws the announcement (goodbye packets), if any.
    pub async fn unpublish(&self) {
        let publisher = self
            .publisher
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(p) = publisher {
            let _ = tokio::task::spawn_blocking(move || p.shutdown()).await;
        }
    }

    /// Client sessions now (the virtual `storedProcedure` one not counted).
    pub fn client_sessions(&self) -> usize {
        self.sessions
            .infos()
            .iter()
            .filter(|i| i.kind != "storedProcedure")
            .count()
    }

    pub fn info(&self) -> ServerInfo {
        let current = self.builds.current();
        let (resources, folders) = self.related.info();
        ServerInfo {
            product: PRODUCT.into(),
            protocol_version: PROTOCOL_VERSION,
            server_version: env!("CARGO_PKG_VERSION").into(),
            server_id: self.server_id.clone(),
            publication_name: self.publication_name.clone(),
            project_name: self.project_name.clone(),
            stamp: current.stamp,
            archive_size: current.report.archive_size,
            fingerprint: self.fingerprint.clone(),
            // Read in place: /info is the most frequent request, no copy of the users.
            login_required: !self
                .directory
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .is_open_access(),
            host_name: self.host_name.clone(),
            resources,
            folders,
            resources_update: self.config.resources_update,
            mirrors: self.config.mirrors.clone(),
        }
    }

    pub fn directory(&self) -> Directory {
        self.directory
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Rebuilds; on a change, tells every client and updates the publication.
    pub async fn rebuild(&self) -> Result<Rebuilt, crate::archive::ArchiveError> {
        self.rebuild_for(Instant::now()).await
    }

    /// [`State::rebuild`] for changes made before `changed_at` (see [`Builds::rebuild_for`]).
    pub async fn rebuild_for(
        &self,
        changed_at: Instant,
    ) -> Result<Rebuilt, crate::archive::ArchiveError> {
        self.reload_users().await;
        self.related.rebuild(changed_at, &self.sessions).await;
        let started = Instant::now();
        let rebuilt = match self.builds.rebuild_for(changed_at).await {
            Ok(r) => r,
            Err(err) => {
                self.monitor.reloaded(paths::LastReload {
                    at_ms: crate::time::now_ms(),
                    millis: started.elapsed().as_millis() as u64,
                    changed: false,
                    stamp: self.builds.current().stamp.to_string(),
                    error: Some(err.to_string()),
                });
                self.activity.record(
                    ActivityKind::Error,
                    format!("the project could not be rebuilt (the previous archive stays): {err}"),
                );
                return Err(err);
            }
        };
        if rebuilt.built {
            self.monitor.reloaded(paths::LastReload {
                at_ms: crate::time::now_ms(),
                millis: rebuilt.millis,
                changed: rebuilt.changed,
                stamp: rebuilt.build.stamp.to_string(),
                error: None,
            });
            self.activity.record(
                ActivityKind::Reload,
                if rebuilt.changed {
                    format!(
                        "project rebuilt in {} ms: {}",
                        rebuilt.millis, rebuilt.build.stamp
                    )
                } else {
                    format!("project checked in {} ms: unchanged", rebuilt.millis)
                },
            );
        }
        // A coalesced request (`built` false) was answered by a build that already told everyone.
        if rebuilt.changed && rebuilt.built {
            self.sessions.broadcast(&SessionEvent::ProjectUpdated {
                stamp: rebuilt.build.stamp,
                archive_size: rebuilt.build.report.archive_size,
            });
            if let Some(p) = self
                .publisher
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_mut()
            {
                if let Err(err) = p.update_stamp(rebuilt.build.stamp) {
                    tracing::warn!(%err, "could not announce the new stamp");
                }
            }
        }
        Ok(rebuilt)
    }

    /// Reads the project's users again (`directory.json`): new logins use them at once, and the
    /// sessions of users that were removed end. A file that cannot be read keeps the previous
    /// users (and says so).
    pub async fn reload_users(&self) {
        let root = self.root.clone();
        let read = tokio::task::spawn_blocking(move || crate::project::read_directory(&root)).await;
        let fresh = match read {
            Ok(Ok((d, _))) => d,
            Ok(Err(err)) => {
                tracing::error!(%err, "the users file cannot be read; the previous users stay in force");
                return;
            }
            Err(_) => return,
        };
        let changed = {
            let mut current = self
                .directory
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if *current == fresh {
                false
            } else {
                *current = fresh.clone();
                true
            }
        };
        if !changed {
            return;
        }
        tracing::info!(users = fresh.users.len(), "the project's users changed");
        if fresh.is_open_access() {
            return;
        }
        for s in self.sessions.all() {
            let user = s.info().user_name;
            if fresh.user(&user).is_none() {
                self.end_session(&s.id, "this user was removed from the project")
                    .await;
            }
        }
    }

    /// Ends a session: tells it why, removes it, runs the close hook.
    pub async fn end_session(&self, id: &str, reason: &str) -> bool {
        let Some(session) = self.sessions.remove(id) else {
            return false;
        };
        // Its edit locks, proof and development flag go with it: other developers may edit.
        self.dev.forget(id);
        session.send(SessionEvent::Dropped {
            reason: reason.into(),
        });
        tracing::info!(session = id, user = %session.info().user_name, reason, "session ended");
        self.activity.record(
            ActivityKind::Session,
            format!(
                "{} ({}) disconnected: {reason}",
                session.info().user_name,
                session.info().machine_name
            ),
        );
        self.hooks.close(&session.info()).await;
        true
    }

    /// Starts a shutdown in `seconds`, warning every client as the time runs out.
    pub fn schedule_shutdown(self: &Arc<Self>, seconds: u64, message: Option<String>) {
        let state = Arc::clone(self);
        tokio::spawn(async move {
            let mut left = seconds;
            loop {
                state.sessions.broadcast(&SessionEvent::Shutdown {
                    in_seconds: left,
                    message: message.clone(),
                });
                if left == 0 {
                    break;
                }
                let step = if left > 60 {
                    left - 60
                } else if left > 10 {
                    left - 10
                } else {
                    1
                };
                let step = step.min(left);
                tokio::time::sleep(Duration::from_secs(step)).await;
                left -= step;
            }
            let _ = state.stop.send(true);
        });
    }
}

/// A running server.
pub struct Server {
    state: Arc<State>,
    addresses: Vec<SocketAddr>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _watcher: Option<watch::Watcher>,
    token_path: PathBuf,
    source: IdentitySource,
    data_dir: PathBuf,
    origins: origins::Origins,
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The project: its folder, `Project/` folder, or `.4DProject` file.
    pub project: PathBuf,
    /// Configuration (file + flags).
    pub config: ServerConfig,
    /// Where the server keeps its data, admin token and identity.
    pub env: Environment,
    /// Told how the project's first build goes, before the server answers (`None`: silent).
    pub build_progress: Option<crate::archive::OnProgress>,
}

fn data_dir_for(env: &Environment, config: &ServerConfig, name: &str, root: &Path) -> PathBuf {
    if let Some(d) = &config.data_dir {
        return d.clone();
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in root.to_string_lossy().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    env.server_dir().join(format!("{safe}-{:08x}", h as u32))
}

/// Opens the project's builds (building the archive when needed) and its related folders'.
async fn open_builds(
    root: &Path,
    data_dir: &Path,
    keep: usize,
    progress: Option<crate::archive::OnProgress>,
) -> Result<(Builds, related::RelatedFolders), ServerError> {
    let build_root = root.to_path_buf();
    let data = data_dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let builds = Builds::open_reporting(&build_root, &data.join("builds"), keep, progress)?;
        let related = related::RelatedFolders::open(&build_root, &data, keep)?;
        Ok::<_, crate::archive::ArchiveError>((builds, related))
    })
    .await
    .map_err(|e| ServerError::Io {
        path: root.to_path_buf(),
        source: std::io::Error::other(e),
    })?
    .map_err(ServerError::from)
}

/// The client build offered to clients (`[client_update]`), with its signature when it has one.
fn update_offer(
    u: &config::ClientUpdateConfig,
) -> Result<(crate::protocol::UpdateOffer, PathBuf), ServerError> {
    let build = u.build.clone();
    let stamp = crate::archive::Stamp::of_file(&build).map_err(|source| ServerError::Io {
        path: build.clone(),
        source,
    })?;
    let size = std::fs::metadata(&build).map(|m| m.len()).unwrap_or(0);
    let sig_file = u.signature.clone().unwrap_or_else(|| {
        let mut name = build.clone().into_os_string();
        name.push(".sig");
        PathBuf::from(name)
    });
    let signature = match std::fs::read_to_string(&sig_file) {
        Ok(s) => Some(s.trim().to_owned()),
        Err(err) => {
            tracing::warn!(file = %sig_file.display(), %err, "the offered client build has no signature: clients will refuse it (sign it with `remote4d build sign-update`)");
            None
        }
    };
    Ok((
        crate::protocol::UpdateOffer {
            version: u.version.clone(),
            sha256: stamp.to_string(),
            size,
            min_version: u.min_version.clone(),
            max_version: u.max_version.clone(),
            signature,
        },
        build,
    ))
}

/// Serves the API on every listener; returns their tasks.
fn serve(
    state: &Arc<State>,
    listeners: Vec<tokio::net::TcpListener>,
    tls: &Arc<rustls::ServerConfig>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let router = api::router(Arc::clone(state));
    let limits = listener::ConnectionLimits::new(&state.config.limits);
    listeners
        .into_iter()
        .map(|l| {
            tokio::spawn(listener::serve(
                l,
                Arc::clone(tls),
                router.clone(),
                Arc::clone(&limits),
                listener::Timeouts::of(&state.config),
                Arc::clone(&state.monitor),
                state.stop.subscribe(),
            ))
        })
        .collect()
}

/// Watches the project folder (when configured) and rebuilds on change; `None` when not
/// watching (then `remote4d reload` rebuilds).
fn start_watching(
    state: &Arc<State>,
    root: &Path,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
) -> Option<watch::Watcher> {
    if !state.config.watch {
        return None;
    }
    let (tx, rx) = tokio_watch::channel(None);
    match watch::watch(root, Duration::from_millis(state.config.debounce_ms), tx) {
        Ok(w) => {
            tasks.push(tokio::spawn(rebuild_on_change(Arc::clone(state), rx)));
            Some(w)
        }
        Err(err) => {
            tracing::warn!(%err, "cannot watch the project folder; use `remote4d reload` after changes");
            None
        }
    }
}

/// Publishes the project on the network (DNS-SD); a failure only means clients type the address.
pub(crate) async fn publish(state: &Arc<State>) {
    let publication = Publication {
        name: state.publication_name.clone(),
        port: state.port,
        server_id: state.server_id.clone(),
        fingerprint: state.fingerprint.clone(),
        stamp: state.builds.current().stamp,
        host_name: state.host_name.clone(),
    };
    match tokio::task::spawn_blocking(move || Publisher::start(publication)).await {
        Ok(Ok(p)) => {
            *state
                .publisher
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(p);
        }
        Ok(Err(err)) => {
            tracing::warn!(%err, "not published on the network; clients must type the address");
        }
        Err(err) => tracing::warn!(%err, "not published on the network"),
    }
}

impl Server {
    /// Opens the project, builds its archive, opens the port, publishes it and starts watching.
    ///
    /// # Errors
    /// [`ServerError`] saying what failed: the project, its build, the identity, the port.
    // Long: the order is the contract — nothing listens before the project is built and the
    // identity loaded, nothing is published before it listens — and half of it is the State
    // literal, one field per line.
    pub async fn start(options: ServerOptions) -> Result<Self, ServerError> {
        let ServerOptions {
            project,
            config,
            env,
            build_progress,
        } = options;
        for m in &config.mirrors {
            m.validate().map_err(config::ConfigError::from)?;
        }
        let project = Project::open(&project)?;
        let root = project.location.root.clone();
        let publication_name = config
            .publication_name
            .clone()
            .unwrap_or_else(|| project.publication_name().to_owned());
        let port = config.port.unwrap_or_else(|| project.publication_port());
        let origins = origins::Origins::of(&project.settings, &config);
        let mut config = config;
        config.inactivity_timeout_secs = Some(inactivity_timeout_secs(&config, &project));
        let data_dir = data_dir_for(&env, &config, &project.name, &root);
        let host_name = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "localhost".into());
        let identity =
            Identity::load_or_create(&root, &data_dir, std::slice::from_ref(&host_name))?;
        let tls = listener::tls_config(&identity)?;
        let (builds, related) =
            open_builds(&root, &data_dir, config.keep_builds, build_progress).await?;
        let listeners = listener::bind(&config.bind, port).await?;
        let addresses: Vec<SocketAddr> = listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect();
        let actual_port = addresses.first().map_or(port, SocketAddr::port);
        let token_path = admin::token_path(&env, actual_port);
        let admin_token =
            admin::write_token(&token_path, &identity.fingerprint).map_err(|source| {
                ServerError::Io {
                    path: token_path.clone(),
                    source,
                }
            })?;
        let update = config
            .client_update
            .as_ref()
            .map(update_offer)
            .transpose()?;
        let (stop, _) = tokio_watch::channel(false);
        let hooks = Hooks {
            open: config.hooks.open_connection.clone(),
            close: config.hooks.close_connection.clone(),
            timeout: Duration::from_secs(config.hooks.timeout_secs),
        };
        let state = Arc::new(State {
            root: root.clone(),
            project_name: project.name.clone(),
            publication_name,
            server_id: identity.server_id.clone(),
            fingerprint: identity.fingerprint.clone(),
            host_name,
            port: actual_port,
            throttle: auth::LoginThrottle::new(config.login.clone()),
            builds: Arc::new(builds),
            related,
            sessions: Sessions::with_limits(
                sessions::StorageLimits {
                    per_session: config.limits.session_storage_bytes,
                    total: config.limits.session_storage_total_bytes,
                },
                config.limits.max_sessions,
            ),
            directory: RwLock::new(project.directory.clone()),
            hooks,
            challenges: Mutex::new(HashMap::new()),
            update_tokens: Mutex::new(HashMap::new()),
            admin_token,
            stop,
            shutting_down: std::sync::atomic::AtomicBool::new(false),
            started: Instant::now(),
            accepting: std::sync::atomic::AtomicBool::new(true),
            peak_sessions: std::sync::atomic::AtomicUsize::new(0),
            activity: activity::Activity::default(),
            monitor: Arc::default(),
            addresses: addresses.clone(),
            restart: std::sync::atomic::AtomicBool::new(false),
            publisher: Mutex::new(None),
            dev: devmode::DevState::default(),
            update,
            config,
        });
        let mut tasks = serve(&state, listeners, &tls);
        tasks.push(tokio::spawn(reaper(Arc::clone(&state))));
        let watcher = start_watching(&state, &root, &mut tasks);
        if state.config.publish {
            publish(&state).await;
        }
        Ok(Self {
            state,
            addresses,
            tasks,
            _watcher: watcher,
            token_path,
            source: identity.source,
            data_dir,
            origins,
        })
    }

    /// The addresses it listens on.
    pub fn addresses(&self) -> &[SocketAddr] {
        &self.addresses
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.state.port
    }

    /// What `GET /api/v1/info` answers now.
    pub fn info(&self) -> ServerInfo {
        self.state.info()
    }

    /// The project root being served.
    pub fn root(&self) -> &Path {
        &self.state.root
    }

    /// The server's data folder (identity: `cert.pem`, `key.pem`, `server-id`; `builds/`).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Where the administration token is.
    pub fn admin_token_path(&self) -> &Path {
        &self.token_path
    }

    /// True when the certificate is the project's own (`Resources/cert.pem`).
    pub fn uses_project_certificate(&self) -> bool {
        self.source == IdentitySource::Project
    }

    /// Where its publication name, port and inactivity timeout came from, and the project's
    /// client/server settings it does not use.
    pub fn origins(&self) -> &origins::Origins {
        &self.origins
    }

    /// How long a session without a connection lives (0: 48 hours, as a sleeping 4D session).
    pub fn inactivity_timeout(&self) -> Duration {
        Duration::from_secs(
            self.state
                .config
                .inactivity_timeout_secs
                .unwrap_or(config::DEFAULT_INACTIVITY_TIMEOUT_SECS),
        )
    }

    /// True when published on the network.
    pub fn is_published(&self) -> bool {
        self.state.is_published()
    }

    /// Rebuilds now (as `POST /api/v1/project/reload?wait=true`).
    ///
    /// # Errors
    /// The build error; the previous archive stays current.
    pub async fn reload(&self) -> Result<crate::archive::Stamp, crate::archive::ArchiveError> {
        Ok(self.state.rebuild().await?.build.stamp)
    }

    /// Waits until a shutdown is requested (administration, or [`Server::stop`]).
    pub async fn stopped(&self) {
        let mut rx = self.state.stop.subscribe();
        listener::stopped(&mut rx).await;
    }

    /// True when it stopped because an administrator asked for a restart: the program that runs
    /// it starts it again with the same options (the project and configuration read anew).
    pub fn restart_requested(&self) -> bool {
        self.state.restart.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Asks the server to stop now.
    pub fn stop(&self) {
        let _ = self.state.stop.send(true);
    }

    /// Stops cleanly: tells clients, ends sessions (close hooks), sends mDNS goodbyes, closes
    /// connections, removes the admin token.
    pub async fn shutdown(self) {
        self.state
            .shutting_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let reason = if self.restart_requested() {
            "the server is restarting: connect again in a moment"
        } else {
            "the server stopped"
        };
        for s in self.state.sessions.all() {
            self.state.end_session(&s.id, reason).await;
        }
        let _ = self.state.stop.send(true);
        self.state.unpublish().await;
        for t in self.tasks {
            t.abort();
            let _ = t.await;
        }
        let _ = std::fs::remove_file(&self.token_path);
        tracing::info!("server stopped");
    }
}

async fn rebuild_on_change(state: Arc<State>, mut rx: tokio_watch::Receiver<Option<Instant>>) {
    while rx.changed().await.is_ok() {
        let Some(changed_at) = *rx.borrow_and_update() else {
            continue;
        };
        if let Err(err) = state.rebuild_for(changed_at).await {
            tracing::error!(%err, "rebuild after a change failed; the previous archive stays current");
        }
    }
}

/// How long a session without a connection lives: the configuration's, else the project's
/// "Client-Server Connections Timeout" (minutes; 0 = none, which is 48 h here as for a sleeping
/// 4D session), else the default.
fn inactivity_timeout_secs(config: &ServerConfig, project: &Project) -> u64 {
    config.inactivity_timeout_secs.unwrap_or_else(|| {
        project
            .settings
            .connections_timeout_minutes
            .map_or(config::DEFAULT_INACTIVITY_TIMEOUT_SECS, |m| {
                m.saturating_mul(60)
            })
    })
}

async fn reaper(state: Arc<State>) {
    let grace = Duration::from_secs(state.config.resume_grace_secs);
    let inactivity = Duration::from_secs(
        state
            .config
            .inactivity_timeout_secs
            .unwrap_or(config::DEFAULT_INACTIVITY_TIMEOUT_SECS),
    );
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        for (s, reason) in state.sessions.expired(grace, inactivity) {
            state.end_session(&s.id, reason).await;
        }
        state
            .challenges
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, c| c.expires > Instant::now());
        state
            .update_tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, expires| *expires > Instant::now());
    }
}
