//! The runs of a target, one small JSON record each under `<target>/_agsl/runs/`, for `status`
//! and alarms: when a run started and ended, how it ended, and what it converted and skipped.
//! A record is written when the run has taken the lock (outcome `running`) and rewritten when
//! it ends; a record still `running` whose run no longer holds the lock was killed. Records
//! are informational: the commit log alone decides what the target holds, so a record that
//! failed to be written never changes a conversion. Records older than [`KEEP_DAYS`] are
//! deleted by later runs (the newest [`KEEP_AT_LEAST`] always stay).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::StateError;
use crate::storage::Store;

pub const RUNS_DIR: &str = "_agsl/runs";
/// Run records are kept this many days.
pub const KEEP_DAYS: u64 = 30;
/// However old, this many of the newest records stay.
pub const KEEP_AT_LEAST: usize = 20;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Started and not ended: still running, or killed.
    Running,
    Succeeded,
    Failed,
}

impl std::fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RunOutcome::Running => "running",
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
        })
    }
}

/// What one run did to one table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TableCounts {
    pub objects: u64,
    pub lines: u64,
    pub rows: u64,
    pub rejects: u64,
    pub bytes_in: u64,
    pub source_bytes: u64,
    pub bytes_out: u64,
    pub files: u64,
    pub commits: u64,
}

/// One run of a target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run: String,
    /// The job's service keyword, or `auto`.
    pub service: String,
    /// Seconds since the Unix epoch.
    pub started_at: u64,
    #[serde(default)]
    pub finished_at: Option<u64>,
    pub outcome: RunOutcome,
    /// Why a failed run stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Per service keyword.
    #[serde(default)]
    pub tables: BTreeMap<String, TableCounts>,
    #[serde(default)]
    pub skipped_objects: u64,
    /// Why objects were skipped (`already converted` left out: that is every no-op run).
    #[serde(default)]
    pub skipped_reasons: BTreeMap<String, u64>,
}

impl RunRecord {
    pub fn started(run: &str, service: &str, started_at: u64) -> Self {
        Self {
            run: run.to_owned(),
            service: service.to_owned(),
            started_at,
            finished_at: None,
            outcome: RunOutcome::Running,
            error: None,
            tables: BTreeMap::new(),
            skipped_objects: 0,
            skipped_reasons: BTreeMap::new(),
        }
    }

    /// Seconds from start to end (to now while running).
    pub fn seconds(&self, now: u64) -> u64 {
        self.finished_at
            .unwrap_or(now)
            .saturating_sub(self.started_at)
    }
}

fn record_key(run: &str) -> String {
    format!("{RUNS_DIR}/{run}.json")
}

/// Writes (or rewrites) a run's record.
pub fn write_run(store: &Store, record: &RunRecord) -> Result<(), StateError> {
    let bytes = serde_json::to_vec(record).map_err(|e| StateError::corrupt("run record", e))?;
    store.put(&record_key(&record.run), bytes)?;
    Ok(())
}

/// Every run record of the target, oldest first (run ids sort by their start time).
pub fn read_runs(store: &Store) -> Result<Vec<RunRecord>, StateError> {
    let mut records = Vec::new();
    for object in store.list(RUNS_DIR)? {
        if !object.key.ends_with(".json") {
            continue;
        }
        let bytes = store.get(&object.key)?;
        let record: RunRecord =
            serde_json::from_slice(&bytes).map_err(|e| StateError::corrupt(&object.key, e))?;
        records.push(record);
    }
    records.sort_by(|a, b| (a.started_at, &a.run).cmp(&(b.started_at, &b.run)));
    Ok(records)
}

/// Deletes records older than [`KEEP_DAYS`] before `now`, keeping the newest
/// [`KEEP_AT_LEAST`]. Run ids start with their UTC start time, so keys sort by age.
pub fn prune_runs(store: &Store, now: u64) -> Result<(), StateError> {
    let mut keys: Vec<String> = store
        .list(RUNS_DIR)?
        .into_iter()
        .map(|o| o.key)
        .filter(|k| k.ends_with(".json"))
        .collect();
    keys.sort();
    let cutoff = now.saturating_sub(KEEP_DAYS * 86_400);
    let prunable = keys.len().saturating_sub(KEEP_AT_LEAST);
    for key in &keys[..prunable] {
        let started = key
            .rsplit('/')
            .next()
            .and_then(run_start_seconds)
            .unwrap_or(u64::MAX);
        if started < cutoff {
            store.delete(key)?;
        }
    }
    Ok(())
}

/// The start time a run id (`20261203T103750Z-…`) names, in seconds since the epoch.
fn run_start_seconds(run: &str) -> Option<u64> {
    let b = run.as_bytes();
    if b.len() < 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let number = |s: &[u8]| -> Option<i64> {
        s.iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let days = agsl_formats::time::days_from_civil(
        number(&b[0..4])?,
        u32::try_from(number(&b[4..6])?).ok()?,
        u32::try_from(number(&b[6..8])?).ok()?,
    );
    let seconds =
        days * 86_400 + number(&b[9..11])? * 3600 + number(&b[11..13])? * 60 + number(&b[13..15])?;
    u64::try_from(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Location, StorageOptions};

    #[test]
    fn records_are_read_back_oldest_first_and_old_ones_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &Location::Local(dir.path().to_owned()),
            &StorageOptions::default(),
        )
        .unwrap();
        let day = 86_400;
        let now = run_start_seconds("20261203T000000Z-1").unwrap();
        assert_eq!(now % day, 0);
        for (i, run) in [
            "20261001T000000Z-a",
            "20261101T000000Z-b",
            "20261202T120000Z-c",
        ]
        .iter()
        .enumerate()
        {
            let mut record = RunRecord::started(run, "alb", run_start_seconds(run).unwrap());
            record.outcome = if i == 1 {
                RunOutcome::Failed
            } else {
                RunOutcome::Succeeded
            };
            write_run(&store, &record).unwrap();
        }
        let runs = read_runs(&store).unwrap();
        assert_eq!(runs.len(), 3);
        assert_eq!(runs[2].run, "20261202T120000Z-c");
        assert_eq!(runs[1].outcome, RunOutcome::Failed);
        assert_eq!(now - runs[2].started_at, day / 2);
        // Fewer than KEEP_AT_LEAST records: nothing goes, however old.
        prune_runs(&store, now).unwrap();
        assert_eq!(read_runs(&store).unwrap().len(), 3);
        for i in 0..KEEP_AT_LEAST {
            let run = format!("20261202T13{:02}00Z-x", i);
            write_run(&store, &RunRecord::started(&run, "alb", now - day / 2)).unwrap();
        }
        prune_runs(&store, now).unwrap();
        let kept: Vec<String> = read_runs(&store)
            .unwrap()
            .into_iter()
            .map(|r| r.run)
            .collect();
        // The October run is older than KEEP_DAYS; the November one (32 days) too.
        assert!(
            !kept
                .iter()
                .any(|r| r.starts_with("202610") || r.starts_with("202611"))
        );
        assert_eq!(kept.len(), KEEP_AT_LEAST + 1);
    }
}
