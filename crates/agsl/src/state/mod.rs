//! The target's own state, kept under `<target>/_agsl/` so it moves with the data and needs no
//! other service: the commit log and its ledger (which source objects and event-time spans are
//! converted, which files hold them), the lock that keeps runs from overlapping, and a record
//! of each run for `status`.

pub mod deliveries;
mod ledger;
mod lock;
mod log;
mod objects;
mod runs;
mod urls;

pub use ledger::{
    Commit, CommittedFile, Coverage, FileEntry, Ledger, ObjectEntry, SourceRows, table_folder,
};
pub use lock::TargetLock;
pub(crate) use lock::process_alive;
pub use log::{CommitLog, DamagedCheckpoint, STAGING_DIR, STATE_DIR, StoredState};
pub use objects::{Objects, Slot};
pub use runs::{
    KEEP_AT_LEAST, KEEP_DAYS, RUNS_KEY, RunOutcome, RunRecord, TableCounts, read_runs, write_run,
};

use crate::storage::StorageError;

/// The state of a target could not be read, locked or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(
        "target `{target}` is locked by {holder}; wait for it to finish (a lock left by a killed run on another host is taken over once stale)"
    )]
    Locked { target: String, holder: String },
    #[error("another run took over this target's lock; this run stopped without committing")]
    LockLost,
    #[error(
        "another run committed change {sequence} to this target first; nothing of this run was committed"
    )]
    Conflict { sequence: u64 },
    #[error("agsl state `{key}` is damaged: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("cannot use `{location}`: {source}")]
    Io {
        location: String,
        source: std::io::Error,
    },
}

impl StateError {
    pub(crate) fn corrupt(key: &str, error: impl std::fmt::Display) -> Self {
        StateError::Corrupt {
            key: key.to_owned(),
            reason: error.to_string(),
        }
    }
}
