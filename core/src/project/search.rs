//! Find in project: a word index of a project's sources, kept as derived data (the client keeps
//! it in its system folder's `DerivedDataRemote/`, never in the project), refreshed by reading
//! again only the files whose size or time changed, and a case-insensitive search that reads
//! only the files the index says may match.
//!
//! The index maps each word (a maximal run of letters, digits and `_`, lower-cased) to the
//! files holding it. A file holds a text only if every word of the text is part of a word of
//! the file, so the files whose words contain each of the text's words are a superset of the
//! matches; they alone are read to find the lines.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

/// The index format's version (an index of another version is rebuilt).
pub const SEARCH_INDEX_VERSION: u32 = 1;

/// Files larger than this are not indexed (nor searched): generated data, not sources.
const MAX_FILE: u64 = 8 * 1024 * 1024;

/// The source files indexed, by extension (case-insensitive).
const INDEXED: [&str; 6] = ["4dm", "4dform", "4dcatalog", "json", "4dsettings", "xlf"];

/// The word index of a project's `Project/Sources`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchIndex {
    /// [`SEARCH_INDEX_VERSION`].
    pub version: u32,
    /// Every word, sorted; files refer to them by position.
    pub words: Vec<String>,
    /// The files indexed, by path relative to the project root (`/` separators), sorted.
    pub files: Vec<IndexedFile>,
}

/// One file of a [`SearchIndex`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedFile {
    /// Relative to the project root: `Project/Sources/Methods/hello.4dm`.
    pub path: String,
    /// Its size when read.
    pub size: u64,
    /// Its modification time when read (ms since the epoch).
    pub modified_ms: u64,
    /// Its words, as positions in [`SearchIndex::words`].
    pub words: Vec<u32>,
}

/// What a refresh did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// Files read (new or changed).
    pub read: usize,
    /// Files kept from the previous index without reading them.
    pub reused: usize,
    /// Files gone since.
    pub removed: usize,
}

impl Refreshed {
    /// True when the index changed.
    pub fn changed(&self) -> bool {
        self.read > 0 || self.removed > 0
    }
}

/// A line that holds the text searched for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// The file, relative to the project root (`Project/Sources/Methods/hello.4dm`).
    pub path: String,
    /// The line number, from 1.
    pub line: usize,
    /// The line (trimmed, at most 200 characters).
    pub text: String,
}

/// The words of `text`: maximal runs of letters, digits and `_`, lower-cased.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

impl SearchIndex {
    /// The index of the project at `root`, read from scratch.
    pub fn build(root: &Path) -> (Self, Refreshed) {
        Self::default().refreshed(root)
    }

    /// This index brought up to date with the project at `root`: files whose size and time
    /// are unchanged keep their words, the others are read again, files gone are dropped.
    pub fn refreshed(&self, root: &Path) -> (Self, Refreshed) {
        let old: HashMap<&str, &IndexedFile> = if self.version == SEARCH_INDEX_VERSION {
            self.files.iter().map(|f| (f.path.as_str(), f)).collect()
        } else {
            HashMap::new()
        };
        let mut stats = Refreshed::default();
        let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut kept: Vec<(String, u64, u64)> = Vec::new();
        for (path, size, modified_ms) in sources(root) {
            match old.get(path.as_str()) {
                Some(f) if f.size == size && f.modified_ms == modified_ms => {
                    stats.reused += 1;
                    found.insert(
                        path.clone(),
                        f.words
                            .iter()
                            .filter_map(|&i| self.words.get(i as usize).cloned())
                            .collect(),
                    );
                }
                _ => {
                    stats.read += 1;
                    let text = std::fs::read(root.join(&path)).unwrap_or_default();
                    let set: BTreeSet<String> = words(&String::from_utf8_lossy(&text)).collect();
                    found.insert(path.clone(), set.into_iter().collect());
                }
            }
            kept.push((path, size, modified_ms));
        }
        stats.removed = old.keys().filter(|p| !found.contains_key(**p)).count();
        let vocabulary: BTreeSet<&String> = found.values().flatten().collect();
        let words: Vec<String> = vocabulary.into_iter().cloned().collect();
        let position: HashMap<&str, u32> = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.as_str(), u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        let files = kept
            .into_iter()
            .map(|(path, size, modified_ms)| {
                let ids = found
                    .get(&path)
                    .map(|ws| {
                        ws.iter()
                            .filter_map(|w| position.get(w.as_str()).copied())
                            .collect()
                    })
                    .unwrap_or_default();
                IndexedFile {
                    path,
                    size,
                    modified_ms,
                    words: ids,
                }
            })
            .collect();
        (
            Self {
                version: SEARCH_INDEX_VERSION,
                words,
                files,
            },
            stats,
        )
    }

