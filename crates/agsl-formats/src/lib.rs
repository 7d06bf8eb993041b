//! Parsers that turn the bytes of one AWS service log object into Arrow record batches of a
//! fixed schema, plus rejects for the lines that cannot be parsed.
//!
//! This crate is the hot path of agsl and knows nothing about storage, Parquet or AWS, so its
//! tests and benchmarks build in seconds. Every log type implements [`LogFormat`]; the
//! pipeline in the `agsl` crate drives them through [`ObjectDecoder`].
//!
//! # Example
//!
//! One object of two lines, AWS's example ALB line and a line that is not one: a row and a
//! reject that names its line, its reason and its bytes (`rows + rejects == lines`).
//!
//! ```
//! use agsl_formats::{Decoded, Format};
//! use arrow_array::cast::AsArray;
//! use arrow_array::types::Int32Type;
//!
//! let object = concat!(
//!     "http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 ",
//!     "192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 ",
//!     "\"GET http://www.example.com:80/ HTTP/1.1\" \"curl/7.46.0\" - - ",
//!     "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 ",
//!     "\"Root=1-58337262-36d228ad5d99923122bbe354\" \"-\" \"-\" 0 2018-07-02T22:22:48.364000Z ",
//!     "\"forward\" \"-\" \"-\" \"10.0.0.1:80\" \"200\" \"-\" \"-\"\n",
//!     "http not-a-time\n",
//! );
//! let decoded = Decoded::from_bytes(Format::Alb.parser(), object.as_bytes(), 1024)?;
//! assert_eq!((decoded.counts.lines, decoded.rows()), (2, 1));
//!
//! let batch = &decoded.batches[0];
//! let status = batch.column_by_name("elb_status_code").unwrap();
//! assert_eq!(status.as_primitive::<Int32Type>().value(0), 200);
//! let url = batch.column_by_name("request_url").unwrap().as_string::<i32>();
//! assert_eq!(url.value(0), "http://www.example.com:80/");
//!
//! let reject = &decoded.rejects[0];
//! assert_eq!((reject.line, reject.raw.as_slice()), (2, &b"http not-a-time"[..]));
//! println!("line {} rejected: {}", reject.line, reject.reason);
//! # Ok::<(), agsl_formats::DecodeError>(())
//! ```

#[macro_use]
mod registry;

mod columns;
mod decode;
pub mod delivery;
pub mod detect;
mod fields;
mod json;
mod json_lines;
pub mod raw;
pub mod sample;
#[cfg(test)]
mod test_support;
pub mod time;

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use arrow_schema::SchemaRef;

pub use decode::{
    DecodeCounts, DecodeError, DecodeOutput, Decoded, MAX_LINE_BYTES, ObjectDecoder, OwnedReject,
    Reject,
};
pub use fields::looks_like_region;
pub use vpc_flow::UnknownVpcField;

// Every format agsl knows, one line each, in the order the seed listed them (lists in help
// texts, errors and `--service auto`'s tie-breaks follow it). A format is its module: this line
// declares the module, names its parser, and adds its `Format` variant.
registry! {
    Alb => alb::AlbFormat,
    Elb => elb::ElbFormat,
    Cloudfront => cloudfront::CloudfrontFormat,
    Cloudtrail => cloudtrail::CloudtrailFormat,
    S3Access => s3_access::S3AccessFormat,
    VpcFlow => vpc_flow::VpcFlowFormat,
    Waf => waf::WafFormat,
    Nlb => nlb::NlbFormat,
    AlbConn => alb_conn::AlbConnFormat,
    Route53Resolver => route53_resolver::Route53ResolverFormat,
    CloudfrontV2 => cloudfront_v2::CloudfrontV2Format,
}

impl Format {
    /// The format's static facts (names, corpus folder, framing).
    pub fn info(self) -> &'static FormatInfo {
        self.parser().info()
    }

    /// The seed's service keyword (`alb`, `s3_access`, ...), used on the command line and in configs.
    pub fn keyword(self) -> &'static str {
        self.info().keyword
    }

    /// The seed's default name of the converted table (`vpcflow` for `vpc_flow`).
    pub fn table_name(self) -> &'static str {
        self.info().table_name
    }

    /// Every keyword, comma-separated in registry order, for help texts and errors.
    pub fn keywords() -> &'static str {
        static KEYWORDS: LazyLock<String> = LazyLock::new(|| {
            let keywords: Vec<&str> = Format::ALL.iter().map(|f| f.keyword()).collect();
            keywords.join(", ")
        });
        &KEYWORDS
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// Error for a service keyword that names no known format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown service `{0}`; expected one of: {keywords}", keywords = Format::keywords())]
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

/// A format travels (in a distributed run's work units) as its keyword.
impl serde::Serialize for Format {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.keyword())
    }
}

impl<'de> serde::Deserialize<'de> for Format {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let keyword = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        keyword.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ServiceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceChoice::One(format) => format.fmt(f),
            ServiceChoice::Auto => f.write_str("auto"),
        }
    }
}

