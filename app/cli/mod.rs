//! The command line: one subcommand per action, so everything can be scripted.

mod admin;
mod archive;
mod browse;
mod build_app;
pub mod connect;
mod demo;
mod link;
mod output;
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
#[command(args_conflicts_with_subcommands = true)]
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
    }
}