    /// The index saved at `file`, refreshed with the project at `root` (built when `file` is
    /// missing, damaged or of another version), and saved there again when it changed.
    ///
    /// # Errors
    /// The I/O error when it cannot be saved (the index returned is still right).
    pub fn refresh_file(file: &Path, root: &Path) -> std::io::Result<(Self, Refreshed)> {
        let saved: Self = std::fs::read(file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let (index, stats) = saved.refreshed(root);
        if stats.changed() || !file.is_file() {
            let bytes = serde_json::to_vec(&index).map_err(std::io::Error::other)?;
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir)?;
            }
            crate::fsutil::write_atomic(file, &bytes)?;
        }
        Ok((index, stats))
    }

    /// The files that may hold `query` (all of them when it has no word).
    pub fn candidates(&self, query: &str) -> Vec<&str> {
        let wanted: Vec<String> = words(query).collect();
        if wanted.is_empty() {
            return self.files.iter().map(|f| f.path.as_str()).collect();
        }
        // For each word of the query, the words of the index containing it.
        let mut sets: Vec<BTreeSet<u32>> = Vec::new();
        for w in &wanted {
            let ids: BTreeSet<u32> = self
                .words
                .iter()
                .enumerate()
                .filter(|(_, v)| v.contains(w.as_str()))
                .filter_map(|(i, _)| u32::try_from(i).ok())
                .collect();
            if ids.is_empty() {
                return Vec::new();
            }
            sets.push(ids);
        }
        self.files
            .iter()
            .filter(|f| {
                sets.iter()
                    .all(|ids| f.words.iter().any(|w| ids.contains(w)))
            })
            .map(|f| f.path.as_str())
            .collect()
    }

    /// The lines of the project at `root` holding `query` (case-insensitive), in file order,
    /// at most `limit`. Only the files the index names as candidates are read.
    pub fn find(&self, root: &Path, query: &str, limit: usize) -> Vec<Hit> {
        let needle = query.to_lowercase();
        if needle.trim().is_empty() {
            return Vec::new();
        }
        let mut hits = Vec::new();
        for path in self.candidates(query) {
            let Ok(bytes) = std::fs::read(root.join(path)) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            for (i, line) in text.lines().enumerate() {
                if line.to_lowercase().contains(&needle) {
                    hits.push(Hit {
                        path: path.to_owned(),
                        line: i + 1,
                        text: line.trim().chars().take(200).collect(),
                    });
                    if hits.len() >= limit {
                        return hits;
                    }
                }
            }
        }
        hits
    }
}

