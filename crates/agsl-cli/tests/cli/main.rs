//! End-to-end tests of the `agsl` binary: exit codes, one-line errors, `--json`, and a real
//! conversion read back with the parquet crate.

mod archived;
mod aws_errors;
mod copies;
mod ddl;
mod glue;
mod glue_job;
mod kill;
mod moto;
mod place;
mod raw_regex_java;
mod s3;
mod state;
mod status;
mod targets;
mod verify;

use std::path::Path;
use std::process::{Command, Output};

use agsl::sample::{WrittenSample, write_sample};
use agsl_formats::Format;
use agsl_formats::sample::SamplePlan;
use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn agsl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agsl"))
        .args(args)
        .env_remove("AGSL_JSON")
        .env_remove("AGSL_QUIET")
        .output()
        .expect("the binary runs")
}

/// The arguments of `agsl convert --service <service> --source <source> --target <target>`,
/// then `extra`.
fn convert_args<'a>(
    service: &'a str,
    source: &'a str,
    target: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "convert",
        "--service",
        service,
        "--source",
        source,
        "--target",
        target,
    ];
    args.extend_from_slice(extra);
    args
}

/// `agsl convert --service <service> --source <source> --target <target> <extra...>`.
fn convert(service: &str, source: &Path, target: &Path, extra: &[&str]) -> Output {
    let (source, target) = (source.to_str().unwrap(), target.to_str().unwrap());
    agsl(&convert_args(service, source, target, extra))
}

