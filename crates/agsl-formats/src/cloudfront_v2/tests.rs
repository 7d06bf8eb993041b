use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray, TimestampMillisecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

use super::{NAMES, normalise};
use crate::detect::{KeyDetection, detect_from_key, format_from_first_line};
use crate::test_support::{float64, int32, int64, micros, text, text_at};
use crate::{CloudfrontFormat, CloudfrontV2Format, Decoded, Format, LogFormat, Route};

/// AWS's JSON example (FORMATS.md 12.3): a custom selection with real-time fields.
const AWS_JSON: &str = r#"{"date":"2024-11-15","time":"19:45:51","x-edge-location":"SOF50-P2","asn":"16509","timestamp(ms)":"1731699951183","origin-fbl":"0.254","origin-lbl":"0.254","x-host-header":"d111111abcdef8.cloudfront.net","cs(Cookie)":"examplecookie=value"}"#;

/// AWS's W3C example, TAB-separated as delivered.
const AWS_W3C: &str = "#Fields: date time x-edge-location asn timestamp(ms) x-host-header cs(Cookie)\n2024-11-14\t22:30:25\tSOF50-P2\t16509\t1731623425421\td111111abcdef8.cloudfront.net\texamplecookie=value2\n";

fn decode(bytes: &[u8]) -> Decoded {
    let d = Decoded::from_bytes(&CloudfrontV2Format::default(), bytes, 16).unwrap();
    assert_eq!(d.counts.rows + d.counts.rejects, d.counts.lines);
    d
}

#[test]
fn every_wire_name_normalises_to_its_column() {
    for (wire, column) in NAMES.iter() {
        assert_eq!(normalise(wire), *column, "{wire}");
        assert_eq!(normalise(column), *column, "{column}");
    }
    assert_eq!(normalise("cs_referer"), "cs_referrer");
    assert_eq!(normalise("cs(Referer)"), "cs_referrer");
    assert_eq!(normalise("--Time-To--First-Byte()"), "time_to_first_byte");
}

#[test]
fn the_json_example_maps_by_name_and_takes_milliseconds() {
    let d = decode(AWS_JSON.as_bytes());
    assert_eq!((d.counts.rows, d.counts.rejects), (1, 0));
    let b = &d.batches[0];
    // timestamp(ms) wins over date + time: the same second, with its milliseconds.
    assert_eq!(micros(b, "time"), Some(1_731_699_951_183_000));
    assert_eq!(text(b, "x_edge_location").as_deref(), Some("SOF50-P2"));
    assert_eq!(int64(b, "asn"), Some(16509));
    assert_eq!(float64(b, "origin_fbl"), Some(0.254));
    assert_eq!(float64(b, "origin_lbl"), Some(0.254));
    assert_eq!(
        text(b, "x_host_header").as_deref(),
        Some("d111111abcdef8.cloudfront.net")
    );
    assert_eq!(text(b, "cs_cookie").as_deref(), Some("examplecookie=value"));
    for column in [
        "c_ip",
        "cs_uri_stem",
        "c_country",
        "cache_behavior_path_pattern",
        "json_other",
    ] {
        assert_eq!(text(b, column), None, "{column}");
    }
    assert_eq!(int32(b, "sc_status"), None);
    assert_eq!(b.schema(), CloudfrontV2Format::default().schema());
}

#[test]
fn the_w3c_example_maps_by_its_header() {
    let d = decode(AWS_W3C.as_bytes());
    assert_eq!(
        (d.counts.rows, d.counts.rejects, d.counts.skipped_lines),
        (1, 0, 1)
    );
    let b = &d.batches[0];
    assert_eq!(micros(b, "time"), Some(1_731_623_425_421_000));
    assert_eq!(int64(b, "asn"), Some(16509));
    assert_eq!(
        text(b, "cs_cookie").as_deref(),
        Some("examplecookie=value2")
    );
    assert_eq!(
        text(b, "x_host_header").as_deref(),
        Some("d111111abcdef8.cloudfront.net")
    );
}

