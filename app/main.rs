//! `remote4d`: the desktop app (no command, or a `.4DLink` file) and the command line.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod cli;
mod gui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    restore_sigpipe();
    let args = cli::Cli::parse();
    init_logging(args.verbose);
    match args.command {
        Some(command) => match cli::run(command) {
            Ok(code) => code,
            Err(err) => {
                eprintln!("error: {err}");
                for cause in err.chain().skip(1) {
                    eprintln!("  because: {cause}");
                }
                ExitCode::FAILURE
            }
        },
        None => match gui::run(gui::Launch {
            link: args.file,
            auto: None,
        }) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info,remote4d=info,remote4d_core=info",
        _ => "debug",
    };
    let filter =
        EnvFilter::try_from_env("REMOTE4D_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Lets `remote4d ... | head` end quietly instead of failing on a closed pipe.
#[cfg(unix)]
fn restore_sigpipe() {
    // SAFETY: setting SIGPIPE's disposition to the default at start-up, before any thread exists.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_sigpipe() {}
