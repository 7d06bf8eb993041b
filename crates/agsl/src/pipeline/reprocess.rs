//! `--reprocess`: before a window is converted again, the rows earlier runs wrote for it are
//! taken out of the table in one commit. Committed files mix rows of many objects, so every file
//! holding rows of a reprocessed object is rewritten without those rows (found by the ledger's
//! file sources, matched by `_source_key` and event time), and the commit swaps old files for
//! rewritten ones while giving back the objects' coverage. The objects are then converted again
//! like new ones, so a crash between the two steps still ends with each line exactly once.

use std::collections::{BTreeSet, HashMap};

use agsl_formats::Format;
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, BooleanArray, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::properties::WriterProperties;

use super::{Committer, unix_seconds};
use crate::error::{Error, Result, SinkError};
use crate::sink::{ParquetFile, REJECTS_DIR, SOURCE_KEY_COLUMN, is_rejects_file, rejects_schema};
use crate::state::{Commit, CommitLog, Coverage};
use crate::storage::is_url;
use crate::window::Spans;

/// Takes back the coverage in `uncover` and the rows it stands for. Returns the number of
/// committed files replaced or removed.
pub(super) fn take_back(
    committer: &Committer<'_>,
    log: &mut CommitLog,
    uncover: &[Coverage],
) -> Result<u64> {
    let ledger = log.ledger();
    let spans: HashMap<&str, &Spans> = uncover.iter().map(|c| (c.url.as_str(), &c.spans)).collect();
    // Objects left with no coverage at all are converted from scratch: their rejects go too.
    let reset: BTreeSet<&str> = uncover
        .iter()
        .filter(|c| ledger.covered(&c.url).minus(&c.spans).is_empty())
        .map(|c| c.url.as_str())
        .collect();
    let name = format!("{}-reprocess", committer.run);
    let staging = committer.stager().staging(&name);
    let mut removed = Vec::new();
    let mut added = Vec::new();
    for (path, entry) in &ledger.files {
        let is_rejects = is_rejects_file(path);
        let affected = entry.sources.urls().any(|s| {
            if is_rejects {
                reset.contains(s.as_str())
            } else {
                spans.contains_key(s.as_str())
            }
        });
        if !affected {
            continue;
        }
        let writer = &committer.job.writer;
        let (time_column, properties) = if is_rejects {
            (None, writer.rejects_properties())
        } else {
            let format: Format = entry.service.parse().map_err(|_| {
                Error::Internal(format!("unknown service `{}` in the ledger", entry.service))
            })?;
            let format = format.parser();
            let properties = writer.table_properties(format);
            (Some(format.info().event_time_column), properties)
        };
        let keep = Keep {
            spans: &spans,
            reset: &reset,
            time_column,
        };
        let rewritten = rewrite(committer, &staging.local, path, &keep, properties)?;
        if let Some(file) = &rewritten
            && file.rows == entry.rows
        {
            // Nothing of the window was in it after all.
            std::fs::remove_file(&file.path).map_err(|e| SinkError::io(&file.path, e))?;
            continue;
        }
        removed.push(path.clone());
        if let Some(file) = rewritten {
            // A file in a rejects location of its own is replaced in that same folder.
            let folder = is_url(path).then(|| path.rsplit_once('/').map_or("", |(f, _)| f));
            added.extend(
                committer
                    .stager()
                    .stage(&staging, &entry.service, &[file], folder)?,
            );
        }
    }
    if staging.upload {
        let _ = std::fs::remove_dir_all(&staging.local);
    }
    let replaced = removed.len() as u64;
    committer.commit(
        log,
        Commit {
            run: committer.run.to_owned(),
            committed_at: unix_seconds(),
            uncovered: uncover.to_vec(),
            added,
            removed,
            ..Commit::default()
        },
    )?;
    tracing::info!(
        objects = uncover.len(),
        files = replaced,
        "took back rows to reprocess"
    );
    Ok(replaced)
}

/// Which rows of a committed file stay.
struct Keep<'a> {
    spans: &'a HashMap<&'a str, &'a Spans>,
    reset: &'a BTreeSet<&'a str>,
    /// The event-time column of a table file; `None` for a rejects file.
    time_column: Option<&'static str>,
}

impl Keep<'_> {
    /// The column naming each row's source object.
    fn source_column(&self) -> &'static str {
        if self.time_column.is_some() {
            SOURCE_KEY_COLUMN
        } else {
            "source_key"
        }
    }

    fn mask(&self, batch: &RecordBatch) -> Result<BooleanArray> {
        let column = self.source_column();
        let sources = batch
            .column_by_name(column)
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            .ok_or_else(|| Error::Internal(format!("a committed file has no `{column}` column")))?;
        let times = match self.time_column {
            Some(name) => Some(
                batch
                    .column_by_name(name)
                    .ok_or_else(|| Error::Internal(format!("a committed file has no `{name}`")))?
                    .as_primitive::<TimestampMicrosecondType>(),
            ),
            None => None,
        };
        Ok((0..batch.num_rows())
            .map(|row| {
                let source = sources.is_valid(row).then(|| sources.value(row));
                let taken = source.is_some_and(|url| match times {
                    None => self.reset.contains(url),
                    Some(times) if times.is_null(row) => self.reset.contains(url),
                    Some(times) => self
                        .spans
                        .get(url)
                        .is_some_and(|s| s.contains(times.value(row))),
                });
                Some(!taken)
            })
            .collect())
    }
}

/// Rewrites the committed file at `path` without the rows `keep` drops, into the staging
/// folder under the same partition, encoded like the original (`properties`). `None` when no
/// row stays.
fn rewrite(
    committer: &Committer<'_>,
    staging: &std::path::Path,
    path: &str,
    keep: &Keep<'_>,
    properties: WriterProperties,
) -> Result<Option<crate::sink::WrittenFile>> {
    let (store, key) = committer.target.resolve(path)?;
    let bytes = store.get(&key)?;
    let parquet_error = |e| SinkError::parquet(path, e);
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(parquet_error)?;
    let schema = reader.schema().clone();
    let reader = reader.build().map_err(parquet_error)?;
    let (folder, name) = path.rsplit_once('/').unwrap_or(("", path));
    let folder = if is_url(path) { REJECTS_DIR } else { folder };
    let name = format!(
        "{}-r{}.parquet",
        name.trim_end_matches(".parquet"),
        committer.run
    );
    let schema = if keep.time_column.is_none() {
        rejects_schema()
    } else {
        schema
    };
    let mut file = None;
    for batch in reader {
        let batch = batch.map_err(SinkError::Arrow)?;
        let mask = keep.mask(&batch)?;
        let kept =
            arrow_select::filter::filter_record_batch(&batch, &mask).map_err(SinkError::from)?;
        if kept.num_rows() == 0 {
            continue;
        }
        let file = match &mut file {
            Some(file) => file,
            None => file.insert(ParquetFile::create(
                &staging.join(folder),
                &name,
                schema.clone(),
                properties.clone(),
            )?),
        };
        let column = keep.source_column();
        if let Some(sources) = kept
            .column_by_name(column)
            .and_then(|c| c.as_string_opt::<i32>())
        {
            for source in sources.iter().flatten() {
                file.note_source(source, 1);
            }
        }
        if let Some(times) = keep
            .time_column
            .and_then(|name| kept.column_by_name(name))
            .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>())
            && let Some(newest) = times.iter().flatten().max()
        {
            file.note_event_time(newest);
        }
        file.write(&kept)?;
    }
    Ok(file.map(ParquetFile::commit).transpose()?)
}
