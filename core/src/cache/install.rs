//! Changing what a system folder holds: check it, begin a download for a build, install a
//! verified download, apply a verified delta, repair a damaged copy. These steps block (they
//! read and write whole archives): async callers run them on a blocking thread, with a clone
//! of the [`SystemFolder`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::error::CacheError;
use super::index::{self, Damage};
use super::names;
use super::{SystemFolder, checkpoints, pending};
use crate::archive::{self, Archive, Checkpoints, FollowingUnpack, Limits, Stamp};

/// A download of one build into the system folder (`project.4dz.part`), resumed across
/// attempts and connections while it is for the same build.
#[derive(Debug, Clone)]
pub struct Download {
    path: PathBuf,
    stamp: Stamp,
}

impl Download {
    /// The file the download writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The build it is for.
    pub fn stamp(&self) -> Stamp {
        self.stamp
    }

    /// Bytes already downloaded.
    pub fn len(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }

    /// True when nothing is downloaded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The file the last part of a download in two parts is written to, before it is
    /// appended (see [`crate::archive::FollowingUnpack::start_in_two_parts`]).
    pub fn tail_path(&self) -> PathBuf {
        self.path.with_file_name(names::PART_TAIL)
    }

    /// Drops what was downloaded (it was not the build, or not the bytes asked for).
    pub fn discard(&self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_file(self.tail_path());
    }
}

impl SystemFolder {
    /// Checks quickly (sizes and times) that the folder still holds build `stamp` exactly as
    /// installed.
    ///
    /// # Errors
    /// The [`Damage`] found: the caller repairs ([`SystemFolder::repair`]) or downloads again.
    pub fn check(&self, stamp: &Stamp) -> Result<(), Damage> {
        index::check(self.path(), stamp)
    }

    /// The build the folder holds intact, if any (what an offline open may use).
    pub fn intact_build(&self) -> Option<Stamp> {
        let stamp = self.state().stamp?;
        self.check(&stamp).ok().map(|()| stamp)
    }

    /// Forgets the installed build (a shortcut's "clear the cache folder"): the next fetch
    /// downloads the whole archive.
    ///
    /// # Errors
    /// [`CacheError::Io`] when the state cannot be saved.
    pub fn forget_build(&self) -> Result<(), CacheError> {
        self.forget_prefetch();
        self.update_state(|s| s.stamp = None)?;
        let _ = std::fs::remove_file(self.file(names::INDEX));
        Ok(())
    }

    /// Drops the part of a build other than `stamp` (the server's current one): it could only
    /// be resumed for a build the server no longer serves, and it may fill the disk that an
    /// update or a delta needs (a download that stopped on a full disk leaves one).
    pub fn forget_other_downloads(&self, stamp: Stamp) {
        let part_stamp = self.file(names::PART_STAMP);
        let other = std::fs::read_to_string(&part_stamp)
            .ok()
            .and_then(|s| s.trim().parse::<Stamp>().ok())
            != Some(stamp);
        if other {
            let _ = std::fs::remove_file(self.file(names::PART));
            let _ = std::fs::remove_file(self.file(names::PART_TAIL));
            let _ = std::fs::remove_file(part_stamp);
        }
    }

    /// Begins (or resumes) the download of build `stamp`: a part of another build is dropped.
    ///
    /// # Errors
    /// [`CacheError::Io`] when the folder cannot be written.
    pub fn begin_download(&self, stamp: Stamp) -> Result<Download, CacheError> {
        self.forget_prefetch();
        let path = self.file(names::PART);
        let part_stamp = self.file(names::PART_STAMP);
        let same = std::fs::read_to_string(&part_stamp)
            .ok()
            .and_then(|s| s.trim().parse::<Stamp>().ok())
            == Some(stamp);
        // A last part is never resumed (what the first part holds is).
        let _ = std::fs::remove_file(self.file(names::PART_TAIL));
        if !same {
            let _ = std::fs::remove_file(&path);
            std::fs::write(&part_stamp, stamp.to_string()).map_err(CacheError::io(&part_stamp))?;
        }
        Ok(Download { path, stamp })
    }

