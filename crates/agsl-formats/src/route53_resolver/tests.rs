use arrow_array::Array;
use arrow_array::cast::AsArray;

use crate::test_support::{int32, int32_at, micros, text, text_at};
use crate::{Decoded, LogFormat, Route, Route53ResolverFormat};

/// Line 11 of the elastic fixture (FORMATS.md 11.3): a CNAME chain to an IPv6 address.
const CNAME_CHAIN: &str = r#"{"version":"1.100000","account_id":"626345947581","region":"us-east-1","vpc_id":"vpc-01e31a7c","query_timestamp":"2021-12-11T22:46:26Z","query_name":"amazonlinux-2-repos-us-east-1.s3.dualstack.us-east-1.amazonaws.com.","query_type":"AAAA","query_class":"IN","rcode":"NOERROR","answers":[{"Rdata":"s3-r-w.dualstack.us-east-1.amazonaws.com.","Type":"CNAME","Class":"IN"},{"Rdata":"2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6","Type":"AAAA","Class":"IN"}],"srcaddr":"172.31.86.159","srcport":"43312","transport":"UDP","srcids":{}}"#;

/// AWS's documented example with the DNS Firewall fields, in AWS's own key order.
const FIREWALL: &str = r#"{"srcaddr":"4.5.64.102","vpc_id":"vpc-7example","answers":[{"Rdata":"203.0.113.9","Type":"PTR","Class":"IN"}],"firewall_rule_group_id":"rslvr-frg-01234567890abcdef","firewall_rule_action":"BLOCK","query_name":"15.3.4.32.in-addr.arpa.","firewall_domain_list_id":"rslvr-fdl-01234567890abcdef","query_class":"IN","srcids":{"instance":"i-0d15cd0d3example"},"rcode":"NOERROR","query_type":"PTR","transport":"UDP","version":"1.100000","account_id":"111122223333","srcport":"56067","query_timestamp":"2021-02-04T17:51:55Z","region":"us-east-1"}"#;

fn decode(text: &str) -> Decoded {
    let d = Decoded::from_bytes(&Route53ResolverFormat, text.as_bytes(), 16).unwrap();
    assert_eq!(d.counts.rows + d.counts.rejects, d.counts.lines);
    d
}

/// The answers of `row` as `(rdata, type, class)`; `None` when the list is NULL.
type AnswerRow = (Option<String>, Option<String>, Option<String>);

fn answers(d: &Decoded, row: usize) -> Option<Vec<AnswerRow>> {
    let list = d.batches[0]
        .column_by_name("answers")
        .unwrap()
        .as_list::<i32>();
    list.is_valid(row).then(|| {
        let items = list.value(row);
        let items = items.as_struct();
        let member = |name: &str, i: usize| {
            let column = items.column_by_name(name).unwrap().as_string::<i32>();
            column.is_valid(i).then(|| column.value(i).to_owned())
        };
        (0..items.len())
            .map(|i| (member("rdata", i), member("type", i), member("class", i)))
            .collect()
    })
}

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

