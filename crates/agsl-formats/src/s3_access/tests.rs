//! Per-field S3 access log tests. Expected values from FORMATS.md section 4 (AWS examples).

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;

use crate::test_support::{boolean, int32, int64, text};
use crate::{Decoded, LogFormat, Route, S3AccessFormat};

const DOC: &str = r#"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be amzn-s3-demo-bucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be 3E57427F3EXAMPLE REST.GET.VERSIONING - "GET /amzn-s3-demo-bucket1?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com TLSV1.2 arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP Yes us-east-1"#;

fn decode(input: &str) -> Decoded {
    Decoded::from_bytes(&S3AccessFormat, input.as_bytes(), 64).expect("decodes")
}

fn parse(line: &str) -> RecordBatch {
    let d = decode(line);
    assert!(d.rejects.is_empty(), "rejected: {:?}", d.rejects);
    assert_eq!(d.rows(), 1);
    d.batches.into_iter().next().unwrap()
}

#[test]
fn documentation_line_with_all_27_fields() {
    let b = parse(DOC);
    assert_eq!(b.num_columns(), 30);
    let time = b
        .column_by_name("time")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    assert_eq!(time.value(0), 1_549_411_238_000_000);
    assert_eq!(text(&b, "bucket").as_deref(), Some("amzn-s3-demo-bucket1"));
    assert_eq!(text(&b, "remote_ip").as_deref(), Some("192.0.2.3"));
    assert_eq!(text(&b, "request_id").as_deref(), Some("3E57427F3EXAMPLE"));
    assert_eq!(
        text(&b, "operation").as_deref(),
        Some("REST.GET.VERSIONING")
    );
    assert_eq!(text(&b, "key"), None);
    assert_eq!(
        text(&b, "request_uri").as_deref(),
        Some("GET /amzn-s3-demo-bucket1?versioning HTTP/1.1")
    );
    assert_eq!(text(&b, "request_verb").as_deref(), Some("GET"));
    assert_eq!(
        text(&b, "request_url").as_deref(),
        Some("/amzn-s3-demo-bucket1?versioning")
    );
    assert_eq!(text(&b, "request_proto").as_deref(), Some("HTTP/1.1"));
    assert_eq!(int32(&b, "http_status"), Some(200));
    assert_eq!(int64(&b, "bytes_sent"), Some(113));
    assert_eq!(int64(&b, "object_size"), None);
    assert_eq!(int64(&b, "total_time"), Some(7));
    assert_eq!(int64(&b, "turnaround_time"), None);
    assert_eq!(text(&b, "referrer"), None);
    assert_eq!(text(&b, "user_agent").as_deref(), Some("S3Console/0.4"));
    assert_eq!(text(&b, "signature_version").as_deref(), Some("SigV4"));
    assert_eq!(text(&b, "tls_version").as_deref(), Some("TLSV1.2"));
    assert_eq!(
        text(&b, "access_point_arn").as_deref(),
        Some("arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP")
    );
    assert_eq!(boolean(&b, "acl_required"), Some(true));
    assert_eq!(text(&b, "source_region").as_deref(), Some("us-east-1"));
}

#[test]
fn acl_required_dash_is_false_and_absent_is_null() {
    let b = parse(&DOC.replace(" Yes us-east-1", " - -"));
    assert_eq!(boolean(&b, "acl_required"), Some(false));
    assert_eq!(text(&b, "source_region"), None);
    let fields24: String = DOC.rsplitn(4, ' ').last().unwrap().to_owned();
    let b = parse(&fields24);
    assert_eq!(boolean(&b, "acl_required"), None);
    assert_eq!(text(&b, "tls_version").as_deref(), Some("TLSV1.2"));
}

#[test]
fn non_utc_offsets_convert_to_utc() {
    let b = parse(&DOC.replace(
        "[06/Feb/2019:00:00:38 +0000]",
        "[09/Feb/2021:14:48:42 +0200]",
    ));
    let time = b
        .column_by_name("time")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    assert_eq!(time.value(0), 1_612_874_922_000_000, "12:48:42 UTC");
}

