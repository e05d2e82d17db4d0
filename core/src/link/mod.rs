//! `.4DLink` shortcut files: the `database_shortcut` XML element with typed attributes.
//!
//! A `.4DLink` is a UTF-8 XML document whose single root element `database_shortcut` carries
//! attributes only. Remote links (`is_remote="true"`) name a server's publication
//! (`server_database_name`) and its address (`server_path`, `host[:port]`); local links name a
//! structure file. Every attribute documented for 4D is typed here; attributes this crate does
//! not know are kept, in their original order, and written back unchanged.
//!
//! ```
//! use remote4d_core::link::{Link, ServerPath};
//! let link = Link::remote("Invoices", ServerPath::parse("192.0.2.10:19813").unwrap());
//! let xml = link.to_xml();
//! assert_eq!(Link::parse(xml.as_bytes()).unwrap(), link);
//! ```

mod error;
mod parse;
mod server_path;
mod values;

use std::borrow::Cow;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use error::LinkError;
pub use server_path::{DEFAULT_PORT, ServerPath, ServerPathError};
pub use values::{ConversionMode, DataOpeningMode, StructureOpeningMode};

use values::AttrValue;

/// Largest `.4DLink` file accepted, in bytes. Real ones are a few hundred bytes.
pub const MAX_LINK_SIZE: u64 = 256 * 1024;

/// The file extension of shortcut files, as 4D writes it (matched case-insensitively).
pub const EXTENSION: &str = "4DLink";

/// An attribute this crate does not know, kept verbatim (unescaped value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownAttribute {
    /// Attribute name.
    pub name: String,
    /// Attribute value, unescaped.
    pub value: String,
}

/// Whether a link opens a remote server or a local project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// `is_remote="true"`: connect to a server.
    Remote,
    /// Anything else: open a local structure file.
    Local,
}

