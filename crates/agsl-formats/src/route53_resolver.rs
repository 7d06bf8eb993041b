//! Route 53 Resolver (VPC Resolver) query logs (FORMATS.md section 11): gzip objects of JSON
//! records, one DNS query with its response per line (pretty-printed and concatenated records
//! are read too, [`crate::json_lines`]), under
//! `AWSLogs/<account>/vpcdnsquerylogs/<vpc-id>/<yyyy>/<mm>/<dd>/…_vpcdnsquerylogs_….log.gz`.
//!
//! Choices where the spec leaves room:
//! - `query_timestamp` partitions the row; a record without one that parses as ISO-8601 UTC
//!   (whole seconds or a fraction) is rejected. Any other missing key is NULL, never a reject.
//! - `srcport` arrives as a JSON string (`"48701"`); a JSON number is read too. One that is not
//!   an integer, or lies outside 0..=65535, rejects the record.
//! - Keys are matched by name in any order (AWS's own example orders them differently from
//!   real files). Text columns take strings verbatim; a number or boolean where text was
//!   expected (`"version": 1.1`) is kept as its JSON text.
//! - `answers` is `List<Struct<rdata, type, class>>` from the capitalised wire keys `Rdata`,
//!   `Type`, `Class` (any case); absent or `null` is NULL, `[]` an empty list. A value that is
//!   not an array of objects rejects the record. An answer member outside the three puts the
//!   whole `answers` array into `json_other` as well, so nothing is lost.
//! - `srcids` members `instance`, `resolver_endpoint` and `resolver_network_interface` are
//!   columns; unknown members are nested under `"srcids"` in `json_other`, and a `srcids` that
//!   is not an object is kept there whole.
//! - Every other key (the flat `answer_type`/`rdata`/`answer_class` of the 2023 text included)
//!   goes to `json_other`, one compact object in the order received.
//! - The key names no Region: the table is partitioned by `year`/`month`/`day` only and the
//!   record's `region` is a plain column (FORMATS.md 11.5).

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, Schema, SchemaRef};
use serde_json::value::RawValue;

use crate::columns::{TextStructList, TextStructMembers, columns};
use crate::json::{self, Members};
use crate::json_lines::{JsonLinesDecoder, JsonRecordParser};
use crate::raw::{RawTable, TypedColumn};
use crate::sample::{SampleObject, SamplePlan};
use crate::time::parse_iso8601_utc;
use crate::{Format, FormatInfo, Framing, LogFormat, ObjectDecoder, Partitioning, Route};

mod sample;

/// The members of one `answers` item, as columns name them.
pub(crate) struct AnswerMembers;

impl TextStructMembers for AnswerMembers {
    const NAMES: &'static [&'static str] = &["rdata", "type", "class"];
}

/// The wire keys of an answer's members, in [`AnswerMembers::NAMES`] order.
const ANSWER_KEYS: [&str; 3] = ["Rdata", "Type", "Class"];

columns! {
    pub(crate) struct Route53ResolverColumns {
        version: Utf8 = "version",
        account_id: Utf8 = "account_id",
        region: Utf8 = "region",
        vpc_id: Utf8 = "vpc_id",
        query_timestamp: TimestampUtc = "query_timestamp",
        query_name: Utf8 = "query_name",
        query_type: Utf8 = "query_type",
        query_class: Utf8 = "query_class",
        rcode: Utf8 = "rcode",
        answers: TextStructList<AnswerMembers> = "answers",
        srcaddr: Utf8 = "srcaddr",
        srcport: Int32 = "srcport",
        transport: Utf8 = "transport",
        srcids_instance: Utf8 = "srcids_instance",
        srcids_resolver_endpoint: Utf8 = "srcids_resolver_endpoint",
        srcids_resolver_network_interface: Utf8 = "srcids_resolver_network_interface",
        firewall_rule_group_id: Utf8 = "firewall_rule_group_id",
        firewall_rule_action: Utf8 = "firewall_rule_action",
        firewall_domain_list_id: Utf8 = "firewall_domain_list_id",
        json_other: Utf8 = "json_other",
    }
}

static SCHEMA: LazyLock<SchemaRef> =
    LazyLock::new(|| Arc::new(Schema::new(Route53ResolverColumns::fields())));

/// Top-level keys stored as text, by slot; the column of each slot is in `append`.
const TEXT_KEYS: [&str; 13] = [
    "version",                 // 0
    "account_id",              // 1
    "region",                  // 2
    "vpc_id",                  // 3
    "query_name",              // 4
    "query_type",              // 5
    "query_class",             // 6
    "rcode",                   // 7
    "srcaddr",                 // 8
    "transport",               // 9
    "firewall_rule_group_id",  // 10
    "firewall_rule_action",    // 11
    "firewall_domain_list_id", // 12
];

