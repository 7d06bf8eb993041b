//! AWS WAF (v2) web ACL traffic logs (FORMATS.md section 8): gzip objects of JSON records, one
//! per line as WAF delivers them to S3 (pretty-printed and concatenated records are read too,
//! [`crate::json_lines`]), under `AWSLogs/<account>/WAFLogs/<region-or-cloudfront>/<webacl>/…`.
//!
//! Choices where the spec leaves room:
//! - `timestamp` (epoch milliseconds) is the `time` column and partitions the row; a record
//!   without an integer one is rejected. Any other missing key is NULL, never a reject; a typed
//!   value that does not convert (`formatVersion`, `responseCodeSent`, the sizes, `clientAsn`
//!   not an integer) rejects the record.
//! - Rule lists and other nested structures that vary per rule type stay compact raw JSON
//!   (`json_*`), whatever types they hold (`evaluationWindowSec` drifts between number and
//!   string); `labels` and `oversizeFields` are `List<Utf8>` (absent: NULL; `[]`: empty).
//! - `webacl_name` and `webacl_scope` come from the web ACL ARN leniently: NULL when it does
//!   not split as `…:<scope>/webacl/<name>/<id>`.
//! - `host` is `httpRequest.host` when present, else the first `Host` header (any case);
//!   `user_agent` the first `User-Agent` header. Header objects without `value` are skipped.
//! - `-` in `httpSourceName`, `httpSourceId` and `country` is NULL; the string `"null"` is a
//!   value (JSON `null` is NULL). Attacker-controlled values are stored verbatim.
//! - `challengeResponse` and `challengeResponses` both fill `json_challenge_response`;
//!   `clientAsn` is read at the top level or inside `httpRequest`.
//! - Unknown keys are kept in `json_other` as one compact object in the order received, with
//!   unknown `httpRequest` keys nested under `"httpRequest"`.
//! - `region` is the key's folder after `WAFLogs/` verbatim, so CloudFront-scope web ACLs land
//!   in `region=cloudfront`. Firehose deliveries (`aws-waf-logs-<stream>-…` objects) name no
//!   region in their key: each row takes its web ACL ARN's region (`cloudfront` for global
//!   web ACLs), and an ARN without one leaves the row in `__HIVE_DEFAULT_PARTITION__`.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use arrow_array::cast::AsArray;
use arrow_array::{RecordBatch, StringArray};
use arrow_schema::{ArrowError, Schema, SchemaRef};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::columns::{append_text_list, columns};
use crate::json::{self, Members};
use crate::json_lines::{JsonLinesDecoder, JsonRecordParser};
use crate::raw::{RawTable, TypedColumn};
use crate::sample::{SampleObject, SamplePlan};
use crate::{
    Format, FormatInfo, Framing, LogFormat, ObjectDecoder, Partitioning, Route, looks_like_region,
};

mod sample;

columns! {
    pub(crate) struct WafColumns {
        time: TimestampUtc = "time",
        format_version: Int32 = "format_version",
        webacl_id: Utf8 = "webacl_id",
        webacl_name: Utf8 = "webacl_name",
        webacl_scope: Utf8 = "webacl_scope",
        terminating_rule_id: Utf8 = "terminating_rule_id",
        terminating_rule_type: Utf8 = "terminating_rule_type",
        action: Utf8 = "action",
        json_terminating_rule_match_details: Utf8 = "json_terminating_rule_match_details",
        http_source_name: Utf8 = "http_source_name",
        http_source_id: Utf8 = "http_source_id",
        json_rule_group_list: Utf8 = "json_rule_group_list",
        json_rate_based_rule_list: Utf8 = "json_rate_based_rule_list",
        json_non_terminating_matching_rules: Utf8 = "json_non_terminating_matching_rules",
        json_request_headers_inserted: Utf8 = "json_request_headers_inserted",
        response_code_sent: Int32 = "response_code_sent",
        client_ip: Utf8 = "client_ip",
        country: Utf8 = "country",
        json_headers: Utf8 = "json_headers",
        host: Utf8 = "host",
        user_agent: Utf8 = "user_agent",
        uri: Utf8 = "uri",
        args: Utf8 = "args",
        http_version: Utf8 = "http_version",
        http_method: Utf8 = "http_method",
        request_id: Utf8 = "request_id",
        fragment: Utf8 = "fragment",
        scheme: Utf8 = "scheme",
        labels: ListUtf8 = "labels",
        json_captcha_response: Utf8 = "json_captcha_response",
        json_challenge_response: Utf8 = "json_challenge_response",
        oversize_fields: ListUtf8 = "oversize_fields",
        request_body_size: Int64 = "request_body_size",
        request_body_size_inspected_by_waf: Int64 = "request_body_size_inspected_by_waf",
        ja3_fingerprint: Utf8 = "ja3_fingerprint",
        ja4_fingerprint: Utf8 = "ja4_fingerprint",
        client_asn: Int64 = "client_asn",
        cf_distribution_tenant_id: Utf8 = "cf_distribution_tenant_id",
        json_other: Utf8 = "json_other",
    }
}

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| Arc::new(Schema::new(WafColumns::fields())));

