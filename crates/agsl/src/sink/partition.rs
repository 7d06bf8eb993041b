//! Routes rows to their Hive partition (`[account_id=/]region=/year=/month=/day=` from the
//! object key and each row's event time) and keeps one open Parquet file per partition, within
//! file-count and memory bounds. One `PartitionWriter` belongs to one worker, so workers never contend.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use agsl_formats::time::MICROS_PER_DAY;
use agsl_formats::{LogFormat, Partitioning};
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, UInt32Array};
use arrow_buffer::{Buffer, OffsetBuffer};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::file::properties::WriterProperties;

use super::WriterOptions;
use super::parquet_file::{ParquetFile, WrittenFile};
use super::partitioning::TablePartitioning;
use crate::error::SinkError;

/// Name of the lineage column appended to every table (FORMATS.md 7.6).
pub const SOURCE_KEY_COLUMN: &str = "_source_key";

/// The schema written to Parquet: the format's columns plus `_source_key`.
pub fn table_schema(format_schema: &Schema) -> SchemaRef {
    let mut fields: Vec<Field> = format_schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(SOURCE_KEY_COLUMN, DataType::Utf8, true));
    Arc::new(Schema::new(fields))
}

/// The partition values an object's key gives its rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyValues {
    pub account: Option<Arc<str>>,
    pub region: Option<Arc<str>>,
    /// The date in the key (days since 1970-01-01): the partition of rows without an event time.
    pub key_day: Option<i64>,
}

struct OpenPartition {
    file: ParquetFile,
    last_used: u64,
}

/// Writes one worker's rows into partitioned Parquet files under the table root.
pub struct PartitionWriter {
    root: PathBuf,
    /// The format, asked for the rows' own regions when a key names none.
    format: &'static dyn LogFormat,
    schema: SchemaRef,
    partitioning: TablePartitioning,
    time_column: usize,
    options: WriterOptions,
    properties: WriterProperties,
    /// `part-<run>-<worker>`; each file adds `-<sequence>.parquet`.
    file_prefix: String,
    sequence: u64,
    clock: u64,
    open: HashMap<String, OpenPartition>,
    written: Vec<WrittenFile>,
    source_keys: SourceKeyColumn,
}

/// The `_source_key` column of an object's batches, built once per object and sliced for
/// each batch: an object gives many batches, each would otherwise copy its URL into every row.
#[derive(Default)]
struct SourceKeyColumn {
    column: Option<StringArray>,
}

impl SourceKeyColumn {
    fn column(&mut self, url: &str, rows: usize) -> ArrayRef {
        let fits = self
            .column
            .as_ref()
            .is_some_and(|c| c.len() >= rows && !c.is_empty() && c.value(0) == url);
        if !fits {
            self.column = None;
        }
        let column = self.column.get_or_insert_with(|| {
            let values = Buffer::from(url.as_bytes().repeat(rows));
            let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(url.len(), rows));
            StringArray::new(offsets, values, None)
        });
        Arc::new(column.slice(0, rows))
    }
}

impl PartitionWriter {
    /// Writes the table of `format`, with file names starting `file_prefix`.
    pub fn new(
        root: impl Into<PathBuf>,
        format: &dyn LogFormat,
        partitioning: TablePartitioning,
        options: WriterOptions,
        file_prefix: String,
    ) -> Result<Self, SinkError> {
        let format_schema = format.schema();
        let time_column = format_schema.index_of(format.info().event_time_column)?;
        Ok(Self {
            root: root.into(),
            format: format.format().parser(),
            schema: table_schema(&format_schema),
            partitioning,
            time_column,
            properties: options.table_properties(format),
            options,
            file_prefix,
            sequence: 0,
            clock: 0,
            open: HashMap::new(),
            written: Vec::new(),
            source_keys: SourceKeyColumn::default(),
        })
    }

