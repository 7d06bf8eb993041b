//! A generated, day-crossing ALB sample with injected bad lines, converted and read back.

use std::collections::BTreeMap;
use std::io::Read;

use agsl::sample::write_sample;
use agsl::sink::{REJECTS_DIR, rejects_schema};
use agsl::{ConvertJob, Format, Progress, WriterOptions, convert};
use agsl_formats::sample::SamplePlan;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};

use crate::{files_named, read_file, read_table};

fn plan() -> SamplePlan {
    SamplePlan {
        objects: 30,
        lines_per_object: 400,
        bad_line_every: Some(97),
        ..SamplePlan::default()
    }
}

fn sum_i64(batches: &[RecordBatch], column: &str) -> i64 {
    batches
        .iter()
        .map(|b| {
            let a = b
                .column_by_name(column)
                .unwrap()
                .as_primitive::<Int64Type>();
            a.iter().flatten().sum::<i64>()
        })
        .sum()
}

#[test]
fn converts_generated_logs_into_the_seed_layout() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let target = dir.path().join("table");
    let written = write_sample(Format::Alb, plan(), &source).unwrap();
    assert!(written.facts.bad_lines > 0 && written.facts.rows_per_partition.len() == 4);

    let progress = Progress::default();
    let summary = convert(&ConvertJob::new(Format::Alb, &source, &target), &progress).unwrap();

    assert_eq!(summary.objects, 30);
    assert_eq!(summary.rows, written.facts.good_lines);
    assert_eq!(summary.rejects, written.facts.bad_lines);
    assert_eq!(summary.lines, summary.rows + summary.rejects);
    assert_eq!(summary.bytes_in, written.bytes);
    assert_eq!(summary.source_bytes, written.stored_bytes);
    assert_eq!(
        progress.rows.load(std::sync::atomic::Ordering::Relaxed),
        summary.rows
    );

    let batches = read_table(&target);
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows as u64, written.facts.good_lines);
    assert_eq!(sum_i64(&batches, "sent_bytes"), written.facts.sent_bytes);

    // Partitions: region from the key, day from each record's own time (the sample crosses
    // midnight, so one delivery folder feeds two partitions).
    let partitions: Vec<&String> = written.facts.rows_per_partition.keys().collect();
    // 10 five-minute intervals ending 23:30..00:15; objects 12-23 are eu-west-1.
    assert_eq!(
        partitions,
        [
            "region=eu-west-1/year=2024/month=03/day=07",
            "region=eu-west-1/year=2024/month=03/day=08",
            "region=us-east-1/year=2024/month=03/day=07",
            "region=us-east-1/year=2024/month=03/day=08",
        ]
    );
    assert_eq!(summary.partitions.iter().collect::<Vec<_>>(), partitions);
    for (partition, expected_rows) in &written.facts.rows_per_partition {
        let rows: usize = read_table(&target.join(partition))
            .iter()
            .map(RecordBatch::num_rows)
            .sum();
        assert_eq!(rows as u64, *expected_rows, "{partition}");
        // Every row in a day partition has an event time on that day.
        let day: u32 = partition.rsplit("day=").next().unwrap().parse().unwrap();
        for batch in read_table(&target.join(partition)) {
            let times = batch
                .column_by_name("time")
                .unwrap()
                .as_primitive::<TimestampMicrosecondType>();
            for t in times.values() {
                let (_, _, d) = agsl_formats::time::civil_from_days(t.div_euclid(86_400_000_000));
                assert_eq!(d, day);
            }
        }
    }

    // Stable, typed schema with lineage last; partition columns are not repeated in the files.
    let schema = batches[0].schema();
    assert_eq!(schema.fields().len(), 38);
    assert_eq!(schema.field(37).name(), "_source_key");
    assert_eq!(
        schema.field_with_name("time").unwrap().data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert!(schema.field_with_name("region").is_err());
    for batch in &batches {
        let keys = batch
            .column_by_name("_source_key")
            .unwrap()
            .as_string::<i32>();
        for key in keys.iter() {
            let path = key.unwrap().strip_prefix("file://").expect("file URL");
            assert!(std::path::Path::new(path).is_file(), "{path}");
        }
    }
    assert!(files_named(&target, &|n| n.ends_with(".inprogress")).is_empty());
}