/// The raw table's columns: the record's top-level keys as the JSON SerDe reads them (Hive
/// lower-cases names; nested structures as `string` so any shape reads).
const RAW_COLUMNS: &[TypedColumn] = &[
    ("timestamp", "bigint"),
    ("formatversion", "int"),
    ("webaclid", "string"),
    ("terminatingruleid", "string"),
    ("terminatingruletype", "string"),
    ("action", "string"),
    ("terminatingrulematchdetails", "string"),
    ("httpsourcename", "string"),
    ("httpsourceid", "string"),
    ("rulegrouplist", "string"),
    ("ratebasedrulelist", "string"),
    ("nonterminatingmatchingrules", "string"),
    ("requestheadersinserted", "string"),
    ("responsecodesent", "string"),
    (
        "httprequest",
        "struct<clientip:string,country:string,headers:array<struct<name:string,value:string>>,uri:string,args:string,httpversion:string,httpmethod:string,requestid:string,fragment:string,scheme:string,host:string>",
    ),
    ("labels", "array<struct<name:string>>"),
    ("captcharesponse", "string"),
    ("challengeresponse", "string"),
    ("oversizefields", "array<string>"),
    ("ja3fingerprint", "string"),
    ("ja4fingerprint", "string"),
];

/// The format's static facts: names, corpus, framing, event time, partitions, special columns.
const INFO: FormatInfo = FormatInfo {
    keyword: "waf",
    table_name: "waf",
    title: "AWS WAF web ACL traffic logs",
    corpus_folder: "waf",
    framing: Framing::JsonLines,
    bytes_sent_column: None,
    event_time_column: "time",
    partitioning: Partitioning::RegionDate,
    unique_columns: &["time", "request_id"],
    free_text_columns: &[
        "client_ip",
        "json_headers",
        "host",
        "user_agent",
        "uri",
        "args",
        "request_id",
        "json_terminating_rule_match_details",
        "json_rule_group_list",
        "json_rate_based_rule_list",
        "json_non_terminating_matching_rules",
        "json_other",
    ],
    summary_column: "action",
    batch_rows: 2048,
    aws_folders: &["WAFLogs"],
};

/// The AWS WAF log format (`waf`).
#[derive(Debug, Clone, Copy, Default)]
pub struct WafFormat;

