//! `settings.4DSettings`: the client/server settings Remote4D uses, where each came from, and the
//! client/server ones it does not use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::Result;
use super::xmlread::walk;

/// Client/server settings read from the project's `settings.4DSettings` files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// `com.4d/server/network/options@publication_name`.
    pub publication_name: Option<String>,
    /// `com.4d/server/network/options@publication_port`.
    pub publication_port: Option<u16>,
    /// `com.4d/server/network/client_server@use_encryption`.
    pub use_encryption: Option<bool>,
    /// `com.4d/server/network/client_server@connections_timeout`: 4D's "Client-Server
    /// Connections Timeout", in minutes (`0`: no timeout).
    pub connections_timeout_minutes: Option<u64>,
    /// Which file each setting above came from (`publication_name`, `publication_port`,
    /// `use_encryption`, `connections_timeout`).
    pub origins: BTreeMap<&'static str, PathBuf>,
    /// Client/server settings (under `com.4d/server/`) Remote4D does not use, as
    /// `server/network/options@use_legacy_network_layer`, with the file they are in.
    pub not_used: BTreeMap<String, PathBuf>,
    /// Settings Remote4D uses whose value it cannot read (as `server/network/client_server@
    /// connections_timeout="soon"`), with the file they are in: ignored, reported once.
    pub not_understood: BTreeMap<String, PathBuf>,
}

/// The client/server settings Remote4D acts on or knowingly leaves to 4D (encryption: Remote4D
/// always uses TLS).
const USED: &[&str] = &[
    "server/network/options@publication_name",
    "server/network/options@publication_port",
    "server/network/client_server@use_encryption",
    "server/network/client_server@connections_timeout",
];

impl Settings {
    /// Reads one settings file.
    ///
    /// # Errors
    /// [`super::ProjectError::Io`] or [`super::ProjectError::Xml`] with line and column.
    pub fn read(path: &Path) -> Result<Self> {
        let mut s = Self::default();
        let from = path.to_path_buf();
        walk(
            path,
            |e| {
                let names: Vec<&str> = e.path.iter().map(String::as_str).collect();
                match names.as_slice() {
                    ["preferences", "com.4d", "server", "network", "options"] => {
                        if let Some(name) = e.attr("publication_name").filter(|n| !n.is_empty()) {
                            s.publication_name = Some(name.to_owned());
                            s.origins.insert("publication_name", from.clone());
                        }
                        if let Some(port) = e
                            .attr("publication_port")
                            .and_then(|p| p.trim().parse().ok())
                            .filter(|&p: &u16| p != 0)
                        {
                            s.publication_port = Some(port);
                            s.origins.insert("publication_port", from.clone());
                        }
                    }
                    [
                        "preferences",
                        "com.4d",
                        "server",
                        "network",
                        "client_server",
                    ] => {
                        if let Some(v) = e.attr("use_encryption") {
                            s.use_encryption = Some(v == "true");
                            s.origins.insert("use_encryption", from.clone());
                        }
                        if let Some(v) = e.attr("connections_timeout") {
                            match v.trim().parse::<u64>() {
                                Ok(minutes) => {
                                    s.connections_timeout_minutes = Some(minutes);
                                    s.origins.insert("connections_timeout", from.clone());
                                }
                                Err(_) => {
                                    s.not_understood.insert(
                                        format!(
                                            "server/network/client_server@connections_timeout=\"{v}\""
                                        ),
                                        from.clone(),
                                    );
                                }
                            }
                        }
                    }
                    _ => {}
                }
                if let ["preferences", "com.4d", "server", rest @ ..] = names.as_slice() {
                    for (key, _) in &e.attributes {
                        let setting = format!("server/{}@{key}", rest.join("/"));
                        if !USED.contains(&setting.as_str()) {
                            s.not_used.insert(setting, from.clone());
                        }
                    }
                }
            },
            |_| {},
        )?;
        Ok(s)
    }

    /// Fills what `self` leaves unset from `lower` (a lower-priority settings file).
    pub fn or(self, lower: Self) -> Self {
        let mut origins = lower.origins;
        let mut not_used = lower.not_used;
        not_used.extend(self.not_used);
        let mut not_understood = lower.not_understood;
        not_understood.extend(self.not_understood);
        let Self {
            publication_name,
            publication_port,
            use_encryption,
            connections_timeout_minutes,
            origins: mine,
            ..
        } = self;
        origins.extend(mine);
        Self {
            publication_name: publication_name.or(lower.publication_name),
            publication_port: publication_port.or(lower.publication_port),
            use_encryption: use_encryption.or(lower.use_encryption),
            connections_timeout_minutes: connections_timeout_minutes
                .or(lower.connections_timeout_minutes),
            origins,
            not_used,
            not_understood,
        }
    }
}
