//! Route 53 Resolver samples: gzip objects of one JSON query per line, keyed like AWS
//! (`AWSLogs/<account>/vpcdnsquerylogs/<vpc>/<yyyy>/<mm>/<dd>/<vpc>_vpcdnsquerylogs_<account>_<yyyymmddTHHmmZ>_<hex>.log.gz`),
//! from two VPCs: answered lookups with CNAME chains, NXDOMAIN, reverse lookups, queries from
//! instances and from inbound Resolver endpoints, and DNS Firewall blocks.

use std::fmt::Write;

use crate::Partitioning;
use crate::sample::{SampleFacts, SampleObject, SamplePlan, SampleRng};
use crate::time::{MICROS_PER_DAY, civil_from_days};

const ACCOUNT: &str = "123456789012";
/// `(vpc, region)`.
const VPCS: [(&str, &str); 2] = [
    ("vpc-0a1b2c3d4e5f60718", "us-east-1"),
    ("vpc-0f9e8d7c6b5a49382", "eu-west-1"),
];
const INTERVAL_MICROS: i64 = 5 * 60 * 1_000_000;
const HEX: &[u8] = b"0123456789abcdef";
const NAMES: [&str; 6] = [
    "shop.example.com.",
    "api.internal.example.",
    "s3.us-east-1.amazonaws.com.",
    "sqs.eu-west-1.amazonaws.com.",
    "ip-10-0-1-23.ec2.internal.",
    "does-not-exist.example.com.",
];

pub(crate) fn objects(plan: SamplePlan) -> impl Iterator<Item = SampleObject> {
    let mut rng = SampleRng::new(plan.seed);
    let mut line_number = 0u64;
    (0..plan.objects).map(move |index| {
        let end = plan.start_micros + index as i64 * INTERVAL_MICROS;
        let (vpc, region) = VPCS[(index / 12) % VPCS.len()];
        let (year, month, day) = civil_from_days(end.div_euclid(MICROS_PER_DAY));
        let minutes = end.rem_euclid(MICROS_PER_DAY) / 60_000_000;
        let (hour, minute) = (minutes / 60, minutes % 60);
        let mut key = format!(
            "AWSLogs/{ACCOUNT}/vpcdnsquerylogs/{vpc}/{year:04}/{month:02}/{day:02}/\
             {vpc}_vpcdnsquerylogs_{ACCOUNT}_{year:04}{month:02}{day:02}T{hour:02}{minute:02}Z_"
        );
        rng.push_text(HEX, 8, &mut key);
        key.push_str(".log.gz");
        let mut body = String::new();
        let mut facts = SampleFacts::default();
        let step = INTERVAL_MICROS / plan.lines_per_object.max(1) as i64;
        for i in 0..plan.lines_per_object {
            line_number += 1;
            let time = (end - INTERVAL_MICROS + i as i64 * step) / 1_000_000 * 1_000_000;
            let bad = plan.is_bad_line(line_number);
            record(&mut rng, time, (vpc, region), bad, &mut body);
            body.push('\n');
            if bad {
                facts.bad_lines += 1;
            } else {
                facts.good_line(
                    0,
                    Partitioning::Date.path(None, time.div_euclid(MICROS_PER_DAY)),
                );
            }
        }
        SampleObject {
            key,
            body: body.into_bytes(),
            compressed: true,
            facts,
        }
    })
}

/// Appends one record in the key order of real files; a bad one has a `srcport` that is not a
/// number.
fn record(
    rng: &mut SampleRng,
    time: i64,
    (vpc, region): (&str, &str),
    bad: bool,
    out: &mut String,
) {
    let seconds = time.div_euclid(1_000_000);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let in_day = seconds.rem_euclid(86_400);
    let source = format!("10.0.{}.{}", rng.below(4), 2 + rng.below(250));
    let port = if bad {
        "http".to_owned()
    } else {
        (1024 + rng.below(64_000)).to_string()
    };
    let name = *rng.pick(&NAMES);
    let mut instance = String::from("i-0");
    rng.push_text(HEX, 16, &mut instance);
    let (query_type, rcode, answers, srcids, firewall) = match rng.below(12) {
        0 => (
            "A",
            "NXDOMAIN",
            "[]".to_owned(),
            format!(r#"{{"instance":"{instance}"}}"#),
            "",
        ),
        1 => (
            "PTR",
            "NOERROR",
            format!(r#"[{{"Rdata":"ip-{}.ec2.internal.","Type":"PTR","Class":"IN"}}]"#, source.replace('.', "-")),
            "{}".to_owned(),
            "",
        ),
        2 => (
            "A",
            "NOERROR",
            r#"[{"Rdata":"203.0.113.9","Type":"A","Class":"IN"}]"#.to_owned(),
            format!(r#"{{"instance":"{instance}"}}"#),
            r#","firewall_rule_group_id":"rslvr-frg-01234567890abcdef","firewall_rule_action":"BLOCK","firewall_domain_list_id":"rslvr-fdl-01234567890abcdef""#,
        ),
        3 => (
            "A",
            "NOERROR",
            r#"[{"Rdata":"10.0.1.23","Type":"A","Class":"IN"}]"#.to_owned(),
            r#"{"resolver_endpoint":"rslvr-in-0123456789abcdef0","resolver_network_interface":"rni-0123456789abcdef0"}"#.to_owned(),
            "",
        ),
        4..=6 => (
            "AAAA",
            "NOERROR",
            format!(
                r#"[{{"Rdata":"edge.{name}","Type":"CNAME","Class":"IN"}},{{"Rdata":"2600:1f18:{:x}::{:x}","Type":"AAAA","Class":"IN"}}]"#,
                rng.below(0xffff),
                rng.below(0xffff)
            ),
            "{}".to_owned(),
            "",
        ),
        _ => (
            "A",
            "NOERROR",
            format!(
                r#"[{{"Rdata":"52.{}.{}.{}","Type":"A","Class":"IN"}}]"#,
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            ),
            format!(r#"{{"instance":"{instance}"}}"#),
            "",
        ),
    };
    let name = if rcode == "NXDOMAIN" {
        "does-not-exist.example.com."
    } else {
        name
    };
    let _ = write!(
        out,
        r#"{{"version":"1.100000","account_id":"{ACCOUNT}","region":"{region}","vpc_id":"{vpc}","query_timestamp":"{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z","query_name":"{name}","query_type":"{query_type}","query_class":"IN","rcode":"{rcode}","answers":{answers},"srcaddr":"{source}","srcport":"{port}","transport":"UDP","srcids":{srcids}{firewall}}}"#,
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    );
}
