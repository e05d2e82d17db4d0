//! Merged client and server applications (4D's "Build Application"): an application built for
//! one project, started by a double-click with nothing to choose.
//!
//! Beside the executable (or in `Database/`, or `../Resources/` in a macOS bundle):
//! - a merged **client** has `EnginedServer.4DLink` (or a link embedded at build time);
//! - a merged **server** has `Server Database/<Project>/`;
//! - both have `remote4d-app.toml` (name, options) written by `remote4d build`.

use std::path::{Path, PathBuf};

use remote4d_core::environment::Environment;
use remote4d_core::link::Link;
use serde::{Deserialize, Serialize};

/// The file describing a merged application.
pub const MANIFEST: &str = "remote4d-app.toml";

/// The server link's file name, as 4D's.
pub const LINK_NAME: &str = "EnginedServer.4DLink";

/// The merged server's project folder, as 4D's.
pub const SERVER_DATABASE: &str = "Server Database";

/// What `remote4d build` writes beside a merged application.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppManifest {
    /// The application's name.
    pub name: String,
    /// The merged client offers "Select…" (the connection window) when its server cannot be reached.
    pub server_selection_allowed: bool,
    /// Versions of clients the merged server accepts (informational here).
    pub version: String,
    /// The publisher's key (`remote4d-ed25519:…`): the only signer of updates this client
    /// installs. Written by `remote4d build client`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_public_key: Option<String>,
}

/// A merged application found beside the executable.
#[derive(Debug, Clone)]
pub enum Merged {
    /// A client with its server's link.
    Client {
        /// Application name.
        name: String,
        /// The link.
        link: Box<Link>,
        /// "Select…" allowed on failure.
        selection_allowed: bool,
    },
    /// A server with its project.
    Server {
        /// Application name.
        name: String,
        /// The project folder.
        project: PathBuf,
        /// The application folder (for an optional `server.toml`).
        dir: PathBuf,
    },
}

#[cfg(remote4d_embedded_link)]
const EMBEDDED_LINK: Option<&str> = Some(include_str!(env!("REMOTE4D_EMBEDDED_LINK_PATH")));
#[cfg(not(remote4d_embedded_link))]
const EMBEDDED_LINK: Option<&str> = None;

fn find_case_insensitive(dir: &Path, name: &str) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case(name))
        })
}

/// Looks for a merged application beside the running executable.
///
/// # Errors
/// A message naming the file when a link is there but unreadable (the app must not fall back
/// silently to another server).
pub fn detect() -> Result<Option<Merged>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    detect_in(&dir)
}

/// [`detect`] for an application folder.
///
/// # Errors
/// As [`detect`].
pub fn detect_in(dir: &Path) -> Result<Option<Merged>, String> {
    let manifest: AppManifest = std::fs::read_to_string(dir.join(MANIFEST))
        .ok()
        .and_then(|t| toml::from_str(&t).ok())
        .unwrap_or_default();
    let server_db = dir.join(SERVER_DATABASE);
    if server_db.is_dir() {
        let project = std::fs::read_dir(&server_db)
            .map_err(|e| format!("{}: {e}", server_db.display()))?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.join("Project").is_dir())
            .ok_or_else(|| format!("{} holds no 4D project folder", server_db.display()))?;
        let name = if manifest.name.is_empty() {
            "Server".to_owned()
        } else {
            manifest.name
        };
        return Ok(Some(Merged::Server {
            name,
            project,
            dir: dir.to_path_buf(),
        }));
    }
    let candidates = [
        dir.to_path_buf(),
        dir.join("Database"),
        dir.join("../Resources"),
        dir.join("../Database"),
    ];
    let file = candidates
        .iter()
        .find_map(|d| find_case_insensitive(d, LINK_NAME));
    let link = match (file, EMBEDDED_LINK) {
        (Some(path), _) => Link::read(&path).map_err(|e| {
            format!(
                "this application's server link {} is damaged ({e}); reinstall the application or ask its administrator",
                path.display()
            )
        })?,
        (None, Some(text)) => Link::parse(text.as_bytes()).map_err(|e| format!("the embedded server link is damaged: {e}"))?,
        (None, None) => return Ok(None),
    };
    let name = if manifest.name.is_empty() {
        link.server_database_name
            .clone()
            .unwrap_or_else(|| "Client".into())
    } else {
        manifest.name
    };
    Ok(Some(Merged::Client {
        name,
        link: Box::new(link),
        selection_allowed: manifest.server_selection_allowed,
    }))
}

