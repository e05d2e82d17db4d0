//! Errors of the `.4dz` archive format.

use std::path::PathBuf;

/// Why an archive could not be built, read or unpacked. Each message says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// A file or folder could not be read or written.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The folder to replace could not be moved: on Windows, a file in it is open in another
    /// program (the previous content stays whole).
    #[error("cannot replace {}: a file in it is open in another program (or the folder is read-only); close it and try again", path.display())]
    InUse {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The folder has no `Project/` subfolder.
    #[error("{} is not a 4D project folder: it has no Project/ folder (point at the folder that contains Project/, or at the .4DProject file)", path.display())]
    NotAProject {
        /// The folder given.
        path: PathBuf,
    },
    /// A file name in the project is not valid Unicode and cannot be stored portably.
    #[error("the file name {} is not valid Unicode; rename it to build the archive", path.display())]
    NonUnicodeName {
        /// The file.
        path: PathBuf,
    },
    /// The file is not a zip archive, or its directory is damaged.
    #[error("{} is not a readable .4dz archive ({source}); download or build it again", path.display())]
    Zip {
        /// The archive.
        path: PathBuf,
        /// What the zip reader reported.
        #[source]
        source: zip::result::ZipError,
    },
    /// An entry name would escape the target folder or is not portable.
    #[error("refused: the entry {name:?} {reason}; the archive may be malicious")]
    UnsafeName {
        /// The entry name.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The archive contains a symbolic link.
    #[error(
        "refused: the entry {name:?} is a symbolic link, which a 4D project archive never contains"
    )]
    Symlink {
        /// The entry name.
        name: String,
    },
    /// The archive is encrypted.
    #[error("the entry {name:?} is encrypted; Remote4D reads unencrypted archives only")]
    Encrypted {
        /// The entry name.
        name: String,
    },
    /// An entry uses a compression method other than stored or deflate.
    #[error(
        "the entry {name:?} uses compression method {method}; only stored (0) and deflate (8) are supported"
    )]
    UnsupportedMethod {
        /// The entry name.
        name: String,
        /// The zip method number.
        method: u16,
    },
    /// Two entries have the same name (or one is a file and the other a folder of that name).
    #[error("refused: the archive lists {name:?} more than once; it is damaged or malicious")]
    DuplicateName {
        /// The name, when known.
        name: String,
    },
    /// More entries than the limit.
    #[error("refused: the archive has {count} entries, more than the limit of {limit}")]
    TooManyEntries {
        /// Entries in the archive.
        count: u64,
        /// The limit.
        limit: u64,
    },
    /// The unpacked size is over the limit.
    #[error("refused: the archive would unpack to {total} bytes, more than the limit of {limit}")]
    TooLarge {
        /// Declared total size.
        total: u64,
        /// The limit.
        limit: u64,
    },
    /// An entry compresses far better than real data does (a zip bomb).
    #[error(
        "refused: the entry {name:?} expands from {compressed} to {size} bytes, a compression ratio no real file has (zip bomb)"
    )]
    SuspiciousRatio {
        /// The entry name.
        name: String,
        /// Declared uncompressed size.
        size: u64,
        /// Compressed size.
        compressed: u64,
    },
    /// An entry's data does not match its header (CRC, size or deflate stream).
    #[error("the entry {name:?} is damaged ({reason}); download or build the archive again")]
    Corrupt {
        /// The entry name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// An entry lies outside the single top folder `Project/`.
    #[error("the entry {name:?} is outside the Project/ folder: this is not a 4D project archive")]
    NotProjectArchive {
        /// The entry name.
        name: String,
    },
    /// The archive or project changed while it was being read.
    #[error("{} changed while it was being read; try again", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
    },
}

impl ArchiveError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// Result alias of this module.
pub type Result<T, E = ArchiveError> = std::result::Result<T, E>;
