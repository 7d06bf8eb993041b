//! Network Load Balancer access logs (FORMATS.md section 9): gzip objects under the same
//! `elasticloadbalancing/` prefix as ALB and Classic ELB, named `…_net.<lb>.<id>_…`, one line
//! per TLS connection, fields split by single spaces and never quoted; 18 to 22 fields.
//!
//! Choices where the spec leaves room:
//! - Column names are AWS's field names; `client:port` and `destination:port` are split into
//!   `*_ip` (Utf8) and `*_port` (Int32). `version` stays text (`1.0`, `2.0`).
//! - `time` and `tls_connection_creation_time` carry no zone and no fraction: read as UTC
//!   (`Z` and a fraction are accepted too). `time` partitions the row and is required.
//! - `-` is NULL in every field; millisecond durations and byte counts are Int64,
//!   `incoming_tls_alert` Int32. `domain_name` and `alpn_client_preference_list` stay
//!   URL-encoded and quoted as delivered.
//! - Lines with fewer than 18 fields are rejected; fields past the 22nd are ignored. Nothing is
//!   quoted on the wire, so a `"` is an ordinary character (field 21 holds `"h2","http/1.1"`).
//! - A space inside a value would shift the later columns. SNI and ALPN values are
//!   URL-encoded by AWS, so a raw space cannot occur there. On a 22-field line a shift leaves
//!   `tls_connection_creation_time` without a time and the line is rejected (a line of more
//!   than 22 fields must carry that time); a 21-field line shifted by one space cannot be told
//!   from a 22-field line whose last field is `-`.

use std::sync::{Arc, LazyLock};

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, Schema, SchemaRef};

use crate::columns::columns;
use crate::decode::{LineDecoder, LineKind, LineParser};
use crate::fields::{self, Reason};
use crate::raw::WireField::{Bare, IpPort};
use crate::raw::{RawLayout, RawSerde, RawTable, WireLayout};
use crate::sample::{SampleObject, SamplePlan};
use crate::{Format, FormatInfo, Framing, LogFormat, ObjectDecoder, Partitioning, Route, detect};

mod sample;

/// NLB fields in wire order, declared once (parser and raw table); `1.0` lines end at
/// `domain_name`, `2.0` lines have 21 or 22 fields.
const WIRE: WireLayout = WireLayout {
    fields: &[
        Bare("type"),
        Bare("version"),
        Bare("time"),
        Bare("elb"),
        Bare("listener"),
        IpPort("client_ip", "client_port"),
        IpPort("destination_ip", "destination_port"),
        Bare("connection_time"),
        Bare("tls_handshake_time"),
        Bare("received_bytes"),
        Bare("sent_bytes"),
        Bare("incoming_tls_alert"),
        Bare("chosen_cert_arn"),
        Bare("chosen_cert_serial"),
        Bare("tls_cipher"),
        Bare("tls_protocol_version"),
        Bare("tls_named_group"),
        Bare("domain_name"),
        Bare("alpn_fe_protocol"),
        Bare("alpn_be_protocol"),
        Bare("alpn_client_preference_list"),
        Bare("tls_connection_creation_time"),
    ],
    required: 18,
};
const KNOWN_FIELDS: usize = WIRE.known();
const MIN_FIELDS: usize = WIRE.required;

columns! {
    pub(crate) struct NlbColumns {
        kind: Utf8 = "type",
        version: Utf8 = "version",
        time: TimestampUtc = "time",
        elb: Utf8 = "elb",
        listener: Utf8 = "listener",
        client_ip: Utf8 = "client_ip",
        client_port: Int32 = "client_port",
        destination_ip: Utf8 = "destination_ip",
        destination_port: Int32 = "destination_port",
        connection_time: Int64 = "connection_time",
        tls_handshake_time: Int64 = "tls_handshake_time",
        received_bytes: Int64 = "received_bytes",
        sent_bytes: Int64 = "sent_bytes",
        incoming_tls_alert: Int32 = "incoming_tls_alert",
        chosen_cert_arn: Utf8 = "chosen_cert_arn",
        chosen_cert_serial: Utf8 = "chosen_cert_serial",
        tls_cipher: Utf8 = "tls_cipher",
        tls_protocol_version: Utf8 = "tls_protocol_version",
        tls_named_group: Utf8 = "tls_named_group",
        domain_name: Utf8 = "domain_name",
        alpn_fe_protocol: Utf8 = "alpn_fe_protocol",
        alpn_be_protocol: Utf8 = "alpn_be_protocol",
        alpn_client_preference_list: Utf8 = "alpn_client_preference_list",
        tls_connection_creation_time: TimestampUtc = "tls_connection_creation_time",
    }
}

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| Arc::new(Schema::new(NlbColumns::fields())));