/// The source files of the project at `root` that are indexed: (relative path, size, time),
/// sorted by path.
fn sources(root: &Path) -> Vec<(String, u64, u64)> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = vec![root.join("Project").join("Sources")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(kind) = e.file_type() else { continue };
            let path = e.path();
            if kind.is_dir() {
                stack.push(path);
                continue;
            }
            let indexed = path
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| INDEXED.iter().any(|i| i.eq_ignore_ascii_case(x)));
            let Ok(meta) = e.metadata() else { continue };
            if !kind.is_file() || !indexed || meta.len() > MAX_FILE {
                continue;
            }
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            let modified_ms = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            out.push((
                rel.to_string_lossy().replace('\\', "/"),
                meta.len(),
                modified_ms,
            ));
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// Every line holding `query`, reading every file: what the index must find.
    fn brute(root: &Path, query: &str) -> Vec<(String, usize)> {
        let needle = query.to_lowercase();
        let mut out = Vec::new();
        for (path, _, _) in sources(root) {
            let text = std::fs::read_to_string(root.join(&path)).unwrap();
            for (i, l) in text.lines().enumerate() {
                if l.to_lowercase().contains(&needle) {
                    out.push((path.clone(), i + 1));
                }
            }
        }
        out
    }

    #[test]
    fn finds_exactly_what_reading_every_file_finds() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "Project/Sources/Methods/hello.4dm",
            "// greet\nALERT(\"Hello, world\")\n$total:=Sum([Invoices]Amount)\n",
        );
        write(
            root,
            "Project/Sources/Methods/bye.4dm",
            "ALERT(\"Goodbye\")\nCALL WORKER(1; \"bye_worker\")\n",
        );
        write(
            root,
            "Project/Sources/Classes/Invoice.4dm",
            "Class constructor($amount : Real)\nThis.amount:=$amount\n",
        );
        write(
            root,
            "Project/Sources/Forms/Main/form.4DForm",
            "{\"objects\": {\"okButton\": {\"text\": \"OK — valider\"}}}",
        );
        write(
            root,
            "Project/Sources/Methods/binary.png",
            "ALERT not indexed",
        );
        let (index, stats) = SearchIndex::build(root);
        assert_eq!(stats.read, 4);
        for query in [
            "alert",
            "ALERT(\"",
            "llo, wor",
            "[Invoices]Amount",
            "amount",
            "this.amount:=$am",
            "bye_work",
            "valider",
            "OK — val",
            "nothing here",
            ":=",
            "e",
            "Sum([",
            "okbutton\": {",
        ] {
            let got: Vec<(String, usize)> = index
                .find(root, query, usize::MAX)
                .into_iter()
                .map(|h| (h.path, h.line))
                .collect();
            assert_eq!(got, brute(root, query), "{query}");
        }
        assert_eq!(
            index.candidates("worker"),
            ["Project/Sources/Methods/bye.4dm"],
            "only the file whose words contain it is read"
        );
        assert!(index.candidates("zebra").is_empty());
        assert_eq!(index.find(root, "ALERT", 1).len(), 1, "the limit holds");
    }

    #[test]
    fn a_refresh_reads_only_what_changed_and_forgets_what_went() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for i in 0..10 {
            write(
                root,
                &format!("Project/Sources/Methods/m{i}.4dm"),
                &format!("ALERT(\"m{i}\")\n"),
            );
        }
        let (index, _) = SearchIndex::build(root);
        let (same, stats) = index.refreshed(root);
        assert_eq!(
            stats,
            Refreshed {
                read: 0,
                reused: 10,
                removed: 0
            }
        );
        assert!(!stats.changed());
        assert_eq!(same, index);

        // A change of size is seen at once (times may not have moved on a fast file system).
        write(
            root,
            "Project/Sources/Methods/m3.4dm",
            "ALERT(\"changed text\")\n",
        );
        std::fs::remove_file(root.join("Project/Sources/Methods/m7.4dm")).unwrap();
        write(root, "Project/Sources/Methods/new.4dm", "NEWCOMMAND\n");
        let (after, stats) = index.refreshed(root);
        assert_eq!(
            stats,
            Refreshed {
                read: 2,
                reused: 8,
                removed: 1
            }
        );
        assert_eq!(
            after.find(root, "changed text", 10)[0].path,
            "Project/Sources/Methods/m3.4dm"
        );
        assert_eq!(after.find(root, "newcommand", 10).len(), 1);
        assert!(after.find(root, "m7", 10).is_empty());
        assert!(
            !after.words.contains(&"m7".to_owned()),
            "words of a file gone are dropped"
        );
        // An index of another version is rebuilt.
        let old = SearchIndex {
            version: 0,
            ..after
        };
        assert_eq!(old.refreshed(root).1.read, 10);
    }
}
