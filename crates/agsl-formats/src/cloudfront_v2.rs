//! CloudFront standard logging v2 (FORMATS.md section 12): the CloudWatch "vended logs"
//! delivery of CloudFront access logs to S3, in whichever output the delivery was created with
//! (JSON lines, W3C text with a `#Fields:` header, or Parquet) and with any selection and order
//! of fields. Every field is mapped by name into the legacy CloudFront columns (section 3), plus
//! the real-time fields, so one table can hold both kinds.
//!
//! Choices where the spec leaves room:
//! - One name normaliser for every output: lower case, `-` `(` `)` to `_`, repeats collapsed,
//!   `_` trimmed, then `cs_referer` is `cs_referrer`. So `cs(Host)` (JSON, W3C) and `cs_host`
//!   (Parquet) both fill `cs_host`.
//! - `time` is `timestamp(ms)` when the delivery selected it (millisecond precision), else
//!   `date` + `time`; a record with neither is rejected (`no event time`): its partition cannot
//!   be chosen.
//! - Values are typed as in section 3 (`-` and JSON `null` are NULL; a value that does not fit
//!   its column rejects the record); `asn` is Int64, `origin_fbl`/`origin_lbl` Float64 seconds.
//! - JSON and Parquet: names outside the 39 documented go to `json_other`, one object in the
//!   order received. W3C: they are ignored, as in legacy files.
//! - What an object holds is decided from its first bytes: `PAR1` is Parquet, `{` JSON, anything
//!   else text lines whose `#Fields:` header names the fields (TAB-separated unless the job
//!   gives the delivery's `fieldDelimiter`). `plain` output
//!   (no header) does not say which value is which field: it is read with the delivery's
//!   configured field list and delimiter (the job's `record_fields`, `field_delimiter`), and
//!   without one each of its lines is rejected, naming the cause, never read in a guessed order.
//! - Parquet objects are read whole into memory, up to [`parquet::MAX_PARQUET_BYTES`]; a row's
//!   "line" is its 1-based position in the file, and a rejected row keeps its values as JSON.
//! - The key's `DistributionId=`/`{DistributionId}` folder is not a column (the legacy table has
//!   none either); partitions are `year`/`month`/`day` from `time`.

use std::borrow::Cow;
use std::io::BufRead;
use std::sync::{Arc, LazyLock};

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, Schema, SchemaRef};
use serde_json::value::RawValue;

use crate::cloudfront::{self, CloudfrontColumns, CloudfrontRecord};
use crate::columns::columns;
use crate::decode::{
    DecodeCounts, DecodeError, DecodeOutput, LineDecoder, LineKind, LineParser, ObjectDecoder,
};
use crate::fields::{self, Reason};
use crate::json::{self, Members};
use crate::json_lines::{JsonLinesDecoder, JsonRecordParser};
use crate::raw::{RawLayout, RawSerde, RawTable, TypedColumn};
use crate::sample::{SampleObject, SamplePlan};
use crate::{FieldList, Format, FormatInfo, Framing, LogFormat, Partitioning, Route};

mod parquet;
mod sample;

/// The real-time fields v2 adds to the 33 legacy ones, by wire name; their slots follow the
/// legacy slots ([`cloudfront::FIELDS`]).
const REAL_TIME_FIELDS: [&str; 6] = [
    "timestamp(ms)",               // 33
    "c-country",                   // 34
    "asn",                         // 35
    "origin-fbl",                  // 36
    "origin-lbl",                  // 37
    "cache-behavior-path-pattern", // 38
];

/// Legacy fields plus real-time fields: the number of value slots of a record.
const SLOTS: usize = cloudfront::FIELDS.len() + REAL_TIME_FIELDS.len();
const TIMESTAMP_MS: usize = 33;

/// The columns of the real-time fields' slots, named as [`normalise`] names them.
const REAL_TIME_COLUMNS: [TypedColumn; 6] = [
    ("timestamp_ms", "string"),
    ("c_country", "string"),
    ("asn", "string"),
    ("origin_fbl", "string"),
    ("origin_lbl", "string"),
    ("cache_behavior_path_pattern", "string"),
];

/// Every slot's wire name (JSON keys, W3C `#Fields:` names) and normalised name (Parquet
/// columns; for the legacy fields, the table's column names).
static NAMES: LazyLock<[(&'static str, &'static str); SLOTS]> = LazyLock::new(|| {
    std::array::from_fn(|slot| match slot.checked_sub(cloudfront::FIELDS.len()) {
        None => (cloudfront::FIELDS[slot], cloudfront::RAW_COLUMNS[slot].0),
        Some(extra) => (REAL_TIME_FIELDS[extra], REAL_TIME_COLUMNS[extra].0),
    })
});

