//! Deltas between two builds: only the entries that changed, as a standard zip.
//!
//! A delta is a zip whose first entry, `.remote4d-delta.json`, describes the new archive as runs
//! of entries, each run copied either from the old archive (by position) or from the delta; the
//! delta's other entries are the changed ones, with exactly the compressed bytes of the new
//! archive. Applying it
//! to the old archive rebuilds the new archive byte for byte, which the stamp proves.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Limits;
use super::build::{BuildReport, BuiltEntry};
use super::compress::compress;
use super::error::{ArchiveError, Result};
use super::read::{Archive, Entry};
use super::resumable::{Checkpoint, Checkpoints};
use super::splice::Splice;
use super::stamp::Stamp;
use super::stream::Checked;
use super::write::{Central, Header, ZipWriter, local_header, local_header_len};
use crate::fsutil::{RangeReader, temp_sibling};

/// Name of the plan entry inside a delta.
pub const PLAN_NAME: &str = ".remote4d-delta.json";

/// The plan of a delta.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeltaPlan {
    /// Stamp of the archive the delta applies to.
    pub from: Stamp,
    /// Stamp of the archive it produces.
    pub to: Stamp,
    /// Size of the archive it produces.
    pub to_size: u64,
    /// The new archive's entries, in order, as runs.
    pub segments: Vec<Segment>,
}

/// A run of consecutive entries of the new archive and where their bytes come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// Entries `first..first + count` of the old archive.
    Old {
        /// Index of the first entry in the old archive.
        first: usize,
        /// How many.
        count: usize,
    },
    /// The next `count` entries of the delta.
    New {
        /// How many.
        count: usize,
    },
}

/// What a delta holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeltaSummary {
    /// From stamp.
    pub from: Stamp,
    /// To stamp.
    pub to: Stamp,
    /// Entries carried in the delta.
    pub changed: usize,
    /// Entries of the new archive.
    pub total: usize,
    /// Size of the delta file.
    pub size: u64,
}

fn same(a: &BuiltEntry, b: &BuiltEntry) -> bool {
    a.size == b.size
        && a.crc32 == b.crc32
        && a.method == b.method
        && a.compressed_size == b.compressed_size
}

/// Writes the delta from the build `old` to the build `new` (whose archive is `new_archive`).
///
/// # Errors
/// [`ArchiveError::Io`] when the new archive cannot be read or the delta written.
pub fn make_delta(
    old: &BuildReport,
    new: &BuildReport,
    new_archive: &Path,
    out: &Path,
) -> Result<DeltaSummary> {
    let old_by_name: HashMap<&str, (usize, &BuiltEntry)> = old
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.name.as_str(), (i, e)))
        .collect();
    let mut segments: Vec<Segment> = Vec::new();
    let mut carried = Vec::new();
    for e in &new.entries {
        match old_by_name.get(e.name.as_str()) {
            Some(&(i, o)) if same(o, e) => push_old(&mut segments, i),
            _ => {
                carried.push(e);
                push_new(&mut segments);
            }
        }
    }
    let plan = DeltaPlan {
        from: old.stamp,
        to: new.stamp,
        to_size: new.archive_size,
        segments,
    };
    let source = File::open(new_archive).map_err(ArchiveError::io(new_archive))?;
    let carried: Vec<Carried<'_>> = carried
        .iter()
        .map(|e| Carried {
            header: e.header(),
            file: &source,
            path: new_archive,
            data_start: e.data_offset,
        })
        .collect();
    let size = write_delta(&plan, &carried, out)?;
    Ok(DeltaSummary {
        from: old.stamp,
        to: new.stamp,
        changed: carried.len(),
        total: new.entries.len(),
        size,
    })
}

/// Appends entry `i` of the old archive to a plan's segments (extending the last run when it
/// continues it).
pub(super) fn push_old(segments: &mut Vec<Segment>, i: usize) {
    match segments.last_mut() {
        Some(Segment::Old { first, count }) if *first + *count == i => *count += 1,
        _ => segments.push(Segment::Old { first: i, count: 1 }),
    }
}

