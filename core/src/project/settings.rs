//! `settings.4DSettings`: the client/server settings Remote4D uses.

use std::path::Path;

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
}

impl Settings {
    /// Reads one settings file.
    ///
    /// # Errors
    /// [`super::ProjectError::Io`] or [`super::ProjectError::Xml`] with line and column.
    pub fn read(path: &Path) -> Result<Self> {
        let mut s = Self::default();
        walk(
            path,
            |e| {
                let names: Vec<&str> = e.path.iter().map(String::as_str).collect();
                match names.as_slice() {
                    ["preferences", "com.4d", "server", "network", "options"] => {
                        if let Some(name) = e.attr("publication_name").filter(|n| !n.is_empty()) {
                            s.publication_name = Some(name.to_owned());
                        }
                        if let Some(port) = e
                            .attr("publication_port")
                            .and_then(|p| p.trim().parse().ok())
                        {
                            s.publication_port = Some(port).filter(|&p: &u16| p != 0);
                        }
                    }
                    [
                        "preferences",
                        "com.4d",
                        "server",
                        "network",
                        "client_server",
                    ] => {
                        s.use_encryption = e.attr("use_encryption").map(|v| v == "true");
                    }
                    _ => {}
                }
            },
            |_| {},
        )?;
        Ok(s)
    }

    /// Fills what `self` leaves unset from `lower` (a lower-priority settings file).
    pub fn or(self, lower: Self) -> Self {
        Self {
            publication_name: self.publication_name.or(lower.publication_name),
            publication_port: self.publication_port.or(lower.publication_port),
            use_encryption: self.use_encryption.or(lower.use_encryption),
        }
    }
}