#[test]
fn every_field_of_a_cname_chain() {
    let d = decode(CNAME_CHAIN);
    assert_eq!((d.counts.rows, d.counts.rejects), (1, 0));
    let b = &d.batches[0];
    assert_eq!(text(b, "version").as_deref(), Some("1.100000"));
    assert_eq!(text(b, "account_id").as_deref(), Some("626345947581"));
    assert_eq!(text(b, "region").as_deref(), Some("us-east-1"));
    assert_eq!(text(b, "vpc_id").as_deref(), Some("vpc-01e31a7c"));
    // 2021-12-11T22:46:26Z
    assert_eq!(micros(b, "query_timestamp"), Some(1_639_262_786_000_000));
    assert_eq!(
        text(b, "query_name").as_deref(),
        Some("amazonlinux-2-repos-us-east-1.s3.dualstack.us-east-1.amazonaws.com.")
    );
    assert_eq!(text(b, "query_type").as_deref(), Some("AAAA"));
    assert_eq!(text(b, "query_class").as_deref(), Some("IN"));
    assert_eq!(text(b, "rcode").as_deref(), Some("NOERROR"));
    assert_eq!(
        answers(&d, 0),
        Some(vec![
            (
                some("s3-r-w.dualstack.us-east-1.amazonaws.com."),
                some("CNAME"),
                some("IN")
            ),
            (
                some("2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6"),
                some("AAAA"),
                some("IN")
            ),
        ])
    );
    assert_eq!(text(b, "srcaddr").as_deref(), Some("172.31.86.159"));
    assert_eq!(int32(b, "srcport"), Some(43312));
    assert_eq!(text(b, "transport").as_deref(), Some("UDP"));
    for column in [
        "srcids_instance",
        "srcids_resolver_endpoint",
        "srcids_resolver_network_interface",
        "firewall_rule_group_id",
        "firewall_rule_action",
        "firewall_domain_list_id",
        "json_other",
    ] {
        assert_eq!(text(b, column), None, "{column}");
    }
}

#[test]
fn the_firewall_example_in_aws_key_order() {
    let d = decode(FIREWALL);
    let b = &d.batches[0];
    assert_eq!(micros(b, "query_timestamp"), Some(1_612_461_115_000_000));
    assert_eq!(text(b, "srcaddr").as_deref(), Some("4.5.64.102"));
    assert_eq!(int32(b, "srcport"), Some(56067));
    assert_eq!(
        text(b, "srcids_instance").as_deref(),
        Some("i-0d15cd0d3example")
    );
    assert_eq!(
        text(b, "firewall_rule_group_id").as_deref(),
        Some("rslvr-frg-01234567890abcdef")
    );
    assert_eq!(text(b, "firewall_rule_action").as_deref(), Some("BLOCK"));
    assert_eq!(
        text(b, "firewall_domain_list_id").as_deref(),
        Some("rslvr-fdl-01234567890abcdef")
    );
    assert_eq!(text(b, "account_id").as_deref(), Some("111122223333"));
    assert_eq!(
        answers(&d, 0),
        Some(vec![(some("203.0.113.9"), some("PTR"), some("IN"))])
    );
    assert_eq!(text(b, "json_other"), None);
}

