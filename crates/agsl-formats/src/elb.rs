//! Classic Load Balancer access logs (FORMATS.md section 2): plain-text `.log` objects under
//! the same `elasticloadbalancing/` prefix as ALB, one space-separated line per request,
//! 15 fields (12 in pre-2015 lines, which end after the request).
//!
//! Choices where the spec leaves room:
//! - Column names follow AWS (`backend_ip`, `backend_port`, `backend_processing_time`,
//!   `backend_status_code`); the seed reused ALB's `target_*` names. A seed-compatible view can
//!   rename them.
//! - `backend:port` is split into `backend_ip` and `backend_port`; `-` (no healthy backend)
//!   gives two NULLs. `-1` processing times are kept as -1 (a sentinel, not NULL).
//! - Status codes are Int32 (the seed used strings); TCP/SSL listeners write `-` -> NULL.
//! - Lines with fewer than 12 fields are rejected; fields past the 15th are ignored.
//! - A line that is not valid UTF-8 is rejected whole; `time` is required (it partitions).
//! - A `"` anywhere but around the request and the user agent rejects the line: an unescaped
//!   quote inside either would otherwise end it early and shift the later columns.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, Schema, SchemaRef};

use crate::columns::columns;
use crate::decode::{LineDecoder, LineKind, LineParser};
use crate::fields::{self, QuoteLayout, Reason, Tokens};
use crate::raw::WireField::{Bare, IpPort, IpPortOrDash, Quoted, Request};
use crate::raw::{RawLayout, RawSerde, RawTable, WireLayout};
use crate::sample::{SampleObject, SamplePlan};
use crate::{
    Format, FormatInfo, Framing, LogFormat, ObjectDecoder, Partitioning, Route, detect, time,
};

mod sample;

/// Classic ELB fields in wire order, declared once (parser and raw table); pre-2015 lines end
/// after the request.
const WIRE: WireLayout = WireLayout {
    fields: &[
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
    ],
    required: 12,
};
const KNOWN_FIELDS: usize = WIRE.known();
const MIN_FIELDS: usize = WIRE.required;
/// Only the request and the user agent are quoted; the ELB never wrote fields past the 15th.
const QUOTES: QuoteLayout = QuoteLayout::of(&WIRE, false);

columns! {
    pub(crate) struct ElbColumns {
        time: TimestampUtc = "time",
        elb: Utf8 = "elb",
        client_ip: Utf8 = "client_ip",
        client_port: Int32 = "client_port",
        backend_ip: Utf8 = "backend_ip",
        backend_port: Int32 = "backend_port",
        request_processing_time: Float64 = "request_processing_time",
        backend_processing_time: Float64 = "backend_processing_time",
        response_processing_time: Float64 = "response_processing_time",
        elb_status_code: Int32 = "elb_status_code",
        backend_status_code: Int32 = "backend_status_code",
        received_bytes: Int64 = "received_bytes",
        sent_bytes: Int64 = "sent_bytes",
        request_verb: Utf8 = "request_verb",
        request_url: Utf8 = "request_url",
        request_proto: Utf8 = "request_proto",
        user_agent: Utf8 = "user_agent",
        ssl_cipher: Utf8 = "ssl_cipher",
        ssl_protocol: Utf8 = "ssl_protocol",
    }
}

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| Arc::new(Schema::new(ElbColumns::fields())));

/// The format's static facts: names, corpus, framing, event time, partitions, special columns.
const INFO: FormatInfo = FormatInfo {
    keyword: "elb",
    table_name: "elb",
    title: "Classic Load Balancer access logs",
    corpus_folder: "elb",
    framing: Framing::Lines {
        field_separator: b' ',
    },
    bytes_sent_column: Some("sent_bytes"),
    event_time_column: "time",
    partitioning: Partitioning::RegionDate,
    unique_columns: &["time", "client_port"],
    free_text_columns: &["client_ip", "backend_ip", "request_url", "user_agent"],
    summary_column: "elb_status_code",
    batch_rows: 8192,
    aws_folders: &["elasticloadbalancing"],
};

/// The Classic ELB access log format (`elb`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ElbFormat;

