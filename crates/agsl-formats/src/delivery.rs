//! What names one AWS delivery wherever a copy of it lies: a replica bucket, a backup folder,
//! a local mirror. Keys under `AWSLogs/` are told by their key from that folder on, which names
//! the account, service, region, day and a file name unique to the delivery. Services that
//! deliver outside `AWSLogs/` (CloudFront, S3 server access logs, Firehose) give each delivery
//! a file name with a time stamp and a random id, which each format recognises
//! ([`LogFormat::names_one_delivery`]). Anything else, a file named by hand above all, names no
//! delivery: two such files are never taken for one.
//!
//! [`LogFormat::names_one_delivery`]: crate::LogFormat::names_one_delivery

use std::sync::LazyLock;

use memchr::memmem::FinderRev;

use crate::Format;

/// The folder where an AWS delivery's own key begins.
const DELIVERY_FOLDER: &[u8] = b"/AWSLogs/";

/// Its searcher, built once: a ledger's million URLs are searched at a time.
static DELIVERY_FOLDER_FINDER: LazyLock<FinderRev<'static>> =
    LazyLock::new(|| FinderRev::new(DELIVERY_FOLDER));

/// The part of `key` (an object key, or a URL) that names its AWS delivery wherever it is
/// copied: from the last `AWSLogs/` folder on; else the file name, when some format's
/// deliveries are named so; else `None`.
pub fn delivery_key(key: &[u8]) -> Option<&[u8]> {
    if let Some(folder) = DELIVERY_FOLDER_FINDER.rfind(key) {
        let own = &key[folder + 1..];
        return (own.len() > DELIVERY_FOLDER.len() - 1).then_some(own);
    }
    let file = &key[memchr::memrchr(b'/', key).map_or(0, |slash| slash + 1)..];
    let name = std::str::from_utf8(file).ok()?;
    Format::ALL
        .iter()
        .any(|format| format.parser().names_one_delivery(name))
        .then_some(file)
}

/// Whether `b` is `YYYY-MM-DD-hh-mm-ss-`, the time stamp before the id in the names of S3
/// access logs' and Firehose's deliveries (20 bytes).
pub(crate) fn is_name_stamp(b: &[u8]) -> bool {
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 | 10 | 13 | 16 | 19 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// Whether `id`, the random part of a delivery's file name, is long enough that two
/// deliveries of one service do not share it: at least 8 letters and digits (CloudFront's ids
/// have 8, S3 access logs' 16, Firehose's a UUID's 32).
pub(crate) fn is_random_id(id: &str) -> bool {
    id.bytes().filter(u8::is_ascii_alphanumeric).count() >= 8
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Option<&str> {
        delivery_key(text.as_bytes()).map(|k| std::str::from_utf8(k).unwrap())
    }

    #[test]
    fn awslogs_keys_name_their_delivery_from_that_folder_on() {
        let own = "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/03/07/x.log.gz";
        assert_eq!(key(&format!("s3://logs/{own}")), Some(own));
        assert_eq!(key(&format!("s3://central/org/copy/{own}")), Some(own));
        assert_eq!(key(&format!("file:///data/{own}")), Some(own));
        assert_eq!(key("s3://logs/AWSLogs/"), None);
        // Not a folder named so.
        assert_eq!(key("s3://logs/myAWSLogs/123/x.gz"), None);
    }

    #[test]
    fn deliveries_outside_awslogs_are_named_by_their_file() {
        for file in [
            // CloudFront standard logging, legacy and v2 text output.
            "E2ABCDEF123.2024-03-07-23.a1b2c3d4.gz",
            // S3 server access logs, simple and partitioned layouts.
            "2024-03-07-23-05-17-1A2B3C4D5E6F7A8B",
            // WAF through Firehose: stream, version, time, random id.
            "aws-waf-logs-shop-1-2024-03-07-23-05-00-0b1e2c3d-4a5b-6c7d-8e9f-0a1b2c3d4e5f.gz",
            "aws-waf-logs-shop-1-2024-03-07-23-05-00-0b1e2c3d",
        ] {
            assert_eq!(key(&format!("s3://replica/cdn/{file}")), Some(file));
            assert_eq!(key(file), Some(file));
        }
        for hand_named in [
            "s3://logs/access.log",
            "s3://logs/cdn/E2ABC.2024-03-07-23.a1.gz",
            "s3://logs/2024-03-07-23-05-17-AB",
            "s3://logs/aws-waf-logs-shop.log.gz",
            "s3://logs/shop-1-2024-03-07-23-05-00-0b1e2c3d",
            "file:///tmp/logs/sample.log.gz",
        ] {
            assert_eq!(key(hand_named), None, "{hand_named}");
        }
    }
}