#[test]
fn json_keys_in_any_order_and_unknown_keys() {
    let first = r#"{"date":"2024-11-15","time":"19:45:51","sc-status":"200","c-ip":"192.0.2.1"}"#;
    let reordered = r#"{"c-ip":"192.0.2.2","sc-status":"404","time":"19:45:52","date":"2024-11-15","x-new-field":"v"}"#;
    let d = decode(format!("{first}\n{reordered}\n{first}\n").as_bytes());
    assert_eq!((d.counts.rows, d.counts.rejects), (3, 0));
    let b = &d.batches[0];
    assert_eq!(text_at(b, "c_ip", 1).as_deref(), Some("192.0.2.2"));
    assert_eq!(crate::test_support::int32_at(b, "sc_status", 1), Some(404));
    assert_eq!(
        crate::test_support::micros_at(b, "time", 1),
        Some(1_731_699_952_000_000)
    );
    assert_eq!(
        text_at(b, "json_other", 1).as_deref(),
        Some(r#"{"x-new-field":"v"}"#)
    );
    assert_eq!(text_at(b, "c_ip", 2).as_deref(), Some("192.0.2.1"));
    assert_eq!(text_at(b, "json_other", 2), None);
}

#[test]
fn records_without_event_time_or_with_bad_values_are_rejected() {
    let cases = [
        (r#"{"c-ip":"192.0.2.1","sc-status":"200"}"#, "no event time"),
        (
            r#"{"date":"2024-11-15","c-ip":"192.0.2.1"}"#,
            "no event time",
        ),
        (r#"{"timestamp(ms)":"soon"}"#, "column `time`"),
        (
            r#"{"timestamp(ms)":"1731699951183","sc-bytes":"12kB"}"#,
            "sc_bytes",
        ),
        (
            r#"{"timestamp(ms)":"1731699951183","asn":"AS16509"}"#,
            "asn",
        ),
        (
            r#"{"timestamp(ms)":"1731699951183","origin-fbl":"fast"}"#,
            "origin_fbl",
        ),
    ];
    let text: String = cases.iter().map(|(line, _)| format!("{line}\n")).collect();
    let d = decode(format!("{text}{AWS_JSON}\n").as_bytes());
    assert_eq!((d.counts.rows, d.counts.rejects), (1, cases.len() as u64));
    for (reject, (_, expected)) in d.rejects.iter().zip(cases) {
        assert!(
            reject.reason.contains(expected),
            "{expected}: {}",
            reject.reason
        );
    }
}

#[test]
fn text_lines_without_a_header_are_rejected_not_guessed() {
    let plain = "2024-11-14\t22:30:25\tSOF50-P2\t16509\n2024-11-14\t22:30:26\tSOF50-P2\t16509\n";
    let d = decode(plain.as_bytes());
    assert_eq!((d.counts.rows, d.counts.rejects), (0, 2));
    assert!(
        d.rejects[0].reason.contains("#Fields:"),
        "{}",
        d.rejects[0].reason
    );
    // More values than the header names would shift columns: rejected.
    let d = decode(format!("{AWS_W3C}{}\tEXTRA\n", AWS_W3C.lines().nth(1).unwrap()).as_bytes());
    assert_eq!((d.counts.rows, d.counts.rejects), (1, 1));
}

fn parquet_file(columns: Vec<(&str, ArrayRef)>) -> Vec<u8> {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    let mut out = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    out
}

fn strings(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

#[test]
fn parquet_rows_map_by_normalised_column_names() {
    let file = parquet_file(vec![
        (
            "date",
            strings(&[Some("2024-11-15"), Some("2024-11-15"), None]),
        ),
        ("time", strings(&[Some("19:45:51"), Some("19:45:52"), None])),
        (
            "cs_host",
            strings(&[Some("d111111abcdef8.cloudfront.net"), None, Some("x")]),
        ),
        (
            "cs_referer",
            strings(&[Some("https://example.com/"), Some("-"), None]),
        ),
        (
            "sc_status",
            strings(&[Some("200"), Some("oops"), Some("200")]),
        ),
        ("x_future", strings(&[Some("a"), Some("b"), None])),
    ]);
    let d = decode(&file);
    // Row 2 has a bad status, row 3 no event time: rejects, numbered by row.
    assert_eq!((d.counts.rows, d.counts.rejects), (1, 2), "{:?}", d.rejects);
    assert_eq!(d.counts.bytes, file.len() as u64);
    let b = &d.batches[0];
    assert_eq!(micros(b, "time"), Some(1_731_699_951_000_000));
    assert_eq!(
        text(b, "cs_host").as_deref(),
        Some("d111111abcdef8.cloudfront.net")
    );
    assert_eq!(
        text(b, "cs_referrer").as_deref(),
        Some("https://example.com/")
    );
    assert_eq!(int32(b, "sc_status"), Some(200));
    assert_eq!(
        text(b, "json_other").as_deref(),
        Some(r#"{"x_future":"a"}"#)
    );
    assert_eq!(d.rejects.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3]);
    assert!(
        d.rejects[0].reason.contains("sc_status"),
        "{}",
        d.rejects[0].reason
    );
    let raw = String::from_utf8(d.rejects[0].raw.clone()).unwrap();
    assert!(
        raw.contains(r#""sc_status":"oops""#) && raw.contains(r#""x_future":"b""#),
        "{raw}"
    );
}

#[test]
fn parquet_typed_columns_read_as_their_text() {
    let millis: ArrayRef =
        Arc::new(TimestampMillisecondArray::from(vec![1_731_699_951_183]).with_timezone("UTC"));
    let status: ArrayRef = Arc::new(arrow_array::Int32Array::from(vec![304]));
    let d = decode(&parquet_file(vec![
        ("timestamp_ms", millis),
        ("sc_status", status),
    ]));
    assert_eq!((d.counts.rows, d.counts.rejects), (1, 0), "{:?}", d.rejects);
    assert_eq!(micros(&d.batches[0], "time"), Some(1_731_699_951_183_000));
    assert_eq!(int32(&d.batches[0], "sc_status"), Some(304));
    let _ = DataType::Timestamp(TimeUnit::Millisecond, None);
}

#[test]
fn a_broken_parquet_file_is_one_reject() {
    let mut file = parquet_file(vec![("date", strings(&[Some("2024-11-15")]))]);
    file.truncate(file.len() / 2);
    let d = decode(&file);
    assert_eq!((d.counts.rows, d.counts.rejects, d.counts.lines), (0, 1, 1));
    assert!(
        d.rejects[0].reason.contains("Parquet"),
        "{}",
        d.rejects[0].reason
    );
    assert!(d.rejects[0].raw.starts_with(b"PAR1"));
}

#[test]
fn keys_first_lines_and_the_legacy_format() {
    let v2 = "AWSLogs/123456789012/CloudFront/E1V2EXAMPLE7Q/2025/09/23/08/E1V2EXAMPLE7Q.2025-09-23-08.abcdef01.gz";
    let hive = "logs/DistributionId=E1V2EXAMPLE7Q/year=2025/month=09/day=23/hour=08/E1V2EXAMPLE7Q.2025-09-23-08.abcdef01.gz";
    let dated = "cf/example.com/2025/09/23/08/E1V2EXAMPLE7Q.2025-09-23-08.abcdef01.gz";
    let parquet = "AWSLogs/123456789012/CloudFront/E1V2EXAMPLE7Q/2025/09/23/08/part-0001.parquet";
    for key in [v2, hive, dated, parquet] {
        assert_eq!(
            detect_from_key(key),
            KeyDetection::Format(Format::CloudfrontV2),
            "{key}"
        );
        assert_eq!(CloudfrontV2Format::default().route(key), Route::Convert);
    }
    // A flat prefix: both logging kinds write such names, so the content decides.
    let flat = "cf/EMLARXS9EXAMPLE.2024-03-07-23.ABCD1234.gz";
    assert_eq!(detect_from_key(flat), KeyDetection::Unknown);
    // An explicit legacy job still converts keys in date folders.
    assert_eq!(CloudfrontFormat.route(dated), Route::Convert);

    assert_eq!(
        format_from_first_line(AWS_JSON.as_bytes()),
        Some(Format::CloudfrontV2)
    );
    assert_eq!(
        format_from_first_line(b"PAR1\x15\x04\x15"),
        Some(Format::CloudfrontV2)
    );
    assert_eq!(
        format_from_first_line(AWS_W3C.lines().next().unwrap().as_bytes()),
        Some(Format::CloudfrontV2)
    );
    assert_eq!(
        format_from_first_line(b"#Version: 1.0"),
        Some(Format::Cloudfront)
    );
    // A headerless legacy line is legacy; a headerless line of another shape (v2 `plain`
    // output, whose field order is unknown) is claimed by neither, so nothing reads it in an
    // order it does not have.
    let legacy_line = "2019-12-13\t22:36:27\tSEA19-C1\t900\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/favicon.ico\t502\thttp://www.example.com/\tMozilla/5.0\t-\t-\tError\t1pkpNfBQ39sYMnjjUQjmH2w1wdJnbHYTbag21o_3OfcQgPzdL2RSSQ==\twww.example.com\thttp\t675\t0.102\t-\t-\t-\tError\tHTTP/1.1\t-\t-\t25260\t0.102\tOriginDnsError\ttext/html\t507\t-\t-";
    assert_eq!(
        format_from_first_line(legacy_line.as_bytes()),
        Some(Format::Cloudfront)
    );
    let plain: Vec<&str> = legacy_line.split('\t').skip(2).chain(["x"; 2]).collect();
    assert_eq!(format_from_first_line(plain.join("\t").as_bytes()), None);
    let legacy_fields = format!("#Fields: {}", crate::cloudfront::FIELDS.join(" "));
    assert_eq!(
        format_from_first_line(legacy_fields.as_bytes()),
        Some(Format::Cloudfront)
    );
}

#[test]
fn plain_output_is_read_with_the_configured_field_list() {
    let fields = crate::FieldList::parse("date,time,x-edge-location,asn,c_ip", None).unwrap();
    let format = CloudfrontV2Format::default()
        .with_field_list(&fields)
        .unwrap();
    let plain = "2024-11-14\t22:30:25\tSOF50-P2\t16509\t192.0.2.1\n";
    let d = Decoded::from_bytes(format.as_ref(), plain.as_bytes(), 16).unwrap();
    assert_eq!((d.counts.rows, d.counts.rejects), (1, 0), "{:?}", d.rejects);
    let b = &d.batches[0];
    assert_eq!(micros(b, "time"), Some(1_731_623_425_000_000));
    assert_eq!(text(b, "x_edge_location").as_deref(), Some("SOF50-P2"));
    assert_eq!(int64(b, "asn"), Some(16509));
    assert_eq!(text(b, "c_ip").as_deref(), Some("192.0.2.1"));
    // Another delimiter, and more values than the list names: rejected, never shifted.
    let fields = crate::FieldList::parse("date time asn", Some("|")).unwrap();
    let format = CloudfrontV2Format::default()
        .with_field_list(&fields)
        .unwrap();
    let d = Decoded::from_bytes(
        format.as_ref(),
        b"2024-11-14|22:30:25|16509\n2024-11-14|22:30:25|1|2\n",
        16,
    )
    .unwrap();
    assert_eq!((d.counts.rows, d.counts.rejects), (1, 1));
    assert_eq!(int64(&d.batches[0], "asn"), Some(16509));
    // An object that names its fields is read by its header, whatever the list says (the
    // delivery's delimiter separates its values too).
    let d =
        Decoded::from_bytes(format.as_ref(), AWS_W3C.replace('\t', "|").as_bytes(), 16).unwrap();
    assert_eq!((d.counts.rows, d.counts.rejects), (1, 0));
    assert_eq!(
        text(&d.batches[0], "cs_cookie").as_deref(),
        Some("examplecookie=value2")
    );
    // Names must be CloudFront's; other formats name their own fields.
    let unknown = crate::FieldList::parse("date time x-edge-locaton", None).unwrap();
    let error = CloudfrontV2Format::default()
        .with_field_list(&unknown)
        .err()
        .unwrap();
    assert!(error.contains("x-edge-locaton"), "{error}");
    assert!(crate::AlbFormat.with_field_list(&fields).is_err());
    assert!(crate::FieldList::parse("date", Some("||")).is_err());
    // W3C output with another delimiter: the delimiter alone is configured.
    let semicolons = crate::FieldList::parse("", Some(";")).unwrap();
    let format = CloudfrontV2Format::default()
        .with_field_list(&semicolons)
        .unwrap();
    let w3c = AWS_W3C.replace('\t', ";");
    let d = Decoded::from_bytes(format.as_ref(), w3c.as_bytes(), 16).unwrap();
    assert_eq!((d.counts.rows, d.counts.rejects), (1, 0), "{:?}", d.rejects);
    assert_eq!(int64(&d.batches[0], "asn"), Some(16509));
    // ... and plain lines still need their names.
    let d = Decoded::from_bytes(format.as_ref(), b"2024-11-14;22:30:25\n", 16).unwrap();
    assert_eq!((d.counts.rows, d.counts.rejects), (0, 1));
    assert_eq!(
        crate::FieldList::parse("a b", Some("\\t"))
            .unwrap()
            .delimiter,
        b'\t'
    );
}
