//! Why the cache could not do what was asked.

use std::io;
use std::path::PathBuf;

use super::pending::PendingDeltaError;
use crate::archive::ArchiveError;

/// Why a system folder could not be used or changed. The previous project stays usable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// A file or folder of the system folder could not be created, read or written.
    #[error("cannot use {}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Every key from 000 to 999 is held by a running client.
    #[error("all 1000 system folders for {base} are in use by running clients; quit one of them")]
    AllInUse {
        /// The folder name without its key.
        base: String,
    },
    /// An archive (downloaded, cached, or a delta) cannot be read, or is not a project.
    #[error("the archive cannot be used")]
    Archive(#[source] ArchiveError),
    /// A delta, applied to the cached archive, does not give the build asked for.
    #[error("the delta leads to {got} instead of {expected}")]
    DeltaMismatch {
        /// The build it gives (short form).
        got: String,
        /// The build asked for (short form).
        expected: String,
    },
    /// A previous delta could not be written into the archive.
    #[error(transparent)]
    Settle(#[from] PendingDeltaError),
    /// A background step of the cache stopped before it finished.
    #[error("a cache task stopped before it finished")]
    Stopped,
}

impl CacheError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }

    /// The I/O error at the root of this one, if any, and its path (to tell a full disk).
    pub fn io_error(&self) -> Option<(&std::path::Path, &io::Error)> {
        match self {
            Self::Io { path, source } | Self::Archive(ArchiveError::Io { path, source }) => {
                Some((path, source))
            }
            Self::Settle(PendingDeltaError::Io { path, source }) => Some((path, source)),
            _ => None,
        }
    }
}

impl From<ArchiveError> for CacheError {
    fn from(e: ArchiveError) -> Self {
        Self::Archive(e)
    }
}
