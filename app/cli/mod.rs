//! The command line: one subcommand per action, so everything can be scripted.

mod admin;
mod archive;
mod browse;
mod build_app;
pub mod colour;
pub mod connect;
mod demo;
mod docs;
mod examples;
mod link;
pub mod output;
pub mod progress;
mod project;
mod recent;
pub mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Remote4D: 4D client/server management — project server, remote client, desktop app.
///
/// With no command, opens the desktop app; with a .4DLink file, connects to its server.
#[derive(Debug, Parser)]
#[command(name = "remote4d", version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("REMOTE4D_COMMIT"), ")"))]
pub struct Cli {
    /// A .4DLink shortcut file to open (what a double-click runs).
    pub file: Option<PathBuf>,
    /// Merged client: open the connection window instead of connecting to its server.
    #[arg(long, hide = true)]
    pub choose: bool,
    /// Merged application, no window: a client connects and prints the phases and the project
    /// folder; a server serves without its server window.
    #[arg(long, hide = true)]
    pub headless: bool,
    /// More log output, with times and sources (-v info, -vv debug); see REMOTE4D_LOG below.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = GLOBAL)]
    pub verbose: u8,
    /// When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_name = "WHEN", default_value = "auto", global = true, help_heading = GLOBAL, hide_possible_values = true)]
    pub color: colour::ColorChoice,
    /// The action to run.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The heading of the options every command takes.
const GLOBAL: &str = "Global options";

/// The end of the top-level help: the environment variables the program reads.
const ENVIRONMENT: &str = "\
Environment:
  REMOTE4D_LOG  What to log on standard error, as a filter: a level (error, warn, info, debug,
                trace) or per module (remote4d_core::server=debug,info). RUST_LOG is read when
                it is not set. Either one adds times and sources to the log lines, as -v does.
  NO_COLOR      When set (not empty), no colour, as --color never.";

/// The command line's definition as users see it: [`Cli`] with the examples after each help,
/// the environment it reads, and, in a merged application, that application's name and purpose.
pub fn command() -> clap::Command {
    let command = examples::add(Cli::command());
    let after = command
        .get_after_help()
        .map(|h| format!("{h}\n\n{ENVIRONMENT}"))
        .unwrap_or_else(|| ENVIRONMENT.to_owned());
    command.after_help(after)
}

/// The help of a merged application speaks of it: its name, what it does, its own options.
fn merged_help(command: clap::Command, merged: &crate::merged::Merged) -> clap::Command {
    let (name, about, long) = match merged {
        crate::merged::Merged::Client { name, .. } => (
            name.clone(),
            format!("{name}: the client of its 4D server"),
            format!(
                "{name}: the client of its 4D server.\n\nStarted with no argument, it connects to its \
                 server and opens the project (the connection window when --choose is given or the \
                 Alt key is held). Built with Remote4D, whose commands follow."
            ),
        ),
        crate::merged::Merged::Server { name, .. } => (
            name.clone(),
            format!("{name}: serves its 4D project on the network"),
            format!(
                "{name}: serves its 4D project on the network.\n\nStarted with no argument, it \
                 publishes its project and serves it to its clients until stopped, showing its \
                 server window on a desktop (--headless: none; Ctrl+C stops it). A server.toml \
                 beside it configures it. Built with Remote4D, whose commands follow."
            ),
        ),
    };
    let client = matches!(merged, crate::merged::Merged::Client { .. });
    let examples = if client {
        format!(
            "Examples:\n  Connect to its server and open the project:\n    {name}\n  \
             Choose the server in the connection window:\n    {name} --choose\n  \
             Connect without a window (print the phases and the project folder):\n    {name} --headless"
        )
    } else {
        format!(
            "Examples:\n  Serve its project, with the server window on a desktop:\n    {name}\n  \
             Serve it without a window (a machine with no desktop, a service):\n    {name} --headless"
        )
    };
    command
        .after_help(format!("{examples}\n\n{ENVIRONMENT}"))
        .name(name.clone())
        .bin_name(name)
        .about(about)
        .long_about(long)
        .version(env!("CARGO_PKG_VERSION"))
        .mut_arg("choose", |a| a.hide(!client))
        .mut_arg("headless", |a| a.hide(false))
        .subcommand_help_heading("Remote4D commands")
}

/// Parses `argv` (colour decided by `choice` for clap's own help and errors); prints the help,
/// the version or the usage error and exits when that is what was asked.
pub fn parse(argv: Vec<std::ffi::OsString>, choice: colour::ColorChoice) -> Cli {
    let mut command = command().color(colour::for_clap(choice));
    if let Ok(Some(merged)) = crate::merged::detect() {
        command = merged_help(command, &merged);
    }
    let matches = command.get_matches_from(argv);
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Every action of the command line.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read and write .4DLink shortcut files.
    #[command(subcommand)]
    Link(link::LinkCommand),
    /// Build, list, verify and unpack .4dz project archives.
    #[command(subcommand)]
    Archive(archive::ArchiveCommand),
    /// Inspect a 4D project folder.
    #[command(subcommand)]
    Project(project::ProjectCommand),
    /// List the Recent projects.
    Recent(recent::RecentArgs),
    /// Serve a 4D project: publish it, serve its .4dz over HTTPS, rebuild on change.
    Serve(serve::ServeArgs),
    /// Rebuild the archive of a server on this machine now (4D's RELOAD PROJECT).
    Reload(admin::ReloadArgs),
    /// Administer a server on this machine: sessions, message, drop, shutdown.
    Admin(admin::AdminArgs),
    /// List the servers published on the network.
    Browse(browse::BrowseArgs),
    /// Connect to a server (address or .4DLink), get its project, print its local path.
    Connect(connect::ConnectArgs),
    /// Start a local server on the demo project and open the app connected to it.
    Demo(demo::DemoArgs),
    /// Build a merged client or server application from this executable.
    #[command(subcommand)]
    Build(build_app::BuildCommand),
    /// Print the completion script of a shell (bash, zsh, fish, powershell, elvish).
    ///
    /// Example: `remote4d completions bash > ~/.local/share/bash-completion/completions/remote4d`
    Completions(docs::CompletionsArgs),
    /// Write the man pages (remote4d.1 and one per command) into a folder.
    ///
    /// Example: `remote4d man --out ~/.local/share/man/man1`
    Man(docs::ManArgs),
}

/// Checks that a bare argument is a shortcut to open: a name ending in `.4DLink` (any case) or an
/// existing file. Anything else is a mistyped command, answered with the closest ones.
///
/// # Errors
/// The message to print (an unknown command, with suggestions).
pub fn check_shortcut_argument(arg: &std::path::Path) -> Result<(), String> {
    if remote4d_core::link::is_link_path(arg) || arg.is_file() {
        return Ok(());
    }
    let word = arg.to_string_lossy();
    let command = Cli::command();
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    let mut close: Vec<(usize, &String)> = names
        .iter()
        .map(|n| (edit_distance(&word.to_lowercase(), n), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 3) || n.starts_with(&*word.to_lowercase()))
        .collect();
    close.sort();
    let hint = match close.first() {
        Some((_, n)) => format!("\n\n  tip: a similar command exists: '{n}'"),
        None => String::new(),
    };
    let what = if word.contains(['/', '\\', '.']) {
        format!("'{word}' is neither a command nor an existing .4DLink file")
    } else {
        format!("unrecognized command '{word}'")
    };
    Err(format!(
        "{what}{hint}\n\nCommands: {}. See 'remote4d --help'.",
        names.join(", ")
    ))
}

/// Levenshtein distance, for suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

impl Command {
    /// The command was asked for `--json`: everything it prints on that stream, errors
    /// included, is JSON.
    fn wants_json(&self) -> bool {
        match self {
            Self::Link(link::LinkCommand::Show { json, .. })
            | Self::Archive(archive::ArchiveCommand::List { json, .. })
            | Self::Project(project::ProjectCommand::Show { json, .. })
            | Self::Admin(admin::AdminArgs {
                action:
                    Some(
                        admin::AdminAction::Sessions { json }
                        | admin::AdminAction::Status { json }
                        | admin::AdminAction::Builds { json },
                    ),
                ..
            }) => *json,
            Self::Recent(a) => a.json,
            Self::Browse(a) => a.json,
            Self::Connect(a) => a.json,
            _ => false,
        }
    }
}

/// Runs a command; the exit code says how it went.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    if command.wants_json() {
        output::json_errors();
    }
    match command {
        Command::Link(c) => link::run(c),
        Command::Archive(c) => archive::run(c),
        Command::Project(c) => project::run(c),
        Command::Recent(a) => recent::run(&a),
        Command::Serve(a) => serve::run(a),
        Command::Reload(a) => admin::reload(&a),
        Command::Admin(a) => admin::run(a),
        Command::Browse(a) => browse::run(&a),
        Command::Connect(a) => connect::run(a),
        Command::Demo(a) => demo::run(&a),
        Command::Build(c) => build_app::run(c),
        Command::Completions(a) => docs::completions(&a),
        Command::Man(a) => docs::man(&a),
    }
}
