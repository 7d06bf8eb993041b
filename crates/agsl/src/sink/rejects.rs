//! Lines that could not be parsed, kept losslessly as Parquet: the source object, the line
//! number, the reason and the raw bytes (invalid UTF-8 included). They go under
//! `<target>/_rejects/`, which Hive-style readers skip as it starts with `_`, or to a rejects
//! location of their own (`--rejects`), published there by the same commit as the table files.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use agsl_formats::Reject;
use arrow_array::RecordBatch;
use arrow_array::builder::{ArrayBuilder, BinaryBuilder, Int64Builder, StringBuilder};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::WriterOptions;
use super::parquet_file::{ParquetFile, WrittenFile};
use crate::counts;
use crate::error::SinkError;

/// The folder below the target that holds rejects.
pub const REJECTS_DIR: &str = "_rejects";

/// Whether a committed file (by its path in the ledger) holds rejects: it lies below a
/// `_rejects` folder of the target, or in a rejects location of its own, named by its URL.
pub fn is_rejects_file(path: &str) -> bool {
    crate::storage::is_url(path) || path.split('/').any(|segment| segment == REJECTS_DIR)
}

/// Buffered rejects are written once they hold this many raw bytes or rows.
const FLUSH_BYTES: usize = 8 * 1024 * 1024;
const FLUSH_ROWS: usize = 4096;

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("source_key", DataType::Utf8, false),
        Field::new("line_number", DataType::Int64, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("raw_line", DataType::Binary, false),
    ]))
});

/// The schema of the rejects files.
pub fn rejects_schema() -> SchemaRef {
    SCHEMA.clone()
}

/// Distinct kinds of reason counted per writer; the rest are counted as [`OTHER_REASONS`].
const MAX_REASON_KINDS: usize = 64;
pub const OTHER_REASONS: &str = "other reasons";

/// What kind of problem a reject's reason names, for counting: the reason with the values it
/// quotes (`"…"`, `` `…` ``) and its numbers left out, so ``invalid integer `x` in column
/// `http_status` `` and ``invalid integer `-3a` in column `http_status` `` count together
/// (a quoted column name stays), and `expected 29 fields, found 3` becomes `expected N fields,
/// found N`.
pub fn reason_kind(reason: &str) -> String {
    let mut kind = String::with_capacity(reason.len().min(120));
    let mut chars = reason.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // A quoted column or field name says where; it stays.
            '"' | '`' if kind.ends_with("column ") || kind.ends_with("field ") => {
                kind.push(c);
                for inner in chars.by_ref() {
                    kind.push(inner);
                    if inner == c {
                        break;
                    }
                }
            }
            '"' | '`' => {
                for inner in chars.by_ref() {
                    if inner == c {
                        break;
                    }
                }
                kind.push(c);
                kind.push('…');
                kind.push(c);
            }
            '0'..='9' => {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                kind.push('N');
            }
            _ => kind.push(c),
        }
        if kind.len() >= 120 {
            kind.push('…');
            break;
        }
    }
    kind
}

/// One worker's rejects file, created on the first reject.
pub struct RejectsWriter {
    dir: PathBuf,
    name: String,
    options: WriterOptions,
    file: Option<ParquetFile>,
    source_key: StringBuilder,
    line_number: Int64Builder,
    reason: StringBuilder,
    raw_line: BinaryBuilder,
    buffered_bytes: usize,
    /// Source URLs of the buffered rejects with their counts, noted on the file at the next
    /// flush.
    sources: BTreeMap<String, u64>,
    /// Rejects written, by [`reason_kind`].
    reasons: BTreeMap<String, u64>,
}

impl RejectsWriter {
    pub fn new(target: impl Into<PathBuf>, name: String, options: WriterOptions) -> Self {
        Self {
            dir: target.into().join(REJECTS_DIR),
            name,
            options,
            file: None,
            source_key: StringBuilder::new(),
            line_number: Int64Builder::new(),
            reason: StringBuilder::new(),
            raw_line: BinaryBuilder::new(),
            buffered_bytes: 0,
            sources: BTreeMap::new(),
            reasons: BTreeMap::new(),
        }
    }

    /// The rejects written so far by kind of reason; the count starts again.
    pub fn take_reasons(&mut self) -> BTreeMap<String, u64> {
        std::mem::take(&mut self.reasons)
    }

    pub fn write(&mut self, source_url: &str, reject: &Reject<'_>) -> Result<(), SinkError> {
        counts::add(&mut self.sources, source_url, 1);
        let kind = reason_kind(&reject.reason);
        let counted = self.reasons.len() < MAX_REASON_KINDS || self.reasons.contains_key(&kind);
        counts::add(
            &mut self.reasons,
            if counted { &kind } else { OTHER_REASONS },
            1,
        );
        self.source_key.append_value(source_url);
        self.line_number.append_value(reject.line as i64);
        self.reason.append_value(&reject.reason);
        self.raw_line.append_value(reject.raw);
        self.buffered_bytes += reject.raw.len();
        if self.buffered_bytes >= FLUSH_BYTES || self.line_number.len() >= FLUSH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        if self.line_number.is_empty() {
            return Ok(());
        }
        let batch = RecordBatch::try_new(
            SCHEMA.clone(),
            vec![
                Arc::new(self.source_key.finish()),
                Arc::new(self.line_number.finish()),
                Arc::new(self.reason.finish()),
                Arc::new(self.raw_line.finish()),
            ],
        )?;
        self.buffered_bytes = 0;
        crate::faults::fail_write("rejects-write").map_err(|e| SinkError::io(&self.dir, e))?;
        if self.file.is_none() {
            self.file = Some(ParquetFile::create(
                &self.dir,
                &self.name,
                SCHEMA.clone(),
                self.options.rejects_properties(),
            )?);
        }
        let file = self.file.as_mut().expect("the file was created above");
        for (source, rows) in std::mem::take(&mut self.sources) {
            file.note_source(&source, rows);
        }
        file.write(&batch)
    }

    /// Commits the rejects file, if there were rejects.
    pub fn finish(mut self) -> Result<Option<WrittenFile>, SinkError> {
        self.flush()?;
        self.file.take().map(ParquetFile::commit).transpose()
    }

    pub fn abort(mut self) {
        if let Some(file) = self.file.take() {
            file.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::reason_kind;

    #[test]
    fn reasons_of_one_kind_count_together() {
        assert_eq!(
            reason_kind(r#"invalid integer "x" in column http_status"#),
            reason_kind(r#"invalid integer "-3a" in column http_status"#)
        );
        assert_eq!(
            reason_kind("expected 29 fields, found 3"),
            "expected N fields, found N"
        );
        assert_ne!(
            reason_kind(r#"invalid integer "x" in column http_status"#),
            reason_kind(r#"invalid integer "x" in column sent_bytes"#)
        );
        assert_eq!(
            reason_kind("invalid integer `12x` in column `http_status`"),
            "invalid integer `…` in column `http_status`"
        );
        assert!(reason_kind(&"y".repeat(10_000)).chars().count() <= 121);
    }
}
