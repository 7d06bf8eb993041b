//! `verify --deep`: reads the source-key column of every committed file (table files'
//! `_source_key`, rejects files' `source_key`) and compares the rows each source object has
//! there with what the ledger recorded for the file. A doubled object, a truncated or replaced
//! file, or a hand-edited ledger shows as a row count that differs.

use std::collections::BTreeMap;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::verify::Discrepancy;
use super::{AuditError, TargetState};
use crate::sink::{SOURCE_KEY_COLUMN, is_rejects_file};
use crate::state::FileEntry;

/// Checks every committed file's rows; returns how many rows were read.
pub(super) fn check_rows(
    state: &TargetState,
    found: &mut Vec<Discrepancy>,
) -> Result<u64, AuditError> {
    let mut rows_read = 0;
    for (path, entry) in &state.ledger.files {
        let (store, key) = state.store.resolve(path)?;
        // A missing file is reported by the file check already.
        let Some((bytes, _)) = store.get_if_exists(&key)? else {
            continue;
        };
        let column = if is_rejects_file(path) {
            "source_key"
        } else {
            SOURCE_KEY_COLUMN
        };
        let counts = match rows_per_source(bytes, column) {
            Ok(counts) => counts,
            Err(reason) => {
                found.push(Discrepancy::RowCounts {
                    path: path.clone(),
                    ledger: entry.rows,
                    found: 0,
                    detail: format!("the file cannot be read: {reason}"),
                });
                continue;
            }
        };
        let total: u64 = counts.values().sum();
        rows_read += total;
        if let Some(detail) = difference(entry, total, &counts) {
            found.push(Discrepancy::RowCounts {
                path: path.clone(),
                ledger: entry.rows,
                found: total,
                detail,
            });
        }
    }
    Ok(rows_read)
}

/// How the rows found differ from the ledger's entry, if they do.
fn difference(entry: &FileEntry, total: u64, counts: &BTreeMap<String, u64>) -> Option<String> {
    let objects = |n: usize| format!("{n} object{}", if n == 1 { "" } else { "s" });
    if let Some(recorded) = entry.sources.rows() {
        for (url, rows) in recorded {
            let actual = counts.get(url).copied().unwrap_or(0);
            if actual != *rows {
                return Some(format!("{url}: {actual} rows, the ledger {rows}"));
            }
        }
        if let Some((url, rows)) = counts.iter().find(|(url, _)| !recorded.contains_key(*url)) {
            return Some(format!("{url}: {rows} rows the ledger does not name"));
        }
    } else if let Some(url) = counts.keys().find(|url| !entry.sources.contains(url)) {
        return Some(format!("{url}: rows the ledger does not name"));
    }
    (total != entry.rows).then(|| {
        format!(
            "rows of {}, the ledger names {}",
            objects(counts.len()),
            objects(entry.sources.len())
        )
    })
}

/// Rows per value of `column` in a Parquet file, reading that column only.
fn rows_per_source(
    bytes: bytes::Bytes,
    column: &str,
) -> Result<BTreeMap<String, u64>, Box<dyn std::error::Error>> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)?;
    let index = builder
        .schema()
        .index_of(column)
        .map_err(|_| format!("no `{column}` column"))?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for batch in builder.with_projection(mask).build()? {
        let batch = batch?;
        let keys = batch
            .column(0)
            .as_string_opt::<i32>()
            .ok_or_else(|| format!("`{column}` is not a string column"))?;
        if keys.null_count() > 0 {
            return Err(format!("`{column}` has nulls").into());
        }
        let mut run: Option<(&str, u64)> = None;
        for key in keys.iter().flatten() {
            match &mut run {
                Some((current, n)) if *current == key => *n += 1,
                _ => {
                    if let Some((current, n)) = run.take() {
                        *counts.entry(current.to_owned()).or_insert(0) += n;
                    }
                    run = Some((key, 1));
                }
            }
        }
        if let Some((current, n)) = run {
            *counts.entry(current.to_owned()).or_insert(0) += n;
        }
    }
    Ok(counts)
}
