//! Application Load Balancer access logs (FORMATS.md section 1): one space-separated line per
//! request, quoted fields may hold spaces, 16 to 33 fields depending on the LB's era.
//!
//! Choices where the spec leaves room:
//! - `client:port` and `target:port` are split into `*_ip` (Utf8) and `*_port` (Int32), as in
//!   AWS's Athena DDL; the seed's unsplit `client_ip_port` is not emitted.
//! - Status codes and `matched_rule_priority` are Int32 (the seed used strings).
//! - `-1` in the three `*_processing_time` columns is kept as -1 (a sentinel, not NULL).
//! - Lines with fewer than 16 fields are rejected (NLB, connection-log and truncated lines are
//!   shorter or fail on `time`); fields past the 33rd are ignored, as AWS may append more.
//! - A line that is not valid UTF-8 is rejected whole; its raw bytes stay in the rejects.
//! - `time` is required: it partitions the row. A line without a valid one is rejected.
//! - Quoted fields honour `\"` escapes (FORMATS.md 1.4: ALB escapes quotes inside them). A
//!   quoted token where the layout has a bare field, or a `"` inside a bare token, rejects the
//!   line: that is what an unescaped quote inside a quoted value leaves when it ends the value
//!   early, and storing it would shift later columns. Fields past the 33rd may be quoted (real
//!   lines carry `"-"` there), so a line whose user agent held a whole forged ALB tail in
//!   unescaped quotes would not be caught; ALB's escaping is what rules that out.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, Schema, SchemaRef};

use crate::columns::columns;
use crate::decode::{LineDecoder, LineKind, LineParser};
use crate::fields::{self, QuoteLayout, Reason, Tokens};
use crate::raw::WireField::{Bare, IpPort, IpPortOrDash, MaybeQuoted, Quoted, Request};
use crate::raw::{RawLayout, RawSerde, RawTable, WireLayout};
use crate::sample::{SampleObject, SamplePlan};
use crate::{
    Format, FormatInfo, Framing, LogFormat, ObjectDecoder, Partitioning, Route, detect, time,
};

mod sample;

/// ALB fields in wire order, declared once: the parser's field count and quoted positions and
/// the raw table's regular expression are read from it. Lines with at least the first 16 exist
/// (2016 on: they end at `ssl_protocol`); later fields on a line are ignored.
const WIRE: WireLayout = WireLayout {
    fields: &[
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
    ],
    required: 16,
};
const KNOWN_FIELDS: usize = WIRE.known();
const MIN_FIELDS: usize = WIRE.required;
/// Quoted where [`WIRE`] says so; fields past the 33rd may be quoted too (real lines carry
/// `"-"` there).
const QUOTES: QuoteLayout = QuoteLayout::of(&WIRE, true);

columns! {
    pub(crate) struct AlbColumns {
        kind: Utf8 = "type",
        time: TimestampUtc = "time",
        elb: Utf8 = "elb",
        client_ip: Utf8 = "client_ip",
        client_port: Int32 = "client_port",
        target_ip: Utf8 = "target_ip",
        target_port: Int32 = "target_port",
        request_processing_time: Float64 = "request_processing_time",
        target_processing_time: Float64 = "target_processing_time",
        response_processing_time: Float64 = "response_processing_time",
        elb_status_code: Int32 = "elb_status_code",
        target_status_code: Int32 = "target_status_code",
        received_bytes: Int64 = "received_bytes",
        sent_bytes: Int64 = "sent_bytes",
        request_verb: Utf8 = "request_verb",
        request_url: Utf8 = "request_url",
        request_proto: Utf8 = "request_proto",
        user_agent: Utf8 = "user_agent",
        ssl_cipher: Utf8 = "ssl_cipher",
        ssl_protocol: Utf8 = "ssl_protocol",
        target_group_arn: Utf8 = "target_group_arn",
        trace_id: Utf8 = "trace_id",
        domain_name: Utf8 = "domain_name",
        chosen_cert_arn: Utf8 = "chosen_cert_arn",
        matched_rule_priority: Int32 = "matched_rule_priority",
        request_creation_time: TimestampUtc = "request_creation_time",
        actions_executed: Utf8 = "actions_executed",
        redirect_url: Utf8 = "redirect_url",
        error_reason: Utf8 = "error_reason",
        target_port_list: Utf8 = "target_port_list",
        target_status_code_list: Utf8 = "target_status_code_list",
        classification: Utf8 = "classification",
        classification_reason: Utf8 = "classification_reason",
        conn_trace_id: Utf8 = "conn_trace_id",
        transformed_host: Utf8 = "transformed_host",
        transformed_uri: Utf8 = "transformed_uri",
        request_transform_status: Utf8 = "request_transform_status",
    }
}

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| Arc::new(Schema::new(AlbColumns::fields())));

