//! The recent runs of a target, for `status` and alarms: when each started and ended, how it
//! ended, and what it converted and skipped. They are kept in one small JSON object,
//! `<target>/_agsl/runs.json`, so `status` reads one object however often runs are scheduled.
//! A run adds its record once it holds the lock (outcome `running`) and rewrites it when it
//! ends; only the lock holder writes, and each write replaces the object whole (readers see
//! the old or the new). A record still `running` when a newer run exists was killed. Records
//! are informational: the commit log alone decides what the target holds. Records older than
//! [`KEEP_DAYS`] are dropped (the newest [`KEEP_AT_LEAST`] always stay).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::StateError;
use crate::storage::Store;

pub const RUNS_KEY: &str = "_agsl/runs.json";
/// Run records are kept this many days.
pub const KEEP_DAYS: u64 = 8;
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
    /// Rejects by kind of reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reject_reasons: BTreeMap<String, u64>,
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

#[derive(Default, Serialize, Deserialize)]
struct History {
    runs: Vec<RunRecord>,
}

/// Adds a run's record, or replaces it (same run id), and drops records older than
/// [`KEEP_DAYS`] before `now` beyond the newest [`KEEP_AT_LEAST`]. Call it holding the lock.
pub fn write_run(store: &Store, record: &RunRecord, now: u64) -> Result<(), StateError> {
    let mut runs = read_runs(store)?;
    // In the order the runs took the lock, which is the order they started (a second's
    // resolution and random run ids could not tell two runs of one second apart).
    match runs.iter_mut().find(|r| r.run == record.run) {
        Some(earlier) => *earlier = record.clone(),
        None => runs.push(record.clone()),
    }
    let cutoff = now.saturating_sub(KEEP_DAYS * 86_400);
    let prunable = runs.len().saturating_sub(KEEP_AT_LEAST);
    let old = runs[..prunable]
        .iter()
        .take_while(|r| r.started_at < cutoff)
        .count();
    runs.drain(..old);
    let bytes =
        serde_json::to_vec(&History { runs }).map_err(|e| StateError::corrupt(RUNS_KEY, e))?;
    store.put(RUNS_KEY, bytes)?;
    Ok(())
}

/// The target's recent run records, in the order they started (none before the first run).
pub fn read_runs(store: &Store) -> Result<Vec<RunRecord>, StateError> {
    let Some((bytes, _)) = store.get_if_exists(RUNS_KEY)? else {
        return Ok(Vec::new());
    };
    let history: History =
        serde_json::from_slice(&bytes).map_err(|e| StateError::corrupt(RUNS_KEY, e))?;
    Ok(history.runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_replaced_by_run_and_old_ones_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        let day = 86_400;
        let now = (agsl_formats::time::days_from_civil(2026, 12, 3) * day as i64) as u64;
        assert!(read_runs(&store).unwrap().is_empty());
        let mut old = RunRecord::started("20261101T000000Z-a", "alb", now - 32 * day);
        write_run(&store, &old, now).unwrap();
        old.outcome = RunOutcome::Failed;
        write_run(&store, &old, now).unwrap();
        let runs = read_runs(&store).unwrap();
        assert_eq!(runs.len(), 1, "the same run is replaced, not added");
        assert_eq!(runs[0].outcome, RunOutcome::Failed);
        // Fewer than KEEP_AT_LEAST records: nothing goes, however old.
        for i in 0..KEEP_AT_LEAST - 1 {
            let run = format!("20261202T13{i:02}00Z-x");
            write_run(&store, &RunRecord::started(&run, "alb", now - day / 2), now).unwrap();
        }
        assert_eq!(read_runs(&store).unwrap().len(), KEEP_AT_LEAST);
        write_run(
            &store,
            &RunRecord::started("20261202T2000Z-y", "alb", now - 1),
            now,
        )
        .unwrap();
        let runs = read_runs(&store).unwrap();
        assert_eq!(runs.len(), KEEP_AT_LEAST);
        assert!(
            runs.iter().all(|r| r.run != old.run),
            "the old run is dropped"
        );
        assert_eq!(runs.last().unwrap().run, "20261202T2000Z-y");
    }
}
