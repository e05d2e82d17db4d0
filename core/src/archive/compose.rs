//! Two deltas made one.
//!
//! A client that applied a delta leaves it pending on its archive instead of writing the new
//! archive (see the cache's `pending` module). The next delta is composed with it: the entries
//! of the newest build that the archive does not have are copied — compressed bytes as they
//! are — from the pending delta or the new one into a single delta from the archive to the
//! newest build. That costs the size of what changed since the archive was written, not the
//! archive's size; the result is proved like any delta, by the SHA-256 of the archive it
//! describes ([`check_composed`]).

use std::path::Path;

use super::delta::{
    Carried, DeltaPlan, Segment, check_splice, header_of, push_new, push_old, read_plan, splice_of,
    write_delta,
};
use super::error::{ArchiveError, Result};
use super::read::{Archive, Entry};
use super::resumable::Checkpoints;
use super::write::local_header_len;

/// Where an entry of a build is: in the archive, the pending delta or the next delta (an
/// index in that file's entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    Old(usize),
    Pending(usize),
    Next(usize),
}

/// What [`compose_deltas`] wrote and found.
#[derive(Debug)]
pub struct Composed {
    /// The plan of the next delta (pending build → newest build).
    pub next: DeltaPlan,
    /// The entries of the pending build, in order: what [`super::update_folder`] brings to
    /// the newest build with the next delta.
    pub before: Vec<Entry>,
    /// How many first bytes the pending build's archive and the newest one's have in common
    /// (where hashing the newest resumes from the pending build's checkpoints).
    pub common_prefix: u64,
    /// Size of the composed delta file.
    pub size: u64,
}

/// Writes to `out` one delta from `old` to the build `next` makes, where `pending` (a delta
/// from `old`) gives the build `next` applies to. Nothing is proved here: check the result with
/// [`check_composed`].
///
/// # Errors
/// [`ArchiveError::Corrupt`] when the deltas do not follow each other or do not fit `old`;
/// [`ArchiveError::Io`] when a file cannot be read or `out` written.
pub fn compose_deltas(
    old: &Archive,
    pending: &Archive,
    next: &Archive,
    out: &Path,
) -> Result<Composed> {
    let (pending_plan_at, pending_plan) = read_plan(pending)?;
    let (next_plan_at, next_plan) = read_plan(next)?;
    if next_plan.from != pending_plan.to {
        return Err(corrupt(
            next,
            format!(
                "it applies to build {}, not to {}",
                next_plan.from.short(),
                pending_plan.to.short()
            ),
        ));
    }
    let archive: Vec<At> = (0..old.entries().len()).map(At::Old).collect();
    let before = layout(
        &archive,
        pending,
        pending_plan_at,
        &pending_plan,
        At::Pending,
    )?;
    let after = layout(&before, next, next_plan_at, &next_plan, At::Next)?;
    let entry = |at: At| match at {
        At::Old(i) => (old, &old.entries()[i]),
        At::Pending(i) => (pending, &pending.entries()[i]),
        At::Next(i) => (next, &next.entries()[i]),
    };
    let mut segments: Vec<Segment> = Vec::new();
    let mut carried = Vec::new();
    for &at in &after {
        if let At::Old(i) = at {
            push_old(&mut segments, i);
            continue;
        }
        let (file, e) = entry(at);
        carried.push(Carried {
            header: header_of(e),
            file: file.file(),
            path: file.path(),
            data_start: e.data_start,
        });
        push_new(&mut segments);
    }
    let plan = DeltaPlan {
        from: pending_plan.from,
        to: next_plan.to,
        to_size: next_plan.to_size,
        segments,
    };
    let size = write_delta(&plan, &carried, out)?;
    let common_prefix = match next_plan.segments.first() {
        Some(&Segment::Old { first: 0, count }) => before
            .iter()
            .take(count)
            .map(|&at| {
                let e = entry(at).1;
                local_header_len(&header_of(e)) + e.compressed_size
            })
            .sum(),
        _ => 0,
    };
    Ok(Composed {
        before: before.iter().map(|&at| entry(at).1.clone()).collect(),
        next: next_plan,
        common_prefix,
        size,
    })
}

/// Checks, without writing anything, that the composed delta `d` (written by
/// [`compose_deltas`]) applied to `old` gives exactly the build the next delta named; with
/// `known`, the checkpoints of the pending build, the bytes it has in common with the newest
/// are not hashed again. Returns the composed plan and the checkpoints of the newest build.
///
/// # Errors
/// [`ArchiveError::Corrupt`] when the archive it describes has another stamp, or `d` does not
/// fit `old`.
pub fn check_composed(
    old: &Archive,
    d: &Archive,
    composed: &Composed,
    known: Option<&Checkpoints>,
) -> Result<(DeltaPlan, Checkpoints)> {
    let (plan, splice) = splice_of(old, d)?;
    if plan.to != composed.next.to {
        return Err(corrupt(d, "it is not the composed delta".into()));
    }
    let known = known.filter(|k| k.stamp == composed.next.from);
    check_splice(d, plan, &splice, known.map(|k| (k, composed.common_prefix)))
}

/// The entries of the build the delta `d` (plan `plan`, at `plan_at` in its entries) makes
/// from the build whose entries are `base`; `carried` names an entry of `d`.
fn layout(
    base: &[At],
    d: &Archive,
    plan_at: usize,
    plan: &DeltaPlan,
    carried: fn(usize) -> At,
) -> Result<Vec<At>> {
    let mut own = (0..d.entries().len()).filter(|&i| i != plan_at);
    let mut out = Vec::with_capacity(base.len());
    for segment in &plan.segments {
        match *segment {
            Segment::Old { count: 0, .. } => {}
            Segment::Old { first, count } => {
                let run = first
                    .checked_add(count)
                    .and_then(|end| base.get(first..end))
                    .ok_or_else(|| corrupt(d, "it refers to entries the build has not".into()))?;
                out.extend_from_slice(run);
            }
            Segment::New { count } => {
                for _ in 0..count {
                    let i = own.next().ok_or_else(|| {
                        corrupt(d, "it carries fewer entries than its plan".into())
                    })?;
                    out.push(carried(i));
                }
            }
        }
    }
    Ok(out)
}

fn corrupt(d: &Archive, reason: String) -> ArchiveError {
    ArchiveError::Corrupt {
        name: d.path().display().to_string(),
        reason,
    }
}
