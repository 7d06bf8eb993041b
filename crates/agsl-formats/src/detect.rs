//! Which service wrote an object, for `--service auto`: first from the key layout AWS uses
//! (FORMATS.md 7.1), then, for keys that say nothing (hand-collected files), from the first line.
//! Each format says what it recognises ([`LogFormat::claims_key`],
//! [`LogFormat::claims_first_line`]); this module asks them in registry order. For one
//! service, [`route`] keeps out objects that AWS delivered into another service's folder.
//!
//! [`LogFormat::claims_key`]: crate::LogFormat::claims_key
//! [`LogFormat::claims_first_line`]: crate::LogFormat::claims_first_line

use crate::{Format, LogFormat, Route};

/// Reason given for objects in the `AWSLogs/<account>/<service>/` folder of another service
/// (AWS Config's snapshots beside CloudTrail's logs, ALB logs beside VPC Flow Logs).
pub const ANOTHER_SERVICE: &str = "another AWS service's folder";

/// The service folder of a key AWS delivered under `AWSLogs/`: the folder after the account
/// (`AWSLogs/[<org-id>/]<account>/<service>/…`, or Hive-style `aws-account-id=<account>/
/// aws-service=<service>/`); `None` when the key does not follow that layout.
pub fn aws_service_folder(key: &str) -> Option<&str> {
    let (folders, _file) = key.rsplit_once('/')?;
    let folders: Vec<&str> = folders.split('/').collect();
    let at = folders.iter().rposition(|folder| *folder == "AWSLogs")?;
    let mut after = folders[at + 1..].iter().copied();
    let mut account = after.next()?;
    if account.starts_with("o-") {
        account = after.next()?;
    }
    let account = account.strip_prefix("aws-account-id=").unwrap_or(account);
    // AWS's own examples sometimes print 11 digits (FORMATS.md 7.1).
    let is_account =
        matches!(account.len(), 11 | 12) && account.bytes().all(|b| b.is_ascii_digit());
    let service = after.next().filter(|_| is_account)?;
    Some(service.strip_prefix("aws-service=").unwrap_or(service))
}

/// Whether some format's objects are delivered into the service folder `folder`.
fn known_folder(folder: &str) -> bool {
    Format::ALL
        .iter()
        .any(|format| format.info().aws_folders.contains(&folder))
}

/// How `format` takes `key` for a job of that one service: skipped as [`ANOTHER_SERVICE`]
/// when AWS delivered it into another service's folder (a CloudTrail source at `AWSLogs/`
/// also lists AWS Config's `.json.gz` snapshots, which would all be rejects), else the
/// format's own [`LogFormat::route`]. A format delivered outside `AWSLogs/` (S3 access logs)
/// keeps out only the folders of the services agsl knows.
pub fn route(format: &dyn LogFormat, key: &str) -> Route {
    let own = format.info().aws_folders;
    match aws_service_folder(key) {
        Some(folder) if !own.is_empty() && !own.contains(&folder) => Route::Skip(ANOTHER_SERVICE),
        Some(folder) if own.is_empty() && known_folder(folder) => Route::Skip(ANOTHER_SERVICE),
        _ => format.route(key),
    }
}

/// What an object key says about the service that wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDetection {
    Format(Format),
    /// An AWS key of a kind no format converts (NLB logs, digests, connection logs).
    Skip(&'static str),
    /// The key does not follow an AWS layout; look at the content.
    Unknown,
}

