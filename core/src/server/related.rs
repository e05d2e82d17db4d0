//! The project's folders that remote clients keep beside it ([`Related`]: `Resources/`,
//! `Components/`, `Plugins/`, `Libraries/`), as a 4D Server copies them to its remotes: one
//! deterministic archive each, made when the folder appears, rebuilt when it changes, dropped
//! when it goes; connected clients are told each time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use super::builds::Builds;
use super::sessions::Sessions;
use crate::archive::ArchiveError;
use crate::protocol::{Related, ResourcesInfo, SessionEvent};

/// The archives of the project's related folders.
pub(crate) struct RelatedFolders {
    root: PathBuf,
    slots: Vec<Slot>,
}

struct Slot {
    folder: Related,
    /// Builds kept (deltas from them, resumed downloads).
    keep: usize,
    /// Where its archives are kept (`<data>/<key>-builds`).
    dir: PathBuf,
    builds: RwLock<Option<Arc<Builds>>>,
}

impl RelatedFolders {
    /// Archives each related folder the project at `root` has (blocking), keeping the archives
    /// of the last `keep` builds of each (at least 2) under `data_dir`, for deltas.
    ///
    /// # Errors
    /// [`ArchiveError`] when a folder cannot be archived.
    pub fn open(root: &Path, data_dir: &Path, keep: usize) -> Result<Self, ArchiveError> {
        let keep = keep.max(2);
        let mut slots = Vec::new();
        for folder in Related::ALL {
            let dir = data_dir.join(format!("{}-builds", folder.key()));
            let builds = if root.join(folder.folder()).is_dir() {
                Some(Arc::new(open(root, &dir, folder, keep)?))
            } else {
                None
            };
            slots.push(Slot {
                folder,
                keep,
                dir,
                builds: RwLock::new(builds),
            });
        }
        Ok(Self {
            root: root.to_path_buf(),
            slots,
        })
    }

    fn slot(&self, folder: Related) -> Option<&Slot> {
        self.slots.iter().find(|s| s.folder == folder)
    }

    /// The archives of `folder`, if the project has that folder.
    pub fn builds(&self, folder: Related) -> Option<Arc<Builds>> {
        self.slot(folder).and_then(Slot::current)
    }

    /// What `/info` says of them: `Resources/`, then the others that exist.
    pub fn info(&self) -> (Option<ResourcesInfo>, BTreeMap<Related, ResourcesInfo>) {
        let mut resources = None;
        let mut others = BTreeMap::new();
        for slot in &self.slots {
            let Some(b) = slot.current() else { continue };
            let current = b.current();
            let info = ResourcesInfo {
                stamp: current.stamp,
                size: current.report.archive_size,
            };
            if slot.folder == Related::Resources {
                resources = Some(info);
            } else {
                others.insert(slot.folder, info);
            }
        }
        (resources, others)
    }

    /// Brings every archive up to date with the folders changed before `changed_at`, and
    /// tells connected clients of each change. A folder that cannot be archived is logged;
    /// clients keep the previous archive.
    pub async fn rebuild(&self, changed_at: Instant, sessions: &Sessions) {
        for slot in &self.slots {
            if let Some(stamp) = slot.rebuild(&self.root, changed_at).await {
                sessions.broadcast(&event(slot.folder, stamp));
            }
        }
    }
}

impl Slot {
    fn current(&self) -> Option<Arc<Builds>> {
        self.builds
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set(&self, builds: Option<Arc<Builds>>) -> Option<Arc<Builds>> {
        std::mem::replace(
            &mut *self
                .builds
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            builds,
        )
    }

    /// Rebuilds; `Some(new stamp or None when the folder went)` when clients must be told.
    async fn rebuild(
        &self,
        root: &Path,
        changed_at: Instant,
    ) -> Option<Option<crate::archive::Stamp>> {
        let name = self.folder.folder();
        if !root.join(name).is_dir() {
            return self.set(None).map(|_| {
                tracing::info!("the project has no {name} folder any more");
                None
            });
        }
        let result = match self.current() {
            Some(b) => b
                .rebuild_for(changed_at)
                .await
                .map(|r| (r.changed && r.built).then_some(Some(r.build.stamp))),
            None => {
                let (root, dir, folder) = (root.to_path_buf(), self.dir.clone(), self.folder);
                let keep = self.keep;
                match tokio::task::spawn_blocking(move || open(&root, &dir, folder, keep)).await {
                    Ok(Ok(b)) => {
                        let stamp = b.current().stamp;
                        self.set(Some(Arc::new(b)));
                        Ok(Some(Some(stamp)))
                    }
                    Ok(Err(e)) => Err(e),
                    Err(e) => Err(ArchiveError::Io {
                        path: self.dir.clone(),
                        source: std::io::Error::other(e),
                    }),
                }
            }
        };
        result.unwrap_or_else(|err| {
            tracing::error!(%err, "the {name} folder could not be archived; clients keep the previous one");
            None
        })
    }
}

/// What connected clients are told when `folder` changed.
fn event(folder: Related, stamp: Option<crate::archive::Stamp>) -> SessionEvent {
    match folder {
        Related::Resources => SessionEvent::ResourcesUpdated { stamp },
        folder => SessionEvent::FolderUpdated { folder, stamp },
    }
}

fn open(root: &Path, dir: &Path, folder: Related, keep: usize) -> Result<Builds, ArchiveError> {
    Builds::open_folder(root, dir, keep, folder.folder(), None)
}
