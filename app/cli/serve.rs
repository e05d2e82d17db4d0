//! `remote4d serve`: the project server.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use remote4d_core::archive::OnProgress;
use remote4d_core::environment::Environment;
use remote4d_core::server::origins::Origin;
use remote4d_core::server::{Server, ServerConfig, ServerOptions};

use super::output;
use super::progress::StatusLine;
use crate::gui::admin::data::Target;

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The project: its folder, its Project/ folder, or its .4DProject file.
    pub project: PathBuf,
    /// TCP port (default: the project's publication port, else 19813).
    #[arg(long)]
    pub port: Option<u16>,
    /// A TOML configuration file (see docs/server.md).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Do not publish on the network (reachable by address only).
    #[arg(long)]
    pub no_publish: bool,
    /// Listen on this address only (repeatable; default: all addresses).
    #[arg(long)]
    pub bind: Vec<IpAddr>,
    /// Do not watch the project folder (rebuild with `remote4d reload`).
    #[arg(long)]
    pub no_watch: bool,
    /// Where the server keeps its identity and builds.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Show the server window (Monitor, Users, Application Server, Maintenance, Activity);
    /// without a display the server runs without it, and says so.
    #[arg(long)]
    pub window: bool,
}

/// What the command line overrides in the configuration file (applied again on a restart).
#[derive(Debug, Clone)]
struct Flags {
    port: Option<u16>,
    no_publish: bool,
    bind: Vec<IpAddr>,
    no_watch: bool,
    data_dir: Option<PathBuf>,
}

impl Flags {
    fn apply(&self, mut config: ServerConfig) -> ServerConfig {
        if self.port.is_some() {
            config.port = self.port;
        }
        if self.no_publish {
            config.publish = false;
        }
        if !self.bind.is_empty() {
            config.bind.clone_from(&self.bind);
        }
        if self.no_watch {
            config.watch = false;
        }
        if self.data_dir.is_some() {
            config.data_dir.clone_from(&self.data_dir);
        }
        config
    }
}

/// The configuration: the file (if any) with the command line's overrides.
fn configuration(file: Option<&Path>, flags: &Flags) -> anyhow::Result<ServerConfig> {
    let config = match file {
        Some(path) => ServerConfig::read(path)?,
        None => ServerConfig::default(),
    };
    Ok(flags.apply(config))
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let flags = Flags {
        port: args.port,
        no_publish: args.no_publish,
        bind: args.bind,
        no_watch: args.no_watch,
        data_dir: args.data_dir,
    };
    let file = args.config;
    // Read now: a mistake in it stops the command before anything starts.
    configuration(file.as_deref(), &flags)?;
    let env = Environment::from_system()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let project = args.project;
    if !args.window {
        runtime.block_on(serve_until_stopped(project, file, flags, env, None))?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Err(err) = crate::gui::check_display() {
        output::labelled(
            output::Label::Note,
            &format!(
                "the server window cannot open here ({err:#}); serving without it (remote4d admin administers it)"
            ),
        );
        runtime.block_on(serve_until_stopped(project, file, flags, env, None))?;
        return Ok(ExitCode::SUCCESS);
    }
    // The server in its own thread; the window, which needs the main thread, administers it
    // through the same API as any administrator.
    let (ready, started) = std::sync::mpsc::channel();
    let stopped = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stopped);
    let server = std::thread::spawn(move || {
        let result = runtime.block_on(serve_until_stopped(project, file, flags, env, Some(ready)));
        flag.store(true, Ordering::SeqCst);
        result
    });
    let Ok(port) = started.recv() else {
        // The server ended before it answered: its error.
        return server
            .join()
            .map_err(|_| anyhow::anyhow!("the server thread failed"))?
            .map(|()| ExitCode::FAILURE);
    };
    if let Err(err) = crate::gui::admin::run(crate::gui::admin::Launch {
        target: Some(Target::Local { port }),
        server_stopped: Some(stopped),
        ..crate::gui::admin::Launch::default()
    }) {
        crate::errln!("the server window failed ({err:#}); the server keeps running");
    }
    server
        .join()
        .map_err(|_| anyhow::anyhow!("the server thread failed"))??;
    Ok(ExitCode::SUCCESS)
}

