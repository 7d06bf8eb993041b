//! `agsl demo`: the first thing a new user runs. Generates a day-crossing sample of one
//! service's logs in the AWS layout (with a few damaged lines), converts it, and reads the
//! Parquet back.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::Path;

use agsl::sample::write_sample;
use agsl::{ConvertJob, Format, RunSummary};
use agsl_formats::sample::SamplePlan;
use anyhow::Context;
use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::cli::DemoArgs;
use crate::commands::convert;
use crate::output::{Output, thousands};

pub fn run(args: DemoArgs, output: &Output) -> anyhow::Result<()> {
    let dir = args
        .dir
        .unwrap_or_else(|| std::env::temp_dir().join("agsl-demo"));
    let services = match args.service.format() {
        Some(service) => vec![service],
        None => Format::ALL.to_vec(),
    };
    let source = dir.join("source");
    let target = match args.service.format() {
        Some(service) => dir.join(service.keyword()),
        None => dir.join("tables"),
    };
    for folder in [&source, &target] {
        if folder.exists() {
            fs::remove_dir_all(folder)
                .with_context(|| format!("cannot clear `{}`", folder.display()))?;
        }
    }
    for service in &services {
        let plan = SamplePlan {
            objects: 36,
            lines_per_object: 2_000,
            bad_line_every: Some(4_999),
            ..SamplePlan::default()
        };
        let written = write_sample(*service, plan, &source)?;
        output.note(format!(
            "generated {} {service} log objects ({} lines, {:.1} MB) under {}",
            written.objects,
            thousands(written.facts.good_lines + written.facts.bad_lines),
            written.bytes as f64 / 1e6,
            source.display()
        ));
    }
    let job = ConvertJob::new(args.service.format(), source.clone(), target.clone());
    let summary = convert::convert(&job, output)?;
    output.summary(None, &summary)?;
    if output.json {
        return Ok(());
    }
    match args.service.format() {
        Some(service) => report(service, &target, &summary),
        None => {
            for service_summary in &summary.services {
                let service: Format = service_summary.service.parse()?;
                report(service, &target.join(service.table_name()), service_summary)?;
            }
            Ok(())
        }
    }
}

/// Reads one table back and prints what is in it and where.
fn report(service: Format, target: &Path, summary: &RunSummary) -> anyhow::Result<()> {
    let (by_value, sent_bytes) = read_back(target, service)?;
    let rows: u64 = by_value.values().sum();
    println!(
        "\n{service}: read back from the Parquet table ({} rows):",
        thousands(rows)
    );
    println!(
        "  {:>18}  {:>9}  {:>6}",
        service.info().summary_column,
        "rows",
        "share"
    );
    for (value, count) in by_value.iter().take(12) {
        println!(
            "  {value:>18}  {:>9}  {:>5.1}%",
            thousands(*count),
            *count as f64 * 100.0 / rows as f64
        );
    }
    if let (Some(column), Some(total)) = (service.info().bytes_sent_column, sent_bytes) {
        println!("  {column} total: {:.1} MB", total as f64 / 1e6);
    }
    println!("Partitions:");
    for partition in &summary.partitions {
        println!("  {}", target.join(partition).display());
    }
    println!("Table:   {}", target.display());
    println!(
        "Rejects: {} ({} lines)",
        target.join("_rejects").display(),
        summary.rejects
    );
    println!(
        "Query it, e.g. with DuckDB:\n  SELECT {}, count(*) FROM read_parquet('{}/{}*.parquet', hive_partitioning=true) GROUP BY 1;",
        service.info().summary_column,
        target.display(),
        partition_glob(service)
    );
    Ok(())
}

/// Rows per value of the service's summary column and the total of bytes sent (when the
/// service has a byte column), read back with the parquet reader.
fn read_back(
    table: &Path,
    service: Format,
) -> anyhow::Result<(BTreeMap<String, u64>, Option<i64>)> {
    let group = service.info().summary_column;
    let bytes = service.info().bytes_sent_column;
    let mut counts = BTreeMap::new();
    let mut sent_bytes = bytes.map(|_| 0i64);
    let files = agsl::sink::table_files(table)
        .with_context(|| format!("cannot list `{}`", table.display()))?;
    for path in files {
        let file =
            File::open(&path).with_context(|| format!("cannot open `{}`", path.display()))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
        let mask =
            ProjectionMask::columns(builder.parquet_schema(), [group].into_iter().chain(bytes));
        for batch in builder.with_projection(mask).build()? {
            let batch = batch?;
            let values = batch
                .column_by_name(group)
                .with_context(|| format!("`{group}` is missing in `{}`", path.display()))?;
            let formatter = ArrayFormatter::try_new(values.as_ref(), &FormatOptions::default())?;
            for row in 0..values.len() {
                let value = if values.is_null(row) {
                    "-".to_owned()
                } else {
                    formatter.value(row).to_string()
                };
                *counts.entry(value).or_default() += 1;
            }
            if let (Some(column), Some(total)) = (bytes, sent_bytes.as_mut()) {
                let sent = batch
                    .column_by_name(column)
                    .and_then(|c| c.as_primitive_opt::<Int64Type>())
                    .with_context(|| {
                        format!("`{column}` is missing or not Int64 in `{}`", path.display())
                    })?;
                *total += sent.iter().flatten().sum::<i64>();
            }
        }
    }
    Ok((counts, sent_bytes))
}

/// `*/` once per partition level, so a glob reaches the data files and never `_rejects/`.
fn partition_glob(service: Format) -> String {
    let levels = service.info().partitioning.keys().len();
    "*/".repeat(levels)
}
