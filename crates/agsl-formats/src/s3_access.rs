//! S3 server access logs (FORMATS.md section 4): plain-text objects without extension, one
//! space-separated line per request; the time is `[bracketed]`, request URI, referrer and user
//! agent are `"quoted"`; 17 to 27 fields depending on the era.
//!
//! Choices where the spec leaves room:
//! - Column names are the seed's for fields 1-24 (all typed here; the seed kept strings), then
//!   `access_point_arn`, `acl_required`, `source_region`. The request URI is kept whole in
//!   `request_uri` (seed) and also split into `request_verb`, `request_url`, `request_proto`.
//! - S3 does not escape `"` inside the quoted request line, referrer and user agent, so the
//!   structure of the rest of the line decides where each ends ([`split`]); a line that no split,
//!   or more than one, fits is rejected with that reason. Quoted positions also accept a bare `-`
//!   (BATCH.DELETE and lifecycle lines write them so). The request line must be `-` or end with
//!   an HTTP version.
//! - `acl_required` is Boolean: `Yes` true, `-` false when the field is present, NULL on older
//!   lines without it.
//! - Lines with fewer than 17 fields (ending before the user agent) are rejected; fields after
//!   the 27th are ignored. Rows that share a `request_id` are all kept (the seed collapsed them).
//! - `key` is kept URL-encoded as delivered.

use std::sync::{Arc, LazyLock};

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, Schema, SchemaRef};

use crate::columns::columns;
use crate::decode::{LineDecoder, LineKind, LineParser};
use crate::fields::{self, Reason};
use crate::raw::WireField::{Bare, Bracketed, QuotedOrDash};
use crate::raw::{RawLayout, RawSerde, RawTable, WireLayout};
use crate::sample::{SampleObject, SamplePlan};
use crate::{Format, FormatInfo, Framing, LogFormat, ObjectDecoder, Partitioning, Route};

mod sample;
mod split;

/// S3 server access log fields in wire order, declared once: the splitter's positions and
/// field names and the raw table's regular expression are read from it. The oldest lines end
/// after `user_agent`; later fields on a line are ignored.
const WIRE: WireLayout = WireLayout {
    fields: &[
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
    ],
    required: 17,
};
const KNOWN_FIELDS: usize = WIRE.known();

columns! {
    pub(crate) struct S3AccessColumns {
        bucket_owner: Utf8 = "bucket_owner",
        bucket: Utf8 = "bucket",
        time: TimestampUtc = "time",
        remote_ip: Utf8 = "remote_ip",
        requester: Utf8 = "requester",
        request_id: Utf8 = "request_id",
        operation: Utf8 = "operation",
        key: Utf8 = "key",
        request_uri: Utf8 = "request_uri",
        request_verb: Utf8 = "request_verb",
        request_url: Utf8 = "request_url",
        request_proto: Utf8 = "request_proto",
        http_status: Int32 = "http_status",
        error_code: Utf8 = "error_code",
        bytes_sent: Int64 = "bytes_sent",
        object_size: Int64 = "object_size",
        total_time: Int64 = "total_time",
        turnaround_time: Int64 = "turnaround_time",
        referrer: Utf8 = "referrer",
        user_agent: Utf8 = "user_agent",
        version_id: Utf8 = "version_id",
        host_id: Utf8 = "host_id",
        signature_version: Utf8 = "signature_version",
        cipher_suite: Utf8 = "cipher_suite",
        authentication_type: Utf8 = "authentication_type",
        host_header: Utf8 = "host_header",
        tls_version: Utf8 = "tls_version",
        access_point_arn: Utf8 = "access_point_arn",
        acl_required: Boolean = "acl_required",
        source_region: Utf8 = "source_region",
    }
}

static SCHEMA: LazyLock<SchemaRef> =
    LazyLock::new(|| Arc::new(Schema::new(S3AccessColumns::fields())));