macro_rules! link_attributes {
    ($( $(#[$doc:meta])* $field:ident : $ty:ty ),* $(,)?) => {
        /// A `.4DLink` shortcut: every known attribute typed (absent = `None`), unknown ones kept.
        ///
        /// Field names are the attribute names. Two links are equal when they have the same
        /// attributes with the same values; writing is stable (same link, same bytes).
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct Link {
            $(
                $(#[$doc])*
                #[serde(skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
            /// Attributes not in the list above, in the order they were read.
            #[serde(skip_serializing_if = "Vec::is_empty")]
            pub unknown: Vec<UnknownAttribute>,
        }

        impl Link {
            /// The names of the attributes this crate types, in the order they are written.
            pub const KNOWN_ATTRIBUTES: &'static [&'static str] = &[$(stringify!($field)),*];

            /// Sets a known attribute from its text. `None` when `name` is unknown;
            /// `Some(Err(reason))` when the value is invalid.
            fn set_known(&mut self, name: &str, text: &str) -> Option<Result<(), String>> {
                match name {
                    $(stringify!($field) => Some(match <$ty as AttrValue>::parse_attr(text) {
                        Some(v) => { self.$field = Some(v); Ok(()) }
                        None => Err(<$ty as AttrValue>::reason(text)),
                    }),)*
                    _ => None,
                }
            }

            /// Every present attribute, known ones first (fixed order), then unknown ones.
            pub fn attributes(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
                let mut out: Vec<(Cow<'_, str>, Cow<'_, str>)> = Vec::new();
                $(if let Some(v) = &self.$field {
                    out.push((Cow::Borrowed(stringify!($field)), v.to_attr()));
                })*
                for u in &self.unknown {
                    out.push((Cow::Borrowed(u.name.as_str()), Cow::Borrowed(u.value.as_str())));
                }
                out
            }
        }
    };
}

link_attributes! {
    /// `true`: connect to a 4D server; absent or `false`: open a local project.
    is_remote: bool,
    /// Publication name of the server's project (remote links; mandatory there).
    server_database_name: String,
    /// `host[:port]` of the server; an empty host means "find by publication name".
    server_path: ServerPath,
    /// User name to log in with.
    user_name: String,
    /// Clear-text password (discouraged; prefer `md5_password`).
    password: String,
    /// The password hash as stored in the server's `directory.json`.
    md5_password: String,
    /// `true` forces the login dialog.
    open_login_dialog: bool,
    /// How the structure is opened.
    structure_opening_mode: StructureOpeningMode,
    /// Text passed to the project (4D's `User param value`).
    user_param: String,
    /// Windows merged clients: keep local resources in a shared folder.
    remote_shared_resources: bool,
    /// Custom name of the client's system (cache) folder.
    cache_folder_name: String,
    /// `true` empties the client's cache folder before connecting.
    clear_cache_folder: bool,
    /// Local links: URL of the structure file (`file:///...`).
    structure_file: String,
    /// Local links: URL of the data file.
    data_file: String,
    /// Local links: structure file to create.
    create_structure_file: String,
    /// Local links: data file to create.
    create_data_file: String,
    /// Local links: open in application (custom) mode.
    open_in_custom_mode: bool,
    /// Local links: open the maintenance and security center.
    open_tools: bool,
    /// Local links: do not run the On Startup method.
    skip_onstartup_method: bool,
    /// Local links: method to run at startup.
    startup_method: String,
    /// Local links: definitions to import (internal).
    definition_import_file: String,
    /// Local links: resources to import (internal).
    resources_import_file: String,
    /// Local links: which data file is opened.
    data_opening_mode: DataOpeningMode,
    /// Local links: what to do with an old data file.
    data_conversion_mode: ConversionMode,
    /// Local links: what to do with an old structure.
    structure_conversion_mode: ConversionMode,
    /// Local links: `false` = do not reopen Design windows.
    reopen_design_windows: bool,
    /// Local links: explorer groups (internal).
    explorer_groups_file: String,
    /// Local links: `false` = do not use the journal file.
    use_journal_file: bool,
    /// Remote4D: the server id pinned at the first connection.
    remote4d_server_id: String,
    /// Remote4D: the SHA-256 fingerprint of the server certificate pinned at the first connection.
    remote4d_fingerprint: String,
    /// Remote4D: how the link opens the project. `true`: in development mode (the server's
    /// project folder, read/write); `false`: the server's build even on the server's machine
    /// (no automatic development mode); absent: development mode automatically on the server's
    /// machine. Recent entries of development-mode connections carry `true`.
    remote4d_development_mode: bool,
    /// Remote4D: development mode from another machine: the server's project folder as this
    /// machine sees it (a network share). Implies development mode.
    remote4d_project_folder: String,
    /// Remote4D: when the link was last used, in milliseconds since the Unix epoch.
    remote4d_last_opened: u64,
    /// Remote4D: the pairing text of a merged client and its server (4D's `HardLink` of Build
    /// Application): a server built with one accepts only clients that carry it.
    remote4d_hard_link: String,
}

impl Link {
    /// A remote link to the publication `name` at `server_path`.
    pub fn remote(name: impl Into<String>, server_path: ServerPath) -> Self {
        Self {
            is_remote: Some(true),
            server_database_name: Some(name.into()),
            server_path: Some(server_path),
            ..Self::default()
        }
    }

    /// Remote or local.
    pub fn kind(&self) -> LinkKind {
        if self.is_remote == Some(true) {
            LinkKind::Remote
        } else {
            LinkKind::Local
        }
    }

    /// The server address of a remote link; an absent `server_path` means "find by name" on
    /// the default port.
    pub fn address(&self) -> ServerPath {
        self.server_path
            .clone()
            .unwrap_or_else(|| ServerPath::new("", None))
    }

    /// The value of an unknown attribute.
    pub fn unknown_attribute(&self, name: &str) -> Option<&str> {
        self.unknown
            .iter()
            .find(|u| u.name == name)
            .map(|u| u.value.as_str())
    }

    /// Parses a `.4DLink` document (UTF-8, with or without BOM, LF or CRLF).
    ///
    /// # Errors
    /// A [`LinkError`] naming the problem and its line and column: not XML, wrong root element,
    /// a DTD declaring entities (refused, never expanded), duplicate attributes, invalid typed
    /// values, or a remote link without `server_database_name`.
    pub fn parse(bytes: &[u8]) -> Result<Self, LinkError> {
        parse::parse(bytes)
    }

    /// Reads and parses a `.4DLink` file (at most [`MAX_LINK_SIZE`] bytes).
    ///
    /// # Errors
    /// [`LinkError::Io`] when the file cannot be read, [`LinkError::TooLarge`], or any parse error.
    pub fn read(path: &Path) -> Result<Self, LinkError> {
        use std::io::Read;
        let io = |source| LinkError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Vec::new();
        file.take(MAX_LINK_SIZE + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_LINK_SIZE {
            return Err(LinkError::TooLarge {
                limit: MAX_LINK_SIZE,
            });
        }
        Self::parse(&bytes)
    }

    /// The XML text of this link: declaration, then one `database_shortcut` element, LF endings.
    pub fn to_xml(&self) -> String {
        let mut out =
            String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<database_shortcut");
        for (name, value) in self.attributes() {
            out.push(' ');
            out.push_str(&name);
            out.push_str("=\"");
            out.push_str(&crate::xml::escape_attr(&value));
            out.push('"');
        }
        out.push_str("/>\n");
        out
    }

    /// Writes the link to `path` atomically (a temporary file renamed into place).
    ///
    /// # Errors
    /// [`LinkError::Io`] when the file cannot be written.
    pub fn write(&self, path: &Path) -> Result<(), LinkError> {
        crate::fsutil::write_atomic(path, self.to_xml().as_bytes()).map_err(|source| {
            LinkError::Io {
                path: path.to_path_buf(),
                source,
            }
        })
    }
}

/// True when `path` has the `.4DLink` extension, in any letter case.
pub fn is_link_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(EXTENSION))
}

#[cfg(test)]
mod tests;
