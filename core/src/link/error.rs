//! Errors of the `.4DLink` format.

use std::path::PathBuf;

/// Why a `.4DLink` could not be read. Parse errors carry the 1-based line and column.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The file could not be read or written.
    #[error("cannot access the shortcut file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than any real shortcut file.
    #[error("this is not a 4D shortcut file: it is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The bytes are not UTF-8 text.
    #[error("line {line}, column {column}: the shortcut file is not UTF-8 text; save it as UTF-8")]
    NotUtf8 {
        /// Line.
        line: usize,
        /// Column.
        column: usize,
    },
    /// The XML is malformed (or truncated).
    #[error("line {line}, column {column}: malformed XML: {message}")]
    Xml {
        /// Line.
        line: usize,
        /// Column.
        column: usize,
        /// What the XML reader reported.
        message: String,
    },
    /// The document has no element at all.
    #[error(
        "line {line}, column {column}: no <database_shortcut> element found; this is not a 4D shortcut file"
    )]
    NoRoot {
        /// Line.
        line: usize,
        /// Column.
        column: usize,
    },
    /// The root element is not `database_shortcut`.
    #[error(
        "line {line}, column {column}: the root element is <{found}>, expected <database_shortcut>"
    )]
    WrongRoot {
        /// The root element found.
        found: String,
        /// Line.
        line: usize,
        /// Column.
        column: usize,
    },
    /// A DTD declares entities: refused, never expanded.
    #[error(
        "line {line}, column {column}: the file declares XML entities in a DTD, which shortcut files never do; refused for safety"
    )]
    EntityDeclarations {
        /// Line.
        line: usize,
        /// Column.
        column: usize,
    },
    /// An attribute appears twice.
    #[error("line {line}, column {column}: the attribute {name} appears more than once")]
    DuplicateAttribute {
        /// Attribute name.
        name: String,
        /// Line.
        line: usize,
        /// Column.
        column: usize,
    },
    /// A typed attribute has a value of the wrong form.
    #[error("line {line}, column {column}: {name}=\"{value}\" is invalid: {reason}")]
    InvalidValue {
        /// Attribute name.
        name: String,
        /// The value found.
        value: String,
        /// Why, and what a valid value looks like.
        reason: String,
        /// Line.
        line: usize,
        /// Column.
        column: usize,
    },
    /// A remote link without `server_database_name`.
    #[error(
        "line {line}, column {column}: a remote shortcut (is_remote=\"true\") must name the server's project in server_database_name"
    )]
    MissingDatabaseName {
        /// Line.
        line: usize,
        /// Column.
        column: usize,
    },
    /// Something other than attributes inside `database_shortcut`, or content after it.
    #[error(
        "line {line}, column {column}: unexpected {what}; a shortcut file holds one <database_shortcut/> element with attributes only"
    )]
    UnexpectedContent {
        /// What was found.
        what: String,
        /// Line.
        line: usize,
        /// Column.
        column: usize,
    },
}

impl LinkError {
    /// The 1-based (line, column) of the problem, when it has one.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            Self::NotUtf8 { line, column }
            | Self::Xml { line, column, .. }
            | Self::NoRoot { line, column }
            | Self::WrongRoot { line, column, .. }
            | Self::EntityDeclarations { line, column }
            | Self::DuplicateAttribute { line, column, .. }
            | Self::InvalidValue { line, column, .. }
            | Self::MissingDatabaseName { line, column }
            | Self::UnexpectedContent { line, column, .. } => Some((*line, *column)),
            Self::Io { .. } | Self::TooLarge { .. } => None,
        }
    }
}
