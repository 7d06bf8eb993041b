//! The Glue Data Catalog over its real wire protocol (moto): after `agsl convert --catalog
//! glue`, both tables of every service have the expected columns, types, partition keys,
//! SerDe and location, the registered partitions are exactly the written ones (more than
//! 1,000 too), later runs add only new ones, and a schema upgrade appends columns.

use std::collections::BTreeSet;
use std::path::Path;

use agsl::catalog::{Catalog, GlueCatalog, Partition, converted_table, raw_table};
use agsl::sample::write_sample;
use agsl::sink::{PartitionLayout, TablePartitioning};
use agsl::storage::{Location, StorageOptions, Store};
use agsl_formats::Format;
use agsl_formats::sample::SamplePlan;
use agsl_formats::time::{MICROS_PER_DAY, days_from_civil};

use crate::moto::Moto;
use crate::state::run_json;
use crate::{agsl, assert_one_line_error, convert_args, stderr};

fn glue() -> GlueCatalog {
    // Moto::start pointed AWS_ENDPOINT_URL and the dummy credentials at the emulator.
    GlueCatalog::connect(&StorageOptions {
        endpoint_url: std::env::var("AWS_ENDPOINT_URL").ok(),
        region: Some("us-east-1".into()),
        ..StorageOptions::default()
    })
    .unwrap()
}

fn url(path: &Path) -> String {
    format!("file://{}/", std::path::absolute(path).unwrap().display())
}

/// The partition folders holding the table's committed files, as URLs.
fn written(target: &Location) -> BTreeSet<String> {
    let store = Store::open(target, &StorageOptions::default()).unwrap();
    store
        .list("")
        .unwrap()
        .into_iter()
        .filter(|o| o.key.ends_with(".parquet") && !o.key.starts_with('_'))
        .map(|o| {
            let folder = o.key.rsplit_once('/').unwrap().0;
            format!("{}/", store.url(folder).trim_end_matches('/'))
        })
        .collect()
}

fn registered(glue: &GlueCatalog, database: &str, table: &str) -> BTreeSet<String> {
    glue.partitions(database, table)
        .unwrap()
        .into_iter()
        .map(|p| p.location)
        .collect()
}

fn convert_glue(service: &str, source: &str, target: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = convert_args(service, source, target, &["--catalog", "glue"]);
    args.extend_from_slice(extra);
    run_json(&args)
}

#[test]
fn every_service_gets_both_tables_with_every_partition() {
    let _moto = Moto::start();
    let glue = glue();
    let dir = tempfile::tempdir().unwrap();
    let plan = SamplePlan {
        objects: 6,
        lines_per_object: 40,
        bad_line_every: Some(13),
        ..SamplePlan::default()
    };
    for format in Format::ALL {
        let source = dir.path().join(format!("logs-{format}"));
        let target = dir.path().join(format!("lake-{format}"));
        write_sample(format, plan.clone(), &source).unwrap();
        let summary = convert_glue(
            &format.to_string(),
            source.to_str().unwrap(),
            target.to_str().unwrap(),
            &[],
        );
        assert_eq!(summary["catalog"]["catalog"], "glue", "{summary}");
        assert_eq!(summary["catalog"]["tables_created"], 2, "{format}");

        let parser = format.parser();
        let table_name = format.table_name();
        let table = glue
            .table("aws_service_logs", table_name)
            .unwrap()
            .unwrap_or_else(|| panic!("{format}: no converted table"));
        let expected = converted_table(
            parser,
            TablePartitioning::of(parser, PartitionLayout::Seed),
            "aws_service_logs",
            table_name,
            "x",
        );
        assert_eq!(table.columns, expected.columns, "{format}");
        assert_eq!(table.partition_keys, expected.partition_keys, "{format}");
        assert_eq!(table.storage, expected.storage, "{format}");
        assert_eq!(table.location, url(&target), "{format}");
        assert_eq!(table.parameters["classification"], "parquet");
        assert_eq!(table.parameters["agsl.rows"], summary["rows"].to_string());
        let partitions = written(&Location::Local(target.clone()));
        assert!(!partitions.is_empty());
        assert_eq!(
            registered(&glue, "aws_service_logs", table_name),
            partitions,
            "{format}"
        );

        let raw_name = format!("{table_name}_raw_logs");
        let raw = glue
            .table("aws_service_logs_raw", &raw_name)
            .unwrap()
            .unwrap_or_else(|| panic!("{format}: no raw table"));
        let expected = raw_table(
            format,
            PartitionLayout::Seed,
            "aws_service_logs_raw",
            &raw_name,
            "x",
            None,
        );
        assert_eq!(raw.storage, expected.storage, "{format}");
        assert_eq!(raw.partition_keys, expected.partition_keys, "{format}");
        assert_eq!(raw.location, url(&source), "{format}");
        if format != Format::VpcFlow {
            assert_eq!(raw.columns, expected.columns, "{format}");
        }
        let raw_partitions = registered(&glue, "aws_service_logs_raw", &raw_name);
        assert_eq!(
            raw_partitions.is_empty(),
            raw.partition_keys.is_empty(),
            "{format}"
        );
        for location in &raw_partitions {
            let folder = location.strip_prefix("file://").unwrap();
            assert!(Path::new(folder).is_dir(), "{format}: {location}");
        }
    }
    let tables = glue.tables("aws_service_logs").unwrap();
    assert_eq!(tables.len(), Format::ALL.len());

    // `agsl tables` lists them from Glue.
    let output = agsl(&["tables", "--catalog", "glue", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let listed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2 * Format::ALL.len());
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["partitions"].is_number())
    );
}

