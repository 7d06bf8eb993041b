//! CloudFront standard (legacy) access logs (FORMATS.md section 3): gzip objects in a flat
//! prefix, `#Version` and `#Fields` header lines, then one TAB-separated line per request.
//!
//! Choices where the spec leaves room:
//! - Fields are mapped by each object's `#Fields:` header, so older 24/26-field layouts and
//!   future appended fields work; unknown names are ignored, absent ones are NULL. Before any
//!   header (objects without one) the current 33-field order is assumed.
//! - `date` and `time` are combined into one `time` column (UTC, second precision), as the seed
//!   did; there is no separate `date` column (the partitions carry the date).
//! - URL-encoded fields (`cs_uri_stem`, `cs_uri_query`, `cs_referrer`, `cs_user_agent`,
//!   `cs_cookie`) are stored exactly as delivered: lossless and seed-compatible; decode them at
//!   query time (`url_decode` in Athena/Trino, DuckDB).
//! - `sc_status` `000` (viewer closed the connection) is 0. Short lines are NULL-filled; a value
//!   that does not fit its column type rejects the line, and so does a line with more fields
//!   than the header names (CloudFront URL-encodes TABs, so an extra one can only shift values).
//! - Column names follow AWS's Athena DDL (`cs_referrer` spelled so). The seed's names map as
//!   location=x_edge_location, bytes=sc_bytes, requestip=c_ip, method=cs_method, host=cs_host,
//!   uri=cs_uri_stem, status=sc_status, referrer=cs_referrer, useragent=cs_user_agent,
//!   querystring=cs_uri_query, cookie=cs_cookie, resulttype=x_edge_result_type,
//!   requestid=x_edge_request_id, hostheader=x_host_header, requestprotocol=cs_protocol,
//!   requestbytes=cs_bytes, timetaken=time_taken, xforwardedfor=x_forwarded_for,
//!   sslprotocol=ssl_protocol, sslcipher=ssl_cipher, responseresulttype=x_edge_response_result_type,
//!   httpversion=cs_protocol_version.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, Schema, SchemaRef};

use crate::columns::columns;
use crate::decode::{LineDecoder, LineKind, LineParser};
use crate::fields::{self, Reason};
use crate::raw::{RawLayout, RawSerde, RawTable, TypedColumn};
use crate::sample::{SampleObject, SamplePlan};
use crate::{Format, FormatInfo, Framing, LogFormat, ObjectDecoder, Partitioning, Route};

pub(crate) mod sample;

/// The fields CloudFront documents, by `#Fields:` name, in today's order (a slot each).
pub(crate) const FIELDS: [&str; 33] = [
    "date",
    "time",
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs(Host)",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "cs(Cookie)",
    "x-edge-result-type",
    "x-edge-request-id",
    "x-host-header",
    "cs-protocol",
    "cs-bytes",
    "time-taken",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-response-result-type",
    "cs-protocol-version",
    "fle-status",
    "fle-encrypted-fields",
    "c-port",
    "time-to-first-byte",
    "x-edge-detailed-result-type",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
];

/// The raw table's columns: [`FIELDS`] in the same order, named as AWS's Athena DDL names them
/// (W3C names with `-` and `()` as `_`, `Referer` spelled `referrer`), all `string`.
pub(crate) const RAW_COLUMNS: [TypedColumn; FIELDS.len()] = [
    ("date", "string"),
    ("time", "string"),
    ("x_edge_location", "string"),
    ("sc_bytes", "string"),
    ("c_ip", "string"),
    ("cs_method", "string"),
    ("cs_host", "string"),
    ("cs_uri_stem", "string"),
    ("sc_status", "string"),
    ("cs_referrer", "string"),
    ("cs_user_agent", "string"),
    ("cs_uri_query", "string"),
    ("cs_cookie", "string"),
    ("x_edge_result_type", "string"),
    ("x_edge_request_id", "string"),
    ("x_host_header", "string"),
    ("cs_protocol", "string"),
    ("cs_bytes", "string"),
    ("time_taken", "string"),
    ("x_forwarded_for", "string"),
    ("ssl_protocol", "string"),
    ("ssl_cipher", "string"),
    ("x_edge_response_result_type", "string"),
    ("cs_protocol_version", "string"),
    ("fle_status", "string"),
    ("fle_encrypted_fields", "string"),
    ("c_port", "string"),
    ("time_to_first_byte", "string"),
    ("x_edge_detailed_result_type", "string"),
    ("sc_content_type", "string"),
    ("sc_content_len", "string"),
    ("sc_range_start", "string"),
    ("sc_range_end", "string"),
];

