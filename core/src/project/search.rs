//! Find in project: a word index of a project's sources, kept as derived data (the client keeps
//! it in its system folder's `DerivedDataRemote/`, never in the project), refreshed by reading
//! again only the files whose size or time changed, and a case-insensitive search that reads
//! only the files the index says may match.
//!
//! The index maps each word (a maximal run of letters, digits and `_`, lower-cased) to the
//! files holding it. A file holds a text only if every word of the text is part of a word of
//! the file, so the files whose words contain each of the text's words are a superset of the
//! matches; they alone are read to find the lines.

use std::collections::HashMap;
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
    /// What the files were when it was made, when the caller knows it without looking at
    /// them: a remote copy's build stamp (the copy changes only with the stamp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
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

/// The words of `text`: maximal runs of letters, digits and `_` of its lower-cased form.
pub fn words(text: &str) -> Vec<String> {
    split_words(&text.to_lowercase())
        .map(str::to_owned)
        .collect()
}

/// The maximal runs of letters, digits and `_` of `lower` (already lower-cased).
fn split_words(lower: &str) -> impl Iterator<Item = &str> {
    lower
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

/// The distinct words of a file's bytes, lower-cased.
fn file_words(bytes: &[u8]) -> Vec<String> {
    let lower = String::from_utf8_lossy(bytes).to_lowercase();
    let set: std::collections::HashSet<&str> = split_words(&lower).collect();
    set.into_iter().map(str::to_owned).collect()
}

impl SearchIndex {
    /// The index of the project at `root`, read from scratch.
    pub fn build(root: &Path) -> (Self, Refreshed) {
        Self::default().refreshed(root)
    }

    /// This index brought up to date with the project at `root`: files whose size and time
    /// are unchanged keep their words (nothing is read when nothing changed), the others are
    /// read again (in parallel), files gone are dropped.
    pub fn refreshed(&self, root: &Path) -> (Self, Refreshed) {
        use rayon::prelude::*;
        let current = self.version == SEARCH_INDEX_VERSION;
        let old: HashMap<&str, &IndexedFile> = if current {
            self.files.iter().map(|f| (f.path.as_str(), f)).collect()
        } else {
            HashMap::new()
        };
        let listed = sources(root);
        let unchanged = |(path, size, modified_ms): &(String, u64, u64)| {
            old.get(path.as_str())
                .is_some_and(|f| f.size == *size && f.modified_ms == *modified_ms)
        };
        let mut stats = Refreshed {
            reused: listed.iter().filter(|f| unchanged(f)).count(),
            ..Refreshed::default()
        };
        stats.read = listed.len() - stats.reused;
        let listed_paths: std::collections::HashSet<&str> =
            listed.iter().map(|(p, _, _)| p.as_str()).collect();
        stats.removed = old.keys().filter(|p| !listed_paths.contains(**p)).count();
        if !stats.changed() {
            return (self.clone(), stats);
        }
        // The files to read, read and split into words in parallel.
        let read: HashMap<&str, Vec<String>> = listed
            .par_iter()
            .filter(|f| !unchanged(f))
            .map(|(path, _, _)| {
                let bytes = std::fs::read(root.join(path)).unwrap_or_default();
                (path.as_str(), file_words(&bytes))
            })
            .collect();
        let mut words: Vec<String> = if current {
            self.words.clone()
        } else {
            Vec::new()
        };
        let mut position: HashMap<String, u32> = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        let mut files = Vec::with_capacity(listed.len());
        for (path, size, modified_ms) in &listed {
            let ids = match read.get(path.as_str()) {
                None => old
                    .get(path.as_str())
                    .map(|f| f.words.clone())
                    .unwrap_or_default(),
                Some(ws) => {
                    let mut ids: Vec<u32> = ws
                        .iter()
                        .map(|w| {
                            *position.entry(w.clone()).or_insert_with(|| {
                                words.push(w.clone());
                                u32::try_from(words.len() - 1).unwrap_or(u32::MAX)
                            })
                        })
                        .collect();
                    ids.sort_unstable();
                    ids
                }
            };
            files.push(IndexedFile {
                path: path.clone(),
                size: *size,
                modified_ms: *modified_ms,
                words: ids,
            });
        }
        let mut index = Self {
            version: SEARCH_INDEX_VERSION,
            words,
            files,
            key: None,
        };
        index.compact();
        (index, stats)
    }

    /// Drops the words no file holds any more, once they are half of the vocabulary.
    fn compact(&mut self) {
        let mut used = vec![false; self.words.len()];
        for f in &self.files {
            for &w in &f.words {
                if let Some(u) = used.get_mut(w as usize) {
                    *u = true;
                }
            }
        }
        let in_use = used.iter().filter(|u| **u).count();
        if in_use * 2 > self.words.len() {
            return;
        }
        let mut renumber = vec![u32::MAX; self.words.len()];
        let mut kept = Vec::with_capacity(in_use);
        for (i, w) in std::mem::take(&mut self.words).into_iter().enumerate() {
            if used[i] {
                renumber[i] = u32::try_from(kept.len()).unwrap_or(u32::MAX);
                kept.push(w);
            }
        }
        self.words = kept;
        for f in &mut self.files {
            for w in &mut f.words {
                *w = renumber.get(*w as usize).copied().unwrap_or(u32::MAX);
            }
            f.words.sort_unstable();
        }
    }

    /// The index saved at `file`, refreshed with the project at `root` (built when `file` is
    /// missing, damaged or of another version), and saved there again when it changed. With
    /// a `key` (a remote copy's build stamp), an index made for that key is used as it is,
    /// without looking at the files; without one, every file's size and time is checked.
    ///
    /// # Errors
    /// The I/O error when it cannot be saved (the index returned is still right).
    pub fn refresh_file(
        file: &Path,
        root: &Path,
        key: Option<&str>,
    ) -> std::io::Result<(Self, Refreshed)> {
        let saved: Self = std::fs::read(file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        if key.is_some() && saved.version == SEARCH_INDEX_VERSION && saved.key.as_deref() == key {
            let stats = Refreshed {
                reused: saved.files.len(),
                ..Refreshed::default()
            };
            return Ok((saved, stats));
        }
        let (mut index, stats) = saved.refreshed(root);
        let rekeyed = index.key.as_deref() != key;
        index.key = key.map(str::to_owned);
        if stats.changed() || rekeyed || !file.is_file() {
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
        let wanted = words(query);
        if wanted.is_empty() {
            return self.files.iter().map(|f| f.path.as_str()).collect();
        }
        // For each word of the query, which words of the index contain it.
        let mut masks: Vec<Vec<bool>> = Vec::new();
        for w in &wanted {
            let mask: Vec<bool> = self.words.iter().map(|v| v.contains(w.as_str())).collect();
            if !mask.contains(&true) {
                return Vec::new();
            }
            masks.push(mask);
        }
        self.files
            .iter()
            .filter(|f| {
                masks.iter().all(|mask| {
                    f.words
                        .iter()
                        .any(|&w| mask.get(w as usize).copied().unwrap_or(false))
                })
            })
            .map(|f| f.path.as_str())
            .collect()
    }

    /// The lines of the project at `root` holding `query` (case-insensitive), in file order,
    /// at most `limit`. Only the files the index names as candidates are read (in parallel).
    pub fn find(&self, root: &Path, query: &str, limit: usize) -> Vec<Hit> {
        use rayon::prelude::*;
        let needle = query.to_lowercase();
        if needle.trim().is_empty() {
            return Vec::new();
        }
        let per_file: Vec<Vec<Hit>> = self
            .candidates(query)
            .par_iter()
            .map(|path| hits_in(root, path, &needle, limit))
            .collect();
        per_file.into_iter().flatten().take(limit).collect()
    }
}

/// The lines of the file at `root/path` whose lower-cased form holds `needle`, at most `limit`.
fn hits_in(root: &Path, path: &str, needle: &str, limit: usize) -> Vec<Hit> {
    let Ok(bytes) = std::fs::read(root.join(path)) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let lower = text.to_lowercase();
    // Most files hold no match: one search over the whole text before splitting lines.
    if !lower.contains(needle) {
        return Vec::new();
    }
    let mut hits = Vec::new();
    for (i, (line, original)) in lower.lines().zip(text.lines()).enumerate() {
        if line.contains(needle) {
            hits.push(Hit {
                path: path.to_owned(),
                line: i + 1,
                text: original.trim().chars().take(200).collect(),
            });
            if hits.len() >= limit {
                break;
            }
        }
    }
    hits
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
            after.candidates("m7").is_empty(),
            "the file gone holds no word any more"
        );
        // Once most words are held by no file, they are dropped.
        for i in [0, 1, 2, 4, 5, 6, 8, 9] {
            std::fs::remove_file(root.join(format!("Project/Sources/Methods/m{i}.4dm"))).unwrap();
        }
        let (small, stats) = after.refreshed(root);
        assert_eq!(stats.removed, 8);
        assert!(!small.words.contains(&"m7".to_owned()) && !small.words.contains(&"m0".to_owned()));
        assert_eq!(
            small.find(root, "changed text", 10).len(),
            1,
            "ids renumbered consistently"
        );
        assert_eq!(small.find(root, "newcommand", 10).len(), 1);
        // An index of another version is rebuilt.
        let old = SearchIndex {
            version: 0,
            ..after
        };
        assert_eq!(old.refreshed(root).1.read, 2, "every file read again");
    }

    #[test]
    fn a_keyed_index_is_used_as_it_is_until_the_key_changes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let file = root.join("DerivedDataRemote/search-index.json");
        write(root, "Project/Sources/Methods/a.4dm", "ALERT(\"one\")\n");
        write(root, "Project/Sources/Methods/b.4dm", "ALERT(\"two\")\n");
        let (_, stats) = SearchIndex::refresh_file(&file, root, Some("build-1")).unwrap();
        assert_eq!(stats.read, 2);
        // The copy of build 1 does not change without a new build: not looked at again.
        let (same, stats) = SearchIndex::refresh_file(&file, root, Some("build-1")).unwrap();
        assert_eq!((stats.read, stats.reused), (0, 2));
        assert_eq!(same.key.as_deref(), Some("build-1"));
        // Build 2: the files are checked, the changed one read.
        write(root, "Project/Sources/Methods/b.4dm", "ALERT(\"three\")\n");
        let (index, stats) = SearchIndex::refresh_file(&file, root, Some("build-2")).unwrap();
        assert_eq!((stats.read, stats.reused), (1, 1));
        assert_eq!(index.find(root, "three", 5).len(), 1);
        // No key (a project folder): always checked.
        write(root, "Project/Sources/Methods/a.4dm", "ALERT(\"four\")\n");
        let (index, stats) = SearchIndex::refresh_file(&file, root, None).unwrap();
        assert_eq!(stats.read, 1);
        assert_eq!(index.find(root, "four", 5).len(), 1);
        // A damaged file is rebuilt.
        std::fs::write(&file, "{not json").unwrap();
        assert_eq!(
            SearchIndex::refresh_file(&file, root, None).unwrap().1.read,
            2
        );
    }
}