#[test]
fn rejects_keep_object_line_reason_and_raw_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let target = dir.path().join("table");
    let written = write_sample(Format::Alb, plan(), &source).unwrap();
    convert(
        &ConvertJob::new(Format::Alb, &source, &target),
        &Progress::default(),
    )
    .unwrap();

    let reject_files = files_named(&target.join(REJECTS_DIR), &|n| n.ends_with(".parquet"));
    assert!(!reject_files.is_empty());
    let mut seen = 0;
    let mut per_object: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for file in reject_files {
        for batch in read_file(&file) {
            assert_eq!(batch.schema(), rejects_schema());
            let keys = batch.column(0).as_string::<i32>();
            let lines = batch.column(1).as_primitive::<Int64Type>();
            let reasons = batch.column(2).as_string::<i32>();
            let raws = batch.column(3).as_binary::<i32>();
            for i in 0..batch.num_rows() {
                seen += 1;
                assert!(!reasons.value(i).is_empty());
                let path = keys.value(i).strip_prefix("file://").unwrap();
                // The raw bytes are exactly the source line at that line number.
                let mut text = String::new();
                flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
                    .read_to_string(&mut text)
                    .unwrap();
                let line = text.lines().nth(lines.value(i) as usize - 1).unwrap();
                assert_eq!(raws.value(i), line.as_bytes());
                per_object
                    .entry(path.to_owned())
                    .or_default()
                    .push(lines.value(i) as u64);
            }
        }
    }
    assert_eq!(seen, written.facts.bad_lines);
    // Every 97th line of the whole sample (400 lines per object) is bad.
    let mut expected = 0;
    for (_, mut lines) in per_object {
        lines.sort_unstable();
        expected += lines.len();
        assert!(lines.windows(2).all(|w| w[1] - w[0] == 97), "{lines:?}");
    }
    assert_eq!(expected as u64, written.facts.bad_lines);
}

#[test]
fn small_files_and_a_tight_memory_budget_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let target = dir.path().join("table");
    let written = write_sample(Format::Alb, plan(), &source).unwrap();
    let options = WriterOptions {
        target_file_bytes: 64 * 1024,
        row_group_bytes: 16 * 1024,
        memory_budget_bytes: 32 * 1024,
        max_open_files: 1,
        ..WriterOptions::default()
    };
    let job = ConvertJob::new(Format::Alb, &source, &target)
        .with_workers(2)
        .with_writer_options(options);
    let summary = convert(&job, &Progress::default()).unwrap();
    let files = agsl::sink::table_files(&target).unwrap();
    assert!(
        files.len() > 8,
        "files roll at the target size: {}",
        files.len()
    );
    let rejects = files_named(&target.join(REJECTS_DIR), &|n| n.ends_with(".parquet"));
    assert_eq!(rejects.len(), 2, "one rejects file per worker");
    assert_eq!(summary.files as usize, files.len() + rejects.len());
    let batches = read_table(&target);
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows as u64, written.facts.good_lines);
    assert_eq!(sum_i64(&batches, "sent_bytes"), written.facts.sent_bytes);
    assert!(
        files.iter().any(|f| {
            let metadata = parquet::file::reader::FileReader::metadata(
                &parquet::file::reader::SerializedFileReader::new(std::fs::File::open(f).unwrap())
                    .unwrap(),
            )
            .clone();
            metadata.num_row_groups() > 1
        }),
        "row groups flush by size"
    );
}

#[test]
fn one_worker_and_two_workers_write_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    write_sample(Format::Alb, plan(), &source).unwrap();
    let mut digests = Vec::new();
    for workers in [1, 2] {
        let target = dir.path().join(format!("table-{workers}"));
        let job = ConvertJob::new(Format::Alb, &source, &target).with_workers(workers);
        convert(&job, &Progress::default()).unwrap();
        let batches = read_table(&target);
        let mut rows: Vec<String> = batches
            .iter()
            .flat_map(|b| {
                let trace = b
                    .column_by_name("trace_id")
                    .unwrap()
                    .as_string::<i32>()
                    .clone();
                let sent = b
                    .column_by_name("sent_bytes")
                    .unwrap()
                    .as_primitive::<Int64Type>()
                    .clone();
                (0..b.num_rows()).map(move |i| format!("{}:{}", trace.value(i), sent.value(i)))
            })
            .collect();
        rows.sort();
        digests.push(rows);
    }
    assert_eq!(digests[0], digests[1]);
    assert!(!digests[0].is_empty());
}

