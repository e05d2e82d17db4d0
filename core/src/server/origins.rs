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
    /// Remote4D's default (the project's name, port 19813, published, 3600 s).
    Default,
}

/// Where the server's publication name, port and inactivity timeout came from, and the
/// project's client/server settings it does not use or cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origins {
    /// The publication name.
    pub publication_name: Origin,
    /// The port.
    pub port: Origin,
    /// How long a session without a connection lives (`inactivity_timeout_secs`, or the
    /// project's `connections_timeout`).
    pub inactivity_timeout: Origin,
    /// Client/server settings of the project Remote4D does not use, with their file.
    pub not_used: Vec<(String, PathBuf)>,
    /// Client/server settings of the project Remote4D uses but whose value it cannot read
    /// (`key="value"`), with their file: ignored.
    pub not_understood: Vec<(String, PathBuf)>,
}

impl Origins {
    /// The origins for a project's `settings` and what the configuration set.
    pub(crate) fn of(settings: &crate::project::Settings, config: &super::ServerConfig) -> Self {
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
            publication_name: from(config.publication_name.is_some(), "publication_name"),
            port: from(config.port.is_some(), "publication_port"),
            inactivity_timeout: from(
                config.inactivity_timeout_secs.is_some(),
                "connections_timeout",
            ),
            not_used: settings
                .not_used
                .iter()
                .map(|(k, f)| (k.clone(), f.clone()))
                .collect(),
            not_understood: settings
                .not_understood
                .iter()
                .map(|(k, f)| (k.clone(), f.clone()))
                .collect(),
        }
    }
}
