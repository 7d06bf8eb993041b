//! ALB connection log samples: gzip `conn_log.…` objects beside the access logs, with mutual
//! TLS connections verified or refused, plain-HTTP listeners and trace ids.

use std::fmt::Write;

use crate::sample::load_balancer::LoadBalancerLog;
use crate::sample::{SampleObject, SamplePlan, SampleRng};
use crate::time::format_iso8601_micros;

const HEX: &[u8] = b"0123456789abcdef";
const SUBJECTS: [&str; 3] = [
    "CN=client.example.com,O=Example Corp,L=Seattle,ST=Washington,C=US",
    "CN=device-42,OU=IoT Fleet,O=Example Corp,C=DE",
    "CN=amazondomains.com,O=endEntity,L=Seattle,ST=Washington,C=US",
];

/// Connection log deliveries: gzip `conn_log.<account>_elasticloadbalancing_…_app.<lb>…` objects.
pub(crate) fn objects(plan: SamplePlan) -> impl Iterator<Item = SampleObject> {
    LoadBalancerLog {
        file_prefix: "conn_log.",
        load_balancer: "app.my-loadbalancer.50dc6c495c0c9188",
        extension: "log.gz",
        compressed: true,
        status_field: 2,
        cut_at: 40,
        quoted: true,
        line,
    }
    .objects(plan)
}

/// Appends one good 12-field line; connection logs count no bytes, so it returns 0.
fn line(rng: &mut SampleRng, time: i64, out: &mut String) -> i64 {
    format_iso8601_micros(time, out);
    let _ = write!(out, " {} {} ", rng.public_ipv4(), 1024 + rng.below(64_000));
    if rng.chance(200) {
        out.push_str("80 - - - \"-\" - - -");
    } else {
        let subject = *rng.pick(&SUBJECTS);
        let latency = if rng.chance(100) {
            "-".to_owned()
        } else {
            format!("{}.{:03}", rng.below(5), rng.below(1000))
        };
        let status = *rng.pick(&[
            "Success",
            "Success",
            "Success",
            "Failed:ClientCertUntrusted",
        ]);
        let mut serial = String::new();
        rng.push_text(HEX, 16, &mut serial);
        let _ = write!(
            out,
            "443 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 {latency} \"{subject}\" NotBefore=2023-09-21T22:43:21Z;NotAfter=2026-06-17T22:43:21Z {} {status}",
            serial.to_uppercase()
        );
    }
    out.push_str(" TID_");
    rng.push_text(HEX, 32, out);
    0
}
