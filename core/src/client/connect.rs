//! The connection flow.

use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use reqwest::Method;

use super::address::ServerAddress;
use super::api::{ApiClient, RequestError};
use super::error::ConnectError;
use super::trust::{TrustStore, Verdict};
use super::{ConnectOptions, Connection, Fetched, Mode, Progress, Target, devmode, fetch};
use crate::cache::{FolderSpec, SystemFolder};
use crate::discovery::{DiscoveredServer, DiscoveryEvent, browse};
use crate::link::{Link, LinkKind, ServerPath};
use crate::protocol::{
    ErrorCode, HostType, OpenSession, OpenSessionResponse, ServerInfo, SessionOpened,
    normalize_fingerprint, paths,
};
use crate::recent::Recent;

/// Looks for servers publishing `name` for up to `timeout`; with `server_id`, only that one.
///
/// # Errors
/// [`ConnectError::NotFound`], or [`ConnectError::Ambiguous`] when several servers publish the
/// name and none is pinned.
pub async fn find_by_name(
    name: &str,
    server_id: Option<&str>,
    timeout: Duration,
) -> Result<DiscoveredServer, ConnectError> {
    let (_handle, mut events) = browse().map_err(ConnectError::Discovery)?;
    let mut found: Vec<DiscoveredServer> = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut settle: Option<tokio::time::Instant> = None;
    loop {
        let until = settle.map_or(deadline, |s| s.min(deadline));
        match tokio::time::timeout_at(until, events.next()).await {
            Ok(Some(DiscoveryEvent::Added(s) | DiscoveryEvent::Updated(s)))
                if s.publication_name == name =>
            {
                if let Some(id) = server_id {
                    if s.server_id.as_deref() == Some(id) {
                        return Ok(s);
                    }
                    continue;
                }
                // Keyed by server id: two servers may even announce the same instance name.
                found.retain(|f| {
                    f.server_id != s.server_id || f.server_id.is_none() && f.fullname != s.fullname
                });
                found.push(s);
                // Wait a little for others with the same name: never join one silently.
                settle.get_or_insert_with(|| {
                    tokio::time::Instant::now() + Duration::from_millis(700)
                });
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    let mut ids: Vec<Option<String>> = found.iter().map(|f| f.server_id.clone()).collect();
    ids.sort();
    ids.dedup();
    match (found.len(), ids.len()) {
        (0, _) => Err(ConnectError::NotFound {
            name: name.to_owned(),
            seconds: timeout.as_secs(),
        }),
        (_, 1) => Ok(found.remove(0)),
        (n, _) => Err(ConnectError::Ambiguous {
            name: name.to_owned(),
            count: n,
        }),
    }
}

/// This machine's name, as sessions report it.
pub(crate) fn machine_name() -> String {
    hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The operating-system user, as sessions report it.
pub(crate) fn system_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_default()
}

/// Connects: resolve, check identity, log in, get the project, save to Recent.
///
/// # Errors
/// A [`ConnectError`] saying what happened and what to do; questions for the user
/// ([`ConnectError::NewIdentity`], [`ConnectError::Login`], [`ConnectError::Challenge`]) are
/// answered by connecting again with the answer in the options.
pub async fn connect(
    opts: ConnectOptions,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Connection, ConnectError> {
    let target = resolve(&opts, progress).await?;
    let (server, probe, info) = match reach(&opts, &target, progress).await? {
        Reached::Online(server, probe, info) => (server, probe, *info),
        Reached::Offline(connection) => return Ok(*connection),
    };
    let authority = server.authority();
    let seen = trust(&opts, &target, &info, &probe, progress)?;
    let api = ApiClient::connect_to(&server, Some(&seen))?;
    let folder = SystemFolder::acquire(
        opts.env.cache_dir_for(&target.link),
        &FolderSpec {
            project: info.publication_name.clone(),
            host: target.address.host.clone(),
            port: target.address.port(),
            cache_folder_name: target.link.cache_folder_name.clone(),
        },
        &opts.client_exe,
    )?;
    folder.ensure_layout()?;
    // An older build in the cache: a delta is likely, and its archive is read meanwhile.
    if folder.state().stamp.is_some_and(|s| s != info.stamp) {
        folder.prefetch_archive();
    }
    let opened = open_session(
        &opts,
        &target,
        &api,
        &folder,
        &seen,
        &info.mirrors,
        progress,
    )
    .await?;
    let api = api
        .with_token(opened.token.clone())
        .through_mirrors(&info.mirrors, &opened.session.id);
    let (mode, direct) = choose_mode(&opts, &server, &api, &opened, progress).await?;
    let (fetched, project_root) = match direct {
        Some(root) => (Fetched::Direct, root),
        None => {
            if target.link.clear_cache_folder == Some(true) {
                folder.forget_build()?;
            }
            let fetched = fetch_current(
                &api,
                &folder,
                &info,
                opts.unpack_while_downloading,
                progress,
            )
            .await?;
            super::resources::sync_all(&api, &folder, &info, progress).await?;
            (fetched, folder.project_root().to_path_buf())
        }
    };
    // Read ahead for a delta that was not needed, or not possible: not kept for the session.
    folder.forget_prefetch();
    let (link, name) = record(&opts, &target, &folder, &info, &seen, mode)?;
    progress(Progress::Ready {
        path: project_root.clone(),
    });
    Ok(Connection {
        info: Some(info),
        address: authority,
        session: Some(opened),
        api: Some(api),
        folder,
        project_root,
        mode,
        fetched,
        link,
        name,
    })
}

/// The server to reach, and what the user holds about it.
struct Resolved {
    /// The shortcut (made from the address when there is none).
    link: Link,
    /// The publication name expected, if any.
    wanted_name: Option<String>,
    /// Where the server is (found on the network when the link had no host).
    address: ServerPath,
    /// A pin the user holds: a Recent entry's or a shortcut's, or one given explicitly.
    expected_fp: Option<String>,
    /// What discovery announced: a hint only.
    announced_fp: Option<String>,
    /// The server was found by its name.
    found_by_name: bool,
}

/// Phase 1: the link and the address; a server known by its name only is looked up on the
/// network (and its announcement kept as a hint, never as a pin).
async fn resolve(
    opts: &ConnectOptions,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Resolved, ConnectError> {
    if let Target::Link(l) = &opts.target {
        if l.kind() != LinkKind::Remote {
            return Err(ConnectError::NotRemote);
        }
    }
    let (link, wanted_name) = target_link(opts);
    let expected_fp = opts
        .expected_fingerprint
        .clone()
        .or_else(|| link.remote4d_fingerprint.clone());
    let mut resolved = Resolved {
        address: link.address(),
        announced_fp: opts.announced_fingerprint.clone(),
        found_by_name: false,
        link,
        wanted_name,
        expected_fp,
    };
    if resolved.address.find_by_name() {
        let name = resolved
            .wanted_name
            .clone()
            .ok_or(ConnectError::NoProjectName)?;
        progress(Progress::LookingUp { name: name.clone() });
        let pinned_id = resolved.link.remote4d_server_id.as_deref();
        let found = find_by_name(&name, pinned_id, opts.discovery_timeout).await?;
        resolved.address = found.address().ok_or_else(|| ConnectError::NotFound {
            name: name.clone(),
            seconds: opts.discovery_timeout.as_secs(),
        })?;
        resolved.announced_fp = found.fingerprint.map(|f| f.to_string());
        resolved.found_by_name = true;
    }
    Ok(resolved)
}

/// The shortcut of the target (made from the address when there is none) and the publication
/// name expected, if any.
fn target_link(opts: &ConnectOptions) -> (Link, Option<String>) {
    let link = match &opts.target {
        Target::Link(l) => (**l).clone(),
        Target::Address(a) => {
            let mut l = Link::remote(opts.project.clone().unwrap_or_default(), a.clone());
            if opts.project.is_none() {
                l.server_database_name = None;
            }
            l
        }
    };
    let wanted = opts
        .project
        .clone()
        .or_else(|| link.server_database_name.clone())
        .filter(|n| !n.is_empty());
    (link, wanted)
}

/// What [`reach`] found.
enum Reached {
    /// The server answered: its address (resolved once), the (unpinned) probe and its info.
    Online(ServerAddress, ApiClient, Box<ServerInfo>),
    /// It did not, and the last good copy opens offline (when allowed).
    Offline(Box<Connection>),
}

/// Phase 2: asks the server who it is (nothing else is sent before its identity is decided);
/// when it cannot be reached, the last good copy may open offline.
async fn reach(
    opts: &ConnectOptions,
    target: &Resolved,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Reached, ConnectError> {
    let authority = target.address.authority();
    progress(Progress::Connecting {
        address: authority.clone(),
    });
    let asked = match ServerAddress::resolve(target.address.clone()).await {
        Ok(server) => match ApiClient::connect_to(&server, None) {
            Ok(probe) => probe.info().await.map(|info| (server, probe, info)),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let (server, probe, info) = match asked {
        Ok(answered) => answered,
        Err(e) => {
            let err = ConnectError::from(e);
            if opts.allow_offline && err.allows_offline() {
                if let Some(c) = target
                    .wanted_name
                    .as_deref()
                    .and_then(|name| offline(opts, &target.link, name, &target.address))
                {
                    progress(Progress::Ready {
                        path: c.project_root.clone(),
                    });
                    return Ok(Reached::Offline(Box::new(c)));
                }
                tracing::warn!("no complete cached version to open offline");
            }
            return Err(err);
        }
    };
    if let Some(name) = &target.wanted_name {
        if &info.publication_name != name {
            return Err(ConnectError::WrongProject {
                address: authority,
                expected: name.clone(),
                found: info.publication_name,
            });
        }
    }
    Ok(Reached::Online(server, probe, Box::new(info)))
}

/// Phase 3: decides on the identity the server presented (see [`check_identity`]); returns it.
fn trust(
    opts: &ConnectOptions,
    target: &Resolved,
    info: &ServerInfo,
    probe: &ApiClient,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<String, ConnectError> {
    let authority = target.address.authority();
    let seen = probe.seen_fingerprint().unwrap_or_default();
    progress(Progress::CheckingIdentity {
        fingerprint: seen.clone(),
    });
    if let Some(hint) = target.announced_fp.as_deref() {
        if normalize_fingerprint(hint) != normalize_fingerprint(&seen) {
            tracing::warn!(%authority, announced = hint, presented = %seen, "the server presents another fingerprint than the one announced on the network");
        }
    }
    check_identity(
        opts,
        info,
        &authority,
        (&seen, &|| probe.verified_by_authority()),
        Expectation {
            fingerprint: target.expected_fp.as_deref(),
            server_id: target.link.remote4d_server_id.as_deref(),
            by_name: target.found_by_name || opts.announced_fingerprint.is_some(),
        },
    )?;
    Ok(seen)
}

/// Phase 4: logs in (the pinned `api`); a refused client version comes back with the update
/// the server offers to logged-in clients.
async fn open_session(
    opts: &ConnectOptions,
    target: &Resolved,
    api: &ApiClient,
    folder: &SystemFolder,
    seen: &str,
    mirrors: &[crate::protocol::Mirror],
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<SessionOpened, ConnectError> {
    let link = &target.link;
    let user = opts.user.clone().or_else(|| link.user_name.clone());
    progress(Progress::LoggingIn {
        user: user.clone().unwrap_or_else(|| "Designer".into()),
    });
    let request = OpenSession {
        user_name: user,
        password: opts.password.clone().or_else(|| link.password.clone()),
        password_hash: opts
            .password_hash
            .clone()
            .or_else(|| link.md5_password.clone()),
        machine_name: machine_name(),
        system_user_name: system_user(),
        host_type: Some(HostType::current()),
        client_id: folder.client_uuid()?,
        client_version: env!("CARGO_PKG_VERSION").into(),
        challenge: opts.challenge.clone(),
        resume: None,
        user_param: link.user_param.clone(),
        hard_link: link.remote4d_hard_link.clone(),
    };
    match api
        .json(Method::POST, paths::SESSIONS, Some(&request))
        .await
    {
        Ok(OpenSessionResponse::Opened(o)) => Ok(o),
        Ok(OpenSessionResponse::Challenge(c)) => Err(ConnectError::Challenge {
            id: c.id,
            prompt: c.prompt,
        }),
        Err(RequestError::Api(e)) if e.code == ErrorCode::ClientVersion => {
            let offer = match &e.update_token {
                Some(token) => super::update::offer(&api.clone().with_token(token.clone()))
                    .await
                    .ok()
                    .flatten(),
                None => None,
            };
            Err(ConnectError::ClientVersion {
                message: e.message,
                update: offer.map(|offer| {
                    Box::new(super::update::OfferedUpdate {
                        offer,
                        address: target.address.authority(),
                        fingerprint: seen.to_owned(),
                        token: e.update_token,
                        mirrors: mirrors.to_vec(),
                    })
                }),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// Phase 5: development mode — automatically on the same machine, or when asked for — proven
/// on the folder itself; returns the mode and, in development mode, the project's folder here.
async fn choose_mode(
    opts: &ConnectOptions,
    server: &ServerAddress,
    api: &ApiClient,
    opened: &SessionOpened,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<(Mode, Option<PathBuf>), ConnectError> {
    let asked = opts.development || opts.shared_project_folder.is_some();
    let same_machine = !opts.force_remote && server.is_this_machine();
    if !asked && !same_machine {
        return Ok((Mode::Remote, None));
    }
    progress(Progress::CheckingSameMachine);
    match devmode::prove(
        api,
        &opened.session.id,
        opts.shared_project_folder.as_deref(),
    )
    .await
    {
        Ok(root) => Ok((Mode::Development, Some(root))),
        Err(reason) if asked => {
            let _ = api
                .send::<()>(Method::DELETE, &paths::session(&opened.session.id), None)
                .await;
            Err(ConnectError::Development(reason))
        }
        Err(reason) => {
            tracing::info!(%reason, "same address, but not the same project folder: remote mode");
            Ok((Mode::Remote, None))
        }
    }
}

/// Phase 6: remembers the connection — in the system folder's state, and in Recent with the
/// pinned identity and the client's choices (never the password); returns the saved link and
/// the name shown.
fn record(
    opts: &ConnectOptions,
    target: &Resolved,
    folder: &SystemFolder,
    info: &ServerInfo,
    seen: &str,
    mode: Mode,
) -> Result<(Link, String), ConnectError> {
    let name = &info.publication_name;
    folder.update_state(|state| {
        state.fingerprint = Some(seen.to_owned());
        state.server_id = Some(info.server_id.clone());
        state.publication_name = Some(name.clone());
        state.address = Some(target.address.authority());
        state.last_connection_ms = Some(crate::time::now_ms());
    })?;

    let link = &target.link;
    let mut saved = link.clone();
    saved.is_remote = Some(true);
    saved.server_database_name = Some(name.clone());
    if !link.address().find_by_name() || link.server_path.is_none() {
        saved.server_path = Some(target.address.clone());
    }
    saved.remote4d_fingerprint = Some(seen.to_owned());
    saved.remote4d_server_id = Some(info.server_id.clone());
    // How it was opened, so that the Recent entry opens the same way.
    saved.remote4d_development_mode = match mode {
        Mode::Development => Some(true),
        _ if link.remote4d_development_mode == Some(false) => Some(false),
        _ => None,
    };
    saved.remote4d_project_folder = match mode {
        Mode::Development => opts
            .shared_project_folder
            .as_ref()
            .map(|f| f.display().to_string()),
        _ => None,
    };
    saved.password = None;
    let display = opts
        .display_name
        .clone()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| name.clone());
    let recent = Recent::new(opts.env.favorites_dir());
    let display = match recent.add(&display, &saved, crate::time::now_ms()) {
        Ok(e) => e.name,
        Err(err) => {
            tracing::warn!(%err, "could not save the connection to Recent");
            display
        }
    };
    Ok((saved, display))
}

async fn fetch_current(
    api: &ApiClient,
    folder: &SystemFolder,
    info: &ServerInfo,
    unpack_while_downloading: bool,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Fetched, ConnectError> {
    match fetch::fetch(
        api,
        folder,
        (info.stamp, info.archive_size),
        unpack_while_downloading,
        progress,
    )
    .await
    {
        // The project was rebuilt (and the old build dropped) during the download: once more.
        Err(ConnectError::Api(e)) if e.code == ErrorCode::StampGone => {
            let fresh = api.info().await?;
            fetch::fetch(
                api,
                folder,
                (fresh.stamp, fresh.archive_size),
                unpack_while_downloading,
                progress,
            )
            .await
        }
        other => other,
    }
}

/// What the client expects of the server's identity before it sees it.
struct Expectation<'a> {
    /// A fingerprint the user holds (Recent, a shortcut, given explicitly).
    fingerprint: Option<&'a str>,
    /// A server id the user holds.
    server_id: Option<&'a str>,
    /// The server was found by its name (discovery): a server trusted under that name is
    /// expected, wherever it is now.
    by_name: bool,
}

/// Decides whether to go on with the server that presented `seen`: a pinned identity always
/// wins, whatever path found the server; a first contact asks (unless the user said yes, or an
/// authority this machine trusts vouches for the certificate); a change is refused unless the
/// user accepted it. Only then is the identity pinned.
fn check_identity(
    opts: &ConnectOptions,
    info: &ServerInfo,
    authority: &str,
    (seen, by_authority): (&str, &dyn Fn() -> bool),
    expect: Expectation<'_>,
) -> Result<(), ConnectError> {
    let store = TrustStore::new(&opts.env.data_dir);
    let changed = |expected: &str| ConnectError::IdentityChanged {
        expected: expected.to_owned(),
        presented: seen.to_owned(),
    };
    if let Some(id) = expect.server_id {
        if id != info.server_id && !opts.accept_changed_identity {
            return Err(changed(&format!("server {id}")));
        }
    }
    let pinned = store.verdict(
        &info.server_id,
        authority,
        &info.publication_name,
        seen,
        expect.by_name,
    );
    // Every pin must match: the trust store's and the one the user holds (a shortcut's).
    let verdict = match (pinned, expect.fingerprint) {
        (changed @ Verdict::Changed { .. }, _) => changed,
        (_, Some(fp)) if normalize_fingerprint(fp) != normalize_fingerprint(seen) => {
            Verdict::Changed {
                expected: fp.to_owned(),
            }
        }
        (_, Some(_)) => Verdict::Trusted,
        (verdict, None) => verdict,
    };
    match verdict {
        Verdict::Trusted => {}
        Verdict::New if opts.trust_new => {}
        // A certificate authority this machine trusts vouches for it: nothing to confirm, and
        // a renewed certificate is the same server (its server id is still checked above).
        Verdict::New | Verdict::Changed { .. } if by_authority() => {
            tracing::info!(%authority, fingerprint = %seen, "certificate verified by a trusted authority");
        }
        Verdict::New => {
            return Err(ConnectError::NewIdentity {
                name: info.publication_name.clone(),
                fingerprint: seen.to_owned(),
                server_id: info.server_id.clone(),
            });
        }
        Verdict::Changed { .. } if opts.accept_changed_identity => {}
        Verdict::Changed { expected } => return Err(changed(&expected)),
    }
    if let Err(err) = store.trust(&info.server_id, authority, &info.publication_name, seen) {
        tracing::warn!(%err, "could not save the trusted identity");
    }
    Ok(())
}

/// True when the target of `opts` has a complete, verified cached copy that could be opened
/// offline (a server never reached has none; nor has one found by name only, whose address is
/// not known without the network).
pub fn offline_copy_exists(opts: &ConnectOptions) -> bool {
    let (link, name) = target_link(opts);
    let address = link.address();
    match name {
        Some(name) if !address.find_by_name() => offline(opts, &link, &name, &address).is_some(),
        _ => false,
    }
}

/// The last good cached version, when the server cannot be reached.
fn offline(
    opts: &ConnectOptions,
    link: &Link,
    name: &str,
    address: &ServerPath,
) -> Option<Connection> {
    let folder = SystemFolder::acquire(
        opts.env.cache_dir_for(link),
        &FolderSpec {
            project: name.to_owned(),
            host: address.host.clone(),
            port: address.port(),
            cache_folder_name: link.cache_folder_name.clone(),
        },
        &opts.client_exe,
    )
    .ok()?;
    folder.intact_build()?;
    Some(Connection {
        info: None,
        address: address.authority(),
        session: None,
        api: None,
        project_root: folder.project_root().to_path_buf(),
        folder,
        mode: Mode::Offline,
        fetched: Fetched::Offline,
        link: link.clone(),
        name: name.to_owned(),
    })
}
