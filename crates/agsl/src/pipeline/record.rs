//! The record each run leaves for `status` (see [`crate::state::RunRecord`]): written when the
//! run has the lock, rewritten with its outcome and counts when it ends.

use super::{ALREADY_CONVERTED, RunSummary, unix_seconds};
use crate::state::{RunOutcome, RunRecord, TableCounts, write_run};
use crate::storage::Store;

/// Writes a run's record. Records only inform `status`, so failing to write one is a warning:
/// it never fails a conversion whose commits are in.
pub(super) fn keep(target: &Store, record: &RunRecord) {
    if let Err(error) = write_run(target, record, unix_seconds()) {
        tracing::warn!(%error, run = record.run, "could not write the run record");
    }
}

/// Fills in what a run that succeeded did.
pub(super) fn finish(record: &mut RunRecord, summary: &RunSummary) {
    record.outcome = RunOutcome::Succeeded;
    let services = if summary.services.is_empty() {
        std::slice::from_ref(summary)
    } else {
        &summary.services[..]
    };
    for s in services {
        record.tables.insert(
            s.service.clone(),
            TableCounts {
                objects: s.objects,
                lines: s.lines,
                rows: s.rows,
                rejects: s.rejects,
                reject_reasons: s.reject_reasons.clone(),
                bytes_in: s.bytes_in,
                source_bytes: s.source_bytes,
                bytes_out: s.bytes_out,
                files: s.files,
                commits: s.commits,
            },
        );
    }
    record.skipped_reasons = summary
        .skipped_reasons
        .iter()
        .filter(|(reason, _)| reason.as_str() != ALREADY_CONVERTED)
        .map(|(reason, count)| (reason.clone(), *count))
        .collect();
    record.skipped_objects = record.skipped_reasons.values().sum();
}
