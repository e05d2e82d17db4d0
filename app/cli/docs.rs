//! `remote4d completions SHELL` and `remote4d man --out DIR`: shell completions and man pages,
//! generated from the command line's own definition (so they never drift from it). The `.deb`
//! installs both in the standard places (`scripts/gen-assets` makes them for the package).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use clap_complete::Shell;

/// `remote4d completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell or elvish.
    pub shell: Shell,
}

/// `remote4d man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The folder to write `remote4d.1` and one page per command (`remote4d-serve.1`, …) into.
    #[arg(long, short)]
    pub out: PathBuf,
}

/// Prints the completion script of `args.shell` on standard output.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut command = super::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "remote4d", &mut script);
    crate::outln!("{}", String::from_utf8_lossy(&script).trim_end());
    Ok(ExitCode::SUCCESS)
}

/// Writes the man pages into `args.out`; prints their paths.
pub fn man(args: &ManArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let command = super::command();
    let mut written = vec![page(&args.out, "remote4d", command.clone())?];
    for sub in command.get_subcommands() {
        let name = format!("remote4d-{}", sub.get_name());
        let sub = sub
            .clone()
            .name(name.clone())
            .display_name(name.clone())
            .version(env!("CARGO_PKG_VERSION"));
        written.push(page(&args.out, &name, sub)?);
    }
    for path in written {
        crate::outln!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Renders `command`'s page as `dir/name.1`.
fn page(dir: &Path, name: &str, command: clap::Command) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!("{name}.1"));
    let mut text = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut text)
        .with_context(|| format!("cannot render the man page {name}"))?;
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
