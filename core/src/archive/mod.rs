//! `.4dz` project archives: deterministic build, listing, verification and safe unpacking.
//!
//! A `.4dz` is a standard zip whose single top folder is `Project/`. Remote4D builds it
//! deterministically — entries sorted by name, fixed timestamps (1980-01-01) and permissions,
//! UTF-8 names — so the same project content always gives the same bytes; the SHA-256 of those
//! bytes is the project [`Stamp`]. Compression runs on all cores; a rebuild copies the compressed
//! bytes of unchanged files from the previous archive ([`build_incremental`]).
//!
//! Unpacking ([`Archive::unpack_to`]) refuses entries that would land outside the target, links,
//! duplicates, encryption, and archives over the [`Limits`] (zip bombs), and works in a temporary
//! folder renamed into place, so a failure leaves the previous content as it was.

mod build;
mod central;
mod compose;
mod compress;
mod delta;
mod error;
mod follow;
mod inflate;
mod names;
mod plan;
mod read;
mod resumable;
mod select;
mod splice;
mod stamp;
mod stream;
mod unpack;
mod write;

pub use build::{
    BuildOptions, BuildProgress, BuildReport, BuiltEntry, OnProgress, Previous, build,
    build_incremental,
};
pub use compose::{Composed, check_composed, compose_deltas};
pub use delta::{
    DeltaPlan, DeltaSummary, PLAN_NAME, Segment, apply_delta, apply_opened, check_delta,
    make_delta, update_folder,
};
pub use error::{ArchiveError, Result};
pub use follow::{FollowingUnpack, TailFeed, UnpackedFile};
pub use names::{TOP_FOLDER, is_excluded};
pub use plan::{central_directory_offset, split_point};

/// Checks that `path` is a safe relative path (no `..`, absolute paths, drive letters, ...).
///
/// # Errors
/// [`ArchiveError::UnsafeName`] saying why.
pub fn check_relative_path(path: &str) -> Result<()> {
    names::check_name(path)
}
pub use read::{Archive, Entry, VerifyReport};
pub(crate) use resumable::ResumableSha256;
pub use resumable::{CHECKPOINT_EVERY, Checkpoint, Checkpoints};

pub use stamp::{BadStamp, Stamp};
pub use unpack::{UnpackReport, unpack};
pub use write::Method;

/// Limits that protect an unpack from hostile archives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most entries accepted.
    pub max_entries: u64,
    /// Largest total uncompressed size accepted, in bytes.
    pub max_total_size: u64,
    /// Largest compression ratio accepted for entries bigger than `ratio_floor`.
    pub max_ratio: u64,
    /// Entries up to this size are not checked for their ratio.
    pub ratio_floor: u64,
}

impl Default for Limits {
    /// 1,000,000 entries, 8 GiB, ratio 500 above 4 MiB (deflate cannot exceed about 1032).
    fn default() -> Self {
        Self {
            max_entries: 1_000_000,
            max_total_size: 8 << 30,
            max_ratio: 500,
            ratio_floor: 4 << 20,
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_compose;
#[cfg(test)]
pub(crate) mod tests_large;