#[test]
fn column_nulls_survive_the_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let target = dir.path().join("table");
    write_sample(Format::Alb, plan(), &source).unwrap();
    convert(
        &ConvertJob::new(Format::Alb, &source, &target),
        &Progress::default(),
    )
    .unwrap();
    let batches = read_table(&target);
    let nulls = |column: &str| -> usize {
        batches
            .iter()
            .map(|b| b.column_by_name(column).unwrap().null_count())
            .sum()
    };
    assert!(
        nulls("target_ip") > 0,
        "requests that never reached a target"
    );
    assert_eq!(nulls("time"), 0);
    assert_eq!(
        nulls("transformed_uri"),
        batches.iter().map(RecordBatch::num_rows).sum::<usize>()
    );
}

/// ALB (gzip) and Classic ELB (plain) objects share one prefix; each service converts only its
/// own objects and skips the other's.
#[test]
fn alb_and_classic_elb_under_one_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let alb = write_sample(Format::Alb, plan(), &source).unwrap();
    let elb = write_sample(Format::Elb, SamplePlan { seed: 7, ..plan() }, &source).unwrap();
    for (format, written, other) in [(Format::Alb, &alb, &elb), (Format::Elb, &elb, &alb)] {
        let target = dir.path().join(format.keyword());
        let summary = convert(
            &ConvertJob::new(format, &source, &target),
            &Progress::default(),
        )
        .unwrap();
        assert_eq!(summary.objects, written.objects, "{format}");
        assert_eq!(summary.skipped_objects, other.objects, "{format}");
        assert_eq!(
            (summary.rows, summary.rejects),
            (written.facts.good_lines, written.facts.bad_lines)
        );
        let batches = read_table(&target);
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows as u64, written.facts.good_lines, "{format}");
        assert_eq!(
            sum_i64(&batches, "sent_bytes"),
            written.facts.sent_bytes,
            "{format}"
        );
        let partitions: Vec<&String> = written.facts.rows_per_partition.keys().collect();
        assert_eq!(
            summary.partitions.iter().collect::<Vec<_>>(),
            partitions,
            "{format}"
        );
    }
    assert_eq!(
        elb.stored_bytes, elb.bytes,
        "Classic ELB objects are plain text"
    );
}

/// CloudFront: flat prefix, header lines, date-only partitions from each record's time.
#[test]
fn cloudfront_into_date_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let target = dir.path().join("table");
    let written = write_sample(Format::Cloudfront, plan(), &source).unwrap();
    let summary = convert(
        &ConvertJob::new(Format::Cloudfront, &source, &target),
        &Progress::default(),
    )
    .unwrap();
    assert_eq!(
        (summary.rows, summary.rejects),
        (written.facts.good_lines, written.facts.bad_lines)
    );
    assert_eq!(
        summary.skipped_lines,
        2 * written.objects,
        "two header lines per object"
    );
    let batches = read_table(&target);
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows as u64, written.facts.good_lines);
    assert_eq!(sum_i64(&batches, "sc_bytes"), written.facts.sent_bytes);
    // 30 objects, two per hour from 23:00: one hour on the 7th, the rest on the 8th.
    assert_eq!(
        summary.partitions.iter().collect::<Vec<_>>(),
        ["year=2024/month=03/day=07", "year=2024/month=03/day=08"]
    );
    assert_eq!(
        written.facts.rows_per_partition["year=2024/month=03/day=07"],
        2 * 400 - 8
    );
}

/// S3 access logs: plain-text objects without extension, date partitions from each record.
#[test]
fn s3_access_into_date_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let target = dir.path().join("table");
    let written = write_sample(Format::S3Access, plan(), &source).unwrap();
    assert_eq!(
        written.stored_bytes, written.bytes,
        "S3 delivers access logs uncompressed"
    );
    let summary = convert(
        &ConvertJob::new(Format::S3Access, &source, &target),
        &Progress::default(),
    )
    .unwrap();
    assert_eq!((summary.objects, summary.skipped_objects), (30, 0));
    assert_eq!(
        (summary.rows, summary.rejects),
        (written.facts.good_lines, written.facts.bad_lines)
    );
    let batches = read_table(&target);
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows as u64, written.facts.good_lines);
    assert_eq!(sum_i64(&batches, "bytes_sent"), written.facts.sent_bytes);
    // Objects every 5 minutes from 23:30: records on the 7th and the 8th.
    assert_eq!(
        summary.partitions.iter().collect::<Vec<_>>(),
        ["year=2024/month=03/day=07", "year=2024/month=03/day=08"]
    );
    for (partition, expected) in &written.facts.rows_per_partition {
        let rows: usize = read_table(&target.join(partition))
            .iter()
            .map(RecordBatch::num_rows)
            .sum();
        assert_eq!(rows as u64, *expected, "{partition}");
    }
}

