//! The embedded (SQLite) catalog after real conversions: both tables with their definitions,
//! every written partition registered (more than 1,000 too), later runs adding only what is
//! new, schema upgrades that append columns and leave files alone, partition projection.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use agsl::catalog::{
    Catalog, CatalogError, LOCAL_CATALOG_KEY, LocalCatalog, TableDefinition, converted_table,
};
use agsl::sample::write_sample;
use agsl::sink::{PartitionLayout, TablePartitioning};
use agsl::{ConvertJob, Error, Format, Progress, RunSummary, convert};
use agsl_formats::sample::SamplePlan;
use agsl_formats::time::{MICROS_PER_DAY, days_from_civil};

use crate::{files_named, read_file};

fn run(
    source: &Path,
    target: &Path,
    adjust: impl FnOnce(&mut ConvertJob),
) -> agsl::Result<RunSummary> {
    let mut job = ConvertJob::new(Format::Alb, source, target).with_workers(2);
    adjust(&mut job);
    convert(&job, &Progress::default())
}

fn catalog(target: &Path) -> LocalCatalog {
    LocalCatalog::open_file(&target.join(LOCAL_CATALOG_KEY), None).unwrap()
}

fn url(path: &Path) -> String {
    format!("file://{}/", std::path::absolute(path).unwrap().display())
}

/// The partition folders the table's files are in, as `file://…/` URLs.
fn written_partitions(target: &Path) -> BTreeSet<String> {
    agsl::sink::table_files(target)
        .unwrap()
        .iter()
        .map(|f| url(f.parent().unwrap()))
        .collect()
}

/// The delivery folders of the source objects, as `file://…/` URLs.
fn source_folders(source: &Path) -> BTreeSet<String> {
    files_named(source, &|n| n.ends_with(".log.gz"))
        .iter()
        .map(|f| url(f.parent().unwrap()))
        .collect()
}

fn locations(catalog: &LocalCatalog, database: &str, table: &str) -> BTreeSet<String> {
    catalog
        .partitions(database, table)
        .unwrap()
        .into_iter()
        .map(|p| p.location)
        .collect()
}

fn plan(start_day: i64, objects: usize) -> SamplePlan {
    SamplePlan {
        objects,
        lines_per_object: 50,
        start_micros: start_day * MICROS_PER_DAY + 23 * 3_600_000_000 + 30 * 60_000_000,
        ..SamplePlan::default()
    }
}

