//! Where Remote4D keeps things on disk: one place decides every path.
//!
//! | what | Linux | macOS | Windows |
//! |---|---|---|---|
//! | cache (system folders) | `$XDG_CACHE_HOME/remote4d` (`~/.cache/remote4d`) | `~/Library/Caches/Remote4D` | `%LOCALAPPDATA%\Remote4D` |
//! | data (Favorites, server identity) | `$XDG_DATA_HOME/remote4d` | `~/Library/Application Support/Remote4D` | `%APPDATA%\Remote4D` |
//! | config (preferences) | `$XDG_CONFIG_HOME/remote4d` | `~/Library/Application Support/Remote4D` | `%APPDATA%\Remote4D` |
//! | shared cache (a link's `remote_shared_resources`) | — | — | `%ProgramData%\Remote4D\Cache` |
//!
//! `REMOTE4D_HOME=DIR` puts everything under `DIR/{cache,data,config}` (portable use, tests).

use std::path::{Path, PathBuf};

/// The environment variable that relocates every Remote4D folder.
pub const HOME_VAR: &str = "REMOTE4D_HOME";

/// The folders Remote4D uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// Per-server system folders live here.
    pub cache_dir: PathBuf,
    /// Favorites (Recent), the server's identity and state.
    pub data_dir: PathBuf,
    /// Preferences.
    pub config_dir: PathBuf,
    /// System folders shared by every user of the machine, for links with
    /// `remote_shared_resources="true"` (4D's `ShareLocalResourcesOnWindowsClient`): Windows
    /// only, as in 4D; `None` elsewhere (the user's cache is used).
    pub shared_cache_dir: Option<PathBuf>,
}

/// No home folder could be determined.
#[derive(Debug, thiserror::Error)]
#[error("cannot determine the user's home folder; set {HOME_VAR} to a folder Remote4D may use")]
pub struct NoHomeFolder;

impl Environment {
    /// The platform folders, or those under `$REMOTE4D_HOME` when it is set.
    ///
    /// # Errors
    /// [`NoHomeFolder`] when neither is available.
    pub fn from_system() -> Result<Self, NoHomeFolder> {
        if let Some(home) = std::env::var_os(HOME_VAR).filter(|v| !v.is_empty()) {
            return Ok(Self::portable(Path::new(&home)));
        }
        let base = directories::BaseDirs::new().ok_or(NoHomeFolder)?;
        let app = if cfg!(any(target_os = "macos", windows)) {
            "Remote4D"
        } else {
            "remote4d"
        };
        Ok(Self {
            cache_dir: base.cache_dir().join(app),
            data_dir: base.data_dir().join(app),
            config_dir: base.config_dir().join(app),
            shared_cache_dir: if cfg!(windows) {
                Some(program_data_cache(std::env::var_os("ProgramData")))
            } else {
                None
            },
        })
    }

    /// The system folders' root for `link`: the machine's shared one when the link asks for
    /// it (`remote_shared_resources`) and there is one, else the user's.
    pub fn cache_dir_for(&self, link: &crate::link::Link) -> &Path {
        match (&self.shared_cache_dir, link.remote_shared_resources) {
            (Some(shared), Some(true)) => shared,
            _ => &self.cache_dir,
        }
    }

    /// Everything under `root`: `root/cache`, `root/data`, `root/config`.
    pub fn portable(root: &Path) -> Self {
        Self {
            cache_dir: root.join("cache"),
            data_dir: root.join("data"),
            config_dir: root.join("config"),
            shared_cache_dir: Some(root.join("shared-cache")),
        }
    }

    /// The folder of Recent remote projects (`.4DLink` files).
    pub fn favorites_dir(&self) -> PathBuf {
        self.data_dir.join("Favorites").join("Remote")
    }

    /// The server's own data (identity, certificate, admin token, builds).
    pub fn server_dir(&self) -> PathBuf {
        self.data_dir.join("server")
    }
}

/// `%ProgramData%\Remote4D\Cache` (`C:\ProgramData` when the variable is missing).
fn program_data_cache(program_data: Option<std::ffi::OsString>) -> PathBuf {
    program_data
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(r"C:\ProgramData"), PathBuf::from)
        .join("Remote4D")
        .join("Cache")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portable_layout() {
        let e = Environment::portable(Path::new("/x"));
        assert_eq!(e.cache_dir, Path::new("/x/cache"));
        assert_eq!(e.favorites_dir(), Path::new("/x/data/Favorites/Remote"));
        assert_eq!(e.server_dir(), Path::new("/x/data/server"));
    }

    #[test]
    fn a_link_asking_for_shared_resources_uses_the_machines_cache() {
        let e = Environment::portable(Path::new("/x"));
        let mut link = crate::link::Link::default();
        assert_eq!(e.cache_dir_for(&link), Path::new("/x/cache"));
        link.remote_shared_resources = Some(true);
        assert_eq!(e.cache_dir_for(&link), Path::new("/x/shared-cache"));
        link.remote_shared_resources = Some(false);
        assert_eq!(e.cache_dir_for(&link), Path::new("/x/cache"));
        let mut unix = e;
        unix.shared_cache_dir = None;
        link.remote_shared_resources = Some(true);
        assert_eq!(
            unix.cache_dir_for(&link),
            Path::new("/x/cache"),
            "none: the user's"
        );
        assert_eq!(
            program_data_cache(Some("D:\\Data".into())),
            Path::new("D:\\Data").join("Remote4D").join("Cache")
        );
        assert_eq!(
            program_data_cache(None),
            Path::new(r"C:\ProgramData").join("Remote4D").join("Cache")
        );
    }
}
