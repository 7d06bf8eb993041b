//! Opens an object's bytes for line reading. What an object is compressed with is told by its
//! first bytes, never by its name: gzip (including multi-member streams, which AWS and
//! concatenating tools produce), and the other compressions Amazon Data Firehose offers a
//! stream (ZIP, snappy-java's and Hadoop's Snappy) plus Snappy's framing format. Anything else
//! is read as it is stored.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::bufread::MultiGzDecoder;

use super::read_ahead::{ReadAhead, fill};
use super::snappy::{self, Framed, HadoopSnappy, SnappyJava};
use super::whole_gzip::WholeGzip;
use super::zip::{self, ZipEntries};

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

/// An object's stored bytes after its first ones were looked at.
type Stored<R> = BufReader<io::Chain<io::Cursor<Vec<u8>>, R>>;

/// Bytes looked at to tell a compression: the longest magic (Snappy's framing, 10 bytes), and
/// a Hadoop Snappy stream's two lengths with the length its first raw block claims.
const HEAD_BYTES: usize = 16;

fn open<R: Read + Send + 'static>(
    raw: R,
    gzip: impl FnOnce(Stored<R>) -> io::Result<Box<dyn BufRead + Send>>,
) -> io::Result<Box<dyn BufRead + Send>> {
    let (head, raw) = read_head(raw)?;
    let compression = Compression::of(&head);
    let stored = BufReader::with_capacity(BUFFER_BYTES, io::Cursor::new(head).chain(raw));
    // Decoders other than gzip's run on a read-ahead thread too: Firehose objects reach 128 MB.
    let reader: Box<dyn BufRead + Send> = match compression {
        Compression::Gzip => return gzip(stored),
        Compression::Zip => Box::new(ReadAhead::new(ZipEntries::new(stored))?),
        Compression::SnappyJava => Box::new(ReadAhead::new(SnappyJava::new(stored))?),
        Compression::SnappyFramed => Box::new(ReadAhead::new(Framed::new(stored))?),
        Compression::HadoopSnappy => Box::new(ReadAhead::new(HadoopSnappy::new(stored))?),
        Compression::None => Box::new(stored),
    };
    Ok(reader)
}

/// The first [`HEAD_BYTES`] of `raw` (fewer only when it ends sooner): a store may hand over
/// fewer bytes in its first read than a magic has.
fn read_head<R: Read>(mut raw: R) -> io::Result<(Vec<u8>, R)> {
    let mut head = vec![0u8; HEAD_BYTES];
    match fill(&mut raw, &mut head) {
        (_, Some(error)) => Err(error),
        (filled, None) => {
            head.truncate(filled);
            Ok((head, raw))
        }
    }
}

/// How an object's bytes are compressed, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    Gzip,
    Zip,
    SnappyJava,
    SnappyFramed,
    HadoopSnappy,
    None,
}

impl Compression {
    fn of(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if head.starts_with(zip::ZIP_MAGIC) {
            Self::Zip
        } else if head.starts_with(snappy::SNAPPY_JAVA_MAGIC) {
            Self::SnappyJava
        } else if head.starts_with(snappy::FRAMED_MAGIC) {
            Self::SnappyFramed
        } else if snappy::looks_like_hadoop_snappy(head) {
            Self::HadoopSnappy
        } else {
            Self::None
        }
    }
}

/// Damaged stored bytes: an error [`is_corrupt_data`] recognises.
pub(super) fn damage(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// Fills `buf` from a decoder's input: the input ending first is damage (`what` is cut off),
/// while any other error is the store's and is returned as it is.
pub(super) fn read_stored(inner: &mut impl Read, buf: &mut [u8], what: &str) -> io::Result<()> {
    inner.read_exact(buf).map_err(|error| {
        if error.kind() == io::ErrorKind::UnexpectedEof {
            damage(format!("{what} cut off"))
        } else {
            error
        }
    })
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

    /// Hands over one byte per read, as a store may at the start of a body.
    struct Trickle(io::Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn firehoses_compressions_are_told_by_their_first_bytes() {
        use super::super::snappy::tests::{hadoop, snappy_java};
        use super::super::zip::tests::{Layout, archive};

        let text: Vec<u8> = (0..2_000)
            .flat_map(|i| format!("{{\"timestamp\":{i},\"action\":\"ALLOW\"}}\n").into_bytes())
            .collect();
        let mut framed = snap::write::FrameEncoder::new(Vec::new());
        io::Write::write_all(&mut framed, &text).unwrap();
        let objects = [
            (
                "zip",
                archive(&[("2f1c0c7e-uuid", &text, Layout::Deflated)]),
            ),
            ("snappy-java", snappy_java(&text, 32 << 10)),
            ("hadoop snappy", hadoop(&text, 256 << 10, 256 << 10)),
            ("snappy framing", framed.into_inner().unwrap()),
            ("plain", text.clone()),
        ];
        for (name, stored) in objects {
            assert_eq!(read_all(stored.clone()).unwrap(), text, "{name}");
            let mut trickled = Vec::new();
            open_decompressed(Trickle(io::Cursor::new(stored)))
                .unwrap()
                .read_to_end(&mut trickled)
                .unwrap();
            assert_eq!(trickled, text, "{name}, one byte per read");
        }
        assert_eq!(
            read_all(b"x".to_vec()).unwrap(),
            b"x",
            "shorter than any magic"
        );
    }

    /// Thousands of damaged ZIP and Snappy objects (bytes flipped, cut, inserted): each reads
    /// to its end or fails as damage, never panicking, hanging or failing as a store would.
    #[test]
    fn damaged_containers_read_or_fail_as_damage() {
        use super::super::snappy::tests::{hadoop, snappy_java};
        use super::super::zip::tests::{Layout, archive};

        let text: Vec<u8> = (0..300)
            .flat_map(|i| format!("{i} GET /index.html 200 {}\n", i * 7).into_bytes())
            .collect();
        let containers = [
            archive(&[
                ("a.log", &text[..2000], Layout::Deflated),
                ("b.log", &text[2000..], Layout::DeflatedDescribed),
            ]),
            archive(&[("c.log", &text, Layout::Stored)]),
            archive(&[("d.log", &text, Layout::DeflatedZip64)]),
            snappy_java(&text, 1000),
            hadoop(&text, 3000, 1000),
        ];
        // A fixed xorshift sequence: the same damage on every run.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below as u64) as usize
        };
        for container in &containers {
            for _ in 0..1_000 {
                let mut damaged = container.clone();
                for _ in 0..1 + next(3) {
                    let at = next(damaged.len());
                    match next(4) {
                        0 => damaged[at] ^= 1 << next(8),
                        1 => damaged[at] = next(256) as u8,
                        2 => damaged.truncate(at.max(1)),
                        _ => damaged.insert(at, next(256) as u8),
                    }
                }
                let mut out = Vec::new();
                let result = open_decompressed(io::Cursor::new(damaged.clone()))
                    .and_then(|mut reader| reader.read_to_end(&mut out));
                if let Err(error) = result {
                    assert!(is_corrupt_data(&error), "{error:?} for {damaged:?}");
                }
            }
        }
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let mut data = gzip(&b"a line of text\n".repeat(1000));
        data.truncate(data.len() / 2);
        assert!(read_all(data).is_err());
    }
}
