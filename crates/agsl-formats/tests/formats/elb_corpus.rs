//! Every line of `shared/corpus/elb` parses or lands in rejects, as MANIFEST.md says: all
//! Classic ELB lines parse (including pre-2015 12-field lines); the NLB line is rejected.

use agsl_formats::{Decoded, ElbFormat};

use crate::{ints, strings};

fn decode(file: &str) -> Decoded {
    crate::decode_corpus(&ElbFormat, "elb", file)
}

#[test]
fn every_classic_file_parses_completely() {
    for (file, rows) in [
        ("beats-elb-elb-http.log", 5),
        ("beats-elb-elb-tcp.log", 6),
        ("beats-elb-example-http.log", 2),
        ("beats-elb-example-https.log", 1),
        ("beats-elb-example-ssl.log", 1),
        ("beats-elb-example-tcp.log", 2),
        ("lnav-elb_log-samples.log", 5),
        ("logstash-patterns-core-aws_spec-ELB_ACCESS_LOG.log", 4),
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
fn nlb_line_is_not_classic_elb() {
    let d = decode("beats-elb-example-nlb-tcp.log");
    assert_eq!((d.counts.rows, d.counts.rejects), (0, 1));
    assert!(
        d.rejects[0].reason.contains("`time`"),
        "{}",
        d.rejects[0].reason
    );
}

#[test]
fn tcp_listener_values() {
    let d = decode("beats-elb-elb-tcp.log");
    assert!(ints(&d, "elb_status_code").iter().all(Option::is_none));
    assert!(strings(&d, "request_url").iter().all(Option::is_none));
    assert_eq!(ints(&d, "received_bytes")[..2], [Some(134), Some(134)]);
    assert_eq!(strings(&d, "backend_ip")[1].as_deref(), Some("10.0.1.184"));
}

#[test]
fn user_agents_and_old_layouts() {
    let d = decode("beats-elb-elb-http.log");
    assert_eq!(
        strings(&d, "user_agent")[0].as_deref(),
        Some(
            "Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/41.0.2228.0 Safari/537.36"
        )
    );
    let old = decode("logstash-patterns-core-aws_spec-ELB_ACCESS_LOG.log");
    assert_eq!(
        strings(&old, "user_agent")[..2],
        [None, None],
        "pre-2015 lines end at the request"
    );
    assert_eq!(strings(&old, "request_verb")[1].as_deref(), Some("PUT"));
    assert_eq!(ints(&old, "elb_status_code")[1], Some(408));
    assert_eq!(strings(&old, "backend_ip")[1], None);
    assert_eq!(
        strings(&old, "user_agent")[2].as_deref(),
        Some("curl/7.38.0 (#56-0ef1d4a5)")
    );
    assert_eq!(strings(&old, "user_agent")[3], None);
}

#[test]
fn every_corpus_file_is_covered() {
    assert_eq!(
        crate::corpus_files("elb").len(),
        9,
        "a new corpus file needs a test above"
    );
}