#[test]
fn s3_runs_register_only_new_partitions_and_upgrade_the_schema() {
    let moto = Moto::start();
    moto.create_bucket("logs");
    moto.create_bucket("lake");
    let glue = glue();
    let dir = tempfile::tempdir().unwrap();
    let day = days_from_civil(2024, 3, 7);
    let plan = |start_day: i64| SamplePlan {
        objects: 6,
        lines_per_object: 30,
        start_micros: start_day * MICROS_PER_DAY + 12 * 3_600_000_000,
        ..SamplePlan::default()
    };
    let upload = |start_day: i64| {
        let source = Store::open(
            &Location::parse("s3://logs/p").unwrap(),
            &StorageOptions::default(),
        )
        .unwrap();
        let folder = dir.path().join(format!("batch-{start_day}"));
        write_sample(Format::Alb, plan(start_day), &folder).unwrap();
        for file in crate::files_below(&folder) {
            let key = file
                .strip_prefix(&folder)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            source.upload(&file, &key).unwrap();
        }
    };
    upload(day);
    let first = convert_glue(
        "alb",
        "s3://logs/p",
        "s3://lake/alb",
        &["--table", "alb_logs"],
    );
    let target = Location::parse("s3://lake/alb").unwrap();
    let partitions = written(&target);
    assert!(
        partitions
            .iter()
            .all(|p| p.starts_with("s3://lake/alb/region="))
    );
    assert_eq!(
        registered(&glue, "aws_service_logs", "alb_logs"),
        partitions
    );
    assert_eq!(
        glue.table("aws_service_logs", "alb_logs")
            .unwrap()
            .unwrap()
            .location,
        "s3://lake/alb/"
    );
    let raw_before = registered(&glue, "aws_service_logs_raw", "alb_raw_logs");
    assert!(
        raw_before
            .iter()
            .all(|p| p.starts_with("s3://logs/p/AWSLogs/"))
    );
    assert_eq!(
        first["catalog"]["partitions_added"],
        (partitions.len() + raw_before.len()) as u64
    );

    // A table made when ALB had fewer fields: the next run appends the missing columns.
    let mut older = glue.table("aws_service_logs", "alb_logs").unwrap().unwrap();
    let columns = older.columns.len();
    older.columns.truncate(columns - 5);
    glue.update_table(&older).unwrap();

    upload(day + 3);
    let second = convert_glue(
        "alb",
        "s3://logs/p",
        "s3://lake/alb",
        &["--table", "alb_logs"],
    );
    assert_eq!(second["catalog"]["columns_added"], 5, "{second}");
    let upgraded = glue.table("aws_service_logs", "alb_logs").unwrap().unwrap();
    assert_eq!(upgraded.columns.len(), columns);
    assert_eq!(upgraded.columns[..columns - 5], older.columns[..]);
    let now = written(&target);
    let raw_now = registered(&glue, "aws_service_logs_raw", "alb_raw_logs");
    assert_eq!(registered(&glue, "aws_service_logs", "alb_logs"), now);
    assert_eq!(
        second["catalog"]["partitions_added"],
        (now.len() - partitions.len() + raw_now.len() - raw_before.len()) as u64
    );
    assert!(now.len() > partitions.len() && raw_now.len() > raw_before.len());

    // Nothing new: the catalog is not touched.
    let idle = convert_glue(
        "alb",
        "s3://logs/p",
        "s3://lake/alb",
        &["--table", "alb_logs"],
    );
    assert_eq!(idle["catalog"]["partitions_added"], 0);
    assert_eq!(idle["catalog"]["tables_updated"], 0);
}