/// Every file below `root`, sorted.
fn files_below(root: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_below(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn sample(dir: &Path) -> WrittenSample {
    let plan = SamplePlan {
        objects: 12,
        lines_per_object: 300,
        bad_line_every: Some(101),
        ..SamplePlan::default()
    };
    write_sample(Format::Alb, plan, dir).unwrap()
}

/// The distinct `_source_key` URLs of a local table's rows.
fn table_sources(root: &Path) -> std::collections::BTreeSet<String> {
    read_table(root)
        .iter()
        .flat_map(|batch| {
            let column = batch.column_by_name("_source_key").unwrap();
            column
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn read_table(root: &Path) -> Vec<RecordBatch> {
    agsl::sink::table_files(root)
        .unwrap()
        .into_iter()
        .flat_map(|path| {
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
                .unwrap()
                .build()
                .unwrap()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn convert_reports_json_and_writes_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("alb"));
    let written = sample(&source);
    let output = convert("alb", &source, &target, &["--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("stdout is one JSON object");
    for key in [
        "objects",
        "rows",
        "rejects",
        "skipped_objects",
        "bytes_in",
        "bytes_out",
        "seconds",
        "cpu_seconds",
    ] {
        assert!(json.get(key).is_some(), "missing `{key}` in {json}");
    }
    assert_eq!(json["objects"], 12);
    assert_eq!(json["rows"], written.facts.good_lines);
    assert_eq!(json["rejects"], written.facts.bad_lines);
    assert_eq!(json["skipped_objects"], 0);
    assert_eq!(json["bytes_in"], written.bytes);
    assert!(json["bytes_out"].as_u64().unwrap() > 0);

    let summary_line = stderr(&output)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    assert!(
        summary_line.starts_with("alb: 12 objects, "),
        "{summary_line}"
    );
    assert!(
        summary_line.contains(&format!("{} rejects", written.facts.bad_lines)),
        "{summary_line}"
    );
    assert!(summary_line.ends_with("MB/s)"), "{summary_line}");

    let batches = read_table(&target);
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows as u64, written.facts.good_lines);
    let sent: i64 = batches
        .iter()
        .map(|b| {
            b.column_by_name("sent_bytes")
                .unwrap()
                .as_primitive::<Int64Type>()
                .iter()
                .flatten()
                .sum::<i64>()
        })
        .sum();
    assert_eq!(sent, written.facts.sent_bytes);
    for partition in written.facts.rows_per_partition.keys() {
        assert!(target.join(partition).is_dir(), "{partition}");
    }
    assert_rejects_are_the_bad_lines(&target, written.facts.bad_lines);
}

/// A Parquet write that fails (a full disk, a lost mount), of the table in a worker's writer
/// thread or of the rejects while objects are decoded, fails the run with that write's own
/// error, publishes nothing, and the next run converts every line once.
#[test]
fn a_failed_write_fails_the_run_with_its_own_error_and_the_next_run_converts_it_all() {
    for point in ["table-write", "rejects-write"] {
        let dir = tempfile::tempdir().unwrap();
        let (source, target) = (dir.path().join("logs"), dir.path().join("alb"));
        // Every other line bad: 1,500 rejects an object, so the rejects writer flushes its first
        // 4,096 while the third object is decoded.
        let plan = SamplePlan {
            objects: 3,
            lines_per_object: 3_000,
            bad_line_every: Some(2),
            ..SamplePlan::default()
        };
        let written = write_sample(Format::Alb, plan, &source).unwrap();
        let failed = Command::new(env!("CARGO_BIN_EXE_agsl"))
            .args(["convert", "--service", "alb", "--workers", "1", "--source"])
            .arg(&source)
            .arg("--target")
            .arg(&target)
            .env("AGSL_FAIL_AT", point)
            .output()
            .unwrap();
        assert_one_line_error(
            &failed,
            1,
            &format!("AGSL_FAIL_AT: injected write failure at {point}"),
        );
        let message = stderr(&failed);
        assert!(message.contains("cannot write to"), "{point}: {message}");
        assert!(
            !message.contains("writer thread stopped"),
            "{point}: {message}"
        );
        assert!(
            agsl::sink::table_files(&target).unwrap().is_empty(),
            "{point}: a failed run publishes nothing"
        );

        let again = convert("alb", &source, &target, &["--json"]);
        assert!(again.status.success(), "{point}: {}", stderr(&again));
        let json: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
        assert_eq!(json["rows"], written.facts.good_lines, "{point}: {json}");
        assert_eq!(json["rejects"], written.facts.bad_lines, "{point}: {json}");
        let rows: usize = read_table(&target).iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows as u64, written.facts.good_lines, "{point}");
        assert_rejects_are_the_bad_lines(&target, written.facts.bad_lines);
    }
}

/// The rejects hold exactly the injected bad lines: their object, line number, a reason, and
/// the raw bytes equal to that line of the (decompressed) source object.
fn assert_rejects_are_the_bad_lines(target: &Path, bad_lines: u64) {
    use std::io::Read;
    let mut seen = 0;
    for entry in std::fs::read_dir(target.join("_rejects")).unwrap() {
        let path = entry.unwrap().path();
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let keys = batch
                .column_by_name("source_key")
                .unwrap()
                .as_string::<i32>();
            let lines = batch
                .column_by_name("line_number")
                .unwrap()
                .as_primitive::<Int64Type>();
            let reasons = batch.column_by_name("reason").unwrap().as_string::<i32>();
            let raws = batch.column_by_name("raw_line").unwrap().as_binary::<i32>();
            for i in 0..batch.num_rows() {
                let object = keys.value(i).strip_prefix("file://").unwrap();
                let mut text = String::new();
                flate2::read::MultiGzDecoder::new(std::fs::File::open(object).unwrap())
                    .read_to_string(&mut text)
                    .unwrap();
                let line = text.lines().nth(lines.value(i) as usize - 1).unwrap();
                assert_eq!(raws.value(i), line.as_bytes());
                assert!(!reasons.value(i).is_empty());
                seen += 1;
            }
        }
    }
    assert_eq!(seen, bad_lines);
}

#[test]
fn non_terminal_runs_print_plain_lines_not_a_bar() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("logs");
    sample(&source);
    let output = convert("alb", &source, &dir.path().join("t"), &[]);
    assert!(output.status.success());
    let err = stderr(&output);
    assert!(
        !err.contains('\u{1b}'),
        "no escape codes when stderr is not a terminal: {err:?}"
    );
    assert!(err.contains("converting"), "{err}");
    assert!(
        output.stdout.is_empty(),
        "results go to stdout only with --json"
    );
}

fn assert_one_line_error(output: &Output, code: i32, needle: &str) {
    assert_eq!(output.status.code(), Some(code), "{}", stderr(output));
    let err = stderr(output);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains(needle), "{err}");
}

#[test]
fn unknown_service_lists_the_known_ones() {
    let output = convert("no_such_service", Path::new("."), Path::new("t"), &[]);
    assert_one_line_error(
        &output,
        2,
        &format!("expected one of: {}, auto", Format::keywords()),
    );
    assert!(Format::keywords().starts_with("alb, elb, cloudfront, cloudtrail, s3_access"));
}

#[test]
fn missing_source_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = convert("alb", &dir.path().join("nope"), &dir.path().join("t"), &[]);
    assert_one_line_error(&output, 2, "does not exist");
}

#[test]
fn a_first_run_that_lists_nothing_warns_of_the_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("t"));
    std::fs::create_dir(&source).unwrap();
    let warning = "the source holds no objects; check its bucket and prefix";
    let output = convert("alb", &source, &target, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains(warning), "{}", stderr(&output));
    sample(&source);
    let output = convert("alb", &source, &target, &[]);
    assert!(!stderr(&output).contains(warning), "{}", stderr(&output));
    // Once the target holds objects, a source that lists none (expired by a lifecycle rule,
    // say) is no sign of a wrong prefix.
    std::fs::remove_dir_all(&source).unwrap();
    std::fs::create_dir(&source).unwrap();
    let output = convert("alb", &source, &target, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains(warning), "{}", stderr(&output));
}

