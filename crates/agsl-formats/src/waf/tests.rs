use arrow_array::Array;
use arrow_array::cast::AsArray;

use crate::test_support::{int32, int64, micros, text, text_at};
use crate::{Decoded, LogFormat, Route, WafFormat};

/// Line 1 of the elastic fixture (FORMATS.md 8.3): a terminating SQLi rule.
const ELASTIC: &str = r#"{"timestamp":1576280412771,"formatVersion":1,"webaclId":"arn:aws:wafv2:ap-southeast-2:EXAMPLE12345:regional/webacl/STMTest/1EXAMPLE-2ARN-3ARN-4ARN-123456EXAMPLE","terminatingRuleId":"STMTest_SQLi_XSS","terminatingRuleType":"REGULAR","action":"BLOCK","terminatingRuleMatchDetails":[{"conditionType":"SQL_INJECTION","location":"HEADER","matchedData":["10","AND","1"]}],"httpSourceName":"-","httpSourceId":"-","ruleGroupList":[],"rateBasedRuleList":[],"nonTerminatingMatchingRules":[],"httpRequest":{"clientIp":"89.160.20.156","country":"AU","headers":[{"name":"Host","value":"localhost:1989"},{"name":"User-Agent","value":"curl/7.61.1"},{"name":"Accept","value":"*/*"},{"name":"x-stm-test","value":"10 AND 1=1"}],"uri":"/foo","args":"","httpVersion":"HTTP/1.1","httpMethod":"GET","requestId":"rid"},"labels":[{"name":"value"}]}"#;

fn decode(text: &str) -> Decoded {
    let d = Decoded::from_bytes(&WafFormat, text.as_bytes(), 16).unwrap();
    assert_eq!(d.counts.rows + d.counts.rejects, d.counts.lines);
    d
}

fn labels(d: &Decoded, column: &str, row: usize) -> Option<Vec<String>> {
    let list = d.batches[0]
        .column_by_name(column)
        .unwrap()
        .as_list::<i32>();
    list.is_valid(row).then(|| {
        let values = list.value(row);
        let values = values.as_string::<i32>();
        (0..values.len())
            .map(|i| values.value(i).to_owned())
            .collect()
    })
}

