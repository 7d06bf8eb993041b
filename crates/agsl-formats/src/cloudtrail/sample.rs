//! CloudTrail samples: gzip `{"Records":[...]}` objects keyed like AWS
//! (`AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/<file>.json.gz`), with console
//! sign-ins, role assumptions, S3 data events with `resources`, EC2 calls and access errors.

use std::fmt::Write;

use crate::Partitioning;
use crate::sample::{SampleFacts, SampleObject, SamplePlan, SampleRng};
use crate::time::{MICROS_PER_DAY, civil_from_days, format_iso8601_micros};

const ACCOUNT: &str = "123456789012";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const INTERVAL_MICROS: i64 = 5 * 60 * 1_000_000;
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

pub(crate) fn objects(plan: SamplePlan) -> impl Iterator<Item = SampleObject> {
    let mut rng = SampleRng::new(plan.seed);
    let mut line_number = 0u64;
    (0..plan.objects).map(move |index| {
        let end = plan.start_micros + index as i64 * INTERVAL_MICROS;
        let region = REGIONS[(index / 12) % REGIONS.len()];
        let (year, month, day) = civil_from_days(end.div_euclid(MICROS_PER_DAY));
        let minutes = end.rem_euclid(MICROS_PER_DAY) / 60_000_000;
        let mut key = format!(
            "AWSLogs/{ACCOUNT}/CloudTrail/{region}/{year:04}/{month:02}/{day:02}/\
             {ACCOUNT}_CloudTrail_{region}_{year:04}{month:02}{day:02}T{:02}{:02}Z_",
            minutes / 60,
            minutes % 60
        );
        rng.push_text(ALPHANUMERIC, 16, &mut key);
        key.push_str(".json.gz");
        let mut body = String::from("{\"Records\":[");
        let mut facts = SampleFacts::default();
        let step = INTERVAL_MICROS / plan.lines_per_object.max(1) as i64;
        for i in 0..plan.lines_per_object {
            line_number += 1;
            if i > 0 {
                body.push(',');
            }
            let time = (end - INTERVAL_MICROS + i as i64 * step) / 1_000_000 * 1_000_000;
            let bad = plan.is_bad_line(line_number);
            record(&mut rng, time, region, bad, &mut body);
            if bad {
                facts.bad_lines += 1;
            } else {
                facts.good_line(
                    0,
                    Partitioning::RegionDate.path(Some(region), time.div_euclid(MICROS_PER_DAY)),
                );
            }
        }
        body.push_str("]}");
        SampleObject {
            key,
            body: body.into_bytes(),
            compressed: true,
            facts,
        }
    })
}

fn uuid(rng: &mut SampleRng) -> String {
    let n = rng.next_u64();
    let m = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        n as u32,
        (n >> 32) as u16,
        (n >> 48) & 0xfff,
        m & 0xfff,
        m >> 16
    )
}

/// Appends one record; a bad one has an unparseable `eventTime`.
fn record(rng: &mut SampleRng, time: i64, region: &str, bad: bool, out: &mut String) {
    let mut event_time = String::new();
    format_iso8601_micros(time, &mut event_time);
    // CloudTrail writes whole seconds: `2024-03-07T23:25:01Z`.
    let event_time = if bad {
        "last tuesday".to_owned()
    } else {
        format!("{}Z", &event_time[..19])
    };
    let user = *rng.pick(&["alice", "bob", "deploy-bot", "carol"]);
    let identity = format!(
        r#"{{"type":"IAMUser","principalId":"AIDA{:016X}","arn":"arn:aws:iam::{ACCOUNT}:user/{user}","accountId":"{ACCOUNT}","accessKeyId":"AKIA{:016X}","userName":"{user}"}}"#,
        rng.below(1 << 60),
        rng.below(1 << 60)
    );
    let ip = format!("198.51.100.{}", rng.below(255));
    let (event, source, read_only, request, response, resources) = match rng.below(5) {
        0 => ("ConsoleLogin", "signin.amazonaws.com", "false", "null".to_owned(), r#"{"ConsoleLogin":"Success"}"#.to_owned(), String::new()),
        1 => ("AssumeRole", "sts.amazonaws.com", "false",
              format!(r#"{{"roleArn":"arn:aws:iam::{ACCOUNT}:role/app","roleSessionName":"{user}-session","durationSeconds":3600}}"#),
              r#"{"credentials":{"accessKeyId":"ASIAEXAMPLE","expiration":"Mar 8, 2024, 12:00:00 AM"}}"#.to_owned(),
              format!(r#","resources":[{{"ARN":"arn:aws:iam::{ACCOUNT}:role/app","accountId":"{ACCOUNT}","type":"AWS::IAM::Role"}}]"#)),
        2 => {
            let object = format!("reports/{}.csv", rng.below(10_000));
            ("GetObject", "s3.amazonaws.com", "true",
             format!(r#"{{"bucketName":"amzn-s3-demo-bucket","Host":"amzn-s3-demo-bucket.s3.{region}.amazonaws.com","key":"{object}"}}"#),
             "null".to_owned(),
             format!(r#","resources":[{{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::amzn-s3-demo-bucket/{object}"}},{{"accountId":"{ACCOUNT}","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::amzn-s3-demo-bucket"}}]"#))
        }
        3 => ("RunInstances", "ec2.amazonaws.com", "false",
              r#"{"instancesSet":{"items":[{"imageId":"ami-0abcdef1234567890","minCount":1,"maxCount":1}]},"instanceType":"t3.micro","blockDeviceMapping":{}}"#.to_owned(),
              format!(r#"{{"instancesSet":{{"items":[{{"instanceId":"i-0{:016x}","launchTime":{}}}]}}}}"#, rng.below(1 << 60), time / 1000),
              String::new()),
        _ => ("DescribeInstances", "ec2.amazonaws.com", "true", r#"{"maxResults":100}"#.to_owned(), "null".to_owned(), String::new()),
    };
    let error = if rng.chance(50) {
        r#","errorCode":"AccessDenied","errorMessage":"User is not authorized to perform this operation""#
    } else {
        ""
    };
    let category = if source == "s3.amazonaws.com" {
        "Data"
    } else {
        "Management"
    };
    let _ = write!(
        out,
        r#"{{"eventVersion":"1.09","userIdentity":{identity},"eventTime":"{event_time}","eventSource":"{source}","eventName":"{event}","awsRegion":"{region}","sourceIPAddress":"{ip}","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.amzn.2 prompt/off command/{}"{error},"requestParameters":{request},"responseElements":{response},"requestID":"{}","eventID":"{}","readOnly":{read_only}{resources},"eventType":"AwsApiCall","managementEvent":{},"recipientAccountId":"{ACCOUNT}","eventCategory":"{category}","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"{source}"}}}}"#,
        event.to_lowercase(),
        uuid(rng),
        uuid(rng),
        category == "Management",
    );
}
