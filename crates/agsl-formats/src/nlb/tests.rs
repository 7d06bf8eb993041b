use crate::test_support::{int32, int64, micros, text};
use crate::{Decoded, LogFormat, NlbFormat, Route};

const ALPN: &str = r#"tls 2.0 2020-04-01T08:51:42 net/my-network-loadbalancer/c6e77e28c25b2234 g3d4b5e8bb8464cd 72.21.218.154:51341 172.100.100.185:443 5 2 98 246 - arn:aws:acm:us-east-2:671290407336:certificate/2a108f19-aded-46b0-8493-c63eb1ef4a99 - ECDHE-RSA-AES128-SHA tlsv12 - my-network-loadbalancer-c6e77e28c25b2234.elb.us-east-2.amazonaws.com h2 h2 "h2","http/1.1" 2020-04-01T08:51:20"#;

fn decode(text: &str) -> Decoded {
    let d = Decoded::from_bytes(&NlbFormat, text.as_bytes(), 16).unwrap();
    assert_eq!(d.counts.rows + d.counts.rejects, d.counts.lines);
    d
}

#[test]
fn every_field_of_the_documented_alpn_example() {
    let d = decode(ALPN);
    assert_eq!((d.counts.rows, d.counts.rejects), (1, 0));
    let b = &d.batches[0];
    assert_eq!(text(b, "type").as_deref(), Some("tls"));
    assert_eq!(text(b, "version").as_deref(), Some("2.0"));
    assert_eq!(micros(b, "time"), Some(1_585_731_102_000_000));
    assert_eq!(
        text(b, "elb").as_deref(),
        Some("net/my-network-loadbalancer/c6e77e28c25b2234")
    );
    assert_eq!(text(b, "listener").as_deref(), Some("g3d4b5e8bb8464cd"));
    assert_eq!(text(b, "client_ip").as_deref(), Some("72.21.218.154"));
    assert_eq!(int32(b, "client_port"), Some(51341));
    assert_eq!(
        text(b, "destination_ip").as_deref(),
        Some("172.100.100.185")
    );
    assert_eq!(int32(b, "destination_port"), Some(443));
    assert_eq!(int64(b, "connection_time"), Some(5));
    assert_eq!(int64(b, "tls_handshake_time"), Some(2));
    assert_eq!(int64(b, "received_bytes"), Some(98));
    assert_eq!(int64(b, "sent_bytes"), Some(246));
    assert_eq!(int32(b, "incoming_tls_alert"), None);
    assert!(
        text(b, "chosen_cert_arn")
            .unwrap()
            .starts_with("arn:aws:acm:")
    );
    assert_eq!(text(b, "chosen_cert_serial"), None);
    assert_eq!(
        text(b, "tls_cipher").as_deref(),
        Some("ECDHE-RSA-AES128-SHA")
    );
    assert_eq!(text(b, "tls_protocol_version").as_deref(), Some("tlsv12"));
    assert_eq!(text(b, "tls_named_group"), None);
    assert!(
        text(b, "domain_name")
            .unwrap()
            .ends_with(".elb.us-east-2.amazonaws.com")
    );
    assert_eq!(text(b, "alpn_fe_protocol").as_deref(), Some("h2"));
    assert_eq!(text(b, "alpn_be_protocol").as_deref(), Some("h2"));
    assert_eq!(
        text(b, "alpn_client_preference_list").as_deref(),
        Some(r#""h2","http/1.1""#)
    );
    assert_eq!(
        micros(b, "tls_connection_creation_time"),
        Some(1_585_731_080_000_000)
    );
}

#[test]
fn short_shifted_and_failed_lines() {
    // A `1.0` line ends at `domain_name`; a failed handshake has `-` in numbers.
    let old = "tls 1.0 2018-12-20T02:59:40 net/my-network-loadbalancer/c6e77e28c25b2234 g3d4b5e8bb8464cd 72.21.218.154:51341 172.100.100.185:443 5 2 98 246 - arn:aws:acm:us-east-2:671290407336:certificate/2a108f19 - ECDHE-RSA-AES128-SHA tlsv12 - my-nlb.elb.us-east-2.amazonaws.com";
    let failed = "tls 2.0 2024-10-25T17:33:59 net/XXXXX-XXXX-XXX-us-east-2/c88927aafc9abafe 52878890095341b5 192.168.131.39:2817 10.0.0.1:80 0 - 0 0 - - - - - - - - - - 2024-10-25T17:33:59";
    let d = decode(&format!("{old}\n{failed}\ntls 2.0 2018-12-20T02:59:40\n"));
    assert_eq!((d.counts.rows, d.counts.rejects), (2, 1));
    assert!(
        d.rejects[0].reason.contains("only 3 fields"),
        "{}",
        d.rejects[0].reason
    );
    // A space inside the SNI of a 22-field line shifts the time out of field 22: rejected.
    let shifted = ALPN.replace(
        "my-network-loadbalancer-c6e77e28c25b2234.elb",
        "my network.elb",
    );
    assert_eq!(decode(&shifted).counts.rejects, 1);
    let no_alpn = ALPN.replace(r#"h2 h2 "h2","http/1.1""#, "- - -");
    assert_eq!(decode(&no_alpn).counts.rows, 1);
    let shifted = no_alpn.replace(
        "my-network-loadbalancer-c6e77e28c25b2234.elb",
        "my network.elb",
    );
    assert_eq!(decode(&shifted).counts.rejects, 1);
}

#[test]
fn keys_and_first_lines() {
    let key = "AWSLogs/123456789012/elasticloadbalancing/us-east-2/2020/04/01/123456789012_elasticloadbalancing_us-east-2_net.my-nlb.c6e77e28c25b2234_20200401T0850Z_a1b2c3d4.log.gz";
    assert!(NlbFormat.claims_key(key));
    assert_eq!(NlbFormat.route(key), Route::Convert);
    assert_eq!(NlbFormat.region_from_key(key).as_deref(), Some("us-east-2"));
    let alb = key.replace("_net.", "_app.");
    assert_eq!(NlbFormat.route(&alb), Route::Skip("ALB access log"));
    assert!(NlbFormat.claims_first_line(ALPN));
    assert!(!NlbFormat.claims_first_line("http 2018-07-02T22:23:00.186641Z app/lb/1"));
    assert!(!NlbFormat.claims_first_line("tls x 2018-07-02T22:23:00"));
}
