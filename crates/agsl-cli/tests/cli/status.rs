//! `agsl status` and `--metrics`: what the ledger and the run records say, checked against
//! the generator's own counts, through the binary.

use std::path::Path;

use agsl::sample::write_sample;
use agsl_formats::Format;
use agsl_formats::sample::SamplePlan;
use serde_json::Value;

use super::{agsl, convert, files_below, sample, stderr};

fn status_json(target: &Path, source: Option<&Path>) -> Value {
    let mut args = vec!["status", "--json", "--target", target.to_str().unwrap()];
    if let Some(source) = source {
        args.extend(["--source", source.to_str().unwrap()]);
    }
    let output = agsl(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

#[test]
fn status_shows_the_last_run_the_table_and_the_lag() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("alb"));
    let written = sample(&source);
    let output = convert("alb", &source, &target, &["-q"]);
    assert!(output.status.success(), "{}", stderr(&output));

    let status = status_json(&target, Some(&source));
    assert_eq!(status["last_run"]["outcome"], "succeeded");
    assert_eq!(status["runs_recent"], 1);
    assert_eq!(status["failed_runs_recent"], 0);
    let table = &status["tables"][0];
    assert_eq!(table["service"], "alb");
    assert_eq!(table["objects"], 12);
    assert_eq!(table["rows"], written.facts.good_lines);
    assert_eq!(table["rejects"], written.facts.bad_lines);
    assert_eq!(table["rows_recent"], written.facts.good_lines);
    assert_eq!(table["rejects_recent"], written.facts.bad_lines);
    let by_reason = table["rejects_recent_by_reason"].as_object().unwrap();
    assert!(!by_reason.is_empty());
    let counted: u64 = by_reason.values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(counted, written.facts.bad_lines, "{by_reason:?}");
    assert!(table["files_per_partition_max"].as_u64().unwrap() >= 1);
    assert_eq!(table["lag"]["seconds"], 0);
    assert_eq!(table["lag"]["pending_objects"], 0);
    let newest_event = table["newest_event"].as_i64().unwrap();
    assert!(newest_event > 1_700_000_000_000_000, "{newest_event}");

    // An object delivered a day later: the source is a day ahead, one object pending.
    let objects = files_below(&source);
    let last = objects.last().unwrap();
    let name = last.file_name().unwrap().to_string_lossy().into_owned();
    let day = name
        .split('_')
        .find(|p| p.ends_with('Z') && p.len() == 14)
        .unwrap();
    let later = day.replace(
        &day[6..8],
        &format!("{:02}", day[6..8].parse::<u32>().unwrap() + 1),
    );
    let folder = last.parent().unwrap();
    std::fs::copy(last, folder.join(name.replace(day, &later))).unwrap();
    let status = status_json(&target, Some(&source));
    let lag = &status["tables"][0]["lag"];
    assert_eq!(lag["pending_objects"], 1, "{status}");
    let newest_key = status["tables"][0]["newest_key_time"].as_i64().unwrap();
    assert_eq!(
        lag["seconds"].as_i64().unwrap(),
        (lag["newest_source_key_time"].as_i64().unwrap() - newest_key) / 1_000_000
    );
    assert_eq!(lag["seconds"], 86_400, "{status}");

    // Without a source: no lag, nothing listed.
    let status = status_json(&target, None);
    assert!(status["tables"][0]["lag"].is_null());
    // The human form names the table and its rows.
    let output = agsl(&["status", "--target", target.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("  table alb\n"), "{text}");
    let state = format!(
        "  state         no checkpoint yet, {} records (",
        status["commits"]
    );
    assert!(text.contains(&state), "{state}\n{text}");
    assert!(
        text.contains(&format!("{} rejects", written.facts.bad_lines)),
        "{text}"
    );
}

#[test]
fn status_shows_what_a_run_reads_of_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("alb"));
    let plan = SamplePlan {
        objects: 20,
        lines_per_object: 20,
        bad_line_every: Some(7),
        ..SamplePlan::default()
    };
    write_sample(Format::Alb, plan, &source).unwrap();
    // One commit per object (and one saying how far the source was listed): the checkpoint is
    // written at commit 16, the records after it are kept.
    let output = convert("alb", &source, &target, &["-q", "--commit-size", "1"]);
    assert!(output.status.success(), "{}", stderr(&output));

    let status = status_json(&target, None);
    let on_disk = |folder: &str, after: u64| -> (u64, u64) {
        let mut found = (0, 0);
        for file in files_below(&target.join("_agsl").join(folder)) {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let sequence: u64 = name.split('.').next().unwrap().parse().unwrap();
            if name.ends_with(".published") || sequence <= after {
                continue;
            }
            found = (
                found.0 + 1,
                found.1 + std::fs::metadata(&file).unwrap().len(),
            );
        }
        found
    };
    let (checkpoints, checkpoint_bytes) = on_disk("checkpoint", 0);
    let (records, record_bytes) = on_disk("log", 16);
    let commits = status["commits"].as_u64().unwrap();
    assert!(commits > 20, "{status}");
    assert_eq!((checkpoints, records), (1, commits - 16));
    let state = &status["state"];
    assert_eq!(state["checkpoint"], 16, "{status}");
    assert_eq!(state["checkpoint_bytes"], checkpoint_bytes);
    assert_eq!(state["records"], records);
    assert_eq!(state["record_bytes"], record_bytes);
    assert_eq!(status["ledger_objects"], 20);
    let committed = files_below(&target)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "parquet"))
        .filter(|f| !f.starts_with(target.join("_agsl")))
        .count();
    assert!(
        committed > 20,
        "a table file and a rejects file per object: {committed}"
    );
    assert_eq!(status["ledger_files"], committed as u64);

    let output = agsl(&["status", "--target", target.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&output.stdout);
    let line = format!(
        "  state         checkpoint at commit 16 ({}) and {records} records (",
        if checkpoint_bytes < 1000 {
            format!("{checkpoint_bytes} bytes")
        } else {
            format!("{:.1} KB", checkpoint_bytes as f64 / 1000.0)
        }
    );
    assert!(text.contains(&line), "{line}\n{text}");
    assert!(
        text.contains(") after it; ledger of 20 objects and "),
        "{text}"
    );
}

