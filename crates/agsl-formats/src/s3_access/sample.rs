//! S3 server access log samples: plain-text objects named `logs/YYYY-MM-DD-hh-mm-ss-<id>` (the
//! simple key layout), one per 5 minutes, with GET/PUT/HEAD/LIST requests, batch deletes and
//! lifecycle expirations.

use std::fmt::Write;

use crate::Partitioning;
use crate::sample::{SampleFacts, SampleObject, SamplePlan, SampleRng};
use crate::time::{MICROS_PER_DAY, civil_from_days};

const OWNER: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";
const INTERVAL_MICROS: i64 = 5 * 60 * 1_000_000;
const HEX: &[u8] = b"0123456789ABCDEF";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

pub(crate) fn objects(plan: SamplePlan) -> impl Iterator<Item = SampleObject> {
    let mut rng = SampleRng::new(plan.seed);
    let mut line_number = 0u64;
    (0..plan.objects).map(move |index| {
        let end = plan.start_micros + index as i64 * INTERVAL_MICROS;
        let (year, month, day) = civil_from_days(end.div_euclid(MICROS_PER_DAY));
        let seconds = end.rem_euclid(MICROS_PER_DAY) / 1_000_000;
        let mut key = format!(
            "logs/{year:04}-{month:02}-{day:02}-{:02}-{:02}-{:02}-",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        );
        rng.push_text(HEX, 16, &mut key);
        let mut body = String::with_capacity(plan.lines_per_object * 480);
        let mut facts = SampleFacts::default();
        let step = INTERVAL_MICROS / plan.lines_per_object.max(1) as i64;
        for i in 0..plan.lines_per_object {
            line_number += 1;
            let time = (end - INTERVAL_MICROS + i as i64 * step) / 1_000_000 * 1_000_000;
            if plan.is_bad_line(line_number) {
                bad_line(&mut rng, time, &mut body);
                facts.bad_lines += 1;
            } else {
                let sent = line(&mut rng, time, &mut body);
                facts.good_line(
                    sent,
                    Partitioning::Date.path(None, time.div_euclid(MICROS_PER_DAY)),
                );
            }
            body.push('\n');
        }
        SampleObject {
            key,
            body: body.into_bytes(),
            compressed: false,
            facts,
        }
    })
}

/// Appends one good 27-field line and returns its `bytes_sent` (0 when `-`).
fn line(rng: &mut SampleRng, time: i64, out: &mut String) -> i64 {
    let (year, month, day) = civil_from_days(time.div_euclid(MICROS_PER_DAY));
    let seconds = time.rem_euclid(MICROS_PER_DAY) / 1_000_000;
    let _ = write!(
        out,
        "{OWNER} amzn-s3-demo-bucket1 [{day:02}/{}/{year:04}:{:02}:{:02}:{:02} +0000] ",
        MONTHS[month as usize - 1],
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    let object = format!(
        "photos/2024/{}/IMG_{}.jpg",
        rng.below(12) + 1,
        rng.below(100_000)
    );
    let kind = rng.below(100);
    let mut request_id = String::new();
    rng.push_text(HEX, 16, &mut request_id);
    let mut host_id = String::new();
    rng.push_text(BASE64, 76, &mut host_id);
    if kind < 3 {
        // Lifecycle expiration: no client, no request line, no status.
        let _ = write!(
            out,
            "- AmazonS3 {request_id} S3.EXPIRE.OBJECT {object} \"-\" - - - {} - - \"-\" \"-\" - {host_id} - - - - - - -",
            rng.below(5_000_000)
        );
        0
    } else if kind < 6 {
        // Batch delete: bare dashes where the quoted fields would be.
        let _ = write!(
            out,
            "192.0.2.{} arn:aws:iam::123456789012:user/alice {request_id} BATCH.DELETE.OBJECT {object} - 204 - - {} - - - - - {host_id} SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader s3.us-east-1.amazonaws.com TLSv1.2 - - us-east-1",
            rng.below(255),
            rng.below(5_000_000)
        );
        0
    } else {
        let (operation, verb, status) = match kind {
            6..=60 => (
                "REST.GET.OBJECT",
                "GET",
                *rng.pick(&[200, 200, 200, 200, 304, 404, 403]),
            ),
            61..=80 => ("REST.PUT.OBJECT", "PUT", 200),
            81..=92 => ("REST.HEAD.OBJECT", "HEAD", 200),
            _ => ("REST.GET.BUCKET", "GET", 200),
        };
        let bytes: Option<i64> = match (verb, status) {
            ("GET", 200) => Some(1_000 + rng.below(4_000_000) as i64),
            ("GET", 404 | 403) => Some(243),
            _ => None,
        };
        let error = match status {
            404 => "NoSuchKey",
            403 => "AccessDenied",
            _ => "-",
        };
        let size = if operation == "REST.GET.BUCKET" {
            "-".to_owned()
        } else {
            (1_000 + rng.below(4_000_000)).to_string()
        };
        let requester = *rng.pick(&[
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:sts::123456789012:assumed-role/app/i-0abc",
            "-",
            "svc:cloudfront.amazonaws.com",
        ]);
        let agent = *rng.pick(&[
            "aws-sdk-java/1.12.500 Linux/5.10 OpenJDK_64-Bit_Server_VM/17.0.8, aws-internal/3",
            "S3Console/0.4",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko)",
        ]);
        let _ = write!(
            out,
            "{} {requester} {request_id} {operation} {object} \"{verb} /amzn-s3-demo-bucket1/{object} HTTP/1.1\" {status} {error} {} {size} {} {} \"-\" \"{agent}\" - {host_id} SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket1.s3.us-east-1.amazonaws.com TLSv1.3 - {} us-east-1",
            rng.public_ipv4(),
            bytes.map_or("-".to_owned(), |b| b.to_string()),
            5 + rng.below(400),
            rng.below(50),
            if rng.chance(50) { "Yes" } else { "-" },
        );
        bytes.unwrap_or(0)
    }
}

/// Appends one malformed line: truncated, a time without offset, an unknown month, or junk.
fn bad_line(rng: &mut SampleRng, time: i64, out: &mut String) {
    let mut good = String::new();
    line(rng, time, &mut good);
    match rng.below(4) {
        0 => out.push_str(
            &good[..good
                .find(" REST.")
                .or(good.find(" S3."))
                .or(good.find(" BATCH."))
                .unwrap_or(good.len())],
        ),
        1 => out.push_str(&good.replacen(" +0000]", "]", 1)),
        2 => {
            let month = good.find('/').map_or(0, |slash| slash + 1);
            out.push_str(&good[..month]);
            out.push_str("Foo");
            out.push_str(&good[month + 3..]);
        }
        _ => out.push_str("<Error><Code>SlowDown</Code></Error>"),
    }
}
