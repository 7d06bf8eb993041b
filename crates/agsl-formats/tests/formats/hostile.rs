//! Hostile free text never shifts a column: quotes, `" `, backslashes, tabs and spaces injected
//! into each attacker-controlled field of a valid line give either a row whose every other
//! column equals the clean line's, or a reject. Never a row with values in other columns.

use agsl_formats::{
    AlbConnFormat, AlbFormat, CloudfrontFormat, CloudfrontV2Format, CloudtrailFormat, Decoded,
    ElbFormat, Format, LogFormat, NlbFormat, Route53ResolverFormat, S3AccessFormat, VpcFlowFormat,
    WafFormat,
};
use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use proptest::prelude::*;

/// A valid input with `@0@`, `@1@`, ... where free-text values go.
struct Case {
    format: Box<dyn LogFormat>,
    template: &'static str,
    slots: Vec<Slot>,
    /// How a value is written into the template (JSON strings are escaped).
    encode: fn(&str) -> String,
    /// Whether an accepted row must hold the injected value itself, exactly.
    exact: bool,
}

struct Slot {
    value: &'static str,
    /// The columns this field feeds; every other column must not change.
    columns: &'static [&'static str],
}

const fn slot(value: &'static str, columns: &'static [&'static str]) -> Slot {
    Slot { value, columns }
}

fn raw(value: &str) -> String {
    value.to_owned()
}

fn json(value: &str) -> String {
    let quoted = serde_json::to_string(value).expect("a string serializes");
    quoted[1..quoted.len() - 1].to_owned()
}

const REQUEST: &[&str] = &["request_verb", "request_url", "request_proto"];

fn cases() -> Vec<Case> {
    vec![
        Case {
            format: Box::new(AlbFormat),
            template: r#"https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "@0@" "@1@" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "@2@" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2018-07-02T22:22:48.364000Z "authenticate,forward" "@3@" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90 "-" "-" "-""#,
            slots: vec![
                slot("GET https://www.example.com:443/a?b=c HTTP/1.1", REQUEST),
                slot("curl/7.46.0 (x86_64)", &["user_agent"]),
                slot("www.example.com", &["domain_name"]),
                slot("https://example.com/login", &["redirect_url"]),
            ],
            encode: raw,
            exact: false,
        },
        Case {
            format: Box::new(ElbFormat),
            template: r#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000086 0.001048 0.001337 200 200 0 57 "@0@" "@1@" DHE-RSA-AES128-SHA TLSv1.2"#,
            slots: vec![
                slot("GET https://www.example.com:443/ HTTP/1.1", REQUEST),
                slot("curl/7.38.0 (#56-0ef1d4a5)", &["user_agent"]),
            ],
            encode: raw,
            exact: false,
        },
        Case {
            format: Box::new(CloudfrontFormat),
            template: "2019-12-13\t22:36:27\tSEA19-C1\t900\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t@0@\t502\t@1@\t@2@\t@3@\t@4@\tError\t1pkpNfBQ39sYMnjjUQjmH2w1wdJnbHYTbag21o_3OfcQgPzdL2RSSQ==\twww.example.com\thttp\t675\t0.102\t@5@\t-\t-\tError\tHTTP/1.1\t-\t-\t25260\t0.102\tOriginDnsError\ttext/html\t507\t-\t-",
            slots: vec![
                slot("/favicon.ico", &["cs_uri_stem"]),
                slot("http://www.example.com/", &["cs_referrer"]),
                slot("Mozilla/5.0%20(Windows%20NT%2010.0)", &["cs_user_agent"]),
                slot("a=b&c=d", &["cs_uri_query"]),
                slot("session=1", &["cs_cookie"]),
                slot("192.0.2.1,%2010.0.0.1", &["x_forwarded_for"]),
            ],
            encode: raw,
            exact: true,
        },
        Case {
            format: Box::new(S3AccessFormat),
            template: r#"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be amzn-s3-demo-bucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be 3E57427F3EXAMPLE REST.GET.OBJECT a.txt "@0@" 200 - 113 - 7 - "@1@" "@2@" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com TLSV1.2 arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP Yes us-east-1"#,
            slots: vec![
                slot(
                    "GET /amzn-s3-demo-bucket1/a.txt?x=1 HTTP/1.1",
                    &[
                        "request_uri",
                        "request_verb",
                        "request_url",
                        "request_proto",
                    ],
                ),
                slot("https://example.com/page", &["referrer"]),
                slot("S3Console/0.4 (Linux)", &["user_agent"]),
            ],
            encode: raw,
            exact: true,
        },
        Case {
            format: Box::new(VpcFlowFormat::default()),
            template: "2 123456789010 @0@ @1@ 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
            slots: vec![
                slot("eni-1235b8ca123456789", &["interface_id"]),
                slot("172.31.16.139", &["srcaddr"]),
            ],
            encode: raw,
            exact: true,
        },
        Case {
            format: Box::new(CloudtrailFormat),
            template: r#"{"Records":[{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"JohnDoe"},"eventTime":"2024-07-16T15:49:27Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"@0@","userAgent":"@1@","errorMessage":"@2@","requestParameters":{"key":"@3@"},"readOnly":true,"resources":[{"ARN":"arn:aws:s3:::b","type":"AWS::S3::Bucket"}]}]}"#,
            slots: vec![
                slot("203.0.113.7", &["sourceipaddress"]),
                slot("aws-cli/2.15 Python/3.11", &["useragent"]),
                slot("Access Denied", &["errormessage"]),
                slot("a b/c.txt", &["json_requestparameters"]),
            ],
            encode: json,
            exact: true,
        },
        Case {
            format: Box::new(WafFormat),
            template: r#"{"timestamp":1576280412771,"formatVersion":1,"webaclId":"arn:aws:wafv2:us-east-1:123456789012:regional/webacl/shop/1a","terminatingRuleId":"Default_Action","terminatingRuleType":"REGULAR","action":"ALLOW","httpSourceName":"ALB","httpSourceId":"alb","ruleGroupList":[],"httpRequest":{"clientIp":"192.0.2.1","country":"NL","headers":[{"name":"Host","value":"shop.example.com"},{"name":"User-Agent","value":"@0@"}],"uri":"@1@","args":"@2@","httpVersion":"HTTP/2.0","httpMethod":"GET","requestId":"1-abc"},"labels":[{"name":"awswaf:clientip:geo:country:NL"}]}"#,
            slots: vec![
                slot(
                    "Mozilla/5.0 (X11; Linux x86_64)",
                    &["user_agent", "json_headers"],
                ),
                slot("/search/results", &["uri"]),
                slot("q=shoes&page=2", &["args"]),
            ],
            encode: json,
            exact: true,
        },
        Case {
            format: Box::new(Route53ResolverFormat),
            template: r#"{"version":"1.100000","account_id":"123456789012","region":"us-east-1","vpc_id":"vpc-01e31a7c","query_timestamp":"2021-12-11T22:46:26Z","query_name":"@0@","query_type":"TXT","query_class":"IN","rcode":"NOERROR","answers":[{"Rdata":"@1@","Type":"TXT","Class":"IN"}],"srcaddr":"172.31.86.159","srcport":"43312","transport":"UDP","srcids":{"instance":"@2@"}}"#,
            slots: vec![
                slot("shop.example.com.", &["query_name"]),
                slot("v=spf1 include:_spf.example.com ~all", &["answers"]),
                slot("i-079c44232510ca8ff", &["srcids_instance"]),
            ],
            encode: json,
            exact: true,
        },
        Case {
            format: Box::new(CloudfrontV2Format::default()),
            template: r#"{"timestamp(ms)":"1731699951183","x-edge-location":"SOF50-P2","sc-bytes":"1068","c-ip":"192.0.2.100","cs-method":"GET","cs-uri-stem":"@0@","sc-status":"200","cs(User-Agent)":"@1@","cs-uri-query":"@2@","c-country":"NL","asn":"16509"}"#,
            slots: vec![
                slot("/assets/app.js", &["cs_uri_stem"]),
                slot("Mozilla/5.0%20(X11;%20Linux%20x86_64)", &["cs_user_agent"]),
                slot("v=3&utm_source=mail", &["cs_uri_query"]),
            ],
            encode: json,
            exact: true,
        },
        Case {
            format: Box::new(NlbFormat),
            template: r#"tls 2.0 2020-04-01T08:51:42 net/my-network-loadbalancer/c6e77e28c25b2234 g3d4b5e8bb8464cd 72.21.218.154:51341 172.100.100.185:443 5 2 98 246 - arn:aws:acm:us-east-2:671290407336:certificate/2a108f19 - ECDHE-RSA-AES128-SHA tlsv12 - @0@ h2 h2 @1@ 2020-04-01T08:51:20"#,
            slots: vec![
                slot("my-nlb.elb.us-east-2.amazonaws.com", &["domain_name"]),
                slot(r#""h2","http/1.1""#, &["alpn_client_preference_list"]),
            ],
            encode: raw,
            exact: true,
        },
        Case {
            format: Box::new(AlbConnFormat),
            template: r#"2024-10-04T17:05:15.514108Z 192.168.131.39 36280 443 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 4.036 "@0@" NotBefore=2023-09-21T22:43:21Z;NotAfter=2026-06-17T22:43:21Z FEF257372D5C14D4 Success TID_1c71a68d70587445"#,
            slots: vec![slot(
                "CN=client.example.com,O=Example Corp,C=US",
                &["leaf_client_cert_subject"],
            )],
            encode: raw,
            exact: false,
        },
    ]
}

/// The pieces an attacker puts into a value.
const PIECES: &[&str] = &[
    "\"", "\" ", " \"", "\"\"", "\" \"", "\\", "\\\"", "\t", " ", "  ", " - ", "\" - \"", "\"-\"",
];

fn fill(case: &Case, values: &[String]) -> String {
    let mut line = case.template.to_owned();
    for (i, value) in values.iter().enumerate() {
        line = line.replace(&format!("@{i}@"), &(case.encode)(value));
    }
    line
}

fn only_row(decoded: &Decoded) -> Option<RecordBatch> {
    (decoded.rows() == 1).then(|| {
        decoded
            .batches
            .iter()
            .find(|b| b.num_rows() == 1)
            .expect("the one row")
            .clone()
    })
}

/// Checks one hostile value in slot `slot` of case `case`.
fn check(case: &Case, slot: usize, hostile: &str) {
    let clean: Vec<String> = case.slots.iter().map(|s| s.value.to_owned()).collect();
    let baseline = Decoded::from_bytes(case.format.as_ref(), fill(case, &clean).as_bytes(), 8)
        .expect("decodes");
    let baseline = only_row(&baseline).expect("the clean line is a row");

    let mut values = clean;
    values[slot] = hostile.to_owned();
    let line = fill(case, &values);
    let decoded = Decoded::from_bytes(case.format.as_ref(), line.as_bytes(), 8).expect("decodes");
    let c = decoded.counts;
    assert_eq!(c.rows + c.rejects, 1, "one line, one outcome: {line}");
    let Some(row) = only_row(&decoded) else {
        assert_eq!(decoded.rejects.len(), 1);
        return;
    };
    let affected = case.slots[slot].columns;
    for (field, column) in baseline.schema().fields().iter().zip(baseline.columns()) {
        if affected.contains(&field.name().as_str()) {
            continue;
        }
        let now = row.column_by_name(field.name()).expect("same schema");
        assert_eq!(
            now.to_data(),
            column.to_data(),
            "column `{}` changed after injecting {hostile:?} into `{}`: {line}",
            field.name(),
            affected[0]
        );
    }
    // Values inside a nested column (Route 53 answers) are checked by the format's own tests.
    let value = row.column_by_name(affected[0]).expect("column");
    if let (true, Some(value)) = (case.exact, value.as_string_opt::<i32>()) {
        let expected = if affected[0].starts_with("json_") {
            format!(r#"{{"key":{}}}"#, serde_json::to_string(hostile).unwrap())
        } else {
            hostile.to_owned()
        };
        if hostile == "-" {
            assert!(value.is_null(0));
        } else {
            assert_eq!(value.value(0), expected, "{line}");
        }
    }
}

fn hostile_value() -> impl Strategy<Value = (usize, usize, Vec<(usize, usize)>)> {
    (
        any::<usize>(),
        any::<usize>(),
        proptest::collection::vec((any::<usize>(), 0..PIECES.len()), 1..5),
    )
}

/// The base value of the slot with `pieces` inserted at byte positions (ASCII bases only).
fn inject(base: &str, pieces: &[(usize, usize)]) -> String {
    let mut value = base.to_owned();
    for &(at, piece) in pieces {
        let at = at % (value.len() + 1);
        value.insert_str(at, PIECES[piece]);
    }
    value
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn injected_quotes_and_separators_never_shift_a_column((which, field, pieces) in hostile_value()) {
        let cases = cases();
        let case = &cases[which % cases.len()];
        let slot = field % case.slots.len();
        check(case, slot, &inject(case.slots[slot].value, &pieces));
    }
}

#[test]
fn every_slot_of_every_format_takes_every_piece() {
    for case in cases() {
        for (slot, s) in case.slots.iter().enumerate() {
            for piece in PIECES {
                for at in [0, s.value.len() / 2, s.value.len()] {
                    let mut value = s.value.to_owned();
                    value.insert_str(at, piece);
                    check(&case, slot, &value);
                }
            }
        }
    }
}

#[test]
fn raw_quotes_in_json_reject_the_record() {
    // A quote the service did not escape breaks the JSON: the record (CloudTrail: the object)
    // is a reject, never a row.
    for (format, clean, broken) in [
        (Format::Cloudtrail, "aws-cli/2.15", "aws-cli\" \"/2.15"),
        (Format::Waf, "/search/results", "/search\" \"/results"),
        (
            Format::Route53Resolver,
            "shop.example.com.",
            "shop\" \".example.com.",
        ),
        (
            Format::CloudfrontV2,
            "/assets/app.js",
            "/assets\" \"/app.js",
        ),
    ] {
        let case = cases()
            .into_iter()
            .find(|c| c.format.format() == format)
            .expect("a case per JSON format");
        let values: Vec<String> = case.slots.iter().map(|s| s.value.to_owned()).collect();
        let line = fill(&case, &values).replace(clean, broken);
        let decoded =
            Decoded::from_bytes(case.format.as_ref(), line.as_bytes(), 8).expect("decodes");
        assert_eq!(decoded.rows(), 0, "{format}");
        assert_eq!(decoded.rejects.len(), 1, "{format}");
    }
}

#[test]
fn the_real_unescaped_s3_lines_keep_their_columns() {
    // The shapes of real lines: a quote inside the request line, a user agent ending in `""`.
    let case = &cases()[3];
    check(case, 0, r#"GET /" HTTP/1.1"#);
    check(case, 1, r#"foo "bar" baz"#);
    check(
        case,
        2,
        r#"Mozilla/5.0 (iPhone) Version/17.1 Safari/604.1""#,
    );
    let line = fill(
        case,
        &[
            r#"GET /" HTTP/1.1"#.to_owned(),
            "-".to_owned(),
            r#"Safari/604.1""#.to_owned(),
        ],
    );
    let decoded = Decoded::from_bytes(case.format.as_ref(), line.as_bytes(), 8).unwrap();
    assert_eq!(decoded.rows(), 1, "{:?}", decoded.rejects);
}