/// VPC Flow Logs: objects of two different formats (default v2 and a custom v5 order) in one
/// run land in one table schema; region from the key, day from each record's start time.
#[test]
fn vpc_flow_formats_union_into_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let target = dir.path().join("table");
    let written = write_sample(Format::VpcFlow, plan(), &source).unwrap();
    let summary = convert(
        &ConvertJob::new(Format::VpcFlow, &source, &target),
        &Progress::default(),
    )
    .unwrap();
    assert_eq!(
        (summary.rows, summary.rejects),
        (written.facts.good_lines, written.facts.bad_lines)
    );
    assert_eq!(
        summary.skipped_lines, written.objects,
        "one header per object"
    );
    let batches = read_table(&target);
    assert_eq!(sum_i64(&batches, "bytes"), written.facts.sent_bytes);
    let partitions: Vec<&String> = written.facts.rows_per_partition.keys().collect();
    assert_eq!(summary.partitions.iter().collect::<Vec<_>>(), partitions);
    assert!(partitions.len() >= 3, "{partitions:?}");
    let schema = batches[0].schema();
    assert!(
        batches.iter().all(|b| b.schema() == schema),
        "one schema for both formats"
    );
    // Custom-format rows carry vpc_id; default-format rows read NULL there.
    let vpc_ids: usize = batches
        .iter()
        .map(|b| b.column_by_name("vpc_id").unwrap().null_count())
        .sum();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert!(vpc_ids > 0 && vpc_ids < rows, "{vpc_ids} of {rows}");
    assert!(
        schema.field_with_name("record_region").is_ok()
            && schema.field_with_name("region").is_err()
    );
}

/// CloudTrail: JSON documents, one row per record, nested `resources`, region from the key and
/// day from `eventtime`; digests next to the logs are skipped.
#[test]
fn cloudtrail_records_into_rows() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let target = dir.path().join("table");
    let written = write_sample(Format::Cloudtrail, plan(), &source).unwrap();
    let digest =
        source.join("AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/03/07/d.json.gz");
    std::fs::create_dir_all(digest.parent().unwrap()).unwrap();
    std::fs::write(&digest, b"{}").unwrap();
    let summary = convert(
        &ConvertJob::new(Format::Cloudtrail, &source, &target),
        &Progress::default(),
    )
    .unwrap();
    assert_eq!((summary.objects, summary.skipped_objects), (30, 1));
    assert_eq!(
        (summary.rows, summary.rejects),
        (written.facts.good_lines, written.facts.bad_lines)
    );
    let batches = read_table(&target);
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows as u64, written.facts.good_lines);
    let partitions: Vec<&String> = written.facts.rows_per_partition.keys().collect();
    assert_eq!(summary.partitions.iter().collect::<Vec<_>>(), partitions);
    let resources: usize = batches
        .iter()
        .map(|b| {
            b.column_by_name("resources")
                .unwrap()
                .as_list::<i32>()
                .values()
                .len()
        })
        .sum();
    assert!(
        resources > 0,
        "nested resources survive the Parquet round trip"
    );
    let schema = batches[0].schema();
    assert!(matches!(
        schema.field_with_name("resources").unwrap().data_type(),
        DataType::List(_)
    ));
}

