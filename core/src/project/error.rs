//! Errors of project folders.

use std::path::PathBuf;

/// Why a project folder could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectError {
    /// Nothing at that path.
    #[error("{} does not exist", path.display())]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// No `.4DProject` file where one was expected.
    #[error("no .4DProject file found in {}: point at a 4D project folder (the one containing Project/) or at its .4DProject file", path.display())]
    NoProjectFile {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// Several `.4DProject` files and no way to choose.
    #[error("{} holds several .4DProject files ({names}); point at the one to open", path.display())]
    SeveralProjectFiles {
        /// The folder.
        path: PathBuf,
        /// Their names.
        names: String,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An XML file of the project is malformed.
    #[error("{}: line {line}, column {column}: {message}", path.display())]
    Xml {
        /// The file.
        path: PathBuf,
        /// Line.
        line: usize,
        /// Column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A JSON file of the project is malformed.
    #[error("{}: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The JSON error (with line and column).
        #[source]
        source: serde_json::Error,
    },
}

impl ProjectError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// Result alias of this module.
pub type Result<T, E = ProjectError> = std::result::Result<T, E>;
