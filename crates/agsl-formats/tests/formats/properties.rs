//! Never-panics properties: random bytes and mutated valid lines always decode, and every data
//! line ends up as exactly one row or one reject.

use agsl_formats::sample::{SamplePlan, objects};
use agsl_formats::{
    AlbConnFormat, AlbFormat, CloudfrontFormat, CloudfrontV2Format, CloudtrailFormat, Decoded,
    ElbFormat, Format, Framing, LogFormat, NlbFormat, Route53ResolverFormat, S3AccessFormat,
    VpcFlowFormat, WafFormat,
};
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use proptest::prelude::*;

const VALID_ALB: &str = r#"https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90 "-" "-" "-""#;

const VALID_ELB: &str = r#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000086 0.001048 0.001337 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.38.0 (#56-0ef1d4a5)" DHE-RSA-AES128-SHA TLSv1.2"#;

const VALID_CLOUDFRONT: &str = "2019-12-13\t22:36:27\tSEA19-C1\t900\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/favicon.ico\t502\thttp://www.example.com/\tMozilla/5.0%20(Windows%20NT%2010.0)\t-\t-\tError\t1pkpNfBQ39sYMnjjUQjmH2w1wdJnbHYTbag21o_3OfcQgPzdL2RSSQ==\twww.example.com\thttp\t675\t0.102\t-\t-\t-\tError\tHTTP/1.1\t-\t-\t25260\t0.102\tOriginDnsError\ttext/html\t507\t-\t-";

const VALID_S3_ACCESS: &str = r#"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be amzn-s3-demo-bucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be 3E57427F3EXAMPLE REST.GET.VERSIONING - "GET /amzn-s3-demo-bucket1?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com TLSV1.2 arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP Yes us-east-1"#;

const VALID_VPC_FLOW: &str = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK";

const VALID_CLOUDTRAIL: &str = r#"{"Records":[{"eventVersion":"1.05","userIdentity":{"type":"IAMUser","userName":"JohnDoe"},"eventTime":"2014-07-16T15:49:27Z","eventName":"ConsoleLogin","readOnly":false,"resources":[{"ARN":"arn:aws:s3:::b","type":"AWS::S3::Bucket"}],"requestParameters":null}]}"#;

const VALID_WAF: &str = r#"{"timestamp":1576280412771,"formatVersion":1,"webaclId":"arn:aws:wafv2:ap-southeast-2:123456789012:regional/webacl/STMTest/1EXAMPLE","terminatingRuleId":"STMTest_SQLi_XSS","terminatingRuleType":"REGULAR","action":"BLOCK","terminatingRuleMatchDetails":[{"conditionType":"SQL_INJECTION","location":"HEADER","matchedData":["10","AND","1"]}],"httpSourceName":"-","httpSourceId":"-","ruleGroupList":[],"rateBasedRuleList":[],"nonTerminatingMatchingRules":[],"httpRequest":{"clientIp":"89.160.20.156","country":"AU","headers":[{"name":"Host","value":"localhost:1989"},{"name":"User-Agent","value":"curl/7.61.1"}],"uri":"/foo","args":"","httpVersion":"HTTP/1.1","httpMethod":"GET","requestId":"rid"},"labels":[{"name":"value"}]}"#;

const VALID_NLB: &str = r#"tls 2.0 2020-04-01T08:51:42 net/my-network-loadbalancer/c6e77e28c25b2234 g3d4b5e8bb8464cd 72.21.218.154:51341 172.100.100.185:443 5 2 98 246 - arn:aws:acm:us-east-2:671290407336:certificate/2a108f19 - ECDHE-RSA-AES128-SHA tlsv12 - my-nlb.elb.us-east-2.amazonaws.com h2 h2 "h2","http/1.1" 2020-04-01T08:51:20"#;

