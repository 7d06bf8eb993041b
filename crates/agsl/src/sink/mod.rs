//! Where converted rows and rejects go: Hive-partitioned, zstd-compressed Parquet files that
//! become visible only when complete (written under a hidden name, then renamed).

mod parquet_file;
mod partition;
mod partitioning;
mod rejects;

pub(crate) use parquet_file::ParquetFile;
pub use parquet_file::WrittenFile;
pub use partition::{KeyValues, PartitionWriter, SOURCE_KEY_COLUMN, table_schema};
pub use partitioning::{ACCOUNT_KEY, PartitionLayout, TablePartitioning};
pub use rejects::{
    OTHER_REASONS, REJECTS_DIR, RejectsWriter, is_rejects_file, reason_kind, rejects_schema,
};

use agsl_formats::LogFormat;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

/// File and row-group sizing. The defaults suit Athena, Trino, Spark and DuckDB: files of a few
/// hundred MB split well across readers, and row groups of up to 64 MiB (or 1 Mi rows) give
/// them large sequential reads while keeping the writer's memory bounded.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterOptions {
    /// A file is closed and a new one started once it reaches about this size.
    pub target_file_bytes: u64,
    /// A row group is flushed once its encoded size reaches this.
    pub row_group_bytes: usize,
    pub row_group_rows: usize,
    /// Checked when set ([`WriterOptions::with_zstd_level`]), so writing never falls back.
    pub zstd_level: ZstdLevel,
    /// Per worker: above this much buffered row-group data, the largest is flushed early.
    pub memory_budget_bytes: usize,
    /// Per worker: partitions written at once; the least recently used is closed beyond it.
    pub max_open_files: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            target_file_bytes: 256 * 1024 * 1024,
            row_group_bytes: 64 * 1024 * 1024,
            row_group_rows: 1024 * 1024,
            zstd_level: ZstdLevel::default(),
            memory_budget_bytes: 48 * 1024 * 1024,
            max_open_files: 16,
        }
    }
}

impl WriterOptions {
    pub fn with_target_file_bytes(mut self, bytes: u64) -> Self {
        self.target_file_bytes = bytes;
        self
    }

    /// Sets the zstd level; a level outside 1..=22 is an invalid job, never the default.
    pub fn with_zstd_level(mut self, level: i32) -> Result<Self, crate::Error> {
        self.zstd_level = ZstdLevel::try_new(level).map_err(|_| {
            crate::Error::InvalidJob(format!("zstd level {level} is not in 1..=22"))
        })?;
        Ok(self)
    }

    /// Parquet writer properties for a converted table of `format`: its near-unique columns
    /// without dictionary encoding, its free-text columns without statistics.
    pub(crate) fn table_properties(&self, format: &dyn LogFormat) -> WriterProperties {
        self.properties(
            format.info().unique_columns,
            format.info().free_text_columns,
        )
    }

    /// Parquet writer properties for rejects files, whose raw lines are near-unique free text.
    pub(crate) fn rejects_properties(&self) -> WriterProperties {
        self.properties(&["line_number", "raw_line"], &["raw_line"])
    }

    fn properties(&self, plain_columns: &[&str], free_text_columns: &[&str]) -> WriterProperties {
        let mut builder = WriterProperties::builder()
            .set_compression(Compression::ZSTD(self.zstd_level))
            .set_max_row_group_row_count(Some(self.row_group_rows))
            .set_max_row_group_bytes(Some(self.row_group_bytes))
            .set_created_by(format!("agsl version {}", env!("CARGO_PKG_VERSION")));
        for column in plain_columns {
            builder = builder.set_column_dictionary_enabled(ColumnPath::from(*column), false);
        }
        for column in free_text_columns {
            builder = builder
                .set_column_statistics_enabled(ColumnPath::from(*column), EnabledStatistics::None);
        }
        builder.build()
    }
}

/// The committed Parquet files of a table, sorted: every `*.parquet` below `root`, leaving out
/// `_`- and `.`-prefixed entries (rejects, agsl state, in-progress files), as Hive readers do.
pub fn table_files(root: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_dir() {
            files.extend(table_files(&entry.path())?);
        } else if name.ends_with(".parquet") {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}
