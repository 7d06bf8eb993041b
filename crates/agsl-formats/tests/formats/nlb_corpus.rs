//! Every line of `shared/corpus/nlb` parses or lands in rejects, as MANIFEST.md says: only the
//! 3-field line is malformed; 18-, 21- and 22-field lines and the line damaged upstream parse.

use agsl_formats::NlbFormat;

use crate::strings;

#[test]
fn every_line_parses_or_is_rejected_as_the_manifest_says() {
    let expected = [
        ("beats-elb-example-nlb-tcp.log", 1, 0),
        (
            "dynatrace-s3-log-forwarder-test_attribute_extraction.nlb_test_entry.log",
            1,
            0,
        ),
        ("integrations-elb_logs-test-alb.nlb-lines.log", 4, 0),
        ("lambda-promtail-nlbaccesslog.log", 2, 0),
        (
            "otel-contrib-elb-access-log-nlb_al_insufficient_fields.log",
            0,
            1,
        ),
        ("otel-contrib-elb-access-log-nlb_al_valid_logs.log", 1, 0),
    ];
    assert_eq!(crate::corpus_files("nlb").len(), expected.len());
    for (file, rows, rejects) in expected {
        let d = crate::decode_corpus(&NlbFormat, "nlb", file);
        assert_eq!(
            (d.counts.rows, d.counts.rejects),
            (rows, rejects),
            "{file}: {:?}",
            d.rejects
        );
    }
    let damaged = crate::decode_corpus(
        &NlbFormat,
        "nlb",
        "integrations-elb_logs-test-alb.nlb-lines.log",
    );
    assert_eq!(
        strings(&damaged, "alpn_client_preference_list")[2].as_deref(),
        Some(r#"\"http/1.1\""#)
    );
    assert_eq!(strings(&damaged, "tls_cipher")[3], None);
}
