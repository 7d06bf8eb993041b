//! Parquet deliveries of standard logging v2: each row is one record, its columns named as
//! [`super::normalise`] reads them and holding strings (other types are cast to text, so a
//! producer that types its columns reads the same).
//!
//! Invariants: every row becomes a row or a reject (`rows + rejects == lines`, a row's line
//! number its 1-based position in the file); a file that is not readable Parquet, or is larger
//! than [`MAX_PARQUET_BYTES`], is one reject keeping its first bytes; memory is bounded by that
//! limit plus one batch.

use std::io::{self, BufRead, Read};

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, TimeUnit};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{SLOTS, TIMESTAMP_MS, V2Columns, slot_of};
use crate::decode::{DecodeCounts, DecodeError, DecodeOutput, MAX_LINE_BYTES, Reject};

/// The largest Parquet object read. CloudWatch writes one file per distribution and delivery
/// window, megabytes to a few hundred; the whole file is needed to read its footer.
pub(crate) const MAX_PARQUET_BYTES: u64 = 1 << 30;

/// Reads one Parquet object from `input` (positioned at its `PAR1` magic).
pub(super) fn decode(
    input: &mut dyn BufRead,
    batch_size: usize,
    output: &mut dyn DecodeOutput,
    counts: &mut DecodeCounts,
) -> Result<(), DecodeError> {
    let read_error = |source| DecodeError::Read { line: 0, source };
    let mut bytes = Vec::new();
    input
        .take(MAX_PARQUET_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    counts.bytes += bytes.len() as u64;
    if bytes.len() as u64 > MAX_PARQUET_BYTES {
        counts.bytes += io::copy(input, &mut io::sink()).map_err(read_error)?;
        let reason = format!("Parquet object larger than the {MAX_PARQUET_BYTES}-byte limit");
        return reject_file(&bytes, reason, output, counts);
    }
    let bytes = Bytes::from(bytes);
    let reader = guarded(|| {
        ParquetRecordBatchReaderBuilder::try_new(bytes.clone())
            .and_then(|builder| builder.with_batch_size(batch_size).build())
            .map_err(|error| error.to_string())
    });
    let mut reader = match reader {
        Ok(reader) => reader,
        Err(error) => {
            let reason = format!("not a readable Parquet file: {error}");
            return reject_file(&bytes, reason, output, counts);
        }
    };
    let mut columns = V2Columns::new(batch_size);
    let mut row_number = 0u64;
    let mut result = Ok(());
    loop {
        let batch = match guarded(|| reader.next().transpose().map_err(|e| e.to_string())) {
            Ok(Some(batch)) => batch,
            Ok(None) => break,
            Err(error) => {
                // The rows of a damaged row group cannot be counted: the damage is one reject.
                let reason = format!("Parquet data unreadable after row {row_number}: {error}");
                result = reject_file(&bytes, reason, output, counts);
                break;
            }
        };
        if let Err(error) = rows(
            &batch,
            &mut row_number,
            &mut columns,
            batch_size,
            output,
            counts,
        ) {
            result = Err(error);
            break;
        }
    }
    if columns.len() > 0 {
        output.batch(columns.finish()?)?;
    }
    result
}

/// Runs a call into the Parquet reader, turning a panic into an error. The reader panics on
/// some damaged files (negative column offsets in a footer, for one) and hostile input must
/// never stop a run: the damage becomes a reject like any other, and the panic is not printed
/// (the reject says what happened).
fn guarded<T>(read: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    quiet_panics_when_guarded();
    GUARDED.set(true);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    GUARDED.set(false);
    result.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_owned());
        Err(format!("the Parquet reader failed: {message}"))
    })
}

thread_local! {
    /// Whether this thread is inside [`guarded`], whose panics are expected and caught.
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Wraps the process's panic hook once: panics inside [`guarded`] print nothing, every other
/// panic reaches the hook that was installed before, unchanged.
fn quiet_panics_when_guarded() {
    static WRAPPED: std::sync::Once = std::sync::Once::new();
    WRAPPED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.get() {
                previous(info);
            }
        }));
    });
}

