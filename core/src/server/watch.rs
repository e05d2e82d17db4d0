//! Watching the project folder: a debounced signal when something the archive contains changes,
//! or the project's users (`directory.json`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::watch;

use crate::archive::is_excluded;

/// Keeps the watcher alive; dropping it stops watching.
pub struct Watcher {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
}

/// True when a change at `path` (under `root`) can change an archive (`Project/`, or a
/// [`Related`](crate::protocol::Related) folder: `Resources/`, `Components/`, `Plugins/`,
/// `Libraries/`).
pub fn relevant(root: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(root) else {
        return false;
    };
    let rel = rel.to_string_lossy().replace('\\', "/");
    // The users: not in any archive, but a change must reach the server at once.
    if crate::project::DIRECTORY_FILES.contains(&rel.as_str()) {
        return true;
    }
    std::iter::once("Project")
        .chain(crate::protocol::Related::ALL.map(crate::protocol::Related::folder))
        .any(|top| rel == top || rel.starts_with(&format!("{top}/")))
        && !is_excluded(&rel)
}

/// Watches `root` and, after each burst of relevant changes (`debounce` quiet), sets `tx` to the
/// time of the burst's last change: a rebuild that started after that time has seen them all.
///
/// # Errors
/// The notify error when the folder cannot be watched.
pub fn watch(
    root: &Path,
    debounce: Duration,
    tx: watch::Sender<Option<Instant>>,
) -> Result<Watcher, notify::Error> {
    let root: PathBuf = root.to_path_buf();
    let filter_root = root.clone();
    let mut debouncer = new_debouncer(debounce, None, move |result: DebounceEventResult| {
        let Ok(events) = result else { return };
        let last = events
            .iter()
            .filter(|e| {
                !matches!(e.event.kind, EventKind::Access(_))
                    && e.event.paths.iter().any(|p| relevant(&filter_root, p))
            })
            .map(|e| e.time)
            .max();
        if let Some(last) = last {
            // The latest time replaces a pending one: the rebuild it asks for covers both.
            tx.send_modify(|at| *at = Some(at.map_or(last, |a| a.max(last))));
        }
    })?;
    debouncer.watch(&root, RecursiveMode::Recursive)?;
    Ok(Watcher {
        _debouncer: debouncer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relevance() {
        let root = Path::new("/p");
        assert!(relevant(
            root,
            Path::new("/p/Project/Sources/Methods/a.4dm")
        ));
        assert!(!relevant(root, Path::new("/p/Project/DerivedData/x")));
        assert!(!relevant(root, Path::new("/p/Data/data.4DD")));
        assert!(relevant(root, Path::new("/p/Settings/directory.json")));
        assert!(relevant(root, Path::new("/p/Data/Settings/directory.json")));
        assert!(!relevant(root, Path::new("/p/Settings/other.json")));
        assert!(relevant(root, Path::new("/p/Resources/images/logo.png")));
        assert!(relevant(
            root,
            Path::new("/p/Components/Tools.4dbase/Tools.4DZ")
        ));
        assert!(relevant(
            root,
            Path::new("/p/Plugins/Charts.bundle/Info.plist")
        ));
        assert!(relevant(root, Path::new("/p/Libraries/lib4d-arm64.dylib")));
        assert!(!relevant(
            root,
            Path::new("/p/Project/Sources/Methods/a.4dm~")
        ));
        assert!(!relevant(root, Path::new("/elsewhere/Project/x")));
    }
}
