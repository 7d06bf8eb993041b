//! Run figures for alarms, with dimensions `service` and `table`: CloudWatch Embedded Metric
//! Format records (one JSON line per run and service, which a Glue, ECS or Lambda log group
//! turns into metrics without an agent) and a Prometheus textfile (for node_exporter's
//! textfile collector). A failed run is a record too (`Failures` 1), so an alarm on it fires.

use std::fmt::Write as _;
use std::path::PathBuf;

use agsl_formats::Format;
use serde_json::{Map, Value, json};

use crate::RunSummary;

/// The CloudWatch namespace of the EMF metrics.
pub const NAMESPACE: &str = "agsl";

/// Where run metrics go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricsOutput {
    /// EMF records on stdout.
    Emf,
    /// A Prometheus textfile, replaced atomically after every job.
    Prometheus(PathBuf),
}

impl std::str::FromStr for MetricsOutput {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value.split_once('=') {
            None if value == "emf" => Ok(MetricsOutput::Emf),
            Some(("prometheus", file)) if !file.is_empty() => {
                Ok(MetricsOutput::Prometheus(PathBuf::from(file)))
            }
            _ => Err(format!(
                "unknown metrics output `{value}`; expected `emf` or `prometheus=FILE`"
            )),
        }
    }
}

/// One run's figures for one table (or, for the run-level record of an `auto` run, for the
/// run: its skipped objects and failure).
#[derive(Debug, Clone, PartialEq)]
pub struct RunMetrics {
    pub job: String,
    pub service: String,
    pub table: String,
    pub objects: u64,
    pub rows: u64,
    pub rejects: u64,
    pub skipped_objects: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub seconds: f64,
    /// Age of the newest converted event at the end of the run.
    pub lag_seconds: Option<f64>,
    pub failures: u64,
}

/// Name and unit of each metric, in output order.
const FIGURES: [(&str, &str); 9] = [
    ("Objects", "Count"),
    ("Rows", "Count"),
    ("Rejects", "Count"),
    ("SkippedObjects", "Count"),
    ("BytesIn", "Bytes"),
    ("BytesOut", "Bytes"),
    ("Seconds", "Seconds"),
    ("LagSeconds", "Seconds"),
    ("Failures", "Count"),
];

/// The value of each of [`FIGURES`] (none for a lag no event gives).
fn values(m: &RunMetrics) -> [Option<f64>; 9] {
    [
        Some(m.objects as f64),
        Some(m.rows as f64),
        Some(m.rejects as f64),
        Some(m.skipped_objects as f64),
        Some(m.bytes_in as f64),
        Some(m.bytes_out as f64),
        Some(m.seconds),
        m.lag_seconds,
        Some(m.failures as f64),
    ]
}

/// The metrics of a finished run: one per table, plus a run-level one for `auto` runs.
/// `table` names the converted table of a one-service job; `now` is in microseconds.
pub fn run_metrics(job: &str, summary: &RunSummary, table: &str, now: i64) -> Vec<RunMetrics> {
    let lag = |s: &RunSummary| s.newest_event.map(|t| ((now - t).max(0) as f64) / 1e6);
    let one = |s: &RunSummary, table: &str, skipped: u64| RunMetrics {
        job: job.to_owned(),
        service: s.service.clone(),
        table: table.to_owned(),
        objects: s.objects,
        rows: s.rows,
        rejects: s.rejects,
        skipped_objects: skipped,
        bytes_in: s.bytes_in,
        bytes_out: s.bytes_out,
        seconds: s.seconds,
        lag_seconds: lag(s),
        failures: 0,
    };
    let skipped = summary
        .skipped_objects
        .saturating_sub(already_converted(summary));
    if summary.services.is_empty() && summary.service != "auto" {
        return vec![one(summary, table, skipped)];
    }
    let mut metrics: Vec<RunMetrics> = summary
        .services
        .iter()
        .map(|s| {
            let table = s.service.parse::<Format>().map_or("", Format::table_name);
            one(s, table, 0)
        })
        .collect();
    let mut run = one(summary, "", skipped);
    run.lag_seconds = None;
    metrics.push(run);
    metrics
}

fn already_converted(summary: &RunSummary) -> u64 {
    summary
        .skipped_reasons
        .get(crate::ALREADY_CONVERTED)
        .copied()
        .unwrap_or(0)
}

/// The metrics of a run that failed.
pub fn failed_run(job: &str, service: &str, table: &str, seconds: f64) -> RunMetrics {
    RunMetrics {
        job: job.to_owned(),
        service: service.to_owned(),
        table: table.to_owned(),
        objects: 0,
        rows: 0,
        rejects: 0,
        skipped_objects: 0,
        bytes_in: 0,
        bytes_out: 0,
        seconds,
        lag_seconds: None,
        failures: 1,
    }
}

/// One CloudWatch EMF record (a JSON line) for `metrics`; `timestamp_ms` since the epoch.
pub fn emf_record(metrics: &RunMetrics, timestamp_ms: u64) -> String {
    let figures: Vec<(&str, &str, f64)> = FIGURES
        .iter()
        .zip(values(metrics))
        .filter_map(|(&(name, unit), value)| Some((name, unit, value?)))
        .collect();
    let declared: Vec<Value> = figures
        .iter()
        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
        .collect();
    let mut record = Map::new();
    record.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["service", "table"]],
                "Metrics": declared,
            }],
        }),
    );
    record.insert("service".into(), json!(metrics.service));
    record.insert("table".into(), json!(metrics.table));
    record.insert("job".into(), json!(metrics.job));
    for (name, _, value) in figures {
        record.insert(name.into(), json!(value));
    }
    Value::Object(record).to_string()
}

