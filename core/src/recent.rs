//! Recent projects: `.4DLink` files in a Favorites folder, newest first, the last 15 kept.
//!
//! Each successful connection is saved as a remote link named after the project (the Custom
//! tab's project name, or the publication name; `<name> (development mode)` for development
//! connections). Connecting again to the same server updates its entry; a different server
//! with the same name gets a unique file name (`<name> (2).4DLink`). Order comes from the
//! `remote4d_last_opened` attribute, else the file's modification time.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::Serialize;

use crate::link::{EXTENSION, Link, LinkError, LinkKind, is_link_path};

/// How many Recent entries are kept, as in 4D.
pub const MAX_RECENT: usize = 15;

/// Suffix of the names of development-mode entries.
pub const DEVELOPMENT_SUFFIX: &str = " (development mode)";

/// Why the Recent list could not be read or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecentError {
    /// The Favorites folder or a link could not be read or written.
    #[error("cannot update the Recent projects in {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A link could not be written.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// Only remote links go to Recent.
    #[error("only remote projects are saved to Recent")]
    NotRemote,
}

/// One Recent project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecentEntry {
    /// Display name (the file name without `.4DLink`).
    pub name: String,
    /// The `.4DLink` file.
    pub path: PathBuf,
    /// Its content.
    pub link: Link,
    /// Last use, ms since the epoch.
    pub last_opened_ms: u64,
}

/// The Recent list stored in a folder.
#[derive(Debug, Clone)]
pub struct Recent {
    dir: PathBuf,
}

