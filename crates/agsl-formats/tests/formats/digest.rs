//! Output digests: every optimization of a parser must leave its output bit for bit the same.
//! For each format a fixed generated sample (with damaged lines) is decoded and summarised per
//! column (rows, nulls, an FNV-1a hash of the values in order) plus the rejects (line, reason);
//! the summary must equal the digest stored in `digests/<format>.digest`. After an intended
//! change of output (a new column, a fixed bug), regenerate them with
//! `AGSL_UPDATE_DIGESTS=1 cargo nextest run -p agsl-formats digest` and review the diff.

use std::fmt::Write;
use std::path::PathBuf;

use agsl_formats::sample::{SamplePlan, objects};
use agsl_formats::{Decoded, Format};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;

/// FNV-1a, 64 bit: stable across platforms and Rust versions, unlike std's hashers.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// A value, or the null marker; lengths keep `ab`+`c` apart from `a`+`bc`.
    fn value(&mut self, value: Option<&[u8]>) {
        match value {
            None => self.bytes(&[0xff]),
            Some(bytes) => {
                self.bytes(&(bytes.len() as u64).to_le_bytes());
                self.bytes(bytes);
            }
        }
    }
}

fn hash_column(array: &ArrayRef, hash: &mut Fnv) {
    let valid = |i| array.is_valid(i);
    for i in 0..array.len() {
        let value: Option<Vec<u8>> = valid(i).then(|| match array.data_type() {
            DataType::Utf8 => array.as_string::<i32>().value(i).as_bytes().to_vec(),
            DataType::Int32 => array
                .as_primitive::<Int32Type>()
                .value(i)
                .to_le_bytes()
                .to_vec(),
            DataType::Int64 => array
                .as_primitive::<Int64Type>()
                .value(i)
                .to_le_bytes()
                .to_vec(),
            DataType::Float64 => array
                .as_primitive::<Float64Type>()
                .value(i)
                .to_bits()
                .to_le_bytes()
                .to_vec(),
            DataType::Boolean => vec![u8::from(array.as_boolean().value(i))],
            DataType::Timestamp(_, _) => array
                .as_primitive::<TimestampMicrosecondType>()
                .value(i)
                .to_le_bytes()
                .to_vec(),
            // Nested columns (CloudTrail resources): their debug rendering is deterministic.
            _ => format!("{:?}", array.slice(i, 1)).into_bytes(),
        });
        hash.value(value.as_deref());
    }
}

/// The digest of decoding the format's fixed sample.
fn digest(format: Format) -> String {
    let plan = SamplePlan {
        seed: 2026,
        objects: 6,
        lines_per_object: 1_500,
        bad_line_every: Some(211),
        ..SamplePlan::default()
    };
    let parser = format.parser();
    let schema = parser.schema();
    let mut columns: Vec<(u64, Fnv)> = schema.fields().iter().map(|_| (0, Fnv::new())).collect();
    let mut rows = 0;
    let mut rejects = Fnv::new();
    let mut reject_count = 0;
    for object in objects(format, plan) {
        let decoded = Decoded::from_bytes(parser, &object.body, 1_000).unwrap();
        for batch in &decoded.batches {
            rows += batch.num_rows();
            for (column, (nulls, hash)) in batch.columns().iter().zip(&mut columns) {
                *nulls += column.null_count() as u64;
                hash_column(column, hash);
            }
        }
        for reject in &decoded.rejects {
            reject_count += 1;
            rejects.value(Some(&reject.line.to_le_bytes()));
            rejects.value(Some(reject.reason.as_bytes()));
            rejects.value(Some(&reject.raw));
        }
    }
    let mut out = format!(
        "{format}: {rows} rows, {reject_count} rejects {:016x}\n",
        rejects.0
    );
    for (field, (nulls, hash)) in schema.fields().iter().zip(&columns) {
        let _ = writeln!(
            out,
            "{} {} nulls={nulls} {:016x}",
            field.name(),
            field.data_type(),
            hash.0
        );
    }
    out
}

fn check(format: Format) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/formats/digests")
        .join(format!("{format}.digest"));
    let actual = digest(format);
    if std::env::var_os("AGSL_UPDATE_DIGESTS").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing; see this module's docs", path.display()));
    assert_eq!(actual, stored, "{format}: the parser's output changed");
}

#[test]
fn alb_output_is_unchanged() {
    check(Format::Alb);
}

#[test]
fn elb_output_is_unchanged() {
    check(Format::Elb);
}

#[test]
fn cloudfront_output_is_unchanged() {
    check(Format::Cloudfront);
}

#[test]
fn cloudtrail_output_is_unchanged() {
    check(Format::Cloudtrail);
}

#[test]
fn s3_access_output_is_unchanged() {
    check(Format::S3Access);
}

#[test]
fn vpc_flow_output_is_unchanged() {
    check(Format::VpcFlow);
}
