//! Every line of `shared/corpus/cloudfront` parses: the header-driven 33-field file (with a
//! 31-field last line, `000` status, IPv6 and `, ` inside x-forwarded-for) and the older
//! 23-field layout without a header.

use agsl_formats::{CloudfrontFormat, Decoded};

use crate::{ints, strings};

fn decode(file: &str) -> Decoded {
    crate::decode_corpus(&CloudfrontFormat, "cloudfront", file)
}

#[test]
fn integrations_file_parses_completely() {
    let d = decode("integrations-cloudfront_logs-test-cloudfront.log");
    assert_eq!(
        (d.counts.rows, d.counts.rejects, d.counts.skipped_lines),
        (12, 0, 2),
        "{:?}",
        d.rejects
    );
    let ips = strings(&d, "c_ip");
    assert_eq!(
        ips[1].as_deref(),
        Some("2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6")
    );
    assert_eq!(ints(&d, "sc_status")[7], Some(0), "`000` status");
    let xff = strings(&d, "x_forwarded_for");
    assert!(xff.iter().flatten().any(|v| v.contains(", ")), "{xff:?}");
    assert_eq!(strings(&d, "cs_uri_stem")[11].as_deref(), Some("/en(test)"));
    assert_eq!(strings(&d, "cs_cookie")[11].as_deref(), Some("cookie"));
    // The last line has 31 of 33 fields: the range columns are NULL, the rest is there.
    assert_eq!(ints(&d, "sc_range_start")[11], None);
    assert_eq!(ints(&d, "c_port")[11], Some(50294));
    assert_eq!(
        strings(&d, "sc_content_type")[11].as_deref(),
        Some("text/html")
    );
}

#[test]
fn legacy_layout_without_header() {
    let d = decode("logstash-patterns-core-aws_spec-CLOUDFRONT_ACCESS_LOG.log");
    assert_eq!((d.counts.rows, d.counts.rejects), (2, 0), "{:?}", d.rejects);
    let agents = strings(&d, "cs_user_agent");
    assert!(
        agents[0].as_deref().unwrap().contains("%2520"),
        "double encoding kept as delivered"
    );
    assert_eq!(
        strings(&d, "cs_protocol_version")[0],
        None,
        "23-field layout ends before it"
    );
    assert_eq!(ints(&d, "c_port")[1], Some(11040));
}

#[test]
fn every_corpus_file_is_covered() {
    assert_eq!(
        crate::corpus_files("cloudfront").len(),
        2,
        "a new corpus file needs a test above"
    );
}
