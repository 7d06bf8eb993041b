//! Object-level behaviour: routing by key, compression detection, damaged objects, bad
//! arguments.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use agsl::{ConvertJob, Error, Format, Progress, SourceError, convert};
use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::{files_named, read_file, read_table};

const LINE: &str = r#"https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "-" 1 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1 "-" "-" "-""#;
const DIR: &str = "AWSLogs/123456789012/elasticloadbalancing/us-east-2/2018/07/02";

fn gzip(text: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(text).unwrap();
    encoder.finish().unwrap()
}

fn put(root: &Path, name: &str, bytes: &[u8]) {
    let path = root.join(DIR).join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

fn lines(n: usize) -> String {
    format!("{LINE}\n").repeat(n)
}

fn rows(root: &Path) -> usize {
    read_table(root).iter().map(RecordBatch::num_rows).sum()
}

#[test]
fn routes_objects_by_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("s"), dir.path().join("t"));
    let alb = "123456789012_elasticloadbalancing_us-east-2_app.my-lb.50dc6c495c0c9188_20180702T2225Z_10.0.0.1_abc.log.gz";
    put(&source, alb, &gzip(lines(3).as_bytes()));
    put(
        &source,
        &alb.replace("_app.", "_net."),
        &gzip(b"tls 2.0 2018-12-20T02:59:40 net/x\n"),
    );
    put(
        &source,
        &format!("conn_log.{alb}"),
        &gzip(b"2024-10-04T17:05:15.514108Z 1.2.3.4 1 443\n"),
    );
    put(
        &source,
        &alb.replace("_app.my-lb.50dc6c495c0c9188", "_my-classic-lb")
            .replace(".gz", ""),
        b"x\n",
    );
    let summary = convert(
        &ConvertJob::new(Format::Alb, &source, &target),
        &Progress::default(),
    )
    .unwrap();
    assert_eq!(
        (
            summary.objects,
            summary.skipped_objects,
            summary.rows,
            summary.rejects
        ),
        (1, 3, 3, 0)
    );
    assert_eq!(summary.skipped_reasons.get("NLB access log"), Some(&1));
    assert_eq!(summary.skipped_reasons.get("ALB connection log"), Some(&1));
    assert_eq!(
        summary.skipped_reasons.get("Classic ELB access log"),
        Some(&1)
    );
    assert_eq!(
        summary.partitions.iter().collect::<Vec<_>>(),
        ["region=us-east-2/year=2018/month=07/day=02"]
    );
}

#[test]
fn plain_and_multi_member_gzip_objects() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("s"), dir.path().join("t"));
    put(&source, "plain.log", lines(2).as_bytes());
    let mut members = gzip(lines(3).as_bytes());
    members.extend(gzip(lines(4).as_bytes()));
    put(&source, "members.log.gz", &members);
    let summary = convert(
        &ConvertJob::new(Format::Alb, &source, &target),
        &Progress::default(),
    )
    .unwrap();
    assert_eq!((summary.rows, summary.rejects), (9, 0));
    assert_eq!(rows(&target), 9);
}

#[test]
fn truncated_gzip_keeps_earlier_lines_and_rejects_the_object_tail() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("s"), dir.path().join("t"));
    // Incompressible-ish varied lines so that half the gzip stream holds many whole lines.
    let text: String = (0..4000)
        .map(|i| LINE.replace("TID_1", &format!("TID_{i:x}{}", i * 7919)) + "\n")
        .collect();
    let mut data = gzip(text.as_bytes());
    data.truncate(data.len() / 2);
    put(&source, "cut.log.gz", &data);
    put(&source, "good.log.gz", &gzip(lines(5).as_bytes()));
    let summary = convert(
        &ConvertJob::new(Format::Alb, &source, &target),
        &Progress::default(),
    )
    .unwrap();
    // Every complete line an independent decoder gets out of the damaged stream is kept.
    let mut prefix = Vec::new();
    let _ = flate2::read::MultiGzDecoder::new(data.as_slice()).read_to_end(&mut prefix);
    let complete_lines = prefix.iter().filter(|&&b| b == b'\n').count() as u64;
    assert!(
        complete_lines > 100 && complete_lines < 4000,
        "{complete_lines}"
    );
    assert_eq!(summary.rejects, 1);
    assert_eq!(summary.rows, complete_lines + 5);
    assert_eq!(summary.rows + summary.rejects, summary.lines);
    assert_eq!(rows(&target) as u64, summary.rows);
    let rejects = files_named(&target.join("_rejects"), &|n| n.ends_with(".parquet"));
    let batch = &read_file(&rejects[0])[0];
    let reason = batch.column(2).as_string::<i32>().value(0);
    assert!(
        reason.starts_with("corrupt compressed data after line"),
        "{reason}"
    );
    assert!(
        batch
            .column(0)
            .as_string::<i32>()
            .value(0)
            .ends_with("cut.log.gz")
    );
}