#[test]
fn batch_delete_line_with_bare_dashes() {
    let b = parse(
        "36c1f05b76016b78528454e6e0c60e2b7ff7aa20c0a5e4c748276e5b0a2debd2 jsoriano-s3-test [10/Sep/2019:15:11:07 +0000] 77.227.156.41 arn:aws:iam::627959692251:user/jaime 8CD7A4A71E2E5C9E BATCH.DELETE.OBJECT jolokia-war-1.5.0.war - 204 - - 344017 - - - - - IeDW5I3wefFxU8iHOcAzi5qr+O+1bdRlcQ0AO2WGjFh7JwYM6qCoKq+1TrUshrXMlBxPFtg97Vk= SigV4 ECDHE-RSA-AES128-SHA AuthHeader s3.eu-central-1.amazonaws.com TLSv1.2",
    );
    assert_eq!(text(&b, "request_uri"), None);
    assert_eq!(text(&b, "request_verb"), None);
    assert_eq!(int32(&b, "http_status"), Some(204));
    assert_eq!(int64(&b, "object_size"), Some(344_017));
    assert_eq!(text(&b, "user_agent"), None);
    assert_eq!(
        text(&b, "host_id").as_deref(),
        Some("IeDW5I3wefFxU8iHOcAzi5qr+O+1bdRlcQ0AO2WGjFh7JwYM6qCoKq+1TrUshrXMlBxPFtg97Vk=")
    );
}

