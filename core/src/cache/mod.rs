//! The client's cache: one system folder per server (4D's "4D Client database folder"), owned
//! by [`SystemFolder`]. Nothing outside this module knows a file name inside it: the client's
//! network side asks the folder to check itself, to begin a download for a build, to install a
//! verified download, to apply a verified delta, or to repair itself, and gets a [`CacheError`]
//! when it cannot.
//!
//! One folder per server under the cache folder, named like 4D's `<Project>_<host>_<port>_<key>`
//! (address dots and colons as `_`, `<key>` three digits derived from the client executable's
//! path), or the link's `cache_folder_name`. Layout — the one description, kept next to the
//! names in [`names`]:
//!
//! ```text
//! <folder>/inuse.txt                  the lock: pid and executable path of the client using it
//!          uuid.txt                   this client's id
//!          state.json                 stamp, pinned fingerprint, server id, last connection
//!          project.4dz                the archive whose files are in Project/ (SHA-256 = stamp)
//!          project.4dz.checkpoints    SHA-256 checkpoints of project.4dz (a later delta hashes
//!                                     only from the first byte it changes)
//!          index.tsv                  stamp, size and time of project.4dz, then size and time
//!                                     of every file of Project/ (the quick check of a connect)
//!          project.4dz.part           a download in progress (resumed at the next attempt)
//!          project.4dz.part.stamp     the build that part belongs to
//!          delta.zip                  a delta being applied
//!          pending.json               a delta applied to Project/, not yet written into
//!          pending-delta.zip            project.4dz (and the delta itself, every update since
//!                                       the archive composed into one): see `pending`
//!          pending-delta.zip.composing  the pending delta being composed with a new one
//!          project.4dz.materializing  project.4dz being written from the pending delta
//!          Project/                   the archive unpacked (read-only copy of the project)
//!          Resources/                 the project's Resources folder, copied from the server
//!          resources.tsv              its stamp, then size and time of each of its files
//!          resources.zip              a Resources download in progress (or rebuilt from a delta)
//!          resources.4dz              the verified archive Resources/ was installed from, kept
//!                                     so that the next change comes as a delta
//!          resources-delta.zip        a delta of it being applied
//!          Components/ Plugins/       the project's components, plug-ins and libraries, copied
//!          Libraries/                   from the server like Resources/ (remote mode only)
//!          components.tsv …           their quick-check indexes; components.zip … downloads;
//!          components.4dz …             their archives kept for deltas
//!          userPreferences/           the client's preferences for this project
//!            remote4d.json            the developer's state: source open, folded tables,
//!                                     cursors, window size, "Open with", searches
//!          DerivedDataRemote/         the client's derived data
//!            search-index.json        the Find-in-project word index (rebuilt when absent)
//! ```
//!
//! Invariants: `Project/` and `index.tsv` change only from a verified archive or delta; the
//! state's stamp names the build `Project/` holds; `project.4dz` is that build, or the previous
//! one with a pending delta on it; every step leaves a state the next connect can finish or
//! repair, and a failed step leaves the previous project usable.

mod checkpoints;
mod derived;
mod error;
mod folder;
mod index;
mod install;
mod pending;
mod preferences;
mod resources;
mod state;

pub use error::CacheError;
pub use folder::{FolderSpec, SystemFolder, key_for_executable};
pub use index::Damage;
pub use install::Download;
pub use pending::PendingDeltaError;
pub use preferences::ProjectPreferences;
pub use state::FolderState;

/// Every file and folder name of a system folder (described in the module's layout above).
pub mod names {
    /// The lock.
    pub const LOCK: &str = "inuse.txt";
    /// This client's id.
    pub const UUID: &str = "uuid.txt";
    /// What the client remembers about the server.
    pub const STATE: &str = "state.json";
    /// The archive last installed.
    pub const ARCHIVE: &str = "project.4dz";
    /// Its SHA-256 checkpoints.
    pub const CHECKPOINTS: &str = "project.4dz.checkpoints";
    /// Where earlier versions kept the checkpoints (removed when seen).
    pub(crate) const CHECKPOINTS_BEFORE: &str = "project.4dz.sha";
    /// The quick-check index of `project.4dz` and `Project/`.
    pub const INDEX: &str = "index.tsv";
    /// A download in progress.
    pub const PART: &str = "project.4dz.part";
    /// The last part of a download in two parts, appended to `project.4dz.part` once both
    /// are complete (never resumed).
    pub const PART_TAIL: &str = "project.4dz.part.tail";
    /// The build of the download in progress.
    pub const PART_STAMP: &str = "project.4dz.part.stamp";
    /// A delta being applied.
    pub const DELTA: &str = "delta.zip";
    /// The record of a delta not yet written into the archive.
    pub const PENDING: &str = "pending.json";
    /// That delta.
    pub const PENDING_DELTA: &str = "pending-delta.zip";
    /// The pending delta composed with a new one (becomes `pending-delta.zip`).
    pub const COMPOSED: &str = "pending-delta.zip.composing";
    /// The archive being written from the pending delta.
    pub const MATERIALIZING: &str = "project.4dz.materializing";
    /// The unpacked project.
    pub const PROJECT: &str = "Project";
    /// The quick-check index of a related folder (`resources.tsv`, `components.tsv`…).
    pub fn related_index(folder: crate::protocol::Related) -> String {
        format!("{}.tsv", folder.key())
    }

    /// A download of a related folder in progress (`resources.zip`, `components.zip`…).
    pub fn related_download(folder: crate::protocol::Related) -> String {
        format!("{}.zip", folder.key())
    }

    /// The verified archive of the related folder installed, kept for deltas
    /// (`resources.4dz`, `components.4dz`…).
    pub fn related_archive(folder: crate::protocol::Related) -> String {
        format!("{}.4dz", folder.key())
    }

    /// A delta of a related folder being applied (`resources-delta.zip`…).
    pub fn related_delta(folder: crate::protocol::Related) -> String {
        format!("{}-delta.zip", folder.key())
    }

    /// A related folder moved aside while it is removed (`.Resources.removed`…).
    pub fn related_removed(folder: crate::protocol::Related) -> String {
        format!(".{}.removed", folder.folder())
    }
    /// The client's preferences.
    pub const USER_PREFERENCES: &str = "userPreferences";
    /// The client's derived data.
    pub const DERIVED_DATA: &str = "DerivedDataRemote";
    /// The developer's state, in `userPreferences/`.
    pub const PREFERENCES: &str = "remote4d.json";
    /// The Find-in-project index, in `DerivedDataRemote/`.
    pub const SEARCH_INDEX: &str = "search-index.json";
}