#[test]
fn more_than_a_thousand_partitions_are_all_registered_in_glue() {
    let _moto = Moto::start();
    let glue = glue();
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("alb"));
    let first = days_from_civil(2021, 1, 1);
    for day in 0..1_050 {
        let plan = SamplePlan {
            objects: 1,
            lines_per_object: 2,
            start_micros: (first + day) * MICROS_PER_DAY + 12 * 3_600_000_000,
            ..SamplePlan::default()
        };
        write_sample(Format::Alb, plan, &source).unwrap();
    }
    let summary = convert_glue(
        "alb",
        source.to_str().unwrap(),
        target.to_str().unwrap(),
        &[],
    );
    assert_eq!(summary["catalog"]["partitions_added"], 2_100);
    let partitions = written(&Location::Local(target.clone()));
    assert_eq!(partitions.len(), 1_050);
    assert_eq!(registered(&glue, "aws_service_logs", "alb"), partitions);
    assert_eq!(
        registered(&glue, "aws_service_logs_raw", "alb_raw_logs").len(),
        1_050
    );

    // Partitions pointed elsewhere (edited by hand, or registered by an older tool) are
    // repointed by the next run that lists them, a hundred to a request.
    let table = glue.table("aws_service_logs", "alb").unwrap().unwrap();
    let elsewhere: Vec<Partition> = glue
        .partitions("aws_service_logs", "alb")
        .unwrap()
        .into_iter()
        .map(|p| Partition {
            location: p.location.replace("/alb/", "/elsewhere/"),
            ..p
        })
        .collect();
    assert_eq!(glue.move_partitions(&table, &elsewhere).unwrap(), 1_050);
    assert!(
        registered(&glue, "aws_service_logs", "alb")
            .iter()
            .all(|p| p.contains("/elsewhere/region="))
    );
    let plan = SamplePlan {
        objects: 1,
        lines_per_object: 2,
        start_micros: (first + 1_050) * MICROS_PER_DAY + 12 * 3_600_000_000,
        ..SamplePlan::default()
    };
    write_sample(Format::Alb, plan, &source).unwrap();
    let next = convert_glue(
        "alb",
        source.to_str().unwrap(),
        target.to_str().unwrap(),
        &[],
    );
    assert_eq!(next["catalog"]["partitions_added"], 2, "{next}");
    assert_eq!(next["catalog"]["partitions_moved"], 1_050, "{next}");
    let partitions = written(&Location::Local(target.clone()));
    assert_eq!(partitions.len(), 1_051);
    assert_eq!(registered(&glue, "aws_service_logs", "alb"), partitions);
}

