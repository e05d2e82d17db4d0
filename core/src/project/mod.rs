//! 4D project folders: locate the `.4DProject`, read the catalog, users, and settings.
//!
//! A project folder is `<root>/Project/<Name>.4DProject` with `Project/Sources/` beside it.
//! Settings are read from `Project/Sources/settings.4DSettings` (structure), overridden by
//! `Settings/settings.4DSettings` (user settings), overridden by `Data/Settings/settings.4DSettings`
//! (data-file settings), as 4D does; `directory.json` from `Data/Settings/` else `Settings/`.

mod build_app;
mod catalog;
mod content;
mod directory;
mod error;
pub mod search;
mod settings;
mod xmlread;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use build_app::{BUILD_APP_FILE, BuildAppSettings};
pub use catalog::{Catalog, Field, Table, type_name};
pub use content::{Content, SourceKind};
pub use directory::{Directory, Group, HashKind, ReplacementError, User};
pub use error::{ProjectError, Result};
pub use settings::Settings;

use crate::link::DEFAULT_PORT;

/// The extension of the anchor file (matched case-insensitively).
pub const PROJECT_EXTENSION: &str = "4DProject";

/// Where a project is: its root folder (containing `Project/`) and its `.4DProject` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The folder containing `Project/`.
    pub root: PathBuf,
    /// `Project/<Name>.4DProject`.
    pub project_file: PathBuf,
}

impl Location {
    /// The project's name: the `.4DProject` file name without extension.
    pub fn name(&self) -> String {
        self.project_file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// `Project/Sources`.
    pub fn sources(&self) -> PathBuf {
        self.root.join("Project").join("Sources")
    }

    /// Finds the project at `path`: a project root (containing `Project/`), its `Project/`
    /// folder, or the `.4DProject` file itself.
    ///
    /// # Errors
    /// [`ProjectError::NotFound`], [`ProjectError::NoProjectFile`] or
    /// [`ProjectError::SeveralProjectFiles`].
    pub fn find(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path).map_err(|_| ProjectError::NotFound {
            path: path.to_path_buf(),
        })?;
        // dunce: the plain form (C:\Projects\Shop) on Windows, not the verbatim \\?\C:\… that
        // users cannot type; the same as std's elsewhere.
        let path = dunce::canonicalize(path)
            .or_else(|_| std::path::absolute(path))
            .unwrap_or_else(|_| path.to_path_buf());
        if meta.is_file() {
            if !has_project_extension(&path) {
                return Err(ProjectError::NoProjectFile { path });
            }
            let project_dir = path.parent().unwrap_or(Path::new("."));
            let root = project_dir.parent().unwrap_or(project_dir).to_path_buf();
            return Ok(Self {
                root,
                project_file: path,
            });
        }
        let (root, project_dir) = if path.join("Project").is_dir() {
            (path.clone(), path.join("Project"))
        } else if path.file_name().is_some_and(|n| n == "Project") {
            (path.parent().unwrap_or(&path).to_path_buf(), path.clone())
        } else {
            return Err(ProjectError::NoProjectFile { path });
        };
        let mut found: Vec<PathBuf> = std::fs::read_dir(&project_dir)
            .map_err(ProjectError::io(&project_dir))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file() && has_project_extension(p))
            .collect();
        found.sort();
        match found.len() {
            0 => Err(ProjectError::NoProjectFile { path: project_dir }),
            1 => Ok(Self {
                root,
                project_file: found.remove(0),
            }),
            _ => {
                // Prefer the one named like the root folder, as 4D projects usually are.
                let root_name = root.file_name().map(|n| n.to_string_lossy().into_owned());
                match found.iter().position(|p| {
                    p.file_stem().map(|s| s.to_string_lossy().into_owned()) == root_name
                }) {
                    Some(i) => Ok(Self {
                        root,
                        project_file: found.remove(i),
                    }),
                    None => Err(ProjectError::SeveralProjectFiles {
                        path: project_dir,
                        names: found
                            .iter()
                            .filter_map(|p| p.file_name())
                            .map(|n| n.to_string_lossy().into_owned())
                            .collect::<Vec<_>>()
                            .join(", "),
                    }),
                }
            }
        }
    }
}

