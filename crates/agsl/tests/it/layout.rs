//! Where a job's output goes besides the seed's defaults: rejects in a location of their own,
//! and tables partitioned by account first.

use std::collections::BTreeMap;
use std::path::Path;

use agsl::catalog::{Catalog, LOCAL_CATALOG_KEY, LocalCatalog};
use agsl::sample::write_sample;
use agsl::storage::Location;
use agsl::{
    ConvertJob, Error, Format, PartitionLayout, Progress, TargetConflict, TimeWindow, convert,
};
use agsl_formats::sample::SamplePlan;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;

use crate::{files_named, read_file, read_table};

fn plan() -> SamplePlan {
    SamplePlan {
        objects: 30,
        lines_per_object: 200,
        bad_line_every: Some(41),
        ..SamplePlan::default()
    }
}

/// Every reject in the Parquet files below `folder`, as (source URL, line) pairs.
fn rejects_in(folder: &Path) -> Vec<(String, i64)> {
    let mut rejects = Vec::new();
    for file in files_named(folder, &|name| name.ends_with(".parquet")) {
        for batch in read_file(&file) {
            let sources = batch
                .column_by_name("source_key")
                .unwrap()
                .as_string::<i32>();
            let lines = batch
                .column_by_name("line_number")
                .unwrap()
                .as_primitive::<Int64Type>();
            for row in 0..batch.num_rows() {
                rejects.push((sources.value(row).to_owned(), lines.value(row)));
            }
        }
    }
    rejects.sort();
    rejects
}

fn rows(root: &Path) -> usize {
    read_table(root).iter().map(|b| b.num_rows()).sum()
}

#[test]
fn rejects_go_to_their_own_location_once_even_when_reprocessed() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target, quarantine) = (
        dir.path().join("logs"),
        dir.path().join("alb"),
        dir.path().join("quarantine/alb"),
    );
    let written = write_sample(Format::Alb, plan(), &source).unwrap();
    let mut job = ConvertJob::new(Format::Alb, source.clone(), target.clone());
    job.rejects = Some(Location::Local(quarantine.clone()));
    let summary = convert(&job, &Progress::default()).unwrap();
    assert_eq!(summary.rows, written.facts.good_lines);
    assert_eq!(summary.rejects, written.facts.bad_lines);
    assert_eq!(summary.rows + summary.rejects, summary.lines);

    let rejects = rejects_in(&quarantine);
    assert_eq!(rejects.len() as u64, written.facts.bad_lines);
    let mut unique = rejects.clone();
    unique.dedup();
    assert_eq!(unique, rejects, "no reject twice");
    assert!(
        !target.join("_rejects").exists(),
        "nothing goes to the target's own rejects folder"
    );
    assert_eq!(rows(&target) as u64, written.facts.good_lines);

    // Reprocessing a day replaces its rows in the table; rejects of objects converted again
    // from scratch are replaced in the quarantine folder, never doubled.
    let mut again = job
        .clone()
        .with_window(TimeWindow::new(Some("2024-03-08"), None).unwrap());
    again.reprocess = true;
    let redone = convert(&again, &Progress::default()).unwrap();
    assert!(redone.replaced_files > 0 && redone.objects > 0);
    assert_eq!(rejects_in(&quarantine), rejects);
    assert_eq!(rows(&target) as u64, written.facts.good_lines);

    // An idle run publishes nothing anywhere.
    let idle = convert(&job, &Progress::default()).unwrap();
    assert_eq!((idle.objects, idle.files), (0, 0));
    assert_eq!(rejects_in(&quarantine), rejects);
}

#[test]
fn rejects_inside_the_table_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("alb"));
    write_sample(Format::Alb, plan(), &source).unwrap();
    let mut job = ConvertJob::new(Format::Alb, source, target.clone());
    job.rejects = Some(Location::Local(target.join("bad")));
    let error = convert(&job, &Progress::default()).unwrap_err();
    assert!(
        matches!(&error, Error::InvalidJob(m) if m.contains("inside the table")),
        "{error}"
    );
    assert!(!target.exists(), "nothing was written");
    // A `_` folder inside the table is skipped by readers, so it may hold them.
    job.rejects = Some(Location::Local(target.join("_bad")));
    let summary = convert(&job, &Progress::default()).unwrap();
    assert_eq!(
        rejects_in(&target.join("_bad")).len() as u64,
        summary.rejects
    );
}

/// Generated ALB logs of two accounts below one `AWSLogs/` prefix, as an organization's
/// central logging bucket holds them. Returns the good lines per account.
fn two_accounts(source: &Path, scratch: &Path) -> BTreeMap<String, u64> {
    let first = write_sample(Format::Alb, plan(), source).unwrap();
    let second = write_sample(Format::Alb, SamplePlan { seed: 9, ..plan() }, scratch).unwrap();
    std::fs::rename(
        scratch.join("AWSLogs/123456789012"),
        source.join("AWSLogs/210987654321"),
    )
    .unwrap();
    BTreeMap::from([
        ("123456789012".to_owned(), first.facts.good_lines),
        ("210987654321".to_owned(), second.facts.good_lines),
    ])
}

