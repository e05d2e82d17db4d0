//! The folders of a project that clients keep beside it, as 4D remotes do: `Resources/`,
//! `Components/`, `Plugins/` and `Libraries/`, each served as its own archive.

use serde::{Deserialize, Serialize};

/// A folder of the project copied to every remote client (never in development mode on the
/// server's machine, where the client uses its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Related {
    /// `Resources/`: updated during a session by the project's policy (Never, Always, Ask).
    Resources,
    /// `Components/`: each `<Name>.4dbase` with its `.4DZ` or its project.
    Components,
    /// `Plugins/`: 4D plug-ins (`.bundle`).
    Plugins,
    /// `Libraries/`: compiled code (macOS).
    Libraries,
}

impl Related {
    /// All of them, in the order a client copies them.
    pub const ALL: [Self; 4] = [
        Self::Resources,
        Self::Components,
        Self::Plugins,
        Self::Libraries,
    ];

    /// The folder's name, in the project and in the client's system folder.
    pub fn folder(self) -> &'static str {
        match self {
            Self::Resources => "Resources",
            Self::Components => "Components",
            Self::Plugins => "Plugins",
            Self::Libraries => "Libraries",
        }
    }

    /// The folder named `name` (as in [`Related::folder`], any case).
    pub fn from_folder(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.folder().eq_ignore_ascii_case(name))
    }

    /// The lower-case name used in file names and URLs (`components`).
    pub fn key(self) -> &'static str {
        match self {
            Self::Resources => "resources",
            Self::Components => "components",
            Self::Plugins => "plugins",
            Self::Libraries => "libraries",
        }
    }
}

impl std::fmt::Display for Related {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.folder())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_go_both_ways() {
        for r in Related::ALL {
            assert_eq!(Related::from_folder(r.folder()), Some(r));
            assert_eq!(Related::from_folder(r.key()), Some(r));
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.folder())
            );
        }
        assert_eq!(Related::from_folder("Project"), None);
        assert_eq!(Related::from_folder("../Resources"), None);
    }
}
