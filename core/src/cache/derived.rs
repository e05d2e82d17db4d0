//! The client's derived data for a project, in the system folder's `DerivedDataRemote/` (as a
//! 4D on the server's machine keeps its `DerivedDataRemote/` there instead of
//! `Project/DerivedData`): the Find-in-project word index. Rebuilt from the project when absent,
//! damaged or of another version; refreshed when the project changed; never sent anywhere.

use std::path::Path;

use super::error::CacheError;
use super::{SystemFolder, names};
use crate::project::search::{Refreshed, SearchIndex};

impl SystemFolder {
    /// The Find-in-project index of the project at `root` (the system folder's copy in remote
    /// mode, the server's project folder in development mode): the saved one refreshed (only
    /// the files changed since are read), or built when there is none; saved when it changed.
    ///
    /// # Errors
    /// [`CacheError::Io`] when it cannot be saved (the index returned is still right).
    pub fn search_index(&self, root: &Path) -> Result<(SearchIndex, Refreshed), CacheError> {
        let file = self.derived_data_dir().join(names::SEARCH_INDEX);
        // The copy in this folder changes only with its build: its stamp says whether the
        // index is current. A project folder elsewhere (development mode) is looked at.
        let key = (root == self.project_root())
            .then(|| self.state().stamp.map(|s| s.to_string()))
            .flatten();
        SearchIndex::refresh_file(&file, root, key.as_deref()).map_err(CacheError::io(&file))
    }
}
