//! One Parquet file being written: hidden (`.name.inprogress`) until committed, then synced and
//! renamed into place, so readers of the partition folders never see a partial file.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use crate::error::SinkError;

/// A committed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    pub path: PathBuf,
    pub bytes: u64,
    pub rows: u64,
    /// URLs of the source objects with rows in the file, with their row counts.
    pub sources: BTreeMap<String, u64>,
    /// The newest event time of the rows (UTC microseconds); `None` for rejects.
    pub newest_event: Option<i64>,
}

pub(crate) struct ParquetFile {
    temp: PathBuf,
    path: PathBuf,
    writer: ArrowWriter<File>,
    rows: u64,
    sources: BTreeMap<String, u64>,
    newest_event: Option<i64>,
}

impl ParquetFile {
    pub(crate) fn create(
        dir: &Path,
        name: &str,
        schema: SchemaRef,
        properties: WriterProperties,
    ) -> Result<Self, SinkError> {
        fs::create_dir_all(dir).map_err(|e| SinkError::io(dir, e))?;
        let temp = dir.join(format!(".{name}.inprogress"));
        let file = File::create(&temp).map_err(|e| SinkError::io(&temp, e))?;
        let writer = ArrowWriter::try_new(file, schema, Some(properties))
            .map_err(|e| SinkError::parquet(&temp, e))?;
        Ok(Self {
            temp,
            path: dir.join(name),
            writer,
            rows: 0,
            sources: BTreeMap::new(),
            newest_event: None,
        })
    }

    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<(), SinkError> {
        self.rows += batch.num_rows() as u64;
        self.writer
            .write(batch)
            .map_err(|e| SinkError::parquet(&self.temp, e))
    }

    /// Records that `rows` rows of the object at `url` are in this file.
    pub(crate) fn note_source(&mut self, url: &str, rows: u64) {
        crate::counts::add(&mut self.sources, url, rows);
    }

    /// Records that the file holds a row with event time `micros`.
    pub(crate) fn note_event_time(&mut self, micros: i64) {
        self.newest_event = self.newest_event.max(Some(micros));
    }

    /// Bytes on disk plus the encoded size of the row group in progress.
    pub(crate) fn size(&self) -> u64 {
        (self.writer.bytes_written() + self.writer.in_progress_size()) as u64
    }

    /// Memory held by the row group in progress.
    pub(crate) fn memory(&self) -> usize {
        self.writer.memory_size()
    }

    /// Writes the row group in progress now (to release its memory).
    pub(crate) fn flush_row_group(&mut self) -> Result<(), SinkError> {
        self.writer
            .flush()
            .map_err(|e| SinkError::parquet(&self.temp, e))
    }

    /// Writes the footer, syncs, and renames the file into place.
    pub(crate) fn commit(mut self) -> Result<WrittenFile, SinkError> {
        self.writer
            .finish()
            .map_err(|e| SinkError::parquet(&self.temp, e))?;
        let file = self.writer.inner();
        file.sync_all().map_err(|e| SinkError::io(&self.temp, e))?;
        let bytes = file
            .metadata()
            .map_err(|e| SinkError::io(&self.temp, e))?
            .len();
        fs::rename(&self.temp, &self.path).map_err(|e| SinkError::io(&self.path, e))?;
        // The folder entry too, so a commit naming this file never outlives it on disk.
        if let Some(dir) = self.path.parent() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| SinkError::io(dir, e))?;
        }
        Ok(WrittenFile {
            path: self.path,
            bytes,
            rows: self.rows,
            sources: self.sources,
            newest_event: self.newest_event,
        })
    }

    /// Drops the partial file.
    pub(crate) fn abort(self) {
        let temp = self.temp.clone();
        drop(self);
        let _ = fs::remove_file(temp);
    }
}
