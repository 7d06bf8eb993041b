//! Every line of `shared/corpus/s3access` parses or lands in rejects, as MANIFEST.md says: only
//! the truncated `too_few_values` line is rejected.

use agsl_formats::{Decoded, S3AccessFormat};

use crate::{ints, strings};

fn decode(file: &str) -> Decoded {
    crate::decode_corpus(&S3AccessFormat, "s3access", file)
}

#[test]
fn every_valid_file_parses_completely() {
    for (file, rows) in [
        ("beats-s3access-s3_server_access.log", 5),
        ("beats-s3access-test.log", 6),
        ("integrations-s3access-test-s3-server-access.log", 10),
        ("lnav-s3_log-samples.log", 2),
        ("logstash-patterns-core-aws_spec-S3_ACCESS_LOG.log", 3),
        ("otel-contrib-s3-access-log-stream-valid_log_multi.log", 3),
        ("otel-contrib-s3-access-log-too_many_values.log", 1),
        ("otel-contrib-s3-access-log-unknown_request_uri.log", 1),
        ("otel-contrib-s3-access-log-valid_s3_access_log.log", 1),
    ] {
        let d = decode(file);
        assert_eq!(
            (d.counts.rows, d.counts.rejects),
            (rows, 0),
            "{file}: {:?}",
            d.rejects
        );
    }
}

#[test]
fn truncated_line_is_rejected() {
    let d = decode("otel-contrib-s3-access-log-too_few_values.log");
    assert_eq!((d.counts.rows, d.counts.rejects), (0, 1));
    assert!(
        d.rejects[0].reason.contains("only 10 fields"),
        "{}",
        d.rejects[0].reason
    );
}

#[test]
fn integrations_values() {
    let d = decode("integrations-s3access-test-s3-server-access.log");
    assert_eq!(strings(&d, "remote_ip")[6], None);
    assert_eq!(
        strings(&d, "requester")[6].as_deref(),
        Some("svc:delivery.logs.amazonaws.com")
    );
    assert_eq!(
        strings(&d, "key")[5].as_deref(),
        Some("Screen+Shot+2019-09-09+at+9.08.44+AM.png"),
        "kept URL-encoded"
    );
    assert_eq!(ints(&d, "http_status")[8], None, "status `-`");
    assert_eq!(
        strings(&d, "operation")[9].as_deref(),
        Some("S3.EXPIRE.OBJECT")
    );
    assert_eq!(strings(&d, "request_uri")[9], None);
    assert_eq!(ints(&d, "object_size")[9], Some(317));
    assert_eq!(
        strings(&d, "version_id")[9].as_deref(),
        Some("qsEq9bDa2VyxyZ4cz0c7oBnF67VYTTij")
    );
    assert_eq!(
        strings(&d, "request_verb")[4],
        None,
        "BATCH.DELETE has no request line"
    );
    assert_eq!(ints(&d, "object_size")[4], Some(344_017));
}

#[test]
fn offsets_old_layouts_and_extra_fields() {
    let d = decode("beats-s3access-test.log");
    assert_eq!(
        strings(&d, "request_url")[5].as_deref(),
        Some("*"),
        "OPTIONS * HTTP/1.0"
    );
    assert_eq!(strings(&d, "tls_version")[0].as_deref(), Some("TLSV1.1"));
    let old = decode("logstash-patterns-core-aws_spec-S3_ACCESS_LOG.log");
    assert_eq!(strings(&old, "bucket_owner")[0].as_deref(), Some("79a5"));
    assert_eq!(strings(&old, "host_id")[0], None, "18-field layout");
    assert_eq!(ints(&old, "http_status")[1], Some(304));
    let extra = decode("otel-contrib-s3-access-log-too_many_values.log");
    assert_eq!(
        strings(&extra, "source_region")[0].as_deref(),
        Some("us-east-1")
    );
}

#[test]
fn every_corpus_file_is_covered() {
    assert_eq!(
        crate::corpus_files("s3access").len(),
        10,
        "a new corpus file needs a test above"
    );
}