    /// Installs a complete, verified download: unpacks it into `Project/` atomically (or
    /// keeps the unpack that followed the download, when it holds exactly the archive's
    /// entries), makes it `project.4dz`, and records the index, the checkpoints and the state.
    ///
    /// # Errors
    /// [`CacheError::Archive`] when it is not a project archive, [`CacheError::Io`]; the
    /// previous `Project/` is then intact.
    pub fn install_download(
        &self,
        download: &Download,
        unpacked: Option<FollowingUnpack>,
        checkpoints: Option<&Checkpoints>,
    ) -> Result<(), CacheError> {
        self.forget_prefetch();
        self.install(&download.path, download.stamp, unpacked)?;
        checkpoints::write(self.path(), checkpoints);
        Ok(())
    }

    /// Repairs a damaged copy of build `stamp` from the folder's own archive, when it is that
    /// build (a pending delta written into it first). Returns false when the archive cannot
    /// serve: the caller downloads it again.
    ///
    /// # Errors
    /// [`CacheError`] when the archive is that build but cannot be unpacked.
    pub fn repair(&self, stamp: Stamp) -> Result<bool, CacheError> {
        self.forget_prefetch();
        if let Err(err) = pending::write_into_archive(self.path()) {
            tracing::warn!(%err, "the pending delta is lost");
        }
        let archive = self.archive_path();
        if !Stamp::of_file(&archive).is_ok_and(|s| s == stamp) {
            return Ok(false);
        }
        self.install(&archive, stamp, None)?;
        Ok(true)
    }

