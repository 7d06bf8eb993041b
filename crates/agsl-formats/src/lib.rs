//! Parsers that turn the bytes of one AWS service log object into Arrow record batches of a
//! fixed schema, plus rejects for the lines that cannot be parsed.
//!
//! This crate is the hot path of agsl and knows nothing about storage, Parquet or AWS, so its
//! tests and benchmarks build in seconds. Every log type implements [`LogFormat`]; the
//! pipeline in the `agsl` crate drives them through [`ObjectDecoder`].

mod alb;
mod cloudfront;
mod cloudtrail;
mod columns;
mod decode;
pub mod detect;
mod elb;
mod fields;
mod json;
mod s3_access;
pub mod sample;
#[cfg(test)]
mod test_support;
pub mod time;
mod vpc_flow;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arrow_schema::SchemaRef;

pub use alb::AlbFormat;
pub use cloudfront::CloudfrontFormat;
pub use cloudtrail::CloudtrailFormat;
pub use decode::{
    DecodeCounts, DecodeError, DecodeOutput, Decoded, MAX_LINE_BYTES, ObjectDecoder, OwnedReject,
    Reject,
};
pub use elb::ElbFormat;
pub use fields::looks_like_region;
pub use s3_access::S3AccessFormat;
pub use vpc_flow::{UnknownVpcField, VpcFlowFormat};

/// The AWS service log types agsl knows, named by the seed project's service keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Format {
    Alb,
    Elb,
    Cloudfront,
    Cloudtrail,
    S3Access,
    VpcFlow,
}

impl Format {
    /// Every format, in the order the seed project listed them.
    pub const ALL: [Format; 6] = [
        Format::Alb,
        Format::Elb,
        Format::Cloudfront,
        Format::Cloudtrail,
        Format::S3Access,
        Format::VpcFlow,
    ];

    /// The seed's service keyword (`alb`, `s3_access`, ...), used on the command line and in configs.
    pub fn keyword(self) -> &'static str {
        match self {
            Format::Alb => "alb",
            Format::Elb => "elb",
            Format::Cloudfront => "cloudfront",
            Format::Cloudtrail => "cloudtrail",
            Format::S3Access => "s3_access",
            Format::VpcFlow => "vpc_flow",
        }
    }

    /// The seed's default name of the converted table (`vpcflow` for `vpc_flow`).
    pub fn table_name(self) -> &'static str {
        match self {
            Format::VpcFlow => "vpcflow",
            other => other.keyword(),
        }
    }

    /// The parser for this format.
    pub fn parser(self) -> Arc<dyn LogFormat> {
        match self {
            Format::Alb => Arc::new(AlbFormat),
            Format::Elb => Arc::new(ElbFormat),
            Format::Cloudfront => Arc::new(CloudfrontFormat),
            Format::S3Access => Arc::new(S3AccessFormat),
            Format::Cloudtrail => Arc::new(CloudtrailFormat),
            Format::VpcFlow => Arc::new(VpcFlowFormat::default()),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// Error for a service keyword that names no known format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown service `{0}`; expected one of: alb, elb, cloudfront, cloudtrail, s3_access, vpc_flow"
)]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.keyword() == s)
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// How the converted table of a format is partitioned (Hive style, all values strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partitioning {
    /// `region=/year=/month=/day=`: region from the object key, the date from the event time.
    RegionDate,
    /// `year=/month=/day=`: the date from the event time (CloudFront, S3 access).
    Date,
}

/// Hive's name for a NULL partition value, used when an object key names no region.
pub const HIVE_DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// The AWS account an object belongs to, from its key: the first folder of exactly 12 digits
/// (`AWSLogs/<account>/…`, an organization trail's `AWSLogs/o-…/<account>/…`, or the source
/// account folder of S3 access logs' partitioned layout). CloudFront and simple-layout S3 keys
/// name no account.
pub fn account_from_key(key: &str) -> Option<&str> {
    let (folders, _file) = key.rsplit_once('/')?;
    folders.split('/').find(|s| is_account_id(s))
}

/// Whether `text` is an AWS account id: exactly 12 digits.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

impl Partitioning {
    /// The partition key names, in path order.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            Partitioning::RegionDate => &["region", "year", "month", "day"],
            Partitioning::Date => &["year", "month", "day"],
        }
    }

    /// The Hive partition path of a row: `region=r/year=YYYY/month=MM/day=DD` (zero-padded, as
    /// the seed wrote them), for `day` days since 1970-01-01 (UTC).
    pub fn path(self, region: Option<&str>, day: i64) -> String {
        let (year, month, day) = time::civil_from_days(day);
        let date = format!("year={year:04}/month={month:02}/day={day:02}");
        match self {
            Partitioning::RegionDate => {
                format!("region={}/{date}", region.unwrap_or(HIVE_DEFAULT_PARTITION))
            }
            Partitioning::Date => date,
        }
    }
}

/// What the pipeline should do with a source object, decided from its key alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Convert,
    /// Not an object of this format (another log type under the same prefix, a digest, ...).
    Skip(&'static str),
}

/// One AWS service log type: its table schema, which objects belong to it, and its decoder.
pub trait LogFormat: Send + Sync {
    fn format(&self) -> Format;

    /// The columns of the converted table, in wire order (partition columns and lineage excluded).
    fn schema(&self) -> SchemaRef;

    /// The timestamp column whose UTC date gives the `year`/`month`/`day` partition values.
    fn event_time_column(&self) -> &'static str;

    fn partitioning(&self) -> Partitioning;

    /// Whether an object key holds this format, from the key layout AWS delivers.
    fn route(&self, key: &str) -> Route;

    /// The AWS region an object belongs to, when its key says so.
    fn region_from_key(&self, key: &str) -> Option<String>;

    /// Columns whose values are nearly unique per row (request ids, precise timestamps). Writers
    /// skip dictionary encoding for them: it would only cost hashing and then fall back.
    fn unique_columns(&self) -> &'static [&'static str] {
        &[]
    }

    /// Text columns of high cardinality (addresses, URLs, user agents, request ids, JSON
    /// documents) whose values spread over their whole range in every row group, so min/max
    /// statistics could never prune a read. Writers skip statistics for them, which would cost
    /// two string comparisons per value.
    fn free_text_columns(&self) -> &'static [&'static str] {
        &[]
    }

    /// A fresh decoder producing batches of at most `batch_size` rows.
    fn decoder(&self, batch_size: usize) -> Box<dyn ObjectDecoder>;
}

#[cfg(test)]
mod tests {
    use super::account_from_key;

    #[test]
    fn accounts_come_from_twelve_digit_folders() {
        let alb = "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/03/07/\
                   123456789012_elasticloadbalancing_us-east-1_app.lb.1_20240307T0000Z_1.2.3.4_x.log.gz";
        assert_eq!(account_from_key(alb), Some("123456789012"));
        let org = "AWSLogs/o-abc123/210987654321/CloudTrail/eu-west-1/2024/03/07/f.json.gz";
        assert_eq!(account_from_key(org), Some("210987654321"));
        let s3 = "logs/111122223333/us-east-1/bucket/2024/03/07/2024-03-07-10-00-00-ABC";
        assert_eq!(account_from_key(s3), Some("111122223333"));
        // The file name holds the account too, but only folders count; 13 digits are not one.
        assert_eq!(
            account_from_key("123456789012_elasticloadbalancing_x.log"),
            None
        );
        assert_eq!(account_from_key("x/1234567890123/f"), None);
        assert_eq!(account_from_key("E2ABC.2024-03-07-10.abcd.gz"), None);
    }
}
