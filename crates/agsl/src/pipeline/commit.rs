//! Committing a run's work: each service's objects are cut into units of bounded size
//! ([`CommitBatches`]); a converted unit's staged files are committed by appending its record
//! to the commit log with a conditional create, and only then moved into their partitions (see
//! [`crate::state`]). Only a run that still holds the target's lock commits.

use super::plan::ObjectTask;
use super::unit::{Stager, UnitOutput};
use super::{ConvertJob, unix_seconds};
use crate::error::Result;
use crate::state::{Commit, CommitLog, TargetLock};
use crate::storage::Store;

/// Stages, commits and publishes the work of one run.
pub(super) struct Committer<'a> {
    pub(super) job: &'a ConvertJob,
    pub(super) target: &'a Store,
    pub(super) lock: &'a TargetLock,
    pub(super) run: &'a str,
}

impl Committer<'_> {
    /// Stages files in this run's target.
    pub(super) fn stager(&self) -> Stager<'_> {
        Stager {
            job: self.job,
            target: self.target,
        }
    }

    /// Appends a commit, once this run is sure it still holds the lock.
    pub(super) fn commit(&self, log: &mut CommitLog, commit: Commit) -> Result<u64> {
        self.lock.check()?;
        Ok(log.commit(commit)?)
    }

    /// Commits a converted unit's staged files and the coverage they give.
    pub(super) fn commit_unit(&self, log: &mut CommitLog, output: UnitOutput) -> Result<u64> {
        self.commit(
            log,
            Commit {
                run: self.run.to_owned(),
                committed_at: unix_seconds(),
                covered: output.covered,
                added: output.added,
                ..Commit::default()
            },
        )
    }
}

/// Objects per commit at most, however small: a commit's record names each of its objects, so
/// a million tiny (or empty) objects make many records of bounded size, not one of 150 MB.
pub const MAX_COMMIT_OBJECTS: usize = 50_000;

/// The tasks of one service in commits, in order: consecutive runs of at least `bytes` stored
/// bytes each (the last may be smaller) and of at most [`MAX_COMMIT_OBJECTS`] tasks. Each
/// batch is handed out by value and the tasks left are shrunk as they halve, so a plan of a
/// million objects gives its memory back while the ledger fills up, instead of holding both.
pub(super) struct CommitBatches {
    /// The tasks not handed out yet, last first (batches are split off the end).
    rest: Vec<ObjectTask>,
    bytes: u64,
}

impl CommitBatches {
    pub(super) fn new(mut tasks: Vec<ObjectTask>, bytes: u64) -> Self {
        tasks.reverse();
        Self { rest: tasks, bytes }
    }
}

impl Iterator for CommitBatches {
    type Item = Vec<ObjectTask>;

    fn next(&mut self) -> Option<Vec<ObjectTask>> {
        let mut size = 0;
        let mut count = 0;
        for task in self.rest.iter().rev().take(MAX_COMMIT_OBJECTS) {
            if count > 0 && size >= self.bytes {
                break;
            }
            size += task.size;
            count += 1;
        }
        if count == 0 {
            return None;
        }
        let mut batch = self.rest.split_off(self.rest.len() - count);
        batch.reverse();
        if self.rest.capacity() > 2 * self.rest.len() {
            self.rest.shrink_to_fit();
        }
        Some(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_are_bounded_by_bytes_and_by_objects() {
        let task = |size| ObjectTask {
            key: "k".into(),
            size,
            todo: crate::window::Spans::everything(),
            first_pass: true,
        };
        let sized: Vec<ObjectTask> = (0..10).map(|i| task(40 + i)).collect();
        let batches: Vec<Vec<u64>> = CommitBatches::new(sized, 100)
            .map(|batch| batch.iter().map(|t| t.size).collect())
            .collect();
        assert_eq!(
            batches,
            [
                vec![40, 41, 42],
                vec![43, 44, 45],
                vec![46, 47, 48],
                vec![49]
            ],
            "in plan order"
        );
        let empty: Vec<ObjectTask> = (0..MAX_COMMIT_OBJECTS * 2 + 1).map(|_| task(0)).collect();
        let mut batches = CommitBatches::new(empty, 100);
        assert_eq!(batches.next().map(|b| b.len()), Some(MAX_COMMIT_OBJECTS));
        assert_eq!(batches.next().map(|b| b.len()), Some(MAX_COMMIT_OBJECTS));
        assert!(
            batches.rest.capacity() < MAX_COMMIT_OBJECTS,
            "what is handed out is given back"
        );
        let lengths: Vec<usize> = batches.map(|b| b.len()).collect();
        assert_eq!(lengths, [1]);
    }
}
