//! Raw (source) tables: Athena reads the logs as AWS delivered them. ALB, Classic ELB and S3
//! access logs use the Regex SerDe with a pattern built here field by field; CloudFront and VPC
//! Flow Logs are delimited text (tab, space) with header lines skipped, CloudTrail uses the
//! CloudTrail SerDe, all as in AWS's published Athena DDL.
//!
//! Choices: every Regex SerDe column is `string` (a value that does not cast would turn NULL or
//! drop the row, depending on the engine; the converted table is the typed one). Fields AWS
//! added over the years are optional at the end of each pattern, so old and new lines match,
//! and unknown trailing fields are ignored. The patterns use only what Java's and Rust's regex
//! engines share, so agsl's tests check them against the corpus with the `regex` crate, and in
//! Java itself. Athena matches them with `java.util.regex` on threads with a 1 MB stack, where
//! a repeated alternation (`(?:[^"\\]|\\.)*`) recurses once per character and overflows on
//! lines with fields of a few KB; so every repetition is of a character class (iterative in
//! Java) or an unrolled loop that repeats once per escape, never per character. Quoted fields
//! use possessive loops (`*+`), which Java runs without recursion however many escapes a user
//! agent holds; they match exactly what the greedy loops match (the classes exclude the
//! character that follows them), and the `regex` crate, which has no possessive quantifiers,
//! checks their greedy twin ([`greedy_twin`]). The request line's URL must give back its last
//! space to the protocol, so its loop stays greedy: it recurses once per escaped quote, which
//! URLs (percent-encoded) do not carry in the hundreds.

use std::collections::BTreeMap;

use agsl_formats::Format;

use super::hive::{folder_url, partition_keys};
use super::{Column, ROLE_PARAMETER, SERVICE_PARAMETER, StorageFormat, TableDefinition};
use crate::sink::{PartitionLayout, TablePartitioning};

const TEXT_INPUT: &str = "org.apache.hadoop.mapred.TextInputFormat";
const TEXT_OUTPUT: &str = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat";
const REGEX_SERDE: &str = "org.apache.hadoop.hive.serde2.RegexSerDe";
const LAZY_SERDE: &str = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe";

/// How a raw table's partitions map onto the source folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawLayout {
    /// `…/<region>/<yyyy>/<mm>/<dd>/` folders, one partition each (not Hive-style).
    RegionDateFolders,
    /// One flat prefix; the table is not partitioned (the seed's NullPartitioner).
    Flat,
}

impl RawLayout {
    pub fn of(format: Format) -> Self {
        match format {
            Format::Cloudfront | Format::S3Access => RawLayout::Flat,
            _ => RawLayout::RegionDateFolders,
        }
    }
}