/// The one name normaliser of FORMATS.md 12.2.
fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c.to_ascii_lowercase() {
            '-' | '(' | ')' | '_' => {
                if !out.is_empty() && !out.ends_with('_') {
                    out.push('_');
                }
            }
            c => out.push(c),
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out == "cs_referer" {
        return "cs_referrer".to_owned();
    }
    out
}

/// The slot a field name fills, whatever the output spelled it; `None` for unknown names.
fn slot_of(name: &str) -> Option<usize> {
    let names = &*NAMES;
    names
        .iter()
        .position(|(wire, _)| *wire == name)
        .or_else(|| {
            let normalised = normalise(name);
            names.iter().position(|(_, column)| *column == normalised)
        })
}

columns! {
    /// The columns after the legacy ones.
    pub(crate) struct RealTimeColumns {
        c_country: Utf8 = "c_country",
        asn: Int64 = "asn",
        origin_fbl: Float64 = "origin_fbl",
        origin_lbl: Float64 = "origin_lbl",
        cache_behavior_path_pattern: Utf8 = "cache_behavior_path_pattern",
        json_other: Utf8 = "json_other",
    }
}

static LEGACY_SCHEMA: LazyLock<SchemaRef> =
    LazyLock::new(|| Arc::new(Schema::new(CloudfrontColumns::fields())));
static REAL_TIME_SCHEMA: LazyLock<SchemaRef> =
    LazyLock::new(|| Arc::new(Schema::new(RealTimeColumns::fields())));
/// The legacy table's columns in their order, then the real-time ones (FORMATS.md 12.2).
static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields = CloudfrontColumns::fields();
    fields.extend(RealTimeColumns::fields());
    Arc::new(Schema::new(fields))
});

/// The builders of one batch: the legacy columns and the real-time ones.
struct V2Columns {
    legacy: CloudfrontColumns,
    real_time: RealTimeColumns,
}

impl V2Columns {
    fn new(batch_size: usize) -> Self {
        Self {
            legacy: CloudfrontColumns::new(batch_size),
            real_time: RealTimeColumns::new(batch_size),
        }
    }

    fn len(&self) -> usize {
        debug_assert_eq!(self.legacy.len(), self.real_time.len());
        self.legacy.len()
    }

    fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let mut columns = self.legacy.finish(&LEGACY_SCHEMA)?.columns().to_vec();
        columns.extend_from_slice(self.real_time.finish(&REAL_TIME_SCHEMA)?.columns());
        RecordBatch::try_new(SCHEMA.clone(), columns)
    }

    /// Appends one record from its values by slot (`-` where the delivery has no value), or
    /// says why it cannot; nothing is appended then.
    fn append(&mut self, v: &[&str; SLOTS], other: Option<String>) -> Result<(), Reason> {
        let time = event_time(v)?;
        let legacy: &[&str; cloudfront::FIELDS.len()] = v[..cloudfront::FIELDS.len()]
            .try_into()
            .expect("legacy slots come first");
        let record = CloudfrontRecord::with_time(legacy, time)?;
        let asn = fields::int64(v[35], "asn")?;
        let origin_fbl = fields::float64(v[36], "origin_fbl")?;
        let origin_lbl = fields::float64(v[37], "origin_lbl")?;
        record.append(&mut self.legacy, legacy);
        let c = &mut self.real_time;
        c.c_country.append_option(fields::text(v[34]));
        c.asn.append_option(asn);
        c.origin_fbl.append_option(origin_fbl);
        c.origin_lbl.append_option(origin_lbl);
        c.cache_behavior_path_pattern
            .append_option(fields::text(v[38]));
        c.json_other.append_option(other);
        Ok(())
    }
}

/// `timestamp(ms)` when selected, else `date` + `time`.
fn event_time(v: &[&str; SLOTS]) -> Result<i64, Reason> {
    match v[TIMESTAMP_MS] {
        "-" => match (v[0], v[1]) {
            ("-", _) | (_, "-") => {
                Err("no event time: neither timestamp(ms) nor date and time".into())
            }
            (date, time) => cloudfront::date_and_time(date, time),
        },
        millis => fields::int64(millis, "time")?
            .and_then(|ms| ms.checked_mul(1000))
            .ok_or_else(|| {
                format!("timestamp(ms) `{}` out of range", fields::shown(millis)).into()
            }),
    }
}

/// The raw table's columns: every slot by its normalised name, `string` as delivered.
static RAW_COLUMNS: LazyLock<Vec<TypedColumn>> = LazyLock::new(|| {
    cloudfront::RAW_COLUMNS
        .iter()
        .chain(&REAL_TIME_COLUMNS)
        .copied()
        .collect()
});

