//! `remote4d recent`.

use std::process::ExitCode;

use clap::Args;
use remote4d_core::environment::Environment;
use remote4d_core::recent::Recent;

use super::output;

/// Options of `recent`.
#[derive(Debug, Args)]
pub struct RecentArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &RecentArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::from_system()?;
    let recent = Recent::new(env.favorites_dir());
    let list = recent.list()?;
    if args.json {
        output::json(&list)?;
    } else if list.is_empty() {
        crate::outln!(
            "no Recent projects yet (they are saved in {})",
            recent.dir().display()
        );
    } else {
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|e| {
                let addr = e.link.address();
                let addr = if addr.find_by_name() {
                    format!("(by name):{}", addr.port())
                } else {
                    addr.authority()
                };
                vec![e.name.clone(), addr, e.path.display().to_string()]
            })
            .collect();
        output::table(&["NAME", "ADDRESS", "SHORTCUT"], &rows);
    }
    Ok(ExitCode::SUCCESS)
}
