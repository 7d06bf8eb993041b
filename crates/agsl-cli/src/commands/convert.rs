//! `agsl convert`: one service, one source, one target table.

use std::time::Instant;

use agsl::{ConvertJob, JobSpec, Location, Progress, RunSummary};
use agsl_formats::ServiceChoice;

use crate::cli::{CatalogArgs, ConvertArgs, StorageArgs};
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
    let mut spec = spec(
        args.service,
        args.source,
        args.target,
        args.storage,
        &args.catalog,
    );
    spec.since = args.since;
    spec.until = args.until;
    spec.reprocess = Some(args.reprocess);
    spec.full_listing = Some(args.full_listing);
    spec.skip_archived = Some(args.skip_archived);
    spec.rejects = args.rejects;
    spec.partitioning = Some(args.partitioning);
    spec.account_id = args.account_id;
    spec.record_fields = args.record_fields;
    spec.field_delimiter = args.field_delimiter;
    let tuning = args.tuning;
    spec.target_file_size = Some(tuning.target_file_size);
    spec.zstd_level = Some(tuning.zstd_level);
    spec.workers = tuning.workers.map(usize::from);
    spec.commit_size = Some(tuning.commit_size);
    spec.fetch_concurrency = Some(tuning.fetch_concurrency.into());
    spec.fetch_buffer = Some(tuning.fetch_buffer);
    spec.lock_timeout_seconds = usize::try_from(tuning.lock_timeout).ok();
    let mut job = build(spec)?;
    job.dry_run = args.dry_run;
    Ok(job)
}

/// The settings every command that names a table gives: what, from where, to where, how S3
/// is reached, and the catalog with its names.
pub fn spec(
    service: ServiceChoice,
    source: Location,
    target: Location,
    storage: StorageArgs,
    catalog: &CatalogArgs,
) -> JobSpec {
    let names = catalog.names.clone();
    JobSpec {
        service: Some(service),
        source: Some(source),
        target: Some(target),
        endpoint_url: storage.endpoint_url,
        region: storage.region,
        sse: storage.sse,
        sse_kms_key_id: storage.sse_kms_key_id,
        catalog: Some(catalog.catalog),
        partition_projection: Some(catalog.partition_projection),
        database: names.database,
        table: names.table,
        raw_database: names.raw_database,
        raw_table: names.raw_table,
        ..JobSpec::default()
    }
}

/// The job of `spec`, through the library's one builder; its complaints name the flags.
pub fn build(spec: JobSpec) -> Result<ConvertJob, crate::UsageError> {
    spec.build()
        .map_err(|invalid| crate::UsageError(invalid.with_flags()))
}

/// Runs the conversion with progress, without printing the summary.
pub fn convert(job: &ConvertJob, output: &Output) -> agsl::Result<RunSummary> {
    let progress = Progress::default();
    output.with_progress(&progress, || agsl::convert(job, &progress))
}