/// The service of an object from the key layout AWS delivers it under: the one format whose
/// layout the key follows and that converts it; unknown when two do (CloudFront's legacy and
/// v2 logging name objects alike), so the content decides; else a skip, when some format's
/// layout holds the key but none converts it (a sibling log type); else unknown.
pub fn detect_from_key(key: &str) -> KeyDetection {
    let mut skipped = None;
    let mut converting = None;
    for format in Format::ALL {
        let parser = format.parser();
        if parser.claims_key(key) {
            match parser.route(key) {
                Route::Convert if converting.is_some() => return KeyDetection::Unknown,
                Route::Convert => converting = Some(format),
                Route::Skip(why) => skipped = skipped.or(Some(why)),
            }
        }
    }
    match (converting, skipped) {
        (Some(format), _) => KeyDetection::Format(format),
        (None, Some(why)) => KeyDetection::Skip(why),
        // AWS's folder of a service no format converts (AWS Config, GuardDuty): no need to
        // read the object to know.
        (None, None) if aws_service_folder(key).is_some_and(|f| !known_folder(f)) => {
            KeyDetection::Skip(ANOTHER_SERVICE)
        }
        (None, None) => KeyDetection::Unknown,
    }
}

/// Whether a key follows the `elasticloadbalancing` delivery layout that ALB, NLB, connection
/// logs and Classic ELB share (FORMATS.md 7.1); the file name then tells them apart.
pub(crate) fn load_balancer_key(key: &str) -> bool {
    let file = key.rsplit('/').next().unwrap_or(key);
    file.contains("_elasticloadbalancing_") || connection_log_file(file)
}

/// An ALB connection log's file name: `conn_log.` as AWS documents it, or `conn_log_` as real
/// buckets hold them (FORMATS.md 10.1).
pub(crate) fn connection_log_file(file: &str) -> bool {
    file.starts_with("conn_log.") || file.starts_with("conn_log_") || file.contains("_conn_log.")
}

/// What a file name says among the log types that share the `elasticloadbalancing/` prefix
/// (FORMATS.md 7.1, 9.1, 10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoadBalancerFile {
    /// An empty name: a folder placeholder.
    Placeholder,
    /// `conn_log.…` or `conn_log_…`: an ALB connection log.
    Connection,
    /// `…_net.<lb>…`: an NLB access log.
    Network,
    /// `…_app.<lb>…`: an ALB access log.
    Application,
    /// `…_elasticloadbalancing_…` with no `app.`/`net.` segment: a Classic ELB access log.
    Classic,
    /// No load-balancer marker: a hand-collected file.
    Unmarked,
}

impl LoadBalancerFile {
    pub(crate) fn of(key: &str) -> Self {
        let file = key.rsplit('/').next().unwrap_or(key);
        if file.is_empty() {
            Self::Placeholder
        } else if connection_log_file(file) {
            Self::Connection
        } else if file.contains("_net.") {
            Self::Network
        } else if file.contains("_app.") {
            Self::Application
        } else if file.contains("_elasticloadbalancing_") {
            Self::Classic
        } else {
            Self::Unmarked
        }
    }

    /// Why a load-balancer format that does not convert this kind skips it.
    fn skip_reason(self) -> &'static str {
        match self {
            Self::Placeholder => "folder placeholder",
            Self::Connection => "ALB connection log",
            Self::Network => "NLB access log",
            Self::Application => "ALB access log",
            Self::Classic => "Classic ELB access log",
            Self::Unmarked => "not a log object name",
        }
    }
}

/// The route of a load-balancer access-log format that converts `own` files, and hand-collected
/// ones, when they are named like log objects; the other kinds are skipped with their names.
pub(crate) fn load_balancer_route(key: &str, own: LoadBalancerFile) -> Route {
    let kind = LoadBalancerFile::of(key);
    if kind != own && kind != LoadBalancerFile::Unmarked {
        return Route::Skip(kind.skip_reason());
    }
    let file = key.rsplit('/').next().unwrap_or(key);
    if file.ends_with(".log.gz") || file.ends_with(".log") || file.ends_with(".gz") {
        Route::Convert
    } else {
        Route::Skip(LoadBalancerFile::Unmarked.skip_reason())
    }
}

