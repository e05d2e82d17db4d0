//! The developer's state for a project, in the system folder's `userPreferences/` (as a 4D on
//! the server's machine keeps `userPreferences/` there instead of `userPreferences.<user>` in
//! the project): the source open, the tables folded, the cursor in each source, the window's
//! size, the "Open with" program. Kept per server and project; never sent anywhere.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::CacheError;
use super::{SystemFolder, names};

/// How the developer left a project's window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProjectPreferences {
    /// The source shown (relative to the project root: `Project/Sources/Methods/a.4dm`).
    pub selected: Option<String>,
    /// The tables whose fields are folded.
    pub collapsed: Vec<String>,
    /// The cursor in each source opened: (line, column), from 0.
    pub cursors: BTreeMap<String, (usize, usize)>,
    /// The project window's size.
    pub window: Option<(f32, f32)>,
    /// The "Open with…" program for this project (else the app's).
    pub open_with: Option<String>,
    /// The last texts searched for with Find in project, newest first.
    pub searches: Vec<String>,
}

/// At most this many sources keep their cursor (the most recent ones are kept).
const MAX_CURSORS: usize = 200;

impl SystemFolder {
    /// The developer's state for this project (defaults when none was saved or it is damaged).
    pub fn preferences(&self) -> ProjectPreferences {
        std::fs::read(self.user_preferences_dir().join(names::PREFERENCES))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Saves the developer's state for this project.
    ///
    /// # Errors
    /// [`CacheError::Io`] when it cannot be written (the previous file is intact).
    pub fn save_preferences(&self, prefs: &ProjectPreferences) -> Result<(), CacheError> {
        let dir = self.user_preferences_dir();
        let file = dir.join(names::PREFERENCES);
        let mut prefs = prefs.clone();
        while prefs.cursors.len() > MAX_CURSORS {
            let Some(first) = prefs.cursors.keys().next().cloned() else {
                break;
            };
            prefs.cursors.remove(&first);
        }
        prefs.searches.truncate(20);
        let bytes = serde_json::to_vec_pretty(&prefs).map_err(|e| CacheError::Io {
            path: file.clone(),
            source: std::io::Error::other(e),
        })?;
        std::fs::create_dir_all(&dir).map_err(CacheError::io(&dir))?;
        crate::fsutil::write_atomic(&file, &bytes).map_err(CacheError::io(&file))
    }
}
