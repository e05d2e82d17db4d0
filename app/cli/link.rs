//! `remote4d link show|new`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use remote4d_core::link::{Link, LinkKind, ServerPath};

use super::output;

/// `.4DLink` commands.
#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// Show what a .4DLink file says.
    Show {
        /// The .4DLink file.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write a new remote .4DLink.
    New {
        /// The server's publication name (server_database_name).
        #[arg(long)]
        name: String,
        /// The server's address: HOST, HOST:PORT, [IPv6]:PORT, or :PORT to find it by name.
        #[arg(long, value_parser = parse_address)]
        address: ServerPath,
        /// User name to log in with.
        #[arg(long)]
        user: Option<String>,
        /// Where to write it (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

fn parse_address(s: &str) -> Result<ServerPath, String> {
    ServerPath::parse(s).map_err(|e| e.to_string())
}

pub fn run(command: LinkCommand) -> anyhow::Result<ExitCode> {
    match command {
        LinkCommand::Show { file, json } => {
            let link =
                Link::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            if json {
                output::json(&serde_json::json!({
                    "kind": link.kind(),
                    "host": (link.kind() == LinkKind::Remote).then(|| link.address().host),
                    "port": (link.kind() == LinkKind::Remote).then(|| link.address().port()),
                    "find_by_name": link.kind() == LinkKind::Remote && link.address().find_by_name(),
                    "attributes": link,
                }))?;
            } else {
                show(&link);
            }
        }
        LinkCommand::New {
            name,
            address,
            user,
            output,
        } => {
            let mut link = Link::remote(name, address);
            link.user_name = user;
            match output {
                Some(path) => {
                    link.write(&path)?;
                    crate::errln!("wrote {}", path.display());
                }
                None => output::raw(&link.to_xml()),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(link: &Link) {
    let mut rows: Vec<(String, String)> = Vec::new();
    match link.kind() {
        LinkKind::Remote => {
            let addr = link.address();
            rows.push(("kind".into(), "remote (connects to a server)".into()));
            rows.push((
                "project".into(),
                link.server_database_name.clone().unwrap_or_default(),
            ));
            if addr.find_by_name() {
                rows.push((
                    "address".into(),
                    format!("found by name on the network, port {}", addr.port()),
                ));
            } else {
                rows.push(("address".into(), addr.authority()));
            }
        }
        LinkKind::Local => {
            rows.push((
                "kind".into(),
                "local (opens a project on this machine; not a remote project)".into(),
            ));
        }
    }
    for (name, value) in link.attributes() {
        if !matches!(
            name.as_ref(),
            "is_remote" | "server_database_name" | "password"
        ) {
            rows.push((name.into_owned(), value.into_owned()));
        }
    }
    if link.password.is_some() {
        rows.push(("password".into(), "(set, hidden)".into()));
    }
    output::rows(&rows);
}
