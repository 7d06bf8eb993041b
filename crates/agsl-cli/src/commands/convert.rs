//! `agsl convert`: one service, one source folder, one target table.

use agsl::{ConvertJob, Progress, RunSummary, WriterOptions};

use crate::cli::ConvertArgs;
use crate::output::Output;

pub fn run(args: ConvertArgs, output: &Output) -> anyhow::Result<()> {
    let summary = convert(args, output)?;
    output.summary(&summary)?;
    Ok(())
}

/// Runs the conversion with progress, without printing the summary.
pub fn convert(args: ConvertArgs, output: &Output) -> agsl::Result<RunSummary> {
    let writer = WriterOptions::default()
        .with_target_file_bytes(args.target_file_size)
        .with_zstd_level(args.zstd_level);
    let mut job =
        ConvertJob::new(args.service.0, args.source, args.target).with_writer_options(writer);
    if let Some(workers) = args.workers {
        job = job.with_workers(workers.into());
    }
    let progress = Progress::default();
    output.with_progress(&progress, || agsl::convert(&job, &progress))
}
