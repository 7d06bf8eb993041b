//! WAF samples: gzip objects of one JSON record per line, keyed like AWS
//! (`AWSLogs/<account>/WAFLogs/<region>/<webacl>/<yyyy>/<mm>/<dd>/<HH>/<mm>/<file>.log.gz`),
//! with allowed requests, managed-rule blocks, rate-based blocks and counted rules, from
//! regional (ALB) and CloudFront-scope web ACLs.

use std::fmt::Write;

use crate::Partitioning;
use crate::sample::{SampleFacts, SampleObject, SamplePlan, SampleRng};
use crate::time::{MICROS_PER_DAY, civil_from_days};

const ACCOUNT: &str = "123456789012";
/// `(region folder, web ACL, scope, source name, source id)`.
const ACLS: [(&str, &str, &str, &str, &str); 2] = [
    (
        "us-east-1",
        "shop-webacl",
        "regional",
        "ALB",
        "123456789012-app/shop/50dc6c495c0c9188",
    ),
    (
        "cloudfront",
        "edge-webacl",
        "global",
        "CF",
        "E3DTJP8YLL6OBQ",
    ),
];
const INTERVAL_MICROS: i64 = 5 * 60 * 1_000_000;
const HEX: &[u8] = b"0123456789abcdef";
const USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "curl/8.4.0",
    "python-requests/2.31.0",
    "sqlmap/1.7.2#stable (https://sqlmap.org)",
];
const PATHS: [&str; 5] = ["/", "/login", "/api/v1/cart", "/search", "/favicon.ico"];
const COUNTRIES: [&str; 5] = ["US", "DE", "NL", "BR", "-"];

pub(crate) fn objects(plan: SamplePlan) -> impl Iterator<Item = SampleObject> {
    let mut rng = SampleRng::new(plan.seed);
    let mut line_number = 0u64;
    (0..plan.objects).map(move |index| {
        let end = plan.start_micros + index as i64 * INTERVAL_MICROS;
        let acl = ACLS[(index / 12) % ACLS.len()];
        let (region, webacl) = (acl.0, acl.1);
        let (year, month, day) = civil_from_days(end.div_euclid(MICROS_PER_DAY));
        let minutes = end.rem_euclid(MICROS_PER_DAY) / 60_000_000;
        let (hour, minute) = (minutes / 60, minutes % 60);
        let mut key = format!(
            "AWSLogs/{ACCOUNT}/WAFLogs/{region}/{webacl}/{year:04}/{month:02}/{day:02}/{hour:02}/{minute:02}/\
             {ACCOUNT}_waflogs_{region}_{webacl}_{year:04}{month:02}{day:02}T{hour:02}{minute:02}Z_"
        );
        rng.push_text(HEX, 8, &mut key);
        key.push_str(".log.gz");
        let mut body = String::new();
        let mut facts = SampleFacts::default();
        let step = INTERVAL_MICROS / plan.lines_per_object.max(1) as i64;
        for i in 0..plan.lines_per_object {
            line_number += 1;
            let time = (end - INTERVAL_MICROS + i as i64 * step) / 1000 * 1000;
            let bad = plan.is_bad_line(line_number);
            record(&mut rng, time, acl, bad, &mut body);
            body.push('\n');
            if bad {
                facts.bad_lines += 1;
            } else {
                facts.good_line(
                    0,
                    Partitioning::RegionDate.path(Some(region), time.div_euclid(MICROS_PER_DAY)),
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

/// Appends one record; a bad one has a `timestamp` that is not an integer.
fn record(
    rng: &mut SampleRng,
    time: i64,
    (region, webacl, scope, source, source_id): (&str, &str, &str, &str, &str),
    bad: bool,
    out: &mut String,
) {
    let arn_region = if scope == "global" {
        "us-east-1"
    } else {
        region
    };
    let timestamp = if bad {
        "\"soon\"".to_owned()
    } else {
        (time / 1000).to_string()
    };
    let ip = format!("{}", rng.public_ipv4());
    let country = *rng.pick(&COUNTRIES);
    let path = *rng.pick(&PATHS);
    let agent = *rng.pick(&USER_AGENTS);
    let method = if path == "/login" { "POST" } else { "GET" };
    let (action, rule, rule_type, groups, rate, labels) = match rng.below(10) {
        0 => (
            "BLOCK",
            "AWS-AWSManagedRulesSQLiRuleSet",
            "MANAGED_RULE_GROUP",
            r#"[{"ruleGroupId":"AWS#AWSManagedRulesSQLiRuleSet","terminatingRule":{"ruleId":"SQLi_QUERYARGUMENTS","action":"BLOCK","ruleMatchDetails":null},"nonTerminatingMatchingRules":[],"excludedRules":null,"customerConfig":null}]"#,
            "[]".to_owned(),
            r#"[{"name":"awswaf:managed:aws:sql-database:SQLi_QueryArguments"}]"#.to_owned(),
        ),
        1 => (
            "BLOCK",
            "rate-limit",
            "RATE_BASED",
            "[]",
            format!(
                r#"[{{"rateBasedRuleId":"arn:aws:wafv2:{arn_region}:{ACCOUNT}:{scope}/ratebasedrule/rate-limit/1a2b","rateBasedRuleName":"rate-limit","limitKey":"IP","maxRateAllowed":2000,"evaluationWindowSec":300,"limitValue":"{ip}"}}]"#
            ),
            "[]".to_owned(),
        ),
        _ => (
            "ALLOW",
            "Default_Action",
            "REGULAR",
            "[]",
            "[]".to_owned(),
            format!(r#"[{{"name":"awswaf:clientip:geo:country:{country}"}}]"#),
        ),
    };
    let mut request_id = String::new();
    rng.push_text(HEX, 24, &mut request_id);
    let _ = write!(
        out,
        r#"{{"timestamp":{timestamp},"formatVersion":1,"webaclId":"arn:aws:wafv2:{arn_region}:{ACCOUNT}:{scope}/webacl/{webacl}/5933d6d9-9dde-4a82-b8aw-9ck28nv94d1e","terminatingRuleId":"{rule}","terminatingRuleType":"{rule_type}","action":"{action}","terminatingRuleMatchDetails":[],"httpSourceName":"{source}","httpSourceId":"{source_id}","ruleGroupList":{groups},"rateBasedRuleList":{rate},"nonTerminatingMatchingRules":[],"requestHeadersInserted":null,"responseCodeSent":null,"httpRequest":{{"clientIp":"{ip}","country":"{country}","headers":[{{"name":"Host","value":"shop.example.com"}},{{"name":"User-Agent","value":"{agent}"}},{{"name":"Accept","value":"*/*"}}],"uri":"{path}","args":"q=1","httpVersion":"HTTP/2.0","httpMethod":"{method}","requestId":"1-{request_id}"}},"labels":{labels}}}"#
    );
}