/// The format's static facts: names, corpus, framing, event time, partitions, special columns.
const INFO: FormatInfo = FormatInfo {
    keyword: "cloudfront_v2",
    table_name: "cloudfront_v2",
    title: "CloudFront standard logging v2 (JSON, W3C, Parquet)",
    corpus_folder: "cloudfront_v2",
    framing: Framing::JsonLines,
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
        "json_other",
    ],
    summary_column: "sc_status",
    batch_rows: 2048,
    aws_folders: &["CloudFront"],
};

/// CloudFront standard logging v2 (`cloudfront_v2`).
#[derive(Debug, Clone, Default)]
pub struct CloudfrontV2Format {
    /// The delivery's configured fields and delimiter for text output; `None`: TAB, and text
    /// without a `#Fields:` header is rejected.
    plain: Option<Arc<PlainLayout>>,
}

/// How a delivery's text lines are laid out, from its configuration: the slot of each
/// position of `plain` lines (empty: only the delimiter was given), and the delimiter of
/// `plain` and W3C lines.
#[derive(Debug)]
struct PlainLayout {
    slots: Vec<Option<usize>>,
    /// One ASCII byte ([`FieldList::parse`] checks it).
    delimiter: u8,
}

impl LogFormat for CloudfrontV2Format {
    fn info(&self) -> &'static FormatInfo {
        &INFO
    }

    fn format(&self) -> Format {
        Format::CloudfrontV2
    }

    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    /// Objects named like CloudFront logs: under the delivery folders only v2 writes (then no
    /// other format claims them), or in a flat prefix, which legacy logging claims too; there
    /// the content decides (FORMATS.md 12.1).
    fn claims_key(&self, key: &str) -> bool {
        cloudfront::log_file_name(key)
            || (key.ends_with(".parquet") && cloudfront::v2_delivery_folders(key))
    }

    fn names_one_delivery(&self, file: &str) -> bool {
        cloudfront::names_one_delivery(file)
    }

    fn route(&self, key: &str) -> Route {
        let file = key.rsplit('/').next().unwrap_or(key);
        if self.claims_key(key)
            || [".gz", ".log", ".json", ".parquet"]
                .iter()
                .any(|e| file.ends_with(e))
        {
            Route::Convert
        } else if file.is_empty() {
            Route::Skip("folder placeholder")
        } else {
            Route::Skip("not a CloudFront log object name")
        }
    }

    /// Parquet's magic, a `#Fields:` header that is not the legacy one, or a JSON object whose
    /// first key is a CloudFront field.
    fn claims_first_line(&self, line: &str) -> bool {
        if line.starts_with("PAR1") {
            return true;
        }
        if let Some(names) = line.strip_prefix("#Fields:") {
            return !cloudfront::legacy_field_names(names);
        }
        let Some(rest) = line.strip_prefix("{\"") else {
            return false;
        };
        rest.split_once('"')
            .is_some_and(|(first_key, _)| slot_of(first_key).is_some())
    }

    fn region_from_key(&self, _key: &str) -> Option<String> {
        None
    }

    /// The delivery's `recordFields` (for `plain` output; may be empty when only its
    /// `fieldDelimiter` is given); every name must be a documented field.
    fn with_field_list(&self, fields: &FieldList) -> Result<Box<dyn LogFormat>, String> {
        let slots = fields
            .names
            .iter()
            .map(|name| {
                slot_of(name)
                    .map(Some)
                    .ok_or_else(|| format!("unknown CloudFront field `{name}`"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Box::new(CloudfrontV2Format {
            plain: Some(Arc::new(PlainLayout {
                slots,
                delimiter: fields.delimiter,
            })),
        }))
    }

    fn decoder(&self, batch_size: usize) -> Box<dyn ObjectDecoder> {
        Box::new(CloudfrontV2Decoder {
            batch_size: batch_size.max(1),
            json: JsonLinesDecoder::new(
                JsonParser {
                    columns: V2Columns::new(batch_size),
                    layout: Vec::new(),
                },
                batch_size,
            ),
            text: LineDecoder::new(
                TextParser {
                    columns: V2Columns::new(batch_size),
                    plain: self.plain.clone(),
                    layout: None,
                    delimiter: b'\t',
                },
                batch_size,
            ),
        })
    }

    /// The JSON output through the OpenX JSON SerDe, its wire names mapped to column names.
    fn raw_table(&self) -> RawTable {
        static MAPPING: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
            NAMES
                .iter()
                .filter(|(wire, column)| wire != column)
                .map(|(wire, column)| (*column, *wire))
                .collect()
        });
        RawTable {
            serde: RawSerde::JsonLines {
                columns: &RAW_COLUMNS,
                key_mapping: &MAPPING,
            },
            layout: RawLayout::Flat,
        }
    }

    fn sample(&self, plan: SamplePlan) -> Box<dyn Iterator<Item = SampleObject> + Send> {
        Box::new(sample::objects(plan))
    }
}

