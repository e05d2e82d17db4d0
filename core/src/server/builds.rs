//! The server's builds: the current archive, the previous ones kept for deltas and resumed
//! downloads, and rebuilding (incremental, one at a time).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use crate::archive::{self, BuildOptions, BuildReport, DeltaSummary, OnProgress, Previous, Stamp};

/// One built archive.
#[derive(Debug)]
pub struct Build {
    /// Its stamp.
    pub stamp: Stamp,
    /// The archive file.
    pub path: PathBuf,
    /// What the build produced.
    pub report: BuildReport,
}

/// The current build and the ones kept before it.
pub struct Builds {
    root: PathBuf,
    dir: PathBuf,
    keep: usize,
    options: BuildOptions,
    state: RwLock<VecDeque<Arc<Build>>>,
    /// Held during a build; holds when the last build started.
    build_lock: tokio::sync::Mutex<Option<Instant>>,
    delta_lock: tokio::sync::Mutex<()>,
}

/// The result of a rebuild.
#[derive(Debug, Clone)]
pub struct Rebuilt {
    /// The current build after it.
    pub build: Arc<Build>,
    /// False when the project had not changed.
    pub changed: bool,
    /// False when a build that started after the request answered it (see [`Builds::rebuild`]).
    pub built: bool,
    /// How long it took.
    pub millis: u64,
}

fn report_path(dir: &Path, stamp: &Stamp) -> PathBuf {
    dir.join(format!("{stamp}.json"))
}

fn archive_path(dir: &Path, stamp: &Stamp) -> PathBuf {
    dir.join(format!("{stamp}.4dz"))
}

impl Builds {
    /// Loads the builds kept in `dir` and builds the project at `root` (incrementally against the
    /// newest kept build, so a restart is fast).
    ///
    /// # Errors
    /// [`archive::ArchiveError`] when the project cannot be built.
    pub fn open(root: &Path, dir: &Path, keep: usize) -> Result<Self, archive::ArchiveError> {
        Self::open_folder(root, dir, keep, archive::TOP_FOLDER, None)
    }

    /// [`Builds::open`], telling `progress` how the first build goes (a large project takes
    /// seconds before the server can answer).
    ///
    /// # Errors
    /// As [`Builds::open`].
    pub fn open_reporting(
        root: &Path,
        dir: &Path,
        keep: usize,
        progress: Option<OnProgress>,
    ) -> Result<Self, archive::ArchiveError> {
        Self::open_folder(root, dir, keep, archive::TOP_FOLDER, progress)
    }

