//! Per-field VPC Flow Logs tests. Expected values from FORMATS.md section 6 (AWS examples).

use arrow_array::RecordBatch;

use super::{UnknownVpcField, VpcFlowFormat};
use crate::test_support::{int32_at, int64_at, micros_at, text_at};
use crate::{Decoded, LogFormat, Route};

const HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

fn decode_with(format: &VpcFlowFormat, input: &str) -> Decoded {
    Decoded::from_bytes(format, input.as_bytes(), 64).expect("decodes")
}

fn decode(input: &str) -> Decoded {
    decode_with(&VpcFlowFormat::default(), input)
}

fn batch(d: &Decoded) -> &RecordBatch {
    assert!(d.rejects.is_empty(), "rejected: {:?}", d.rejects);
    &d.batches[0]
}

#[test]
fn default_format_documentation_examples() {
    let d = decode(&format!(
        "{HEADER}\n\
         2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n\
         2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA\n\
         2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA\n"
    ));
    assert_eq!((d.counts.rows, d.counts.skipped_lines), (3, 1));
    let b = batch(&d);
    assert_eq!(int32_at(b, "version", 0), Some(2));
    assert_eq!(text_at(b, "account_id", 0).as_deref(), Some("123456789010"));
    assert_eq!(text_at(b, "srcaddr", 0).as_deref(), Some("172.31.16.139"));
    assert_eq!(int32_at(b, "dstport", 0), Some(22));
    assert_eq!(int32_at(b, "protocol", 0), Some(6));
    assert_eq!(int64_at(b, "bytes", 0), Some(4249));
    assert_eq!(micros_at(b, "start_time", 0), Some(1_418_530_010_000_000));
    assert_eq!(micros_at(b, "end_time", 0), Some(1_418_530_070_000_000));
    assert_eq!(text_at(b, "action", 0).as_deref(), Some("ACCEPT"));
    assert_eq!(text_at(b, "log_status", 1).as_deref(), Some("NODATA"));
    assert_eq!(text_at(b, "srcaddr", 1), None);
    assert_eq!(int64_at(b, "packets", 2), None);
    assert_eq!(text_at(b, "vpc_id", 0), None, "not in this format");
}

#[test]
fn custom_order_subset_and_new_fields() {
    let d = decode(
        "version srcaddr dstaddr srcport dstport protocol start end type packets bytes account-id vpc-id subnet-id instance-id interface-id region az-id sublocation-type sublocation-id action tcp-flags pkt-srcaddr pkt-dstaddr pkt-src-aws-service pkt-dst-aws-service traffic-path flow-direction log-status\n\
         5 52.95.128.179 10.0.0.71 80 34210 6 1616729292 1616729349 IPv4 14 15044 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 19 52.95.128.179 10.0.0.71 S3 - - ingress OK\n",
    );
    let b = batch(&d);
    assert_eq!(int32_at(b, "tcp_flags", 0), Some(19));
    assert_eq!(
        text_at(b, "record_region", 0).as_deref(),
        Some("ap-southeast-2")
    );
    assert_eq!(text_at(b, "pkt_src_aws_service", 0).as_deref(), Some("S3"));
    assert_eq!(int32_at(b, "traffic_path", 0), None);
    assert_eq!(text_at(b, "flow_direction", 0).as_deref(), Some("ingress"));
    assert_eq!(text_at(b, "type", 0).as_deref(), Some("IPv4"));
}

#[test]
fn headers_repeat_and_reset_per_object() {
    let d = decode(
        "instance-id interface-id srcaddr\n- eni-1 10.0.1.5\n\nversion srcaddr start\n3 10.0.0.9 1566848875\n",
    );
    assert_eq!(
        (d.counts.rows, d.counts.rejects, d.counts.skipped_lines),
        (2, 0, 3)
    );
    // The first format has no start: its row has none (it is partitioned by the key's date).
    assert_eq!(micros_at(&d.batches[0], "start_time", 0), None);
    assert_eq!(
        text_at(&d.batches[0], "interface_id", 0).as_deref(),
        Some("eni-1")
    );
    assert_eq!(
        micros_at(&d.batches[0], "start_time", 1),
        Some(1_566_848_875_000_000)
    );
}

#[test]
fn row_length_must_match_the_header() {
    let d = decode(&format!(
        "{HEADER}\n2 123456789010 eni-1 - - - - - - - 1431280876 1431280934 - NODATA extra\n"
    ));
    assert_eq!(d.counts.rejects, 1);
    assert!(
        d.rejects[0]
            .reason
            .contains("has 15 fields; the format names 14"),
        "{}",
        d.rejects[0].reason
    );
}

