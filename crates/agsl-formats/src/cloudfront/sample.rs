//! CloudFront standard log samples: gzip objects named `<distribution>.<YYYY-MM-DD-HH>.<id>.gz`
//! in a flat prefix, two per hour, each with the `#Version`/`#Fields` header.

use std::fmt::Write;

use crate::Partitioning;
use crate::sample::{SampleFacts, SampleObject, SamplePlan, SampleRng};
use crate::time::{MICROS_PER_DAY, civil_from_days};

const DISTRIBUTION: &str = "EMLARXS9EXAMPLE";
const HOUR_MICROS: i64 = 3_600_000_000;
const HEADER: &str = "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end\n";
const USER_AGENTS: [&str; 3] = [
    "Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/120.0.0.0%20Safari/537.36",
    "Mozilla/5.0%20(iPhone;%20CPU%20iPhone%20OS%2017_2%20like%20Mac%20OS%20X)",
    "curl/8.4.0",
];
const EDGES: [&str; 4] = ["LAX1", "SEA19-C1", "FRA56-P3", "NRT20-C2"];
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/// CloudFront deliveries for `plan`: object `i` holds hour `i / 2` after the plan's start hour.
pub(crate) fn objects(plan: SamplePlan) -> impl Iterator<Item = SampleObject> {
    let mut rng = SampleRng::new(plan.seed);
    let mut line_number = 0u64;
    let first_hour = plan.start_micros.div_euclid(HOUR_MICROS) * HOUR_MICROS;
    (0..plan.objects).map(move |index| {
        let hour = first_hour + (index / 2) as i64 * HOUR_MICROS;
        let (year, month, day) = civil_from_days(hour.div_euclid(MICROS_PER_DAY));
        let mut key = format!(
            "{DISTRIBUTION}.{year:04}-{month:02}-{day:02}-{:02}.",
            hour.rem_euclid(MICROS_PER_DAY) / HOUR_MICROS
        );
        rng.push_text(ALPHANUMERIC, 8, &mut key);
        key.push_str(".gz");
        let mut body = String::from(HEADER);
        let mut facts = SampleFacts::default();
        let step = HOUR_MICROS / plan.lines_per_object.max(1) as i64;
        for i in 0..plan.lines_per_object {
            line_number += 1;
            // Whole seconds, as CloudFront writes them.
            let time = (hour + i as i64 * step) / 1_000_000 * 1_000_000;
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
            compressed: true,
            facts,
        }
    })
}

fn date_time(time: i64, out: &mut String) {
    let (year, month, day) = civil_from_days(time.div_euclid(MICROS_PER_DAY));
    let seconds = time.rem_euclid(MICROS_PER_DAY) / 1_000_000;
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}\t{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
}

/// Appends one good 33-field line and returns its `sc_bytes` (standard logging v2's samples
/// draw their values from it too).
pub(crate) fn line(rng: &mut SampleRng, time: i64, out: &mut String) -> i64 {
    date_time(time, out);
    let status = if rng.chance(900) {
        200
    } else {
        *rng.pick(&[0, 304, 403, 404, 502])
    };
    let bytes = if status == 304 {
        0
    } else {
        300 + rng.below(250_000) as i64
    };
    let _ = write!(out, "\t{}\t{bytes}\t", rng.pick(&EDGES));
    if rng.chance(150) {
        let _ = write!(
            out,
            "2a02:cf40:{:x}::{:x}",
            rng.below(0xffff),
            rng.below(0xffff)
        );
    } else {
        let _ = write!(out, "{}", rng.public_ipv4());
    }
    let result = match status {
        0 | 502 => "Error",
        _ if rng.chance(700) => "Hit",
        _ => "Miss",
    };
    let _ = write!(
        out,
        "\t{}\td111111abcdef8.cloudfront.net\t/assets/{}/{}.{}\t{status:03}\t{}\t{}\t{}\t-\t{result}\t",
        rng.pick(&["GET", "GET", "GET", "HEAD", "POST"]),
        rng.below(100),
        rng.below(100_000),
        rng.pick(&["js", "css", "png", "html"]),
        rng.pick(&[
            "-",
            "https://www.example.com/",
            "https://www.example.com/shop?q=a%20b"
        ]),
        rng.pick(&USER_AGENTS),
        if rng.chance(200) {
            "v=3&utm_source=mail"
        } else {
            "-"
        },
    );
    rng.push_text(BASE64, 54, out);
    let _ = write!(
        out,
        "==\twww.example.com\thttps\t{}\t{}.{:03}\t{}\tTLSv1.3\tTLS_AES_128_GCM_SHA256\t{result}\tHTTP/2.0\t-\t-\t{}\t0.{:03}\t{result}\t{}\t{bytes}\t-\t-",
        100 + rng.below(900),
        rng.below(2),
        rng.below(1000),
        if rng.chance(100) {
            "81.2.69.142, 216.160.83.56"
        } else {
            "-"
        },
        1024 + rng.below(64_000),
        rng.below(1000),
        rng.pick(&["text/html", "application/javascript", "image/png"]),
    );
    bytes
}

/// Appends one malformed line: CloudFront lines that are merely short are valid, so the damage
/// is to values and framing.
fn bad_line(rng: &mut SampleRng, time: i64, out: &mut String) {
    let mut good = String::new();
    line(rng, time, &mut good);
    match rng.below(3) {
        0 => out.push_str(&good.replacen('\t', "\tT", 1)),
        1 => {
            let mut fields: Vec<&str> = good.splitn(5, '\t').collect();
            fields[3] = "12kB";
            out.push_str(&fields.join("\t"));
        }
        _ => out.push_str("<html><body>403 Forbidden</body></html>"),
    }
}