    /// Unpacks the verified archive `source` into `Project/`, makes it `project.4dz`, and
    /// records the index and the state.
    fn install(
        &self,
        source: &Path,
        stamp: Stamp,
        unpacked: Option<FollowingUnpack>,
    ) -> Result<(), CacheError> {
        let _turn = pending::turn();
        let t = Instant::now();
        let open = || -> Result<Archive, CacheError> {
            let a = Archive::open(source, &Limits::default())?;
            a.check_project_layout()?;
            Ok(a)
        };
        // An unpack that followed the download is kept when the archive's central directory
        // lists exactly what it unpacked (`finish` checks); else the archive is unpacked here.
        let listed = match unpacked {
            Some(u) => u.finish()?,
            None => None,
        };
        if listed.is_none() {
            open()?.unpack_subtree_to("Project/", &self.project_dir())?;
        }
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "unpacked");
        let archive = self.archive_path();
        pending::discard(self.path());
        if source != archive {
            std::fs::rename(source, &archive).map_err(CacheError::io(&archive))?;
        }
        let _ = std::fs::remove_file(self.file(names::PART_STAMP));
        let index = self.file(names::INDEX);
        index::write(self.path(), &stamp, listed.as_deref()).map_err(CacheError::io(index))?;
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "index written");
        self.update_state(|s| s.stamp = Some(stamp))
    }

    /// Applies a downloaded delta from the installed build to build `new`: proves the new
    /// build from the cached archive and the delta without writing it, writes only the
    /// changed files into `Project/`, and leaves the delta pending on the archive. A delta
    /// already pending (from an earlier update) is composed with this one into one delta from
    /// the archive (see [`archive::compose_deltas`]): an update costs what changed since the
    /// archive was written, never a rewrite of the archive. Only when the pending delta grows
    /// past 1/8 of the archive (the cache's `pending::LARGE`) is it written into the archive,
    /// on a background thread.
    ///
    /// # Errors
    /// [`CacheError::DeltaMismatch`], [`CacheError::Archive`], [`CacheError::Io`]: the caller
    /// downloads the whole archive instead.
    pub fn apply_delta(&self, delta: &[u8], new: Stamp) -> Result<(), CacheError> {
        let delta_file = self.file(names::DELTA);
        std::fs::write(&delta_file, delta).map_err(CacheError::io(&delta_file))?;
        // A background write of the previous pending delta ends first: it replaces the archive
        // and drops the pending delta this one would be applied on.
        let turn = pending::turn();
        let result = self.apply_delta_file(&delta_file, new, &turn);
        let _ = std::fs::remove_file(&delta_file);
        let _ = std::fs::remove_file(self.file(names::COMPOSED));
        result?;
        self.update_state(|s| s.stamp = Some(new))?;
        drop(turn);
        if pending::is_large(self.path()) {
            pending::write_into_archive_in_background(self.path().to_path_buf());
        }
        Ok(())
    }

    /// Starts reading the cached archive's central directory on a thread, for a delta about
    /// to be requested: [`SystemFolder::apply_delta`] then finds it read, the read (about 15 ms
    /// for 20,000 files) hidden behind the requests that precede the delta. An archive replaced
    /// in the meantime is read again; without an archive, nothing is started.
    pub fn prefetch_archive(&self) {
        self.forget_prefetch();
        let path = self.archive_path();
        if !path.is_file() {
            return;
        }
        let read = std::thread::Builder::new()
            .name("archive-prefetch".into())
            .spawn(move || Archive::open_written_here(&path, &Limits::default()));
        if let (Ok(handle), Ok(mut slot)) = (read, self.prefetch_slot().lock()) {
            *slot = Some(handle);
        }
    }

    /// Drops the archive read ahead, if any (no delta needed it), once its thread has ended:
    /// when this returns, no file of the read ahead is open — Windows replaces no open file,
    /// so every step that writes `project.4dz` calls this first.
    pub(crate) fn forget_prefetch(&self) {
        if let Some(thread) = self.take_prefetch() {
            let _ = thread.join();
        }
    }

    /// Takes the read ahead's thread out of its slot, if one was started.
    fn take_prefetch(&self) -> Option<super::folder::Prefetch> {
        self.prefetch_slot().lock().ok().and_then(|mut s| s.take())
    }

    /// The cached archive: the one read ahead when it is still the file at its path, else
    /// read now. Written by this program and proved by its stamp: its local headers need no
    /// reading.
    fn old_archive(&self) -> Result<Archive, CacheError> {
        let ahead = self.take_prefetch();
        if let Some(Ok(Ok(archive))) = ahead.map(std::thread::JoinHandle::join) {
            if archive.is_current() {
                return Ok(archive);
            }
            tracing::debug!("the archive read ahead was replaced since: reading it again");
        }
        Ok(Archive::open_written_here(
            &self.archive_path(),
            &Limits::default(),
        )?)
    }

    fn apply_delta_file(
        &self,
        delta_file: &Path,
        new: Stamp,
        turn: &pending::Turn,
    ) -> Result<(), CacheError> {
        let t = Instant::now();
        let dir = self.path();
        let old = self.old_archive()?;
        let d = Archive::open(delta_file, &Limits::default())?;
        let known = checkpoints::read(dir);
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "archives opened");
        // With a delta pending, this one is composed with it: the composition goes pending.
        let (pending_file, before, plan, checkpoints) = if pending::exists(dir) {
            match self.compose(&old, &d, known.as_ref()) {
                Ok((before, plan, checkpoints)) => {
                    (self.file(names::COMPOSED), before, plan, checkpoints)
                }
                Err(err) => {
                    // A damaged pending delta, or a bad new one: write the pending delta into
                    // the archive (or drop it), then apply this one alone.
                    tracing::info!(%err, "cannot compose with the pending delta; writing it");
                    drop((old, d));
                    pending::write_into_archive_in_turn(dir, turn)?;
                    return self.apply_delta_file(delta_file, new, turn);
                }
            }
        } else {
            let (plan, checkpoints) = archive::check_delta(&old, &d, known.as_ref())?;
            (
                delta_file.to_path_buf(),
                old.entries().to_vec(),
                plan,
                checkpoints,
            )
        };
        if plan.to != new {
            return Err(CacheError::DeltaMismatch {
                got: plan.to.short(),
                expected: new.short(),
            });
        }
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "new archive checked");
        // From here, an interruption leaves the index out of date: the next connect repairs.
        let (written, removed) =
            archive::update_folder(&before, &d, &plan, "Project/", &self.project_dir())?;
        drop((old, d));
        tracing::debug!(
            ms = t.elapsed().as_millis() as u64,
            "project folder updated"
        );
        let record = self.file(names::PENDING);
        pending::record(dir, &pending_file, new).map_err(CacheError::io(record))?;
        checkpoints::write(dir, Some(&checkpoints));
        let index = self.file(names::INDEX);
        index::update(dir, &new, &written, &removed).map_err(CacheError::io(index))?;
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "index updated");
        Ok(())
    }

    /// Composes the pending delta with `d` into `COMPOSED` and proves the build it makes.
    /// Returns the entries of the pending build, `d`'s plan and the new build's checkpoints.
    fn compose(
        &self,
        old: &Archive,
        d: &Archive,
        known: Option<&Checkpoints>,
    ) -> Result<(Vec<archive::Entry>, archive::DeltaPlan, Checkpoints), CacheError> {
        let t = Instant::now();
        let pending = self.file(names::PENDING_DELTA);
        let p = Archive::open_written_here(&pending, &Limits::default())?;
        let out = self.file(names::COMPOSED);
        let composed = archive::compose_deltas(old, &p, d, &out)?;
        drop(p);
        let c = Archive::open(&out, &Limits::default())?;
        let (_, checkpoints) = archive::check_composed(old, &c, &composed, known)?;
        tracing::debug!(
            ms = t.elapsed().as_millis() as u64,
            bytes = composed.size,
            "delta composed with the pending one"
        );
        Ok((composed.before, composed.next, checkpoints))
    }

    /// Before a process exits: writes a large pending delta into `project.4dz` (waiting for
    /// the background write the delta started), leaves a small one pending (the next delta is
    /// composed with it).
    ///
    /// # Errors
    /// Why the archive could not be written; the next delta then downloads the whole archive.
    pub fn settle_archive(&self) -> Result<(), pending::PendingDeltaError> {
        self.forget_prefetch();
        pending::settle(self.path())
    }

    /// Waits until the archive is complete: writes a pending delta into `project.4dz` now.
    ///
    /// # Errors
    /// Why the archive could not be written; the next delta then downloads the whole archive.
    pub fn complete_archive(&self) -> Result<(), pending::PendingDeltaError> {
        self.forget_prefetch();
        pending::write_into_archive(self.path())
    }

    /// True while a delta applied to `Project/` is not yet written into `project.4dz`.
    pub fn has_pending_delta(&self) -> bool {
        pending::exists(self.path())
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io::Write;

    use super::*;
    use crate::cache::FolderSpec;

    fn folder(dir: &Path) -> SystemFolder {
        let spec = FolderSpec {
            project: "Shop".into(),
            host: "127.0.0.1".into(),
            port: 19813,
            cache_folder_name: None,
        };
        let f = SystemFolder::acquire(dir, &spec, Path::new("/opt/remote4d")).unwrap();
        f.ensure_layout().unwrap();
        f
    }

    const FILES: [(&str, &str); 3] = [
        ("Project/Shop.4DProject", "{}"),
        ("Project/Sources/Methods/hello.4dm", "ALERT(\"hello\")"),
        ("Project/Sources/Classes/Cart.4dm", "Class constructor"),
    ];

    /// Downloads `archive` into `f` as the client does, the unpack following it, and installs it.
    fn download_and_install(f: &SystemFolder, archive: &Path) -> Stamp {
        let stamp = Stamp::of_file(archive).unwrap();
        let download = f.begin_download(stamp).unwrap();
        fs::write(download.path(), b"").unwrap();
        let u = FollowingUnpack::start(
            download.path(),
            "Project/",
            &f.project_dir(),
            Limits::default(),
        )
        .unwrap();
        let bytes = fs::read(archive).unwrap();
        let mut out = fs::OpenOptions::new()
            .append(true)
            .open(download.path())
            .unwrap();
        let mut done = 0;
        for piece in bytes.chunks(1_000) {
            out.write_all(piece).unwrap();
            done += piece.len() as u64;
            u.grew(done);
        }
        f.install_download(&download, Some(u), None).unwrap();
        stamp
    }

    /// Writes [`FILES`] into `dir/src`, returned.
    fn write_files(dir: &Path) -> PathBuf {
        let src = dir.join("src");
        for (name, body) in FILES {
            let path = src.join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, body).unwrap();
        }
        src
    }

    fn assert_installed(f: &SystemFolder, stamp: &Stamp) {
        for (name, body) in FILES {
            let path = f.project_root().join(name);
            assert_eq!(fs::read_to_string(&path).unwrap(), body, "{name}");
        }
        assert_eq!(f.check(stamp), Ok(()));
        // The index holds every file: a change to one is seen.
        fs::write(
            f.project_dir().join("Sources/Classes/Cart.4dm"),
            "Class extends Other",
        )
        .unwrap();
        assert!(matches!(f.check(stamp), Err(Damage::File(_))));
    }

    #[test]
    fn a_download_unpacked_as_it_came_is_installed_with_its_index() {
        let dir = tempfile::tempdir().unwrap();
        let src = write_files(dir.path());
        let built = dir.path().join("built.4dz");
        archive::build(&src, &built, &archive::BuildOptions::default()).unwrap();
        let f = folder(&dir.path().join("cache"));
        let stamp = download_and_install(&f, &built);
        assert_installed(&f, &stamp);
    }

    /// Another tool's archive (`zip`'s timestamp field in the local headers): where its entries start is
    /// not where this program's would, and the install must not take it from the central
    /// directory alone.
    #[test]
    fn a_download_with_other_local_headers_is_installed_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("other.4dz");
        let mut w = zip::ZipWriter::new(fs::File::create(&other).unwrap());
        for (name, body) in FILES {
            let mut options = zip::write::FullFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            options
                .add_extra_field(0x5455, [1u8, 0x80, 0x96, 0x98, 0x65], false)
                .unwrap();
            w.start_file(name, options).unwrap();
            w.write_all(body.as_bytes()).unwrap();
        }
        w.finish().unwrap();
        let f = folder(&dir.path().join("cache"));
        let stamp = download_and_install(&f, &other);
        assert_installed(&f, &stamp);
    }

    /// The method the delta tests change.
    const HELLO: &str = "Project/Sources/Methods/hello.4dm";

    /// Builds `dir/v<i>.4dz` of [`FILES`] (written into `dir/src`), one per text of
    /// [`HELLO`] (`None`: as [`FILES`] has it).
    fn versions(dir: &Path, texts: &[Option<String>]) -> Vec<(PathBuf, archive::BuildReport)> {
        let src = write_files(dir);
        let opts = archive::BuildOptions::default();
        let mut builds = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            if let Some(text) = text {
                fs::write(src.join(HELLO), text).unwrap();
            }
            let path = dir.join(format!("v{i}.4dz"));
            let report = archive::build(&src, &path, &opts).unwrap();
            builds.push((path, report));
        }
        builds
    }

    /// The delta from build `from` of `builds` to build `to`, as downloaded.
    fn delta(
        dir: &Path,
        builds: &[(PathBuf, archive::BuildReport)],
        from: usize,
        to: usize,
    ) -> Vec<u8> {
        let d = dir.join(format!("d{from}-{to}.zip"));
        archive::make_delta(&builds[from].1, &builds[to].1, &builds[to].0, &d).unwrap();
        fs::read(d).unwrap()
    }

    /// A delta applies on the archive read ahead, and on the archive read again when the one
    /// read ahead was replaced in the meantime.
    #[test]
    fn a_delta_applies_on_the_archive_read_ahead_or_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let texts = [
            None,
            Some("ALERT(\"v2\")".into()),
            Some("ALERT(\"v3\")".into()),
        ];
        let builds = versions(dir.path(), &texts);
        let delta = |from, to| delta(dir.path(), &builds, from, to);
        let f = folder(&dir.path().join("cache"));
        download_and_install(&f, &builds[0].0);

        f.prefetch_archive();
        f.apply_delta(&delta(0, 1), builds[1].1.stamp).unwrap();
        assert_eq!(
            fs::read_to_string(f.project_root().join(HELLO)).unwrap(),
            "ALERT(\"v2\")"
        );
        assert_eq!(f.state().stamp, Some(builds[1].1.stamp));

        // The pending delta is large next to this small archive: its write into the archive, on
        // a background thread, ends before the archive is replaced below (Windows renames no
        // file another thread has open).
        f.settle_archive().unwrap();
        // Read ahead, then replaced (another file at the path; on Windows, which replaces no
        // open file, the same rewritten in place): read again.
        f.prefetch_archive();
        let bytes = fs::read(f.archive_path()).unwrap();
        if cfg!(windows) {
            fs::write(f.archive_path(), &bytes).unwrap();
        } else {
            let copy = dir.path().join("copy.4dz");
            fs::write(&copy, &bytes).unwrap();
            fs::rename(&copy, f.archive_path()).unwrap();
        }
        f.apply_delta(&delta(1, 2), builds[2].1.stamp).unwrap();
        assert_eq!(
            fs::read_to_string(f.project_root().join(HELLO)).unwrap(),
            "ALERT(\"v3\")"
        );
        assert_eq!(f.state().stamp, Some(builds[2].1.stamp));
        // The read ahead is used once: nothing is left in the slot; one not needed is dropped.
        assert!(f.prefetch_slot().lock().unwrap().is_none());
        f.prefetch_archive();
        assert!(f.prefetch_slot().lock().unwrap().is_some());
        f.forget_prefetch();
        assert!(f.prefetch_slot().lock().unwrap().is_none());
    }

    /// Deltas applied back to back, each starting the background write of the pending delta
    /// (large next to this small archive), then a download: each waits for the write before
    /// it, and the archive ends as the last build installed, with nothing left pending.
    #[test]
    fn deltas_and_a_download_wait_for_the_background_write() {
        let dir = tempfile::tempdir().unwrap();
        let texts: Vec<_> = (0..16).map(|i| Some(format!("ALERT(\"v{i}\")"))).collect();
        let builds = versions(dir.path(), &texts);
        let f = folder(&dir.path().join("cache"));
        download_and_install(&f, &builds[0].0);
        for to in 1..builds.len() {
            f.prefetch_archive();
            f.apply_delta(&delta(dir.path(), &builds, to - 1, to), builds[to].1.stamp)
                .unwrap();
            assert_eq!(
                fs::read_to_string(f.project_root().join(HELLO)).unwrap(),
                format!("ALERT(\"v{to}\")")
            );
        }
        let last = builds.len() - 1;
        assert_eq!(f.state().stamp, Some(builds[last].1.stamp));
        f.settle_archive().unwrap();
        assert_eq!(
            Stamp::of_file(&f.archive_path()).unwrap(),
            builds[last].1.stamp
        );

        // A delta, its background write started, then the first build downloaded again.
        f.apply_delta(&delta(dir.path(), &builds, last, 1), builds[1].1.stamp)
            .unwrap();
        download_and_install(&f, &builds[0].0);
        f.settle_archive().unwrap();
        assert_eq!(
            Stamp::of_file(&f.archive_path()).unwrap(),
            builds[0].1.stamp
        );
        assert!(!f.has_pending_delta());
        assert_eq!(f.check(&builds[0].1.stamp), Ok(()));
    }
}