#[test]
fn junk_and_wrapped_lines_are_rejected_not_taken_for_headers() {
    let d = decode(
        "Phony unsupported log format.\n{\"message\":\"2 428961148399 eni-0e0bf7be352692297 - - - - - - - 1671029698 1671029728 - NODATA\"}\n",
    );
    assert_eq!((d.counts.rows, d.counts.rejects), (0, 2));
}

#[test]
fn configured_format_for_objects_without_header() {
    let format = VpcFlowFormat::with_fields(
        "instance_id interface_id srcaddr dstaddr pkt_srcaddr pkt_dstaddr start",
    )
    .unwrap();
    let d = decode_with(
        &format,
        "i-01234567890123456 eni-1111aaaa2222bbbb3 10.0.1.5 203.0.113.5 10.0.1.5 203.0.113.5 1418530010\n",
    );
    assert_eq!(
        text_at(batch(&d), "pkt_dstaddr", 0).as_deref(),
        Some("203.0.113.5")
    );
    assert_eq!(
        VpcFlowFormat::with_fields("version nonsense").unwrap_err(),
        UnknownVpcField("nonsense".into())
    );
}

#[test]
fn big_counters_are_int64() {
    let d = decode(&format!(
        "{HEADER}\n2 1 eni-1 1.1.1.1 2.2.2.2 1 2 6 9000000000 99000000000 1418530010 1418530070 ACCEPT OK\n"
    ));
    assert_eq!(int64_at(batch(&d), "bytes", 0), Some(99_000_000_000));
}

#[test]
fn routes_and_regions() {
    let key = "AWSLogs/123456789012/vpcflowlogs/us-gov-east-1/2021/07/13/123456789012_vpcflowlogs_us-gov-east-1_fl-0e7c13bf00cf15bfe_20210713T1855Z_f12aa632.log.gz";
    let format = VpcFlowFormat::default();
    assert_eq!(format.route(key), Route::Convert);
    assert_eq!(
        format.region_from_key(key).as_deref(),
        Some("us-gov-east-1")
    );
    let hive = "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2024/month=03/day=07/x.log.gz";
    assert_eq!(format.region_from_key(hive).as_deref(), Some("eu-west-1"));
    assert!(matches!(
        format.route("AWSLogs/1/vpcflowlogs/x.parquet"),
        Route::Skip(_)
    ));
}

#[test]
fn epoch_seconds_beyond_microseconds_are_rejected_not_overflowed() {
    let line = "2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49152 6 20 4249 92233720368547 1418530070 ACCEPT OK\n";
    let d = decode(line);
    assert_eq!((d.counts.rows, d.counts.rejects), (0, 1));
    assert!(
        d.rejects[0].reason.contains("out of range"),
        "{}",
        d.rejects[0].reason
    );
}

/// Text columns a layout leaves out are filled with NULLs in one step at each layout change and
/// batch end, not row by row: each row must still get exactly its own layout's values.
#[test]
fn text_columns_a_layout_leaves_out_are_null_across_layout_changes_and_batches() {
    // Three layouts in turn, three rows each, in batches of two rows: layout changes fall both
    // inside batches and on their ends.
    let layouts = [
        "version vpc-id subnet-id action",
        "version srcaddr dstaddr action log-status",
        "version vpc-id action",
    ];
    let mut input = String::new();
    let mut expected = Vec::new();
    for (l, header) in layouts.iter().enumerate() {
        input += &format!("{header}\n");
        for r in 0..3 {
            let values: Vec<(String, String)> = header
                .split(' ')
                .skip(1)
                .map(|name| (name.replace('-', "_"), format!("{name}.{l}{r}")))
                .collect();
            let line: Vec<&str> = values.iter().map(|(_, value)| value.as_str()).collect();
            input += &format!("2 {}\n", line.join(" "));
            expected.push(
                values
                    .into_iter()
                    .collect::<std::collections::BTreeMap<_, _>>(),
            );
        }
    }
    let d = Decoded::from_bytes(&VpcFlowFormat::default(), input.as_bytes(), 2).expect("decodes");
    assert!(d.rejects.is_empty(), "rejected: {:?}", d.rejects);
    assert_eq!(d.batches.len(), 5);
    let rows = d
        .batches
        .iter()
        .flat_map(|b| (0..b.num_rows()).map(move |i| (b, i)));
    let mut checked = 0;
    for (row, (b, i)) in rows.enumerate() {
        for field in b.schema().fields() {
            if field.data_type() == &arrow_schema::DataType::Utf8 {
                let column = field.name().as_str();
                assert_eq!(
                    text_at(b, column, i),
                    expected[row].get(column).cloned(),
                    "row {row}, column {column}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 9 * 44, "every text column of every row");
}