/// A Prometheus textfile holding `metrics` (each a gauge labelled job, service and table),
/// stamped with `timestamp_s`.
pub fn prometheus_text(metrics: &[RunMetrics], timestamp_s: u64) -> String {
    let mut text = String::new();
    let values: Vec<[Option<f64>; 9]> = metrics.iter().map(values).collect();
    for (index, (name, unit)) in FIGURES.iter().enumerate() {
        let metric = format!("agsl_{}", snake_case(name, unit));
        let _ = writeln!(
            text,
            "# HELP {metric} {name} of the last run of each job and table."
        );
        let _ = writeln!(text, "# TYPE {metric} gauge");
        for (m, values) in metrics.iter().zip(&values) {
            if let Some(value) = values[index] {
                let _ = writeln!(text, "{metric}{{{}}} {value}", labels(m));
            }
        }
    }
    let _ = writeln!(
        text,
        "# HELP agsl_last_run_timestamp_seconds When the run ended."
    );
    let _ = writeln!(text, "# TYPE agsl_last_run_timestamp_seconds gauge");
    for m in metrics {
        let _ = writeln!(
            text,
            "agsl_last_run_timestamp_seconds{{{}}} {timestamp_s}",
            labels(m)
        );
    }
    text
}

/// `BytesIn` → `bytes_in_bytes`, `Rows` → `rows`, `LagSeconds` → `lag_seconds`: Prometheus
/// names are snake case and end in their unit once.
fn snake_case(name: &str, unit: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    match unit {
        "Bytes" if !out.ends_with("bytes") => out + "_bytes",
        "Seconds" if !out.ends_with("seconds") => out + "_seconds",
        _ => out,
    }
}

fn labels(m: &RunMetrics) -> String {
    let escape = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    format!(
        "job=\"{}\",service=\"{}\",table=\"{}\"",
        escape(&m.job),
        escape(&m.service),
        escape(&m.table)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> RunSummary {
        RunSummary {
            service: "alb".into(),
            objects: 3,
            rows: 100,
            rejects: 2,
            skipped_objects: 5,
            skipped_reasons: [
                (crate::ALREADY_CONVERTED.to_owned(), 4),
                ("NLB log".to_owned(), 1),
            ]
            .into(),
            bytes_in: 1000,
            bytes_out: 300,
            seconds: 1.5,
            newest_event: Some(1_000_000),
            ..RunSummary::default()
        }
    }

    #[test]
    fn an_emf_record_declares_every_metric_it_carries() {
        let metrics = run_metrics("job", &summary(), "alb", 61_000_000);
        assert_eq!(metrics.len(), 1);
        let record: Value = serde_json::from_str(&emf_record(&metrics[0], 42)).unwrap();
        assert_eq!(record["_aws"]["Timestamp"], 42);
        let directive = &record["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "agsl");
        assert_eq!(directive["Dimensions"], json!([["service", "table"]]));
        for declared in directive["Metrics"].as_array().unwrap() {
            let name = declared["Name"].as_str().unwrap();
            assert!(record[name].is_number(), "{name} is declared but missing");
        }
        assert_eq!(record["table"], "alb");
        assert_eq!(record["Rows"], 100.0);
        assert_eq!(
            record["SkippedObjects"], 1.0,
            "already converted is not a skip"
        );
        assert_eq!(record["LagSeconds"], 60.0);
        assert_eq!(record["Failures"], 0.0);
    }

    #[test]
    fn an_auto_run_gives_one_record_per_table_and_one_for_the_run() {
        let mut total = summary();
        total.service = "auto".into();
        let mut trail = summary();
        trail.service = "cloudtrail".into();
        total.services = vec![summary(), trail];
        let metrics = run_metrics("j", &total, "", 0);
        let tables: Vec<&str> = metrics.iter().map(|m| m.table.as_str()).collect();
        assert_eq!(tables, ["alb", "cloudtrail", ""]);
        assert_eq!(metrics[2].skipped_objects, 1);
        assert_eq!(metrics[0].skipped_objects, 0);
    }

    #[test]
    fn a_prometheus_textfile_has_one_gauge_per_figure() {
        let mut metrics = run_metrics("web", &summary(), "alb", 61_000_000);
        metrics.push(failed_run("trail", "cloudtrail", "cloudtrail", 2.0));
        let text = prometheus_text(&metrics, 7);
        assert!(text.contains("agsl_rows{job=\"web\",service=\"alb\",table=\"alb\"} 100\n"));
        assert!(text.contains("agsl_bytes_in_bytes{job=\"web\""));
        assert!(text.contains("agsl_lag_seconds{job=\"web\",service=\"alb\",table=\"alb\"} 60\n"));
        assert!(text.contains(
            "agsl_failures{job=\"trail\",service=\"cloudtrail\",table=\"cloudtrail\"} 1\n"
        ));
        assert!(!text.contains("agsl_lag_seconds{job=\"trail\""));
        assert_eq!(text.matches("# TYPE").count(), 10);
        assert!("prometheus=".parse::<MetricsOutput>().is_err());
        assert_eq!("emf".parse::<MetricsOutput>(), Ok(MetricsOutput::Emf));
    }
}
