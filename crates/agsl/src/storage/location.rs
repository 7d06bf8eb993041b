//! Where a source or target lives, parsed once from the user's text (`s3://bucket/prefix`,
//! `file:///path` or a plain path); every other layer works with [`Location`], never the text.

use std::fmt;
use std::path::{Path, PathBuf};

use super::StorageError;

/// Where a source or target lives: a local directory (or file) or an S3 prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl Location {
    /// Parses `s3://bucket/prefix`, `file:///path` or a plain path.
    pub fn parse(text: &str) -> Result<Self, StorageError> {
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(StorageError::InvalidUrl {
                    url: text.to_owned(),
                    reason: "no bucket name".into(),
                });
            }
            return Ok(Location::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        if let Some((scheme, _)) = text.split_once("://")
            && scheme != "file"
        {
            return Err(StorageError::InvalidUrl {
                url: text.to_owned(),
                reason: format!("`{scheme}://` is not supported; use s3:// or a local path"),
            });
        }
        Ok(Location::Local(PathBuf::from(
            text.strip_prefix("file://").unwrap_or(text),
        )))
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Location::Local(_))
    }

    /// The location of `relative` below this one.
    pub fn join(&self, relative: &str) -> Location {
        match self {
            Location::Local(path) => Location::Local(path.join(relative)),
            Location::S3 { bucket, prefix } => Location::S3 {
                bucket: bucket.clone(),
                prefix: join_key(prefix, relative),
            },
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Location::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Self {
        Location::Local(path)
    }
}

impl From<&PathBuf> for Location {
    fn from(path: &PathBuf) -> Self {
        Location::Local(path.clone())
    }
}

impl From<&Path> for Location {
    fn from(path: &Path) -> Self {
        Location::Local(path.to_owned())
    }
}

/// The URL of a location: `s3://bucket/prefix`, or `file://` and the absolute local path.
pub fn location_url(location: &Location) -> String {
    match location {
        Location::Local(path) => {
            let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            format!("file://{}", absolute.display())
        }
        other => other.to_string(),
    }
}

/// Whether `path` is an absolute URL (`s3://…`, `file://…`) rather than a key in a store.
pub fn is_url(path: &str) -> bool {
    path.contains("://")
}

/// `a/b` + `c` = `a/b/c`, with no empty segments.
pub(crate) fn join_key(prefix: &str, relative: &str) -> String {
    match (prefix.trim_matches('/'), relative.trim_matches('/')) {
        ("", r) => r.to_owned(),
        (p, "") => p.to_owned(),
        (p, r) => format!("{p}/{r}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        assert_eq!(
            Location::parse("s3://bucket/a/b/").unwrap(),
            Location::S3 {
                bucket: "bucket".into(),
                prefix: "a/b".into()
            }
        );
        assert_eq!(
            Location::parse("s3://bucket").unwrap().to_string(),
            "s3://bucket"
        );
        assert_eq!(
            Location::parse("file:///tmp/x").unwrap(),
            Location::Local("/tmp/x".into())
        );
        assert_eq!(
            Location::parse("logs/alb").unwrap(),
            Location::Local("logs/alb".into())
        );
        assert!(Location::parse("s3:///key").is_err());
        assert!(Location::parse("gs://bucket/x").is_err());
    }
}
