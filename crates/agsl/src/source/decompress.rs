//! Opens an object's bytes for line reading: gzip (including multi-member streams, which AWS
//! and concatenating tools produce) is detected by its magic bytes, not the file name.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::bufread::MultiGzDecoder;

use super::read_ahead::ReadAhead;
use super::whole_gzip::WholeGzip;

/// Read buffer for both the stored and the decompressed stream.
const BUFFER_BYTES: usize = 256 * 1024;

/// Counts the stored bytes read, for progress on compressed input.
pub struct CountingReader<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R> CountingReader<R> {
    pub fn new(inner: R, counter: Arc<AtomicU64>) -> Self {
        Self { inner, counter }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Whether a read error means the object's compressed bytes are damaged (bad data, kept as a
/// reject) rather than the store failing (an error that stops the run).
pub fn is_corrupt_data(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof
    )
}

/// A buffered reader of a whole object's content, decompressed if it is gzip. Gzip objects are
/// decompressed on a read-ahead thread, overlapping with parsing and encoding: inflated whole
/// with libdeflate when they fit in memory (`WholeGzip`), streamed otherwise.
pub fn open_decompressed<R: Read + Send + 'static>(raw: R) -> io::Result<Box<dyn BufRead + Send>> {
    open(raw, |stored| {
        Ok(Box::new(ReadAhead::from_chunks(WholeGzip::new(stored))?))
    })
}

/// A buffered reader of an object's first lines: gzip is always streamed, so reading a line
/// does not inflate the whole object (and a head cut from a longer object decodes as far as
/// it goes).
pub fn open_decompressed_head<R: Read + Send + 'static>(
    raw: R,
) -> io::Result<Box<dyn BufRead + Send>> {
    open(raw, |stored| {
        Ok(Box::new(ReadAhead::new(MultiGzDecoder::new(stored))?))
    })
}

fn open<R: Read + Send + 'static>(
    raw: R,
    gzip: impl FnOnce(BufReader<R>) -> io::Result<Box<dyn BufRead + Send>>,
) -> io::Result<Box<dyn BufRead + Send>> {
    let mut stored = BufReader::with_capacity(BUFFER_BYTES, raw);
    let is_gzip = stored.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    if is_gzip {
        gzip(stored)
    } else {
        Ok(Box::new(stored))
    }
}

#[cfg(test)]
mod tests {
    use super::super::gzip;
    use super::*;

    fn read_all(bytes: Vec<u8>) -> io::Result<Vec<u8>> {
        let mut whole = Vec::new();
        open_decompressed(io::Cursor::new(bytes.clone()))?.read_to_end(&mut whole)?;
        let mut head = Vec::new();
        open_decompressed_head(io::Cursor::new(bytes))?.read_to_end(&mut head)?;
        assert_eq!(whole, head, "whole and streamed reading agree");
        Ok(whole)
    }

    #[test]
    fn plain_and_gzip_and_multi_member() {
        assert_eq!(read_all(b"plain\n".to_vec()).unwrap(), b"plain\n");
        assert_eq!(read_all(gzip(b"one\n")).unwrap(), b"one\n");
        let mut two = gzip(b"first\n");
        two.extend(gzip(b"second\n"));
        assert_eq!(read_all(two).unwrap(), b"first\nsecond\n");
        assert_eq!(read_all(Vec::new()).unwrap(), b"");
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let mut data = gzip(&b"a line of text\n".repeat(1000));
        data.truncate(data.len() / 2);
        assert!(read_all(data).is_err());
    }
}
