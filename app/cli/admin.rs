//! `remote4d admin` and `remote4d reload`: administration from the server's machine (its token
//! file) or, with `--server`, from anywhere as the project's Designer or Administrator.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use remote4d_core::client::admin::AdminClient;
use remote4d_core::environment::Environment;
use remote4d_core::link::{DEFAULT_PORT, ServerPath};

use super::output;
use crate::gui::admin::data::Target;

/// Options of `admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The server's port on this machine (before or after the action).
    #[arg(long, default_value_t = DEFAULT_PORT, global = true)]
    pub port: u16,
    /// Administer a server elsewhere: HOST[:PORT], connected to once before from here (its
    /// identity pinned). Needs --user: the project's Designer or Administrator.
    #[arg(long, global = true, value_name = "HOST[:PORT]")]
    pub server: Option<String>,
    /// With --server: the 4D user (Designer or Administrator).
    #[arg(long, global = true)]
    pub user: Option<String>,
    /// With --server: read the password from the first line of standard input (otherwise it is
    /// asked for on the terminal).
    #[arg(long, global = true)]
    pub password_stdin: bool,
    /// Open the server window instead of running an action: of the server on this machine's
    /// --port, or of HOST[:PORT] (or --server) elsewhere, logging in from the window.
    #[arg(long, value_name = "HOST[:PORT]", num_args = 0..=1, default_missing_value = "")]
    pub window: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub action: Option<AdminAction>,
}

