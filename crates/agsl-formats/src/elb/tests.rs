//! Per-field Classic ELB tests, one named case per oddity. Expected values from FORMATS.md
//! section 2 and the AWS documentation examples.

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, RecordBatch};

use crate::test_support::{float64, int32, int64, text};
use crate::{Decoded, ElbFormat, LogFormat, Route};

const DOC_HTTP: &str = r#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -"#;

fn parse(line: &str) -> RecordBatch {
    let decoded = Decoded::from_bytes(&ElbFormat, line.as_bytes(), 64).expect("decodes");
    assert!(
        decoded.rejects.is_empty(),
        "rejected: {:?}",
        decoded.rejects
    );
    assert_eq!(decoded.rows(), 1);
    decoded.batches.into_iter().next().expect("one batch")
}

fn reject_reason(line: &str) -> String {
    let decoded = Decoded::from_bytes(&ElbFormat, line.as_bytes(), 64).expect("decodes");
    assert_eq!((decoded.rows(), decoded.rejects.len()), (0, 1), "{line}");
    assert_eq!(decoded.rejects[0].raw, line.as_bytes());
    decoded.rejects[0].reason.clone()
}

#[test]
fn schema_uses_aws_backend_names() {
    let schema = ElbFormat.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names.len(), 19);
    assert_eq!(&names[4..6], ["backend_ip", "backend_port"]);
    assert_eq!(names[18], "ssl_protocol");
}

#[test]
fn documentation_http_line() {
    let b = parse(DOC_HTTP);
    let time = b
        .column_by_name("time")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    assert_eq!(time.value(0), 1_431_560_383_945_958);
    assert_eq!(text(&b, "elb").as_deref(), Some("my-loadbalancer"));
    assert_eq!(text(&b, "client_ip").as_deref(), Some("192.168.131.39"));
    assert_eq!(int32(&b, "client_port"), Some(2817));
    assert_eq!(text(&b, "backend_ip").as_deref(), Some("10.0.0.1"));
    assert_eq!(int32(&b, "backend_port"), Some(80));
    assert_eq!(float64(&b, "request_processing_time"), Some(0.000073));
    assert_eq!(float64(&b, "backend_processing_time"), Some(0.001048));
    assert_eq!(float64(&b, "response_processing_time"), Some(0.000057));
    assert_eq!(int32(&b, "elb_status_code"), Some(200));
    assert_eq!(int32(&b, "backend_status_code"), Some(200));
    assert_eq!(int64(&b, "received_bytes"), Some(0));
    assert_eq!(int64(&b, "sent_bytes"), Some(29));
    assert_eq!(text(&b, "request_verb").as_deref(), Some("GET"));
    assert_eq!(
        text(&b, "request_url").as_deref(),
        Some("http://www.example.com:80/")
    );
    assert_eq!(text(&b, "request_proto").as_deref(), Some("HTTP/1.1"));
    assert_eq!(text(&b, "user_agent").as_deref(), Some("curl/7.38.0"));
    assert_eq!(text(&b, "ssl_cipher"), None);
    assert_eq!(text(&b, "ssl_protocol"), None);
}

#[test]
fn tcp_listener_line_is_mostly_null() {
    let b = parse(
        r#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.001069 0.000028 0.000041 - - 82 305 "- - - " "-" - -"#,
    );
    for column in [
        "elb_status_code",
        "backend_status_code",
        "request_verb",
        "request_url",
        "request_proto",
        "user_agent",
    ] {
        assert!(b.column_by_name(column).unwrap().is_null(0), "{column}");
    }
    assert_eq!(int64(&b, "received_bytes"), Some(82));
}

#[test]
fn no_backend_keeps_minus_one_sentinels() {
    let b = parse(
        r#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 - -1 -1 -1 503 - 0 0 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -"#,
    );
    assert_eq!(text(&b, "backend_ip"), None);
    assert_eq!(int32(&b, "backend_port"), None);
    assert_eq!(float64(&b, "backend_processing_time"), Some(-1.0));
    assert_eq!(int32(&b, "elb_status_code"), Some(503));
    assert_eq!(int32(&b, "backend_status_code"), None);
}

#[test]
fn https_line_with_tls_fields() {
    let b = parse(
        r#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000086 0.001048 0.001337 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.38.0 (#56-0ef1d4a5)" DHE-RSA-AES128-SHA TLSv1.2"#,
    );
    assert_eq!(
        text(&b, "user_agent").as_deref(),
        Some("curl/7.38.0 (#56-0ef1d4a5)")
    );
    assert_eq!(
        text(&b, "ssl_cipher").as_deref(),
        Some("DHE-RSA-AES128-SHA")
    );
    assert_eq!(text(&b, "ssl_protocol").as_deref(), Some("TLSv1.2"));
}