/// Serves until stopped (a signal, an administrator); starts again when an administrator asked
/// for a restart (the project and the configuration file read anew). `ready` is told the port
/// once the server answers.
async fn serve_until_stopped(
    project: PathBuf,
    file: Option<PathBuf>,
    flags: Flags,
    env: Environment,
    ready: Option<std::sync::mpsc::Sender<u16>>,
) -> anyhow::Result<()> {
    let mut config = configuration(file.as_deref(), &flags)?;
    loop {
        // A large project takes seconds to build before the server answers: show it.
        let line = Arc::new(StatusLine::new());
        let shown = line.clone();
        let build_progress = OnProgress::new(move |p| {
            shown.bytes("building the project's archive", p.done, p.total);
        });
        let server = Server::start(ServerOptions {
            project: project.clone(),
            config: config.clone(),
            env: env.clone(),
            build_progress: Some(build_progress),
        })
        .await;
        line.finish();
        let server = server?;
        print_banner(&server, &flags, file.as_deref());
        if let Some(tx) = &ready {
            let _ = tx.send(server.port());
        }
        wait_for_stop(&server).await;
        let restart = server.restart_requested();
        if restart {
            crate::errln!("restarting: telling clients, reading the project again…");
        } else {
            crate::errln!("stopping: telling clients, sending goodbyes…");
        }
        server.shutdown().await;
        if !restart {
            return Ok(());
        }
        match configuration(file.as_deref(), &flags) {
            Ok(read) => config = read,
            Err(err) => crate::errln!(
                "the configuration cannot be read ({err:#}); restarting with the previous one"
            ),
        }
    }
}

/// Where a value came from, as the banner says it: the flag, the configuration file, the
/// project's settings file (relative to the project), or the default.
fn origin(
    origin: &Origin,
    flag: Option<&str>,
    file: Option<&Path>,
    root: &Path,
    default: &str,
) -> String {
    match origin {
        Origin::Configuration => match (flag, file) {
            (Some(flag), _) => flag.to_owned(),
            (None, Some(file)) => file.display().to_string(),
            (None, None) => "the configuration".to_owned(),
        },
        Origin::Project(f) => f.strip_prefix(root).unwrap_or(f).display().to_string(),
        Origin::Default => default.to_owned(),
    }
}