/// One field on the wire and the columns it fills.
#[derive(Clone, Copy)]
enum Field {
    /// A token up to the next space.
    Bare(&'static str),
    /// `"…"` with `\"` escapes (load balancers escape quotes).
    Quoted(&'static str),
    /// `"…"` or a bare token (producers differ: ALB target lists, older domain names).
    MaybeQuoted(&'static str),
    /// `"…"` that may hold unescaped quotes (S3), or a bare `-` (NULL).
    QuotedOrDash(&'static str),
    /// `[…]` (S3 time).
    Bracketed(&'static str),
    /// `ip:port`, split on the last `:`.
    IpPort(&'static str, &'static str),
    /// `ip:port` or `-` (both NULL).
    IpPortOrDash(&'static str, &'static str),
    /// `"VERB URL PROTO"`, split at the first and last space.
    Request,
}

impl Field {
    fn pattern(self) -> &'static str {
        match self {
            Field::Bare(_) => r"([^ ]*)",
            Field::Quoted(_) => r#""([^"\\]*+(?:\\.[^"\\]*+)*+)""#,
            Field::MaybeQuoted(_) => r#""?([^"]*?)"?"#,
            Field::QuotedOrDash(_) => r#"(?:"(.*?)"|-)"#,
            Field::Bracketed(_) => r"\[([^\]]*)\]",
            Field::IpPort(..) => r"([^ ]*):([0-9]*)",
            Field::IpPortOrDash(..) => r"(?:([^ ]*):([0-9]*)|-)",
            Field::Request => r#""([^ "]*) ([^"\\]*(?:\\.[^"\\]*)*) ([^ "]*)""#,
        }
    }

    fn columns(self) -> Vec<&'static str> {
        match self {
            Field::Bare(c)
            | Field::Quoted(c)
            | Field::MaybeQuoted(c)
            | Field::QuotedOrDash(c)
            | Field::Bracketed(c) => vec![c],
            Field::IpPort(ip, port) | Field::IpPortOrDash(ip, port) => vec![ip, port],
            Field::Request => vec!["request_verb", "request_url", "request_proto"],
        }
    }
}

use Field::{Bare, Bracketed, IpPort, IpPortOrDash, MaybeQuoted, Quoted, QuotedOrDash, Request};

/// ALB fields in wire order; lines with at least the first 16 exist (2016 on).
const ALB_FIELDS: &[Field] = &[
    Bare("type"),
    Bare("time"),
    Bare("elb"),
    IpPort("client_ip", "client_port"),
    IpPortOrDash("target_ip", "target_port"),
    Bare("request_processing_time"),
    Bare("target_processing_time"),
    Bare("response_processing_time"),
    Bare("elb_status_code"),
    Bare("target_status_code"),
    Bare("received_bytes"),
    Bare("sent_bytes"),
    Request,
    Quoted("user_agent"),
    Bare("ssl_cipher"),
    Bare("ssl_protocol"),
    Bare("target_group_arn"),
    Quoted("trace_id"),
    MaybeQuoted("domain_name"),
    MaybeQuoted("chosen_cert_arn"),
    Bare("matched_rule_priority"),
    Bare("request_creation_time"),
    Quoted("actions_executed"),
    Quoted("redirect_url"),
    Quoted("error_reason"),
    MaybeQuoted("target_port_list"),
    MaybeQuoted("target_status_code_list"),
    Quoted("classification"),
    Quoted("classification_reason"),
    Bare("conn_trace_id"),
    Quoted("transformed_host"),
    Quoted("transformed_uri"),
    Quoted("request_transform_status"),
];
const ALB_REQUIRED: usize = 16;

/// Classic ELB fields; lines before 2015 end after the request.
const ELB_FIELDS: &[Field] = &[
    Bare("time"),
    Bare("elb"),
    IpPort("client_ip", "client_port"),
    IpPortOrDash("backend_ip", "backend_port"),
    Bare("request_processing_time"),
    Bare("backend_processing_time"),
    Bare("response_processing_time"),
    Bare("elb_status_code"),
    Bare("backend_status_code"),
    Bare("received_bytes"),
    Bare("sent_bytes"),
    Request,
    Quoted("user_agent"),
    Bare("ssl_cipher"),
    Bare("ssl_protocol"),
];
const ELB_REQUIRED: usize = 12;

/// S3 server access log fields; the oldest lines end after `user_agent`.
const S3_FIELDS: &[Field] = &[
    Bare("bucket_owner"),
    Bare("bucket"),
    Bracketed("time"),
    Bare("remote_ip"),
    Bare("requester"),
    Bare("request_id"),
    Bare("operation"),
    Bare("key"),
    QuotedOrDash("request_uri"),
    Bare("http_status"),
    Bare("error_code"),
    Bare("bytes_sent"),
    Bare("object_size"),
    Bare("total_time"),
    Bare("turnaround_time"),
    QuotedOrDash("referrer"),
    QuotedOrDash("user_agent"),
    Bare("version_id"),
    Bare("host_id"),
    Bare("signature_version"),
    Bare("cipher_suite"),
    Bare("authentication_type"),
    Bare("host_header"),
    Bare("tls_version"),
    Bare("access_point_arn"),
    Bare("acl_required"),
    Bare("source_region"),
];
const S3_REQUIRED: usize = 17;

/// The whole-line pattern (the Regex SerDe matches whole lines) of `fields`: the first
/// `required` always, each later one only after the one before it, anything unknown after.
/// The pattern with every possessive quantifier (`*+`, `++`) made greedy: the same matches for
/// agsl's patterns, in a form the `regex` crate (which has no possessive quantifiers) accepts.
pub fn greedy_twin(pattern: &str) -> String {
    pattern.replace("*+", "*").replace("++", "+")
}

fn line_regex(fields: &[Field], required: usize) -> String {
    let mut regex = String::new();
    for (i, field) in fields[..required].iter().enumerate() {
        if i > 0 {
            regex.push(' ');
        }
        regex.push_str(field.pattern());
    }
    let optional = &fields[required..];
    for field in optional {
        regex.push_str("(?: ");
        regex.push_str(field.pattern());
    }
    regex.push_str(&")?".repeat(optional.len()));
    regex.push_str("(?: .*)?");
    regex
}

fn regex_fields(format: Format) -> Option<(&'static [Field], usize)> {
    match format {
        Format::Alb => Some((ALB_FIELDS, ALB_REQUIRED)),
        Format::Elb => Some((ELB_FIELDS, ELB_REQUIRED)),
        Format::S3Access => Some((S3_FIELDS, S3_REQUIRED)),
        _ => None,
    }
}

/// CloudFront's 33 standard log fields (W3C names, `-` and `()` as `_`).
const CLOUDFRONT_COLUMNS: &[&str] = &[
    "date",
    "time",
    "x_edge_location",
    "sc_bytes",
    "c_ip",
    "cs_method",
    "cs_host",
    "cs_uri_stem",
    "sc_status",
    "cs_referrer",
    "cs_user_agent",
    "cs_uri_query",
    "cs_cookie",
    "x_edge_result_type",
    "x_edge_request_id",
    "x_host_header",
    "cs_protocol",
    "cs_bytes",
    "time_taken",
    "x_forwarded_for",
    "ssl_protocol",
    "ssl_cipher",
    "x_edge_response_result_type",
    "cs_protocol_version",
    "fle_status",
    "fle_encrypted_fields",
    "c_port",
    "time_to_first_byte",
    "x_edge_detailed_result_type",
    "sc_content_type",
    "sc_content_len",
    "sc_range_start",
    "sc_range_end",
];

/// The VPC Flow Logs default (version 2) format, as AWS's Athena DDL types it.
const VPC_DEFAULT_COLUMNS: &[(&str, &str)] = &[
    ("version", "int"),
    ("account_id", "string"),
    ("interface_id", "string"),
    ("srcaddr", "string"),
    ("dstaddr", "string"),
    ("srcport", "int"),
    ("dstport", "int"),
    ("protocol", "bigint"),
    ("packets", "bigint"),
    ("bytes", "bigint"),
    ("start", "bigint"),
    ("end", "bigint"),
    ("action", "string"),
    ("log_status", "string"),
];

const CLOUDTRAIL_COLUMNS: &[(&str, &str)] = &[
    ("eventversion", "string"),
    (
        "useridentity",
        "struct<type:string,principalid:string,arn:string,accountid:string,invokedby:string,accesskeyid:string,username:string,sessioncontext:struct<attributes:struct<mfaauthenticated:string,creationdate:string>,sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>,sourceidentity:string>>",
    ),
    ("eventtime", "string"),
    ("eventsource", "string"),
    ("eventname", "string"),
    ("awsregion", "string"),
    ("sourceipaddress", "string"),
    ("useragent", "string"),
    ("errorcode", "string"),
    ("errormessage", "string"),
    ("requestparameters", "string"),
    ("responseelements", "string"),
    ("additionaleventdata", "string"),
    ("requestid", "string"),
    ("eventid", "string"),
    (
        "resources",
        "array<struct<arn:string,accountid:string,type:string>>",
    ),
    ("eventtype", "string"),
    ("apiversion", "string"),
    ("readonly", "string"),
    ("recipientaccountid", "string"),
    ("serviceeventdetails", "string"),
    ("sharedeventid", "string"),
    ("vpcendpointid", "string"),
    ("vpcendpointaccountid", "string"),
    ("eventcategory", "string"),
    (
        "tlsdetails",
        "struct<tlsversion:string,ciphersuite:string,clientprovidedhostheader:string>",
    ),
];

/// The raw table of `format` over `location` (the source folder). `vpc_fields` are the field
/// names of the VPC objects' header line, when known (custom formats); the default format's
/// otherwise. With the account `layout`, partitioned raw tables are led by `account_id` too.
pub fn raw_table(
    format: Format,
    layout: PartitionLayout,
    database: &str,
    name: &str,
    location: &str,
    vpc_fields: Option<&[String]>,
) -> TableDefinition {
    let mut parameters = BTreeMap::from([
        ("EXTERNAL".to_owned(), "TRUE".to_owned()),
        (SERVICE_PARAMETER.to_owned(), format.to_string()),
        (ROLE_PARAMETER.to_owned(), "raw".to_owned()),
    ]);
    let text = |serde: &str, serde_parameters: BTreeMap<String, String>| StorageFormat {
        input_format: TEXT_INPUT.into(),
        output_format: TEXT_OUTPUT.into(),
        serde_library: serde.into(),
        serde_parameters,
    };
    let strings = |names: &[&str]| -> Vec<Column> {
        names.iter().map(|n| Column::new(*n, "string")).collect()
    };
    let (columns, storage) = match format {
        Format::Alb | Format::Elb | Format::S3Access => {
            let (fields, required) = regex_fields(format).expect("regex formats have fields");
            let names: Vec<&str> = fields.iter().flat_map(|f| f.columns()).collect();
            let regex = line_regex(fields, required);
            parameters.insert("classification".into(), "regex".into());
            (
                strings(&names),
                text(
                    REGEX_SERDE,
                    BTreeMap::from([("input.regex".to_owned(), regex)]),
                ),
            )
        }
        Format::Cloudfront => {
            parameters.insert("skip.header.line.count".into(), "2".into());
            parameters.insert("classification".into(), "csv".into());
            (
                strings(CLOUDFRONT_COLUMNS),
                text(LAZY_SERDE, delimited("\t")),
            )
        }
        Format::VpcFlow => {
            parameters.insert("skip.header.line.count".into(), "1".into());
            parameters.insert("classification".into(), "csv".into());
            let columns = match vpc_fields {
                Some(fields) if !fields.is_empty() => fields
                    .iter()
                    .map(|f| {
                        let name = f.replace('-', "_");
                        let known = VPC_DEFAULT_COLUMNS.iter().find(|(c, _)| *c == name);
                        Column::new(&name, known.map_or("string", |(_, t)| *t))
                    })
                    .collect(),
                _ => VPC_DEFAULT_COLUMNS
                    .iter()
                    .map(|(n, t)| Column::new(*n, *t))
                    .collect(),
            };
            (columns, text(LAZY_SERDE, delimited(" ")))
        }
        Format::Cloudtrail => {
            parameters.insert("classification".into(), "cloudtrail".into());
            (
                CLOUDTRAIL_COLUMNS
                    .iter()
                    .map(|(n, t)| Column::new(*n, *t))
                    .collect(),
                StorageFormat {
                    input_format: "com.amazon.emr.cloudtrail.CloudTrailInputFormat".into(),
                    output_format: TEXT_OUTPUT.into(),
                    serde_library: "com.amazon.emr.hive.serde.CloudTrailSerde".into(),
                    serde_parameters: BTreeMap::new(),
                },
            )
        }
        _ => unreachable!("every format has a raw table"),
    };
    let partition_keys = match RawLayout::of(format) {
        RawLayout::RegionDateFolders => partition_keys(TablePartitioning::new(
            agsl_formats::Partitioning::RegionDate,
            layout,
        )),
        RawLayout::Flat => Vec::new(),
    };
    TableDefinition {
        database: database.to_owned(),
        name: name.to_owned(),
        location: folder_url(location),
        columns,
        partition_keys,
        storage,
        parameters,
    }
}

fn delimited(separator: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("field.delim".to_owned(), separator.to_owned()),
        ("serialization.format".to_owned(), separator.to_owned()),
    ])
}

/// The raw partition of a source object (or of its folder, a URL ending in `/`): its folder
/// URL and `[region, yyyy, mm, dd]`, when
/// the URL ends in `…/<region>/<yyyy>/<mm>/<dd>/<file>` as AWS delivers these services.
pub(crate) fn raw_partition(object_url: &str) -> Option<super::Partition> {
    let (folder, _file) = object_url.rsplit_once('/')?;
    let mut parts = folder.rsplitn(5, '/');
    let day = parts.next()?;
    let month = parts.next()?;
    let year = parts.next()?;
    let region = parts.next()?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let region_like = region.split('-').count() >= 3
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (digits(year, 4) && digits(month, 2) && digits(day, 2) && region_like).then(|| {
        super::Partition {
            values: vec![region.into(), year.into(), month.into(), day.into()],
            location: format!("{folder}/"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_groups_match_the_columns() {
        for format in [Format::Alb, Format::Elb, Format::S3Access] {
            let table = raw_table(format, PartitionLayout::Seed, "raw", "t", "s3://b/p", None);
            let pattern = &table.storage.serde_parameters["input.regex"];
            let regex = regex::Regex::new(&greedy_twin(pattern)).unwrap();
            assert_eq!(regex.captures_len() - 1, table.columns.len(), "{format}");
        }
    }

    #[test]
    fn raw_partitions_come_from_the_delivery_folders() {
        let p = raw_partition(
            "s3://b/AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/03/07/x.log.gz",
        )
        .unwrap();
        assert_eq!(p.values, ["us-east-1", "2024", "03", "07"]);
        assert_eq!(
            p.location,
            "s3://b/AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/03/07/"
        );
        assert!(raw_partition("file:///logs/hand-collected.log").is_none());
        assert!(raw_partition("s3://b/x/us-east-1/2024/3/07/f").is_none());
    }

    #[test]
    fn vpc_raw_columns_follow_the_header() {
        let fields: Vec<String> = ["version", "vpc-id", "srcport", "start"]
            .map(String::from)
            .into();
        let table = raw_table(
            Format::VpcFlow,
            PartitionLayout::Seed,
            "raw",
            "t",
            "s3://b/p",
            Some(&fields),
        );
        let columns: Vec<_> = table
            .columns
            .iter()
            .map(|c| format!("{} {}", c.name, c.data_type))
            .collect();
        assert_eq!(
            columns,
            [
                "version int",
                "vpc_id string",
                "srcport int",
                "start bigint"
            ]
        );
    }
}