#[test]
fn unwritable_target_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), b"").unwrap();
    let output = convert("alb", dir.path(), &dir.path().join("file").join("t"), &[]);
    assert_one_line_error(&output, 1, "cannot create folder");
}

#[test]
fn bad_size_is_a_usage_error() {
    let output = convert(
        "alb",
        Path::new("."),
        Path::new("t"),
        &["--target-file-size", "big"],
    );
    assert_one_line_error(&output, 2, "invalid size `big`");
}

#[test]
fn bad_layout_arguments_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t");
    let output = convert("alb", dir.path(), &target, &["--partitioning", "dt"]);
    assert_one_line_error(&output, 2, "unknown partitioning `dt`");
    let output = convert("alb", dir.path(), &target, &["--account-id", "12345"]);
    assert_one_line_error(&output, 2, "not a 12-digit account id");
    let output = convert(
        "alb",
        dir.path(),
        &target,
        &["--account-id", "123456789012"],
    );
    assert_one_line_error(&output, 2, "for the account partitioning");
    let inside = target.join("rejects");
    let output = convert(
        "alb",
        dir.path(),
        &target,
        &["--rejects", inside.to_str().unwrap()],
    );
    assert_one_line_error(&output, 2, "inside the table");
    assert!(!target.exists(), "a refused job writes nothing");
}

