//! `agsl convert`: one service, one source, one target table.

use std::time::Duration;

use agsl::{ConvertJob, Progress, RunSummary, TimeWindow, WriterOptions};

use crate::cli::{ConvertArgs, StorageArgs, TuningArgs};
use crate::output::Output;

pub fn run(args: ConvertArgs, output: &Output) -> anyhow::Result<()> {
    let job = job(args)?;
    let summary = convert(&job, output)?;
    output.summary(None, &summary)?;
    Ok(())
}

/// The library job the arguments describe.
pub fn job(args: ConvertArgs) -> anyhow::Result<ConvertJob> {
    let window = TimeWindow::new(args.since.as_deref(), args.until.as_deref())
        .map_err(|message| crate::UsageError(format!("--since/--until: {message}")))?;
    let mut job = ConvertJob::new(args.service.0, args.source, args.target).with_window(window);
    job.reprocess = args.reprocess;
    job.dry_run = args.dry_run;
    job.full_listing = args.full_listing;
    apply_tuning(&mut job, &args.tuning);
    apply_storage(&mut job, args.storage);
    Ok(job)
}

pub fn apply_tuning(job: &mut ConvertJob, tuning: &TuningArgs) {
    job.writer = WriterOptions::default()
        .with_target_file_bytes(tuning.target_file_size)
        .with_zstd_level(tuning.zstd_level);
    if let Some(workers) = tuning.workers {
        job.workers = workers.into();
    }
    job.commit_bytes = tuning.commit_size;
    job.lock_stale_after = Duration::from_secs(tuning.lock_timeout);
}

fn apply_storage(job: &mut ConvertJob, storage: StorageArgs) {
    job.storage.endpoint_url = storage.endpoint_url;
    job.storage.region = storage.region;
}

/// Runs the conversion with progress, without printing the summary.
pub fn convert(job: &ConvertJob, output: &Output) -> agsl::Result<RunSummary> {
    let progress = Progress::default();
    output.with_progress(&progress, || agsl::convert(job, &progress))
}