/// Administration actions.
#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// List the sessions (with their storage).
    Sessions {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send a message to every client, or to one session.
    Message {
        /// The text.
        text: String,
        /// Only these sessions (repeat --session for several).
        #[arg(long)]
        session: Vec<String>,
    },
    /// The server's status: uptime, sessions now and at most, new connections, archive.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Accept new connections (on) or refuse them (off); existing sessions stay, and the
    /// Designer and the Administrator may still log in.
    Accept {
        /// on or off.
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// End a session, now or after a delay (its user is told at once).
    Drop {
        /// The session id.
        session: String,
        /// Seconds before it ends.
        #[arg(long = "in", default_value_t = 0)]
        in_seconds: u64,
        /// Why (shown to its user).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Announce the server on the network (on) or stop announcing it (off); it stays reachable
    /// by its address.
    Publish {
        /// on or off.
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// The server's recent activity: connections, refusals, reloads, administration.
    Activity {
        /// Keep printing new events until Ctrl+C.
        #[arg(long)]
        follow: bool,
        /// JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// The server log (info and above), as its window shows it.
    Log {
        /// Keep printing new lines until Ctrl+C.
        #[arg(long)]
        follow: bool,
        /// JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// The builds kept, newest first: when, size, files changed, the delta kept for clients.
    Builds {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Restart the server: its users are disconnected (told to connect again in a moment), the
    /// project and the configuration are read anew.
    Restart,
    /// Rebuild the project now (4D's RELOAD PROJECT) and print the new stamp.
    Reload {
        /// Return at once instead of waiting for the new archive.
        #[arg(long)]
        no_wait: bool,
    },
    /// Stop the server, warning every client with a countdown.
    Shutdown {
        /// Seconds before it stops.
        #[arg(long = "in", default_value_t = 0)]
        in_seconds: u64,
        /// A message shown to the clients.
        #[arg(long)]
        message: Option<String>,
    },
}

/// Options of `reload`.
#[derive(Debug, Args)]
pub struct ReloadArgs {
    /// The server: HOST[:PORT] on this machine (default port 19813).
    pub address: String,
    /// Return at once instead of waiting for the new archive.
    #[arg(long)]
    pub no_wait: bool,
}

fn admin_client(port: u16) -> anyhow::Result<AdminClient> {
    Ok(AdminClient::local(&Environment::from_system()?, port)?)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The password for `--server`: standard input's first line, or asked on the terminal.
fn password(from_stdin: bool, user: &str) -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal, Write};
    if !from_stdin && !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "no password: pass --password-stdin (first line of standard input) or run in a terminal"
        );
    }
    if !from_stdin {
        eprint!("password of {user}: ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub fn run(args: AdminArgs) -> anyhow::Result<ExitCode> {
    if let Some(host) = args.window {
        let address = Some(host).filter(|h| !h.is_empty()).or(args.server);
        // This machine's server when one runs here (its token file), else the login form.
        let env = Environment::from_system()?;
        let local = remote4d_core::server::admin::token_path(&env, args.port).is_file();
        let target = match &address {
            None if local => Some(Target::Local { port: args.port }),
            _ => None,
        };
        crate::gui::admin::run(crate::gui::admin::Launch {
            target,
            address,
            user: args.user,
            server_stopped: None,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(action) = args.action else {
        anyhow::bail!(
            "say what to do (remote4d admin status, sessions, …) or open the window (remote4d admin --window); see remote4d admin --help"
        );
    };
    let rt = runtime()?;
    let client = match (&args.server, &args.user) {
        (Some(server), Some(user)) => {
            let password = password(args.password_stdin, user)?;
            rt.block_on(AdminClient::remote(
                &Environment::from_system()?,
                server,
                user,
                &password,
            ))?
        }
        (Some(_), None) => anyhow::bail!(
            "--server needs --user: the project's Designer or Administrator (or open the window: remote4d admin --window HOST)"
        ),
        _ => admin_client(args.port)?,
    };
    let result = rt.block_on(act(&client, action));
    // The administrator's own session ends either way (remote administration).
    let _ = rt.block_on(client.close());
    result?;
    Ok(ExitCode::SUCCESS)
}

async fn act(client: &AdminClient, action: AdminAction) -> anyhow::Result<()> {
    {
        match action {
            AdminAction::Sessions { json } => {
                let list = client.sessions().await?;
                if json {
                    output::json(&list)?;
                } else {
                    let rows: Vec<Vec<String>> = list
                        .iter()
                        .map(|s| {
                            let info = &s.info;
                            vec![
                                info.id.clone(),
                                info.kind.clone(),
                                info.user_name.clone(),
                                info.machine_name.clone(),
                                format!("{:?}", info.state).to_lowercase(),
                                info.ip_address.clone(),
                            ]
                        })
                        .collect();
                    output::table(
                        &["SESSION", "KIND", "USER", "MACHINE", "STATE", "ADDRESS"],
                        &rows,
                    );
                }
            }
            AdminAction::Message { text, session } => {
                let ids: Vec<&str> = session.iter().map(String::as_str).collect();
                client.message(&text, &ids).await?;
                crate::outln!("message sent");
            }
            AdminAction::Status { json } => {
                let status = client.status().await?;
                if json {
                    output::json(&status)?;
                } else {
                    output::rows(&[
                        (
                            "server",
                            format!(
                                "{} (Remote4D {})",
                                status.publication_name, status.server_version
                            ),
                        ),
                        ("port", status.port.to_string()),
                        ("up", output::duration_secs(status.uptime_secs)),
                        (
                            "sessions",
                            format!("{} now, {} at most", status.sessions, status.peak_sessions),
                        ),
                        (
                            "published",
                            if status.published { "yes" } else { "no" }.to_owned(),
                        ),
                        (
                            "new connections",
                            if status.accepting {
                                "accepted"
                            } else {
                                "refused"
                            }
                            .to_owned(),
                        ),
                        (
                            "archive",
                            format!("{} ({})", status.stamp, output::bytes(status.archive_size)),
                        ),
                        ("fingerprint", status.fingerprint),
                        ("listening", status.addresses.join(", ")),
                        (
                            "traffic",
                            format!(
                                "in {}, out {}",
                                output::bytes(status.bytes_in),
                                output::bytes(status.bytes_out)
                            ),
                        ),
                        (
                            "served",
                            format!(
                                "{} archives, {} deltas",
                                status.archives_served, status.deltas_served
                            ),
                        ),
                        (
                            "cpu",
                            status.cpu_ms.map_or_else(
                                || "not known".into(),
                                |ms| format!("{:.1} s in all", ms as f64 / 1000.0),
                            ),
                        ),
                        (
                            "memory",
                            status
                                .memory_bytes
                                .map_or_else(|| "not known".into(), output::bytes),
                        ),
                        (
                            "last reload",
                            status.last_reload.map_or_else(
                                || "none".into(),
                                |r| match r.error {
                                    Some(e) => format!("failed: {e}"),
                                    None => format!(
                                        "{} in {} ms",
                                        if r.changed { "rebuilt" } else { "unchanged" },
                                        r.millis
                                    ),
                                },
                            ),
                        ),
                        (
                            "client versions",
                            status.client_versions.map_or_else(
                                || "any".into(),
                                |v| {
                                    format!(
                                        "{} to {}",
                                        v.min.as_deref().unwrap_or("any"),
                                        v.max.as_deref().unwrap_or("any")
                                    )
                                },
                            ),
                        ),
                    ]);
                }
            }
            AdminAction::Accept { state } => {
                let accept = state == "on";
                client.set_accepting(accept).await?;
                crate::outln!(
                    "{}",
                    if accept {
                        "new connections are accepted"
                    } else {
                        "new connections are refused (existing sessions stay; the Designer and the Administrator may still log in)"
                    }
                );
            }
            AdminAction::Drop {
                session,
                in_seconds,
                reason,
            } => {
                client
                    .drop_session(&session, reason.as_deref(), in_seconds)
                    .await?;
                if in_seconds == 0 {
                    crate::outln!("session {session} ended");
                } else {
                    crate::outln!("session {session} ends in {in_seconds} s; its user is told");
                }
            }
            AdminAction::Publish { state } => {
                let publish = state == "on";
                client.set_published(publish).await?;
                crate::outln!(
                    "{}",
                    if publish {
                        "published on the network"
                    } else {
                        "no longer published on the network (still reachable by its address)"
                    }
                );
            }
            AdminAction::Activity { follow, json } => {
                follow_numbered(
                    follow,
                    json,
                    |after| client.activity(after),
                    |e| (e.seq, e.at_ms),
                    |e| {
                        let kind = serde_json::to_value(e.kind).unwrap_or_default();
                        format!("{:<8}  {}", kind.as_str().unwrap_or_default(), e.text)
                    },
                )
                .await?;
            }
            AdminAction::Log { follow, json } => {
                follow_numbered(
                    follow,
                    json,
                    |after| client.log(after),
                    |l| (l.seq, l.at_ms),
                    |l| {
                        let level = serde_json::to_value(l.level).unwrap_or_default();
                        format!(
                            "{:<5}  {}  {}",
                            level.as_str().unwrap_or_default(),
                            l.target,
                            l.text
                        )
                    },
                )
                .await?;
            }
            AdminAction::Builds { json } => {
                let builds = client.builds().await?;
                if json {
                    output::json(&builds)?;
                } else {
                    let rows: Vec<Vec<String>> = builds
                        .iter()
                        .map(|b| {
                            let at = std::time::UNIX_EPOCH
                                + std::time::Duration::from_millis(b.built_at_ms);
                            vec![
                                format!(
                                    "{}{}",
                                    b.stamp.get(..16).unwrap_or(&b.stamp),
                                    if b.current { " (current)" } else { "" }
                                ),
                                remote4d_core::time::iso8601(at),
                                output::bytes(b.archive_size),
                                b.files.to_string(),
                                b.changed_files
                                    .map_or_else(|| "-".into(), |n| n.to_string()),
                                match (b.current, b.delta_size) {
                                    (true, _) => "-".into(),
                                    (false, Some(n)) => output::bytes(n),
                                    (false, None) => "not asked yet".into(),
                                },
                            ]
                        })
                        .collect();
                    output::table(
                        &["STAMP", "BUILT", "SIZE", "FILES", "CHANGED", "DELTA"],
                        &rows,
                    );
                }
            }
            AdminAction::Restart => {
                client.restart().await?;
                crate::outln!(
                    "the server is restarting; its users were told to connect again in a moment"
                );
            }
            AdminAction::Reload { no_wait } => print_reload(client.reload(!no_wait).await?),
            AdminAction::Shutdown {
                in_seconds,
                message,
            } => {
                client.shutdown(in_seconds, message.as_deref()).await?;
                crate::outln!("the server stops in {in_seconds} s; clients are warned");
            }
        }
        Ok(())
    }
}

/// Prints numbered entries (activity, log) — time first, or JSON lines — and with `follow`
/// keeps asking for the ones after the last every second.
async fn follow_numbered<T, F>(
    follow: bool,
    json: bool,
    fetch: impl Fn(u64) -> F,
    seq_and_time: impl Fn(&T) -> (u64, u64),
    line: impl Fn(&T) -> String,
) -> anyhow::Result<()>
where
    T: serde::Serialize,
    F: Future<Output = Result<Vec<T>, remote4d_core::client::RequestError>>,
{
    let mut after = 0;
    loop {
        for entry in fetch(after).await? {
            let (seq, at_ms) = seq_and_time(&entry);
            after = seq;
            if json {
                crate::outln!("{}", serde_json::to_string(&entry)?);
            } else {
                let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(at_ms);
                crate::outln!("{}  {}", remote4d_core::time::iso8601(at), line(&entry));
            }
        }
        if !follow {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

pub fn reload(args: &ReloadArgs) -> anyhow::Result<ExitCode> {
    let address = ServerPath::parse(&args.address)?;
    let client = admin_client(address.port())?;
    runtime()?.block_on(async move {
        print_reload(client.reload(!args.no_wait).await?);
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn print_reload(result: Option<remote4d_core::protocol::ReloadResult>) {
    match result {
        None => crate::outln!("reload started"),
        Some(r) => {
            crate::outln!("{}", r.stamp);
            crate::errln!(
                "{} in {} ms",
                if r.changed { "rebuilt" } else { "unchanged" },
                r.build_ms
            );
        }
    }
}
