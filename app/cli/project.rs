//! `remote4d project show`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use remote4d_core::project::Project;

use super::output;

/// Project folder commands.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Show a project: name, publication, tables, users, sources.
    Show {
        /// The project: its folder, its Project/ folder, or its .4DProject file.
        path: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

// Long: prints the project's description, one block per section (text and JSON side by side).
pub fn run(command: ProjectCommand) -> anyhow::Result<ExitCode> {
    let ProjectCommand::Show { path, json } = command;
    let p = Project::open(&path)?;
    if json {
        output::json(&serde_json::json!({
            "name": p.name,
            "root": p.location.root,
            "project_file": p.location.project_file,
            "publication_name": p.publication_name(),
            "publication_port": p.publication_port(),
            "compatibility_version": p.compatibility_version,
            "tables": p.catalog.tables,
            "users": p.directory.users,
            "groups": p.directory.groups,
            "directory_file": p.directory_file,
            "content": p.content,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let c = &p.content;
    output::rows(&[
        ("project", p.name.clone()),
        ("folder", p.location.root.display().to_string()),
        ("publication name", p.publication_name().to_owned()),
        ("port", p.publication_port().to_string()),
        (
            "sources",
            format!(
                "{} methods, {} classes, {} database methods, {} forms, {} table forms",
                c.methods.len(),
                c.classes.len(),
                c.database_methods.len(),
                c.forms.len(),
                c.table_forms.len()
            ),
        ),
        (
            "users",
            if p.directory.users.is_empty() {
                "none (open access as Designer)".into()
            } else {
                p.directory
                    .users
                    .iter()
                    .map(|u| {
                        format!(
                            "{}{}",
                            u.name,
                            if u.password_hash.is_some() {
                                ""
                            } else {
                                " (no password)"
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ),
    ]);
    for t in &p.catalog.tables {
        crate::outln!(
            "\ntable [{}] {}",
            t.id.map_or("?".into(), |i| i.to_string()),
            t.name
        );
        for f in &t.fields {
            let mut flags = Vec::new();
            if t.primary_key.as_deref() == Some(f.name.as_str()) {
                flags.push("primary key");
            }
            if f.unique {
                flags.push("unique");
            }
            if f.autosequence {
                flags.push("autosequence");
            }
            let len = f
                .limiting_length
                .map(|l| format!(" ({l})"))
                .unwrap_or_default();
            let flags = if flags.is_empty() {
                String::new()
            } else {
                format!("  [{}]", flags.join(", "))
            };
            crate::outln!("  {:<24} {}{len}{flags}", f.name, f.type_name);
        }
    }
    Ok(ExitCode::SUCCESS)
}
