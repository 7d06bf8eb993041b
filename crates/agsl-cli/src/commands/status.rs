//! `agsl status`: each table of a target (or of every job of a config), as a short block of
//! lines, or one JSON object per target with `--json`.

use std::io::Write;

use agsl::audit::{self, StatusJob, TableStatus, TargetStatus};
use agsl_formats::ServiceChoice;

use crate::cli::StatusArgs;
use crate::commands::targets;
use crate::output::{Output, counts_by_reason, thousands};

pub fn run(args: StatusArgs, output: &Output) -> anyhow::Result<()> {
    let storage = args.storage.options()?;
    let flags = args.target;
    let jobs: Vec<(Option<String>, StatusJob)> = match (&flags.config, flags.target) {
        (Some(config), _) => targets::config_jobs(config, &flags.jobs)?
            .iter()
            .map(|(name, job)| (name.clone(), StatusJob::from(job)))
            .collect(),
        (None, Some(target)) => vec![(
            None,
            StatusJob {
                target,
                source: flags.source,
                storage,
                format: flags.service.and_then(ServiceChoice::format),
            },
        )],
        (None, None) => {
            return Err(crate::UsageError("give --target, or --config".into()).into());
        }
    };
    for (name, job) in jobs {
        let status = audit::status(&job).map_err(|e| targets::in_job(name.as_deref(), e))?;
        if output.json {
            #[derive(serde::Serialize)]
            struct Named<'a> {
                #[serde(skip_serializing_if = "Option::is_none")]
                job: Option<&'a str>,
                #[serde(flatten)]
                status: &'a TargetStatus,
            }
            output.json_line(&Named {
                job: name.as_deref(),
                status: &status,
            })?;
        } else {
            print(name.as_deref(), &status)?;
        }
    }
    Ok(())
}

fn print(name: Option<&str>, status: &TargetStatus) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let job = name.map(|n| format!("job {n}: ")).unwrap_or_default();
    writeln!(out, "{job}{}", status.target)?;
    let unpublished = match status.unpublished_commits {
        0 => String::new(),
        n => format!(" ({n} not yet published: the next run finishes them)"),
    };
    writeln!(out, "  commits       {}{unpublished}", status.commits)?;
    writeln!(out, "  state         {}", state_line(status))?;
    if let Some(run) = &status.last_run {
        writeln!(out, "  last run      {}", run_line(run))?;
    }
    writeln!(
        out,
        "  last 7 days   {} runs, {} failed or killed",
        status.runs_recent, status.failed_runs_recent
    )?;
    if !status.skipped_recent.is_empty() {
        let reasons = counts_by_reason(&status.skipped_recent);
        writeln!(out, "  skipped       {reasons} (last 7 days)")?;
    }
    for table in &status.tables {
        print_table(&mut out, table)?;
    }
    Ok(())
}

fn print_table(out: &mut impl Write, t: &TableStatus) -> std::io::Result<()> {
    let folder = if t.folder.is_empty() {
        String::new()
    } else {
        format!(" ({}/)", t.folder)
    };
    writeln!(out, "  table {}{folder}", t.service)?;
    if let Some(run) = &t.last_run {
        writeln!(out, "    last run      {}", run_line(run))?;
    }
    writeln!(
        out,
        "    converted     {} objects, {} rows, {} rejects, {} files, {}",
        thousands(t.objects),
        thousands(t.rows),
        thousands(t.rejects),
        thousands(t.files),
        size(t.bytes)
    )?;
    writeln!(
        out,
        "    newest        event {}, key {}",
        time_or_dash(t.newest_event),
        time_or_dash(t.newest_key_time)
    )?;
    writeln!(
        out,
        "    last 7 days   {} rows, {} rejects",
        thousands(t.rows_recent),
        thousands(t.rejects_recent)
    )?;
    for (reason, n) in &t.rejects_recent_by_reason {
        writeln!(out, "      {:>9} {reason}", thousands(*n))?;
    }
    writeln!(
        out,
        "    partitions    {}, files per partition: median {}, max {}",
        thousands(t.partitions),
        t.files_per_partition_median,
        t.files_per_partition_max
    )?;
    if let Some(lag) = &t.lag {
        writeln!(
            out,
            "    lag           {} behind the source (newest source key {}), {} objects not converted yet",
            duration(lag.seconds),
            time_or_dash(lag.newest_source_key_time),
            thousands(lag.pending_objects)
        )?;
    }
    Ok(())
}

fn run_line(run: &audit::RunStatus) -> String {
    let mut line = format!(
        "{} {}, started {}, {}",
        run.run,
        run.outcome,
        time_or_dash(Some(run.started_at as i64 * 1_000_000)),
        duration(run.seconds)
    );
    if let Some(error) = &run.error {
        line.push_str(": ");
        line.push_str(error);
    }
    line
}

/// `2026-12-03 10:37:50 UTC`, or `-`.
fn time_or_dash(micros: Option<i64>) -> String {
    let Some(micros) = micros else {
        return "-".to_owned();
    };
    let mut text = String::new();
    agsl_formats::time::format_iso8601_micros(micros, &mut text);
    format!("{} UTC", text[..19].replace('T', " "))
}

/// What a run reads of the state and holds in memory: what grows with the target's history.
fn state_line(status: &TargetStatus) -> String {
    let stored = &status.state;
    let records = format!(
        "{} record{} ({})",
        thousands(stored.records),
        if stored.records == 1 { "" } else { "s" },
        size(stored.record_bytes)
    );
    let read = match stored.checkpoint {
        0 => format!("no checkpoint yet, {records}"),
        commit => format!(
            "checkpoint at commit {commit} ({}) and {records} after it",
            size(stored.checkpoint_bytes)
        ),
    };
    format!(
        "{read}; ledger of {} objects and {} files",
        thousands(status.ledger_objects),
        thousands(status.ledger_files)
    )
}

/// `512 KB`, `61.2 GB`, `3.4 TB` (10^3 multiples).
fn size(bytes: u64) -> String {
    let units = ["bytes", "KB", "MB", "GB", "TB", "PB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// `42 s`, `12 min`, `3.5 h`, `2.0 days`.
fn duration(seconds: u64) -> String {
    match seconds {
        0..120 => format!("{seconds} s"),
        120..7200 => format!("{} min", seconds / 60),
        7200..172_800 => format!("{:.1} h", seconds as f64 / 3600.0),
        _ => format!("{:.1} days", seconds as f64 / 86_400.0),
    }
}