impl LogFormat for WafFormat {
    fn info(&self) -> &'static FormatInfo {
        &INFO
    }

    fn format(&self) -> Format {
        Format::Waf
    }

    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    /// `AWSLogs/<account>/WAFLogs/…` with `_waflogs_` in the file name (FORMATS.md 8.1).
    fn claims_key(&self, key: &str) -> bool {
        key.contains("/WAFLogs/") || key.starts_with("WAFLogs/")
    }

    /// Direct deliveries are told by their key from `AWSLogs/` on; Firehose deliveries by
    /// their name.
    fn names_one_delivery(&self, file: &str) -> bool {
        firehose_delivery_name(file)
    }

    /// Direct deliveries (`…_waflogs_…`), Firehose deliveries (the stream's name, which must
    /// begin with `aws-waf-logs-`, then its version, time and id: FORMATS.md 8.1) and
    /// hand-collected `.log` files.
    fn route(&self, key: &str) -> Route {
        let file = key.rsplit('/').next().unwrap_or(key);
        if file.contains("_waflogs_")
            || file.starts_with("aws-waf-logs-")
            || file.ends_with(".log.gz")
            || file.ends_with(".log")
        {
            Route::Convert
        } else if file.is_empty() {
            Route::Skip("folder placeholder")
        } else {
            Route::Skip("not a WAF log object name")
        }
    }

    /// A JSON object whose first key is WAF's `timestamp` or that names a web ACL.
    fn claims_first_line(&self, line: &str) -> bool {
        line.starts_with("{\"timestamp\":")
            || (line.starts_with('{') && line.contains("\"webaclId\""))
    }

    /// The folder after `WAFLogs/`: a region, or `cloudfront` for global web ACLs.
    fn region_from_key(&self, key: &str) -> Option<String> {
        let mut segments = key.split('/');
        segments.find(|s| *s == "WAFLogs")?;
        segments
            .next()
            .filter(|r| *r == "cloudfront" || looks_like_region(r))
            .map(str::to_owned)
    }

    /// For Firehose deliveries, whose keys name no region: the web ACL's, from its ARN, and
    /// `cloudfront` for CloudFront-scope (`global`) web ACLs, as direct deliveries name them.
    fn row_regions(&self, batch: &RecordBatch) -> Option<StringArray> {
        let ids = batch.column_by_name("webacl_id")?.as_string_opt::<i32>()?;
        Some(
            ids.iter()
                .map(|id| {
                    let id = id?;
                    match webacl_parts(id) {
                        (_, Some("global")) => Some("cloudfront"),
                        _ => id.split(':').nth(3).filter(|r| looks_like_region(r)),
                    }
                })
                .collect(),
        )
    }

    fn decoder(&self, batch_size: usize) -> Box<dyn ObjectDecoder> {
        Box::new(JsonLinesDecoder::new(
            WafRecordParser {
                columns: WafColumns::new(batch_size),
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

struct WafRecordParser {
    columns: WafColumns,
}

/// The checked values of one record, before anything is appended.
#[derive(Default)]
struct WafRecord<'a> {
    time: i64,
    format_version: Option<i32>,
    response_code_sent: Option<i32>,
    request_body_size: Option<i64>,
    request_body_size_inspected_by_waf: Option<i64>,
    client_asn: Option<i64>,
    /// Top-level text and raw-JSON values by column.
    top: [Option<&'a RawValue>; TOP_KEYS.len()],
    /// `httpRequest` values by column.
    request: [Option<&'a RawValue>; REQUEST_KEYS.len()],
    labels: Option<Vec<Cow<'a, str>>>,
    oversize_fields: Option<Vec<Cow<'a, str>>>,
    /// Unknown keys: top level, then `httpRequest`'s.
    other: Vec<(Cow<'a, str>, &'a RawValue)>,
    other_request: Vec<(Cow<'a, str>, &'a RawValue)>,
}

/// Top-level keys stored as text or raw JSON, by slot.
const TOP_KEYS: [&str; 17] = [
    "webaclId",                    // 0
    "terminatingRuleId",           // 1
    "terminatingRuleType",         // 2
    "action",                      // 3
    "terminatingRuleMatchDetails", // 4 raw
    "httpSourceName",              // 5
    "httpSourceId",                // 6
    "ruleGroupList",               // 7 raw
    "rateBasedRuleList",           // 8 raw
    "nonTerminatingMatchingRules", // 9 raw
    "requestHeadersInserted",      // 10 raw
    "captchaResponse",             // 11 raw
    "challengeResponse",           // 12 raw
    "ja3Fingerprint",              // 13
    "ja4Fingerprint",              // 14
    "cfDistributionTenantId",      // 15
    "challengeResponses",          // 16 raw, same column as 12
];

/// `httpRequest` keys stored as text or raw JSON, by slot.
const REQUEST_KEYS: [&str; 11] = [
    "clientIp",    // 0
    "country",     // 1
    "headers",     // 2 raw
    "uri",         // 3
    "args",        // 4
    "httpVersion", // 5
    "httpMethod",  // 6
    "requestId",   // 7
    "fragment",    // 8
    "scheme",      // 9
    "host",        // 10
];

/// `aws-waf-logs-<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<random id>[.<extension>]`, as
/// Firehose names the objects of a WAF stream (FORMATS.md 8.1). Stream names may hold dots and
/// dashes, so the time stamp is found from the end.
fn firehose_delivery_name(file: &str) -> bool {
    /// `-YYYY-MM-DD-HH-MM-SS-`: a dash, then the stamp.
    const STAMP: usize = 21;
    let Some(rest) = file.strip_prefix("aws-waf-logs-") else {
        return false;
    };
    let bytes = rest.as_bytes();
    let stamp_at = (0..bytes.len().saturating_sub(STAMP - 1))
        .rev()
        .find(|&at| {
            bytes[at] == b'-' && crate::delivery::is_name_stamp(&bytes[at + 1..at + STAMP])
        });
    let Some(at) = stamp_at else {
        return false;
    };
    let version = rest[..at].rsplit_once('-');
    let id = rest[at + STAMP..].split('.').next().unwrap_or("");
    version.is_some_and(|(stream, version)| {
        !stream.is_empty() && !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit())
    }) && crate::delivery::is_random_id(id)
}

fn integer(raw: &RawValue, column: &str) -> Result<Option<i64>, Cow<'static, str>> {
    json::integer(raw).map_err(|v| format!("invalid integer `{v}` in column `{column}`").into())
}

fn int32(raw: &RawValue, column: &str) -> Result<Option<i32>, Cow<'static, str>> {
    integer(raw, column)?
        .map(i32::try_from)
        .transpose()
        .map_err(|_| format!("integer out of range in column `{column}`").into())
}

/// The `name`s of `[{"name":…}]` (labels).
fn names(raw: &RawValue) -> Result<Option<Vec<Cow<'_, str>>>, Cow<'static, str>> {
    if raw.get() == "null" {
        return Ok(None);
    }
    let items: Vec<Members<'_>> = serde_json::from_str(raw.get())
        .map_err(|e| format!("`labels` is not an array of objects: {e}"))?;
    Ok(Some(
        items
            .iter()
            .filter_map(|item| {
                let (_, value) = item.0.iter().find(|(k, _)| k == "name")?;
                json::text(value)
            })
            .collect(),
    ))
}

/// The items of a JSON array of strings (oversize fields).
fn strings(raw: &RawValue) -> Result<Option<Vec<Cow<'_, str>>>, Cow<'static, str>> {
    if raw.get() == "null" {
        return Ok(None);
    }
    let items: Vec<&RawValue> = serde_json::from_str(raw.get())
        .map_err(|e| format!("`oversizeFields` is not an array: {e}"))?;
    Ok(Some(items.into_iter().filter_map(json::text).collect()))
}

impl<'a> WafRecord<'a> {
    fn parse(members: &'a Members<'a>) -> Result<Self, Cow<'static, str>> {
        let mut r = WafRecord::default();
        let mut time = None;
        for (key, value) in &members.0 {
            match key.as_ref() {
                "timestamp" => time = integer(value, "time")?,
                "formatVersion" => r.format_version = int32(value, "format_version")?,
                "responseCodeSent" => r.response_code_sent = int32(value, "response_code_sent")?,
                "requestBodySize" => r.request_body_size = integer(value, "request_body_size")?,
                "requestBodySizeInspectedByWAF" => {
                    r.request_body_size_inspected_by_waf =
                        integer(value, "request_body_size_inspected_by_waf")?
                }
                "clientAsn" => r.client_asn = integer(value, "client_asn")?,
                "labels" => r.labels = names(value)?,
                "oversizeFields" => r.oversize_fields = strings(value)?,
                "httpRequest" if value.get().starts_with('{') => r.http_request(value)?,
                other => match TOP_KEYS.iter().position(|k| *k == other) {
                    Some(slot) => r.top[slot] = Some(*value),
                    None => r.other.push((key.clone(), *value)),
                },
            }
        }
        r.time = time
            .ok_or("missing timestamp in column `time`")?
            .checked_mul(1000)
            .ok_or("timestamp out of range in column `time`")?;
        Ok(r)
    }

    fn http_request(&mut self, raw: &'a RawValue) -> Result<(), Cow<'static, str>> {
        let members: Members<'a> =
            serde_json::from_str(raw.get()).map_err(|e| format!("invalid `httpRequest`: {e}"))?;
        for (key, value) in members.0 {
            match (key.as_ref(), REQUEST_KEYS.iter().position(|k| *k == key)) {
                ("clientAsn", _) => self.client_asn = integer(value, "client_asn")?,
                (_, Some(slot)) => self.request[slot] = Some(value),
                (_, None) => self.other_request.push((key, value)),
            }
        }
        Ok(())
    }

    fn text(&self, slot: usize) -> Option<Cow<'a, str>> {
        self.top[slot].and_then(json::text)
    }

    fn raw(&self, slot: usize) -> Option<Cow<'a, str>> {
        self.top[slot].and_then(json::raw)
    }

    fn request_text(&self, slot: usize) -> Option<Cow<'a, str>> {
        self.request[slot].and_then(json::text)
    }

    /// The first `Host` and `User-Agent` headers (any case) that have a value, in one pass
    /// over the header list; a list that does not read as headers gives neither.
    fn host_and_user_agent(&self) -> (Option<Cow<'a, str>>, Option<Cow<'a, str>>) {
        let Some(raw) = self.request[2] else {
            return (None, None);
        };
        let Ok(headers) = serde_json::from_str::<Vec<Header<'a>>>(raw.get()) else {
            return (None, None);
        };
        let (mut host, mut user_agent) = (None, None);
        for header in headers {
            let (Some(name), Some(value)) = (header.name, header.value) else {
                continue;
            };
            if host.is_none() && name.eq_ignore_ascii_case("host") {
                host = Some(value);
            } else if user_agent.is_none() && name.eq_ignore_ascii_case("user-agent") {
                user_agent = Some(value);
            }
        }
        (host, user_agent)
    }

    /// Unknown keys as one compact object, `httpRequest`'s nested under its name.
    fn other_json(&self) -> Option<String> {
        json::other_members(&self.other, "httpRequest", &self.other_request)
    }
}

