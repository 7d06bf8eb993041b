//! A local directory tree as a source, laid out like the S3 bucket it mirrors.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::SourceObject;
use crate::error::SourceError;

/// Objects below a local directory, read recursively; a single file is a source of one object.
#[derive(Debug, Clone)]
pub struct LocalSource {
    root: PathBuf,
    single_file: bool,
}

impl LocalSource {
    /// Opens `path`, which must exist.
    pub fn new(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        let path = path.as_ref();
        let root = std::fs::canonicalize(path).map_err(|_| SourceError::Missing {
            path: path.to_owned(),
        })?;
        let single_file = root.is_file();
        Ok(Self { root, single_file })
    }

    /// The lineage URL of an object: `file:///absolute/path`.
    pub fn url(&self, key: &str) -> String {
        format!("file://{}", self.path(key).display())
    }

    fn path(&self, key: &str) -> PathBuf {
        if self.single_file {
            self.root.clone()
        } else {
            self.root.join(key)
        }
    }

    /// Every regular file below the root, sorted by key.
    pub fn list(&self) -> Result<Vec<SourceObject>, SourceError> {
        let list_error = |source: std::io::Error| SourceError::List {
            path: self.root.clone(),
            source,
        };
        if self.single_file {
            let size = self.root.metadata().map_err(list_error)?.len();
            let key = self
                .root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Ok(vec![SourceObject { key, size }]);
        }
        let mut objects = Vec::new();
        for entry in walkdir::WalkDir::new(&self.root).follow_links(true) {
            let entry = entry.map_err(|e| list_error(e.into()))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let relative = entry
                .path()
                .strip_prefix(&self.root)
                .expect("walkdir yields paths below its root");
            // A name that is not text would be read back under another name, and found
            // missing: the run stops here instead, naming it.
            let key = relative
                .components()
                .map(|c| c.as_os_str().to_str())
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| SourceError::List {
                    path: entry.path().to_owned(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "the file name is not UTF-8 text (object keys are, as S3's); rename it",
                    ),
                })?
                .join("/");
            let size = entry.metadata().map_err(|e| list_error(e.into()))?.len();
            objects.push(SourceObject { key, size });
        }
        objects.sort_unstable_by(|a, b| a.key.cmp(&b.key)); // keys are unique
        Ok(objects)
    }

    pub fn open(&self, key: &str) -> Result<File, SourceError> {
        File::open(self.path(key)).map_err(|source| SourceError::Read {
            key: key.to_owned(),
            source,
        })
    }
}