#[test]
fn invalid_utf8_line_is_rejected_with_its_exact_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("s"), dir.path().join("t"));
    let mut bad = LINE.replace("curl/7.46.0", "curl/\u{1}X").into_bytes();
    let at = bad.iter().position(|&b| b == 1).unwrap();
    bad[at] = 0xfe;
    let mut text = lines(2).into_bytes();
    text.extend_from_slice(&bad);
    text.extend_from_slice(b"\n\n");
    text.extend_from_slice(lines(1).as_bytes());
    put(&source, "x.log", &text);
    let summary = convert(
        &ConvertJob::new(Format::Alb, &source, &target),
        &Progress::default(),
    )
    .unwrap();
    assert_eq!(
        (summary.rows, summary.rejects, summary.skipped_lines),
        (3, 1, 1)
    );
    let rejects = files_named(&target.join("_rejects"), &|n| n.ends_with(".parquet"));
    let batch = &read_file(&rejects[0])[0];
    assert_eq!(
        batch
            .column(1)
            .as_primitive::<arrow_array::types::Int64Type>()
            .value(0),
        3
    );
    assert_eq!(batch.column(3).as_binary::<i32>().value(0), bad.as_slice());
}

#[test]
fn empty_source_converts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("s"), dir.path().join("t"));
    fs::create_dir_all(&source).unwrap();
    let summary = convert(
        &ConvertJob::new(Format::Alb, &source, &target),
        &Progress::default(),
    )
    .unwrap();
    assert_eq!((summary.objects, summary.rows, summary.files), (0, 0, 0));
}

#[test]
fn bad_arguments_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = convert(
        &ConvertJob::new(Format::Alb, dir.path().join("nope"), dir.path().join("t")),
        &Progress::default(),
    )
    .unwrap_err();
    assert!(
        matches!(missing, Error::Source(SourceError::Missing { .. })),
        "{missing}"
    );
    assert!(missing.to_string().contains("does not exist"));

    fs::write(dir.path().join("file"), b"").unwrap();
    let unwritable = convert(
        &ConvertJob::new(
            Format::Alb,
            dir.path(),
            dir.path().join("file").join("table"),
        ),
        &Progress::default(),
    )
    .unwrap_err();
    assert!(
        unwritable.to_string().starts_with("cannot create folder"),
        "{unwritable}"
    );
}

/// `--service auto` on hand-collected files: names say nothing, the first line decides;
/// files of no known service are skipped and counted.
#[test]
fn auto_detects_content_when_the_key_says_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("s"), dir.path().join("t"));
    fs::create_dir_all(source.join("collected")).unwrap();
    fs::write(source.join("collected/alb.log"), lines(3)).unwrap();
    fs::write(
        source.join("collected/classic.log"),
        "2015-05-13T23:39:43.945958Z my-lb 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 \"GET http://www.example.com:80/ HTTP/1.1\" \"curl/7.38.0\" - -\n",
    )
    .unwrap();
    fs::write(source.join("collected/notes.txt"), "shopping list\n").unwrap();
    let summary = convert(
        &ConvertJob::new(None, &source, &target),
        &Progress::default(),
    )
    .unwrap();
    let services: Vec<(&str, u64)> = summary
        .services
        .iter()
        .map(|s| (s.service.as_str(), s.rows))
        .collect();
    assert_eq!(services, [("alb", 3), ("elb", 1)]);
    assert_eq!(summary.rows, 4);
    assert_eq!(
        summary.skipped_reasons.get("content of no known service"),
        Some(&1)
    );
    assert!(
        summary
            .partitions
            .contains("alb/region=__HIVE_DEFAULT_PARTITION__/year=2018/month=07/day=02"),
        "{:?}",
        summary.partitions
    );
    assert_eq!(rows(&target.join("elb")), 1);
}

#[test]
fn vpc_records_without_a_start_time_go_to_the_key_date() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("vpc"));
    // AWS's NAT gateway example: a custom format without `start`, delivered on 2024-05-03...
    let nat = "instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr\n\
               - eni-1235b8ca123456789 10.0.1.5 203.0.113.5 10.0.1.5 203.0.113.5\n\
               - eni-1235b8ca123456789 203.0.113.5 10.0.1.5 203.0.113.5 10.0.1.5\n";
    let folder = source.join("AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/05/03");
    fs::create_dir_all(&folder).unwrap();
    fs::write(
        folder.join("123456789012_vpcflowlogs_eu-west-1_fl-1_20240503T2355Z_abc.log.gz"),
        gzip(nat.as_bytes()),
    )
    .unwrap();
    // ...and a hand-collected file whose key has no date.
    fs::write(source.join("nat-export.log"), nat).unwrap();
    let job = ConvertJob::new(Format::VpcFlow, &source, &target);
    let summary = convert(&job, &Progress::default()).unwrap();
    assert_eq!((summary.rows, summary.rejects), (4, 0));
    let dated = target.join("region=eu-west-1/year=2024/month=05/day=03");
    let undated = target.join(
        "region=__HIVE_DEFAULT_PARTITION__/year=__HIVE_DEFAULT_PARTITION__/\
         month=__HIVE_DEFAULT_PARTITION__/day=__HIVE_DEFAULT_PARTITION__",
    );
    for partition in [dated, undated] {
        let batches: Vec<RecordBatch> = files_named(&partition, &|n| n.ends_with(".parquet"))
            .iter()
            .flat_map(|f| read_file(f))
            .collect();
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 2, "{}", partition.display());
        for batch in &batches {
            assert_eq!(
                batch.column_by_name("start_time").unwrap().null_count(),
                batch.num_rows()
            );
            let eni = batch
                .column_by_name("interface_id")
                .unwrap()
                .as_string::<i32>();
            assert!(eni.iter().all(|v| v == Some("eni-1235b8ca123456789")));
        }
    }
}