columns! {
    pub(crate) struct CloudfrontColumns {
        time: TimestampUtc = "time",
        x_edge_location: Utf8 = "x_edge_location",
        sc_bytes: Int64 = "sc_bytes",
        c_ip: Utf8 = "c_ip",
        cs_method: Utf8 = "cs_method",
        cs_host: Utf8 = "cs_host",
        cs_uri_stem: Utf8 = "cs_uri_stem",
        sc_status: Int32 = "sc_status",
        cs_referrer: Utf8 = "cs_referrer",
        cs_user_agent: Utf8 = "cs_user_agent",
        cs_uri_query: Utf8 = "cs_uri_query",
        cs_cookie: Utf8 = "cs_cookie",
        x_edge_result_type: Utf8 = "x_edge_result_type",
        x_edge_request_id: Utf8 = "x_edge_request_id",
        x_host_header: Utf8 = "x_host_header",
        cs_protocol: Utf8 = "cs_protocol",
        cs_bytes: Int64 = "cs_bytes",
        time_taken: Float64 = "time_taken",
        x_forwarded_for: Utf8 = "x_forwarded_for",
        ssl_protocol: Utf8 = "ssl_protocol",
        ssl_cipher: Utf8 = "ssl_cipher",
        x_edge_response_result_type: Utf8 = "x_edge_response_result_type",
        cs_protocol_version: Utf8 = "cs_protocol_version",
        fle_status: Utf8 = "fle_status",
        fle_encrypted_fields: Int32 = "fle_encrypted_fields",
        c_port: Int32 = "c_port",
        time_to_first_byte: Float64 = "time_to_first_byte",
        x_edge_detailed_result_type: Utf8 = "x_edge_detailed_result_type",
        sc_content_type: Utf8 = "sc_content_type",
        sc_content_len: Int64 = "sc_content_len",
        sc_range_start: Int64 = "sc_range_start",
        sc_range_end: Int64 = "sc_range_end",
    }
}

static SCHEMA: LazyLock<SchemaRef> =
    LazyLock::new(|| Arc::new(Schema::new(CloudfrontColumns::fields())));

/// The format's static facts: names, corpus, framing, event time, partitions, special columns.
const INFO: FormatInfo = FormatInfo {
    keyword: "cloudfront",
    table_name: "cloudfront",
    title: "CloudFront standard logs",
    corpus_folder: "cloudfront",
    framing: Framing::Lines {
        field_separator: b'\t',
    },
    bytes_sent_column: Some("sc_bytes"),
    event_time_column: "time",
    partitioning: Partitioning::Date,
    unique_columns: &["x_edge_request_id", "c_port"],
    free_text_columns: &[
        "c_ip",
        "cs_uri_stem",
        "cs_referrer",
        "cs_user_agent",
        "cs_uri_query",
        "cs_cookie",
        "x_edge_request_id",
        "x_forwarded_for",
    ],
    summary_column: "sc_status",
    batch_rows: 2048,
    aws_folders: &["CloudFront"],
};

/// The CloudFront standard access log format (`cloudfront`).
#[derive(Debug, Clone, Copy, Default)]
pub struct CloudfrontFormat;

