//! Classic ELB access log samples: plain-text objects with HTTP, HTTPS and TCP/SSL listener
//! lines, requests that found no healthy backend, and user agents with spaces.

use std::fmt::Write;

use crate::sample::load_balancer::LoadBalancerLog;
use crate::sample::{SampleObject, SamplePlan, SampleRng};
use crate::time::format_iso8601_micros;

const USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "curl/7.38.0",
    "ELB-HealthChecker/1.0",
    "Apache-HttpClient/4.5.13 (Java/11.0.21)",
];

/// Classic ELB deliveries: plain `.log` objects named `..._<lb-name>_...`.
pub(crate) fn objects(plan: SamplePlan) -> impl Iterator<Item = SampleObject> {
    LoadBalancerLog {
        file_prefix: "",
        load_balancer: "my-classic-lb",
        extension: "log",
        compressed: false,
        status_field: 7,
        cut_at: 90,
        quoted: true,
        line,
    }
    .objects(plan)
}

/// Appends one good 15-field line and returns its `sent_bytes`.
fn line(rng: &mut SampleRng, time: i64, out: &mut String) -> i64 {
    format_iso8601_micros(time, out);
    let _ = write!(
        out,
        " my-classic-lb {}:{} ",
        rng.public_ipv4(),
        1024 + rng.below(64_000)
    );
    let listener = *rng.pick(&["http", "http", "http", "https", "https", "tcp", "ssl"]);
    let healthy = !rng.chance(30);
    if healthy {
        let _ = write!(
            out,
            "10.0.{}.{}:80 0.{:06} 0.{:06} 0.{:06} ",
            rng.below(4),
            10 + rng.below(8),
            rng.below(200),
            rng.below(900_000),
            rng.below(100)
        );
    } else {
        out.push_str("- -1 -1 -1 ");
    }
    let sent = 150 + rng.below(40_000) as i64;
    let received = if listener == "http" || listener == "https" {
        rng.below(1_500) as i64
    } else {
        40 + rng.below(300) as i64
    };
    if listener == "tcp" || listener == "ssl" {
        let _ = write!(out, "- - {received} {sent} \"- - - \" \"-\" ");
    } else {
        let status = if !healthy {
            503
        } else if rng.chance(900) {
            200
        } else {
            *rng.pick(&[301, 304, 404, 500])
        };
        let port = if listener == "https" { 443 } else { 80 };
        let backend_status = if healthy {
            status.to_string()
        } else {
            "-".into()
        };
        let _ = write!(
            out,
            "{status} {backend_status} {received} {sent} \"{} {listener}://www.example.com:{port}/items/{} HTTP/1.1\" \"{}\" ",
            rng.pick(&["GET", "GET", "GET", "POST"]),
            rng.below(10_000),
            rng.pick(&USER_AGENTS)
        );
    }
    if listener == "https" || listener == "ssl" {
        out.push_str("ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2");
    } else {
        out.push_str("- -");
    }
    sent
}
