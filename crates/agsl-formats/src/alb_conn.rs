//! Application Load Balancer connection logs (FORMATS.md section 10): gzip objects named
//! `conn_log.…_app.<lb>…` (or `conn_log_…`, as real buckets hold them) under the same
//! `elasticloadbalancing/` prefix as the access logs, one line per client connection, 11 or 12
//! space-separated fields of which only the client certificate's subject is quoted.
//!
//! Choices where the spec leaves room:
//! - The wire `timestamp` is the `time` column (it partitions the row and is required).
//! - `tls_handshake_latency` is Float64 seconds; `-` is NULL in every field, `"-"` too.
//! - `leaf_client_cert_validity` is kept raw and also split into
//!   `leaf_client_cert_not_before` and `leaf_client_cert_not_after`; a validity of another
//!   shape leaves those NULL (never a reject). The serial number stays text (it can exceed
//!   64 bits).
//! - Lines with fewer than 11 fields are rejected (the test message ELB writes when logging is
//!   turned on among them); fields past the 12th are ignored. A quoted token anywhere but the
//!   subject, or a stray `"`, rejects the line, as for ALB access logs.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, Schema, SchemaRef};

use crate::columns::columns;
use crate::decode::{LineDecoder, LineKind, LineParser};
use crate::fields::{self, QuoteLayout, Reason, Tokens};
use crate::raw::WireField::{Bare, Quoted};
use crate::raw::{RawLayout, RawSerde, RawTable, WireLayout};
use crate::sample::{SampleObject, SamplePlan};
use crate::{
    Format, FormatInfo, Framing, LogFormat, ObjectDecoder, Partitioning, Route, detect, time,
};

mod sample;

/// Connection log fields in wire order, declared once (parser and raw table); lines written
/// before the trace id existed end at `tls_verify_status`.
const WIRE: WireLayout = WireLayout {
    fields: &[
        Bare("time"),
        Bare("client_ip"),
        Bare("client_port"),
        Bare("listener_port"),
        Bare("tls_protocol"),
        Bare("tls_cipher"),
        Bare("tls_handshake_latency"),
        Quoted("leaf_client_cert_subject"),
        Bare("leaf_client_cert_validity"),
        Bare("leaf_client_cert_serial_number"),
        Bare("tls_verify_status"),
        Bare("conn_trace_id"),
    ],
    required: 11,
};
const KNOWN_FIELDS: usize = WIRE.known();
const MIN_FIELDS: usize = WIRE.required;
const QUOTES: QuoteLayout = QuoteLayout::of(&WIRE, false);

columns! {
    pub(crate) struct AlbConnColumns {
        time: TimestampUtc = "time",
        client_ip: Utf8 = "client_ip",
        client_port: Int32 = "client_port",
        listener_port: Int32 = "listener_port",
        tls_protocol: Utf8 = "tls_protocol",
        tls_cipher: Utf8 = "tls_cipher",
        tls_handshake_latency: Float64 = "tls_handshake_latency",
        leaf_client_cert_subject: Utf8 = "leaf_client_cert_subject",
        leaf_client_cert_validity: Utf8 = "leaf_client_cert_validity",
        leaf_client_cert_not_before: TimestampUtc = "leaf_client_cert_not_before",
        leaf_client_cert_not_after: TimestampUtc = "leaf_client_cert_not_after",
        leaf_client_cert_serial_number: Utf8 = "leaf_client_cert_serial_number",
        tls_verify_status: Utf8 = "tls_verify_status",
        conn_trace_id: Utf8 = "conn_trace_id",
    }
}

static SCHEMA: LazyLock<SchemaRef> =
    LazyLock::new(|| Arc::new(Schema::new(AlbConnColumns::fields())));

/// The format's static facts: names, corpus, framing, event time, partitions, special columns.
const INFO: FormatInfo = FormatInfo {
    keyword: "alb_conn",
    table_name: "alb_conn",
    title: "Application Load Balancer connection logs",
    corpus_folder: "albconn",
    framing: Framing::Lines {
        field_separator: b' ',
    },
    bytes_sent_column: None,
    event_time_column: "time",
    partitioning: Partitioning::RegionDate,
    unique_columns: &["time", "client_port", "conn_trace_id"],
    free_text_columns: &["client_ip", "leaf_client_cert_subject", "conn_trace_id"],
    summary_column: "tls_verify_status",
    batch_rows: 8192,
    aws_folders: &["elasticloadbalancing"],
};

