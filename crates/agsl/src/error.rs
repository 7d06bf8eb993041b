//! Errors that stop a run. A bad line is never one of them: it is data, written to the rejects.

use std::io;
use std::path::PathBuf;

/// Result with agsl's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// The data is committed but the catalog could not be brought in line; the next run
    /// retries (after the user's change, when the error needs one).
    #[error("{0}; the converted data is committed and {next}", next = catalog_next_run(.0))]
    Catalog(#[from] crate::catalog::CatalogError),
    /// The job cannot run as given: a wrong argument or config value.
    #[error("{0}")]
    InvalidJob(String),
    /// The target holds something this job would mix with: another table, layout or target.
    #[error(transparent)]
    Target(#[from] crate::pipeline::TargetConflict),
    /// A broken invariant inside agsl: a bug, never bad input.
    #[error("internal error: {0}")]
    Internal(String),
    /// A distributed run's engine failed (a Spark job), or handed back work its driver did not
    /// hand out.
    #[error("distributed run: {0}")]
    Distributed(String),
}

impl Error {
    /// Whether this is S3 refusing to read an archived object that is not restored (Glacier
    /// Flexible Retrieval, Deep Archive, an Intelligent-Tiering archive tier): refused before
    /// any byte of it arrives, when its body is fetched or at the first read of its stream.
    pub fn is_archived(&self) -> bool {
        match self {
            Error::Storage(storage) => storage.is_archived(),
            Error::Source(SourceError::Read { source, .. }) => source
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<crate::storage::StorageError>())
                .is_some_and(crate::storage::StorageError::is_archived),
            _ => false,
        }
    }
}

/// What brings the catalog in line after `error`: the next run, or the first run after the
/// user's change.
fn catalog_next_run(error: &crate::catalog::CatalogError) -> &'static str {
    if error.needs_a_change() {
        "the catalog is brought in line by the first run after that change"
    } else {
        "the next run updates the catalog"
    }
}

/// Listing or reading source objects failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error("source `{}` does not exist", path.display())]
    Missing { path: PathBuf },
    #[error("cannot list source `{}`: {source}", path.display())]
    List { path: PathBuf, source: io::Error },
    #[error("cannot read object `{key}`: {source}")]
    Read { key: String, source: io::Error },
}

/// Writing the converted table or the rejects failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    #[error("cannot write to `{}`: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot write Parquet file `{}`: {source}", path.display())]
    Parquet {
        path: PathBuf,
        source: parquet::errors::ParquetError,
    },
    #[error("cannot split a batch into partitions: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

impl SinkError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        SinkError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn parquet(path: impl Into<PathBuf>, source: parquet::errors::ParquetError) -> Self {
        SinkError::Parquet {
            path: path.into(),
            source,
        }
    }
}