impl LogFormat for CloudfrontFormat {
    fn info(&self) -> &'static FormatInfo {
        &INFO
    }

    fn format(&self) -> Format {
        Format::Cloudfront
    }

    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    /// `<distribution-id>.<YYYY-MM-DD-HH>.<unique-id>.gz` in a flat prefix (FORMATS.md 7.1).
    /// Standard logging v2 writes the same names, so in a flat prefix `cloudfront_v2` claims
    /// them too and the content decides; under the folders only v2 writes, only v2 claims.
    fn claims_key(&self, key: &str) -> bool {
        log_file_name(key) && !v2_delivery_folders(key)
    }

    fn names_one_delivery(&self, file: &str) -> bool {
        names_one_delivery(file)
    }

    /// Delivered names, and hand-collected `.log` files too.
    fn route(&self, key: &str) -> Route {
        let file = key.rsplit('/').next().unwrap_or(key);
        if log_file_name(key) || file.ends_with(".log") || file.ends_with(".log.gz") {
            Route::Convert
        } else {
            Route::Skip("not a CloudFront log object name")
        }
    }

    /// The `#Version` header, the legacy `#Fields` header, or a headerless line shaped like a
    /// legacy record: a date and a time, then as many TAB-separated fields as legacy files
    /// have had (24, 26 or 33). Only then: without a header the legacy order is assumed, and
    /// standard logging v2's `plain` output (no header, any selection and order) must not be
    /// read in that order.
    fn claims_first_line(&self, line: &str) -> bool {
        if line.starts_with("#Version") {
            return true;
        }
        if let Some(names) = line.strip_prefix("#Fields:") {
            return legacy_field_names(names);
        }
        let fields: Vec<&str> = line.split('\t').collect();
        matches!(fields.len(), 24 | 26 | 33)
            && crate::time::parse_date_and_time(fields[0], fields[1]).is_some()
    }

    fn region_from_key(&self, _key: &str) -> Option<String> {
        None
    }

    fn decoder(&self, batch_size: usize) -> Box<dyn ObjectDecoder> {
        Box::new(LineDecoder::new(
            CloudfrontLineParser::new(batch_size),
            batch_size,
        ))
    }

    /// TAB-separated text after two header lines, in one flat prefix.
    fn raw_table(&self) -> RawTable {
        RawTable {
            serde: RawSerde::Delimited {
                separator: "\t",
                header_lines: 2,
                columns: &RAW_COLUMNS,
                header_names_columns: false,
            },
            layout: RawLayout::Flat,
        }
    }

    fn sample(&self, plan: SamplePlan) -> Box<dyn Iterator<Item = SampleObject> + Send> {
        Box::new(sample::objects(plan))
    }
}

/// Whether `names` (a `#Fields:` header's) are exactly today's legacy fields in legacy order.
pub(crate) fn legacy_field_names(names: &str) -> bool {
    names.split_whitespace().eq(FIELDS)
}