/// The format's static facts: names, corpus, framing, event time, partitions, special columns.
const INFO: FormatInfo = FormatInfo {
    keyword: "s3_access",
    table_name: "s3_access",
    title: "S3 server access logs",
    corpus_folder: "s3access",
    framing: Framing::Lines {
        field_separator: b' ',
    },
    bytes_sent_column: Some("bytes_sent"),
    event_time_column: "time",
    partitioning: Partitioning::Date,
    unique_columns: &["request_id", "host_id"],
    free_text_columns: &[
        "remote_ip",
        "request_id",
        "key",
        "request_uri",
        "request_url",
        "referrer",
        "user_agent",
        "version_id",
        "host_id",
    ],
    summary_column: "http_status",
    batch_rows: 2048,
    aws_folders: &[],
};

/// The S3 server access log format (`s3_access`).
#[derive(Debug, Clone, Copy, Default)]
pub struct S3AccessFormat;

impl LogFormat for S3AccessFormat {
    fn info(&self) -> &'static FormatInfo {
        &INFO
    }

    fn format(&self) -> Format {
        Format::S3Access
    }

    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    /// `[prefix]YYYY-MM-DD-hh-mm-ss-<UniqueString>` with no extension, in the simple (flat) or
    /// the partitioned (`<account>/<region>/<bucket>/YYYY/MM/DD/`) key layout.
    fn claims_key(&self, key: &str) -> bool {
        is_delivered_name(key.rsplit('/').next().unwrap_or(key))
    }

    /// A delivered name whose `UniqueString` (16 characters) tells it from the other
    /// deliveries of that second.
    fn names_one_delivery(&self, file: &str) -> bool {
        is_delivered_name(file)
            && file
                .rsplit('-')
                .next()
                .is_some_and(crate::delivery::is_random_id)
    }

    /// Delivered names, and hand-collected `.log` files too.
    fn route(&self, key: &str) -> Route {
        let file = key.rsplit('/').next().unwrap_or(key);
        if self.claims_key(key) || file.ends_with(".log") || file.ends_with(".log.gz") {
            Route::Convert
        } else {
            Route::Skip("not an S3 access log object name")
        }
    }

    /// `79a59df9… bucket [06/Feb/2019:00:00:38 +0000] …`: a hex owner id, then a bracketed time.
    fn claims_first_line(&self, line: &str) -> bool {
        let mut tokens = line.split(' ');
        let owner = tokens.next().unwrap_or_default();
        let time = tokens.nth(1).unwrap_or_default();
        time.starts_with('[') && owner.len() >= 4 && owner.bytes().all(|b| b.is_ascii_hexdigit())
    }

    fn region_from_key(&self, _key: &str) -> Option<String> {
        None
    }

    fn decoder(&self, batch_size: usize) -> Box<dyn ObjectDecoder> {
        Box::new(LineDecoder::new(
            S3AccessLineParser::new(batch_size),
            batch_size,
        ))
    }

    /// The Regex SerDe over one flat prefix (the seed's layout; the partitioned key layout's
    /// folders are not read as partitions).
    fn raw_table(&self) -> RawTable {
        RawTable {
            serde: RawSerde::Regex(WIRE),
            layout: RawLayout::Flat,
        }
    }

    fn sample(&self, plan: SamplePlan) -> Box<dyn Iterator<Item = SampleObject> + Send> {
        Box::new(sample::objects(plan))
    }
}

/// `2019-02-06-00-05-17-1A2B3C4D5E6F7A8B`: six numeric groups, then an alphanumeric id. AWS
/// puts the bucket's target prefix before it as it is, so a prefix that does not end in `/`
/// leaves its last part in the name (`access-logs-2019-…`, `logs2019-…`); such a name must
/// end in AWS's own id, 16 upper-case hexadecimal characters, so that names of other
/// services that end in a time stamp and an id (Firehose's, whose id is a lower-case UUID)
/// are not taken.
fn is_delivered_name(file: &str) -> bool {
    use crate::delivery::is_name_stamp as stamp;
    const AWS_ID: usize = 16;
    let b = file.as_bytes();
    let bare = b.len() > 20 && stamp(&b[..20]) && b[20..].iter().all(u8::is_ascii_alphanumeric);
    let prefixed = b.len() > 20 + AWS_ID && {
        let (head, id) = b.split_at(b.len() - AWS_ID);
        stamp(&head[head.len() - 20..])
            && id
                .iter()
                .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c))
    };
    bare || prefixed
}