#[test]
fn demo_converts_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let output = agsl(&["demo", "--dir", dir.path().to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(
        stdout.contains("read back from the Parquet table"),
        "{stdout}"
    );
    assert!(
        stdout.contains("region=us-east-1/year=2024/month=03/day=08"),
        "{stdout}"
    );
    assert!(stderr(&output).contains("alb: 36 objects, "));
    // Running it again starts from a clean folder and gives the same table.
    let again = agsl(&["demo", "--dir", dir.path().to_str().unwrap(), "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        json["rows"].as_u64().unwrap() + json["rejects"].as_u64().unwrap(),
        72_000
    );
    let rows: usize = read_table(&dir.path().join("alb"))
        .iter()
        .map(RecordBatch::num_rows)
        .sum();
    assert_eq!(rows as u64, json["rows"].as_u64().unwrap());
}

#[test]
fn generate_writes_the_aws_layout() {
    let dir = tempfile::tempdir().unwrap();
    let output = agsl(&[
        "generate",
        "--target",
        dir.path().to_str().unwrap(),
        "--size",
        "2MB",
        "--lines-per-object",
        "1000",
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        json["objects"], 4,
        "2 MB at about 620 KB per 1,000-line object"
    );
    assert!(
        dir.path()
            .join("AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/03/07")
            .is_dir()
    );
}

#[test]
fn help_lists_the_commands() {
    let output = agsl(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for command in ["convert", "demo", "generate"] {
        assert!(help.contains(command), "{help}");
    }
}

/// Help texts list the formats from the registry, so a new format shows up everywhere at once.
#[test]
fn help_lists_every_registered_format() {
    let top = agsl(&["--help"]);
    let help = String::from_utf8(top.stdout).unwrap();
    for format in Format::ALL {
        assert!(help.contains(format.info().title), "{format}: {help}");
    }
    for command in ["convert", "ddl", "generate", "demo", "status"] {
        let output = agsl(&[command, "--help"]);
        assert!(output.status.success(), "{command}");
        let help = String::from_utf8(output.stdout).unwrap();
        for format in Format::ALL {
            assert!(
                help.contains(format.keyword()),
                "{command}: {format}: {help}"
            );
        }
    }
}

/// The README's `--service` table is the registry: every format in its order, with its title,
/// then `auto`.
#[test]
fn readme_lists_every_registered_format() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let table = readme
        .split("| `--service` | log |")
        .nth(1)
        .expect("README has the --service table");
    let rows: Vec<(String, String)> = table
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            (
                cells[0].trim_start_matches("| ").replace('`', ""),
                cells[1].to_owned(),
            )
        })
        .collect();
    let mut expected: Vec<(String, String)> = Format::ALL
        .iter()
        .map(|f| (f.keyword().to_owned(), f.info().title.to_owned()))
        .collect();
    expected.push(("auto".to_owned(), "all of the above".to_owned()));
    assert_eq!(rows, expected);
}

#[test]
fn demo_runs_for_every_other_service() {
    for format in Format::ALL.into_iter().filter(|f| *f != Format::Alb) {
        let service = format.keyword();
        let dir = tempfile::tempdir().unwrap();
        let output = agsl(&[
            "demo",
            "--service",
            service,
            "--dir",
            dir.path().to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{service}: {}", stderr(&output));
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            stdout.contains("read back from the Parquet table"),
            "{stdout}"
        );
        let again = agsl(&[
            "demo",
            "--service",
            service,
            "--dir",
            dir.path().to_str().unwrap(),
            "--json",
        ]);
        let json: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
        assert_eq!(json["service"], service);
        assert_eq!(
            json["rows"].as_u64().unwrap() + json["rejects"].as_u64().unwrap(),
            72_000
        );
        assert!(
            json["rejects"].as_u64().unwrap() > 0,
            "the demo shows damaged lines too"
        );
        let rows: usize = read_table(&dir.path().join(service))
            .iter()
            .map(RecordBatch::num_rows)
            .sum();
        assert_eq!(rows as u64, json["rows"].as_u64().unwrap());
    }
}

/// A central logging bucket (AWS Control Tower's, say) holds every service's folder below
/// `AWSLogs/<account>/`: a job of one service converts its own folder's objects only, however
/// the others' files are named (AWS Config writes `.json.gz`, as CloudTrail does).
#[test]
fn one_service_over_a_central_bucket_leaves_the_other_services_folders() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("central"), dir.path().join("trail"));
    let plan = SamplePlan {
        objects: 4,
        lines_per_object: 30,
        ..SamplePlan::default()
    };
    let trail = write_sample(Format::Cloudtrail, plan.clone(), &source).unwrap();
    let alb = write_sample(Format::Alb, plan, &source).unwrap();
    let config = source.join(
        "AWSLogs/123456789012/Config/us-east-1/2024/3/7/ConfigHistory/123456789012_Config_\
         us-east-1_ConfigHistory_AWS::EC2::Instance_20240307T000000Z_20240307T060000Z_1.json.gz",
    );
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(
        &mut gz,
        br#"{"fileVersion":"1.0","configurationItems":[{"configurationItemCaptureTime":"2024-03-07T00:00:00.000Z"}]}"#,
    )
    .unwrap();
    std::fs::write(&config, gz.finish().unwrap()).unwrap();

    let output = convert("cloudtrail", &source, &target, &["-q", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["objects"], trail.objects, "{summary}");
    assert_eq!(summary["rows"], trail.facts.good_lines, "{summary}");
    assert_eq!(summary["rejects"], 0, "{summary}");
    assert_eq!(
        summary["skipped_reasons"]["another AWS service's folder"],
        alb.objects + 1,
        "{summary}"
    );
}

/// One prefix holding every service: `--service auto` routes each object to its format
/// and writes one table per service, named as the seed named them.
#[test]
fn auto_converts_a_mixed_prefix_into_one_table_per_service() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("logs");
    let target = dir.path().join("tables");
    let mut written = std::collections::BTreeMap::new();
    for format in Format::ALL {
        let plan = SamplePlan {
            objects: 4,
            lines_per_object: 200,
            bad_line_every: Some(71),
            ..SamplePlan::default()
        };
        written.insert(
            format.keyword(),
            write_sample(format, plan, &source).unwrap(),
        );
    }
    let output = convert("auto", &source, &target, &["--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["service"], "auto");
    assert_eq!(json["objects"], 4 * Format::ALL.len());
    let services = json["services"]
        .as_array()
        .expect("one summary per service");
    assert_eq!(services.len(), Format::ALL.len());
    for service in services {
        let name = service["service"].as_str().unwrap();
        let facts = &written[name].facts;
        assert_eq!(service["rows"], facts.good_lines, "{name}");
        assert_eq!(service["rejects"], facts.bad_lines, "{name}");
        let table = target.join(name.parse::<Format>().unwrap().table_name());
        let rows: usize = read_table(&table).iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows as u64, facts.good_lines, "{name}");
    }
    assert!(target.join("vpcflow").is_dir() && target.join("s3_access").is_dir());
    let lines = stderr(&output);
    assert!(
        lines.contains("\ncloudtrail: 4 objects, ")
            && lines.contains(&format!("\nauto: {} objects, ", 4 * Format::ALL.len())),
        "{lines}"
    );
}

/// CloudFront v2's `plain` output names no fields: with the delivery's recordFields and
/// fieldDelimiter (`--record-fields`, `--field-delimiter`) it converts; without them every
/// line is a reject that says what is missing, never a row read in a guessed order.
#[test]
fn plain_cloudfront_v2_output_converts_with_the_deliverys_field_list() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir
        .path()
        .join("logs/AWSLogs/123456789012/CloudFront/E1/2024/11/14/22");
    std::fs::create_dir_all(&source).unwrap();
    let lines = "2024-11-14|22:30:25|SOF50-P2|16509|200\n2024-11-14|22:31:07|SOF50-P2|16509|404\n2024-11-14|22:31:09|SOF50-P2|AS1|200\n";
    std::fs::write(source.join("E1.2024-11-14-22.0a1b2c3d.log"), lines).unwrap();
    let source = dir.path().join("logs");
    let fields = [
        "--record-fields",
        "date,time,x-edge-location,asn,sc-status",
        "--field-delimiter",
        "|",
    ];

    let target = dir.path().join("with");
    let output = convert(
        "cloudfront_v2",
        &source,
        &target,
        &[&fields[..], &["--json"]].concat(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (json["rows"].as_u64(), json["rejects"].as_u64()),
        (Some(2), Some(1)),
        "{json}"
    );
    let rows: usize = read_table(&target).iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 2);

    let target = dir.path().join("without");
    let output = convert("cloudfront_v2", &source, &target, &["--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (json["rows"].as_u64(), json["rejects"].as_u64()),
        (Some(0), Some(3)),
        "{json}"
    );

    // A field list for another service, or with auto, is a usage error (exit 2).
    for (service, extra) in [
        ("alb", &fields[..2]),
        ("auto", &fields[..2]),
        ("cloudfront_v2", &["--record-fields", "date,tme"][..]),
    ] {
        let output = convert(service, &source, &dir.path().join("x"), extra);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{service}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("--record-fields"),
            "{}",
            stderr(&output)
        );
        assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
    }
}

