//! Deliveries of a load balancer's logs, shared by the ALB, Classic ELB, NLB and ALB connection
//! log samples: one object per 5-minute interval and LB node, keyed like AWS
//! (`AWSLogs/<account>/elasticloadbalancing/<region>/<yyyy>/<mm>/<dd>/<file>`). The folder date
//! is the delivery date, so records just before midnight land in the next day's folder.

use super::{SampleFacts, SampleObject, SamplePlan, SampleRng};
use crate::Partitioning;
use crate::time::{MICROS_PER_DAY, civil_from_days};

const ACCOUNT: &str = "123456789012";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const NODES: [&str; 3] = ["10.0.1.23", "10.0.2.47", "10.0.3.91"];
const INTERVAL_MICROS: i64 = 5 * 60 * 1_000_000;

/// What differs between load balancer types.
pub(crate) struct LoadBalancerLog {
    /// What the file name starts with before the account (`conn_log.` for connection logs).
    pub file_prefix: &'static str,
    /// The file-name segment naming the LB (`app.<name>.<id>` for ALB, `<name>` for Classic).
    pub load_balancer: &'static str,
    pub extension: &'static str,
    pub compressed: bool,
    /// Index of a numeric field (the ELB status code) that damaged lines garble.
    pub status_field: usize,
    /// Where a line cut short ends: before the last required field.
    pub cut_at: usize,
    /// Whether lines quote fields; damaged unquoted lines get a garbled time instead of an
    /// unterminated quote.
    pub quoted: bool,
    /// Appends one good line at `time` and returns its `sent_bytes`.
    pub line: fn(&mut SampleRng, i64, &mut String) -> i64,
}

impl LoadBalancerLog {
    pub(crate) fn objects(self, plan: SamplePlan) -> impl Iterator<Item = SampleObject> {
        let mut rng = SampleRng::new(plan.seed);
        let mut line_number = 0u64;
        (0..plan.objects).map(move |index| {
            let interval = (index / NODES.len()) as i64;
            let node = NODES[index % NODES.len()];
            let region = REGIONS[(index / (NODES.len() * 4)) % REGIONS.len()];
            let end = plan.start_micros + interval * INTERVAL_MICROS;
            let key = self.key(region, node, end, rng.next_u64());
            let mut body = String::with_capacity(plan.lines_per_object * 640);
            let mut facts = SampleFacts::default();
            let step = INTERVAL_MICROS / plan.lines_per_object.max(1) as i64;
            for i in 0..plan.lines_per_object {
                line_number += 1;
                let time = end - INTERVAL_MICROS + i as i64 * step + rng.below(step as u64) as i64;
                if plan.is_bad_line(line_number) {
                    self.bad_line(&mut rng, time, &mut body);
                    facts.bad_lines += 1;
                } else {
                    let sent = (self.line)(&mut rng, time, &mut body);
                    facts.good_line(
                        sent,
                        Partitioning::RegionDate
                            .path(Some(region), time.div_euclid(MICROS_PER_DAY)),
                    );
                }
                body.push('\n');
            }
            SampleObject {
                key,
                body: body.into_bytes(),
                compressed: self.compressed,
                facts,
            }
        })
    }

    fn key(&self, region: &str, node: &str, end: i64, random: u64) -> String {
        let (year, month, day) = civil_from_days(end.div_euclid(MICROS_PER_DAY));
        let minutes = end.rem_euclid(MICROS_PER_DAY) / 60_000_000;
        format!(
            "AWSLogs/{ACCOUNT}/elasticloadbalancing/{region}/{year:04}/{month:02}/{day:02}/\
             {}{ACCOUNT}_elasticloadbalancing_{region}_{}_\
             {year:04}{month:02}{day:02}T{:02}{:02}Z_{node}_{:08x}.{}",
            self.file_prefix,
            self.load_balancer,
            minutes / 60,
            minutes % 60,
            random as u32,
            self.extension,
        )
    }

    /// Appends one malformed line of a few realistic kinds of damage.
    fn bad_line(&self, rng: &mut SampleRng, time: i64, out: &mut String) {
        let mut good = String::new();
        (self.line)(rng, time, &mut good);
        match rng.below(4) {
            // Cut short, as a partially written object would be.
            0 => out.push_str(&good[..good.len().min(self.cut_at)]),
            // A non-numeric status code (the fields before the request are bare tokens).
            1 => {
                let mut fields: Vec<&str> = good.splitn(self.status_field + 2, ' ').collect();
                fields[self.status_field] = "2x0";
                out.push_str(&fields.join(" "));
            }
            // An unterminated quote, or in unquoted lines a time that is not one.
            2 if self.quoted => out.push_str(&good[..good.find("\" ").unwrap_or(good.len())]),
            2 => out.push_str(&good.replacen('T', "_", 1)),
            // Not a log line at all.
            _ => out.push_str("<html><body>502 Bad Gateway</body></html>"),
        }
    }
}