const VALID_ALB_CONN: &str = r#"2024-10-04T17:05:15.514108Z 192.168.131.39 36280 443 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 4.036 "CN=amazondomains.com,O=endEntity,L=Seattle,ST=Washington,C=US" NotBefore=2023-09-21T22:43:21Z;NotAfter=2026-06-17T22:43:21Z FEF257372D5C14D4 Success TID_1c71a68d70587445"#;

const VALID_ROUTE53_RESOLVER: &str = r#"{"version":"1.100000","account_id":"626345947581","region":"us-east-1","vpc_id":"vpc-01e31a7c","query_timestamp":"2021-12-11T22:46:26Z","query_name":"repos.s3.dualstack.us-east-1.amazonaws.com.","query_type":"AAAA","query_class":"IN","rcode":"NOERROR","answers":[{"Rdata":"s3-r-w.dualstack.us-east-1.amazonaws.com.","Type":"CNAME","Class":"IN"},{"Rdata":"2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6","Type":"AAAA","Class":"IN"}],"srcaddr":"172.31.86.159","srcport":"43312","transport":"UDP","srcids":{"instance":"i-079c44232510ca8ff"}}"#;

const VALID_CLOUDFRONT_V2: &str = r#"{"date":"2024-11-15","time":"19:45:51","x-edge-location":"SOF50-P2","sc-bytes":"1068","c-ip":"192.0.2.100","cs(User-Agent)":"Mozilla/5.0%20(Windows)","sc-status":"200","asn":"16509","timestamp(ms)":"1731699951183","origin-fbl":"0.254","origin-lbl":"0.254","x-host-header":"d111111abcdef8.cloudfront.net","cs(Cookie)":"examplecookie=value"}"#;

/// Each supported format with one valid input to mutate.
fn formats() -> Vec<(Box<dyn LogFormat>, &'static str)> {
    vec![
        (Box::new(AlbFormat), VALID_ALB),
        (Box::new(ElbFormat), VALID_ELB),
        (Box::new(CloudfrontFormat), VALID_CLOUDFRONT),
        (Box::new(S3AccessFormat), VALID_S3_ACCESS),
        (Box::new(VpcFlowFormat::default()), VALID_VPC_FLOW),
        (Box::new(CloudtrailFormat), VALID_CLOUDTRAIL),
        (Box::new(WafFormat), VALID_WAF),
        (Box::new(NlbFormat), VALID_NLB),
        (Box::new(AlbConnFormat), VALID_ALB_CONN),
        (Box::new(Route53ResolverFormat), VALID_ROUTE53_RESOLVER),
        (Box::new(CloudfrontV2Format::default()), VALID_CLOUDFRONT_V2),
    ]
}

#[test]
fn every_supported_format_is_property_tested() {
    let mut tested: Vec<Format> = formats().iter().map(|(f, _)| f.format()).collect();
    tested.sort();
    let mut all = Format::ALL.to_vec();
    all.sort();
    assert_eq!(tested, all);
}

fn check_invariants(input: &[u8]) {
    for (format, _) in formats() {
        check_format(format.as_ref(), input);
    }
}