/// The ALB connection log format (`alb_conn`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AlbConnFormat;

impl LogFormat for AlbConnFormat {
    fn info(&self) -> &'static FormatInfo {
        &INFO
    }

    fn format(&self) -> Format {
        Format::AlbConn
    }

    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn claims_key(&self, key: &str) -> bool {
        detect::load_balancer_key(key)
    }

    /// `conn_log.` or `conn_log_` file names; the access logs beside them are other formats'.
    fn route(&self, key: &str) -> Route {
        let file = key.rsplit('/').next().unwrap_or(key);
        if detect::connection_log_file(file) {
            Route::Convert
        } else if file.is_empty() {
            Route::Skip("folder placeholder")
        } else if file.contains("_elasticloadbalancing_") {
            Route::Skip("load balancer access log")
        } else {
            Route::Skip("not an ALB connection log object name")
        }
    }

    /// `2024-10-04T17:05:15.514108Z 192.168.131.39 36280 …`: an ISO 8601 time, then a bare
    /// address and a bare port (Classic ELB has the LB name, then `ip:port`).
    fn claims_first_line(&self, line: &str) -> bool {
        let mut tokens = line.split(' ');
        let first = tokens.next().unwrap_or_default();
        let port = tokens.nth(1).unwrap_or_default();
        time::parse_iso8601_utc(first).is_some()
            && !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
    }

    fn region_from_key(&self, key: &str) -> Option<String> {
        fields::region_in_key(key, "elasticloadbalancing")
    }

    fn decoder(&self, batch_size: usize) -> Box<dyn ObjectDecoder> {
        Box::new(LineDecoder::new(
            AlbConnLineParser {
                columns: AlbConnColumns::new(batch_size),
            },
            batch_size,
        ))
    }

    fn raw_table(&self) -> RawTable {
        RawTable {
            serde: RawSerde::Regex(WIRE),
            layout: RawLayout::RegionDateFolders,
        }
    }

    fn sample(&self, plan: SamplePlan) -> Box<dyn Iterator<Item = SampleObject> + Send> {
        Box::new(sample::objects(plan))
    }
}

struct AlbConnLineParser {
    columns: AlbConnColumns,
}

/// `NotBefore=<iso>;NotAfter=<iso>` split into its two times; `None`s for any other shape.
fn validity(value: &str) -> (Option<i64>, Option<i64>) {
    let Some((before, after)) = value.split_once(';') else {
        return (None, None);
    };
    let time = |half: &str, name: &str| {
        half.strip_prefix(name)
            .and_then(|v| v.strip_prefix('='))
            .and_then(time::parse_iso8601_utc)
    };
    (time(before, "NotBefore"), time(after, "NotAfter"))
}

impl LineParser for AlbConnLineParser {
    fn parse_line(&mut self, line: &str) -> Result<LineKind, Reason> {
        let mut f: [Cow<'_, str>; KNOWN_FIELDS] = std::array::from_fn(|_| Cow::Borrowed("-"));
        let mut tokens = Tokens::new(line);
        let count = tokens.fill(&mut f)?;
        if count < MIN_FIELDS {
            return Err(format!(
                "only {count} fields; an ALB connection log line has at least {MIN_FIELDS}"
            )
            .into());
        }
        let event_time = fields::required_timestamp(&f[0], "time")?;
        let client_port = fields::int32(&f[2], "client_port")?;
        let listener_port = fields::int32(&f[3], "listener_port")?;
        let latency = fields::float64(&f[6], "tls_handshake_latency")?;
        tokens.check_quotes(&QUOTES, KNOWN_FIELDS)?;
        let (not_before, not_after) = validity(&f[8]);

        let c = &mut self.columns;
        let text = |i: usize| fields::text(&f[i]);
        c.time.append_value(event_time);
        c.client_ip.append_option(text(1));
        c.client_port.append_option(client_port);
        c.listener_port.append_option(listener_port);
        c.tls_protocol.append_option(text(4));
        c.tls_cipher.append_option(text(5));
        c.tls_handshake_latency.append_option(latency);
        c.leaf_client_cert_subject.append_option(text(7));
        c.leaf_client_cert_validity.append_option(text(8));
        c.leaf_client_cert_not_before.append_option(not_before);
        c.leaf_client_cert_not_after.append_option(not_after);
        c.leaf_client_cert_serial_number.append_option(text(9));
        c.tls_verify_status.append_option(text(10));
        c.conn_trace_id.append_option(text(11));
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