/// One entry of `httpRequest.headers`; other keys (`myValue` in AWS's own example) are ignored.
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    value: Option<Cow<'a, str>>,
}

/// `(name, scope)` of a web ACL ARN `arn:aws:wafv2:<region>:<account>:<scope>/webacl/<name>/<id>`.
fn webacl_parts(arn: &str) -> (Option<&str>, Option<&str>) {
    let Some(resource) = arn.splitn(6, ':').nth(5) else {
        return (None, None);
    };
    let mut parts = resource.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(scope), Some("webacl"), Some(name)) if !scope.is_empty() && !name.is_empty() => {
            (Some(name), Some(scope))
        }
        _ => (None, None),
    }
}

/// `-` means "none" in a few WAF fields.
fn dash_null(value: Option<Cow<'_, str>>) -> Option<Cow<'_, str>> {
    value.filter(|v| v != "-")
}

impl JsonRecordParser for WafRecordParser {
    fn append(&mut self, members: &Members<'_>) -> Result<(), Cow<'static, str>> {
        let r = WafRecord::parse(members)?;
        let c = &mut self.columns;
        let webacl_id = r.text(0);
        let (name, scope) = webacl_id.as_deref().map_or((None, None), webacl_parts);
        c.time.append_value(r.time);
        c.format_version.append_option(r.format_version);
        c.webacl_name.append_option(name);
        c.webacl_scope.append_option(scope);
        c.webacl_id.append_option(webacl_id.as_deref());
        c.terminating_rule_id.append_option(r.text(1));
        c.terminating_rule_type.append_option(r.text(2));
        c.action.append_option(r.text(3));
        c.json_terminating_rule_match_details
            .append_option(r.raw(4));
        c.http_source_name.append_option(dash_null(r.text(5)));
        c.http_source_id.append_option(dash_null(r.text(6)));
        c.json_rule_group_list.append_option(r.raw(7));
        c.json_rate_based_rule_list.append_option(r.raw(8));
        c.json_non_terminating_matching_rules
            .append_option(r.raw(9));
        c.json_request_headers_inserted.append_option(r.raw(10));
        c.response_code_sent.append_option(r.response_code_sent);
        c.client_ip.append_option(r.request_text(0));
        c.country.append_option(dash_null(r.request_text(1)));
        c.json_headers
            .append_option(r.request[2].and_then(json::raw));
        let (host_header, user_agent) = r.host_and_user_agent();
        c.host.append_option(r.request_text(10).or(host_header));
        c.user_agent.append_option(user_agent);
        c.uri.append_option(r.request_text(3));
        c.args.append_option(r.request_text(4));
        c.http_version.append_option(r.request_text(5));
        c.http_method.append_option(r.request_text(6));
        c.request_id.append_option(r.request_text(7));
        c.fragment.append_option(r.request_text(8));
        c.scheme.append_option(r.request_text(9));
        append_text_list(&mut c.labels, r.labels.as_deref());
        c.json_captcha_response.append_option(r.raw(11));
        c.json_challenge_response
            .append_option(r.raw(12).or_else(|| r.raw(16)));
        append_text_list(&mut c.oversize_fields, r.oversize_fields.as_deref());
        c.request_body_size.append_option(r.request_body_size);
        c.request_body_size_inspected_by_waf
            .append_option(r.request_body_size_inspected_by_waf);
        c.ja3_fingerprint.append_option(r.text(13));
        c.ja4_fingerprint.append_option(r.text(14));
        c.client_asn.append_option(r.client_asn);
        c.cf_distribution_tenant_id.append_option(r.text(15));
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