/// The object as one reject: its first bytes, and why.
fn reject_file(
    bytes: &[u8],
    reason: String,
    output: &mut dyn DecodeOutput,
    counts: &mut DecodeCounts,
) -> Result<(), DecodeError> {
    counts.lines += 1;
    counts.rejects += 1;
    output.reject(Reject {
        line: 1,
        reason: reason.into(),
        raw: &bytes[..bytes.len().min(MAX_LINE_BYTES)],
    })
}

/// A column as text, or why it cannot be read as text. `timestamp(ms)` typed as a timestamp is
/// read as its epoch milliseconds, the form the text outputs carry.
fn as_text(
    column: &ArrayRef,
    slot: Option<usize>,
) -> Result<StringArray, arrow_schema::ArrowError> {
    let millis;
    let column = match (slot, column.data_type()) {
        (Some(TIMESTAMP_MS), DataType::Timestamp(_, _)) => {
            let as_millis =
                arrow_cast::cast(column, &DataType::Timestamp(TimeUnit::Millisecond, None))?;
            millis = arrow_cast::cast(&as_millis, &DataType::Int64)?;
            &millis
        }
        _ => column,
    };
    Ok(arrow_cast::cast(column, &DataType::Utf8)?
        .as_string::<i32>()
        .clone())
}

/// One column of a batch, read as text, and the slot it fills (`None`: an unknown name).
struct TextColumn<'a> {
    name: &'a str,
    slot: Option<usize>,
    text: StringArray,
}

/// Appends the rows of one batch; each row that does not convert is a reject.
fn rows(
    batch: &RecordBatch,
    row_number: &mut u64,
    columns: &mut V2Columns,
    batch_size: usize,
    output: &mut dyn DecodeOutput,
    counts: &mut DecodeCounts,
) -> Result<(), DecodeError> {
    let schema = batch.schema();
    let mut readable: Vec<TextColumn<'_>> = Vec::new();
    let mut unreadable: Vec<String> = Vec::new();
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        let slot = slot_of(field.name());
        match guarded(|| as_text(column, slot).map_err(|e| e.to_string())) {
            Ok(text) => readable.push(TextColumn {
                name: field.name(),
                slot,
                text,
            }),
            Err(error) => unreadable.push(format!("`{}` ({error})", field.name())),
        }
    }
    let has_unknown = readable.iter().any(|c| c.slot.is_none());
    for row in 0..batch.num_rows() {
        *row_number += 1;
        counts.lines += 1;
        let mut values = ["-"; SLOTS];
        for column in &readable {
            if let (Some(slot), true) = (column.slot, column.text.is_valid(row)) {
                values[slot] = column.text.value(row);
            }
        }
        let appended = if unreadable.is_empty() {
            let other = has_unknown.then(|| row_json(&readable, row, |c| c.slot.is_none()));
            columns.append(&values, other)
        } else {
            Err(format!("column {} cannot be read as text", unreadable.join(", ")).into())
        };
        match appended {
            Ok(()) => {
                counts.rows += 1;
                if columns.len() >= batch_size {
                    output.batch(columns.finish()?)?;
                }
            }
            Err(reason) => {
                counts.rejects += 1;
                let raw = row_json(&readable, row, |_| true);
                output.reject(Reject {
                    line: *row_number,
                    reason,
                    raw: raw.as_bytes(),
                })?;
            }
        }
    }
    Ok(())
}

/// The `row` values of the columns `include` picks, as one JSON object of strings in column
/// order: the unknown columns for `json_other`, every column for a reject's raw bytes.
fn row_json(
    columns: &[TextColumn<'_>],
    row: usize,
    include: impl Fn(&TextColumn<'_>) -> bool,
) -> String {
    let mut out = String::from("{");
    for column in columns.iter().filter(|c| include(c)) {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::from(column.name).to_string());
        out.push(':');
        match column.text.is_valid(row) {
            true => out.push_str(&serde_json::Value::from(column.text.value(row)).to_string()),
            false => out.push_str("null"),
        }
    }
    out.push('}');
    out
}
