//! Where log objects come from: a local directory tree or an S3 prefix. A source lists objects
//! (sorted by key, so runs are deterministic) and opens each as a byte stream; decompression is
//! detected from the bytes.

mod decompress;
mod listed;
mod local;
mod prefetch;
mod read_ahead;
mod remote;
mod snappy;
mod spare_buffers;
mod targets;
mod whole_gzip;
mod zip;

use std::io::Read;

pub use decompress::{CountingReader, is_corrupt_data, open_decompressed, open_decompressed_head};
use listed::AsListed;
pub use local::LocalSource;
pub use prefetch::{Body, FetchOptions, Prefetch, STREAM_THRESHOLD};
pub use remote::RemoteSource;

use crate::error::SourceError;
use crate::storage::{Location, StorageError, StorageOptions, Store};
use crate::window::{KeyDays, key_day};

/// One object of a source: a key relative to the source root, and its stored size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceObject {
    /// `/`-separated path below the source root, as the S3 key below the prefix would be.
    pub key: String,
    /// Size as stored (compressed).
    pub size: u64,
}

/// A local or S3 source.
#[derive(Debug, Clone)]
pub enum Source {
    Local(LocalSource),
    Remote(RemoteSource),
}

impl Source {
    pub fn open(location: &Location, options: &StorageOptions) -> Result<Self, crate::Error> {
        Ok(match location {
            Location::Local(path) => Source::Local(LocalSource::new(path)?),
            Location::S3 { .. } => {
                Source::Remote(RemoteSource::new(Store::open(location, options)?))
            }
        })
    }

    /// The lineage URL of an object, written to `_source_key` and used as its identity in the
    /// target's ledger.
    pub fn url(&self, key: &str) -> String {
        match self {
            Source::Local(source) => source.url(key),
            Source::Remote(source) => source.url(key),
        }
    }

    /// Objects whose keys are dated within `days` (or carry no date); on S3 only the date
    /// folders in range are listed.
    pub fn list(&self, days: &KeyDays) -> Result<Vec<SourceObject>, crate::Error> {
        let mut objects = match self {
            Source::Local(source) => source.list()?,
            Source::Remote(source) => source.list(days)?,
        };
        for target in targets::leave_out_targets(&mut objects) {
            tracing::info!(
                target = self.url(&target),
                "left out an agsl target below the source: its files are not logs"
            );
        }
        objects.retain(|o| key_day(&o.key).is_none_or(|day| days.admits(day)));
        Ok(objects)
    }

    /// The stored bytes of an object, or `None` when it no longer exists (deleted since it was
    /// listed, e.g. by a lifecycle rule); every other failure is an error.
    pub fn read_if_exists(&self, key: &str) -> Result<Option<Box<dyn Read + Send>>, crate::Error> {
        match self {
            Source::Local(source) => match source.open(key) {
                Ok(file) => Ok(Some(Box::new(file))),
                Err(SourceError::Read { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    Ok(None)
                }
                Err(error) => Err(error.into()),
            },
            Source::Remote(source) => Ok(source
                .read_if_exists(key)
                .map_err(|e| remote_read_error(key, e))?
                .map(|bytes| Box::new(std::io::Cursor::new(bytes)) as Box<dyn Read + Send>)),
        }
    }

    /// On S3, starts fetching `objects` (key and listed size) ahead of `workers` CPU workers,
    /// in order (see [`Prefetch`]); `None` for a local source, whose files are opened as they
    /// are read.
    pub fn prefetch(
        &self,
        objects: Vec<(String, u64)>,
        options: FetchOptions,
        workers: usize,
    ) -> Option<Prefetch> {
        match self {
            Source::Local(_) => None,
            Source::Remote(source) => Some(source.prefetch(objects, options, workers)),
        }
    }

    /// The first `bytes` stored bytes of an object of `size` bytes: one ranged GET on S3, so
    /// recognising a large object's content does not download it.
    pub fn read_head(
        &self,
        key: &str,
        size: u64,
        bytes: u64,
    ) -> Result<Box<dyn Read + Send>, crate::Error> {
        Ok(match self {
            Source::Local(source) => Box::new(source.open(key)?.take(bytes)),
            Source::Remote(_) if size == 0 => Box::new(std::io::empty()),
            Source::Remote(source) => Box::new(std::io::Cursor::new(
                source
                    .read_head(key, bytes.min(size))
                    .map_err(|e| remote_read_error(key, e))?,
            )),
        })
    }

    /// The stored bytes of an object the listing found at `size` bytes, for converting or
    /// reading it: on S3 its body from `fetched` (the batch being fetched ahead, and the
    /// object's index in it: streamed when large, resumed when cut off), else one GET of it
    /// whole; locally the file. A local file that is not that size when read, or an S3 body of
    /// another size, is a read error naming it ([`StorageError::Changed`]), never part of it
    /// converted as the whole.
    pub fn read_listed(
        &self,
        key: &str,
        size: u64,
        fetched: Option<(&Prefetch, usize)>,
    ) -> Result<Box<dyn Read + Send>, crate::Error> {
        Ok(match (self, fetched) {
            (Source::Local(source), _) => {
                Box::new(AsListed::new(source.open(key)?, source.url(key), size))
            }
            (Source::Remote(_), Some((prefetch, index))) => {
                Box::new(prefetch.take(index).map_err(|source| SourceError::Read {
                    key: key.to_owned(),
                    source,
                })?)
            }
            (Source::Remote(source), None) => Box::new(std::io::Cursor::new(
                source
                    .read_listed(key, size)
                    .map_err(|e| remote_read_error(key, e))?,
            )),
        })
    }
}

/// A failed S3 read of `key`, as the source error every read reports.
fn remote_read_error(key: &str, error: StorageError) -> SourceError {
    SourceError::Read {
        key: key.to_owned(),
        source: std::io::Error::other(error),
    }
}

/// `data` gzipped at the default level, for the readers' tests.
#[cfg(test)]
fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}
