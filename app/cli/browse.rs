//! `remote4d browse`: servers on the network.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use futures::StreamExt;
use remote4d_core::client::trust::{TrustStore, Verdict};
use remote4d_core::discovery::{DiscoveredServer, DiscoveryEvent, browse};
use remote4d_core::environment::Environment;

use super::output;

/// Options of `browse`.
#[derive(Debug, Args)]
pub struct BrowseArgs {
    /// Keep watching and print changes (appear, update, disappear) until Ctrl+C.
    #[arg(long)]
    pub watch: bool,
    /// Print JSON (an array, or one event per line with --watch).
    #[arg(long)]
    pub json: bool,
    /// Seconds to listen before printing the list.
    #[arg(long, default_value_t = 3)]
    pub timeout: u64,
}

fn marker(store: &TrustStore, s: &DiscoveredServer) -> &'static str {
    match (s.server_id.as_deref(), s.fingerprint) {
        (Some(id), Some(fp)) => match store.verdict(
            id,
            &s.authority().unwrap_or_default(),
            &s.publication_name,
            &fp.to_string(),
            true,
        ) {
            Verdict::Trusted => "pinned",
            Verdict::New => "new",
            Verdict::Changed { .. } => "CHANGED",
        },
        _ => "?",
    }
}

/// A server's cells: name, address, trust, fingerprint (short form, marked by its ellipsis),
/// build.
fn cells(store: &TrustStore, s: &DiscoveredServer) -> Vec<String> {
    vec![
        s.publication_name.clone(),
        s.authority().unwrap_or_default(),
        marker(store, s).to_owned(),
        s.fingerprint.map_or_else(|| "-".to_owned(), |f| f.short()),
        s.stamp.map(|s| s.short()).unwrap_or_default(),
    ]
}

/// The table's header.
const HEADER: [&str; 5] = ["NAME", "ADDRESS", "TRUST", "FINGERPRINT", "BUILD"];

/// One server on one line (the `--watch` events).
fn line(store: &TrustStore, s: &DiscoveredServer) -> String {
    cells(store, s).join("  ")
}

pub fn run(args: &BrowseArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::from_system()?;
    let store = TrustStore::new(&env.data_dir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (_handle, mut events) = browse()?;
        if args.watch {
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    e = events.next() => {
                        let Some(e) = e else { break };
                        if args.json {
                            crate::outln!("{}", serde_json::to_string(&e)?);
                        } else {
                            match &e {
                                DiscoveryEvent::Added(s) => crate::outln!("+ {}", line(&store, s)),
                                DiscoveryEvent::Updated(s) => crate::outln!("~ {}", line(&store, s)),
                                DiscoveryEvent::Removed { fullname } => crate::outln!("- {fullname}"),
                            }
                        }
                    }
                }
            }
            return anyhow::Ok(());
        }
        let mut found: Vec<DiscoveredServer> = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout);
        while let Ok(Some(e)) = tokio::time::timeout_at(deadline, events.next()).await {
            match e {
                DiscoveryEvent::Added(s) => found.push(s),
                DiscoveryEvent::Updated(s) => {
                    if let Some(f) = found.iter_mut().find(|f| f.fullname == s.fullname) {
                        *f = s;
                    }
                }
                DiscoveryEvent::Removed { fullname } => found.retain(|f| f.fullname != fullname),
            }
        }
        if args.json {
            output::json(&found)?;
        } else if found.is_empty() {
            crate::outln!("no server found on the network in {} s", args.timeout);
        } else {
            let rows: Vec<Vec<String>> = found.iter().map(|s| cells(&store, s)).collect();
            output::table(&HEADER, &rows);
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