impl LogFormat for ElbFormat {
    fn info(&self) -> &'static FormatInfo {
        &INFO
    }

    fn format(&self) -> Format {
        Format::Elb
    }

    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn claims_key(&self, key: &str) -> bool {
        detect::load_balancer_key(key)
    }

    /// Classic ELB files carry no `app.`/`net.` load-balancer segment (FORMATS.md 7.1).
    fn route(&self, key: &str) -> Route {
        detect::load_balancer_route(key, detect::LoadBalancerFile::Classic)
    }

    /// `2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 …`: an ISO 8601 time
    /// first, and `ip:port` third (a connection log has a bare port there).
    fn claims_first_line(&self, line: &str) -> bool {
        let mut tokens = line.split(' ');
        let first = tokens.next().unwrap_or_default();
        let third = tokens.nth(1).unwrap_or_default();
        time::parse_iso8601_utc(first).is_some() && third.contains(':')
    }

    fn region_from_key(&self, key: &str) -> Option<String> {
        fields::region_in_key(key, "elasticloadbalancing")
    }

    fn decoder(&self, batch_size: usize) -> Box<dyn ObjectDecoder> {
        Box::new(LineDecoder::new(ElbLineParser::new(batch_size), batch_size))
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

struct ElbLineParser {
    columns: ElbColumns,
}

impl ElbLineParser {
    fn new(batch_size: usize) -> Self {
        Self {
            columns: ElbColumns::new(batch_size),
        }
    }
}

/// The typed values of one line, checked before anything is appended.
struct ElbRecord<'a> {
    time: i64,
    client: (Option<&'a str>, Option<i32>),
    backend: (Option<&'a str>, Option<i32>),
    processing_times: [Option<f64>; 3],
    elb_status_code: Option<i32>,
    backend_status_code: Option<i32>,
    received_bytes: Option<i64>,
    sent_bytes: Option<i64>,
}

impl<'a> ElbRecord<'a> {
    fn parse(f: &'a [Cow<'a, str>; KNOWN_FIELDS]) -> Result<Self, Reason> {
        Ok(Self {
            time: fields::required_timestamp(&f[0], "time")?,
            client: fields::ip_port(&f[2], "client")?,
            backend: fields::ip_port(&f[3], "backend")?,
            processing_times: [
                fields::float64(&f[4], "request_processing_time")?,
                fields::float64(&f[5], "backend_processing_time")?,
                fields::float64(&f[6], "response_processing_time")?,
            ],
            elb_status_code: fields::int32(&f[7], "elb_status_code")?,
            backend_status_code: fields::int32(&f[8], "backend_status_code")?,
            received_bytes: fields::int64(&f[9], "received_bytes")?,
            sent_bytes: fields::int64(&f[10], "sent_bytes")?,
        })
    }
}

impl LineParser for ElbLineParser {
    fn parse_line(&mut self, line: &str) -> Result<LineKind, Reason> {
        let mut f: [Cow<'_, str>; KNOWN_FIELDS] = std::array::from_fn(|_| Cow::Borrowed("-"));
        let mut tokens = Tokens::new(line);
        let count = tokens.fill(&mut f)?;
        if count < MIN_FIELDS {
            return Err(format!(
                "only {count} fields; a Classic ELB access log line has at least {MIN_FIELDS}"
            )
            .into());
        }
        let record = ElbRecord::parse(&f)?;
        tokens.check_quotes(&QUOTES, KNOWN_FIELDS)?;

        let c = &mut self.columns;
        let text = |i: usize| fields::text(&f[i]);
        c.time.append_value(record.time);
        c.elb.append_option(text(1));
        c.client_ip.append_option(record.client.0);
        c.client_port.append_option(record.client.1);
        c.backend_ip.append_option(record.backend.0);
        c.backend_port.append_option(record.backend.1);
        c.request_processing_time
            .append_option(record.processing_times[0]);
        c.backend_processing_time
            .append_option(record.processing_times[1]);
        c.response_processing_time
            .append_option(record.processing_times[2]);
        c.elb_status_code.append_option(record.elb_status_code);
        c.backend_status_code
            .append_option(record.backend_status_code);
        c.received_bytes.append_option(record.received_bytes);
        c.sent_bytes.append_option(record.sent_bytes);
        let [verb, url, proto] = fields::request_line(&f[11]);
        c.request_verb.append_option(verb);
        c.request_url.append_option(url);
        c.request_proto.append_option(proto);
        c.user_agent.append_option(text(12));
        c.ssl_cipher.append_option(text(13));
        c.ssl_protocol.append_option(text(14));
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