/// The format's static facts: names, corpus, framing, event time, partitions, special columns.
const INFO: FormatInfo = FormatInfo {
    keyword: "alb",
    table_name: "alb",
    title: "Application Load Balancer access logs",
    corpus_folder: "alb",
    framing: Framing::Lines {
        field_separator: b' ',
    },
    bytes_sent_column: Some("sent_bytes"),
    event_time_column: "time",
    partitioning: Partitioning::RegionDate,
    unique_columns: &[
        "time",
        "client_port",
        "trace_id",
        "request_creation_time",
        "conn_trace_id",
    ],
    free_text_columns: &[
        "client_ip",
        "target_ip",
        "request_url",
        "user_agent",
        "trace_id",
        "redirect_url",
        "target_port_list",
        "target_status_code_list",
        "conn_trace_id",
        "transformed_uri",
    ],
    summary_column: "elb_status_code",
    batch_rows: 2048,
    aws_folders: &["elasticloadbalancing"],
};

/// The ALB access log format (`alb`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AlbFormat;

impl LogFormat for AlbFormat {
    fn info(&self) -> &'static FormatInfo {
        &INFO
    }

    fn format(&self) -> Format {
        Format::Alb
    }

    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn claims_key(&self, key: &str) -> bool {
        detect::load_balancer_key(key)
    }

    /// ALB, NLB, connection logs and Classic ELB share the `elasticloadbalancing/` prefix, so
    /// the file name decides (FORMATS.md 7.1). Objects named otherwise are converted when they
    /// look like log files, so a folder of hand-collected `.log` files works too.
    fn route(&self, key: &str) -> Route {
        detect::load_balancer_route(key, detect::LoadBalancerFile::Application)
    }

    /// `http 2018-07-02T22:23:00.186641Z …`: a request type, then an ISO 8601 time.
    fn claims_first_line(&self, line: &str) -> bool {
        let mut tokens = line.split(' ');
        let (kind, time) = (tokens.next(), tokens.next().unwrap_or_default());
        kind.is_some_and(|k| ["http", "https", "h2", "grpcs", "ws", "wss"].contains(&k))
            && time::parse_iso8601_utc(time).is_some()
    }

    fn region_from_key(&self, key: &str) -> Option<String> {
        fields::region_in_key(key, "elasticloadbalancing")
    }

    fn decoder(&self, batch_size: usize) -> Box<dyn ObjectDecoder> {
        Box::new(LineDecoder::new(AlbLineParser::new(batch_size), batch_size))
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

struct AlbLineParser {
    columns: AlbColumns,
}

impl AlbLineParser {
    fn new(batch_size: usize) -> Self {
        Self {
            columns: AlbColumns::new(batch_size),
        }
    }
}

/// The typed values of one line, checked before anything is appended.
struct AlbRecord<'a> {
    time: i64,
    client: (Option<&'a str>, Option<i32>),
    target: (Option<&'a str>, Option<i32>),
    processing_times: [Option<f64>; 3],
    elb_status_code: Option<i32>,
    target_status_code: Option<i32>,
    received_bytes: Option<i64>,
    sent_bytes: Option<i64>,
    matched_rule_priority: Option<i32>,
    request_creation_time: Option<i64>,
}

impl<'a> AlbRecord<'a> {
    fn parse(f: &'a [Cow<'a, str>; KNOWN_FIELDS]) -> Result<Self, Reason> {
        Ok(Self {
            time: fields::required_timestamp(&f[1], "time")?,
            client: fields::ip_port(&f[3], "client")?,
            target: fields::ip_port(&f[4], "target")?,
            processing_times: [
                fields::float64(&f[5], "request_processing_time")?,
                fields::float64(&f[6], "target_processing_time")?,
                fields::float64(&f[7], "response_processing_time")?,
            ],
            elb_status_code: fields::int32(&f[8], "elb_status_code")?,
            target_status_code: fields::int32(&f[9], "target_status_code")?,
            received_bytes: fields::int64(&f[10], "received_bytes")?,
            sent_bytes: fields::int64(&f[11], "sent_bytes")?,
            matched_rule_priority: fields::int32(&f[20], "matched_rule_priority")?,
            request_creation_time: fields::timestamp(&f[21], "request_creation_time")?,
        })
    }
}

impl LineParser for AlbLineParser {
    fn parse_line(&mut self, line: &str) -> Result<LineKind, Reason> {
        // Absent trailing fields read as `-`, which every column maps to NULL.
        let mut f: [Cow<'_, str>; KNOWN_FIELDS] = std::array::from_fn(|_| Cow::Borrowed("-"));
        let mut tokens = Tokens::new(line);
        let count = tokens.fill(&mut f)?;
        if count < MIN_FIELDS {
            return Err(format!(
                "only {count} fields; an ALB access log line has at least {MIN_FIELDS}"
            )
            .into());
        }
        let record = AlbRecord::parse(&f)?;
        tokens.check_quotes(&QUOTES, KNOWN_FIELDS)?;

        let c = &mut self.columns;
        let text = |i: usize| fields::text(&f[i]);
        c.kind.append_option(text(0));
        c.time.append_value(record.time);
        c.elb.append_option(text(2));
        c.client_ip.append_option(record.client.0);
        c.client_port.append_option(record.client.1);
        c.target_ip.append_option(record.target.0);
        c.target_port.append_option(record.target.1);
        c.request_processing_time
            .append_option(record.processing_times[0]);
        c.target_processing_time
            .append_option(record.processing_times[1]);
        c.response_processing_time
            .append_option(record.processing_times[2]);
        c.elb_status_code.append_option(record.elb_status_code);
        c.target_status_code
            .append_option(record.target_status_code);
        c.received_bytes.append_option(record.received_bytes);
        c.sent_bytes.append_option(record.sent_bytes);
        let [verb, url, proto] = fields::request_line(&f[12]);
        c.request_verb.append_option(verb);
        c.request_url.append_option(url);
        c.request_proto.append_option(proto);
        c.user_agent.append_option(text(13));
        c.ssl_cipher.append_option(text(14));
        c.ssl_protocol.append_option(text(15));
        c.target_group_arn.append_option(text(16));
        c.trace_id.append_option(text(17));
        c.domain_name.append_option(text(18));
        c.chosen_cert_arn.append_option(text(19));
        c.matched_rule_priority
            .append_option(record.matched_rule_priority);
        c.request_creation_time
            .append_option(record.request_creation_time);
        c.actions_executed.append_option(text(22));
        c.redirect_url.append_option(text(23));
        c.error_reason.append_option(text(24));
        c.target_port_list.append_option(text(25));
        c.target_status_code_list.append_option(text(26));
        c.classification.append_option(text(27));
        c.classification_reason.append_option(text(28));
        c.conn_trace_id.append_option(text(29));
        c.transformed_host.append_option(text(30));
        c.transformed_uri.append_option(text(31));
        c.request_transform_status.append_option(text(32));
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
