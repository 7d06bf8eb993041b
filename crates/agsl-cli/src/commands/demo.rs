//! `agsl demo`: the first thing a new user runs. Generates a day-crossing sample of one
//! service's logs in the AWS layout (with a few damaged lines), converts it, and reads the
//! Parquet back.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::Path;

use agsl::Format;
use agsl::sample::write_sample;
use agsl_formats::sample::{self, SamplePlan};
use anyhow::Context;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::cli::{ConvertArgs, DemoArgs, parse_size};
use crate::commands::convert;
use crate::output::{Output, thousands};

pub fn run(args: DemoArgs, output: &Output) -> anyhow::Result<()> {
    let dir = args
        .dir
        .unwrap_or_else(|| std::env::temp_dir().join("agsl-demo"));
    let service = args.service;
    let source = dir.join("source");
    let target = dir.join(service.keyword());
    for folder in [&source, &target] {
        if folder.exists() {
            fs::remove_dir_all(folder)
                .with_context(|| format!("cannot clear `{}`", folder.display()))?;
        }
    }
    let plan = SamplePlan {
        objects: 36,
        lines_per_object: 2_000,
        bad_line_every: Some(4_999),
        ..SamplePlan::default()
    };
    let written = write_sample(service, plan, &source)?;
    output.note(format!(
        "generated {} {service} log objects ({} lines, {:.1} MB) under {}",
        written.objects,
        thousands(written.facts.good_lines + written.facts.bad_lines),
        written.bytes as f64 / 1e6,
        source.display()
    ));
    let summary = convert::convert(
        ConvertArgs {
            service,
            source: source.clone(),
            target: target.clone(),
            target_file_size: parse_size("256MiB").map_err(anyhow::Error::msg)?,
            zstd_level: 1,
            workers: None,
        },
        output,
    )?;
    output.summary(&summary)?;
    if output.json {
        return Ok(());
    }

    let (by_status, sent_bytes) = read_back(&target, service)?;
    let rows: u64 = by_status.values().sum();
    println!(
        "\nRead back from the Parquet table ({} rows):",
        thousands(rows)
    );
    println!(
        "  {:>15}  {:>9}  {:>6}",
        sample::summary_column(service),
        "rows",
        "share"
    );
    for (status, count) in &by_status {
        let status = status.map_or("-".to_owned(), |s| s.to_string());
        println!(
            "  {status:>15}  {:>9}  {:>5.1}%",
            thousands(*count),
            *count as f64 * 100.0 / rows as f64
        );
    }
    println!(
        "  {} total: {:.1} MB",
        sample::bytes_sent_column(service),
        sent_bytes as f64 / 1e6
    );
    println!("\nPartitions:");
    for partition in &summary.partitions {
        println!("  {}", target.join(partition).display());
    }
    println!("\nTable:   {}", target.display());
    println!(
        "Rejects: {} ({} lines)",
        target.join("_rejects").display(),
        summary.rejects
    );
    println!(
        "Query it, e.g. with DuckDB:\n  SELECT {}, count(*) FROM read_parquet('{}/{}*.parquet', hive_partitioning=true) GROUP BY 1;",
        sample::summary_column(service),
        target.display(),
        partition_glob(service)
    );
    Ok(())
}

/// Requests per status code and the total of bytes sent, read with the parquet reader.
fn read_back(table: &Path, service: Format) -> anyhow::Result<(BTreeMap<Option<i32>, u64>, i64)> {
    let mut by_status = BTreeMap::new();
    let mut sent_bytes = 0i64;
    let files = agsl::sink::table_files(table)
        .with_context(|| format!("cannot list `{}`", table.display()))?;
    for path in files {
        let file =
            File::open(&path).with_context(|| format!("cannot open `{}`", path.display()))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
        let columns = [
            sample::summary_column(service),
            sample::bytes_sent_column(service),
        ];
        let mask = ProjectionMask::columns(builder.parquet_schema(), columns);
        for batch in builder.with_projection(mask).build()? {
            let batch = batch?;
            let status = batch
                .column_by_name(columns[0])
                .and_then(|c| c.as_primitive_opt::<Int32Type>())
                .with_context(|| {
                    format!(
                        "`{}` is missing or not Int32 in `{}`",
                        columns[0],
                        path.display()
                    )
                })?;
            for value in status.iter() {
                *by_status.entry(value).or_default() += 1;
            }
            let bytes = batch
                .column_by_name(columns[1])
                .and_then(|c| c.as_primitive_opt::<Int64Type>())
                .with_context(|| {
                    format!(
                        "`{}` is missing or not Int64 in `{}`",
                        columns[1],
                        path.display()
                    )
                })?;
            sent_bytes += bytes.iter().flatten().sum::<i64>();
        }
    }
    Ok((by_status, sent_bytes))
}

/// `*/` once per partition level, so a glob reaches the data files and never `_rejects/`.
fn partition_glob(service: Format) -> String {
    let levels = service
        .parser()
        .map_or(0, |format| format.partitioning().keys().len());
    "*/".repeat(levels)
}
