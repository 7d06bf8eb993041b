//! NLB access log samples: gzip `.log.gz` objects named `..._net.<lb>.<id>_...`, with TLS 1.2
//! and 1.3 connections, ALPN negotiated or not, failed handshakes and TLS alerts.

use std::fmt::Write;

use crate::sample::load_balancer::LoadBalancerLog;
use crate::sample::{SampleObject, SamplePlan, SampleRng};
use crate::time::civil_from_days;

const CERT: &str =
    "arn:aws:acm:us-east-1:123456789012:certificate/2a108f19-aded-46b0-8493-c63eb1ef4a99";
const CIPHERS: [(&str, &str); 3] = [
    ("ECDHE-RSA-AES128-GCM-SHA256", "tlsv12"),
    ("TLS_AES_128_GCM_SHA256", "tlsv13"),
    ("ECDHE-RSA-AES256-GCM-SHA384", "tlsv12"),
];

/// NLB deliveries: gzip `.log.gz` objects named `..._net.<lb>.<id>_...`.
pub(crate) fn objects(plan: SamplePlan) -> impl Iterator<Item = SampleObject> {
    LoadBalancerLog {
        file_prefix: "",
        load_balancer: "net.my-nlb.c6e77e28c25b2234",
        extension: "log.gz",
        compressed: true,
        status_field: 7,
        cut_at: 90,
        quoted: false,
        line,
    }
    .objects(plan)
}

/// `2018-12-20T02:59:40`: NLB's zone-less, whole-second time.
fn push_time(micros: i64, out: &mut String) {
    let seconds = micros.div_euclid(1_000_000);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let in_day = seconds.rem_euclid(86_400);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    );
}

/// Appends one good 22-field line and returns its `sent_bytes`.
fn line(rng: &mut SampleRng, time: i64, out: &mut String) -> i64 {
    out.push_str("tls 2.0 ");
    push_time(time, out);
    let _ = write!(
        out,
        " net/my-nlb/c6e77e28c25b2234 g3d4b5e8bb8464cd {}:{} 10.0.1.23:443 ",
        rng.public_ipv4(),
        1024 + rng.below(64_000)
    );
    let connection_ms = rng.below(120_000);
    let sent = if rng.chance(50) {
        // A handshake that never completed: no TLS details.
        let _ = write!(out, "{connection_ms} - 0 0 - - - - - - - - - - ");
        0
    } else {
        let received = 100 + rng.below(50_000) as i64;
        let sent = 200 + rng.below(2_000_000) as i64;
        let (cipher, protocol) = *rng.pick(&CIPHERS);
        let alert = if rng.chance(20) { "40" } else { "-" };
        let (fe, be, list) = match rng.below(3) {
            0 => ("-", "-", "-"),
            1 => ("h2", "h2", r#""h2","http/1.1""#),
            _ => ("http/1.1", "http/1.1", r#""http/1.1""#),
        };
        let _ = write!(
            out,
            "{connection_ms} {} {received} {sent} {alert} {CERT} - {cipher} {protocol} - my-nlb-c6e77e28c25b2234.elb.us-east-1.amazonaws.com {fe} {be} {list} ",
            1 + rng.below(40)
        );
        sent
    };
    push_time(time - connection_ms as i64 * 1000, out);
    sent
}
