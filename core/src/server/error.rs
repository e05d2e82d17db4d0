//! Errors that stop the server from starting or running.

use std::path::PathBuf;

/// Why the server could not start (or stopped).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The project could not be opened.
    #[error(transparent)]
    Project(#[from] crate::project::ProjectError),
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] super::config::ConfigError),
    /// The archive could not be built.
    #[error("cannot build the project archive: {0}")]
    Build(#[from] crate::archive::ArchiveError),
    /// The TLS identity could not be loaded or created.
    #[error("the server's TLS identity is unusable: {0}")]
    Identity(String),
    /// The port could not be opened.
    #[error(
        "cannot listen on {address}: {source} (is another server using this port? choose another with --port)"
    )]
    Bind {
        /// The address.
        address: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file of the server could not be used.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// TLS could not be configured.
    #[error("TLS configuration failed: {0}")]
    Tls(#[from] rustls::Error),
    /// The platform folders could not be determined.
    #[error(transparent)]
    Environment(#[from] crate::environment::NoHomeFolder),
}