/// The first format (in registry order) whose lines look like `first_line` (decompressed), or
/// `None`.
/// Binary content (Parquet's `PAR1` magic) is read lossily, so its magic still shows.
pub fn format_from_first_line(first_line: &[u8]) -> Option<Format> {
    let line = String::from_utf8_lossy(first_line);
    let line = line.trim_end();
    Format::ALL
        .into_iter()
        .find(|format| format.parser().claims_first_line(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_folders_follow_the_account() {
        for (key, folder) in [
            (
                "AWSLogs/123456789012/Config/us-east-1/2024/3/7/ConfigHistory/x.json.gz",
                Some("Config"),
            ),
            (
                "logs/AWSLogs/o-a1b2c3d4e5/123456789012/CloudTrail/us-east-1/2024/03/07/x.json.gz",
                Some("CloudTrail"),
            ),
            (
                "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/x.log.gz",
                Some("vpcflowlogs"),
            ),
            // Not AWS's layout: no account folder, or nothing after it.
            ("AWSLogs/readme.txt", None),
            ("AWSLogs/logs/CloudTrail/x.json.gz", None),
            ("AWSLogs/123456789012/x.json.gz", None),
            ("logs/2024-03-07-10-00-00-ABCDEF0123456789", None),
        ] {
            assert_eq!(aws_service_folder(key), folder, "{key}");
        }
    }

    #[test]
    fn one_service_keeps_out_other_services_folders() {
        let config = "AWSLogs/123456789012/Config/us-east-1/2024/3/7/ConfigHistory/\
                      123456789012_Config_us-east-1_ConfigHistory_AWS::EC2::Instance_20240307T000000Z_20240307T060000Z_1.json.gz";
        let alb = "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/03/07/\
                   123456789012_elasticloadbalancing_us-east-1_app.lb.1_20240307T0000Z_10.0.0.1_x.log.gz";
        let trail = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/07/\
                     123456789012_CloudTrail_us-east-1_20240307T0000Z_x.json.gz";
        let route = |format: Format, key| route(format.parser(), key);
        // A `.json.gz` that CloudTrail's own route would take, in AWS Config's folder.
        assert_eq!(Format::Cloudtrail.parser().route(config), Route::Convert);
        assert_eq!(
            route(Format::Cloudtrail, config),
            Route::Skip(ANOTHER_SERVICE)
        );
        assert_eq!(route(Format::Cloudtrail, trail), Route::Convert);
        // `.log.gz` files that WAF, Route 53 Resolver and S3 access logs take from folders
        // of their own, in the load balancers' folder.
        for format in [Format::Waf, Format::Route53Resolver, Format::S3Access] {
            assert_eq!(format.parser().route(alb), Route::Convert, "{format}");
            assert_eq!(route(format, alb), Route::Skip(ANOTHER_SERVICE), "{format}");
        }
        assert_eq!(route(Format::Alb, alb), Route::Convert);
        // Outside `AWSLogs/`, each format's own route decides, as for hand-collected files.
        assert_eq!(route(Format::Waf, "collected/waf.log.gz"), Route::Convert);
        // A service no format converts is skipped by `auto` without reading the object.
        assert_eq!(detect_from_key(config), KeyDetection::Skip(ANOTHER_SERVICE));
        assert_eq!(
            detect_from_key(trail),
            KeyDetection::Format(Format::Cloudtrail)
        );
    }

    #[test]
    fn keys() {
        let cases = [
            (
                "AWSLogs/1/elasticloadbalancing/us-east-1/2024/03/07/1_elasticloadbalancing_us-east-1_app.lb.1_20240307T0000Z_1.2.3.4_x.log.gz",
                Some(Format::Alb),
            ),
            (
                "AWSLogs/1/elasticloadbalancing/us-east-1/2024/03/07/1_elasticloadbalancing_us-east-1_my-lb_20240307T0000Z_1.2.3.4_x.log",
                Some(Format::Elb),
            ),
            (
                "AWSLogs/1/elasticloadbalancing/us-east-1/2024/03/07/1_elasticloadbalancing_us-east-1_net.lb.1_20240307T0000Z_1.2.3.4_x.log.gz",
                Some(Format::Nlb),
            ),
            (
                "AWSLogs/1/CloudTrail/us-east-1/2024/03/07/1_CloudTrail_us-east-1_20240307T0000Z_abc.json.gz",
                Some(Format::Cloudtrail),
            ),
            (
                "AWSLogs/1/CloudTrail-Digest/us-east-1/2024/03/07/1_CloudTrail-Digest_us-east-1_t_us-east-1_20240307T000000Z.json.gz",
                None,
            ),
            (
                "AWSLogs/1/vpcflowlogs/us-east-1/2024/03/07/1_vpcflowlogs_us-east-1_fl-1_20240307T0000Z_ab.log.gz",
                Some(Format::VpcFlow),
            ),
            // Legacy and v2 CloudFront logging both write such names in a flat prefix: the
            // content decides (FORMATS.md 12.1).
            ("cf/EMLARXS9EXAMPLE.2024-03-07-23.ABCD1234.gz", None),
            (
                "AWSLogs/1/CloudFront/EMLARXS9EXAMPLE/2024/03/07/23/EMLARXS9EXAMPLE.2024-03-07-23.ABCD1234.gz",
                Some(Format::CloudfrontV2),
            ),
            (
                "logs/2024-03-07-23-05-00-1A2B3C4D5E6F7A8B",
                Some(Format::S3Access),
            ),
            ("collected/access.log", None),
        ];
        for (key, expected) in cases {
            let detected = match detect_from_key(key) {
                KeyDetection::Format(format) => Some(format),
                _ => None,
            };
            assert_eq!(detected, expected, "{key}");
        }
        assert_eq!(
            detect_from_key("collected/access.log"),
            KeyDetection::Unknown
        );
        assert_eq!(detect_from_key("notes/readme"), KeyDetection::Unknown);
        assert_eq!(
            detect_from_key(
                "AWSLogs/1/elasticloadbalancing/r/conn_log.1_elasticloadbalancing_r_app.lb_x.log.gz"
            ),
            KeyDetection::Format(Format::AlbConn)
        );
    }

    /// Every generated object's first line is claimed by its own format and by no other, so
    /// the registry order never decides between two formats on real content; and detection
    /// sends every object to its format, from its key or, when the key is ambiguous, its first
    /// line.
    #[test]
    fn each_format_claims_its_own_first_lines_only() {
        for format in Format::ALL {
            let plan = crate::sample::SamplePlan {
                objects: 3,
                lines_per_object: 5,
                ..Default::default()
            };
            for object in format.parser().sample(plan) {
                let first = object.body.split(|&b| b == b'\n').next().unwrap();
                let line = String::from_utf8_lossy(first);
                let line = line.trim_end();
                let claiming: Vec<Format> = Format::ALL
                    .into_iter()
                    .filter(|f| f.parser().claims_first_line(line))
                    .collect();
                assert_eq!(claiming, [format], "{line}");
                match detect_from_key(&object.key) {
                    KeyDetection::Format(detected) => {
                        assert_eq!(detected, format, "{}", object.key)
                    }
                    KeyDetection::Unknown => {
                        assert_eq!(
                            format_from_first_line(first),
                            Some(format),
                            "{}",
                            object.key
                        )
                    }
                    KeyDetection::Skip(why) => panic!("{} skipped: {why}", object.key),
                }
            }
        }
    }

    #[test]
    fn first_lines() {
        let cases: [(&[u8], Option<Format>); 8] = [
            (b"http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817", Some(Format::Alb)),
            (b"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80", Some(Format::Elb)),
            (b"#Version: 1.0", Some(Format::Cloudfront)),
            (b"{\"Records\":[", Some(Format::Cloudtrail)),
            (b"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be bucket [06/Feb/2019:00:00:38 +0000] 1.2.3.4", Some(Format::S3Access)),
            (b"version account-id interface-id srcaddr", Some(Format::VpcFlow)),
            (b"2 123456789010 eni-1235b8ca123456789 172.31.16.139", Some(Format::VpcFlow)),
            (b"<html>", None),
        ];
        for (line, expected) in cases {
            assert_eq!(
                format_from_first_line(line),
                expected,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
