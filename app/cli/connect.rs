//! `remote4d connect`: the headless client.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use futures::StreamExt;
use remote4d_core::client::session::{SessionUpdate, follow};
use remote4d_core::client::update::OfferedUpdate;
use remote4d_core::client::{
    ConnectError, ConnectOptions, Connection, Fetched, Mode, Progress, Target, connect,
};
use remote4d_core::environment::Environment;
use remote4d_core::link::{Link, ServerPath, is_link_path};
use remote4d_core::protocol::{ChallengeAnswer, ResourcesUpdate, SessionEvent};

use super::output;
use super::progress::StatusLine;

/// Options of `connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// HOST[:PORT] ([IPv6]:PORT; :PORT finds the project by name on the network) or a .4DLink file.
    pub target: String,
    /// The project's publication name (required with :PORT; checked otherwise).
    #[arg(long)]
    pub project: Option<String>,
    /// User name.
    #[arg(long)]
    pub user: Option<String>,
    /// Password (prefer --password-stdin, or the prompt).
    #[arg(long)]
    pub password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Trust a server seen for the first time (after checking its fingerprint).
    #[arg(long)]
    pub trust_new: bool,
    /// Accept a changed server identity (only when its administrator confirmed it).
    #[arg(long)]
    pub accept_changed_identity: bool,
    /// Activate development mode (the server's project folder must be reachable here).
    #[arg(long)]
    pub dev: bool,
    /// Development mode from another machine: the project folder as mounted here.
    #[arg(long)]
    pub project_folder: Option<PathBuf>,
    /// Open the last good cached version read-only when the server cannot be reached.
    #[arg(long)]
    pub offline_ok: bool,
    /// Use the server's archive even on the server's machine (no automatic development mode).
    #[arg(long, conflicts_with = "dev")]
    pub remote: bool,
    /// The local name of the project in Recent (default: its publication name).
    #[arg(long)]
    pub name: Option<String>,
    /// The answer to the server's question (its connection hook's challenge).
    #[arg(long)]
    pub answer: Option<String>,
    /// Stay connected and print the session's events until Ctrl+C.
    #[arg(long)]
    pub follow: bool,
    /// With --follow, when the project's policy for its Resources folder during a session is
    /// "ask": copy it again at once when it changes (else at the next connection).
    #[arg(long, requires = "follow")]
    pub update_resources: bool,
    /// For scripts: progress, notes and errors as JSON lines on standard error, the connection
    /// as one JSON object on standard output (and the session's events as JSON lines with
    /// --follow). Never asks anything: answer with --trust-new, --answer, --password-stdin.
    #[arg(long)]
    pub json: bool,
    /// When the server requires a newer client: install the build it offers, then run again.
    #[arg(long)]
    pub accept_update: bool,
}

/// Shows a phase of the connection on the status line: the passing ones replace each other on
/// the line, what is worth keeping ("ready: …", "checking identity …") is printed above it.
fn show(line: &StatusLine, p: &Progress) {
    match p {
        Progress::LookingUp { name } => {
            line.phase(&format!("looking up \"{name}\" on the network…"));
        }
        Progress::Connecting { address } => line.phase(&format!("connecting to {address}…")),
        Progress::CheckingIdentity { fingerprint } => {
            line.note(&format!("checking identity {fingerprint}"));
        }
        Progress::LoggingIn { user } => line.phase(&format!("logging in as {user}…")),
        Progress::UpToDate => line.note("the cached project is current: nothing to download"),
        Progress::Repairing { reason } => line.note(&format!("repairing the cache ({reason})…")),
        Progress::Delta { bytes } => {
            line.note(&format!(
                "downloaded an update of {}",
                output::bytes(*bytes)
            ));
        }
        Progress::FromMirror { url } => line.phase(&format!("fetching from the mirror {url}…")),
        Progress::MirrorSkipped { url, reason } => line.note(&format!(
            "the mirror {url} was skipped ({reason}); trying the next one, then the server"
        )),
        Progress::Resources {
            folder,
            bytes,
            delta: false,
        } => line.note(&format!(
            "copied the {folder} folder ({})",
            output::bytes(*bytes)
        )),
        Progress::Resources {
            folder,
            bytes,
            delta: true,
        } => line.note(&format!(
            "updated the {folder} folder with what changed ({})",
            output::bytes(*bytes)
        )),
        Progress::Downloading { done, total, .. } => line.bytes("downloading", *done, *total),
        Progress::Retrying {
            attempt,
            in_ms,
            reason,
        } => line.note(&format!(
            "connection lost ({reason}); retry {attempt} in {in_ms} ms…"
        )),
        Progress::Verifying => line.phase("verifying…"),
        Progress::Unpacking => line.phase("unpacking…"),
        Progress::CheckingSameMachine => {
            line.phase("checking for development mode on this machine…");
        }
        Progress::Ready { path } => {
            line.finish();
            line.note(&format!("ready: {}", path.display()));
        }
    }
}