/// One format, or every format detected per object (`auto`), as a job names its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceChoice {
    One(Format),
    /// Detect each object's service from its key, then its first line.
    Auto,
}

impl ServiceChoice {
    /// The one format, or `None` for `auto`.
    pub fn format(self) -> Option<Format> {
        match self {
            ServiceChoice::One(format) => Some(format),
            ServiceChoice::Auto => None,
        }
    }
}

/// Error for a service that is neither a known keyword nor `auto`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown service `{0}`; expected one of: {keywords}, auto", keywords = Format::keywords())]
pub struct UnknownServiceChoice(pub String);

impl FromStr for ServiceChoice {
    type Err = UnknownServiceChoice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(ServiceChoice::Auto),
            _ => s
                .parse()
                .map(ServiceChoice::One)
                .map_err(|_| UnknownServiceChoice(s.to_owned())),
        }
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
/// account folder of S3 access logs' partitioned layout), or a Hive-style
/// `aws-account-id=<account>` folder (VPC Flow Logs' Hive-compatible prefixes, CloudFront v2's
/// `AWSLogs/` folder) or `accountid=<account>` one (CloudFront v2's `{accountid}` variable).
/// CloudFront's legacy and simple-layout S3 keys name no account.
pub fn account_from_key(key: &str) -> Option<&str> {
    let (folders, _file) = key.rsplit_once('/')?;
    folders
        .split('/')
        .map(|folder| {
            folder
                .strip_prefix("aws-account-id=")
                .or_else(|| folder.strip_prefix("accountid="))
                .unwrap_or(folder)
        })
        .find(|folder| is_account_id(folder))
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

/// The static facts of a format, one constant in its module: names, where its real lines are,
/// framing, event time and partitioning, and the columns writers treat specially.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatInfo {
    /// The seed's service keyword (`alb`, `s3_access`, ...), used on the command line and in
    /// configs.
    pub keyword: &'static str,
    /// The seed's default name of the converted table (`vpcflow` for `vpc_flow`).
    pub table_name: &'static str,
    /// What AWS calls these logs, for help texts and docs.
    pub title: &'static str,
    /// The folder of the shared conformance corpus (`../shared/corpus/<folder>`) holding real
    /// lines of this format.
    pub corpus_folder: &'static str,
    pub framing: Framing,
    /// The timestamp column whose UTC date gives the `year`/`month`/`day` partition values.
    pub event_time_column: &'static str,
    pub partitioning: Partitioning,
    /// Columns whose values are nearly unique per row (request ids, precise timestamps). Writers
    /// skip dictionary encoding for them: it would only cost hashing and then fall back.
    pub unique_columns: &'static [&'static str],
    /// Text columns of high cardinality (addresses, URLs, user agents, request ids, JSON
    /// documents) whose values spread over their whole range in every row group, so min/max
    /// statistics could never prune a read. Writers skip statistics for them, which would cost
    /// two string comparisons per value.
    pub free_text_columns: &'static [&'static str],
    /// The column of bytes sent to the client, whose sum the sample generator records; `None`
    /// for formats without byte counts (CloudTrail).
    pub bytes_sent_column: Option<&'static str>,
    /// A low-cardinality column to count rows by in a summary (an HTTP status, a protocol, an
    /// API call).
    pub summary_column: &'static str,
    /// Rows per batch. 2,048 where lines average 300 bytes or more (about 1 MiB of input):
    /// builders of that size take 15 to 36 % fewer page faults than 5 MB ones, which are touched
    /// afresh for every batch, so ALB, S3 access, CloudFront, WAF and NLB spend 2 to 7 % less
    /// CPU and 13 to 19 % less peak memory than with 8,192 rows. Shorter lines (VPC flow,
    /// Classic ELB, connection logs), Route 53 Resolver's and CloudTrail's records keep 8,192:
    /// fewer rows gained them nothing (BENCHMARKS.md, 2026-12-06). A job may ask for fewer
    /// ([`LogFormat::decoder`]).
    pub batch_rows: usize,
    /// The folders after `AWSLogs/<account>/` that AWS delivers this format's objects into
    /// (`elasticloadbalancing`, `CloudTrail`, …); none for services that deliver elsewhere (S3
    /// access logs). An object in another service's folder is never this format's, whatever
    /// its file name ([`detect::route`]).
    pub aws_folders: &'static [&'static str],
}

/// The fields a delivery was configured to write, in order, for outputs that do not name them
/// in the object (CloudFront standard logging v2's `plain` output: its `recordFields` and
/// `fieldDelimiter`, as `aws logs get-delivery` shows them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldList {
    /// In order; empty when only the delimiter is configured.
    pub names: Vec<String>,
    /// The character between values [default: TAB].
    pub delimiter: u8,
}