#[test]
fn every_field_of_the_documented_example() {
    let d = decode(ELASTIC);
    assert_eq!((d.counts.rows, d.counts.rejects), (1, 0));
    let b = &d.batches[0];
    assert_eq!(micros(b, "time"), Some(1_576_280_412_771_000));
    assert_eq!(int32(b, "format_version"), Some(1));
    assert_eq!(text(b, "webacl_name").as_deref(), Some("STMTest"));
    assert_eq!(text(b, "webacl_scope").as_deref(), Some("regional"));
    assert_eq!(
        text(b, "terminating_rule_id").as_deref(),
        Some("STMTest_SQLi_XSS")
    );
    assert_eq!(text(b, "terminating_rule_type").as_deref(), Some("REGULAR"));
    assert_eq!(text(b, "action").as_deref(), Some("BLOCK"));
    assert_eq!(
        text(b, "json_terminating_rule_match_details").as_deref(),
        Some(
            r#"[{"conditionType":"SQL_INJECTION","location":"HEADER","matchedData":["10","AND","1"]}]"#
        )
    );
    assert_eq!(text(b, "http_source_name"), None);
    assert_eq!(text(b, "http_source_id"), None);
    assert_eq!(text(b, "json_rule_group_list").as_deref(), Some("[]"));
    assert_eq!(text(b, "json_request_headers_inserted"), None);
    assert_eq!(text(b, "client_ip").as_deref(), Some("89.160.20.156"));
    assert_eq!(text(b, "country").as_deref(), Some("AU"));
    assert_eq!(text(b, "host").as_deref(), Some("localhost:1989"));
    assert_eq!(text(b, "user_agent").as_deref(), Some("curl/7.61.1"));
    assert_eq!(text(b, "uri").as_deref(), Some("/foo"));
    assert_eq!(text(b, "args").as_deref(), Some(""));
    assert_eq!(text(b, "http_version").as_deref(), Some("HTTP/1.1"));
    assert_eq!(text(b, "http_method").as_deref(), Some("GET"));
    assert_eq!(text(b, "request_id").as_deref(), Some("rid"));
    assert!(
        text(b, "json_headers")
            .unwrap()
            .contains(r#"{"name":"x-stm-test","value":"10 AND 1=1"}"#)
    );
    assert_eq!(labels(&d, "labels", 0), Some(vec!["value".to_owned()]));
    assert_eq!(labels(&d, "oversize_fields", 0), None);
    assert_eq!(text(b, "json_other"), None);
}

#[test]
fn newer_and_unknown_keys() {
    let line = r#"{"timestamp":1748208718574,"webaclId":"arn:aws:wafv2:us-east-1:123456789101:global/webacl/otel/e3","action":"ALLOW","responseCodeSent":403,"httpRequest":{"clientIp":"178.84.204.171","country":"-","headers":[{"name":"host","value":"a.example"},{"name":"myHeader","myValue":"x"}],"uri":"","fragment":"","scheme":"https","host":"b.example","clientAsn":"64496","newKey":{"x" : 1}},"labels":[],"oversizeFields":["REQUEST_BODY"],"requestBodySize":12,"ja3Fingerprint":"6f7889b9fb1a62a9577e685c1fcfa919","challengeResponses":{"responseCode":0},"futureKey":"null"}"#;
    let d = decode(line);
    let b = &d.batches[0];
    assert_eq!(text(b, "webacl_name").as_deref(), Some("otel"));
    assert_eq!(text(b, "webacl_scope").as_deref(), Some("global"));
    assert_eq!(int32(b, "response_code_sent"), Some(403));
    assert_eq!(text(b, "country"), None);
    assert_eq!(
        text(b, "host").as_deref(),
        Some("b.example"),
        "httpRequest.host wins"
    );
    assert_eq!(text(b, "user_agent"), None);
    assert_eq!(text(b, "uri").as_deref(), Some(""));
    assert_eq!(text(b, "scheme").as_deref(), Some("https"));
    assert_eq!(int64(b, "client_asn"), Some(64496));
    assert_eq!(int64(b, "request_body_size"), Some(12));
    assert_eq!(labels(&d, "labels", 0), Some(vec![]));
    assert_eq!(
        labels(&d, "oversize_fields", 0),
        Some(vec!["REQUEST_BODY".to_owned()])
    );
    assert_eq!(
        text(b, "json_challenge_response").as_deref(),
        Some(r#"{"responseCode":0}"#)
    );
    assert_eq!(
        text(b, "json_other").as_deref(),
        Some(r#"{"futureKey":"null","httpRequest":{"newKey":{"x":1}}}"#)
    );
}

#[test]
fn records_pretty_printed_concatenated_or_broken() {
    let pretty = ELASTIC.replace(",\"", ",\n    \"");
    let bad_time = ELASTIC.replace("1576280412771", "\"soon\"");
    let text = format!(
        "{ELASTIC}{ELASTIC}\n\n{pretty}\n{{\"timestamp\":1,\"uri\":\"cut\n{ELASTIC}\n[1,2]\n{bad_time}\n{ELASTIC}"
    );
    let d = decode(&text);
    // Two concatenated, one pretty-printed, the good ones after a broken line, and the last.
    assert_eq!(d.counts.rows, 5, "{:?}", d.rejects);
    assert_eq!(d.counts.rejects, 3);
    assert_eq!(d.counts.skipped_lines, 1);
    let lines: Vec<u64> = d.rejects.iter().map(|r| r.line).collect();
    // Line 1 holds two records, line 2 is blank, the pretty record follows.
    let cut = 3 + pretty.lines().count() as u64;
    assert_eq!(lines, [cut, cut + 2, cut + 3]);
    assert!(
        d.rejects[0]
            .raw
            .starts_with(b"{\"timestamp\":1,\"uri\":\"cut")
    );
    assert!(
        d.rejects[2].reason.contains("column `time`"),
        "{}",
        d.rejects[2].reason
    );
    assert_eq!(
        text_at(&d.batches[0], "request_id", 2).as_deref(),
        Some("rid")
    );
}

#[test]
fn an_unclosed_record_is_one_reject_and_never_swallows_the_next_records() {
    // Open at the end of the object.
    let d = decode(&format!(
        "{ELASTIC}\n{{\"timestamp\":1,\n  \"action\":\"BLOCK\""
    ));
    assert_eq!((d.counts.rows, d.counts.rejects), (1, 1));
    assert_eq!(d.rejects[0].line, 2);
    assert!(
        d.rejects[0].reason.contains("not closed"),
        "{}",
        d.rejects[0].reason
    );
    // Open before the next record, which starts at column 0.
    let d = decode(&format!("{{\n{ELASTIC}\n{ELASTIC}\n"));
    assert_eq!((d.counts.rows, d.counts.rejects), (2, 1));
    assert_eq!(
        (d.rejects[0].line, d.rejects[0].raw.as_slice()),
        (1, &b"{"[..])
    );
    // Two hundred thousand lines of a record never closed: read once, one reject.
    let open = format!("{{\n{}", "  \"a\":1,\n".repeat(200_000));
    let d = decode(&format!("{open}{ELASTIC}"));
    assert_eq!((d.counts.rows, d.counts.rejects), (1, 1));
}

#[test]
fn keys_and_regions() {
    let key = "AWSLogs/123456789012/WAFLogs/us-east-1/TEST-WEBACL/2021/10/28/19/50/123456789012_waflogs_us-east-1_TEST-WEBACL_20211028T1950Z_e0ca43b5.log.gz";
    assert!(WafFormat.claims_key(key));
    assert_eq!(WafFormat.route(key), Route::Convert);
    assert_eq!(WafFormat.region_from_key(key).as_deref(), Some("us-east-1"));
    let global = key.replace("/us-east-1/", "/cloudfront/");
    assert_eq!(
        WafFormat.region_from_key(&global).as_deref(),
        Some("cloudfront")
    );
    assert!(!WafFormat.claims_key("AWSLogs/1/CloudTrail/us-east-1/2024/03/07/f.json.gz"));
    // Firehose names the object after its stream, which must begin with `aws-waf-logs-`; the
    // key names no region, so rows take their web ACL's (`row_regions`).
    let firehose = "waf/2024/03/07/23/aws-waf-logs-shop-1-2024-03-07-23-05-00-0b1e2c3d";
    assert_eq!(WafFormat.route(firehose), Route::Convert);
    assert_eq!(WafFormat.region_from_key(firehose), None);
    let d = decode(&format!(
        "{ELASTIC}\n{}",
        ELASTIC.replace(":regional/", ":global/")
    ));
    let regions = WafFormat
        .row_regions(&d.batches[0])
        .expect("WAF names regions");
    assert_eq!(regions.value(0), "ap-southeast-2");
    assert_eq!(regions.value(1), "cloudfront");
    assert!(WafFormat.claims_first_line(ELASTIC));
    assert!(!WafFormat.claims_first_line(r#"{"Records":[{"eventVersion":"1.08"}]}"#));
}

#[test]
fn a_line_longer_than_the_record_limit_is_one_reject_and_memory_stays_bounded() {
    let long = format!("{{\"timestamp\":1,\"uri\":\"{}\"}}", "a".repeat(9 << 20));
    let d = decode(&format!("{long}\n{ELASTIC}\n"));
    assert_eq!((d.counts.rows, d.counts.rejects), (1, 1));
    assert_eq!(d.rejects[0].line, 1);
    assert_eq!(d.rejects[0].raw.len(), crate::MAX_LINE_BYTES);
    assert!(
        d.rejects[0].reason.contains("record limit"),
        "{}",
        d.rejects[0].reason
    );
}

#[test]
fn a_line_with_invalid_utf8_is_one_reject_between_good_records() {
    let mut text = format!("{ELASTIC}\n").into_bytes();
    text.extend_from_slice(b"{\"timestamp\":1,\"uri\":\"\xff\"}\n");
    text.extend_from_slice(ELASTIC.as_bytes());
    let d = Decoded::from_bytes(&WafFormat, &text, 16).unwrap();
    assert_eq!((d.counts.rows, d.counts.rejects, d.counts.lines), (2, 1, 3));
    assert_eq!(d.rejects[0].line, 2);
    assert!(
        d.rejects[0].reason.contains("UTF-8"),
        "{}",
        d.rejects[0].reason
    );
}
