//! The app's preferences: window size and position, the "Open with…" program. Tolerant loading:
//! a missing or damaged file gives the defaults, never an error.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Saved preferences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// Window width (the connection window).
    pub width: f32,
    /// Window height (the connection window).
    pub height: f32,
    /// The project window's size, once the user has given it one (it opens at the connection
    /// window's size until then).
    pub project_size: Option<(f32, f32)>,
    /// Window position, when known.
    pub x: Option<f32>,
    /// Window position, when known.
    pub y: Option<f32>,
    /// Program that "Open with…" launches on the project folder.
    pub open_with: String,
    /// Last user name typed in the login dialog, when "remember" was checked.
    pub last_user: Option<String>,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            width: 900.0,
            height: 620.0,
            project_size: None,
            x: None,
            y: None,
            open_with: String::new(),
            last_user: None,
        }
    }
}

fn file(dir: &Path) -> PathBuf {
    dir.join("app.json")
}

impl Prefs {
    /// Loads from `dir` (defaults when absent or unreadable), sanitising values.
    pub fn load(dir: &Path) -> Self {
        let mut p: Self = std::fs::read(file(dir))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        if !(300.0..=10_000.0).contains(&p.width) || !(200.0..=10_000.0).contains(&p.height) {
            p.width = Self::default().width;
            p.height = Self::default().height;
        }
        p.project_size = p
            .project_size
            .filter(|(w, h)| (300.0..=10_000.0).contains(w) && (200.0..=10_000.0).contains(h));
        p
    }

    /// Saves to `dir`.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let tmp = file(dir).with_extension("json.tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(tmp, file(dir))
    }
}