impl FieldList {
    /// Names separated by commas or spaces (none: only the delimiter is configured); a
    /// delimiter of one ASCII character, `\t` for TAB.
    pub fn parse(names: &str, delimiter: Option<&str>) -> Result<Self, String> {
        let names: Vec<String> = names
            .split([',', ' '])
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect();
        let delimiter = match delimiter {
            None | Some("\\t") | Some("\t") => b'\t',
            Some(d) if d.len() == 1 && d.is_ascii() => d.as_bytes()[0],
            Some(d) => return Err(format!("delimiter `{d}` is not one ASCII character")),
        };
        Ok(Self { names, delimiter })
    }
}

/// How the records of an object sit in its bytes, for tools that cut objects into records and
/// put them back together (the fuzzer, property tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One record per line, its fields split by `field_separator`.
    Lines { field_separator: u8 },
    /// One JSON document whose `Records` array holds the records (CloudTrail).
    RecordsArray,
    /// One JSON object per line (WAF); pretty-printed and concatenated objects are read too.
    JsonLines,
}

/// One AWS service log type: everything agsl knows about it lives behind this trait, in the
/// format's own module, so the rest of the code iterates [`Format::ALL`] and never matches on
/// a format: its names, which objects are its own, its table schema and partitioning, its
/// decoder, its raw table, and the sample generator the demo and the tests use.
///
/// One decoder feeds one output schema today ([`schema`](LogFormat::schema)). A second
/// schema per format (OCSF for Security Lake, FORMATS.md 13) would be one more method here,
/// mapping this schema's batches to it: the registry lists formats, not tables or schemas, so
/// adding it changes no registry line and no other format.
pub trait LogFormat: Send + Sync {
    fn format(&self) -> Format;

    /// The format's static facts (names, framing, event time, partitioning, special columns).
    fn info(&self) -> &'static FormatInfo;

    /// The columns of the converted table, in wire order (partition columns and lineage excluded).
    fn schema(&self) -> SchemaRef;

    /// Whether an object key follows the delivery layout of this format's service (its own
    /// objects, or a sibling log type AWS writes beside them), for `--service auto`; [`route`]
    /// then says whether the object converts.
    ///
    /// [`route`]: LogFormat::route
    fn claims_key(&self, key: &str) -> bool;

    /// Whether an object key holds this format, from the key layout AWS delivers.
    fn route(&self, key: &str) -> Route;

    /// Whether AWS gives `file`, an object's file name, to one delivery of this format alone (a
    /// time stamp and a random id), so that the name and the size tell the delivery wherever a
    /// copy of it lies ([`delivery::delivery_key`]). Formats delivered under `AWSLogs/` need not
    /// say: their key from that folder on tells their deliveries.
    fn names_one_delivery(&self, _file: &str) -> bool {
        false
    }

    /// Whether `line`, the first line of an object (decompressed, line end trimmed), looks like
    /// this format's, for `--service auto` on keys that say nothing.
    fn claims_first_line(&self, line: &str) -> bool;

    /// The AWS region an object belongs to, when its key says so.
    fn region_from_key(&self, key: &str) -> Option<String>;

    /// Each row's region from the records themselves, for objects whose key names none (WAF
    /// logs delivered through Firehose carry their web ACL's ARN); `None` when the format has
    /// no such fallback. A NULL entry leaves that row in Hive's default partition.
    fn row_regions(&self, _batch: &arrow_array::RecordBatch) -> Option<arrow_array::StringArray> {
        None
    }

    /// A fresh decoder producing batches of at most `batch_size` rows; agsl's pipeline and
    /// readers pass the format's [`FormatInfo::batch_rows`] or their own limit, whichever is
    /// smaller.
    fn decoder(&self, batch_size: usize) -> Box<dyn ObjectDecoder>;

    /// The raw table Athena reads the delivered objects through.
    fn raw_table(&self) -> raw::RawTable;

    /// This format reading objects that do not name their fields with the field list their
    /// delivery was configured with; an error names a field it does not know, or says that
    /// the format takes no field list.
    fn with_field_list(&self, fields: &FieldList) -> Result<Box<dyn LogFormat>, String> {
        let _ = fields;
        Err(format!(
            "{} objects name their own fields; a field list is for cloudfront_v2's plain output",
            self.info().keyword
        ))
    }

    /// Realistic objects of `plan`, in the key layout AWS delivers them, generated lazily.
    fn sample(
        &self,
        plan: sample::SamplePlan,
    ) -> Box<dyn Iterator<Item = sample::SampleObject> + Send>;
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
        let hive = "AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/\
                    aws-region=us-east-1/year=2024/month=03/day=07/f.log.gz";
        assert_eq!(account_from_key(hive), Some("111122223333"));
        let cloudfront = "cf/accountid=111122223333/DistributionId=E1AB/year=2025/month=09/\
                          day=23/hour=08/E1AB.2025-09-23-08.abcdef01.gz";
        assert_eq!(account_from_key(cloudfront), Some("111122223333"));
        // The file name holds the account too, but only folders count; 13 digits are not one.
        assert_eq!(
            account_from_key("123456789012_elasticloadbalancing_x.log"),
            None
        );
        assert_eq!(account_from_key("x/1234567890123/f"), None);
        assert_eq!(account_from_key("E2ABC.2024-03-07-10.abcd.gz"), None);
    }
}
