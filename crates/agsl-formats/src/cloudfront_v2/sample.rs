//! Standard logging v2 samples, in the three outputs a delivery can have, under the prefix AWS
//! inserts (`AWSLogs/<account>/CloudFront/`) and a `{DistributionId}/{yyyy}/{MM}/{dd}/{HH}/`
//! suffix path: of every four objects two are JSON with every field selected, one is W3C text
//! with a custom selection in another order, and one is Parquet (Snappy), all values strings.
//! The values are the legacy generator's, plus the real-time fields.

use std::fmt::Write;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::Partitioning;
use crate::cloudfront::{self, sample::line};
use crate::sample::{SampleFacts, SampleObject, SamplePlan, SampleRng};
use crate::time::{MICROS_PER_DAY, civil_from_days};

use super::{NAMES, SLOTS};

const ACCOUNT: &str = "123456789012";
const DISTRIBUTION: &str = "E1V2EXAMPLE7Q";
const HOUR_MICROS: i64 = 3_600_000_000;
const HEX: &[u8] = b"0123456789abcdef";
const COUNTRIES: [&str; 4] = ["US", "DE", "JP", "BR"];
const PATTERNS: [&str; 3] = ["Default (*)", "/assets/*", "/api/*"];
/// The W3C objects' selection: a custom subset, in an order of its own.
const W3C_FIELDS: [&str; 12] = [
    "timestamp(ms)",
    "c-ip",
    "cs-method",
    "cs-uri-stem",
    "sc-status",
    "sc-bytes",
    "time-taken",
    "x-edge-location",
    "x-edge-result-type",
    "x-edge-request-id",
    "c-country",
    "asn",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Output {
    Json,
    W3c,
    Parquet,
}

pub(crate) fn objects(plan: SamplePlan) -> impl Iterator<Item = SampleObject> {
    let mut rng = SampleRng::new(plan.seed);
    let mut line_number = 0u64;
    let first_hour = plan.start_micros.div_euclid(HOUR_MICROS) * HOUR_MICROS;
    (0..plan.objects).map(move |index| {
        let output = match index % 4 {
            0 | 1 => Output::Json,
            2 => Output::W3c,
            _ => Output::Parquet,
        };
        let hour = first_hour + (index / 2) as i64 * HOUR_MICROS;
        let (year, month, day) = civil_from_days(hour.div_euclid(MICROS_PER_DAY));
        let hh = hour.rem_euclid(MICROS_PER_DAY) / HOUR_MICROS;
        let mut key = format!(
            "AWSLogs/{ACCOUNT}/CloudFront/{DISTRIBUTION}/{year:04}/{month:02}/{day:02}/{hh:02}/\
             {DISTRIBUTION}.{year:04}-{month:02}-{day:02}-{hh:02}."
        );
        rng.push_text(HEX, 8, &mut key);
        key.push_str(if output == Output::Parquet {
            ".parquet"
        } else {
            ".gz"
        });
        let mut records: Vec<[String; SLOTS]> = Vec::with_capacity(plan.lines_per_object);
        let mut facts = SampleFacts::default();
        let step = HOUR_MICROS / plan.lines_per_object.max(1) as i64;
        for i in 0..plan.lines_per_object {
            line_number += 1;
            let time = hour + i as i64 * step;
            let (mut values, sent) = record(&mut rng, time);
            if plan.is_bad_line(line_number) {
                values[3] = "12kB".to_owned();
                facts.bad_lines += 1;
            } else {
                let day = (time / 1000 * 1000).div_euclid(MICROS_PER_DAY);
                facts.good_line(sent, Partitioning::Date.path(None, day));
            }
            records.push(values);
        }
        let body = match output {
            Output::Json => json(&records),
            Output::W3c => w3c(&records),
            Output::Parquet => parquet(&records),
        };
        SampleObject {
            key,
            body,
            compressed: output != Output::Parquet,
            facts,
        }
    })
}

/// One request's values by slot (legacy fields from the legacy generator, then the real-time
/// ones) and its `sc-bytes`.
fn record(rng: &mut SampleRng, time: i64) -> ([String; SLOTS], i64) {
    let mut legacy = String::new();
    let sent = line(rng, time / 1_000_000 * 1_000_000, &mut legacy);
    let mut values: [String; SLOTS] = std::array::from_fn(|_| "-".to_owned());
    for (slot, value) in legacy
        .split('\t')
        .enumerate()
        .take(cloudfront::FIELDS.len())
    {
        values[slot] = value.to_owned();
    }
    values[33] = (time / 1000).to_string();
    values[34] = (*rng.pick(&COUNTRIES)).to_owned();
    values[35] = (1000 + rng.below(64_000)).to_string();
    values[36] = format!("0.{:03}", rng.below(1000));
    values[37] = format!("0.{:03}", 100 + rng.below(900));
    values[38] = (*rng.pick(&PATTERNS)).to_owned();
    (values, sent)
}

/// One JSON object per line, every field by its wire name, every value a string.
fn json(records: &[[String; SLOTS]]) -> Vec<u8> {
    let mut out = String::new();
    for values in records {
        out.push('{');
        for (slot, (wire, _)) in NAMES.iter().enumerate() {
            if slot > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{}:{}",
                serde_json::Value::from(*wire),
                serde_json::Value::from(values[slot].as_str())
            );
        }
        out.push_str("}\n");
    }
    out.into_bytes()
}

/// The `#Fields:` header of the custom selection, then TAB-separated values.
fn w3c(records: &[[String; SLOTS]]) -> Vec<u8> {
    let slots: Vec<usize> = W3C_FIELDS
        .iter()
        .map(|name| super::slot_of(name).expect("a documented field"))
        .collect();
    let mut out = format!("#Fields: {}\n", W3C_FIELDS.join(" "));
    for values in records {
        let line: Vec<&str> = slots.iter().map(|slot| values[*slot].as_str()).collect();
        out.push_str(&line.join("\t"));
        out.push('\n');
    }
    out.into_bytes()
}

/// A Parquet file with every field as a string column, named as Athena's DDL names them
/// (`cs_referer` with one r).
fn parquet(records: &[[String; SLOTS]]) -> Vec<u8> {
    let fields: Vec<Field> = NAMES
        .iter()
        .map(|(_, column)| {
            let name = if *column == "cs_referrer" {
                "cs_referer"
            } else {
                column
            };
            Field::new(name, DataType::Utf8, true)
        })
        .collect();
    let columns: Vec<ArrayRef> = (0..SLOTS)
        .map(|slot| {
            Arc::new(StringArray::from_iter_values(
                records.iter().map(|values| values[slot].as_str()),
            )) as ArrayRef
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns).expect("columns match the schema");
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut out = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut out, schema, Some(properties)).expect("an in-memory writer");
    writer.write(&batch).expect("writes to memory");
    writer.close().expect("writes to memory");
    out
}
