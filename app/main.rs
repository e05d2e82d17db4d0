//! `remote4d`: the desktop app (no command, or a `.4DLink` file) and the command line.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod cli;
mod gui;
mod merged;

use std::process::ExitCode;

use clap::Parser;

/// `error: …` and each cause once (a cause already said by the line above is not repeated),
/// as sentences.
fn print_error(err: &anyhow::Error) {
    let mut said = err.to_string();
    crate::errln!("error: {}", cli::output::sentence(&said));
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if said.contains(&text) {
            continue;
        }
        crate::errln!("  because: {}", cli::output::sentence(&text));
        said = text;
    }
}

fn main() -> ExitCode {
    // SIGPIPE stays ignored (Rust's default): a peer that resets a socket must never kill a
    // server or a client; a closed standard output ends a command quietly (`cli::output`).
    let args = cli::Cli::parse();
    init_logging(args.verbose);
    match args.command {
        Some(command) => match cli::run(command) {
            Ok(code) => code,
            Err(err) if cli::output::is_broken_pipe(&err) => ExitCode::SUCCESS,
            Err(err) => {
                print_error(&err);
                ExitCode::FAILURE
            }
        },
        None => {
            if let Some(file) = &args.file {
                if let Err(message) = cli::check_shortcut_argument(file) {
                    crate::errln!("error: {}", cli::output::sentence(&message));
                    return ExitCode::from(2);
                }
            }
            let result = if args.file.is_none() {
                run_merged(args.choose, args.headless)
            } else {
                None
            };
            let result = result.unwrap_or_else(|| {
                gui::run(gui::Launch {
                    link: args.file,
                    ..gui::Launch::default()
                })
                .map(|()| ExitCode::SUCCESS)
            });
            match result {
                Ok(code) => code,
                Err(err) => {
                    crate::errln!("error: {}", cli::output::sentence(&format!("{err:#}")));
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// A merged application started with no argument: the server serves its project; the client
/// connects straight to its server (the connection window with `--choose`).
fn run_merged(choose: bool, headless: bool) -> Option<anyhow::Result<ExitCode>> {
    let merged = match merged::detect() {
        Ok(Some(m)) => m,
        Ok(None) => return None,
        Err(message) => return Some(Err(anyhow::anyhow!(message))),
    };
    Some((|| {
        let env = remote4d_core::environment::Environment::from_system()?;
        match merged {
            merged::Merged::Server { name, project, dir } => {
                crate::errln!("{name}: serving its project");
                let config = dir.join("server.toml");
                cli::serve::run(cli::serve::ServeArgs {
                    project,
                    port: None,
                    config: config.is_file().then_some(config),
                    no_publish: false,
                    bind: Vec::new(),
                    no_watch: false,
                    data_dir: None,
                })
            }
            merged::Merged::Client {
                name,
                link,
                selection_allowed,
            } => {
                let last_file = merged::last_server_file(&env, &name);
                let last = remote4d_core::link::Link::read(&last_file).ok();
                if choose || (!headless && merged::alt_held_at_launch()) {
                    return gui::run(gui::Launch::default()).map(|()| ExitCode::SUCCESS);
                }
                // As 4D: the application's link first, then the last server reached. The last
                // connection pins the identity and the server id (so that a second server
                // publishing the same name is never joined silently).
                let link = Box::new(merged::pin(*link, last.as_ref()));
                if headless {
                    let fallbacks: Vec<_> = last.into_iter().collect();
                    let link = *link;
                    let mut opts = remote4d_core::client::ConnectOptions::new(
                        remote4d_core::client::Target::Link(Box::new(link.clone())),
                        env,
                    );
                    opts.display_name = Some(name);
                    opts.trust_new = link.remote4d_fingerprint.is_none();
                    // An application built for end users: the server's build, never development mode.
                    opts.force_remote = true;
                    // A merged client accepts its server's update, as 4D's do after the dialog.
                    return cli::connect::run_with(cli::connect::Run {
                        fallbacks,
                        save_link: Some(last_file),
                        accept_update: true,
                        ..cli::connect::Run::new(opts)
                    });
                }
                gui::run(gui::Launch {
                    merged: Some(gui::MergedClient {
                        name,
                        link,
                        last_server: last.map(Box::new),
                        last_server_file: last_file,
                        selection_allowed,
                    }),
                    ..gui::Launch::default()
                })
                .map(|()| ExitCode::SUCCESS)
            }
        }
    })())
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    // rustls warns about what peers send (an IP address as SNI, say): a peer must not be able
    // to fill the server's log, so its warnings show only with -vv.
    let default = match verbose {
        0 => "warn,rustls=error",
        1 => "info,remote4d=info,remote4d_core=info,rustls=error",
        _ => "debug",
    };
    let filter =
        EnvFilter::try_from_env("REMOTE4D_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