fn print_banner(server: &Server, flags: &Flags, file: Option<&Path>) {
    let info = server.info();
    let port = server.port();
    let mut addresses: Vec<String> = if_addrs::get_if_addrs()
        .map(|list| {
            list.into_iter()
                .filter(|i| !i.is_loopback() && typeable(i.ip()))
                .map(|i| match i.ip() {
                    IpAddr::V6(v6) => format!("[{v6}]:{port}"),
                    v4 => format!("{v4}:{port}"),
                })
                .collect()
        })
        .unwrap_or_default();
    if addresses.is_empty() {
        addresses = server.addresses().iter().map(ToString::to_string).collect();
    }
    let published = if server.is_published() {
        format!("{} (published on the network)", info.publication_name)
    } else {
        format!(
            "{} (not published: reachable by address only)",
            info.publication_name
        )
    };
    let certificate = if server.uses_project_certificate() {
        "the project's Resources/cert.pem"
    } else {
        "self-signed, kept in the server's data folder"
    };
    crate::outln!(
        "Remote4D server for {} ({})",
        info.project_name,
        server.root().display()
    );
    output::rows(&[
        ("publication", published),
        (
            "listening",
            server
                .addresses()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("addresses", addresses.join(", ")),
        ("port", port.to_string()),
        (
            "from",
            format!(
                "name: {}; port: {}",
                origin(
                    &server.origins().publication_name,
                    None,
                    file,
                    server.root(),
                    "the project's name"
                ),
                origin(
                    &server.origins().port,
                    flags.port.map(|_| "--port"),
                    file,
                    server.root(),
                    "the default"
                ),
            ),
        ),
        (
            "idle sessions",
            format!(
                "{} ({})",
                idle_sessions(server.inactivity_timeout()),
                origin(
                    &server.origins().inactivity_timeout,
                    None,
                    file,
                    server.root(),
                    "the default"
                )
            ),
        ),
        ("stamp", info.stamp.to_string()),
        ("copied to clients", copied_to_clients(&info)),
        ("fingerprint", info.fingerprint.clone()),
        ("certificate", certificate.into()),
        (
            "login",
            if info.login_required {
                "required (users of directory.json)"
            } else {
                "open (Designer, no password)"
            }
            .into(),
        ),
        (
            "admin token",
            server.admin_token_path().display().to_string(),
        ),
    ]);
    settings_note(
        server,
        &server.origins().not_used,
        "client/server settings of the project that Remote4D does not use",
    );
    settings_note(
        server,
        &server.origins().not_understood,
        "client/server settings of the project whose value Remote4D cannot read (ignored)",
    );
    crate::outln!("Press Ctrl+C to stop.");
}

/// A note listing project settings (`key (file)`, the file relative to the project), if any.
fn settings_note(server: &Server, settings: &[(String, PathBuf)], what: &str) {
    if settings.is_empty() {
        return;
    }
    let list: Vec<String> = settings
        .iter()
        .map(|(key, f)| {
            format!(
                "{key} ({})",
                f.strip_prefix(server.root()).unwrap_or(f).display()
            )
        })
        .collect();
    output::labelled(output::Label::Note, &format!("{what}: {}", list.join(", ")));
}

/// When a session without a connection ends (4D's "Client-Server Connections Timeout").
fn idle_sessions(timeout: std::time::Duration) -> String {
    let secs = timeout.as_secs();
    match secs {
        0 => "kept 48 h without a connection (no timeout)".to_owned(),
        s if s % 60 == 0 => format!("end after {} min without a connection", s / 60),
        s => format!("end after {s} s without a connection"),
    }
}

/// The project's folders remote clients get beside it, with their sizes, and the policy for
/// `Resources/` during a session.
fn copied_to_clients(info: &remote4d_core::protocol::ServerInfo) -> String {
    use remote4d_core::protocol::{Related, ResourcesUpdate};
    let folders: Vec<String> = Related::ALL
        .into_iter()
        .filter_map(|r| {
            info.offered(r)
                .map(|o| format!("{r}/ ({})", output::bytes(o.size)))
        })
        .collect();
    if folders.is_empty() {
        return "the project only (no Resources, Components, Plugins or Libraries folder)".into();
    }
    let policy = match info.resources_update {
        ResourcesUpdate::Always => "at once",
        ResourcesUpdate::Ask => "when the user accepts",
        ResourcesUpdate::Never => "at the next connection",
    };
    let resources = if info.resources.is_some() {
        format!("; Resources/ changed during a session: copied {policy}")
    } else {
        String::new()
    };
    format!("{}{resources}", folders.join(", "))
}

/// An address a user can type to reach this server: not an IPv6 link-local address, which
/// needs its interface's zone (`%eth0`) that addresses in links and the client do not carry.
fn typeable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
        IpAddr::V4(_) => true,
    }
}

async fn wait_for_stop(server: &Server) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            server.stopped().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            () = server.stopped() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = server.stopped() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::typeable;

    #[test]
    fn link_local_ipv6_addresses_are_not_offered() {
        assert!(!typeable("fe80::1c2:3ff:fe4:5".parse().unwrap()));
        assert!(typeable("fd00::5".parse().unwrap()));
        assert!(typeable("2001:db8::1".parse().unwrap()));
        assert!(typeable("192.168.1.20".parse().unwrap()));
    }
}
