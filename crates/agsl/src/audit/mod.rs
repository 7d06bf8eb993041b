//! What a target holds, told from its own state: [`status`] summarises the ledger and the run
//! records (is it keeping up?), [`verify`] reconciles the ledger with the source, the target's
//! files and the catalog (is anything missing or doubled?). Both only read: they take no lock
//! and change nothing, so they can run beside a conversion.

mod column;
mod deep;
mod status;
mod verify;

use std::collections::{BTreeMap, BTreeSet};

use agsl_formats::Format;

pub use status::{Lag, RunStatus, StatusJob, TableStatus, TargetStatus, status};
pub use verify::{Discrepancy, VerifyReport, verify};

use crate::catalog::CatalogError;
use crate::state::{Commit, CommitLog, DamagedCheckpoint, Ledger, StateError, StoredState};
use crate::storage::{Location, StorageError, StorageOptions, Store};
use crate::window::key_time;

/// Reading a target, its source or its catalog failed (a discrepancy is not an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    #[error("target `{0}` holds no agsl table (no `_agsl/` state)")]
    NoTable(String),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Run(#[from] crate::Error),
}

/// A target's state, read once.
struct TargetState {
    store: Store,
    ledger: Ledger,
    /// Commits whose files are not all moved into place yet.
    unpublished: Vec<Commit>,
    /// What reading the state took from the store.
    stored: StoredState,
    /// The last checkpoint, passed over as damaged.
    damaged_checkpoint: Option<DamagedCheckpoint>,
}

impl TargetState {
    fn read(target: &Location, storage: &StorageOptions) -> Result<Self, AuditError> {
        let store = Store::open_existing(target, storage)?
            .ok_or_else(|| AuditError::NoTable(target.to_string()))?;
        let (log, unpublished) = CommitLog::read(&store)?;
        if log.ledger().sequence == 0 && store.list(crate::state::STATE_DIR)?.is_empty() {
            return Err(AuditError::NoTable(target.to_string()));
        }
        Ok(Self {
            store,
            stored: log.stored_as_read(),
            damaged_checkpoint: log.damaged_checkpoint().cloned(),
            ledger: log.into_ledger(),
            unpublished,
        })
    }

    /// The service of a target written by one-service runs (its one table has no folder).
    fn single_service(&self) -> Result<Option<Format>, AuditError> {
        match self.ledger.tables().into_iter().collect::<Vec<_>>()[..] {
            [(service, Some("") | None)] => Ok(Some(format_of(service)?)),
            _ => Ok(None),
        }
    }

    /// The converted objects of each table (by service): how many, each counted once, and
    /// the newest key time among them. An object is marked by its ledger slot, a byte per
    /// object and table, instead of collecting a million URLs; one a file names but the
    /// ledger does not hold (which `verify` reports) is counted by its URL.
    fn objects_by_service(&self) -> BTreeMap<&str, TableObjects> {
        let objects = &self.ledger.objects;
        let mut services: BTreeMap<&str, (Vec<bool>, BTreeSet<String>, TableObjects)> =
            BTreeMap::new();
        for entry in self.ledger.files.values() {
            let (marked, unheld, table) =
                services.entry(entry.service.as_str()).or_insert_with(|| {
                    (
                        vec![false; objects.slots()],
                        BTreeSet::new(),
                        TableObjects::default(),
                    )
                });
            for url in entry.sources.urls() {
                let first = match objects.slot(&url) {
                    Some((slot, _)) => !std::mem::replace(&mut marked[slot], true),
                    None => unheld.insert(url.clone()),
                };
                if first {
                    table.count += 1;
                    table.newest_key_time = table.newest_key_time.max(key_time(&url));
                }
            }
        }
        services
            .into_iter()
            .map(|(service, (_, _, table))| (service, table))
            .collect()
    }
}

/// The converted objects of one table, for `status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct TableObjects {
    count: u64,
    /// The newest time a converted object's key names (UTC microseconds).
    newest_key_time: Option<i64>,
}

/// The format of a service keyword the ledger names.
fn format_of(service: &str) -> Result<Format, AuditError> {
    Ok(crate::catalog::service_format(service)?)
}

/// Seconds since the Unix epoch.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}
