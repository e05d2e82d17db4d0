//! `remote4d project show` and `remote4d project find`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use remote4d_core::project::Project;
use remote4d_core::project::search::SearchIndex;

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
    /// Find a text in a project's sources (case-insensitive), as the app's Find in project:
    /// prints `file:line: text`; exits with 1 when nothing is found, 2 on an error (as grep:
    /// a script tells "not there" from "could not look"). On a client's system
    /// folder (a remote copy), the word index is kept in its DerivedDataRemote/ and only the
    /// files changed since the last search are read again; in a project folder nothing is
    /// written.
    Find {
        /// The project (its folder, its Project/ folder or .4DProject file), or a system folder.
        path: PathBuf,
        /// The text.
        text: String,
        /// At most this many lines.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// Print JSON: the lines, the files indexed and read.
        #[arg(long)]
        json: bool,
    },
}

// Long: prints the project's description, one block per section (text and JSON side by side).
pub fn run(command: ProjectCommand) -> anyhow::Result<ExitCode> {
    let (path, json) = match command {
        ProjectCommand::Show { path, json } => (path, json),
        ProjectCommand::Find {
            path,
            text,
            limit,
            json,
        } => {
            return match find(&path, &text, limit, json) {
                Err(err) if !output::is_broken_pipe(&err) => {
                    output::error(err.as_ref());
                    Ok(ExitCode::from(2))
                }
                other => other,
            };
        }
    };
    let p = Project::open(&path)?;
    if json {
        output::json(&serde_json::json!({
            "name": p.name,
            "root": p.location.root,
            "project_file": p.location.project_file,
            "publication_name": p.publication_name(),
            "publication_port": p.publication_port(),
            "settings": p.settings,
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
        ("client/server", client_server_settings(&p.settings)),
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

/// `remote4d project find`.
fn find(path: &std::path::Path, text: &str, limit: usize, json: bool) -> anyhow::Result<ExitCode> {
    let p = Project::open(path)?;
    let root = &p.location.root;
    // A client's system folder keeps the index as derived data; a project folder is left as
    // it is (the index is built in memory).
    let system_folder = root.join(remote4d_core::cache::names::STATE).is_file();
    let (index, stats) = if system_folder {
        let file = root
            .join(remote4d_core::cache::names::DERIVED_DATA)
            .join(remote4d_core::cache::names::SEARCH_INDEX);
        // A remote copy changes only with its build: its stamp keys the index.
        let stamp = std::fs::read(root.join(remote4d_core::cache::names::STATE))
            .ok()
            .and_then(|b| serde_json::from_slice::<remote4d_core::cache::FolderState>(&b).ok())
            .and_then(|s| s.stamp)
            .map(|s| s.to_string());
        SearchIndex::refresh_file(&file, root, stamp.as_deref())
            .map_err(|e| anyhow::anyhow!("cannot keep the index in {}: {e}", file.display()))?
    } else {
        SearchIndex::build(root)
    };
    let hits = index.find(root, text, limit);
    if json {
        output::json(&serde_json::json!({
            "hits": hits,
            "files_indexed": index.files.len(),
            "files_read": stats.read,
            "index_kept": system_folder,
        }))?;
    } else {
        for h in &hits {
            crate::outln!("{}:{}: {}", h.path, h.line, h.text);
        }
    }
    Ok(if hits.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The project's client/server settings other than the name and port, as `project show` says
/// them.
fn client_server_settings(s: &remote4d_core::project::Settings) -> String {
    let timeout = match s.connections_timeout_minutes {
        None => "connections timeout not set".to_owned(),
        Some(0) => "no connections timeout".to_owned(),
        Some(m) => format!("connections timeout {m} min"),
    };
    let encryption = match s.use_encryption {
        None => "encryption not set (Remote4D always uses TLS)",
        Some(true) => "encryption on (Remote4D always uses TLS)",
        Some(false) => "encryption off (Remote4D always uses TLS)",
    };
    format!("{timeout}; {encryption}")
}