#[test]
fn pre_2015_line_ends_after_the_request() {
    let b = parse(
        r#"2015-04-10T08:11:09.865823Z us-west-1-production-media 49.150.87.133:55128 - -1 -1 -1 408 - 1294336 0 "PUT https://media.example.com:443/videos/F4_M HTTP/1.1""#,
    );
    assert_eq!(int64(&b, "received_bytes"), Some(1_294_336));
    assert_eq!(text(&b, "request_verb").as_deref(), Some("PUT"));
    assert_eq!(text(&b, "user_agent"), None);
    assert_eq!(text(&b, "ssl_protocol"), None);
}

#[test]
fn ipv6_client_unicode_and_escaped_quotes() {
    let b = parse(
        r#"2015-05-13T23:39:43.945958Z lb 2001:db8::7:443 [fd00::1]:8080 0.1 0.2 0.3 200 200 1 2 "GET http://h/ü a HTTP/1.1" "Agent \"q\" 日本" - -"#,
    );
    assert_eq!(text(&b, "client_ip").as_deref(), Some("2001:db8::7"));
    assert_eq!(int32(&b, "client_port"), Some(443));
    assert_eq!(text(&b, "backend_ip").as_deref(), Some("fd00::1"));
    assert_eq!(text(&b, "request_url").as_deref(), Some("http://h/ü a"));
    assert_eq!(text(&b, "user_agent").as_deref(), Some(r#"Agent "q" 日本"#));
}

#[test]
fn extra_trailing_fields_are_ignored() {
    let b = parse(&format!("{DOC_HTTP} future-field another"));
    assert_eq!(int64(&b, "sent_bytes"), Some(29));
    // A quoted token past the user agent is what a quote inside it leaves behind.
    let reason = reject_reason(&format!("{DOC_HTTP} future-field \"another one\""));
    assert!(reason.contains("field 17 is quoted"), "{reason}");
}

#[test]
fn rejects_name_the_problem() {
    assert!(
        reject_reason("2015-05-13T23:39:43.945958Z my-loadbalancer 1.2.3.4:1 - -1 -1 -1 408 - 0 0")
            .contains("only 11 fields")
    );
    assert!(
        reject_reason(&DOC_HTTP.replace(" 200 200 ", " 200 2x0 "))
            .contains("`backend_status_code`")
    );
    assert!(
        reject_reason(&DOC_HTTP.replace("0.000073", "fast")).contains("`request_processing_time`")
    );
    assert!(reject_reason(&DOC_HTTP.replace("10.0.0.1:80", "10.0.0.1")).contains("`backend`"));
    assert!(
        reject_reason(&DOC_HTTP.replace("2015-05-13T23:39:43.945958Z", "yesterday"))
            .contains("`time`")
    );
    let nlb = "tls 1.0 2018-12-20T02:59:40 net/my-network-loadbalancer/c6e77e28c25b2234 g3d4b5e8bb8464cd 89.160.20.112:51341 172.100.100.185:443 5 2 98 246 - arn - ECDHE-RSA-AES128-SHA tlsv12 - host - - - 2018-12-20T02:59:30";
    assert!(reject_reason(nlb).contains("`time`"));
}

#[test]
fn routes_classic_files_only() {
    let dir = "AWSLogs/123456789012/elasticloadbalancing/us-west-2/2014/02/15/";
    let route = |file: &str| ElbFormat.route(&format!("{dir}{file}"));
    assert_eq!(
        route(
            "123456789012_elasticloadbalancing_us-west-2_my-loadbalancer_20140215T2340Z_172.160.001.192_20sg8hgm.log"
        ),
        Route::Convert
    );
    assert_eq!(
        route(
            "123456789012_elasticloadbalancing_us-west-2_app.my-lb.1234_20140215T2340Z_172.160.001.192_20sg8hgm.log.gz"
        ),
        Route::Skip("ALB access log")
    );
    assert_eq!(
        route(
            "123456789012_elasticloadbalancing_us-west-2_net.my-nlb.1234_20140215T2340Z_172.160.001.192_20sg8hgm.log.gz"
        ),
        Route::Skip("NLB access log")
    );
    assert_eq!(
        ElbFormat.region_from_key(&format!("{dir}x.log")).as_deref(),
        Some("us-west-2")
    );
}