    /// Writes a batch of the format's schema, from the object at `source_url` whose key gave
    /// `key_values`.
    pub fn write(
        &mut self,
        batch: &RecordBatch,
        key_values: &KeyValues,
        source_url: &str,
    ) -> Result<(), SinkError> {
        let (account, region) = (key_values.account.as_deref(), key_values.region.as_deref());
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        columns.push(self.source_keys.column(source_url, batch.num_rows()));
        let batch = RecordBatch::try_new(self.schema.clone(), columns)?;
        let times = batch
            .column(self.time_column)
            .as_primitive::<TimestampMicrosecondType>();
        // A key without a region: the rows may name their own (WAF through Firehose).
        let row_regions = match (region, self.partitioning.base) {
            (None, Partitioning::RegionDate) => self.format.row_regions(&batch),
            _ => None,
        };
        let first_day = times.value(0).div_euclid(MICROS_PER_DAY);
        if row_regions.is_none()
            && times.null_count() == 0
            && times
                .values()
                .iter()
                .all(|t| t.div_euclid(MICROS_PER_DAY) == first_day)
        {
            return self.write_partition(
                self.partitioning.path(account, region, first_day),
                &batch,
                source_url,
            );
        }
        // Rows without an event time (VPC custom formats without `start`) take the key's date.
        let mut groups: BTreeMap<(Option<&str>, Option<i64>), Vec<u32>> = BTreeMap::new();
        for (row, t) in times.iter().enumerate() {
            let day = t
                .map(|t| t.div_euclid(MICROS_PER_DAY))
                .or(key_values.key_day);
            let row_region = match &row_regions {
                Some(regions) => regions.is_valid(row).then(|| regions.value(row)),
                None => region,
            };
            groups
                .entry((row_region, day))
                .or_default()
                .push(row as u32);
        }
        for ((region, day), rows) in groups {
            let part = arrow_select::take::take_record_batch(&batch, &UInt32Array::from(rows))?;
            let path = match day {
                Some(day) => self.partitioning.path(account, region, day),
                None => self.partitioning.undated_path(account, region),
            };
            self.write_partition(path, &part, source_url)?;
        }
        Ok(())
    }

    fn write_partition(
        &mut self,
        partition: String,
        batch: &RecordBatch,
        source_url: &str,
    ) -> Result<(), SinkError> {
        self.clock += 1;
        if !self.open.contains_key(&partition) {
            if self.open.len() >= self.options.max_open_files {
                self.close_least_recently_used()?;
            }
            self.sequence += 1;
            let name = format!("{}-{:05}.parquet", self.file_prefix, self.sequence);
            let file = ParquetFile::create(
                &self.root.join(&partition),
                &name,
                self.schema.clone(),
                self.properties.clone(),
            )?;
            self.open
                .insert(partition.clone(), OpenPartition { file, last_used: 0 });
        }
        let entry = self
            .open
            .get_mut(&partition)
            .expect("the partition was opened above");
        entry.last_used = self.clock;
        crate::faults::fail_write("table-write")
            .map_err(|e| SinkError::io(self.root.join(&partition), e))?;
        entry.file.write(batch)?;
        entry.file.note_source(source_url, batch.num_rows() as u64);
        let times = batch
            .column(self.time_column)
            .as_primitive::<TimestampMicrosecondType>();
        if let Some(newest) = times.iter().flatten().max() {
            entry.file.note_event_time(newest);
        }
        if entry.file.size() >= self.options.target_file_bytes {
            let full = self.open.remove(&partition).expect("the partition is open");
            self.written.push(full.file.commit()?);
        }
        self.enforce_memory_budget()
    }

    fn close_least_recently_used(&mut self) -> Result<(), SinkError> {
        let oldest = self
            .open
            .iter()
            .min_by_key(|(_, open)| open.last_used)
            .map(|(partition, _)| partition.clone());
        if let Some(partition) = oldest {
            let open = self
                .open
                .remove(&partition)
                .expect("the key came from the map");
            self.written.push(open.file.commit()?);
        }
        Ok(())
    }

    /// Flushes the largest row groups early while buffered data exceeds the budget.
    fn enforce_memory_budget(&mut self) -> Result<(), SinkError> {
        let mut total: usize = self.open.values().map(|o| o.file.memory()).sum();
        while total > self.options.memory_budget_bytes {
            let Some(largest) = self.open.values_mut().max_by_key(|o| o.file.memory()) else {
                break;
            };
            let before = largest.file.memory();
            largest.file.flush_row_group()?;
            let freed = before.saturating_sub(largest.file.memory());
            if freed == 0 {
                break;
            }
            total -= freed;
        }
        Ok(())
    }

    /// Commits every open file and returns all files this writer produced.
    pub fn finish(mut self) -> Result<Vec<WrittenFile>, SinkError> {
        let mut open: Vec<(String, OpenPartition)> = self.open.drain().collect();
        open.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, partition) in open {
            self.written.push(partition.file.commit()?);
        }
        Ok(self.written)
    }

    /// Drops every partial file (after a failed run); committed files stay.
    pub fn abort(mut self) {
        for (_, open) in self.open.drain() {
            open.file.abort();
        }
    }
}
