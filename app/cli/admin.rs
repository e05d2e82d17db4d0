//! `remote4d admin` and `remote4d reload`: administration from the server's machine.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use remote4d_core::client::admin::AdminClient;
use remote4d_core::environment::Environment;
use remote4d_core::link::{DEFAULT_PORT, ServerPath};

use super::output;

/// Options of `admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The server's port on this machine (before or after the action).
    #[arg(long, default_value_t = DEFAULT_PORT, global = true)]
    pub port: u16,
    /// What to do.
    #[command(subcommand)]
    pub action: AdminAction,
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
        /// Only this session.
        #[arg(long)]
        session: Option<String>,
    },
    /// End a session.
    Drop {
        /// The session id.
        session: String,
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

pub fn run(args: AdminArgs) -> anyhow::Result<ExitCode> {
    let client = admin_client(args.port)?;
    runtime()?.block_on(async move {
        match args.action {
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
                client.message(&text, session.as_deref()).await?;
                crate::outln!("message sent");
            }
            AdminAction::Drop { session } => {
                client.drop_session(&session, None).await?;
                crate::outln!("session {session} ended");
            }
            AdminAction::Shutdown {
                in_seconds,
                message,
            } => {
                client.shutdown(in_seconds, message.as_deref()).await?;
                crate::outln!("the server stops in {in_seconds} s; clients are warned");
            }
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn reload(args: &ReloadArgs) -> anyhow::Result<ExitCode> {
    let address = ServerPath::parse(&args.address)?;
    let client = admin_client(address.port())?;
    runtime()?.block_on(async move {
        match client.reload(!args.no_wait).await? {
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
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
