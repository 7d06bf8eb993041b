//! One column of a committed Parquet file, read with ranged GETs: the footer, then that
//! column's chunk in each row group. `verify --deep` reads a file's source keys this way
//! instead of downloading the whole file (the column is a few pages of a 256 MiB file).

use std::ops::Range;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaDataReader;
use parquet::file::reader::{ChunkReader, Length};

use crate::storage::{StorageError, Store, runtime};

/// Footer bytes read first; a larger footer is read again whole.
const TAIL_BYTES: u64 = 64 * 1024;

/// Why a file's column could not be read.
pub(super) type ReadError = Box<dyn std::error::Error + Send + Sync>;

/// Opens the top-level `column` of the Parquet object `key` (of `size` bytes) for reading.
/// A store failure is the outer error (it stops `verify`); a file that is not the Parquet
/// it should be is the inner one (a discrepancy).
pub(super) fn read_column(
    store: &Store,
    key: &str,
    size: u64,
    column: &str,
) -> Result<Result<ParquetRecordBatchReader, ReadError>, StorageError> {
    let fetch = |range: Range<u64>| runtime().block_on(store.fetch(key, Some(range)));
    if size < 12 {
        return Ok(Err(
            format!("{size} bytes is too short for a Parquet file").into()
        ));
    }
    let mut tail_start = size - TAIL_BYTES.min(size);
    let mut tail = fetch(tail_start..size)?;
    if tail.len() as u64 != size - tail_start {
        return Ok(Err("the file is shorter than committed".into()));
    }
    let metadata_start = match metadata_start(&tail, size) {
        Ok(start) => start,
        Err(reason) => return Ok(Err(reason)),
    };
    if metadata_start < tail_start {
        tail_start = metadata_start;
        tail = fetch(tail_start..size)?;
        if tail.len() as u64 != size - tail_start {
            return Ok(Err("the file is shorter than committed".into()));
        }
    }
    let metadata_bytes = &tail[(metadata_start - tail_start) as usize..tail.len() - 8];
    let metadata = match ParquetMetaDataReader::decode_metadata(metadata_bytes) {
        Ok(metadata) => Arc::new(metadata),
        Err(error) => return Ok(Err(error.into())),
    };
    let schema = metadata.file_metadata().schema_descr();
    let Some(leaf) =
        (0..schema.num_columns()).find(|&i| schema.column(i).path().parts() == [column])
    else {
        return Ok(Err(format!("no `{column}` column").into()));
    };
    let mut segments = vec![(tail_start, tail)];
    for row_group in metadata.row_groups() {
        let (start, length) = row_group.column(leaf).byte_range();
        if start.saturating_add(length) > size {
            return Ok(Err("a column chunk lies past the end of the file".into()));
        }
        let chunk = fetch(start..start + length)?;
        if chunk.len() as u64 != length {
            return Ok(Err("the file is shorter than committed".into()));
        }
        segments.push((start, chunk));
    }
    let fetched = Fetched { size, segments };
    Ok(reader(fetched, metadata, column))
}

/// Where the footer's metadata starts, from the file's last bytes.
fn metadata_start(tail: &Bytes, size: u64) -> Result<u64, ReadError> {
    let footer: [u8; 8] = tail
        .get(tail.len().saturating_sub(8)..)
        .and_then(|footer| footer.try_into().ok())
        .ok_or("no Parquet footer")?;
    if &footer[4..] != b"PAR1" {
        return Err("no Parquet footer".into());
    }
    let metadata_len = u64::from(u32::from_le_bytes(footer[..4].try_into()?));
    size.checked_sub(8 + metadata_len)
        .ok_or_else(|| "the footer is longer than the file".into())
}

/// A reader of `column` over the fetched ranges.
fn reader(
    fetched: Fetched,
    metadata: Arc<parquet::file::metadata::ParquetMetaData>,
    column: &str,
) -> Result<ParquetRecordBatchReader, ReadError> {
    let metadata = ArrowReaderMetadata::try_new(metadata, ArrowReaderOptions::default())?;
    let root = metadata
        .schema()
        .index_of(column)
        .map_err(|_| format!("no `{column}` column"))?;
    let mask = ProjectionMask::roots(metadata.metadata().file_metadata().schema_descr(), [root]);
    Ok(
        ParquetRecordBatchReaderBuilder::new_with_metadata(fetched, metadata)
            .with_projection(mask)
            .build()?,
    )
}

/// The byte ranges of a file that were fetched, at their offsets in the file.
struct Fetched {
    size: u64,
    segments: Vec<(u64, Bytes)>,
}

impl Fetched {
    /// The fetched bytes from `start` to the end of their segment.
    fn from(&self, start: u64) -> parquet::errors::Result<Bytes> {
        self.segments
            .iter()
            .find(|(at, bytes)| *at <= start && start < at + bytes.len() as u64)
            .map(|(at, bytes)| bytes.slice((start - at) as usize..))
            .ok_or_else(|| ParquetError::General(format!("byte {start} was not fetched")))
    }
}

impl Length for Fetched {
    fn len(&self) -> u64 {
        self.size
    }
}

impl ChunkReader for Fetched {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(self.from(start)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let bytes = self.from(start)?;
        if bytes.len() < length {
            return Err(ParquetError::General(format!(
                "bytes {start}..{} were not fetched",
                start + length as u64
            )));
        }
        Ok(bytes.slice(..length))
    }
}