/// Whether the key's file is named `<distribution-id>.<YYYY-MM-DD-HH>.<unique-id>.gz`, as
/// legacy and v2 text deliveries both name them. A log prefix that does not end in `/` stays
/// in the name before the distribution's id (`example.com-E2ABCDEF123.…`); there the id must
/// be as long as AWS's (13 or 14 characters; 10 at least is asked).
pub(crate) fn log_file_name(key: &str) -> bool {
    const PREFIXED_ID: usize = 10;
    let file = key.rsplit('/').next().unwrap_or(key);
    let mut parts = file.rsplit('.');
    let (Some("gz"), Some(_id), Some(hour), Some(distribution)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let id = distribution
        .bytes()
        .rev()
        .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        .count();
    let prefixed = id < distribution.len() || parts.next().is_some();
    id > 0 && (!prefixed || id >= PREFIXED_ID) && is_date_hour(hour)
}

/// Whether `file` is a delivery's name ([`log_file_name`]) whose unique id tells it from the
/// distribution's other deliveries of that hour, as legacy and v2 text deliveries both have.
pub(crate) fn names_one_delivery(file: &str) -> bool {
    log_file_name(file)
        && file
            .rsplit('.')
            .nth(1)
            .is_some_and(crate::delivery::is_random_id)
}

/// Whether the key lies under folders only standard logging v2 writes (FORMATS.md 12.1): the
/// `AWSLogs/<account>/CloudFront/` prefix AWS inserts, a Hive-style `DistributionId=` folder,
/// or `<yyyy>/<MM>/<dd>/<HH>/` date folders (legacy logging writes one flat prefix).
pub(crate) fn v2_delivery_folders(key: &str) -> bool {
    let folders: Vec<&str> = key
        .rsplit_once('/')
        .map_or_else(Vec::new, |(folders, _file)| folders.split('/').collect());
    let aws_prefix = folders.windows(3).any(|w| {
        w[0] == "AWSLogs"
            && (crate::is_account_id(w[1]) || w[1].starts_with("aws-account-id="))
            && w[2] == "CloudFront"
    });
    let hive = folders.iter().any(|f| {
        f.get(..15)
            .is_some_and(|p| p.eq_ignore_ascii_case("distributionid="))
    });
    let numeric = |f: &&str, len: usize| f.len() == len && f.bytes().all(|b| b.is_ascii_digit());
    let dated = folders.len() >= 4 && {
        let last = &folders[folders.len() - 4..];
        numeric(&last[0], 4) && numeric(&last[1], 2) && numeric(&last[2], 2) && numeric(&last[3], 2)
    };
    aws_prefix || hive || dated
}

/// `YYYY-MM-DD-HH`.
fn is_date_hour(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 13
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 | 10 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

struct CloudfrontLineParser {
    columns: CloudfrontColumns,
    /// For each TAB-separated position, the slot in [`FIELDS`] it fills (`None`: unknown field).
    layout: Vec<Option<usize>>,
}

impl CloudfrontLineParser {
    fn new(batch_size: usize) -> Self {
        Self {
            columns: CloudfrontColumns::new(batch_size),
            layout: default_layout(),
        }
    }
}

fn default_layout() -> Vec<Option<usize>> {
    (0..FIELDS.len()).map(Some).collect()
}

/// The typed values of one record, checked before anything is appended.
pub(crate) struct CloudfrontRecord {
    time: i64,
    sc_bytes: Option<i64>,
    sc_status: Option<i32>,
    cs_bytes: Option<i64>,
    time_taken: Option<f64>,
    fle_encrypted_fields: Option<i32>,
    c_port: Option<i32>,
    time_to_first_byte: Option<f64>,
    sc_content_len: Option<i64>,
    sc_range_start: Option<i64>,
    sc_range_end: Option<i64>,
}

impl CloudfrontRecord {
    /// A legacy line's record: its time from `date` and `time`.
    fn parse(v: &[&str; FIELDS.len()]) -> Result<Self, Reason> {
        let time = match (v[0], v[1]) {
            ("-", _) | (_, "-") => return Err("missing date or time".into()),
            (date, time) => date_and_time(date, time)?,
        };
        Self::with_time(v, time)
    }

    /// The typed values of `v` (`-` for fields the record lacks), at the event time `time`.
    pub(crate) fn with_time(v: &[&str; FIELDS.len()], time: i64) -> Result<Self, Reason> {
        Ok(Self {
            time,
            sc_bytes: fields::int64(v[3], "sc_bytes")?,
            sc_status: fields::int32(v[8], "sc_status")?,
            cs_bytes: fields::int64(v[17], "cs_bytes")?,
            time_taken: fields::float64(v[18], "time_taken")?,
            fle_encrypted_fields: fields::int32(v[25], "fle_encrypted_fields")?,
            c_port: fields::int32(v[26], "c_port")?,
            time_to_first_byte: fields::float64(v[27], "time_to_first_byte")?,
            sc_content_len: fields::int64(v[30], "sc_content_len")?,
            sc_range_start: fields::int64(v[31], "sc_range_start")?,
            sc_range_end: fields::int64(v[32], "sc_range_end")?,
        })
    }

    /// Appends the record as one row; `v` are the values it was parsed from.
    pub(crate) fn append(&self, c: &mut CloudfrontColumns, v: &[&str; FIELDS.len()]) {
        let text = |i: usize| fields::text(v[i]);
        c.time.append_value(self.time);
        c.x_edge_location.append_option(text(2));
        c.sc_bytes.append_option(self.sc_bytes);
        c.c_ip.append_option(text(4));
        c.cs_method.append_option(text(5));
        c.cs_host.append_option(text(6));
        c.cs_uri_stem.append_option(text(7));
        c.sc_status.append_option(self.sc_status);
        c.cs_referrer.append_option(text(9));
        c.cs_user_agent.append_option(text(10));
        c.cs_uri_query.append_option(text(11));
        c.cs_cookie.append_option(text(12));
        c.x_edge_result_type.append_option(text(13));
        c.x_edge_request_id.append_option(text(14));
        c.x_host_header.append_option(text(15));
        c.cs_protocol.append_option(text(16));
        c.cs_bytes.append_option(self.cs_bytes);
        c.time_taken.append_option(self.time_taken);
        c.x_forwarded_for.append_option(text(19));
        c.ssl_protocol.append_option(text(20));
        c.ssl_cipher.append_option(text(21));
        c.x_edge_response_result_type.append_option(text(22));
        c.cs_protocol_version.append_option(text(23));
        c.fle_status.append_option(text(24));
        c.fle_encrypted_fields
            .append_option(self.fle_encrypted_fields);
        c.c_port.append_option(self.c_port);
        c.time_to_first_byte.append_option(self.time_to_first_byte);
        c.x_edge_detailed_result_type.append_option(text(28));
        c.sc_content_type.append_option(text(29));
        c.sc_content_len.append_option(self.sc_content_len);
        c.sc_range_start.append_option(self.sc_range_start);
        c.sc_range_end.append_option(self.sc_range_end);
    }
}

/// `date` and `time` (UTC, whole seconds) as one timestamp.
pub(crate) fn date_and_time(date: &str, time: &str) -> Result<i64, Reason> {
    crate::time::parse_date_and_time(date, time).ok_or_else(|| {
        Cow::Owned(format!(
            "invalid date and time `{} {}` in column `time`",
            fields::shown(date),
            fields::shown(time)
        ))
    })
}

impl LineParser for CloudfrontLineParser {
    fn parse_line(&mut self, line: &str) -> Result<LineKind, Reason> {
        if let Some(header) = line.strip_prefix('#') {
            if let Some(names) = header.strip_prefix("Fields:") {
                self.layout = names
                    .split_whitespace()
                    .map(|name| FIELDS.iter().position(|f| *f == name))
                    .collect();
            }
            return Ok(LineKind::NotData);
        }
        let mut v = ["-"; FIELDS.len()];
        for (position, value) in fields::split_on(line, b'\t').enumerate() {
            match self.layout.get(position) {
                Some(Some(slot)) => v[*slot] = value,
                Some(None) => {}
                None => {
                    return Err(format!(
                        "{} TAB-separated fields where the header names {}; a TAB inside a value \
                         would shift the columns",
                        line.split('\t').count(),
                        self.layout.len()
                    )
                    .into());
                }
            }
        }
        CloudfrontRecord::parse(&v)?.append(&mut self.columns, &v);
        Ok(LineKind::Row)
    }

    fn buffered_rows(&self) -> usize {
        self.columns.len()
    }

    fn finish_batch(&mut self) -> Result<RecordBatch, ArrowError> {
        self.columns.finish(&SCHEMA)
    }

    fn start_object(&mut self) {
        self.layout = default_layout();
    }
}

#[cfg(test)]
mod tests;