fn check_format(format: &dyn LogFormat, input: &[u8]) {
    let decoded = Decoded::from_bytes(format, input, 7).expect("in-memory input never fails");
    let c = decoded.counts;
    assert_eq!(c.rows + c.rejects, c.lines);
    assert_eq!(decoded.rows() as u64, c.rows);
    assert_eq!(decoded.rejects.len() as u64, c.rejects);
    assert_eq!(c.bytes, input.len() as u64);
    // Line formats account for every line; JSON formats for every record, which may span lines.
    if matches!(format.info().framing, Framing::Lines { .. }) {
        let newline_lines = input.split(|&b| b == b'\n').count() as u64
            - u64::from(input.is_empty() || input.ends_with(b"\n"));
        assert_eq!(c.lines + c.skipped_lines, newline_lines);
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![
        Just(b' '),
        Just(b'"'),
        Just(b'\\'),
        Just(b'-'),
        Just(b':'),
        Just(b'\n'),
        Just(0xff),
        any::<u8>()
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(line: &mut Vec<u8>, mutation: &Mutation) {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
    match *mutation {
        Mutation::Replace(i, b) if !line.is_empty() => {
            let i = at(i, line.len());
            line[i] = b;
        }
        Mutation::Insert(i, b) => {
            let i = at(i, line.len() + 1);
            line.insert(i, b);
        }
        Mutation::Delete(i) if !line.is_empty() => {
            line.remove(at(i, line.len()));
        }
        Mutation::Truncate(i) => line.truncate(at(i, line.len() + 1)),
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check_invariants(&input);
    }

    #[test]
    fn random_token_soup_never_panics(tokens in proptest::collection::vec(
        prop_oneof![
            proptest::sample::select(vec!["-", "\"-\"", "\"", "http", "2018-07-02T22:23:00.1Z", "1.2.3.4:5", "-1", "\\\"", " ", "\n"])
                .prop_map(str::to_owned),
            "[ -~]{0,12}",
        ],
        0..80,
    )) {
        check_invariants(tokens.join(" ").as_bytes());
    }

    #[test]
    fn mutated_valid_lines_never_panic(mutations in proptest::collection::vec(mutation(), 1..6), copies in 1usize..4) {
        for (format, valid) in formats() {
            let mut line = valid.as_bytes().to_vec();
            for m in &mutations {
                apply(&mut line, m);
            }
            let mut input = Vec::new();
            for _ in 0..copies {
                input.extend_from_slice(&line);
                input.push(b'\n');
            }
            input.extend_from_slice(valid.as_bytes());
            check_format(format.as_ref(), &input);
        }
    }
}

/// A generated CloudFront v2 Parquet object (the fourth object of every four).
fn parquet_object() -> &'static [u8] {
    static OBJECT: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    OBJECT.get_or_init(|| {
        let plan = SamplePlan {
            objects: 4,
            lines_per_object: 30,
            ..SamplePlan::default()
        };
        let object = objects(Format::CloudfrontV2, plan)
            .nth(3)
            .expect("four objects");
        assert!(object.body.starts_with(b"PAR1"), "{}", object.key);
        object.body
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// Damaged Parquet (flipped bytes anywhere: footer, page headers, data) is rows and
    /// rejects, never a panic.
    #[test]
    fn mutated_parquet_objects_never_panic(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let mut bytes = parquet_object().to_vec();
        for (at, byte) in flips {
            let at = 4 + at % (bytes.len() - 4);
            bytes[at] = byte;
        }
        if let Some(cut) = cut {
            bytes.truncate(4 + cut % (bytes.len() - 3));
        }
        check_format(&CloudfrontV2Format::default(), &bytes);
    }
}

/// The generator's own record of what it wrote agrees with what the parser reads back.
#[test]
fn generated_objects_parse_as_the_generator_says() {
    let plan = SamplePlan {
        objects: 6,
        lines_per_object: 500,
        bad_line_every: Some(37),
        ..SamplePlan::default()
    };
    for (format, _) in formats() {
        for object in objects(format.format(), plan.clone()) {
            let decoded = Decoded::from_bytes(format.as_ref(), &object.body, 128).unwrap();
            assert_eq!(
                decoded.counts.rows, object.facts.good_lines,
                "{}",
                object.key
            );
            assert_eq!(
                decoded.counts.rejects, object.facts.bad_lines,
                "{}",
                object.key
            );
            if let Some(column) = format.info().bytes_sent_column {
                let sent: i64 = decoded
                    .batches
                    .iter()
                    .map(|b| {
                        let a = b
                            .column_by_name(column)
                            .unwrap()
                            .as_primitive::<Int64Type>();
                        a.iter().flatten().sum::<i64>()
                    })
                    .sum();
                assert_eq!(sent, object.facts.sent_bytes, "{}", object.key);
            }
        }
    }
}