#[test]
fn an_incompatible_table_is_refused_with_a_way_forward() {
    let _moto = Moto::start();
    let glue = glue();
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("alb"));
    write_sample(Format::Alb, SamplePlan::default(), &source).unwrap();
    // The seed typed status codes as strings.
    glue.ensure_database("aws_service_logs").unwrap();
    let mut seed = converted_table(
        Format::Alb.parser(),
        TablePartitioning::of(Format::Alb.parser(), PartitionLayout::Seed),
        "aws_service_logs",
        "alb",
        &url(&target),
    );
    seed.columns
        .iter_mut()
        .find(|c| c.name == "elb_status_code")
        .unwrap()
        .data_type = "string".into();
    glue.create_table(&seed).unwrap();
    let output = agsl(&[
        "convert",
        "--service",
        "alb",
        "--source",
        source.to_str().unwrap(),
        "--target",
        target.to_str().unwrap(),
        "--catalog",
        "glue",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("error: table `aws_service_logs.alb` cannot take the new schema"),
        "{message}"
    );
    assert!(message.contains("--table alb_v2"), "{message}");
    // Nothing was lost: the data is committed and the table left as it was.
    assert!(!written(&Location::Local(target)).is_empty());
    assert_eq!(
        glue.table("aws_service_logs", "alb").unwrap().unwrap(),
        seed
    );
}

/// Glue is shared by every target: a table another target keeps is refused, not repointed
/// (its partitions and this target's would hide each other wherever their values meet). Tables
/// of their own take the second target; a table the seed made is told by its location.
#[test]
fn a_table_another_target_keeps_is_refused_not_repointed() {
    let _moto = Moto::start();
    let glue = glue();
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("logs");
    write_sample(Format::Alb, SamplePlan::default(), &source).unwrap();
    let source = source.to_str().unwrap();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    convert_glue("alb", source, first.to_str().unwrap(), &[]);
    let kept = glue.table("aws_service_logs", "alb").unwrap().unwrap();
    let kept_raw = glue
        .table("aws_service_logs_raw", "alb_raw_logs")
        .unwrap()
        .unwrap();
    assert_eq!(kept.parameters["agsl.target"], url(&first));
    assert_eq!(kept_raw.parameters["agsl.target"], url(&first));

    let second_target = second.to_str().unwrap();
    let convert_second = |extra: &[&str]| {
        let mut args = convert_args("alb", source, second_target, &["--catalog", "glue"]);
        args.extend_from_slice(extra);
        agsl(&args)
    };
    let refusal = format!(
        "table `aws_service_logs.alb` is the table of `{}`, not of this target `{}`",
        url(&first).trim_end_matches('/'),
        url(&second).trim_end_matches('/')
    );
    // A dry run says so too, and leaves no folder behind.
    assert_one_line_error(&convert_second(&["--dry-run"]), 2, &refusal);
    assert!(!second.exists());
    assert_one_line_error(&convert_second(&[]), 2, &refusal);
    assert_eq!(
        glue.table("aws_service_logs", "alb").unwrap().unwrap(),
        kept
    );
    assert!(
        written(&Location::Local(second.clone())).is_empty(),
        "refused before converting anything"
    );
    // The converted table's own name is not enough: the raw table is the first target's too.
    assert_one_line_error(
        &convert_second(&["--table", "alb_second"]),
        2,
        "table `aws_service_logs_raw.alb_raw_logs` is the table of",
    );
    assert_eq!(
        glue.table("aws_service_logs_raw", "alb_raw_logs")
            .unwrap()
            .unwrap(),
        kept_raw
    );
    let own = convert_second(&["--table", "alb_second", "--raw-table", "alb_second_raw"]);
    assert!(own.status.success(), "{}", stderr(&own));
    assert_eq!(
        registered(&glue, "aws_service_logs", "alb_second"),
        written(&Location::Local(second.clone()))
    );
    assert_eq!(
        registered(&glue, "aws_service_logs", "alb"),
        written(&Location::Local(first.clone()))
    );

    // A table made by another tool names no target: its location tells whose it is.
    let seed_location = dir.path().join("seed");
    let seed = converted_table(
        Format::Alb.parser(),
        TablePartitioning::of(Format::Alb.parser(), PartitionLayout::Seed),
        "aws_service_logs",
        "alb_seed",
        &url(&seed_location),
    );
    glue.create_table(&seed).unwrap();
    let third = dir.path().join("third");
    let output = agsl(&convert_args(
        "alb",
        source,
        third.to_str().unwrap(),
        &["--catalog", "glue", "--table", "alb_seed"],
    ));
    assert_one_line_error(
        &output,
        2,
        "table `aws_service_logs.alb_seed` is the table of",
    );
    assert_eq!(
        glue.table("aws_service_logs", "alb_seed").unwrap().unwrap(),
        seed
    );
}
