//! `agsl convert`: one service, one source, one target table.

use std::time::{Duration, Instant};

use agsl::{ConvertJob, Progress, RunSummary, TimeWindow, WriterOptions};

use crate::cli::{ConvertArgs, StorageArgs, TableNameArgs, TuningArgs};
use crate::metrics::MetricsReporter;
use crate::output::Output;

pub fn run(args: ConvertArgs, output: &Output) -> anyhow::Result<()> {
    let mut metrics = MetricsReporter::new(args.metrics.clone());
    let job = job(args)?;
    let started = Instant::now();
    let result = convert(&job, output);
    metrics.job(&job_name(&job), &job, &result, started)?;
    output.summary(None, &result?)?;
    Ok(())
}

/// The `job` label of a one-off conversion's metrics: its service and target.
fn job_name(job: &ConvertJob) -> String {
    let service = job.format.map_or("auto".to_owned(), |f| f.to_string());
    format!("convert {service} {}", job.target)
}

/// The library job the arguments describe.
pub fn job(args: ConvertArgs) -> anyhow::Result<ConvertJob> {
    let window = TimeWindow::new(args.since.as_deref(), args.until.as_deref())
        .map_err(|message| crate::UsageError(format!("--since/--until: {message}")))?;
    let mut job =
        ConvertJob::new(args.service.format(), args.source, args.target).with_window(window);
    job.reprocess = args.reprocess;
    job.dry_run = args.dry_run;
    job.full_listing = args.full_listing;
    job.rejects = args.rejects;
    job.partitioning = args.partitioning;
    job.account_id = args.account_id;
    apply_tuning(&mut job, &args.tuning)?;
    apply_storage(&mut job, args.storage)?;
    job.catalog.kind = args.catalog.catalog;
    job.catalog.partition_projection = args.catalog.partition_projection;
    apply_names(&mut job, args.catalog.names)?;
    job.validate().map_err(crate::UsageError)?;
    Ok(job)
}

/// Database and table names; table names need one service.
pub fn apply_names(job: &mut ConvertJob, names: TableNameArgs) -> anyhow::Result<()> {
    if job.format.is_none() && (names.table.is_some() || names.raw_table.is_some()) {
        return Err(crate::UsageError(
            "--table and --raw-table name one service's tables; with --service auto each service gets the seed's table names".into(),
        )
        .into());
    }
    job.catalog.database = names.database;
    job.catalog.table = names.table;
    job.catalog.raw_database = names.raw_database;
    job.catalog.raw_table = names.raw_table;
    Ok(())
}

pub fn apply_tuning(job: &mut ConvertJob, tuning: &TuningArgs) -> Result<(), crate::UsageError> {
    job.writer = WriterOptions::default()
        .with_target_file_bytes(tuning.target_file_size)
        .with_zstd_level(tuning.zstd_level)
        .map_err(|e| crate::UsageError(e.to_string()))?;
    if let Some(workers) = tuning.workers {
        job.workers = workers.into();
    }
    job.commit_bytes = tuning.commit_size;
    job.fetch = agsl::source::FetchOptions {
        concurrency: tuning.fetch_concurrency.into(),
        buffer_bytes: tuning.fetch_buffer,
    };
    job.lock_stale_after = Duration::from_secs(tuning.lock_timeout);
    Ok(())
}

pub fn apply_storage(job: &mut ConvertJob, storage: StorageArgs) -> Result<(), crate::UsageError> {
    job.storage = storage.options()?;
    Ok(())
}

/// Runs the conversion with progress, without printing the summary.
pub fn convert(job: &ConvertJob, output: &Output) -> agsl::Result<RunSummary> {
    let progress = Progress::default();
    output.with_progress(&progress, || agsl::convert(job, &progress))
}
