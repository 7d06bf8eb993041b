//! Holds a read of an object to the object its listing found. A local file read to more or
//! fewer bytes than listed (still being written, or replaced since) is an error naming it, so
//! a run never converts part of a file and records it as whole: the run fails, nothing of the
//! file is committed, and the next run converts it as it is then. S3 bodies are held to their
//! listed size where they are fetched (`prefetch`).
//!
//! Invariant: this reader yields only bytes among the file's first `listed`, and reports
//! their end only if the file ended exactly there.

use std::io::{self, Read};

use crate::storage::StorageError;

/// A reader of an object that must be `listed` bytes long.
pub struct AsListed<R> {
    inner: R,
    /// The object's lineage URL, for the error.
    url: String,
    listed: u64,
    read: u64,
}

impl<R: Read> AsListed<R> {
    pub fn new(inner: R, url: String, listed: u64) -> Self {
        Self {
            inner,
            url,
            listed,
            read: 0,
        }
    }

    /// The error for an object found to be other than listed: not damage (which would become
    /// a reject) but a failed read, which fails the run.
    fn changed(&self, what: String) -> io::Error {
        io::Error::other(StorageError::Changed {
            location: self.url.clone(),
            what,
        })
    }
}

impl<R: Read> Read for AsListed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.listed {
            return Err(self.changed(format!(
                "more than the {} bytes the listing found",
                self.listed
            )));
        }
        if n == 0 && self.read < self.listed {
            return Err(self.changed(format!(
                "{} bytes where the listing found {}",
                self.read, self.listed
            )));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_as_listed(bytes: &[u8], listed: u64) -> io::Result<Vec<u8>> {
        let mut read = Vec::new();
        AsListed::new(bytes, "file:///logs/a.log".into(), listed).read_to_end(&mut read)?;
        Ok(read)
    }

    #[test]
    fn the_listed_size_reads_through() {
        let bytes = b"one line\nanother\n".repeat(1000);
        assert_eq!(read_as_listed(&bytes, bytes.len() as u64).unwrap(), bytes);
        assert_eq!(read_as_listed(b"", 0).unwrap(), b"");
    }

    #[test]
    fn a_grown_or_shrunk_object_is_a_read_error_naming_it() {
        let bytes = b"one line\n".repeat(100);
        for (listed, says) in [
            (
                bytes.len() as u64 - 1,
                "more than the 899 bytes the listing found",
            ),
            (
                bytes.len() as u64 + 5,
                "900 bytes where the listing found 905",
            ),
            (0, "more than the 0 bytes"),
        ] {
            let error = read_as_listed(&bytes, listed).unwrap_err();
            // Not a kind that reads as damaged data (a reject): the run fails instead.
            assert!(!crate::source::is_corrupt_data(&error), "{error:?}");
            let message = error.to_string();
            assert!(message.contains("`file:///logs/a.log` changed while this run read it"));
            assert!(message.contains(says), "{message}");
        }
    }

    #[test]
    fn reads_in_small_pieces_stop_at_the_first_byte_past_the_listing() {
        let mut reader = AsListed::new(&b"abcdef"[..], "file:///x".into(), 4);
        let mut piece = [0u8; 2];
        assert_eq!(reader.read(&mut piece).unwrap(), 2);
        assert_eq!(reader.read(&mut piece).unwrap(), 2);
        assert!(
            reader.read(&mut piece).is_err(),
            "byte five is past the listing"
        );
    }
}