/// Statistics only where they can prune: the event time and every other column carry min/max
/// in every row group; each format's free-text columns carry none (and are really there).
#[test]
fn free_text_columns_are_written_without_statistics() {
    use parquet::file::reader::{FileReader, SerializedFileReader};

    for format in Format::ALL {
        let dir = tempfile::tempdir().unwrap();
        let (source, target) = (dir.path().join("source"), dir.path().join("table"));
        let plan = SamplePlan {
            objects: 2,
            lines_per_object: 200,
            ..SamplePlan::default()
        };
        write_sample(format, plan, &source).unwrap();
        convert(
            &ConvertJob::new(format, &source, &target),
            &Progress::default(),
        )
        .unwrap();
        let parser = format.parser();
        let free_text = parser.info().free_text_columns;
        assert!(!free_text.is_empty(), "{format:?}");
        for column in free_text.iter().chain(parser.info().unique_columns) {
            assert!(
                parser.schema().index_of(column).is_ok(),
                "{format:?} {column}"
            );
        }
        let files = files_named(&target, &|n| n.ends_with(".parquet") && !n.starts_with('_'));
        assert!(!files.is_empty(), "{format:?}");
        let mut seen_free_text = 0;
        for path in files {
            let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
            for group in reader.metadata().row_groups() {
                for column in group.columns() {
                    let name = column.column_path().string();
                    let has_statistics = column.statistics().is_some();
                    if free_text.contains(&name.as_str()) {
                        seen_free_text += 1;
                        assert!(!has_statistics, "{format:?} {name} has statistics");
                    } else {
                        assert!(has_statistics, "{format:?} {name} lacks statistics");
                    }
                }
            }
        }
        assert!(seen_free_text >= free_text.len(), "{format:?}");
    }
}

/// Lineage is exact per row: with batches far smaller than objects (and a short last batch per
/// object), each `_source_key` holds exactly its object's rows, checked by the bytes sent of
/// every line of every object, read from the text itself.
#[test]
fn every_row_names_its_own_object() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("source"), dir.path().join("table"));
    let plan = SamplePlan {
        objects: 6,
        lines_per_object: 150,
        ..SamplePlan::default()
    };
    write_sample(Format::Alb, plan, &source).unwrap();
    let mut job = ConvertJob::new(Format::Alb, &source, &target).with_workers(2);
    job.batch_size = 64;
    convert(&job, &Progress::default()).unwrap();

    let mut expected: BTreeMap<String, (usize, i64)> = BTreeMap::new();
    for path in files_named(&source, &|n| n.ends_with(".log.gz")) {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(&path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        // `sent_bytes` is the 12th space-separated field, before any quoted one.
        let sent = text
            .lines()
            .map(|line| line.split(' ').nth(11).unwrap().parse::<i64>().unwrap());
        let url = format!("file://{}", path.canonicalize().unwrap().display());
        expected.insert(url, (text.lines().count(), sent.sum()));
    }
    assert_eq!(expected.len(), 6);

    let mut seen: BTreeMap<String, (usize, i64)> = BTreeMap::new();
    for batch in read_table(&target) {
        let keys = batch
            .column_by_name("_source_key")
            .unwrap()
            .as_string::<i32>();
        let sent = batch
            .column_by_name("sent_bytes")
            .unwrap()
            .as_primitive::<Int64Type>();
        for row in 0..batch.num_rows() {
            let entry = seen.entry(keys.value(row).to_owned()).or_default();
            entry.0 += 1;
            entry.1 += sent.value(row);
        }
    }
    assert_eq!(seen, expected);
}

/// WAF through Firehose: object keys name neither WAF nor a region (FORMATS.md 8.1), so each
/// row's region comes from its web ACL's ARN (`cloudfront` for global web ACLs) and every row
/// lands in the partition a direct delivery would have put it in, never in the default one.
#[test]
fn waf_through_firehose_takes_each_rows_region_from_its_web_acl() {
    let dir = tempfile::tempdir().unwrap();
    let (generated, source) = (dir.path().join("generated"), dir.path().join("firehose"));
    let target = dir.path().join("table");
    let written = write_sample(Format::Waf, plan(), &generated).unwrap();
    let objects = files_named(&generated, &|name| name.ends_with(".log.gz"));
    assert_eq!(objects.len() as u64, written.objects);
    for (i, object) in objects.iter().enumerate() {
        let key = format!("2024/03/07/23/aws-waf-logs-shop-1-2024-03-07-23-{i:02}-00-0b1e2c.gz");
        std::fs::create_dir_all(source.join(&key).parent().unwrap()).unwrap();
        std::fs::rename(object, source.join(key)).unwrap();
    }
    let summary = convert(
        &ConvertJob::new(Format::Waf, &source, &target),
        &Progress::default(),
    )
    .unwrap();
    assert_eq!(summary.skipped_objects, 0, "Firehose object names convert");
    assert_eq!(
        (summary.rows, summary.rejects),
        (written.facts.good_lines, written.facts.bad_lines)
    );
    let expected: Vec<&String> = written.facts.rows_per_partition.keys().collect();
    assert!(expected.iter().any(|p| p.starts_with("region=cloudfront/")));
    assert!(expected.iter().any(|p| p.starts_with("region=us-east-1/")));
    assert_eq!(summary.partitions.iter().collect::<Vec<_>>(), expected);
    for (partition, rows) in &written.facts.rows_per_partition {
        let read: usize = read_table(&target.join(partition))
            .iter()
            .map(RecordBatch::num_rows)
            .sum();
        assert_eq!(read as u64, *rows, "{partition}");
    }
}

