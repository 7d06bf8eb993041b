//! Where log objects come from. A source lists objects (sorted by key, so runs are
//! deterministic) and opens each as a byte stream; decompression is detected from the bytes.

mod decompress;
mod local;
mod read_ahead;

pub use decompress::{CountingReader, open_decompressed};
pub use local::LocalSource;

/// One object of a source: a key relative to the source root, and its stored size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceObject {
    /// `/`-separated path below the source root, as the S3 key below the prefix would be.
    pub key: String,
    /// Size as stored (compressed).
    pub size: u64,
}