/// Picks the reader for each object from its first bytes.
struct CloudfrontV2Decoder {
    batch_size: usize,
    json: JsonLinesDecoder<JsonParser>,
    text: LineDecoder<TextParser>,
}

impl ObjectDecoder for CloudfrontV2Decoder {
    fn decode(
        &mut self,
        input: &mut dyn BufRead,
        output: &mut dyn DecodeOutput,
        counts: &mut DecodeCounts,
    ) -> Result<(), DecodeError> {
        let head = input
            .fill_buf()
            .map_err(|source| DecodeError::Read { line: 0, source })?;
        if head.starts_with(b"PAR1") {
            parquet::decode(input, self.batch_size, output, counts)
        } else if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            self.json.decode(input, output, counts)
        } else {
            self.text.decode(input, output, counts)
        }
    }
}

/// JSON output: one object of field names to string values per line.
struct JsonParser {
    columns: V2Columns,
    /// The previous record's keys and their slots: records of one delivery share their key
    /// order, so a key is usually resolved by one comparison.
    layout: Vec<(Box<str>, Option<usize>)>,
}

impl JsonParser {
    fn slot(&mut self, position: usize, key: &str) -> Option<usize> {
        match self.layout.get(position) {
            Some((known, slot)) if &**known == key => *slot,
            _ => {
                let slot = slot_of(key);
                let entry = (Box::from(key), slot);
                match self.layout.get_mut(position) {
                    Some(cached) => *cached = entry,
                    None => self.layout.push(entry),
                }
                slot
            }
        }
    }
}

impl JsonRecordParser for JsonParser {
    fn append(&mut self, record: &Members<'_>) -> Result<(), Cow<'static, str>> {
        let mut values: [Cow<'_, str>; SLOTS] = std::array::from_fn(|_| Cow::Borrowed("-"));
        let mut other: Vec<(Cow<'_, str>, &RawValue)> = Vec::new();
        for (position, (key, value)) in record.0.iter().enumerate() {
            match self.slot(position, key) {
                Some(slot) => {
                    if let Some(text) = json::text(value) {
                        values[slot] = text;
                    }
                }
                None => other.push((key.clone(), *value)),
            }
        }
        let values: [&str; SLOTS] = std::array::from_fn(|slot| &*values[slot]);
        self.columns
            .append(&values, json::other_members(&other, "", &[]))
    }

    fn buffered_rows(&self) -> usize {
        self.columns.len()
    }

    fn finish_batch(&mut self) -> Result<RecordBatch, ArrowError> {
        self.columns.finish()
    }
}

/// W3C output: `#Fields:` names the TAB-separated values of the lines after it; `plain`
/// output: the configured field list does, with its delimiter.
struct TextParser {
    columns: V2Columns,
    plain: Option<Arc<PlainLayout>>,
    /// The slot of each position, from the object's `#Fields:` line, else the configured
    /// field list (`None`: neither, so no line can be placed).
    layout: Option<Vec<Option<usize>>>,
    delimiter: u8,
}

impl LineParser for TextParser {
    fn parse_line(&mut self, line: &str) -> Result<LineKind, Reason> {
        if let Some(header) = line.strip_prefix('#') {
            if let Some(names) = header.strip_prefix("Fields:") {
                self.layout = Some(names.split_whitespace().map(slot_of).collect());
            }
            return Ok(LineKind::NotData);
        }
        let Some(layout) = &self.layout else {
            return Err(
                "no `#Fields:` header before this line and no field list configured: \
                        `plain` output does not name its fields (give the delivery's \
                        recordFields as the job's record_fields)"
                    .into(),
            );
        };
        let mut values = ["-"; SLOTS];
        let mut count = 0;
        for (position, value) in fields::split_on(line, self.delimiter).enumerate() {
            count += 1;
            if let Some(Some(slot)) = layout.get(position) {
                values[*slot] = value;
            }
        }
        if count > layout.len() {
            return Err(format!(
                "{count} {:?}-separated fields where {} names {}; a delimiter inside a value \
                 would shift the columns",
                char::from(self.delimiter),
                "the header or field list",
                layout.len()
            )
            .into());
        }
        self.columns.append(&values, None)?;
        Ok(LineKind::Row)
    }

    fn buffered_rows(&self) -> usize {
        self.columns.len()
    }

    fn finish_batch(&mut self) -> Result<RecordBatch, ArrowError> {
        self.columns.finish()
    }

    fn start_object(&mut self) {
        self.layout = self
            .plain
            .as_ref()
            .filter(|plain| !plain.slots.is_empty())
            .map(|plain| plain.slots.clone());
        self.delimiter = self.plain.as_ref().map_or(b'\t', |plain| plain.delimiter);
    }
}

#[cfg(test)]
mod tests;
