//! Integration tests of the parsers: the shared conformance corpus and property tests.

mod corpus;
mod properties;

use std::path::PathBuf;

/// `../shared/corpus` beside the repository. Missing corpus is a failure, never a skip.
pub fn corpus_dir(format: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(format);
    assert!(dir.is_dir(), "corpus folder {} is missing", dir.display());
    dir
}