    /// [`Builds::open`] for another folder of the project (`Resources`): archives of
    /// `root/<top_folder>`, kept in `dir`.
    ///
    /// # Errors
    /// As [`Builds::open`].
    pub fn open_folder(
        root: &Path,
        dir: &Path,
        keep: usize,
        top_folder: &str,
        progress: Option<OnProgress>,
    ) -> Result<Self, archive::ArchiveError> {
        std::fs::create_dir_all(dir).map_err(archive::ArchiveError::io(dir))?;
        let mut kept = load_kept(dir);
        let mut builds = Self {
            root: root.to_path_buf(),
            dir: dir.to_path_buf(),
            keep: keep.max(1),
            options: BuildOptions {
                top_folder: top_folder.to_owned(),
                progress,
                ..BuildOptions::default()
            },
            state: RwLock::new(VecDeque::new()),
            build_lock: tokio::sync::Mutex::new(None),
            delta_lock: tokio::sync::Mutex::new(()),
        };
        let previous = kept.front().cloned();
        let build = builds.build_blocking(previous.as_deref())?;
        // Rebuilds run while the server serves: they log, they do not report.
        builds.options.progress = None;
        kept.retain(|b| b.stamp != build.stamp);
        kept.push_front(Arc::new(build));
        kept.truncate(builds.keep);
        *builds.write() = kept;
        builds.prune_files();
        Ok(builds)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, VecDeque<Arc<Build>>> {
        self.state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, VecDeque<Arc<Build>>> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current build.
    pub fn current(&self) -> Arc<Build> {
        #[allow(clippy::unwrap_used)]
        // never empty: `open` puts a build in and nothing removes the last
        self.read().front().cloned().unwrap()
    }

    /// A kept build by stamp.
    pub fn find(&self, stamp: &Stamp) -> Option<Arc<Build>> {
        self.read().iter().find(|b| &b.stamp == stamp).cloned()
    }

    /// The builds kept, newest (the current one) first.
    pub fn kept(&self) -> Vec<Arc<Build>> {
        self.read().iter().cloned().collect()
    }

    /// The size of the delta from `from` to the current build, when one was made (a client
    /// asked for it).
    pub fn delta_size(&self, from: &Stamp) -> Option<u64> {
        let path = self
            .dir
            .join(format!("delta-{from}-{}.zip", self.current().stamp));
        std::fs::metadata(path).ok().map(|m| m.len())
    }

    /// The stamps kept, newest first.
    pub fn stamps(&self) -> Vec<Stamp> {
        self.read().iter().map(|b| b.stamp).collect()
    }

    fn build_blocking(&self, previous: Option<&Build>) -> Result<Build, archive::ArchiveError> {
        let tmp = self
            .dir
            .join(format!("building-{}.4dz", uuid::Uuid::new_v4().simple()));
        let prev = previous.map(|b| Previous {
            archive: &b.path,
            report: &b.report,
        });
        let report = match archive::build_incremental(&self.root, &tmp, &self.options, prev) {
            Ok(r) => r,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let path = archive_path(&self.dir, &report.stamp);
        std::fs::rename(&tmp, &path).map_err(archive::ArchiveError::io(&path))?;
        let json = report_path(&self.dir, &report.stamp);
        if let Ok(bytes) = serde_json::to_vec(&report) {
            if let Err(err) = crate::fsutil::write_atomic(&json, &bytes) {
                tracing::warn!(%err, "could not save the build report (deltas from it will not survive a restart)");
            }
        }
        Ok(Build {
            stamp: report.stamp,
            path,
            report,
        })
    }

    /// Rebuilds now (waiting for a build in progress first). Connected clients keep their version.
    ///
    /// # Errors
    /// [`archive::ArchiveError`] when the project cannot be built; the current build stays.
    pub async fn rebuild(self: &Arc<Self>) -> Result<Rebuilt, archive::ArchiveError> {
        self.rebuild_for(Instant::now()).await
    }

    /// Rebuilds for changes made before `changed_at`. Requests coalesce: when a build started
    /// after `changed_at` (a reload and the watcher's signal for the same edit, a burst of
    /// saves), it already saw those changes, and its result answers without scanning again.
    ///
    /// # Errors
    /// As [`Builds::rebuild`].
    pub async fn rebuild_for(
        self: &Arc<Self>,
        changed_at: Instant,
    ) -> Result<Rebuilt, archive::ArchiveError> {
        let asked = changed_at;
        let before = self.current().stamp;
        let mut last_start = self.build_lock.lock().await;
        if last_start.is_some_and(|started| started > asked) {
            let build = self.current();
            return Ok(Rebuilt {
                changed: build.stamp != before,
                built: false,
                build,
                millis: asked.elapsed().as_millis() as u64,
            });
        }
        let start = Instant::now();
        *last_start = Some(start);
        let current = self.current();
        let this = Arc::clone(self);
        let prev = Arc::clone(&current);
        let build = tokio::task::spawn_blocking(move || this.build_blocking(Some(&prev)))
            .await
            .map_err(|e| archive::ArchiveError::Io {
                path: self.root.clone(),
                source: std::io::Error::other(e),
            })??;
        let millis = start.elapsed().as_millis() as u64;
        if build.stamp == current.stamp {
            return Ok(Rebuilt {
                build: current,
                changed: false,
                built: true,
                millis,
            });
        }
        let build = Arc::new(build);
        {
            let mut kept = self.write();
            kept.retain(|b| b.stamp != build.stamp);
            kept.push_front(Arc::clone(&build));
            kept.truncate(self.keep);
        }
        self.prune_files();
        tracing::info!(stamp = %build.stamp.short(), reused = build.report.reused, millis, "project rebuilt");
        Ok(Rebuilt {
            build,
            changed: true,
            built: true,
            millis,
        })
    }

    /// The delta from `from` to the current build, made once and cached. `None` when `from` is
    /// not kept any more (the client then downloads the whole archive).
    ///
    /// # Errors
    /// [`archive::ArchiveError`] when it cannot be written.
    pub async fn delta(
        self: &Arc<Self>,
        from: &Stamp,
    ) -> Result<Option<(PathBuf, DeltaSummary)>, archive::ArchiveError> {
        let Some(old) = self.find(from) else {
            return Ok(None);
        };
        let new = self.current();
        let path = self
            .dir
            .join(format!("delta-{}-{}.zip", old.stamp, new.stamp));
        let summary_path = path.with_extension("json");
        let _guard = self.delta_lock.lock().await;
        if let (true, Ok(bytes)) = (path.is_file(), std::fs::read(&summary_path)) {
            if let Ok(summary) = serde_json::from_slice::<DeltaSummary>(&bytes) {
                return Ok(Some((path, summary)));
            }
        }
        let out = path.clone();
        let summary = tokio::task::spawn_blocking(move || {
            let s = archive::make_delta(&old.report, &new.report, &new.path, &out)?;
            if let Ok(bytes) = serde_json::to_vec(&s) {
                let _ = crate::fsutil::write_atomic(&out.with_extension("json"), &bytes);
            }
            Ok::<_, archive::ArchiveError>(s)
        })
        .await
        .map_err(|e| archive::ArchiveError::Io {
            path: path.clone(),
            source: std::io::Error::other(e),
        })??;
        Ok(Some((path, summary)))
    }

    /// Removes archives, reports and deltas of builds no longer kept.
    fn prune_files(&self) {
        let kept: Vec<String> = self.stamps().iter().map(ToString::to_string).collect();
        let current = self.current().stamp.to_string();
        let Ok(read) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in read.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let keep = if let Some(rest) = name.strip_prefix("delta-") {
                // delta-<from>-<to>.zip|json: keep only deltas to the current build from kept ones.
                // `get` instead of slicing: a foreign file with a multi-byte name must not panic.
                rest.get(..64)
                    .is_some_and(|from| kept.iter().any(|k| k == from))
                    && rest.get(64..65) == Some("-")
                    && rest.get(65..129) == Some(current.as_str())
            } else if name.starts_with("building-") {
                continue;
            } else {
                let stem = name.split('.').next().unwrap_or_default();
                kept.iter().any(|k| k == stem)
            };
            if !keep {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Builds kept by a previous run, newest first (those whose archive still has its stamp).
fn load_kept(dir: &Path) -> VecDeque<Arc<Build>> {
    let mut found: Vec<(std::time::SystemTime, Build)> = Vec::new();
    let Ok(read) = std::fs::read_dir(dir) else {
        return VecDeque::new();
    };
    for entry in read.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("building-") {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        let Some(stem) = name.strip_suffix(".json").filter(|s| s.len() == 64) else {
            continue;
        };
        let Ok(stamp) = stem.parse::<Stamp>() else {
            continue;
        };
        let Some(report) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<BuildReport>(&b).ok())
        else {
            continue;
        };
        let archive = archive_path(dir, &stamp);
        // A build is reused only if its archive still has exactly its stamp.
        let intact = report.stamp == stamp
            && std::fs::metadata(&archive).is_ok_and(|m| m.len() == report.archive_size)
            && Stamp::of_file(&archive).is_ok_and(|s| s == stamp);
        if !intact {
            continue;
        }
        let time = entry
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(std::time::UNIX_EPOCH);
        found.push((
            time,
            Build {
                stamp,
                path: archive,
                report,
            },
        ));
    }
    found.sort_by_key(|b| std::cmp::Reverse(b.0));
    found.into_iter().map(|(_, b)| Arc::new(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(root: &Path, body: &str) {
        let methods = root.join("Project/Sources/Methods");
        std::fs::create_dir_all(&methods).unwrap();
        std::fs::write(root.join("Project/Demo.4DProject"), b"{}").unwrap();
        std::fs::write(methods.join("m.4dm"), body).unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_rebuild_started_after_a_change_answers_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("p");
        project(&root, "// one\n");
        let builds = Arc::new(Builds::open(&root, &dir.path().join("builds"), 3).unwrap());
        let first = builds.current().stamp;
        project(&root, "// two\n");
        let changed_at = Instant::now();
        // A reload right after the edit, then the watcher's (debounced) signal for it.
        let reload = builds.rebuild().await.unwrap();
        assert!(reload.built && reload.changed);
        assert_ne!(reload.build.stamp, first);
        let watcher = builds.rebuild_for(changed_at).await.unwrap();
        assert!(!watcher.built, "the reload's scan already saw the edit");
        assert_eq!(watcher.build.stamp, reload.build.stamp);
        // A change after the last build started is never skipped.
        project(&root, "// three\n");
        let later = builds.rebuild_for(Instant::now()).await.unwrap();
        assert!(later.built && later.changed);
        // Both at once (the watcher while a reload waits): one scan, the same answer.
        project(&root, "// four\n");
        let at = Instant::now();
        let (a, b) = tokio::join!(builds.rebuild_for(at), builds.rebuild_for(at));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.build.stamp, b.build.stamp);
        assert_ne!(a.build.stamp, later.build.stamp);
        assert_eq!([a.built, b.built].iter().filter(|x| **x).count(), 1);
    }

    #[test]
    fn foreign_files_with_multibyte_names_do_not_panic_the_pruning() {
        let project = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        self::project(project.path(), "// m");
        let builds = Builds::open(project.path(), dir.path(), 2).unwrap();
        // 64 bytes then a multi-byte character across the slicing points of a delta name.
        let odd = format!("delta-{}é{}", "a".repeat(63), "ü".repeat(40));
        std::fs::write(dir.path().join(&odd), "x").unwrap();
        std::fs::write(dir.path().join("delta-é"), "x").unwrap();
        builds.prune_files();
        assert!(!dir.path().join(&odd).exists());
        assert!(builds.current().report.archive_size > 0);
    }
}
