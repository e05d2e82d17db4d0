//! The project's related folders in the system folder ([`Related`]: `Resources/`,
//! `Components/`, `Plugins/`, `Libraries/`), kept beside `Project/` as 4D keeps them in its
//! client cache: installed from a verified archive (downloaded whole, or rebuilt from the
//! archive kept, `<folder>.4dz`, and a delta), swapped in atomically, checked quickly
//! (`<folder>.tsv`), removed when the project has none any more.

use std::path::PathBuf;

use super::error::CacheError;
use super::index::{self, Damage};
use super::{SystemFolder, names};
use crate::archive::{Archive, ArchiveError, Limits, Stamp};
use crate::protocol::Related;

impl SystemFolder {
    /// The copy of the server's `folder` (`Resources/`, `Components/`…).
    pub fn related_dir(&self, folder: Related) -> PathBuf {
        self.file(folder.folder())
    }

    /// The stamp of the copy of `folder` installed, if any.
    pub fn related_stamp(&self, folder: Related) -> Option<Stamp> {
        self.state().related_stamp(folder)
    }

    /// Checks quickly that the copy of `folder` is still exactly the copy of build `stamp`.
    ///
    /// # Errors
    /// The [`Damage`] found (or [`Damage::NoIndex`] when another copy is installed).
    pub fn check_related(&self, folder: Related, stamp: &Stamp) -> Result<(), Damage> {
        if self.related_stamp(folder) != Some(*stamp) || !self.related_dir(folder).is_dir() {
            return Err(Damage::NoIndex);
        }
        let text = std::fs::read_to_string(self.file(&names::related_index(folder)))
            .map_err(|_| Damage::NoIndex)?;
        let mut lines = text.lines();
        if lines.next() != Some(stamp.to_string().as_str()) {
            return Err(Damage::NoIndex);
        }
        index::check_listing(self.path(), folder.folder(), lines)
    }

    /// Where an archive of `folder` is downloaded before [`SystemFolder::install_related`].
    pub fn related_download(&self, folder: Related) -> PathBuf {
        self.file(&names::related_download(folder))
    }

    /// The verified archive of the copy of `folder` installed (kept for deltas), if any.
    pub fn related_archive(&self, folder: Related) -> Option<PathBuf> {
        let path = self.file(&names::related_archive(folder));
        (self.related_stamp(folder).is_some() && path.is_file()).then_some(path)
    }

    /// Installs build `new` of `folder` from a downloaded delta against the archive of the
    /// copy installed: the new archive is rebuilt from both, its SHA-256 must be `new`, then
    /// it is installed as [`SystemFolder::install_related`] does.
    ///
    /// # Errors
    /// [`CacheError::DeltaMismatch`] when the delta leads elsewhere, [`CacheError::Archive`]
    /// when it does not fit the archive kept (or there is none), [`CacheError::Io`]: the
    /// copy installed is then intact, and the caller downloads the whole archive.
    pub fn apply_related_delta(
        &self,
        folder: Related,
        delta: &[u8],
        new: Stamp,
    ) -> Result<(), CacheError> {
        let old =
            self.related_archive(folder)
                .ok_or(CacheError::Archive(ArchiveError::Corrupt {
                    name: names::related_archive(folder),
                    reason: "no archive of the installed copy to apply a delta to".into(),
                }))?;
        let delta_file = self.file(&names::related_delta(folder));
        std::fs::write(&delta_file, delta).map_err(CacheError::io(&delta_file))?;
        let out = self.related_download(folder);
        let rebuilt = crate::archive::apply_delta(&old, &delta_file, &out, &Limits::default());
        let _ = std::fs::remove_file(&delta_file);
        let (_, stamp) = rebuilt?;
        if stamp != new {
            let _ = std::fs::remove_file(&out);
            return Err(CacheError::DeltaMismatch {
                got: stamp.short(),
                expected: new.short(),
            });
        }
        self.install_related(folder, new)
    }

    /// Installs the verified archive of `folder` in build `stamp` (downloaded to
    /// [`SystemFolder::related_download`], then kept as the archive of the copy for the next
    /// delta) atomically.
    ///
    /// # Errors
    /// [`CacheError::Archive`] when it holds anything but that folder, [`CacheError::Io`];
    /// the previous copy is then intact.
    pub fn install_related(&self, folder: Related, stamp: Stamp) -> Result<(), CacheError> {
        let zip = self.related_download(folder);
        let target = self.related_dir(folder);
        let unpacked = (|| {
            let a = Archive::open(&zip, &Limits::default())?;
            let prefix = format!("{}/", folder.folder());
            if let Some(e) = a.entries().iter().find(|e| !e.name.starts_with(&prefix)) {
                return Err(ArchiveError::NotProjectArchive {
                    name: e.name.clone(),
                });
            }
            a.unpack_subtree_to(&prefix, &target).map(|_| ())
        })();
        if unpacked.is_err() {
            let _ = std::fs::remove_file(&zip);
        }
        unpacked?;
        // Kept for the next delta; without it the next change is downloaded whole.
        let kept = self.file(&names::related_archive(folder));
        if std::fs::rename(&zip, &kept).is_err() {
            let _ = std::fs::remove_file(&zip);
            let _ = std::fs::remove_file(&kept);
        }
        self.update_state(|s| s.set_related_stamp(folder, Some(stamp)))?;
        let index = format!("{stamp}\n{}", index::listing(&target));
        let _ = crate::fsutil::replace_cache_file(
            &self.file(&names::related_index(folder)),
            index.as_bytes(),
        );
        Ok(())
    }

    /// Removes the copy of `folder` (moved aside first, so that it is never half there).
    /// Returns whether there was anything to remove.
    ///
    /// # Errors
    /// [`CacheError::Io`] when it cannot be moved; it is then intact.
    pub fn remove_related(&self, folder: Related) -> Result<bool, CacheError> {
        let target = self.related_dir(folder);
        // Nothing installed: nothing to remove (an empty folder the layout made stays).
        let empty = std::fs::read_dir(&target).map_or(true, |mut d| d.next().is_none());
        if self.related_stamp(folder).is_none() && empty {
            return Ok(false);
        }
        if target.exists() {
            let aside = self.file(&names::related_removed(folder));
            let _ = std::fs::remove_dir_all(&aside);
            std::fs::rename(&target, &aside).map_err(CacheError::io(&target))?;
            let _ = std::fs::remove_dir_all(&aside);
        }
        let _ = std::fs::remove_file(self.file(&names::related_index(folder)));
        let _ = std::fs::remove_file(self.file(&names::related_archive(folder)));
        self.update_state(|s| s.set_related_stamp(folder, None))?;
        Ok(true)
    }
}