/// The format's static facts: names, corpus, framing, event time, partitions, special columns.
const INFO: FormatInfo = FormatInfo {
    keyword: "nlb",
    table_name: "nlb",
    title: "Network Load Balancer access logs (TLS listeners)",
    corpus_folder: "nlb",
    framing: Framing::Lines {
        field_separator: b' ',
    },
    bytes_sent_column: Some("sent_bytes"),
    event_time_column: "time",
    partitioning: Partitioning::RegionDate,
    unique_columns: &["client_port", "time", "tls_connection_creation_time"],
    free_text_columns: &["client_ip", "destination_ip", "domain_name"],
    summary_column: "tls_protocol_version",
    batch_rows: 2048,
    aws_folders: &["elasticloadbalancing"],
};

/// The NLB access log format (`nlb`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NlbFormat;

impl LogFormat for NlbFormat {
    fn info(&self) -> &'static FormatInfo {
        &INFO
    }

    fn format(&self) -> Format {
        Format::Nlb
    }

    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn claims_key(&self, key: &str) -> bool {
        detect::load_balancer_key(key)
    }

    /// `…_elasticloadbalancing_<region>_net.<lb>.<id>_…`; the other load balancers' objects
    /// under the same prefix are skipped (FORMATS.md 9.1).
    fn route(&self, key: &str) -> Route {
        detect::load_balancer_route(key, detect::LoadBalancerFile::Network)
    }

    /// `tls 2.0 2018-12-20T02:59:40 net/…`: the listener type, then an `N.N` version.
    fn claims_first_line(&self, line: &str) -> bool {
        let mut tokens = line.split(' ');
        tokens.next() == Some("tls")
            && tokens.next().is_some_and(|v| {
                v.split_once('.').is_some_and(|(a, b)| {
                    !a.is_empty()
                        && !b.is_empty()
                        && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
                })
            })
    }

    fn region_from_key(&self, key: &str) -> Option<String> {
        fields::region_in_key(key, "elasticloadbalancing")
    }

    fn decoder(&self, batch_size: usize) -> Box<dyn ObjectDecoder> {
        Box::new(LineDecoder::new(
            NlbLineParser {
                columns: NlbColumns::new(batch_size),
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

struct NlbLineParser {
    columns: NlbColumns,
}

impl LineParser for NlbLineParser {
    fn parse_line(&mut self, line: &str) -> Result<LineKind, Reason> {
        let mut f = ["-"; KNOWN_FIELDS];
        let mut count = 0;
        for token in fields::split_on(line, b' ') {
            if count < KNOWN_FIELDS {
                f[count] = token;
            }
            count += 1;
        }
        if count < MIN_FIELDS {
            return Err(format!(
                "only {count} fields; an NLB access log line has at least {MIN_FIELDS}"
            )
            .into());
        }
        let event_time = fields::zoneless_timestamp(f[2], "time")?
            .ok_or("missing timestamp in column `time`")?;
        let client = fields::ip_port(f[5], "client")?;
        let destination = fields::ip_port(f[6], "destination")?;
        let connection_time = fields::int64(f[7], "connection_time")?;
        let handshake_time = fields::int64(f[8], "tls_handshake_time")?;
        let received = fields::int64(f[9], "received_bytes")?;
        let sent = fields::int64(f[10], "sent_bytes")?;
        let alert = fields::int32(f[11], "incoming_tls_alert")?;
        let created = fields::zoneless_timestamp(f[21], "tls_connection_creation_time")?;
        if count > KNOWN_FIELDS && created.is_none() {
            return Err(format!(
                "{count} fields and no `tls_connection_creation_time` in field {KNOWN_FIELDS}: \
                 a space inside a value would shift the columns"
            )
            .into());
        }

        let c = &mut self.columns;
        let text = |i: usize| fields::text(f[i]);
        c.kind.append_option(text(0));
        c.version.append_option(text(1));
        c.time.append_value(event_time);
        c.elb.append_option(text(3));
        c.listener.append_option(text(4));
        c.client_ip.append_option(client.0);
        c.client_port.append_option(client.1);
        c.destination_ip.append_option(destination.0);
        c.destination_port.append_option(destination.1);
        c.connection_time.append_option(connection_time);
        c.tls_handshake_time.append_option(handshake_time);
        c.received_bytes.append_option(received);
        c.sent_bytes.append_option(sent);
        c.incoming_tls_alert.append_option(alert);
        c.chosen_cert_arn.append_option(text(12));
        c.chosen_cert_serial.append_option(text(13));
        c.tls_cipher.append_option(text(14));
        c.tls_protocol_version.append_option(text(15));
        c.tls_named_group.append_option(text(16));
        c.domain_name.append_option(text(17));
        c.alpn_fe_protocol.append_option(text(18));
        c.alpn_be_protocol.append_option(text(19));
        c.alpn_client_preference_list.append_option(text(20));
        c.tls_connection_creation_time.append_option(created);
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