/// Damaged Parquet deliveries (CloudFront v2): the parquet reader panics on some, which agsl
/// catches and turns into one reject per file; the run succeeds and prints no panic.
#[test]
fn damaged_parquet_objects_are_rejects_and_no_panic_is_printed() {
    let plan = SamplePlan {
        objects: 4,
        lines_per_object: 40,
        ..SamplePlan::default()
    };
    let parquet = agsl_formats::sample::objects(Format::CloudfrontV2, plan)
        .nth(3)
        .expect("the fourth object is Parquet")
        .body;
    assert!(parquet.starts_with(b"PAR1"));
    let dir = tempfile::tempdir().unwrap();
    let source = dir
        .path()
        .join("logs/AWSLogs/123456789012/CloudFront/E1/2024/03/07/23");
    std::fs::create_dir_all(&source).unwrap();
    // Every byte of the footer's metadata damaged in turn: which bytes make the reader panic
    // (offsets and sizes of column chunks) changes between parquet releases, so none is named.
    let end = parquet.len() - 8;
    let footer = u32::from_le_bytes(parquet[end..end + 4].try_into().unwrap()) as usize;
    let mut reader_panics = 0;
    for (i, at) in (end - footer..end).enumerate() {
        let mut damaged = parquet.clone();
        damaged[at] = damaged[at].wrapping_add(1);
        let decoded =
            agsl_formats::Decoded::from_bytes(Format::CloudfrontV2.parser(), &damaged, 64).unwrap();
        let panicked = decoded
            .rejects
            .iter()
            .any(|r| r.reason.contains("the Parquet reader failed"));
        reader_panics += usize::from(panicked);
        // The CLI run gets every file the reader panicked on and a spread of the others.
        if panicked || i % 40 == 0 {
            std::fs::write(
                source.join(format!("E1.2024-03-07-23.{i:08}.parquet")),
                damaged,
            )
            .unwrap();
        }
    }
    assert!(
        reader_panics > 0,
        "some damage makes the parquet reader panic"
    );
    let output = convert(
        "cloudfront_v2",
        &dir.path().join("logs"),
        &dir.path().join("table"),
        &["--json"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
}