fn has_project_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(PROJECT_EXTENSION))
}

/// An opened 4D project: what Remote4D needs to know about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Project {
    /// Where it is.
    pub location: Location,
    /// Its name (the `.4DProject` file name).
    pub name: String,
    /// `compatibilityVersion` of the `.4DProject`, when present.
    pub compatibility_version: Option<u64>,
    /// Tables and fields (empty when there is no catalog).
    pub catalog: Catalog,
    /// Users and groups (empty when there is no `directory.json`).
    pub directory: Directory,
    /// Which `directory.json` was read.
    pub directory_file: Option<PathBuf>,
    /// Client/server settings, merged by priority.
    pub settings: Settings,
    /// Methods, classes, forms.
    pub content: Content,
}

impl Project {
    /// Opens the project at `path` (see [`Location::find`]) and reads its catalog, users and
    /// settings. Missing optional files give empty values and defaults.
    ///
    /// # Errors
    /// Any [`ProjectError`]: not a project, unreadable or malformed files (with line and column).
    pub fn open(path: &Path) -> Result<Self> {
        let location = Location::find(path)?;
        let name = location.name();
        let anchor = std::fs::read(&location.project_file)
            .map_err(ProjectError::io(&location.project_file))?;
        let compatibility_version = serde_json::from_slice::<serde_json::Value>(&anchor)
            .ok()
            .and_then(|v| {
                v.get("compatibilityVersion")
                    .and_then(serde_json::Value::as_u64)
            });
        let sources = location.sources();
        let catalog_file = sources.join("catalog.4DCatalog");
        let catalog = if catalog_file.is_file() {
            Catalog::read(&catalog_file)?
        } else {
            Catalog::default()
        };
        let root = &location.root;
        let mut settings = Settings::default();
        for file in [
            root.join("Data/Settings/settings.4DSettings"),
            root.join("Settings/settings.4DSettings"),
            sources.join("settings.4DSettings"),
        ] {
            if file.is_file() {
                settings = settings.or(Settings::read(&file)?);
            }
        }
        let (directory, directory_file) = read_directory(root)?;
        let content = Content::scan(&sources);
        Ok(Self {
            location,
            name,
            compatibility_version,
            catalog,
            directory,
            directory_file,
            settings,
            content,
        })
    }

    /// The name the server publishes: the settings' publication name, else the project name.
    pub fn publication_name(&self) -> &str {
        self.settings
            .publication_name
            .as_deref()
            .unwrap_or(&self.name)
    }

    /// The port the server listens on: the settings' publication port, else 19813.
    pub fn publication_port(&self) -> u16 {
        self.settings.publication_port.unwrap_or(DEFAULT_PORT)
    }
}

/// Where a project's users may be: `Data/Settings/directory.json` (wins) or
/// `Settings/directory.json`, relative to the project's root.
pub const DIRECTORY_FILES: [&str; 2] = ["Data/Settings/directory.json", "Settings/directory.json"];

/// Reads the users of the project whose root folder is `root`, and which file they came from
/// (empty users and `None` when it has no `directory.json`).
///
/// # Errors
/// [`ProjectError::Io`] or [`ProjectError::Json`] for the file found.
pub fn read_directory(root: &Path) -> Result<(Directory, Option<PathBuf>)> {
    let file = DIRECTORY_FILES
        .iter()
        .map(|rel| root.join(rel))
        .find(|p| p.is_file());
    let directory = match &file {
        Some(f) => Directory::read(f)?,
        None => Directory::default(),
    };
    Ok((directory, file))
}

#[cfg(test)]
mod tests;