#[test]
fn both_tables_and_every_partition_are_registered_and_kept_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("alb"));
    let day = days_from_civil(2024, 3, 7);
    write_sample(Format::Alb, plan(day, 24), &source).unwrap();
    let first = run(&source, &target, |_| {}).unwrap();
    let summary = first.catalog.clone().unwrap();
    assert_eq!(
        (summary.catalog.as_str(), summary.tables_created),
        ("local", 2)
    );

    let catalog = catalog(&target);
    let table = catalog.table("aws_service_logs", "alb").unwrap().unwrap();
    let expected = converted_table(
        Format::Alb.parser(),
        TablePartitioning::of(Format::Alb.parser(), PartitionLayout::Seed),
        "aws_service_logs",
        "alb",
        "x",
    );
    assert_eq!(table.columns, expected.columns);
    assert_eq!(table.partition_keys, expected.partition_keys);
    assert_eq!(table.storage, expected.storage);
    assert_eq!(table.location, url(&target));
    assert_eq!(table.parameters["agsl.rows"], first.rows.to_string());
    assert!(table.parameters["agsl.last_run"].contains('T'));
    let partitions = written_partitions(&target);
    assert!(partitions.len() >= 3, "two regions, across midnight");
    assert_eq!(locations(&catalog, "aws_service_logs", "alb"), partitions);
    for p in catalog.partitions("aws_service_logs", "alb").unwrap() {
        let keys = ["region", "year", "month", "day"];
        let path: Vec<String> = keys
            .iter()
            .zip(&p.values)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert!(
            p.location.ends_with(&format!("{}/", path.join("/"))),
            "{p:?}"
        );
    }

    let raw = catalog
        .table("aws_service_logs_raw", "alb_raw_logs")
        .unwrap()
        .unwrap();
    assert_eq!(raw.location, url(&source));
    assert_eq!(
        raw.storage.serde_library,
        "org.apache.hadoop.hive.serde2.RegexSerDe"
    );
    assert_eq!(raw.partition_keys.len(), 4);
    assert_eq!(
        locations(&catalog, "aws_service_logs_raw", "alb_raw_logs"),
        source_folders(&source)
    );
    let folders = source_folders(&source);
    assert_eq!(
        summary.partitions_added,
        (partitions.len() + folders.len()) as u64
    );

    // Two more days: only their partitions are added, in both tables.
    write_sample(Format::Alb, plan(day + 2, 24), &source).unwrap();
    let second = run(&source, &target, |_| {}).unwrap();
    let summary = second.catalog.unwrap();
    let more = written_partitions(&target);
    let more_folders = source_folders(&source);
    assert!(more.len() > partitions.len() && more_folders.len() > folders.len());
    assert_eq!(summary.tables_created, 0);
    assert_eq!(
        summary.partitions_added,
        (more.len() - partitions.len() + more_folders.len() - folders.len()) as u64
    );
    let partitions = more;
    assert_eq!(locations(&catalog, "aws_service_logs", "alb"), partitions);
    assert_eq!(
        locations(&catalog, "aws_service_logs_raw", "alb_raw_logs"),
        source_folders(&source)
    );
    let table = catalog.table("aws_service_logs", "alb").unwrap().unwrap();
    assert_eq!(
        table.parameters["agsl.rows"],
        (first.rows + second.rows).to_string()
    );

    // Nothing new: nothing changes, not even the table parameters.
    let idle = run(&source, &target, |_| {}).unwrap().catalog.unwrap();
    assert_eq!((idle.tables_updated, idle.partitions_added), (0, 0));
    assert_eq!(
        catalog.table("aws_service_logs", "alb").unwrap().unwrap(),
        table
    );
}

#[test]
fn a_lost_catalog_update_is_healed_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("alb"));
    write_sample(Format::Alb, plan(days_from_civil(2024, 3, 7), 24), &source).unwrap();
    run(&source, &target, |job| {
        job.catalog.kind = agsl::CatalogKind::None
    })
    .unwrap();
    assert!(!target.join(LOCAL_CATALOG_KEY).exists());
    // The data was committed without a catalog; an idle run registers all of it.
    let idle = run(&source, &target, |_| {}).unwrap();
    assert_eq!(idle.objects, 0);
    assert_eq!(
        locations(&catalog(&target), "aws_service_logs", "alb"),
        written_partitions(&target)
    );
}

#[test]
fn more_than_a_thousand_partitions_are_all_registered() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("alb"));
    let first = days_from_civil(2021, 1, 1);
    for day in 0..1_100 {
        let plan = SamplePlan {
            objects: 1,
            lines_per_object: 2,
            start_micros: (first + day) * MICROS_PER_DAY + 12 * 3_600_000_000,
            ..SamplePlan::default()
        };
        write_sample(Format::Alb, plan, &source).unwrap();
    }
    let summary = run(&source, &target, |_| {}).unwrap();
    assert_eq!(summary.partitions.len(), 1_100);
    assert_eq!(summary.catalog.unwrap().partitions_added, 2_200);
    let catalog = catalog(&target);
    assert_eq!(
        locations(&catalog, "aws_service_logs", "alb"),
        written_partitions(&target)
    );
    assert_eq!(
        catalog
            .partitions("aws_service_logs_raw", "alb_raw_logs")
            .unwrap()
            .len(),
        1_100
    );
}

/// Copies a corpus file into the source as one ALB object of the given day folder.
fn corpus_object(source: &Path, file: &str, name: &str) -> PathBuf {
    let folder = source.join("AWSLogs/123456789012/elasticloadbalancing/eu-central-1/2018/11/14");
    std::fs::create_dir_all(&folder).unwrap();
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/alb")
        .join(file);
    let path = folder.join(format!(
        "123456789012_elasticloadbalancing_eu-central-1_app.my-lb.50dc6c495c0c9188_20181114T0000Z_10.0.0.1_{name}.log"
    ));
    std::fs::copy(corpus, &path).unwrap();
    path
}

