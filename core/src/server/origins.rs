//! Where a server's effective settings came from, as `remote4d serve` says at start: its
//! configuration (file or flags), the project's `settings.4DSettings` (4D's priority: data
//! folder, user, structure), or the default.

use std::path::PathBuf;

/// Where one effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The server's configuration (`server.toml` or a command-line flag).
    Configuration,
    /// A `settings.4DSettings` of the project (the file).
    Project(PathBuf),
    /// Remote4D's default (the project's name, port 19813, published).
    Default,
}

/// Where the server's publication name and port came from, and the project's client/server
/// settings it does not use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origins {
    /// The publication name.
    pub publication_name: Origin,
    /// The port.
    pub port: Origin,
    /// Client/server settings of the project Remote4D does not use, with their file.
    pub not_used: Vec<(String, PathBuf)>,
}

impl Origins {
    /// The origins for a project's `settings` and what the configuration set.
    pub(crate) fn of(
        settings: &crate::project::Settings,
        name_configured: bool,
        port_configured: bool,
    ) -> Self {
        let from = |configured: bool, key: &str| {
            if configured {
                Origin::Configuration
            } else {
                settings
                    .origins
                    .get(key)
                    .map_or(Origin::Default, |f| Origin::Project(f.clone()))
            }
        };
        Self {
            publication_name: from(name_configured, "publication_name"),
            port: from(port_configured, "publication_port"),
            not_used: settings
                .not_used
                .iter()
                .map(|(k, f)| (k.clone(), f.clone()))
                .collect(),
        }
    }
}