#[test]
fn account_partitioning_leads_with_each_objects_account() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("alb"));
    let expected = two_accounts(&source, &dir.path().join("scratch"));
    let mut job = ConvertJob::new(Format::Alb, source.clone(), target.clone());
    job.partitioning = PartitionLayout::Account;
    let summary = convert(&job, &Progress::default()).unwrap();
    assert_eq!(summary.rows, expected.values().sum::<u64>());

    for (account, good) in &expected {
        let folder = target.join(format!("account_id={account}"));
        assert_eq!(rows(&folder) as u64, *good, "{account}");
        // Below the account come the seed's keys, and every row is from that account.
        for file in files_named(&folder, &|n| n.ends_with(".parquet")) {
            let relative = file
                .strip_prefix(&folder)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let keys: Vec<&str> = relative
                .split('/')
                .map(|s| s.split('=').next().unwrap())
                .collect();
            assert_eq!(keys[..4], ["region", "year", "month", "day"], "{relative}");
            for batch in read_file(&file) {
                let keys = batch
                    .column_by_name("_source_key")
                    .unwrap()
                    .as_string::<i32>();
                assert!(
                    keys.iter()
                        .flatten()
                        .all(|k| k.contains(&format!("/AWSLogs/{account}/")))
                );
            }
        }
    }

    let catalog = LocalCatalog::open_file(&target.join(LOCAL_CATALOG_KEY), None).unwrap();
    for (database, name) in [
        ("aws_service_logs", "alb"),
        ("aws_service_logs_raw", "alb_raw_logs"),
    ] {
        let table = catalog.table(database, name).unwrap().unwrap();
        let keys: Vec<_> = table
            .partition_keys
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(
            keys,
            ["account_id", "region", "year", "month", "day"],
            "{name}"
        );
        let partitions = catalog.partitions(database, name).unwrap();
        let accounts: std::collections::BTreeSet<_> =
            partitions.iter().map(|p| p.values[0].clone()).collect();
        assert_eq!(accounts, expected.keys().cloned().collect(), "{name}");
        // Two accounts' folders no longer collide: each has its partitions.
        for account in expected.keys() {
            let own = partitions
                .iter()
                .filter(|p| &p.values[0] == account)
                .count();
            assert!(
                own * expected.len() == partitions.len(),
                "{name}: {account}"
            );
        }
    }

    // The target keeps its layout: a seed-layout run is refused before it reads anything.
    let seed = ConvertJob::new(Format::Alb, source, target.clone());
    let error = convert(&seed, &Progress::default()).unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Target(TargetConflict::Layout {
                held: PartitionLayout::Account,
                wanted: PartitionLayout::Seed,
                ..
            })
        ),
        "{error}"
    );
}

#[test]
fn keys_without_an_account_take_the_configured_one() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("cloudfront"));
    let written = write_sample(Format::Cloudfront, plan(), &source).unwrap();
    let mut job = ConvertJob::new(Format::Cloudfront, source.clone(), target.clone());
    job.partitioning = PartitionLayout::Account;
    job.account_id = Some("111122223333".into());
    convert(&job, &Progress::default()).unwrap();
    let folders: Vec<_> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('_'))
        .collect();
    assert_eq!(folders, ["account_id=111122223333"]);
    assert_eq!(
        rows(&target.join("account_id=111122223333")) as u64,
        written.facts.good_lines
    );
    let mut wrong = job.clone();
    wrong.account_id = Some("1111".into());
    assert!(matches!(
        convert(&wrong, &Progress::default()),
        Err(Error::InvalidJob(m)) if m.contains("12 digits")
    ));
}

/// VPC Flow Logs delivered with Hive-compatible prefixes and per-hour partitions
/// (`aws-account-id=…/aws-service=vpcflowlogs/aws-region=…/year=…/month=…/day=…/hour=…/`): the
/// rows are under their account, and the raw table's partitions are the day folders.
#[test]
fn hive_compatible_vpc_prefixes_give_accounts_and_raw_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let (scratch, source, target) = (
        dir.path().join("scratch"),
        dir.path().join("flows"),
        dir.path().join("vpc"),
    );
    let written = write_sample(Format::VpcFlow, plan(), &scratch).unwrap();
    let mut days = std::collections::BTreeSet::new();
    for file in files_named(&scratch, &|n| n.ends_with(".log.gz")) {
        let relative = file.strip_prefix(&scratch).unwrap().to_str().unwrap();
        // `AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/<file>`.
        let parts: Vec<&str> = relative.split('/').collect();
        let [_, account, _, region, year, month, day, name] = parts[..] else {
            panic!("unexpected sample key {relative}");
        };
        let hour = &name.split('T').nth(1).unwrap()[..2];
        let day_folder = format!(
            "AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/\
             year={year}/month={month}/day={day}"
        );
        days.insert(day_folder.clone());
        let moved = source.join(format!("{day_folder}/hour={hour}/{name}"));
        std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
        std::fs::rename(&file, &moved).unwrap();
    }
    let mut job = ConvertJob::new(Format::VpcFlow, source.clone(), target.clone());
    job.partitioning = PartitionLayout::Account;
    let summary = convert(&job, &Progress::default()).unwrap();
    assert_eq!(summary.rows, written.facts.good_lines);
    assert_eq!(
        rows(&target.join("account_id=123456789012")) as u64,
        written.facts.good_lines
    );

    let catalog = LocalCatalog::open_file(&target.join(LOCAL_CATALOG_KEY), None).unwrap();
    let raw = catalog
        .partitions("aws_service_logs_raw", "vpcflow_raw_logs")
        .unwrap();
    let locations: std::collections::BTreeSet<String> =
        raw.iter().map(|p| p.location.clone()).collect();
    let wanted: std::collections::BTreeSet<String> = days
        .iter()
        .map(|day| format!("file://{}/{day}/", source.display()))
        .collect();
    assert_eq!(locations, wanted);
    assert!(
        raw.iter().all(|p| p.values[0] == "123456789012"
            && p.location
                .contains(&format!("/aws-region={}/", p.values[1]))
            && p.location.ends_with(&format!("/day={}/", p.values[4]))),
        "{raw:?}"
    );
}