#[test]
fn user_agent_with_commas_spaces_and_quotes() {
    let b = parse(&DOC.replace(
        r#""S3Console/0.4""#,
        r#""AWS-Support-TrustedAdvisor, aws-internal/3 "beta"/ünï""#,
    ));
    assert_eq!(
        text(&b, "user_agent").as_deref(),
        Some(r#"AWS-Support-TrustedAdvisor, aws-internal/3 "beta"/ünï"#)
    );
}

#[test]
fn shortest_layout_ends_at_the_user_agent() {
    let line = r#"b659b576cff1e15e4c0313ff8930fba9f53e6794567f5c60dab3abf2f8dfb6cc www.example.com [10/Feb/2012:16:42:07 -0500] 1.2.3.4 arn:aws:iam::179580289999:user/phillip.boss EB3502676500C6BE WEBSITE.GET.OBJECT index "GET /index HTTP/1.1" 200 - 368 368 10 9 "-" "Mozilla/5.0 (X11; Linux x86_64)""#;
    let b = parse(line);
    assert_eq!(int64(&b, "turnaround_time"), Some(9));
    assert_eq!(text(&b, "version_id"), None);
}

#[test]
fn rejects_name_the_problem() {
    let d = decode(&format!(
        "{}\n{}\n{}\n{}\n",
        DOC.split(" 200 ").next().unwrap(),
        DOC.replace("[06/Feb/2019:00:00:38 +0000]", "[06/Feb/2019:00:00:38]"),
        DOC.replace(" 113 ", " 1l3 "),
        DOC.replace(" Yes ", " Maybe "),
    ));
    let reasons: Vec<&str> = d.rejects.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(reasons[0].contains("only 9 fields"), "{}", reasons[0]);
    assert!(reasons[1].contains("`time`"), "{}", reasons[1]);
    assert!(reasons[2].contains("`bytes_sent`"), "{}", reasons[2]);
    assert!(reasons[3].contains("`acl_required`"), "{}", reasons[3]);
}

#[test]
fn routes_delivered_names() {
    assert_eq!(
        S3AccessFormat.route("logs/2019-02-06-00-05-17-1A2B3C4D5E6F7A8B"),
        Route::Convert
    );
    assert_eq!(
        S3AccessFormat.route(
            "logs/123456789012/us-east-1/my-bucket/2024/03/07/2024-03-07-00-05-17-1A2B3C4D5E6F7A8B"
        ),
        Route::Convert
    );
    assert!(matches!(
        S3AccessFormat.route("logs/2019-02-06-00-05-1A2B3C4D5E6F7A8B"),
        Route::Skip(_)
    ));
    assert!(matches!(
        S3AccessFormat.route("logs/readme.txt"),
        Route::Skip(_)
    ));
}

#[test]
fn a_target_prefix_without_a_slash_stays_in_the_name() {
    // AWS writes `<target-prefix>YYYY-MM-DD-…` as it is: `access-logs-` or `logs` leave their
    // last part before the time stamp.
    for key in [
        "access-logs-2019-02-06-00-05-17-1A2B3C4D5E6F7A8B",
        "central/my-bucket-2019-02-06-00-05-17-1A2B3C4D5E6F7A8B",
        "logs2019-02-06-00-05-17-1A2B3C4D5E6F7A8B",
        "logs/123456789012/us-east-1/my-bucket/2024/03/07/s3-2024-03-07-00-05-17-0123456789ABCDEF",
    ] {
        assert!(S3AccessFormat.claims_key(key), "{key}");
        assert_eq!(S3AccessFormat.route(key), Route::Convert, "{key}");
        assert!(S3AccessFormat.names_one_delivery(key.rsplit('/').next().unwrap()));
    }
    // Only AWS's own id follows the time stamp in a prefixed name: Firehose's names end in a
    // time stamp and a UUID, and hand-made ones in anything.
    for key in [
        "firehose/aws-waf-logs-shop-1-2024-03-07-23-05-00-0b1e2c3d-4a5b-6c7d-8e9f-0a1b2c3d4e5f",
        "firehose/aws-waf-logs-shop-1-2024-03-07-23-05-00-0b1e2c3d",
        "logs/backup-2019-02-06-00-05-17-final",
        "logs/x2019-02-06-00-05-17-1a2b3c4d5e6f7a8b",
    ] {
        assert!(!S3AccessFormat.claims_key(key), "{key}");
        assert!(matches!(S3AccessFormat.route(key), Route::Skip(_)), "{key}");
    }
}

/// Reported against agsl: the referrer `foo "bar" baz` (S3 does not escape quotes) used to end at
/// its first `" `, putting `baz"` in `user_agent`, the user agent in `version_id` and every later
/// value one column to the right.
const UNESCAPED_REFERRER: &str = r#"f383580bf9c9bd19055832f1bf43164c3e6c444a758287727f8f40ab00d461bc testing-1234xxx [20/Jun/2019:03:51:36 +0000] 1.2.3.4 - 63DAF67A2BC0B6C4 REST.GET.OBJECT a.txt "GET /a.txt HTTP/1.1" 200 - 243 - 8 - "foo "bar" baz" "curl/7.38.0" - uidORkMVUSKEFetTC9FJG1qrSdT9DlxA97GPF8m2IsJlDxHLkV5VGzmkuTb8pXIym7B/J5XZlGU= - ECDHE-RSA-AES128-GCM-SHA256 - testing-1234xxx.s3.amazonaws.com TLSv1.2"#;

#[test]
fn unescaped_quotes_in_the_referrer_leave_every_column_in_place() {
    let b = parse(UNESCAPED_REFERRER);
    assert_eq!(text(&b, "referrer").as_deref(), Some(r#"foo "bar" baz"#));
    assert_eq!(text(&b, "user_agent").as_deref(), Some("curl/7.38.0"));
    assert_eq!(text(&b, "version_id"), None);
    assert_eq!(
        text(&b, "host_id").as_deref(),
        Some("uidORkMVUSKEFetTC9FJG1qrSdT9DlxA97GPF8m2IsJlDxHLkV5VGzmkuTb8pXIym7B/J5XZlGU=")
    );
    assert_eq!(text(&b, "signature_version"), None);
    assert_eq!(
        text(&b, "cipher_suite").as_deref(),
        Some("ECDHE-RSA-AES128-GCM-SHA256")
    );
    assert_eq!(text(&b, "authentication_type"), None);
    assert_eq!(
        text(&b, "host_header").as_deref(),
        Some("testing-1234xxx.s3.amazonaws.com")
    );
    assert_eq!(text(&b, "tls_version").as_deref(), Some("TLSv1.2"));
    assert_eq!(text(&b, "access_point_arn"), None);
    assert_eq!(boolean(&b, "acl_required"), None);
}

#[test]
fn unescaped_quotes_in_the_request_line_and_user_agent() {
    // Real shapes: a request line with a quote in the path, a user agent ending in a quote.
    let line = DOC
        .replace(
            r#""GET /amzn-s3-demo-bucket1?versioning HTTP/1.1""#,
            r#""GET /" HTTP/1.1""#,
        )
        .replace(
            r#""S3Console/0.4""#,
            r#""Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Version/17.1 Safari/604.1"""#,
        );
    let b = parse(&line);
    assert_eq!(
        text(&b, "request_uri").as_deref(),
        Some(r#"GET /" HTTP/1.1"#)
    );
    assert_eq!(text(&b, "request_url").as_deref(), Some(r#"/""#));
    assert_eq!(int32(&b, "http_status"), Some(200));
    assert_eq!(
        text(&b, "user_agent").as_deref(),
        Some(
            r#"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Version/17.1 Safari/604.1""#
        )
    );
    assert_eq!(text(&b, "signature_version").as_deref(), Some("SigV4"));
    assert_eq!(text(&b, "source_region").as_deref(), Some("us-east-1"));
}

#[test]
fn a_line_that_two_splits_fit_is_rejected_as_ambiguous() {
    // The user agent carries a whole forged tail: read either way, the line fits.
    let forged = DOC.replace(
        r#""S3Console/0.4""#,
        r#""x" - h SigV4 c AuthHeader host TLSv1.2 - - us-west-2 z""#,
    );
    let d = decode(&forged);
    assert_eq!(d.rows(), 0);
    assert!(d.rejects[0].reason.contains("ambiguous"), "{:?}", d.rejects);
}