/// `srcids` members stored as text, by slot.
const SRCIDS_KEYS: [&str; 3] = [
    "instance",                   // 0
    "resolver_endpoint",          // 1
    "resolver_network_interface", // 2
];

/// The raw table's columns: the record's keys as the OpenX JSON SerDe reads them (it matches
/// `Rdata` to `rdata` because it ignores case). `srcport` stays a string, as delivered.
const RAW_COLUMNS: &[TypedColumn] = &[
    ("version", "string"),
    ("account_id", "string"),
    ("region", "string"),
    ("vpc_id", "string"),
    ("query_timestamp", "string"),
    ("query_name", "string"),
    ("query_type", "string"),
    ("query_class", "string"),
    ("rcode", "string"),
    (
        "answers",
        "array<struct<rdata:string,type:string,class:string>>",
    ),
    ("srcaddr", "string"),
    ("srcport", "string"),
    ("transport", "string"),
    (
        "srcids",
        "struct<instance:string,resolver_endpoint:string,resolver_network_interface:string>",
    ),
    ("firewall_rule_group_id", "string"),
    ("firewall_rule_action", "string"),
    ("firewall_domain_list_id", "string"),
];

/// The format's static facts: names, corpus, framing, event time, partitions, special columns.
const INFO: FormatInfo = FormatInfo {
    keyword: "route53_resolver",
    table_name: "route53_resolver",
    title: "Route 53 Resolver query logs",
    corpus_folder: "route53",
    framing: Framing::JsonLines,
    bytes_sent_column: None,
    event_time_column: "query_timestamp",
    partitioning: Partitioning::Date,
    unique_columns: &[],
    free_text_columns: &["query_name", "srcaddr", "json_other"],
    summary_column: "rcode",
    batch_rows: 8192,
    aws_folders: &["vpcdnsquerylogs"],
};

/// The Route 53 Resolver query log format (`route53_resolver`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Route53ResolverFormat;

impl LogFormat for Route53ResolverFormat {
    fn info(&self) -> &'static FormatInfo {
        &INFO
    }

    fn format(&self) -> Format {
        Format::Route53Resolver
    }

    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    /// `AWSLogs/<account>/vpcdnsquerylogs/…` (FORMATS.md 11.1).
    fn claims_key(&self, key: &str) -> bool {
        key.contains("/vpcdnsquerylogs/") || key.starts_with("vpcdnsquerylogs/")
    }

    fn route(&self, key: &str) -> Route {
        let file = key.rsplit('/').next().unwrap_or(key);
        if file.contains("_vpcdnsquerylogs_") || file.ends_with(".log.gz") || file.ends_with(".log")
        {
            Route::Convert
        } else if file.is_empty() {
            Route::Skip("folder placeholder")
        } else {
            Route::Skip("not a Route 53 Resolver query log object name")
        }
    }

    /// A JSON object naming a DNS query and the VPC it came from.
    fn claims_first_line(&self, line: &str) -> bool {
        line.starts_with('{') && line.contains("\"query_name\"") && line.contains("\"vpc_id\"")
    }

    /// The key has no Region (the record's `region` is a column).
    fn region_from_key(&self, _key: &str) -> Option<String> {
        None
    }

    fn decoder(&self, batch_size: usize) -> Box<dyn ObjectDecoder> {
        Box::new(JsonLinesDecoder::new(
            Route53ResolverRecordParser {
                columns: Route53ResolverColumns::new(batch_size),
            },
            batch_size,
        ))
    }

    fn raw_table(&self) -> RawTable {
        RawTable::json_lines(RAW_COLUMNS)
    }

    fn sample(&self, plan: SamplePlan) -> Box<dyn Iterator<Item = SampleObject> + Send> {
        Box::new(sample::objects(plan))
    }
}

struct Route53ResolverRecordParser {
    columns: Route53ResolverColumns,
}

/// One `answers` item: a value per member of [`AnswerMembers`].
type AnswerValues<'a> = [Option<Cow<'a, str>>; 3];

