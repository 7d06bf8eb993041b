//! Every line of `shared/corpus/vpcflow` parses or lands in rejects. Files without a header
//! get their format as a user would configure it (from MANIFEST.md and VRL's sidecar). The
//! transit-gateway file is another log type (TGW fields are not in FORMATS.md): under the
//! default format its lines are rejected with the field count, never mis-mapped.

use agsl_formats::{Decoded, VpcFlowFormat};

use crate::{ints, strings};

const ECS_V7: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path ecs-cluster-arn ecs-cluster-name ecs-container-instance-arn ecs-container-instance-id ecs-container-id ecs-second-container-id ecs-service-name ecs-task-definition-arn ecs-task-arn ecs-task-id";

fn decode(file: &str) -> Decoded {
    crate::decode_corpus(&VpcFlowFormat::default(), "vpcflow", file)
}

fn decode_as(file: &str, fields: &str) -> Decoded {
    let format = VpcFlowFormat::with_fields(fields).expect("known fields");
    crate::decode_corpus(&format, "vpcflow", file)
}

#[test]
fn files_with_headers_or_the_default_format() {
    for (file, rows, rejects) in [
        ("beats-vpcflow-accept-reject-traffic.log", 4, 0),
        ("beats-vpcflow-ipv6.log", 1, 0),
        ("beats-vpcflow-no-data-skip-data.log", 2, 0),
        ("beats-vpcflow-tcp-flag-sequence.log", 1, 0),
        ("beats-vpcflow-tcp-flag-sequence-skip-data.log", 2, 0),
        ("integrations-vpcflow-test-extra-samples.log", 7, 0),
        ("integrations-vpcflow-test-tcp-flag-sequence.log", 3, 0),
        ("beats-vpcflow-bad.log", 0, 1),
        ("integrations-vpcflow-test-with-message-field.log", 0, 1),
        ("integrations-vpcflow-test-tgw-samples.log", 0, 10),
    ] {
        let d = decode(file);
        assert_eq!(
            (d.counts.rows, d.counts.rejects),
            (rows, rejects),
            "{file}: {:?}",
            d.rejects
        );
    }
}

#[test]
fn nat_gateway_custom_header() {
    let d = decode("beats-vpcflow-custom-nat-gateway.log");
    // The format has no `start`: the rows are kept with no start time (the pipeline
    // partitions them by the object's key date).
    assert_eq!(
        (d.counts.rows, d.counts.rejects, d.counts.skipped_lines),
        (2, 0, 1)
    );
    assert_eq!(strings(&d, "srcaddr").len(), 2);
    let starts = d
        .batches
        .iter()
        .map(|b| b.column_by_name("start_time").unwrap().null_count())
        .sum::<usize>();
    assert_eq!(starts, 2, "no start time");
}

#[test]
fn header_less_files_with_a_configured_format() {
    let tgw = decode_as(
        "beats-vpcflow-custom-transit-gateway.log",
        "version interface-id account-id vpc-id subnet-id instance-id srcaddr dstaddr srcport dstport protocol tcp-flags type pkt-srcaddr pkt-dstaddr action log-status",
    );
    // Again no `start` in this format: kept without a start time.
    assert_eq!((tgw.counts.rows, tgw.counts.rejects), (1, 0));
    let ecs = decode_as("integrations-vpcflow-test-ecs-samples.log", ECS_V7);
    assert_eq!(
        (ecs.counts.rows, ecs.counts.rejects),
        (10, 0),
        "{:?}",
        ecs.rejects
    );
    assert_eq!(
        strings(&ecs, "ecs_cluster_name")[0].as_deref(),
        Some("frontend-cluster")
    );
    assert_eq!(strings(&ecs, "dstaddr")[0].as_deref(), Some("2a02:cf40::"));
    let v8 = decode_as(
        "integrations-vpcflow-test-v8-samples.log",
        &format!("{ECS_V7} reject-reason"),
    );
    assert_eq!(
        (v8.counts.rows, v8.counts.rejects),
        (1, 0),
        "{:?}",
        v8.rejects
    );
    assert_eq!(strings(&v8, "reject_reason")[0].as_deref(), Some("BPA"));
    let v5 = decode_as(
        "integrations-vpcflow-test-v5-all-fields.log",
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path",
    );
    assert_eq!(
        (v5.counts.rows, v5.counts.rejects),
        (1, 0),
        "{:?}",
        v5.rejects
    );
    assert_eq!(
        strings(&v5, "pkt_dst_aws_service")[0].as_deref(),
        Some("CLOUDFRONT")
    );
    assert_eq!(ints(&v5, "traffic_path")[0], Some(1));
}

#[test]
fn vrl_vectors_with_their_formats() {
    let sidecar = std::fs::read_to_string(
        crate::corpus_dir("vpcflow").join("vrl-parse_aws_vpc_flow_log-tests.formats.tsv"),
    )
    .unwrap();
    let text = std::fs::read_to_string(
        crate::corpus_dir("vpcflow").join("vrl-parse_aws_vpc_flow_log-tests.log"),
    )
    .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut rows = 0;
    for group in sidecar.lines().skip(1) {
        let columns: Vec<&str> = group.split('\t').collect();
        let (first, last): (usize, usize) =
            (columns[0].parse().unwrap(), columns[1].parse().unwrap());
        let format = if columns[2] == "(default v2)" {
            VpcFlowFormat::default()
        } else {
            VpcFlowFormat::with_fields(columns[2]).unwrap()
        };
        let input = lines[first - 1..last].join("\n");
        let d = Decoded::from_bytes(&format, input.as_bytes(), 8).unwrap();
        // Every line is a row; formats without `start` leave `start_time` NULL.
        assert_eq!(
            (d.counts.rows, d.counts.rejects),
            ((last - first + 1) as u64, 0),
            "lines {first}-{last}: {:?}",
            d.rejects
        );
        let has_start = columns[2] == "(default v2)" || columns[2].split(' ').any(|f| f == "start");
        let no_start: usize = d
            .batches
            .iter()
            .map(|b| b.column_by_name("start_time").unwrap().null_count())
            .sum();
        assert_eq!(no_start == 0, has_start, "lines {first}-{last}");
        rows += d.counts.rows;
    }
    assert!(rows >= 20, "{rows}");
}

#[test]
fn every_corpus_file_is_covered() {
    assert_eq!(
        crate::corpus_files("vpcflow").len(),
        16,
        "a new corpus file needs a test above"
    );
}