fn column_names(table: &TableDefinition) -> Vec<String> {
    table.columns.iter().map(|c| c.name.clone()).collect()
}

/// Non-null values of a column over every committed file.
fn non_null(target: &Path, column: &str) -> (usize, usize) {
    let mut rows = 0;
    let mut values = 0;
    for file in agsl::sink::table_files(target).unwrap() {
        for batch in read_file(&file) {
            rows += batch.num_rows();
            if let Some(array) = batch.column_by_name(column) {
                values += array.len() - array.null_count();
            }
        }
    }
    (rows, values)
}

#[test]
fn schema_upgrades_append_columns_and_leave_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("alb"));
    // Old 25-field lines first: the table has every column, the newer ones NULL.
    corpus_object(&source, "beats-elb-application-lb-http.log", "old");
    let old = run(&source, &target, |_| {}).unwrap();
    assert!(old.rows >= 10);
    let catalog = catalog(&target);
    let table = catalog.table("aws_service_logs", "alb").unwrap().unwrap();
    let full = column_names(&table);
    assert_eq!(non_null(&target, "conn_trace_id"), (old.rows as usize, 0));
    assert_eq!(non_null(&target, "classification").1, 0);

    // A table made before ALB had its last three fields (an earlier agsl, or DDL by hand).
    let newest = [
        "transformed_host",
        "transformed_uri",
        "request_transform_status",
    ];
    let mut older = table.clone();
    older.columns.retain(|c| !newest.contains(&c.name.as_str()));
    catalog.update_table(&older).unwrap();
    let files_before: Vec<(PathBuf, Vec<u8>)> = agsl::sink::table_files(&target)
        .unwrap()
        .into_iter()
        .map(|f| (f.clone(), std::fs::read(&f).unwrap()))
        .collect();

    // Then 33-field lines: the three columns are appended, old files stay as they were.
    corpus_object(&source, "vrl-parse_aws_alb_log-tests.log", "new");
    let new = run(&source, &target, |_| {}).unwrap();
    assert!(new.rows >= 10);
    assert_eq!(new.catalog.unwrap().columns_added, 3);
    let upgraded = catalog.table("aws_service_logs", "alb").unwrap().unwrap();
    let names = column_names(&upgraded);
    assert_eq!(names[..older.columns.len()], column_names(&older)[..]);
    assert_eq!(names[older.columns.len()..], newest.map(String::from));
    let mut sorted_full = full.clone();
    sorted_full.sort();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, sorted_full);
    for (file, bytes) in &files_before {
        assert_eq!(
            &std::fs::read(file).unwrap(),
            bytes,
            "{} changed",
            file.display()
        );
    }
    // Old rows read NULL in the columns their lines lacked; the new lines fill them.
    let (rows, trace_ids) = non_null(&target, "conn_trace_id");
    assert_eq!(rows as u64, old.rows + new.rows);
    assert!(trace_ids > 0 && trace_ids as u64 <= new.rows);

    // A column whose type changed is refused, naming a way forward; the data is committed.
    let mut seed_typed = upgraded.clone();
    seed_typed
        .columns
        .iter_mut()
        .find(|c| c.name == "elb_status_code")
        .unwrap()
        .data_type = "string".into();
    catalog.update_table(&seed_typed).unwrap();
    corpus_object(&source, "lnav-alb_log-samples.log", "more");
    let error = run(&source, &target, |_| {}).unwrap_err();
    assert!(
        matches!(error, Error::Catalog(CatalogError::IncompatibleSchema { ref column, .. }) if column == "elb_status_code"),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("--table alb_v2") && message.contains("committed"),
        "{message}"
    );
    assert!(non_null(&target, "type").0 as u64 > old.rows + new.rows);
}