/// The checked values of one record, before anything is appended.
#[derive(Default)]
struct Route53ResolverRecord<'a> {
    query_timestamp: i64,
    srcport: Option<i32>,
    text: [Option<&'a RawValue>; TEXT_KEYS.len()],
    srcids: [Option<&'a RawValue>; SRCIDS_KEYS.len()],
    answers: Option<Vec<AnswerValues<'a>>>,
    /// Unknown keys, top level then `srcids`'.
    other: Vec<(Cow<'a, str>, &'a RawValue)>,
    other_srcids: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> Route53ResolverRecord<'a> {
    fn parse(members: &'a Members<'a>) -> Result<Self, Cow<'static, str>> {
        let mut r = Route53ResolverRecord::default();
        let mut time = None;
        for (key, value) in &members.0 {
            match key.as_ref() {
                "query_timestamp" => time = timestamp(value)?,
                "srcport" => r.srcport = port(value)?,
                "answers" => {
                    let (answers, complete) = answers(value)?;
                    r.answers = answers;
                    if !complete {
                        r.other.push((key.clone(), *value));
                    }
                }
                "srcids" if value.get().starts_with('{') => r.srcids(value)?,
                other => match TEXT_KEYS.iter().position(|k| *k == other) {
                    Some(slot) => r.text[slot] = Some(*value),
                    None => r.other.push((key.clone(), *value)),
                },
            }
        }
        r.query_timestamp = time.ok_or("missing query_timestamp in column `query_timestamp`")?;
        Ok(r)
    }

    fn srcids(&mut self, raw: &'a RawValue) -> Result<(), Cow<'static, str>> {
        let members: Members<'a> =
            serde_json::from_str(raw.get()).map_err(|e| format!("invalid `srcids`: {e}"))?;
        for (key, value) in members.0 {
            match SRCIDS_KEYS.iter().position(|k| *k == key) {
                Some(slot) => self.srcids[slot] = Some(value),
                None => self.other_srcids.push((key, value)),
            }
        }
        Ok(())
    }

    fn text(&self, slot: usize) -> Option<Cow<'a, str>> {
        self.text[slot].and_then(json::text)
    }

    fn srcids_text(&self, slot: usize) -> Option<Cow<'a, str>> {
        self.srcids[slot].and_then(json::text)
    }

    /// Unknown keys as one compact object, `srcids`' nested under its name.
    fn other_json(&self) -> Option<String> {
        json::other_members(&self.other, "srcids", &self.other_srcids)
    }
}

/// `query_timestamp`: ISO-8601 UTC; JSON `null` is absent.
fn timestamp(raw: &RawValue) -> Result<Option<i64>, Cow<'static, str>> {
    match json::text(raw) {
        None => Ok(None),
        Some(text) => parse_iso8601_utc(&text).map(Some).ok_or_else(|| {
            format!(
                "invalid timestamp `{}` in column `query_timestamp`",
                crate::fields::shown(&text)
            )
            .into()
        }),
    }
}

/// `srcport`: an integer in a JSON string (or a number) within 0..=65535.
fn port(raw: &RawValue) -> Result<Option<i32>, Cow<'static, str>> {
    let port =
        json::integer(raw).map_err(|v| format!("invalid integer `{v}` in column `srcport`"))?;
    port.map(|p| {
        u16::try_from(p)
            .map(i32::from)
            .map_err(|_| format!("port {p} out of range in column `srcport`").into())
    })
    .transpose()
}

/// The answers, and whether they were read whole (`false` when an item had a member outside
/// `Rdata`/`Type`/`Class`, so the caller keeps the array in `json_other` too).
fn answers(raw: &RawValue) -> Result<(Option<Vec<AnswerValues<'_>>>, bool), Cow<'static, str>> {
    if raw.get() == "null" {
        return Ok((None, true));
    }
    let items: Vec<Members<'_>> = serde_json::from_str(raw.get())
        .map_err(|e| format!("`answers` is not an array of objects: {e}"))?;
    let mut complete = true;
    let answers = items
        .into_iter()
        .map(|item| {
            let mut answer = AnswerValues::default();
            for (key, value) in item.0 {
                match ANSWER_KEYS
                    .iter()
                    .position(|k| k.eq_ignore_ascii_case(&key))
                {
                    Some(member) => answer[member] = json::text(value),
                    None => complete = false,
                }
            }
            answer
        })
        .collect();
    Ok((Some(answers), complete))
}

impl JsonRecordParser for Route53ResolverRecordParser {
    fn append(&mut self, members: &Members<'_>) -> Result<(), Cow<'static, str>> {
        let r = Route53ResolverRecord::parse(members)?;
        let c = &mut self.columns;
        c.version.append_option(r.text(0));
        c.account_id.append_option(r.text(1));
        c.region.append_option(r.text(2));
        c.vpc_id.append_option(r.text(3));
        c.query_timestamp.append_value(r.query_timestamp);
        c.query_name.append_option(r.text(4));
        c.query_type.append_option(r.text(5));
        c.query_class.append_option(r.text(6));
        c.rcode.append_option(r.text(7));
        TextStructList::<AnswerMembers>::append(&mut c.answers, r.answers.as_deref());
        c.srcaddr.append_option(r.text(8));
        c.srcport.append_option(r.srcport);
        c.transport.append_option(r.text(9));
        c.srcids_instance.append_option(r.srcids_text(0));
        c.srcids_resolver_endpoint.append_option(r.srcids_text(1));
        c.srcids_resolver_network_interface
            .append_option(r.srcids_text(2));
        c.firewall_rule_group_id.append_option(r.text(10));
        c.firewall_rule_action.append_option(r.text(11));
        c.firewall_domain_list_id.append_option(r.text(12));
        c.json_other.append_option(r.other_json());
        Ok(())
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