#[test]
fn empty_absent_and_null_answers() {
    let empty = CNAME_CHAIN.replace(
        &CNAME_CHAIN[CNAME_CHAIN.find("[{").unwrap()..=CNAME_CHAIN.find("}]").unwrap() + 1],
        "[]",
    );
    let absent = CNAME_CHAIN.replace(r#""answers":"#, r#""no_answers":"#);
    let null = empty.replace(r#""answers":[]"#, r#""answers":null"#);
    let d = decode(&format!("{empty}\n{absent}\n{null}\n"));
    assert_eq!((d.counts.rows, d.counts.rejects), (3, 0));
    assert_eq!(answers(&d, 0), Some(vec![]));
    assert_eq!(answers(&d, 1), None);
    assert_eq!(answers(&d, 2), None);
    // The renamed key is not lost: it is kept whole in json_other.
    assert!(
        text_at(&d.batches[0], "json_other", 1)
            .unwrap()
            .starts_with(r#"{"no_answers":[{"Rdata":"s3-r-w"#)
    );
}

#[test]
fn unknown_keys_and_members_are_kept_in_json_other() {
    let line = r#"{"query_timestamp":"2021-02-04T17:51:55.177Z","srcids":{"instance":"i-1","vpc_endpoint":"vpce-1"},"rdata":"1.2.3.4","answers":[{"Rdata":"t x","Type":"TXT","Class":"IN","Ttl":60}],"version":1.1}"#;
    let d = decode(line);
    let b = &d.batches[0];
    assert_eq!(micros(b, "query_timestamp"), Some(1_612_461_115_177_000));
    assert_eq!(text(b, "version").as_deref(), Some("1.1"));
    assert_eq!(text(b, "srcids_instance").as_deref(), Some("i-1"));
    assert_eq!(
        answers(&d, 0),
        Some(vec![(some("t x"), some("TXT"), some("IN"))])
    );
    assert_eq!(
        text(b, "json_other").as_deref(),
        Some(
            r#"{"rdata":"1.2.3.4","answers":[{"Rdata":"t x","Type":"TXT","Class":"IN","Ttl":60}],"srcids":{"vpc_endpoint":"vpce-1"}}"#
        )
    );
    // A srcids that is not an object is kept whole.
    let d = decode(r#"{"query_timestamp":"2021-02-04T17:51:55Z","srcids":"i-1"}"#);
    assert_eq!(text(&d.batches[0], "srcids_instance"), None);
    assert_eq!(
        text(&d.batches[0], "json_other").as_deref(),
        Some(r#"{"srcids":"i-1"}"#)
    );
}

#[test]
fn values_that_do_not_convert_reject_the_record() {
    let cases = [
        (CNAME_CHAIN.replace(r#""43312""#, r#""http""#), "srcport"),
        (CNAME_CHAIN.replace(r#""43312""#, r#""70000""#), "srcport"),
        (CNAME_CHAIN.replace(r#""43312""#, "-1"), "srcport"),
        (
            CNAME_CHAIN.replace("2021-12-11T22:46:26Z", "yesterday"),
            "query_timestamp",
        ),
        (
            CNAME_CHAIN.replace(r#""query_timestamp""#, r#""query_time""#),
            "query_timestamp",
        ),
        (
            CNAME_CHAIN.replace(r#""answers":["#, r#""answers":["x","#),
            "answers",
        ),
        (
            CNAME_CHAIN.replace(r#""srcids":{}"#, r#""srcids":{"instance":}"#),
            "JSON",
        ),
    ];
    let text: String = cases.iter().map(|(line, _)| format!("{line}\n")).collect();
    let d = decode(&format!("{text}{CNAME_CHAIN}\n"));
    assert_eq!((d.counts.rows, d.counts.rejects), (1, cases.len() as u64));
    for (reject, (_, column)) in d.rejects.iter().zip(cases) {
        assert!(
            reject.reason.contains(column),
            "{column}: {}",
            reject.reason
        );
    }
    // The row after them is the good record, whole.
    assert_eq!(int32_at(&d.batches[0], "srcport", 0), Some(43312));
}

#[test]
fn the_public_hosted_zone_log_is_not_a_resolver_record() {
    let public = "1.0 2023-02-21T16:34:06Z Z0195849T189REVYAU10 test.ivallho.com A NOERROR UDP MAD51-C2 79.157.104.114 -";
    let d = decode(public);
    assert_eq!((d.counts.rows, d.counts.rejects), (0, 1));
    assert!(!Route53ResolverFormat.claims_first_line(public));
}

#[test]
fn keys_routes_and_first_lines() {
    let key = "AWSLogs/123456789012/vpcdnsquerylogs/vpc-01e31a7c/2021/12/11/vpc-01e31a7c_vpcdnsquerylogs_123456789012_20211211T2245Z_3c9a1f2e.log.gz";
    let format = Route53ResolverFormat;
    assert!(format.claims_key(key));
    assert_eq!(format.route(key), Route::Convert);
    assert_eq!(format.region_from_key(key), None);
    assert!(matches!(
        format.route("AWSLogs/123456789012/vpcdnsquerylogs/vpc-01e31a7c/notes.txt"),
        Route::Skip(_)
    ));
    assert!(!format.claims_key(
        "AWSLogs/123456789012/vpcflowlogs/us-east-1/2021/12/11/123456789012_vpcflowlogs_us-east-1_fl-1_20211211T2245Z_1.log.gz"
    ));
    assert!(format.claims_first_line(CNAME_CHAIN));
    assert!(format.claims_first_line(FIREWALL));
    assert!(!format.claims_first_line(r#"{"timestamp":1576280412771,"webaclId":"arn"}"#));
}
