//! VPC Flow Logs samples: gzip objects keyed like AWS
//! (`AWSLogs/<account>/vpcflowlogs/<region>/<yyyy>/<mm>/<dd>/<file>.log.gz`), each starting
//! with its header. Objects alternate between the v2 default format and a custom v5 format in
//! another order, so one run meets two layouts that must land in one table.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::Partitioning;
use crate::sample::{SampleFacts, SampleObject, SamplePlan, SampleRng};
use crate::time::{MICROS_PER_DAY, civil_from_days};

const ACCOUNT: &str = "123456789012";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const INTERVAL_MICROS: i64 = 5 * 60 * 1_000_000;
const DEFAULT: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
const CUSTOM: &str = "version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status flow-direction traffic-path pkt-dst-aws-service";

pub(crate) fn objects(plan: SamplePlan) -> impl Iterator<Item = SampleObject> {
    let mut rng = SampleRng::new(plan.seed);
    let mut line_number = 0u64;
    (0..plan.objects).map(move |index| {
        let end = plan.start_micros + (index / 2) as i64 * INTERVAL_MICROS;
        let region = REGIONS[(index / 8) % REGIONS.len()];
        let format = if index % 2 == 0 { DEFAULT } else { CUSTOM };
        let (year, month, day) = civil_from_days(end.div_euclid(MICROS_PER_DAY));
        let minutes = end.rem_euclid(MICROS_PER_DAY) / 60_000_000;
        let key = format!(
            "AWSLogs/{ACCOUNT}/vpcflowlogs/{region}/{year:04}/{month:02}/{day:02}/\
             {ACCOUNT}_vpcflowlogs_{region}_fl-0123456789abcdef{}_{year:04}{month:02}{day:02}T{:02}{:02}Z_{:08x}.log.gz",
            index % 2,
            minutes / 60,
            minutes % 60,
            rng.next_u64() as u32
        );
        let mut body = format!("{format}\n");
        let mut facts = SampleFacts::default();
        let step = INTERVAL_MICROS / plan.lines_per_object.max(1) as i64;
        for i in 0..plan.lines_per_object {
            line_number += 1;
            // Aggregation windows start up to ten minutes before delivery.
            let start = (end - 2 * INTERVAL_MICROS + i as i64 * step) / 1_000_000 * 1_000_000;
            let record = record(&mut rng, start, format == CUSTOM);
            if plan.is_bad_line(line_number) {
                bad_line(&mut rng, format, &record, &mut body);
                facts.bad_lines += 1;
            } else {
                write_line(format, &record, &mut body);
                let partition = Partitioning::RegionDate.path(Some(region), start.div_euclid(MICROS_PER_DAY));
                facts.good_line(record["bytes"].parse::<i64>().unwrap_or(0), partition);
            }
            body.push('\n');
        }
        SampleObject {
            key,
            body: body.into_bytes(),
            compressed: true,
            facts,
        }
    })
}

/// Every field's value for one flow, by header name.
fn record(rng: &mut SampleRng, start: i64, custom: bool) -> BTreeMap<&'static str, String> {
    let mut r = BTreeMap::new();
    let seconds = start / 1_000_000;
    let status = if rng.chance(20) {
        *rng.pick(&["NODATA", "SKIPDATA"])
    } else {
        "OK"
    };
    let flows = status == "OK";
    let value = |flows: bool, v: String| if flows { v } else { "-".to_owned() };
    r.insert("version", if custom { "5" } else { "2" }.to_owned());
    r.insert("account-id", ACCOUNT.to_owned());
    r.insert("interface-id", format!("eni-{:017x}", rng.below(1 << 60)));
    r.insert("vpc-id", "vpc-0a1b2c3d4e5f60718".to_owned());
    r.insert("subnet-id", format!("subnet-0{:016x}", rng.below(4)));
    r.insert(
        "instance-id",
        if rng.chance(300) {
            "-".to_owned()
        } else {
            format!("i-0{:016x}", rng.below(50))
        },
    );
    r.insert("type", value(flows, "IPv4".to_owned()));
    let src = format!("10.0.{}.{}", rng.below(4), rng.below(256));
    let dst = format!("{}", rng.public_ipv4());
    r.insert("srcaddr", value(flows, src.clone()));
    r.insert("dstaddr", value(flows, dst.clone()));
    r.insert("pkt-srcaddr", value(flows, src));
    r.insert("pkt-dstaddr", value(flows, dst));
    r.insert(
        "srcport",
        value(flows, (1024 + rng.below(64_000)).to_string()),
    );
    r.insert(
        "dstport",
        value(flows, rng.pick(&[443, 80, 53, 22, 3306]).to_string()),
    );
    r.insert(
        "protocol",
        value(flows, rng.pick(&[6, 6, 6, 17, 1]).to_string()),
    );
    let packets = 1 + rng.below(5_000);
    r.insert("packets", value(flows, packets.to_string()));
    r.insert(
        "bytes",
        value(flows, (packets * (40 + rng.below(1_400))).to_string()),
    );
    r.insert("start", seconds.to_string());
    r.insert("end", (seconds + 60).to_string());
    r.insert(
        "action",
        value(
            flows,
            rng.pick(&["ACCEPT", "ACCEPT", "ACCEPT", "REJECT"])
                .to_string(),
        ),
    );
    r.insert(
        "tcp-flags",
        value(flows, rng.pick(&[2, 18, 19, 3]).to_string()),
    );
    r.insert("log-status", status.to_owned());
    r.insert(
        "flow-direction",
        value(flows, rng.pick(&["ingress", "egress"]).to_string()),
    );
    r.insert(
        "traffic-path",
        value(flows && rng.chance(500), rng.pick(&[1, 2, 8]).to_string()),
    );
    r.insert(
        "pkt-dst-aws-service",
        value(flows && rng.chance(100), "S3".to_owned()),
    );
    r
}

fn write_line(format: &str, record: &BTreeMap<&'static str, String>, out: &mut String) {
    for (i, name) in format.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{}", record[name]);
    }
}

/// Appends one malformed line: a missing field, a non-numeric port, or junk.
fn bad_line(
    rng: &mut SampleRng,
    format: &str,
    record: &BTreeMap<&'static str, String>,
    out: &mut String,
) {
    let mut good = String::new();
    write_line(format, record, &mut good);
    match rng.below(3) {
        0 => out.push_str(
            good.rsplit_once(' ')
                .map_or(good.as_str(), |(head, _)| head),
        ),
        1 => {
            let mut record = record.clone();
            record.insert("start", "yesterday".to_owned());
            write_line(format, &record, out);
        }
        _ => out.push_str("Phony unsupported log format."),
    }
}
