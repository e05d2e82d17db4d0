//! The command line: one subcommand per action, so everything can be scripted.

mod admin;
mod archive;
mod browse;
mod build_app;
pub mod connect;
mod demo;
mod docs;
mod link;
pub mod output;
mod project;
mod recent;
pub mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Remote4D: 4D client/server management — project server, remote client, desktop app.
///
/// With no command, opens the desktop app; with a .4DLink file, connects to its server.
#[derive(Debug, Parser)]
#[command(name = "remote4d", version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("REMOTE4D_COMMIT"), ")"))]
pub struct Cli {
    /// A .4DLink shortcut file to open (what a double-click runs).
    pub file: Option<PathBuf>,
    /// Merged client: open the connection window instead of connecting to its server.
    #[arg(long)]
    pub choose: bool,
    /// Merged client: connect without a window (print the phases and the project folder).
    #[arg(long)]
    pub headless: bool,
    /// More log output (-v info, -vv debug). REMOTE4D_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// The action to run.
    #[command(subcommand)]
    pub command: Option<Command>,
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
    let command = <Cli as clap::CommandFactory>::command();
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

/// Runs a command; the exit code says how it went.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
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
