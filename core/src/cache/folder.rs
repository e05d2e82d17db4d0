//! Taking a system folder: its name (as 4D names it) and its lock. A running client holds its
//! folder with `inuse.txt` (pid and executable path); a second client takes the next key; the
//! lock of a process that no longer runs is reclaimed.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::error::CacheError;
use super::names;
use super::state::FolderState;
use crate::archive::{Archive, ArchiveError};

/// What names a system folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderSpec {
    /// The project (publication) name.
    pub project: String,
    /// Host as typed or discovered.
    pub host: String,
    /// Port.
    pub port: u16,
    /// A link's `cache_folder_name`, which replaces `<Project>_<host>_<port>`.
    pub cache_folder_name: Option<String>,
}

impl FolderSpec {
    /// The folder name without its key: `<Project>_<host>_<port>` with every character that is
    /// not portable in a file name (and the address's dots and colons) replaced by `_`.
    pub fn base_name(&self) -> String {
        match &self.cache_folder_name {
            Some(name) if !name.trim().is_empty() => sanitize(name),
            _ => format!(
                "{}_{}_{}",
                sanitize(&self.project),
                sanitize(&self.host),
                self.port
            ),
        }
    }
}

fn sanitize(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| match c {
            '.' | ':' | '/' | '\\' | '*' | '?' | '"' | '<' | '>' | '|' | '[' | ']' | '%' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let trimmed = out.trim().trim_matches('_');
    if trimmed.is_empty() {
        "_".to_owned()
    } else {
        out.trim().to_owned()
    }
}

/// The three-digit key 4D derives from the client application's path (FNV-1a here).
pub fn key_for_executable(exe: &Path) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for b in exe.to_string_lossy().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h % 1000) as u16
}

/// A system folder held by this process; the lock is released when the last clone is dropped
/// (clones share it, so that blocking steps can run on another thread).
#[derive(Debug, Clone)]
pub struct SystemFolder {
    held: Arc<Held>,
}

#[derive(Debug)]
struct Held {
    path: PathBuf,
    key: u16,
    lock_content: String,
    /// The cached archive being read ahead of a delta ([`SystemFolder::prefetch_archive`]).
    prefetch: Mutex<Option<Prefetch>>,
}

/// The thread reading the cached archive ahead of a delta.
pub(super) type Prefetch = std::thread::JoinHandle<Result<Archive, ArchiveError>>;

impl SystemFolder {
    /// Takes the system folder for `spec` under `cache_root`, for the client at `exe`: the key
    /// derived from `exe`, or the next free one when a running client holds it.
    ///
    /// # Errors
    /// [`CacheError::Io`] when folders cannot be created, [`CacheError::AllInUse`].
    pub fn acquire(cache_root: &Path, spec: &FolderSpec, exe: &Path) -> Result<Self, CacheError> {
        fs::create_dir_all(cache_root).map_err(CacheError::io(cache_root))?;
        let base = spec.base_name();
        let first = key_for_executable(exe);
        let lock_content = format!("{}\n{}\n", std::process::id(), exe.display());
        for i in 0..1000u16 {
            let key = (first + i) % 1000;
            let path = cache_root.join(format!("{base}_{key:03}"));
            if try_lock(&path, &lock_content)? {
                return Ok(Self {
                    held: Arc::new(Held {
                        path,
                        key,
                        lock_content,
                        prefetch: Mutex::new(None),
                    }),
                });
            }
        }
        Err(CacheError::AllInUse { base })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.held.path
    }

    /// Its three-digit key.
    pub fn key(&self) -> u16 {
        self.held.key
    }

