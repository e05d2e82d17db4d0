//! `remote4d`: the desktop app (no command, or a `.4DLink` file) and the command line.
// On Windows: never a console window on a double-click; commands attach to the caller's
// console (see `console`).
#![windows_subsystem = "windows"]

mod cli;
mod console;
mod gui;
mod icon_pixels;
mod logging;
mod merged;

use std::process::ExitCode;

fn main() -> ExitCode {
    // SIGPIPE stays ignored (Rust's default): a peer that resets a socket must never kill a
    // server or a client; a closed standard output ends a command quietly (`cli::output`).
    let attached = console::attach();
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let choice = cli::colour::from_args(&argv);
    cli::colour::init(choice);
    let args = cli::parse(argv, choice);
    logging::init(args.verbose);
    match args.command {
        Some(command) => match cli::run(command) {
            Ok(code) => code,
            Err(err) if cli::output::is_broken_pipe(&err) => ExitCode::SUCCESS,
            Err(err) => {
                cli::output::error(err.as_ref());
                ExitCode::FAILURE
            }
        },
        None => {
            if let Some(file) = &args.file {
                if let Err(message) = cli::check_shortcut_argument(file) {
                    cli::output::labelled(cli::output::Label::Error, &message);
                    return ExitCode::from(2);
                }
            }
            let result = if args.file.is_none() {
                run_merged(args.choose, args.headless)
            } else {
                None
            };
            let result = result.unwrap_or_else(|| {
                if attached {
                    console::release();
                }
                gui::run(gui::Launch {
                    link: args.file,
                    ..gui::Launch::default()
                })
                .map(|()| ExitCode::SUCCESS)
            });
            match result {
                Ok(code) => code,
                Err(err) => {
                    cli::output::error(err.as_ref());
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
                    // Double-clicked on a desktop: its window, as 4D Server's.
                    window: !headless,
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
