//! ALB access log samples: current 33-field lines with the mix a busy public LB shows
//! (HTTPS and HTTP/2, IPv6 clients, redirects, 4xx/5xx, requests that never reached a target).

use std::fmt::Write;

use crate::sample::load_balancer::LoadBalancerLog;
use crate::sample::{SampleObject, SamplePlan, SampleRng};
use crate::time::format_iso8601_micros;

const USER_AGENTS: [&str; 8] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "curl/8.4.0",
    "python-requests/2.31.0",
    "Go-http-client/2.0",
    "ELB-HealthChecker/2.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
];
const PATHS: [&str; 8] = [
    "/",
    "/index.html",
    "/api/v1/orders",
    "/api/v1/orders/{id}",
    "/api/v1/users/{id}/cart",
    "/static/app.{id}.js",
    "/search",
    "/images/products/{id}.jpg",
];
const DOMAINS: [&str; 3] = ["www.example.com", "api.example.com", "shop.example.com"];
const TARGET_GROUPS: [&str; 3] = [
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067",
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/8f04c4fe71f5f794",
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/static/50dc6c495c0c9188",
];
const HEX: &[u8] = b"0123456789abcdef";
const CERT: &str =
    "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012";

/// ALB deliveries: gzip `.log.gz` objects named `..._app.<lb>.<id>_...`.
pub(crate) fn objects(plan: SamplePlan) -> impl Iterator<Item = SampleObject> {
    LoadBalancerLog {
        file_prefix: "",
        load_balancer: "app.my-loadbalancer.50dc6c495c0c9188",
        extension: "log.gz",
        compressed: true,
        status_field: 8,
        cut_at: 90,
        quoted: true,
        line,
    }
    .objects(plan)
}

/// Appends one good 33-field line and returns its `sent_bytes`.
fn line(rng: &mut SampleRng, time: i64, out: &mut String) -> i64 {
    let kind = *rng.pick(&[
        "https", "https", "https", "http", "http", "h2", "wss", "grpcs",
    ]);
    let tls = kind != "http";
    out.push_str(kind);
    out.push(' ');
    format_iso8601_micros(time, out);
    out.push_str(" app/my-loadbalancer/50dc6c495c0c9188 ");
    if rng.chance(100) {
        let _ = write!(
            out,
            "2001:db8:{:x}::{:x}",
            rng.below(0xffff),
            rng.below(0xffff)
        );
    } else {
        let _ = write!(out, "{}", rng.public_ipv4());
    }
    let _ = write!(out, ":{} ", 1024 + rng.below(64_000));

    let status = if rng.chance(820) {
        200
    } else {
        *rng.pick(&[
            304, 304, 301, 302, 404, 404, 404, 400, 403, 500, 502, 503, 504, 460,
        ])
    };
    let forwarded = !matches!(status, 460 | 503) && !rng.chance(20);
    let target = format!(
        "10.0.{}.{}:{}",
        rng.below(4),
        10 + rng.below(8),
        rng.pick(&[80, 8080])
    );
    let sent: i64 = if status == 304 {
        0
    } else {
        150 + rng.below(60_000) as i64
    };
    let received = 80 + rng.below(2_000) as i64;
    let total_micros = if forwarded {
        let target_time =
            rng.below(900) as f64 / 1000.0 + rng.below(3) as f64 * rng.below(1000) as f64 / 1000.0;
        let _ = write!(
            out,
            "{target} 0.{:03} {target_time:.3} 0.000 {status} {status} ",
            rng.below(3)
        );
        (target_time * 1_000_000.0) as i64 + 2_000
    } else {
        let _ = write!(out, "- -1 -1 -1 {status} - ");
        1_000
    };
    let _ = write!(out, "{received} {sent} ");

    let verb = *rng.pick(&[
        "GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "HEAD",
    ]);
    let domain = *rng.pick(&DOMAINS);
    let (scheme, port) = if tls { ("https", 443) } else { ("http", 80) };
    let path = rng
        .pick(&PATHS)
        .replace("{id}", &rng.below(100_000).to_string());
    let query = if rng.chance(300) {
        format!("?q=item+{}&page={}", rng.below(500), rng.below(9))
    } else {
        String::new()
    };
    let proto = if kind == "h2" || kind == "grpcs" {
        "HTTP/2.0"
    } else {
        "HTTP/1.1"
    };
    let _ = write!(
        out,
        "\"{verb} {scheme}://{domain}:{port}{path}{query} {proto}\" "
    );
    let _ = write!(out, "\"{}\" ", rng.pick(&USER_AGENTS));
    if tls {
        let _ = write!(
            out,
            "{} TLSv1.{} ",
            rng.pick(&["ECDHE-RSA-AES128-GCM-SHA256", "TLS_AES_128_GCM_SHA256"]),
            rng.pick(&[2, 3])
        );
    } else {
        out.push_str("- - ");
    }
    let group = if forwarded {
        *rng.pick(&TARGET_GROUPS)
    } else {
        "-"
    };
    let _ = write!(out, "{group} \"Root=1-{:08x}-", (time / 1_000_000) as u32);
    rng.push_text(HEX, 24, out);
    out.push_str("\" ");
    if tls {
        let cert = if rng.chance(200) {
            "session-reused"
        } else {
            CERT
        };
        let _ = write!(out, "\"{domain}\" \"{cert}\" ");
    } else {
        out.push_str("\"-\" \"-\" ");
    }
    let _ = write!(out, "{} ", if forwarded { rng.below(6) as i64 } else { 0 });
    format_iso8601_micros(time - total_micros, out);
    let actions = match status {
        301 | 302 => "redirect",
        _ if !forwarded => "-",
        _ => *rng.pick(&[
            "forward",
            "forward",
            "forward",
            "waf,forward",
            "authenticate,forward",
        ]),
    };
    let _ = write!(out, " \"{actions}\" ");
    if matches!(status, 301 | 302) {
        let _ = write!(out, "\"https://{domain}:443{path}\" ");
    } else {
        out.push_str("\"-\" ");
    }
    let error = if status == 502 {
        "TargetConnectionError"
    } else {
        "-"
    };
    let _ = write!(out, "\"{error}\" ");
    if forwarded {
        let _ = write!(out, "\"{target}\" \"{status}\" ");
    } else {
        out.push_str("\"-\" \"-\" ");
    }
    if rng.chance(10) {
        out.push_str("\"Acceptable\" \"SpaceInUri\" ");
    } else {
        out.push_str("\"-\" \"-\" ");
    }
    out.push_str("TID_");
    rng.push_text(HEX, 32, out);
    out.push_str(" \"-\" \"-\" \"-\"");
    sent
}