#[test]
fn a_failed_run_is_recorded_and_alarmed_on() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("all"));
    sample(&source);
    // An object whose key says nothing: `auto` reads it to detect it, and that read fails.
    let first = files_below(&source).remove(0);
    std::fs::copy(&first, source.join("unnamed.log.gz")).unwrap();
    let metrics = dir.path().join("agsl.prom");
    let metrics_flag = format!("prometheus={}", metrics.display());
    let output = agsl(&[
        "convert",
        "--service",
        "auto",
        "--source",
        source.to_str().unwrap(),
        "--target",
        target.to_str().unwrap(),
        "--metrics",
        &metrics_flag,
        "-q",
    ]);
    let failed = std::process::Command::new(env!("CARGO_BIN_EXE_agsl"))
        .args([
            "convert",
            "--service",
            "auto",
            "--source",
            source.to_str().unwrap(),
            "--target",
            dir.path().join("failing").to_str().unwrap(),
            "--metrics",
            "emf",
            "-q",
        ])
        .env("AGSL_FAIL_AT", "detect-read")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));

    // The failing run: its record says so, and its EMF record carries Failures 1.
    let status = status_json(&dir.path().join("failing"), None);
    assert_eq!(status["last_run"]["outcome"], "failed", "{status}");
    assert!(
        status["last_run"]["error"]
            .as_str()
            .unwrap()
            .contains("injected read failure"),
        "{status}"
    );
    assert_eq!(status["failed_runs_recent"], 1);
    let emf: Value = serde_json::from_slice(&failed.stdout).expect("one EMF record");
    assert_eq!(emf["Failures"], 1.0);
    assert_eq!(emf["service"], "auto");
    assert_eq!(emf["_aws"]["CloudWatchMetrics"][0]["Namespace"], "agsl");

    // The good run's textfile: one gauge per table and figure, and the run-level skips.
    let text = std::fs::read_to_string(&metrics).unwrap();
    let rows_line = text
        .lines()
        .find(|l| l.starts_with("agsl_rows{") && l.contains("table=\"alb\""))
        .expect("an alb rows gauge");
    let status = status_json(&target, None);
    let alb = status["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["service"] == "alb")
        .unwrap();
    assert!(
        rows_line.ends_with(&format!(" {}", alb["rows"])),
        "{rows_line} vs {alb}"
    );
    assert!(text.contains("agsl_failures{"), "{text}");
}