/// The key that signs the updates this client may install: built in at compile time
/// (`REMOTE4D_UPDATE_PUBLIC_KEY`), else the `update_public_key` of the `remote4d-app.toml` beside
/// the executable. None: this client installs no update from a server.
pub fn update_key() -> Option<remote4d_core::signing::PublicKey> {
    let text = match option_env!("REMOTE4D_UPDATE_PUBLIC_KEY") {
        Some(built_in) => built_in.to_owned(),
        None => {
            let exe = std::env::current_exe().ok()?;
            let manifest: AppManifest =
                toml::from_str(&std::fs::read_to_string(exe.parent()?.join(MANIFEST)).ok()?)
                    .ok()?;
            manifest.update_public_key?
        }
    };
    match text.parse() {
        Ok(key) => Some(key),
        Err(err) => {
            tracing::warn!(%err, "the update key of this application is damaged: no update will be installed");
            None
        }
    }
}

/// An application name usable as a file name (letters, digits and `-`; `_` for the rest).
pub fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Where a merged client remembers the last server it reached (4D's `lastServer.xml`).
pub fn last_server_file(env: &Environment, name: &str) -> PathBuf {
    env.data_dir
        .join("merged")
        .join(safe_name(name))
        .join("lastServer.4DLink")
}

/// The application's `link` with the identity pinned by the `last` connection to the same
/// project (server id and fingerprint).
pub fn pin(mut link: Link, last: Option<&Link>) -> Link {
    if let Some(last) = last.filter(|l| l.server_database_name == link.server_database_name) {
        if link.remote4d_server_id.is_none() {
            link.remote4d_server_id.clone_from(&last.remote4d_server_id);
        }
        if link.remote4d_fingerprint.is_none() {
            link.remote4d_fingerprint
                .clone_from(&last.remote4d_fingerprint);
        }
    }
    link
}

/// True when Alt (Option) is held while the application starts: a merged client then opens the
/// connection window, as 4D's do. Read from the X server on Linux/BSD; false where unknown
/// (Wayland without XWayland, macOS, Windows: use `--choose`).
pub fn alt_held_at_launch() -> bool {
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        x11_alt_held().unwrap_or_else(|err| {
            tracing::debug!(%err, "could not read the modifier keys from an X server");
            false
        })
    }
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    {
        false
    }
}

/// Reads the pressed keys from the X server (works under XWayland too) and
/// looks for a key whose keysym is Alt_L, Alt_R, Meta_L or Meta_R.
#[cfg(all(unix, not(target_os = "macos")))]
fn x11_alt_held() -> Result<bool, Box<dyn std::error::Error>> {
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::ConnectionExt;
    const ALT_KEYSYMS: [u32; 4] = [0xffe9, 0xffea, 0xffe7, 0xffe8];
    let (conn, _) = x11rb::connect(None)?;
    let setup = conn.setup();
    let (min, max) = (setup.min_keycode, setup.max_keycode);
    let pressed = conn.query_keymap()?.reply()?.keys;
    let mapping = conn.get_keyboard_mapping(min, max - min + 1)?.reply()?;
    let per = usize::from(mapping.keysyms_per_keycode.max(1));
    for (i, syms) in mapping.keysyms.chunks(per).enumerate() {
        let code = usize::from(min) + i;
        let down = pressed
            .get(code / 8)
            .is_some_and(|byte| byte & (1 << (code % 8)) != 0);
        if down && syms.iter().any(|s| ALT_KEYSYMS.contains(s)) {
            tracing::debug!(keycode = code, "Alt held at launch");
            return Ok(true);
        }
    }
    tracing::debug!("no Alt key held at launch");
    Ok(false)
}