#[test]
fn a_gzip_bomb_line_is_one_reject_keeping_its_first_mib() {
    // A valid line, then 256 MiB of zeros without a newline (a few hundred KB of gzip), then
    // another valid line: the endless line costs 1 MiB, never its length.
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("s"), dir.path().join("t"));
    let zeros = 256usize << 20;
    let mut encoder = GzEncoder::new(Vec::new(), Compression::new(9));
    encoder.write_all(lines(1).as_bytes()).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..zeros / chunk.len() {
        encoder.write_all(&chunk).unwrap();
    }
    encoder.write_all(b"\n").unwrap();
    encoder.write_all(lines(1).as_bytes()).unwrap();
    let stored = encoder.finish().unwrap();
    assert!(stored.len() < 2 << 20, "{}", stored.len());
    put(&source, "bomb.log.gz", &stored);
    let summary = convert(
        &ConvertJob::new(Format::Alb, &source, &target),
        &Progress::default(),
    )
    .unwrap();
    assert_eq!((summary.rows, summary.rejects, summary.lines), (2, 1, 3));
    assert_eq!(summary.bytes_in, (2 * lines(1).len() + zeros + 1) as u64);
    let rejects = files_named(&target.join("_rejects"), &|n| n.ends_with(".parquet"));
    let batch = &read_file(&rejects[0])[0];
    let reason = batch.column(2).as_string::<i32>().value(0);
    assert!(
        reason.contains(&format!("line is {zeros} bytes")),
        "{reason}"
    );
    let raw = batch.column(3).as_binary::<i32>().value(0);
    assert_eq!(raw.len(), agsl_formats::MAX_LINE_BYTES);
    assert!(raw.iter().all(|&b| b == 0));
}

/// Long ALB lines are batched 2,048 rows at a time (about 1 MiB), short VPC flow records
/// 8,192; a caller asking for fewer rows gets them.
#[test]
fn batches_hold_the_formats_rows_or_the_callers_fewer() {
    let batch_rows = |format: Format, text: String, most: usize| -> Vec<usize> {
        let parsed =
            agsl::read::parse_bytes(format.parser(), "k", gzip(text.as_bytes()), most).unwrap();
        assert_eq!(parsed.counts.rejects, 0);
        parsed.batches.iter().map(RecordBatch::num_rows).collect()
    };
    assert_eq!(Format::Alb.parser().info().batch_rows, 2048);
    assert_eq!(
        batch_rows(Format::Alb, lines(5000), agsl::DEFAULT_BATCH_SIZE),
        [2048, 2048, 904]
    );
    assert_eq!(
        batch_rows(Format::Alb, lines(2500), 1000),
        [1000, 1000, 500]
    );

    let vpc = "2 123456789012 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n";
    assert_eq!(Format::VpcFlow.parser().info().batch_rows, 8192);
    assert_eq!(
        batch_rows(Format::VpcFlow, vpc.repeat(9000), agsl::DEFAULT_BATCH_SIZE),
        [8192, 808]
    );
}

/// A file whose name is not UTF-8 cannot be named by a key (as S3's are): the run stops at
/// the listing, naming it, instead of reading it back under another name and finding it gone.
#[test]
fn a_file_name_that_is_not_text_stops_the_run_naming_it() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("alb"));
    put(&source, "good_app.lb.log", LINE.as_bytes());
    let name = std::ffi::OsStr::from_bytes(b"odd_app.lb\xff.log");
    fs::write(source.join(DIR).join(name), LINE.as_bytes()).unwrap();
    let job = ConvertJob::new(Format::Alb, &source, &target);
    let error = convert(&job, &Progress::default()).unwrap_err();
    assert!(
        matches!(&error, Error::Source(SourceError::List { path, .. })
            if path.file_name() == Some(name)),
        "{error}"
    );
    assert!(error.to_string().contains("not UTF-8"), "{error}");
    let written = files_named(&target, &|name| name.ends_with(".parquet"));
    assert!(written.is_empty(), "nothing was converted: {written:?}");
}
