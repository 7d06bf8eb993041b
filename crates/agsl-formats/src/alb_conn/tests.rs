use crate::test_support::{float64, int32, micros, text};
use crate::{AlbConnFormat, Decoded, LogFormat, Route};

const VERIFIED: &str = r#"2024-10-04T17:05:15.514108Z 192.168.131.39 36280 443 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 4.036 "CN=amazondomains.com,O=endEntity,L=Seattle,ST=Washington,C=US" NotBefore=2023-09-21T22:43:21Z;NotAfter=2026-06-17T22:43:21Z FEF257372D5C14D4 Success TID_1c71a68d70587445ad5127ff8b2687d7"#;

fn decode(text: &str) -> Decoded {
    let d = Decoded::from_bytes(&AlbConnFormat, text.as_bytes(), 16).unwrap();
    assert_eq!(d.counts.rows + d.counts.rejects, d.counts.lines);
    d
}

#[test]
fn every_field_of_a_verified_connection() {
    let d = decode(VERIFIED);
    assert_eq!((d.counts.rows, d.counts.rejects), (1, 0));
    let b = &d.batches[0];
    assert_eq!(micros(b, "time"), Some(1_728_061_515_514_108));
    assert_eq!(text(b, "client_ip").as_deref(), Some("192.168.131.39"));
    assert_eq!(int32(b, "client_port"), Some(36280));
    assert_eq!(int32(b, "listener_port"), Some(443));
    assert_eq!(text(b, "tls_protocol").as_deref(), Some("TLSv1.2"));
    assert_eq!(
        text(b, "tls_cipher").as_deref(),
        Some("ECDHE-RSA-AES128-GCM-SHA256")
    );
    assert_eq!(float64(b, "tls_handshake_latency"), Some(4.036));
    assert_eq!(
        text(b, "leaf_client_cert_subject").as_deref(),
        Some("CN=amazondomains.com,O=endEntity,L=Seattle,ST=Washington,C=US")
    );
    assert_eq!(
        micros(b, "leaf_client_cert_not_before"),
        Some(1_695_336_201_000_000)
    );
    assert_eq!(
        micros(b, "leaf_client_cert_not_after"),
        Some(1_781_736_201_000_000)
    );
    assert_eq!(
        text(b, "leaf_client_cert_serial_number").as_deref(),
        Some("FEF257372D5C14D4")
    );
    assert_eq!(text(b, "tls_verify_status").as_deref(), Some("Success"));
    assert_eq!(
        text(b, "conn_trace_id").as_deref(),
        Some("TID_1c71a68d70587445ad5127ff8b2687d7")
    );
}

#[test]
fn plain_old_odd_and_broken_lines() {
    let plain =
        r#"2024-11-29T13:45:24.599544Z 172.31.43.26 58206 80 - - - "-" - - - TID_16132ed0b4112148"#;
    let old = VERIFIED.replace(" TID_1c71a68d70587445ad5127ff8b2687d7", "");
    let odd_validity = VERIFIED.replace("NotBefore=2023-09-21T22:43:21Z;", "Valid=");
    let control = "Enable AccessLog for ELB: app/elb-name/abc123456 at 2025-05-30T16:47:00.781Z";
    let shifted = VERIFIED.replace("4.036 ", "4.036 \"x\" ");
    let d = decode(&format!(
        "{plain}\n{old}\n{odd_validity}\n{control}\n{shifted}\n"
    ));
    assert_eq!((d.counts.rows, d.counts.rejects), (3, 2), "{:?}", d.rejects);
    let b = &d.batches[0];
    assert_eq!(
        crate::test_support::text_at(b, "leaf_client_cert_subject", 0),
        None
    );
    assert_eq!(crate::test_support::text_at(b, "conn_trace_id", 1), None);
    assert_eq!(
        crate::test_support::micros_at(b, "leaf_client_cert_not_before", 2),
        None
    );
    assert!(crate::test_support::text_at(b, "leaf_client_cert_validity", 2).is_some());
}

#[test]
fn keys_and_first_lines() {
    let documented = "AWSLogs/123456789012/elasticloadbalancing/eu-central-1/2024/02/07/conn_log.123456789012_elasticloadbalancing_eu-central-1_app.my-lb.5ede558f4b0e97a9_20240207T0955Z_10.43.1.2_b38hdhc6.log.gz";
    let observed = documented.replace("conn_log.", "conn_log_");
    for key in [documented, observed.as_str()] {
        assert!(AlbConnFormat.claims_key(key));
        assert_eq!(AlbConnFormat.route(key), Route::Convert);
        assert_eq!(
            crate::detect::detect_from_key(key),
            crate::detect::KeyDetection::Format(crate::Format::AlbConn),
            "{key}"
        );
    }
    assert_eq!(
        AlbConnFormat.region_from_key(documented).as_deref(),
        Some("eu-central-1")
    );
    assert!(AlbConnFormat.claims_first_line(VERIFIED));
    let elb = "2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80";
    assert!(!AlbConnFormat.claims_first_line(elb));
}