    /// A file or folder of the system folder, by its name in [`names`].
    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.held.path.join(name)
    }

    /// The slot of the archive read ahead of a delta.
    pub(super) fn prefetch_slot(&self) -> &Mutex<Option<Prefetch>> {
        &self.held.prefetch
    }

    /// `project.4dz`.
    pub fn archive_path(&self) -> PathBuf {
        self.file(names::ARCHIVE)
    }

    /// The unpacked `Project/` folder's parent (the folder itself: `Project/` is inside it).
    pub fn project_root(&self) -> &Path {
        self.path()
    }

    /// `Project/`.
    pub fn project_dir(&self) -> PathBuf {
        self.file(names::PROJECT)
    }

    /// `Resources/`.
    pub fn resources_dir(&self) -> PathBuf {
        self.related_dir(crate::protocol::Related::Resources)
    }

    /// `userPreferences/`.
    pub fn user_preferences_dir(&self) -> PathBuf {
        self.file(names::USER_PREFERENCES)
    }

    /// `DerivedDataRemote/`.
    pub fn derived_data_dir(&self) -> PathBuf {
        self.file(names::DERIVED_DATA)
    }

    /// Creates `userPreferences/`, `DerivedDataRemote/` and `Resources/` when missing.
    ///
    /// # Errors
    /// [`CacheError::Io`].
    pub fn ensure_layout(&self) -> Result<(), CacheError> {
        for dir in [
            self.user_preferences_dir(),
            self.derived_data_dir(),
            self.resources_dir(),
        ] {
            fs::create_dir_all(&dir).map_err(CacheError::io(&dir))?;
        }
        Ok(())
    }

    /// This client's id, from `uuid.txt` (created on first use).
    ///
    /// # Errors
    /// [`CacheError::Io`] when it cannot be written.
    pub fn client_uuid(&self) -> Result<String, CacheError> {
        let file = self.file(names::UUID);
        if let Ok(text) = fs::read_to_string(&file) {
            let t = text.trim();
            if uuid::Uuid::parse_str(t).is_ok() {
                return Ok(t.to_owned());
            }
        }
        let id = uuid::Uuid::new_v4().to_string();
        crate::fsutil::write_atomic(&file, format!("{id}\n").as_bytes())
            .map_err(CacheError::io(&file))?;
        Ok(id)
    }

    /// The saved state; defaults when absent or unreadable (a damaged state file never blocks).
    pub fn state(&self) -> FolderState {
        let file = self.file(names::STATE);
        fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Saves the state atomically.
    ///
    /// # Errors
    /// [`CacheError::Io`].
    pub fn save_state(&self, state: &FolderState) -> Result<(), CacheError> {
        let file = self.file(names::STATE);
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| CacheError::Io {
            path: file.clone(),
            source: io::Error::other(e),
        })?;
        crate::fsutil::write_atomic(&file, &bytes).map_err(CacheError::io(&file))
    }

    /// Changes the saved state with `change` and saves it.
    ///
    /// # Errors
    /// [`CacheError::Io`].
    pub fn update_state(&self, change: impl FnOnce(&mut FolderState)) -> Result<(), CacheError> {
        let mut state = self.state();
        change(&mut state);
        self.save_state(&state)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let lock = self.path.join(names::LOCK);
        // Remove the lock only if it is still ours.
        if fs::read_to_string(&lock).is_ok_and(|c| c == self.lock_content) {
            let _ = fs::remove_file(lock);
        }
    }
}

/// Takes `path/inuse.txt` if free or stale. `Ok(false)` when a running process holds it.
fn try_lock(path: &Path, content: &str) -> Result<bool, CacheError> {
    fs::create_dir_all(path).map_err(CacheError::io(path))?;
    let lock = path.join(names::LOCK);
    for _ in 0..2 {
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(mut f) => {
                f.write_all(content.as_bytes())
                    .map_err(CacheError::io(&lock))?;
                return Ok(true);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let held = fs::read_to_string(&lock).unwrap_or_default();
                if holder_is_running(&held) {
                    return Ok(false);
                }
                tracing::info!(lock = %lock.display(), "reclaiming the lock of a client that is no longer running");
                match fs::remove_file(&lock) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(CacheError::io(&lock)(e)),
                }
            }
            Err(e) => return Err(CacheError::io(&lock)(e)),
        }
    }
    Ok(false)
}

