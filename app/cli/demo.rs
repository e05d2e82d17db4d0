//! `remote4d demo`: a local server on the demo project, and the app connected to it (same
//! machine, so development mode).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use remote4d_core::environment::Environment;
use remote4d_core::server::{Server, ServerConfig, ServerOptions};

use crate::gui;

/// Options of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Port of the demo server (0: any free port).
    #[arg(long, default_value_t = 19833)]
    pub port: u16,
    /// Do not publish the demo server on the network.
    #[arg(long)]
    pub no_publish: bool,
    /// Start from a fresh copy of the demo project (discarding your edits).
    #[arg(long)]
    pub reset: bool,
}

/// The demo project, embedded in the program.
const FILES: &[(&str, &str)] = &[
    (
        "Project/DemoShop.4DProject",
        include_str!("../../resources/demo/DemoShop/Project/DemoShop.4DProject"),
    ),
    (
        "Project/Sources/settings.4DSettings",
        include_str!("../../resources/demo/DemoShop/Project/Sources/settings.4DSettings"),
    ),
    (
        "Project/Sources/catalog.4DCatalog",
        include_str!("../../resources/demo/DemoShop/Project/Sources/catalog.4DCatalog"),
    ),
    (
        "Project/Sources/Methods/NewOrder.4dm",
        include_str!("../../resources/demo/DemoShop/Project/Sources/Methods/NewOrder.4dm"),
    ),
    (
        "Project/Sources/Methods/UnpaidTotal.4dm",
        include_str!("../../resources/demo/DemoShop/Project/Sources/Methods/UnpaidTotal.4dm"),
    ),
    (
        "Project/Sources/Methods/Greeting.4dm",
        include_str!("../../resources/demo/DemoShop/Project/Sources/Methods/Greeting.4dm"),
    ),
    (
        "Project/Sources/Classes/Invoice.4dm",
        include_str!("../../resources/demo/DemoShop/Project/Sources/Classes/Invoice.4dm"),
    ),
    (
        "Project/Sources/DatabaseMethods/onServerOpenConnection.4dm",
        include_str!(
            "../../resources/demo/DemoShop/Project/Sources/DatabaseMethods/onServerOpenConnection.4dm"
        ),
    ),
    (
        "Project/Sources/Forms/Orders/form.4DForm",
        include_str!("../../resources/demo/DemoShop/Project/Sources/Forms/Orders/form.4DForm"),
    ),
    (
        "Project/Sources/Forms/Orders/method.4dm",
        include_str!("../../resources/demo/DemoShop/Project/Sources/Forms/Orders/method.4dm"),
    ),
];

/// Writes the demo project under `dir` (kept between runs unless `reset`).
pub fn install(dir: &Path, reset: bool) -> anyhow::Result<PathBuf> {
    let root = dir.join("DemoShop");
    if reset && root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    if !root.join("Project/DemoShop.4DProject").is_file() {
        for (rel, content) in FILES {
            let path = root.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, content)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(root)
}

pub fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::from_system()?;
    let root = install(&env.data_dir.join("demo"), args.reset)?;
    crate::errln!("demo project: {}", root.display());
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<u16>>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let config = ServerConfig {
        port: Some(args.port),
        publish: !args.no_publish,
        ..ServerConfig::default()
    };
    let server_env = env;
    let server_thread = std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                let _ = ready_tx.send(Err(e.into()));
                return;
            }
        };
        runtime.block_on(async move {
            let mut config = config;
            let started = match Server::start(ServerOptions {
                project: root.clone(),
                config: config.clone(),
                env: server_env.clone(),
                build_progress: None,
            })
            .await
            {
                Ok(s) => Ok(s),
                Err(e) if config.port != Some(0) => {
                    crate::errln!("port {:?} is busy ({e}); using another one", config.port);
                    config.port = Some(0);
                    Server::start(ServerOptions {
                        project: root,
                        config,
                        env: server_env,
                        build_progress: None,
                    })
                    .await
                }
                Err(e) => Err(e),
            };
            match started {
                Ok(server) => {
                    let _ = ready_tx.send(Ok(server.port()));
                    let _ = stop_rx.await;
                    server.shutdown().await;
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.into()));
                }
            }
        });
    });
    let port = ready_rx.recv().context("the demo server did not start")??;
    crate::errln!("demo server on port {port}; opening the app");
    let result = gui::run(gui::Launch {
        auto: Some(gui::AutoConnect {
            address: format!("127.0.0.1:{port}"),
            project: "Demo Shop".into(),
        }),
        ..gui::Launch::default()
    });
    let _ = stop_tx.send(());
    let _ = server_thread.join();
    result?;
    Ok(ExitCode::SUCCESS)
}