/// CloudFront's legacy and v2 logging name objects alike; in one flat prefix `auto` tells them
/// apart by their first bytes (header, JSON, Parquet magic), reading the objects' heads
/// concurrently, and each kind lands in its own table whole.
#[test]
fn auto_tells_legacy_and_v2_cloudfront_apart_in_one_flat_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let (generated, source) = (dir.path().join("generated"), dir.path().join("flat"));
    let target = dir.path().join("tables");
    let plan = SamplePlan {
        objects: 8,
        lines_per_object: 150,
        bad_line_every: Some(41),
        ..SamplePlan::default()
    };
    let legacy = write_sample(Format::Cloudfront, plan.clone(), &generated.join("legacy")).unwrap();
    let v2 = write_sample(Format::CloudfrontV2, plan, &generated.join("v2")).unwrap();
    std::fs::create_dir_all(&source).unwrap();
    let files = files_named(&generated, &|name| {
        name.ends_with(".gz") || name.ends_with(".parquet")
    });
    assert_eq!(files.len() as u64, legacy.objects + v2.objects);
    for (i, file) in files.iter().enumerate() {
        // Every name in the legacy pattern, whatever the content: only the bytes can tell.
        std::fs::rename(
            file,
            source.join(format!("E2FLAT{i:02}EXAMPLE.2024-03-07-23.{i:08}.gz")),
        )
        .unwrap();
    }
    let summary = convert(
        &ConvertJob::new(None, &source, &target),
        &Progress::default(),
    )
    .unwrap();
    assert_eq!(summary.skipped_objects, 0);
    let by_service: BTreeMap<&str, (u64, u64)> = summary
        .services
        .iter()
        .map(|s| (s.service.as_str(), (s.rows, s.rejects)))
        .collect();
    assert_eq!(
        by_service,
        BTreeMap::from([
            (
                "cloudfront",
                (legacy.facts.good_lines, legacy.facts.bad_lines)
            ),
            ("cloudfront_v2", (v2.facts.good_lines, v2.facts.bad_lines)),
        ])
    );
}

/// Each stage's CPU is charged to the run: a gzip sample is decompressed on read-ahead threads,
/// parsed by the workers and encoded by their writers; Classic ELB's plain objects are read on
/// the workers' own threads, so nothing of them is decompressing.
#[cfg(unix)]
#[test]
fn the_summary_says_where_the_cpu_went() {
    let dir = tempfile::tempdir().unwrap();
    let summary_of = |format: Format| {
        let source = dir.path().join(format!("{format}-source"));
        let target = dir.path().join(format!("{format}-table"));
        write_sample(format, plan(), &source).unwrap();
        convert(
            &ConvertJob::new(format, &source, &target),
            &Progress::default(),
        )
        .unwrap()
    };
    let alb = summary_of(Format::Alb);
    assert!(
        alb.cpu.decompress > 0.0 && alb.cpu.parse > 0.0 && alb.cpu.encode > 0.0,
        "{:?}",
        alb.cpu
    );
    let elb = summary_of(Format::Elb);
    assert_eq!(elb.cpu.decompress, 0.0, "{:?}", elb.cpu);
    assert!(elb.cpu.parse > 0.0 && elb.cpu.encode > 0.0, "{:?}", elb.cpu);
    let json = serde_json::to_value(&alb).unwrap();
    assert_eq!(json["cpu_seconds"]["parse"], alb.cpu.parse);
}