impl Recent {
    /// The Recent list kept in `dir` (e.g. [`crate::environment::Environment::favorites_dir`]).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entries, newest first. Unreadable files are skipped (and logged), never fatal.
    ///
    /// # Errors
    /// [`RecentError::Io`] when the folder exists but cannot be listed.
    pub fn list(&self) -> Result<Vec<RecentEntry>, RecentError> {
        let read = match fs::read_dir(&self.dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(RecentError::Io {
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut out = Vec::new();
        for entry in read.flatten() {
            let path = entry.path();
            if !is_link_path(&path) || !path.is_file() {
                continue;
            }
            let link = match Link::read(&path) {
                Ok(l) if l.kind() == LinkKind::Remote => l,
                Ok(_) => continue,
                Err(err) => {
                    tracing::warn!(path = %path.display(), %err, "skipping an unreadable Recent entry");
                    continue;
                }
            };
            let mtime = entry
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as u64);
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push(RecentEntry {
                name,
                last_opened_ms: link.remote4d_last_opened.unwrap_or(mtime),
                path,
                link,
            });
        }
        out.sort_by(|a, b| {
            b.last_opened_ms
                .cmp(&a.last_opened_ms)
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(out)
    }

    /// Saves a successful connection under `name` (`(development mode)` is appended for
    /// development links), replacing the entry of the same server, and keeps the newest 15.
    ///
    /// # Errors
    /// [`RecentError::NotRemote`] for local links; I/O errors.
    pub fn add(&self, name: &str, link: &Link, now_ms: u64) -> Result<RecentEntry, RecentError> {
        if link.kind() != LinkKind::Remote {
            return Err(RecentError::NotRemote);
        }
        fs::create_dir_all(&self.dir).map_err(|source| RecentError::Io {
            path: self.dir.clone(),
            source,
        })?;
        let mut link = link.clone();
        link.remote4d_last_opened = Some(now_ms);
        let mut display = sanitize(name);
        if link.remote4d_development_mode == Some(true) && !display.ends_with(DEVELOPMENT_SUFFIX) {
            display.push_str(DEVELOPMENT_SUFFIX);
        }
        let existing = self.list()?;
        let same = existing.iter().find(|e| same_server(&e.link, &link));
        let path = match same {
            Some(e) if e.name == display || e.name.starts_with(&format!("{display} (")) => {
                e.path.clone()
            }
            other => {
                if let Some(e) = other {
                    let _ = fs::remove_file(&e.path);
                }
                self.unique_path(&display, &existing)
            }
        };
        link.write(&path)?;
        let entry = RecentEntry {
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or(display),
            path,
            link,
            last_opened_ms: now_ms,
        };
        self.prune()?;
        Ok(entry)
    }

    /// Removes an entry's file.
    ///
    /// # Errors
    /// [`RecentError::Io`].
    pub fn remove(&self, entry: &RecentEntry) -> Result<(), RecentError> {
        fs::remove_file(&entry.path).map_err(|source| RecentError::Io {
            path: entry.path.clone(),
            source,
        })
    }

    fn unique_path(&self, display: &str, existing: &[RecentEntry]) -> PathBuf {
        let taken = |p: &Path| p.exists() || existing.iter().any(|e| e.path == p);
        let first = self.dir.join(format!("{display}.{EXTENSION}"));
        if !taken(&first) {
            return first;
        }
        (2..)
            .map(|n| self.dir.join(format!("{display} ({n}).{EXTENSION}")))
            .find(|p| !taken(p))
            .unwrap_or(first)
    }

    fn prune(&self) -> Result<(), RecentError> {
        for old in self.list()?.into_iter().skip(MAX_RECENT) {
            self.remove(&old)?;
        }
        Ok(())
    }
}

/// Same publication, same address, same mode.
fn same_server(a: &Link, b: &Link) -> bool {
    a.server_database_name == b.server_database_name
        && a.address() == b.address()
        && a.remote4d_development_mode.unwrap_or(false)
            == b.remote4d_development_mode.unwrap_or(false)
}

fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let s = s.trim().trim_start_matches('.').to_owned();
    if s.is_empty() {
        "Remote project".to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::ServerPath;

    fn link(name: &str, addr: &str) -> Link {
        Link::remote(name, ServerPath::parse(addr).unwrap())
    }

    #[test]
    fn newest_first_same_server_updated_names_unique() {
        let dir = tempfile::tempdir().unwrap();
        let r = Recent::new(dir.path().join("Favorites"));
        assert!(r.list().unwrap().is_empty());
        r.add("Invoices", &link("Invoices", "10.0.0.1"), 1000)
            .unwrap();
        r.add("Shop", &link("Shop", "10.0.0.2"), 2000).unwrap();
        // Same server again: updated and moved first, not duplicated.
        r.add("Invoices", &link("Invoices", "10.0.0.1"), 3000)
            .unwrap();
        let names: Vec<_> = r.list().unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["Invoices", "Shop"]);
        // Another server with the same name: a unique file name.
        let e = r
            .add("Invoices", &link("Invoices", "10.0.0.9"), 4000)
            .unwrap();
        assert_eq!(e.name, "Invoices (2)");
        let list = r.list().unwrap();
        assert_eq!(list[0].name, "Invoices (2)");
        assert_eq!(list[0].link.address().host, "10.0.0.9");
        assert_eq!(list.len(), 3);
        // Development mode gets its own, suffixed entry.
        let mut dev = link("Shop", "10.0.0.2");
        dev.remote4d_development_mode = Some(true);
        let e = r.add("Shop", &dev, 5000).unwrap();
        assert_eq!(e.name, "Shop (development mode)");
        assert_eq!(r.list().unwrap().len(), 4);
        // Entries are readable .4DLink files.
        assert_eq!(
            Link::read(&e.path).unwrap().remote4d_last_opened,
            Some(5000)
        );
    }

    #[test]
    fn keeps_the_last_fifteen_and_skips_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let r = Recent::new(dir.path());
        for i in 0..20u64 {
            r.add(
                &format!("P{i}"),
                &link(&format!("P{i}"), &format!("10.0.0.{i}")),
                1000 + i,
            )
            .unwrap();
        }
        fs::write(dir.path().join("broken.4DLink"), "not xml").unwrap();
        let list = r.list().unwrap();
        assert_eq!(list.len(), MAX_RECENT);
        assert_eq!(list[0].name, "P19");
        assert_eq!(list[14].name, "P5");
        assert!(!dir.path().join("P4.4DLink").exists());
        r.remove(&list[0]).unwrap();
        assert_eq!(r.list().unwrap()[0].name, "P18");
        let local = Link::default();
        assert!(matches!(r.add("x", &local, 1), Err(RecentError::NotRemote)));
        assert_eq!(sanitize("a/b:c"), "a_b_c");
        assert_eq!(sanitize("  .. "), "Remote project");
    }
}