#[test]
fn partition_projection_describes_partitions_instead_of_registering_them() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("alb"));
    write_sample(Format::Alb, plan(days_from_civil(2024, 3, 7), 24), &source).unwrap();
    run(&source, &target, |job| {
        job.catalog.partition_projection = true
    })
    .unwrap();
    let catalog = catalog(&target);
    let table = catalog.table("aws_service_logs", "alb").unwrap().unwrap();
    let p = &table.parameters;
    assert_eq!(p["projection.enabled"], "true");
    assert_eq!(p["projection.region.values"], "eu-west-1,us-east-1");
    assert_eq!(p["projection.year.range"], "2024,2024");
    assert_eq!(
        p["storage.location.template"],
        format!(
            "{}region=${{region}}/year=${{year}}/month=${{month}}/day=${{day}}/",
            url(&target)
        )
    );
    assert!(
        catalog
            .partitions("aws_service_logs", "alb")
            .unwrap()
            .is_empty()
    );
    let raw = catalog
        .table("aws_service_logs_raw", "alb_raw_logs")
        .unwrap()
        .unwrap();
    assert_eq!(
        raw.parameters["storage.location.template"],
        format!(
            "{}AWSLogs/123456789012/elasticloadbalancing/${{region}}/${{year}}/${{month}}/${{day}}/",
            url(&source)
        )
    );
    // Every written partition is one the template and the ranges produce.
    for folder in written_partitions(&target) {
        let values: Vec<&str> = folder.trim_end_matches('/').rsplit('/').take(4).collect();
        let region = values[3].trim_start_matches("region=");
        assert!(
            p["projection.region.values"]
                .split(',')
                .any(|r| r == region)
        );
    }
    // Turning projection off again registers the partitions.
    run(&source, &target, |_| {}).unwrap();
    let table = catalog.table("aws_service_logs", "alb").unwrap().unwrap();
    assert!(!table.projected());
    assert!(!table.parameters.contains_key("storage.location.template"));
    assert_eq!(
        locations(&catalog, "aws_service_logs", "alb"),
        written_partitions(&target)
    );
}

#[test]
fn auto_keeps_one_pair_of_tables_per_service() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("lake"));
    let small = SamplePlan {
        objects: 4,
        lines_per_object: 20,
        ..SamplePlan::default()
    };
    for format in Format::ALL {
        write_sample(format, small.clone(), &source).unwrap();
    }
    let job = ConvertJob::new(None::<Format>, &source, &target);
    let summary = convert(&job, &Progress::default()).unwrap();
    assert_eq!(
        summary.catalog.unwrap().tables_created,
        2 * Format::ALL.len() as u64
    );
    let catalog = catalog(&target);
    let tables: Vec<String> = catalog
        .tables("aws_service_logs")
        .unwrap()
        .into_iter()
        .map(|t| {
            assert_eq!(t.location, url(&target.join(&t.name)));
            assert_eq!(
                locations(&catalog, "aws_service_logs", &t.name),
                written_partitions(&target.join(&t.name))
            );
            t.name
        })
        .collect();
    let mut seed_names: Vec<&str> = Format::ALL.iter().map(|f| f.table_name()).collect();
    seed_names.sort_unstable();
    assert_eq!(tables, seed_names);
    let raw: Vec<String> = catalog
        .tables("aws_service_logs_raw")
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(raw.len(), Format::ALL.len());
    let vpc = catalog
        .table("aws_service_logs_raw", "vpcflow_raw_logs")
        .unwrap()
        .unwrap();
    // The raw tables read only their own service's folders.
    assert!(vpc.location.contains("vpcflowlogs"), "{}", vpc.location);
    assert_eq!(vpc.columns[0].name, "version");
}

#[test]
fn files_of_a_service_this_build_does_not_know_stop_the_catalog_update() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("tables"));
    write_sample(Format::Alb, plan(days_from_civil(2024, 3, 7), 2), &source).unwrap();
    let job = ConvertJob::new(None::<Format>, &source, &target);
    convert(&job, &Progress::default()).unwrap();
    // As if a newer agsl had committed files of a service this build lacks.
    for record in files_named(&target.join("_agsl"), &|n| n.ends_with(".json")) {
        let text = std::fs::read_to_string(&record).unwrap();
        std::fs::write(
            &record,
            text.replace("\"service\":\"alb\"", "\"service\":\"future_logs\""),
        )
        .unwrap();
    }
    let error = convert(&job, &Progress::default()).unwrap_err();
    assert!(
        matches!(error, Error::Catalog(CatalogError::UnknownService(ref s)) if s == "future_logs"),
        "{error}"
    );
}