/// A message beside the progress: a line for people, `{"note": …}` for scripts.
fn say(json: bool, text: &str) {
    if json {
        crate::errln!("{}", serde_json::json!({ "note": output::sentence(text) }));
    } else {
        crate::errln!("{}", output::sentence(text));
    }
}

/// `note: …` for people, `{"note": …}` for scripts.
fn note(json: bool, text: &str) {
    if json {
        say(true, text);
    } else {
        output::labelled(output::Label::Note, text);
    }
}

fn ask(question: &str) -> Option<String> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    output::prompt(question);
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).ok()?;
    Some(line.trim().to_owned())
}

pub fn run(args: ConnectArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::from_system()?;
    let target = if is_link_path(std::path::Path::new(&args.target))
        || std::path::Path::new(&args.target).is_file()
    {
        let path = std::path::Path::new(&args.target);
        let link = Link::read(path)
            .with_context(|| format!("cannot open the shortcut {}", path.display()))?;
        Target::Link(Box::new(link))
    } else {
        Target::Address(ServerPath::parse(&args.target)?)
    };
    let mut opts = ConnectOptions::new(target, env);
    // A shortcut's development-mode opening options; the flags below win.
    opts.apply_link_opening_options();
    opts.project = args.project.clone();
    opts.user = args.user.clone();
    opts.password = args.password.clone();
    if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        opts.password = Some(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    // A shortcut with open_login_dialog="true" asks for the login, as 4D does: on a terminal,
    // unless the command line gave a password (without a terminal, the link's own is used).
    if let Target::Link(link) = &opts.target {
        if link.open_login_dialog == Some(true)
            && opts.password.is_none()
            && std::io::stdin().is_terminal()
        {
            if opts.user.is_none() {
                opts.user = match &link.user_name {
                    Some(u) => Some(u.clone()),
                    None => ask("User:"),
                };
            }
            opts.password = ask(&format!(
                "Password of {}:",
                opts.user.as_deref().unwrap_or("Designer")
            ));
        }
    }
    opts.trust_new = args.trust_new;
    opts.accept_changed_identity = args.accept_changed_identity;
    if args.dev || args.project_folder.is_some() {
        (opts.development, opts.force_remote) = (true, false);
    }
    if args.project_folder.is_some() {
        opts.shared_project_folder = args.project_folder.clone();
    }
    opts.allow_offline = args.offline_ok;
    if args.remote {
        (opts.development, opts.force_remote) = (false, true);
        opts.shared_project_folder = None;
    }
    opts.display_name = args.name.clone();
    run_with(Run {
        answer: args.answer.clone(),
        follow: args.follow,
        update_resources: args.update_resources,
        json: args.json,
        accept_update: args.accept_update,
        ..Run::new(opts)
    })
}

/// Installs the offered client build in place of this program, then runs it again with the same
/// arguments (once: the new build is not offered an update again in the same run).
async fn update_and_restart(
    update: &OfferedUpdate,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe()?;
    let key = crate::merged::update_key();
    let offer = &update.offer;
    // Signed by this client's publisher, or nothing is downloaded.
    remote4d_core::client::update::check_offer(offer, key.as_ref())?;
    // Only from the server whose identity the connection checked, through its mirrors first
    // (every byte checked against the signed SHA-256).
    let api = update.client()?;
    crate::errln!(
        "installing Remote4D {} offered by the server…",
        offer.version
    );
    let previous =
        remote4d_core::client::update::install(&api, offer, &exe, key.as_ref(), progress).await?;
    crate::errln!(
        "updated; the previous version is kept as {}",
        previous.display()
    );
    let args: Vec<String> = std::env::args().skip(1).collect();
    let status = std::process::Command::new(&exe)
        .args(&args)
        .env("REMOTE4D_UPDATED", "1")
        .status()?;
    Ok(ExitCode::from(
        u8::try_from(status.code().unwrap_or(1)).unwrap_or(1),
    ))
}

/// A connection run from the command line: what to connect to, and what to do around it.
pub struct Run {
    /// The connection.
    pub opts: ConnectOptions,
    /// The answer to the server hook's question, given beforehand.
    pub answer: Option<String>,
    /// Print the session's events until it ends.
    pub follow: bool,
    /// While following: copy a changed `Resources/` at once when the server's policy is Ask.
    pub update_resources: bool,
    /// Progress as JSON lines.
    pub json: bool,
    /// Servers to try in turn when the connection fails (a merged client's last server).
    pub fallbacks: Vec<Link>,
    /// Where to save the link of the server reached.
    pub save_link: Option<PathBuf>,
    /// Install a client build the server offers, and run it.
    pub accept_update: bool,
}

impl Run {
    /// A run of `opts` with nothing around it.
    pub fn new(opts: ConnectOptions) -> Self {
        Self {
            opts,
            answer: None,
            follow: false,
            update_resources: false,
            json: false,
            fallbacks: Vec::new(),
            save_link: None,
            accept_update: false,
        }
    }
}

/// Connects, asking in the terminal what the server asks; on failure tries the fallbacks in
/// turn; saves the successful link; follows the session when asked; then closes it.
pub fn run_with(run: Run) -> anyhow::Result<ExitCode> {
    if run.json {
        output::json_errors();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let json = run.json;
        let line = Arc::new(StatusLine::new());
        let shown = line.clone();
        let progress = move |p: Progress| {
            if json {
                crate::errln!("{}", serde_json::to_string(&p).unwrap_or_default());
            } else {
                show(&shown, &p);
            }
        };
        let (follow, save_link) = (
            run.follow.then_some(run.update_resources),
            run.save_link.clone(),
        );
        let connection = match connect_asking(run, &progress, &line).await? {
            Ok(c) => c,
            Err(code) => return Ok(code),
        };
        line.finish();
        finish(&connection, save_link, follow, json).await;
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// What to do after a failed attempt.
enum Next {
    /// Connect again (the options were changed with the user's answer, or a fallback).
    Retry,
    /// Stop with this exit code.
    Stop(ExitCode),
}

/// Connects until it succeeds or there is nothing left to ask; `Err(code)` to stop with.
async fn connect_asking(
    mut run: Run,
    progress: &(dyn Fn(Progress) + Send + Sync),
    line: &StatusLine,
) -> anyhow::Result<Result<Connection, ExitCode>> {
    let mut challenge_id: Option<String> = None;
    loop {
        if let (Some(id), Some(a)) = (&challenge_id, &run.answer) {
            run.opts.challenge = Some(ChallengeAnswer {
                id: id.clone(),
                answer: a.clone(),
            });
        }
        let error = match connect(run.opts.clone(), progress).await {
            Ok(c) => return Ok(Ok(c)),
            Err(e) => e,
        };
        // A question or an error is printed on its own line.
        line.finish();
        if let ConnectError::ClientVersion {
            message,
            update: Some(update),
        } = &error
            && run.accept_update
            && std::env::var_os("REMOTE4D_UPDATED").is_none()
        {
            say(run.json, message);
            let code = update_and_restart(update, progress);
            return Ok(Err(code.await?));
        }
        match answer(&mut run, &mut challenge_id, error) {
            Next::Retry => {}
            Next::Stop(code) => return Ok(Err(code)),
        }
    }
}

/// Asks the user what the server asks (a new identity, the hook's question, a password), or
/// moves to the next fallback; anything else stops with its exit code.
fn answer(run: &mut Run, challenge_id: &mut Option<String>, error: ConnectError) -> Next {
    let json = run.json;
    let opts = &mut run.opts;
    match error {
        ConnectError::NewIdentity { .. }
        | ConnectError::Challenge { .. }
        | ConnectError::Login(_)
            if json =>
        {
            // A script answers with flags (--trust-new, --answer, --password-stdin).
            output::error(&error);
            Next::Stop(ExitCode::from(3))
        }
        ConnectError::NewIdentity {
            name, fingerprint, ..
        } => {
            crate::errln!(
                "first connection to \"{name}\"; its certificate fingerprint is\n  {fingerprint}"
            );
            match ask(
                "Trust this server? Compare with the fingerprint the server printed at start [y/N]",
            ) {
                Some(a) if a.eq_ignore_ascii_case("y") || a.eq_ignore_ascii_case("yes") => {
                    opts.trust_new = true;
                    Next::Retry
                }
                _ => {
                    crate::errln!(
                        "not trusted: run again with --trust-new once you have checked the fingerprint"
                    );
                    Next::Stop(ExitCode::from(3))
                }
            }
        }
        ConnectError::Challenge { id, prompt } => {
            *challenge_id = Some(id);
            if run.answer.is_none() || opts.challenge.is_some() {
                match ask(&format!("{prompt}:")) {
                    Some(a) => run.answer = Some(a),
                    None => {
                        crate::errln!("the server asks: {prompt}\nrun again with --answer TEXT");
                        return Next::Stop(ExitCode::from(3));
                    }
                }
            }
            opts.challenge = None;
            Next::Retry
        }
        ConnectError::Login(e) if opts.password.is_none() && std::io::stdin().is_terminal() => {
            crate::errln!("{e}");
            if opts.user.is_none() {
                opts.user = ask("User:");
            }
            opts.password = ask("Password:");
            Next::Retry
        }
        ConnectError::ClientVersion { message, update } => {
            if json {
                crate::errln!("{}", serde_json::json!({ "error": message, "causes": [] }));
            } else {
                output::labelled(output::Label::Error, &message);
            }
            if update.is_some() {
                say(
                    json,
                    "run again with --accept-update to install it (the current version is kept as a fallback)",
                );
            }
            Next::Stop(ExitCode::from(3))
        }
        e if !run.fallbacks.is_empty() && !matches!(e, ConnectError::IdentityChanged { .. }) => {
            output::error(&e);
            say(json, "trying the last server reached…");
            let next = run.fallbacks.remove(0);
            opts.target = Target::Link(Box::new(next));
            Next::Retry
        }
        e => {
            output::error(&e);
            let code = match e {
                ConnectError::NewIdentity { .. }
                | ConnectError::IdentityChanged { .. }
                | ConnectError::Login(_)
                | ConnectError::Challenge { .. } => 3,
                _ => 1,
            };
            Next::Stop(ExitCode::from(code))
        }
    }
}

/// After a successful connection: reports it, saves its link, prints the project folder,
/// follows the session when asked, closes it and completes the cached archive.
/// `follow`: follow the session, `Some(true)` copying a changed `Resources/` at once when the
/// server's policy is Ask.
async fn finish(
    connection: &Connection,
    save_link: Option<PathBuf>,
    follow: Option<bool>,
    json: bool,
) {
    if json {
        print_connection(connection);
    } else {
        report(connection);
    }
    if let Some(path) = &save_link {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = connection.link.write(path) {
            note(json, &format!("could not remember this server: {e}"));
        }
    }
    if !json {
        crate::outln!("{}", connection.project_root.display());
    }
    if let Some(update_resources) = follow {
        follow_session(connection, json, update_resources).await;
    }
    connection.close().await;
    // After deltas grew large, the new archive is being written in the background: finish it.
    if let Err(reason) = connection.settle_archive() {
        let reason = anyhow::Error::from(reason);
        note(
            json,
            &format!("{reason:#} (the next update will download the whole project)"),
        );
    }
}

/// The connection as one JSON object on standard output (`connect --json`).
fn print_connection(c: &Connection) {
    let value = serde_json::json!({
        "name": c.name,
        "address": c.address,
        "mode": c.mode,
        "fetched": c.fetched,
        "project_folder": c.project_root,
        "system_folder": c.folder.path(),
        "session": c.session.as_ref().map(|s| serde_json::json!({
            "id": s.session.id,
            "user": s.session.user_name,
        })),
    });
    crate::outln!("{value}");
}

fn report(c: &Connection) {
    let mode = match c.mode {
        Mode::Remote => "remote (read-only copy of the server's archive)",
        Mode::Development => "development (the server's project folder, read/write)",
        Mode::Offline => {
            "offline (the last good cached version, read-only; the server could not be reached)"
        }
    };
    let fetched = match c.fetched {
        Fetched::UpToDate => "already current".to_owned(),
        Fetched::Delta { bytes } => format!("updated with a delta of {}", output::bytes(bytes)),
        Fetched::Full { bytes } => format!("downloaded {}", output::bytes(bytes)),
        Fetched::Repaired => "cache repaired".into(),
        Fetched::Direct => "used in place".into(),
        Fetched::Offline => "cached copy".into(),
    };
    crate::errln!(
        "connected to \"{}\" at {}: {mode}; project {fetched}",
        c.name,
        c.address
    );
    if let Some(s) = &c.session {
        crate::errln!("session {} as {}", s.session.id, s.session.user_name);
    }
    crate::errln!("system folder {}", c.folder.path().display());
}

async fn follow_session(c: &Connection, json: bool, update_resources: bool) {
    let (Some(api), Some(s)) = (&c.api, &c.session) else {
        return;
    };
    let (_follower, mut updates) = follow(api.clone(), s.session.id.clone(), s.token.clone());
    if !json {
        crate::errln!("Following the session; Ctrl+C to disconnect");
    }
    loop {
        let update = tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            u = updates.next() => match u {
                None => break,
                Some(u) => u,
            },
        };
        let resources = if let SessionUpdate::Event(SessionEvent::ResourcesUpdated { .. }) = &update
        {
            Some(resources_news(c, update_resources).await)
        } else {
            None
        };
        if json {
            print_update_json(&update);
        } else {
            print_update(&update, resources);
        }
        if matches!(update, SessionUpdate::Ended { .. }) {
            break;
        }
    }
}

/// What became of a `resources-updated` event, by the server's policy.
enum ResourcesNews {
    /// Copied again (or not: nothing had changed), or the copy failed.
    Copied(Result<bool, ConnectError>),
    /// Left for the next connection, by this policy.
    Later(ResourcesUpdate),
}

/// Applies the server's policy to a `resources-updated` event: Always copies at once, Ask
/// copies when `--update-resources` was given, Never waits for the next connection.
async fn resources_news(c: &Connection, update_resources: bool) -> ResourcesNews {
    match c.resources_update() {
        Some(ResourcesUpdate::Always) => ResourcesNews::Copied(c.update_resources(&|_| {}).await),
        Some(ResourcesUpdate::Ask) if update_resources => {
            ResourcesNews::Copied(c.update_resources(&|_| {}).await)
        }
        Some(policy) => ResourcesNews::Later(policy),
        None => ResourcesNews::Copied(Ok(false)),
    }
}

/// A session update as one JSON line on standard output (`connect --follow --json`).
fn print_update_json(update: &SessionUpdate) {
    let value = match update {
        SessionUpdate::Event(SessionEvent::Heartbeat) => return,
        SessionUpdate::Event(e) => serde_json::json!({ "event": e }),
        SessionUpdate::Reconnecting {
            attempt,
            wait_ms,
            reason,
        } => serde_json::json!({
            "reconnecting": { "attempt": attempt, "wait_ms": wait_ms, "reason": reason }
        }),
        SessionUpdate::Resumed => serde_json::json!({ "resumed": true }),
        SessionUpdate::Ended { reason } => serde_json::json!({ "ended": reason }),
    };
    crate::outln!("{value}");
}

/// A session update as a sentence (`connect --follow`).
fn print_update(update: &SessionUpdate, resources: Option<ResourcesNews>) {
    match update {
        SessionUpdate::Event(e) => match e {
            SessionEvent::ProjectUpdated { stamp, .. } => crate::outln!(
                "A new version of the project is available ({}): reconnect to get it",
                stamp.short()
            ),
            SessionEvent::ResourcesUpdated { .. } => match resources {
                Some(ResourcesNews::Copied(Ok(true))) => {
                    crate::outln!("The Resources folder changed on the server: copied again");
                }
                Some(ResourcesNews::Copied(Err(e))) => crate::errln!(
                    "The Resources folder changed on the server but could not be copied: {e}"
                ),
                Some(ResourcesNews::Later(ResourcesUpdate::Ask)) => crate::outln!(
                    "The Resources folder changed on the server: it is copied at the next connection (or follow with --update-resources to copy it at once)"
                ),
                Some(ResourcesNews::Later(_)) => crate::outln!(
                    "The Resources folder changed on the server: it is copied at the next connection (the project's setting)"
                ),
                _ => {}
            },
            SessionEvent::FolderUpdated { folder, .. } => {
                crate::outln!("The {folder} folder changed on the server: reconnect to get it");
            }
            SessionEvent::Message { text } => crate::outln!("Message from the server: {text}"),
            SessionEvent::Shutdown {
                in_seconds,
                message,
            } => crate::outln!(
                "The server stops in {in_seconds} s{}",
                message
                    .as_ref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ),
            SessionEvent::StorageChanged { storage } => crate::outln!("Storage: {storage}"),
            SessionEvent::Dropped { reason } => {
                crate::outln!("Disconnected by the server: {reason}");
            }
            SessionEvent::Heartbeat => {}
        },
        SessionUpdate::Reconnecting {
            attempt,
            wait_ms,
            reason,
        } => crate::errln!(
            "Connection lost ({reason}); reconnecting (attempt {attempt}) in {wait_ms} ms"
        ),
        SessionUpdate::Resumed => crate::errln!("Reconnected: same session"),
        SessionUpdate::Ended { reason } => crate::outln!("Session ended: {reason}"),
    }
}