struct S3AccessLineParser {
    columns: S3AccessColumns,
}

impl S3AccessLineParser {
    fn new(batch_size: usize) -> Self {
        Self {
            columns: S3AccessColumns::new(batch_size),
        }
    }
}

/// The typed values of one line, checked before anything is appended.
struct S3AccessRecord {
    time: i64,
    http_status: Option<i32>,
    bytes_sent: Option<i64>,
    object_size: Option<i64>,
    total_time: Option<i64>,
    turnaround_time: Option<i64>,
    acl_required: Option<bool>,
}

impl S3AccessRecord {
    fn parse(f: &[&str; KNOWN_FIELDS], count: usize) -> Result<Self, Reason> {
        let time = crate::time::parse_common_log_time(f[2]).ok_or_else(|| {
            Reason::from(format!("invalid timestamp `{}` in column `time`", f[2]))
        })?;
        Ok(Self {
            time,
            http_status: fields::int32(f[9], "http_status")?,
            bytes_sent: fields::int64(f[11], "bytes_sent")?,
            object_size: fields::int64(f[12], "object_size")?,
            total_time: fields::int64(f[13], "total_time")?,
            turnaround_time: fields::int64(f[14], "turnaround_time")?,
            acl_required: if count > 25 {
                Some(fields::yes_or_dash(f[25], "acl_required")?)
            } else {
                None
            },
        })
    }
}

impl LineParser for S3AccessLineParser {
    fn parse_line(&mut self, line: &str) -> Result<LineKind, Reason> {
        let split::Fields { values: f, count } = split::split(line)?;
        let record = S3AccessRecord::parse(&f, count)?;

        let c = &mut self.columns;
        let text = |i: usize| fields::text(f[i]);
        c.bucket_owner.append_option(text(0));
        c.bucket.append_option(text(1));
        c.time.append_value(record.time);
        c.remote_ip.append_option(text(3));
        c.requester.append_option(text(4));
        c.request_id.append_option(text(5));
        c.operation.append_option(text(6));
        c.key.append_option(text(7));
        c.request_uri.append_option(text(8));
        let [verb, url, proto] = fields::request_line(f[8]);
        c.request_verb.append_option(verb);
        c.request_url.append_option(url);
        c.request_proto.append_option(proto);
        c.http_status.append_option(record.http_status);
        c.error_code.append_option(text(10));
        c.bytes_sent.append_option(record.bytes_sent);
        c.object_size.append_option(record.object_size);
        c.total_time.append_option(record.total_time);
        c.turnaround_time.append_option(record.turnaround_time);
        c.referrer.append_option(text(15));
        c.user_agent.append_option(text(16));
        c.version_id.append_option(text(17));
        c.host_id.append_option(text(18));
        c.signature_version.append_option(text(19));
        c.cipher_suite.append_option(text(20));
        c.authentication_type.append_option(text(21));
        c.host_header.append_option(text(22));
        c.tls_version.append_option(text(23));
        c.access_point_arn.append_option(text(24));
        c.acl_required.append_option(record.acl_required);
        c.source_region.append_option(text(26));
        Ok(LineKind::Row)
    }

    fn buffered_rows(&self) -> usize {
        self.columns.len()
    }

    fn finish_batch(&mut self) -> Result<RecordBatch, ArrowError> {
        self.columns.finish(&SCHEMA)
    }
}

#[cfg(test)]
mod tests;
