//! `verify --deep`: reads the source-key column of every committed file (table files'
//! `_source_key`, rejects files' `source_key`; that column only, see [`super::column`]) and
//! compares the rows each source object has
//! there with what the ledger recorded for the file. A doubled object, a truncated or replaced
//! file, or a hand-edited ledger shows as a row count that differs.

use std::collections::{BTreeMap, BTreeSet};

use arrow_array::Array;
use arrow_array::cast::AsArray;
use parquet::arrow::arrow_reader::ParquetRecordBatchReader;

use super::column::{ReadError, read_column};
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
    // Files reported missing or of another size are not read again.
    let reported: BTreeSet<&str> = found
        .iter()
        .filter_map(|d| match d {
            Discrepancy::FileMissing { path } | Discrepancy::FileSize { path, .. } => {
                Some(path.as_str())
            }
            _ => None,
        })
        .collect();
    let mut broken = Vec::new();
    for (path, entry) in &state.ledger.files {
        if reported.contains(path.as_str()) {
            continue;
        }
        let (store, key) = state.store.resolve(path)?;
        let column = if is_rejects_file(path) {
            "source_key"
        } else {
            SOURCE_KEY_COLUMN
        };
        let counts = match read_column(&store, &key, entry.bytes, column)?.and_then(rows_per_source)
        {
            Ok(counts) => counts,
            Err(reason) => {
                broken.push(Discrepancy::RowCounts {
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
            broken.push(Discrepancy::RowCounts {
                path: path.clone(),
                ledger: entry.rows,
                found: total,
                detail,
            });
        }
    }
    found.extend(broken);
    Ok(rows_read)
}

/// How the rows found differ from the ledger's entry, if they do.
fn difference(entry: &FileEntry, total: u64, counts: &BTreeMap<String, u64>) -> Option<String> {
    let objects = |n: usize| format!("{n} object{}", if n == 1 { "" } else { "s" });
    if let Some(recorded) = entry.sources.rows() {
        for (url, rows) in recorded {
            let actual = counts.get(&url).copied().unwrap_or(0);
            if actual != rows {
                return Some(format!("{url}: {actual} rows, the ledger {rows}"));
            }
        }
        if let Some((url, rows)) = counts.iter().find(|(url, _)| !entry.sources.contains(url)) {
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

/// Rows per value of the one column `reader` reads.
fn rows_per_source(reader: ParquetRecordBatchReader) -> Result<BTreeMap<String, u64>, ReadError> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for batch in reader {
        let batch = batch?;
        let keys = batch
            .column(0)
            .as_string_opt::<i32>()
            .ok_or("the source key column is not a string column")?;
        if keys.null_count() > 0 {
            return Err("the source key column has nulls".into());
        }
        let mut run: Option<(&str, u64)> = None;
        for key in keys.iter().flatten() {
            match &mut run {
                Some((current, n)) if *current == key => *n += 1,
                _ => {
                    if let Some((current, n)) = run.take() {
                        crate::counts::add(&mut counts, current, n);
                    }
                    run = Some((key, 1));
                }
            }
        }
        if let Some((current, n)) = run {
            crate::counts::add(&mut counts, current, n);
        }
    }
    Ok(counts)
}