/// Appends the delta's next entry to a plan's segments.
pub(super) fn push_new(segments: &mut Vec<Segment>) {
    match segments.last_mut() {
        Some(Segment::New { count }) => *count += 1,
        _ => segments.push(Segment::New { count: 1 }),
    }
}

/// One entry a delta carries: its headers and where its compressed bytes are.
pub(super) struct Carried<'a> {
    /// The entry's headers.
    pub(super) header: Header,
    /// The file its bytes are in.
    pub(super) file: &'a File,
    /// That file's path (for errors).
    pub(super) path: &'a Path,
    /// Where its compressed bytes start in that file.
    pub(super) data_start: u64,
}

/// Writes a delta file (its plan, then the entries carried, bytes as they are) to `out`,
/// atomically, and returns its size.
pub(super) fn write_delta(plan: &DeltaPlan, carried: &[Carried<'_>], out: &Path) -> Result<u64> {
    let tmp = temp_sibling(out, "delta");
    let result = (|| {
        let file = File::create(&tmp).map_err(ArchiveError::io(&tmp))?;
        let mut w = ZipWriter::new(BufWriter::with_capacity(1 << 20, file));
        let plan_bytes = serde_json::to_vec(plan).map_err(|e| ArchiveError::Io {
            path: out.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
        let packed = compress(PLAN_NAME, plan_bytes, 6).map_err(ArchiveError::io(&tmp))?;
        let header = Header {
            name: PLAN_NAME.into(),
            is_dir: false,
            method: packed.method,
            crc32: packed.crc32,
            size: packed.size,
            compressed_size: packed.data.len() as u64,
        };
        w.add(&header, &packed.data)
            .map_err(ArchiveError::io(&tmp))?;
        for c in carried {
            // Streamed: a changed file of any size costs a buffer, not its size in memory.
            let mut data = Checked::new(RangeReader::new(
                c.file,
                c.data_start,
                c.header.compressed_size,
            ));
            w.add_stream(&c.header, &mut data).map_err(|err| {
                if data.failed {
                    ArchiveError::io(c.path)(err)
                } else {
                    ArchiveError::io(&tmp)(err)
                }
            })?;
        }
        let (buffered, _, size) = w.finish().map_err(ArchiveError::io(&tmp))?;
        drop(buffered);
        std::fs::rename(&tmp, out).map_err(ArchiveError::io(out))?;
        Ok(size)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Rebuilds the new archive into `out` from `old_archive` and `delta`, and returns its stamp and
/// size. The caller compares the stamp with the one it expected; `out` is only written (renamed
/// into place) when the result has the plan's `to` stamp.
///
/// # Errors
/// [`ArchiveError::Corrupt`] when the delta does not fit the old archive or the result has
/// another stamp; the errors of [`Archive::open`] for damaged inputs.
pub fn apply_delta(
    old_archive: &Path,
    delta: &Path,
    out: &Path,
    limits: &Limits,
) -> Result<(DeltaPlan, Stamp)> {
    let old = Archive::open(old_archive, limits)?;
    let d = Archive::open(delta, limits)?;
    apply_opened(&old, &d, out)
}

/// [`apply_delta`] on archives already open.
///
/// # Errors
/// As [`apply_delta`].
pub fn apply_opened(old: &Archive, d: &Archive, out: &Path) -> Result<(DeltaPlan, Stamp)> {
    let (plan, splice) = splice_of(old, d)?;
    let tmp = temp_sibling(out, "applying");
    let result = (|| {
        let stamp = splice.write_hashed(&tmp).map_err(ArchiveError::io(&tmp))?;
        expect_stamp(d, &plan, stamp)?;
        std::fs::rename(&tmp, out).map_err(ArchiveError::io(out))?;
        Ok(stamp)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|stamp| (plan, stamp))
}

/// Checks, without writing anything, that `d` applied to `old` gives exactly the archive its
/// plan names: the SHA-256 of the archive it describes (old entries and delta entries, read
/// where they are) must be the plan's `to` stamp. With `known`, the checkpoints of the old
/// archive, the bytes the two archives begin with are not hashed again. Returns the plan and
/// the checkpoints of the new archive. The archive itself can be written later with
/// [`apply_opened`].
///
/// # Errors
/// As [`apply_delta`].
pub fn check_delta(
    old: &Archive,
    d: &Archive,
    known: Option<&Checkpoints>,
) -> Result<(DeltaPlan, Checkpoints)> {
    let (plan, splice) = splice_of(old, d)?;
    let known = known.filter(|k| k.stamp == plan.from);
    let common = splice.prefix_from(old.file());
    check_splice(d, plan, &splice, known.map(|k| (k, common)))
}

/// Hashes the archive `splice` describes and compares it with the plan's `to` stamp,
/// resuming from `known` (the checkpoints of an archive that begins with the same first
/// `u64` bytes) when given. Returns the plan and the checkpoints of the archive described.
pub(super) fn check_splice(
    d: &Archive,
    plan: DeltaPlan,
    splice: &Splice<'_>,
    known: Option<(&Checkpoints, u64)>,
) -> Result<(DeltaPlan, Checkpoints)> {
    let from = known.and_then(|(k, common)| k.at_or_before(common));
    let (stamp, mut states) = splice.hash_from(from).map_err(ArchiveError::io(d.path()))?;
    expect_stamp(d, &plan, stamp)?;
    if let (Some((known, _)), Some(from)) = (known, from) {
        // The states before the resumed one are the known archive's, the same bytes.
        let mut before: Vec<Checkpoint> = known
            .states
            .iter()
            .take_while(|c| c.offset <= from.offset)
            .copied()
            .collect();
        before.append(&mut states);
        states = before;
    }
    Ok((plan, Checkpoints { stamp, states }))
}

fn expect_stamp(d: &Archive, plan: &DeltaPlan, stamp: Stamp) -> Result<()> {
    if stamp == plan.to {
        return Ok(());
    }
    Err(ArchiveError::Corrupt {
        name: d.path().display().to_string(),
        reason: format!(
            "the rebuilt archive has stamp {} instead of {}",
            stamp.short(),
            plan.to.short()
        ),
    })
}

/// The index of the plan entry of the delta `d`, and the plan.
pub(super) fn read_plan(d: &Archive) -> Result<(usize, DeltaPlan)> {
    let corrupt = |reason: String| ArchiveError::Corrupt {
        name: d.path().display().to_string(),
        reason,
    };
    let plan_index = d
        .entries()
        .iter()
        .position(|e| e.name == PLAN_NAME)
        .ok_or_else(|| corrupt("it has no plan".into()))?;
    let mut plan_bytes = Vec::new();
    d.copy_entry(plan_index, &mut plan_bytes)?;
    let plan = serde_json::from_slice(&plan_bytes)
        .map_err(|e| corrupt(format!("its plan is not readable: {e}")))?;
    Ok((plan_index, plan))
}

/// The plan of `d` and the new archive it describes, as ranges of `old` and `d` plus the headers
/// and central directory made here.
pub(super) fn splice_of<'a>(old: &'a Archive, d: &'a Archive) -> Result<(DeltaPlan, Splice<'a>)> {
    let delta = d.path();
    let corrupt = |reason: String| ArchiveError::Corrupt {
        name: delta.display().to_string(),
        reason,
    };
    let (plan_index, plan) = read_plan(d)?;
    let mut splice = Splice::default();
    let mut central = Central::default();
    let mut carried = (0..d.entries().len()).filter(|&i| i != plan_index);
    let io_err = |e: std::io::Error| corrupt(e.to_string());
    for segment in &plan.segments {
        match *segment {
            Segment::Old { count: 0, .. } => {}
            Segment::Old { first, count } => {
                let end = first
                    .checked_add(count)
                    .filter(|&e| e <= old.entries().len());
                let end = end.ok_or_else(|| {
                    corrupt("it refers to entries the old archive does not have".into())
                })?;
                let entries = &old.entries()[first..end];
                let start = header_start(&entries[0])
                    .ok_or_else(|| corrupt("the old archive is damaged".into()))?;
                let base = splice.len();
                let mut run_end = start;
                for e in entries {
                    let at = header_start(e)
                        .filter(|&at| at >= start)
                        .ok_or_else(|| corrupt("the old archive is damaged".into()))?;
                    central
                        .push(&header_of(e), base + (at - start))
                        .map_err(io_err)?;
                    run_end = run_end.max(e.data_start.saturating_add(e.compressed_size));
                }
                splice.range(old.file(), start, run_end - start);
            }
            Segment::New { count } => {
                for _ in 0..count {
                    let i = carried
                        .next()
                        .ok_or_else(|| corrupt("it carries fewer entries than its plan".into()))?;
                    let e = &d.entries()[i];
                    let header = header_of(e);
                    central.push(&header, splice.len()).map_err(io_err)?;
                    splice.bytes(&local_header(&header).map_err(io_err)?);
                    splice.range(d.file(), e.data_start, e.compressed_size);
                }
            }
        }
    }
    splice.bytes(&central.end(splice.len()));
    Ok((plan, splice))
}

/// The zip headers of an entry, as the writer makes them.
pub(super) fn header_of(e: &Entry) -> Header {
    Header {
        name: e.name.clone(),
        is_dir: e.is_dir,
        method: e.method,
        crc32: e.crc32,
        size: e.size,
        compressed_size: e.compressed_size,
    }
}

/// Where the local header of `e` starts, if the archive was written by [`super::write`] (the
/// stamp check after a rebuild proves it was).
pub(super) fn header_start(e: &Entry) -> Option<u64> {
    e.data_start.checked_sub(local_header_len(&header_of(e)))
}

/// After [`check_delta`]: brings `target` (the entries `old` of the previous build under
/// `prefix`, unpacked — an archive's [`Archive::entries`], or [`super::Composed::before`]) to the new
/// content by writing only the delta's entries and removing files that are gone.
/// Returns the relative paths written and removed.
///
/// # Errors
/// [`ArchiveError::Corrupt`] for damaged entries, [`ArchiveError::Io`] for disk errors.
pub fn update_folder(
    old: &[Entry],
    d: &Archive,
    plan: &DeltaPlan,
    prefix: &str,
    target: &Path,
) -> Result<(Vec<String>, Vec<String>)> {
    use std::collections::HashSet;
    let mut kept: HashSet<&str> = HashSet::new();
    for segment in &plan.segments {
        if let Segment::Old { first, count } = *segment {
            for e in old.iter().skip(first).take(count) {
                kept.insert(e.name.as_str());
            }
        }
    }
    let mut written = Vec::new();
    for (i, e) in d.entries().iter().enumerate() {
        if e.name == PLAN_NAME {
            continue;
        }
        super::names::check_name(&e.name)?;
        let rel = e
            .name
            .strip_prefix(prefix)
            .ok_or_else(|| ArchiveError::NotProjectArchive {
                name: e.name.clone(),
            })?;
        if rel.is_empty() {
            continue;
        }
        let path = target.join(rel.trim_end_matches('/'));
        if e.is_dir {
            std::fs::create_dir_all(&path).map_err(ArchiveError::io(&path))?;
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(ArchiveError::io(dir))?;
        }
        let tmp = temp_sibling(&path, "new");
        let result = (|| {
            let file = File::create(&tmp).map_err(ArchiveError::io(&tmp))?;
            let mut out = BufWriter::new(file);
            d.copy_entry(i, &mut out)?;
            std::io::Write::flush(&mut out).map_err(ArchiveError::io(&tmp))?;
            std::fs::rename(&tmp, &path).map_err(ArchiveError::io(&path))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result?;
        kept.insert(e.name.as_str());
        written.push(rel.to_owned());
    }
    let mut removed = Vec::new();
    for e in old.iter().filter(|e| !e.is_dir) {
        if kept.contains(e.name.as_str()) {
            continue;
        }
        let Some(rel) = e.name.strip_prefix(prefix) else {
            continue;
        };
        let path = target.join(rel);
        if std::fs::remove_file(&path).is_ok() {
            removed.push(rel.to_owned());
        }
        let mut dir = path.parent();
        while let Some(p) = dir {
            if p == target || std::fs::remove_dir(p).is_err() {
                break;
            }
            dir = p.parent();
        }
    }
    Ok((written, removed))
}