/// True when the `inuse.txt` content names a running process (this one included: a second
/// client in the same process takes another folder).
fn holder_is_running(content: &str) -> bool {
    let mut lines = content.lines();
    let Some(pid) = lines.next().and_then(|l| l.trim().parse::<u32>().ok()) else {
        // Unreadable or half-written lock: treat as stale.
        return false;
    };
    let exe = lines.next().unwrap_or_default().trim();
    crate::process::is_running(pid, exe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::Stamp;

    fn spec() -> FolderSpec {
        FolderSpec {
            project: "Shop".into(),
            host: "192.168.2.134".into(),
            port: 19813,
            cache_folder_name: None,
        }
    }

    #[test]
    fn names_follow_4d() {
        assert_eq!(spec().base_name(), "Shop_192_168_2_134_19813");
        let v6 = FolderSpec {
            host: "fd00::1".into(),
            ..spec()
        };
        assert_eq!(v6.base_name(), "Shop_fd00__1_19813");
        let custom = FolderSpec {
            cache_folder_name: Some("HR-shared-cache".into()),
            ..spec()
        };
        assert_eq!(custom.base_name(), "HR-shared-cache");
        let odd = FolderSpec {
            project: "a/b:c".into(),
            ..spec()
        };
        assert_eq!(odd.base_name(), "a_b_c_192_168_2_134_19813");
        let k = key_for_executable(Path::new("/usr/bin/remote4d"));
        assert!(k < 1000);
        assert_eq!(k, key_for_executable(Path::new("/usr/bin/remote4d")));
    }

    #[test]
    fn a_part_of_a_build_the_server_no_longer_serves_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let f = SystemFolder::acquire(dir.path(), &spec(), Path::new("/opt/remote4d")).unwrap();
        f.ensure_layout().unwrap();
        let (old, current) = (Stamp::of_bytes(b"old"), Stamp::of_bytes(b"current"));
        let part = f.begin_download(old).unwrap();
        fs::write(part.path(), vec![7u8; 4096]).unwrap();
        // The same build: kept, to be resumed.
        f.forget_other_downloads(old);
        assert!(part.path().is_file());
        // Another build is current now: the part goes (it only filled the disk).
        f.forget_other_downloads(current);
        assert!(!part.path().exists());
        assert!(!f.file(names::PART_STAMP).exists());
    }

    #[test]
    fn second_client_takes_next_key_and_lock_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let exe = Path::new("/opt/remote4d");
        let a = SystemFolder::acquire(dir.path(), &spec(), exe).unwrap();
        let b = SystemFolder::acquire(dir.path(), &spec(), exe).unwrap();
        assert_eq!(b.key(), (a.key() + 1) % 1000);
        assert!(
            a.path()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("Shop_192_168_2_134_19813_")
        );
        let lock = fs::read_to_string(a.path().join("inuse.txt")).unwrap();
        assert_eq!(lock, format!("{}\n/opt/remote4d\n", std::process::id()));
        let a_key = a.key();
        drop(a);
        assert!(
            !dir.path()
                .join(format!("Shop_192_168_2_134_19813_{a_key:03}/inuse.txt"))
                .exists()
        );
        let c = SystemFolder::acquire(dir.path(), &spec(), exe).unwrap();
        assert_eq!(c.key(), a_key, "a released folder is taken again");
        drop(b);
    }

    #[test]
    fn stale_lock_of_a_dead_process_is_reclaimed() {
        let dir = tempfile::tempdir().unwrap();
        let exe = Path::new("/opt/remote4d");
        let key = key_for_executable(exe);
        let folder = dir
            .path()
            .join(format!("Shop_192_168_2_134_19813_{key:03}"));
        fs::create_dir_all(&folder).unwrap();
        // A pid far above any pid_max: no such process.
        fs::write(folder.join("inuse.txt"), "999999999\n/opt/remote4d\n").unwrap();
        let f = SystemFolder::acquire(dir.path(), &spec(), exe).unwrap();
        assert_eq!(f.key(), key);
        // Garbage in the lock is stale too.
        drop(f);
        fs::write(folder.join("inuse.txt"), "garbage").unwrap();
        assert_eq!(
            SystemFolder::acquire(dir.path(), &spec(), exe)
                .unwrap()
                .key(),
            key
        );
    }

    #[test]
    fn uuid_state_and_layout() {
        let dir = tempfile::tempdir().unwrap();
        let f = SystemFolder::acquire(dir.path(), &spec(), Path::new("/x")).unwrap();
        let id = f.client_uuid().unwrap();
        assert_eq!(f.client_uuid().unwrap(), id, "stable");
        assert_eq!(f.state(), FolderState::default());
        let st = FolderState {
            stamp: Some(Stamp::of_bytes(b"x")),
            fingerprint: Some("ab".into()),
            ..FolderState::default()
        };
        f.save_state(&st).unwrap();
        assert_eq!(f.state(), st);
        fs::write(f.path().join("state.json"), "{not json").unwrap();
        assert_eq!(
            f.state(),
            FolderState::default(),
            "a damaged state never blocks"
        );
        f.ensure_layout().unwrap();
        assert!(
            f.user_preferences_dir().is_dir()
                && f.derived_data_dir().is_dir()
                && f.resources_dir().is_dir()
        );
        assert_eq!(f.archive_path(), f.path().join("project.4dz"));
    }
}
