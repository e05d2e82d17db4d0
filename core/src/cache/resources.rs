//! The project's `Resources/` folder in the system folder, kept beside `Project/` as 4D keeps
//! it in the client cache: installed from a verified archive, swapped in atomically, checked
//! quickly (`resources.tsv`), removed when the project has none any more.

use std::path::PathBuf;

use super::error::CacheError;
use super::index::{self, Damage};
use super::{SystemFolder, names};
use crate::archive::{Archive, ArchiveError, Limits, Stamp};

impl SystemFolder {
    /// Checks quickly that `Resources/` is still exactly the copy of build `stamp`.
    ///
    /// # Errors
    /// The [`Damage`] found (or [`Damage::NoIndex`] when another copy is installed).
    pub fn check_resources(&self, stamp: &Stamp) -> Result<(), Damage> {
        if self.state().resources_stamp != Some(*stamp) || !self.resources_dir().is_dir() {
            return Err(Damage::NoIndex);
        }
        let text = std::fs::read_to_string(self.file(names::RESOURCES_INDEX))
            .map_err(|_| Damage::NoIndex)?;
        let mut lines = text.lines();
        if lines.next() != Some(stamp.to_string().as_str()) {
            return Err(Damage::NoIndex);
        }
        index::check_listing(self.path(), names::RESOURCES, lines)
    }

    /// Where a Resources archive is downloaded before [`SystemFolder::install_resources`].
    pub fn resources_download(&self) -> PathBuf {
        self.file(names::RESOURCES_DOWNLOAD)
    }

    /// Installs the verified Resources archive of build `stamp` (downloaded to
    /// [`SystemFolder::resources_download`], removed afterwards) into `Resources/` atomically.
    ///
    /// # Errors
    /// [`CacheError::Archive`] when it holds anything but `Resources/`, [`CacheError::Io`];
    /// the previous copy is then intact.
    pub fn install_resources(&self, stamp: Stamp) -> Result<(), CacheError> {
        let zip = self.resources_download();
        let unpacked = (|| {
            let a = Archive::open(&zip, &Limits::default())?;
            let prefix = format!("{}/", names::RESOURCES);
            if let Some(e) = a.entries().iter().find(|e| !e.name.starts_with(&prefix)) {
                return Err(ArchiveError::NotProjectArchive {
                    name: e.name.clone(),
                });
            }
            a.unpack_subtree_to(&prefix, &self.resources_dir())
                .map(|_| ())
        })();
        let _ = std::fs::remove_file(&zip);
        unpacked?;
        self.update_state(|s| s.resources_stamp = Some(stamp))?;
        let index = format!("{stamp}\n{}", index::listing(&self.resources_dir()));
        let _ =
            crate::fsutil::replace_cache_file(&self.file(names::RESOURCES_INDEX), index.as_bytes());
        Ok(())
    }

    /// Removes `Resources/` (moved aside first, so that it is never half there). Returns
    /// whether there was anything to remove.
    ///
    /// # Errors
    /// [`CacheError::Io`] when it cannot be moved; it is then intact.
    pub fn remove_resources(&self) -> Result<bool, CacheError> {
        let target = self.resources_dir();
        if self.state().resources_stamp.is_none() && !target.exists() {
            return Ok(false);
        }
        if target.exists() {
            let aside = self.file(names::RESOURCES_REMOVED);
            let _ = std::fs::remove_dir_all(&aside);
            std::fs::rename(&target, &aside).map_err(CacheError::io(&target))?;
            let _ = std::fs::remove_dir_all(&aside);
        }
        let _ = std::fs::remove_file(self.file(names::RESOURCES_INDEX));
        self.update_state(|s| s.resources_stamp = None)?;
        Ok(true)
    }
}
