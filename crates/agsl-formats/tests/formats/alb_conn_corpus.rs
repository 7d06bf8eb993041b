//! Every line of `shared/corpus/albconn` parses or lands in rejects, as MANIFEST.md says: the
//! three connection lines parse; the logging-enabled test message is rejected.

use agsl_formats::AlbConnFormat;

use crate::strings;

#[test]
fn every_line_parses_or_is_rejected_as_the_manifest_says() {
    let expected = [
        ("integrations-elb_logs-test-alb.conn-lines.log", 3, 0),
        ("otel-contrib-elb-access-log-elb_control.log", 0, 1),
    ];
    assert_eq!(crate::corpus_files("albconn").len(), expected.len());
    for (file, rows, rejects) in expected {
        let d = crate::decode_corpus(&AlbConnFormat, "albconn", file);
        assert_eq!(
            (d.counts.rows, d.counts.rejects),
            (rows, rejects),
            "{file}: {:?}",
            d.rejects
        );
    }
    let d = crate::decode_corpus(
        &AlbConnFormat,
        "albconn",
        "integrations-elb_logs-test-alb.conn-lines.log",
    );
    assert_eq!(
        strings(&d, "tls_verify_status"),
        [
            Some("Success".to_owned()),
            Some("Failed:ClientCertUntrusted".to_owned()),
            None
        ]
    );
    assert_eq!(
        strings(&d, "conn_trace_id")[2].as_deref(),
        Some("TID_16132ed0b4112148")
    );
}
