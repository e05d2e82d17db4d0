//! `remote4d admin` and `remote4d reload`: administration from the server's machine.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use remote4d_core::client::ApiClient;
use remote4d_core::environment::Environment;
use remote4d_core::link::{DEFAULT_PORT, ServerPath};
use remote4d_core::protocol::{ReloadResult, SessionInfo};
use remote4d_core::server::admin::{read_token, token_path};
use reqwest::Method;

use super::output;

/// Options of `admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The server's port on this machine.
    #[arg(long, default_value_t = DEFAULT_PORT)]
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

fn admin_client(port: u16) -> anyhow::Result<ApiClient> {
    let env = Environment::from_system()?;
    let path = token_path(&env, port);
    let token = read_token(&path).with_context(|| {
        format!(
            "no administration token at {} — is a Remote4D server running on port {port} as this user?",
            path.display()
        )
    })?;
    Ok(
        ApiClient::new(&format!("127.0.0.1:{port}"), token.fingerprint.as_deref())?
            .with_token(token.token),
    )
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
                let list: Vec<serde_json::Value> = client
                    .json::<(), _>(Method::GET, "/api/v1/admin/sessions", None)
                    .await?;
                if json {
                    output::json(&list)?;
                } else {
                    for v in &list {
                        let info: SessionInfo = serde_json::from_value(v["info"].clone())?;
                        crate::outln!(
                            "{:<36}  {:<15}  {:<16}  {:<20}  {:<9}  {}",
                            info.id,
                            info.kind,
                            info.user_name,
                            info.machine_name,
                            format!("{:?}", info.state).to_lowercase(),
                            info.ip_address
                        );
                    }
                }
            }
            AdminAction::Message { text, session } => {
                let body = serde_json::json!({"text": text, "session_id": session});
                client
                    .send(Method::POST, "/api/v1/admin/message", Some(&body))
                    .await?;
                crate::outln!("message sent");
            }
            AdminAction::Drop { session } => {
                let body = serde_json::json!({"session_id": session});
                client
                    .send(Method::POST, "/api/v1/admin/drop", Some(&body))
                    .await?;
                crate::outln!("session {session} ended");
            }
            AdminAction::Shutdown {
                in_seconds,
                message,
            } => {
                let body = serde_json::json!({"in_seconds": in_seconds, "message": message});
                client
                    .send(Method::POST, "/api/v1/admin/shutdown", Some(&body))
                    .await?;
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
        let path = if args.no_wait {
            "/api/v1/project/reload"
        } else {
            "/api/v1/project/reload?wait=true"
        };
        if args.no_wait {
            client.send::<()>(Method::POST, path, None).await?;
            crate::outln!("reload started");
        } else {
            let r: ReloadResult = client.json::<(), _>(Method::POST, path, None).await?;
            crate::outln!("{}", r.stamp);
            crate::errln!(
                "{} in {} ms",
                if r.changed { "rebuilt" } else { "unchanged" },
                r.build_ms
            );
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
