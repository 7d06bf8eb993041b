//! Reads the Snappy streams Amazon Data Firehose writes when a stream compresses with `Snappy`
//! (snappy-java's stream format: a 16-byte header, then big-endian length-prefixed raw blocks)
//! or `HADOOP_SNAPPY` (Hadoop's block format: each block's decompressed length, then
//! length-prefixed raw chunks filling it), and the official framing format (`snap`'s
//! `FrameDecoder`). All three are told by their first bytes, never by the `.snappy` extension
//! that Firehose gives both of its own.
//!
//! Invariants: a block is decompressed only after all of its stored bytes are read, and no
//! block may claim more than [`MAX_BLOCK_BYTES`] decompressed, so a lying length costs neither
//! memory nor time. Damage (a bad header, a length past the end, a block that does not decode)
//! is `InvalidData`, kept as a reject after the blocks before it; an error of the store's reader
//! is returned as it is.

use std::io::{self, Read};

use super::decompress::{damage, read_stored};
use super::read_ahead::fill;

/// snappy-java's stream header: its magic, then version 1 and minimum compatible version 1.
pub const SNAPPY_JAVA_MAGIC: &[u8] = b"\x82SNAPPY\x00";
/// The official framing format's stream identifier chunk.
pub const FRAMED_MAGIC: &[u8] = b"\xff\x06\x00\x00sNaPpY";
/// The largest decompressed block read, 64 times the largest default: snappy-java writes 32 KiB
/// blocks and Hadoop 256 KiB ones. Anything past this is damage (or a hostile length), not a
/// log, and a worker never holds more than one such block.
pub const MAX_BLOCK_BYTES: usize = 16 << 20;
/// No raw Snappy block decompresses to more than this many times its stored bytes: its
/// densest element, a three-byte copy, yields 64 bytes.
const MAX_EXPANSION: usize = 22;

/// snappy-java's stream format (`Snappy` in Firehose), including streams concatenated whole.
pub struct SnappyJava<R> {
    inner: R,
    blocks: Blocks,
    header_read: bool,
}

impl<R: Read> SnappyJava<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            blocks: Blocks::default(),
            header_read: false,
        }
    }

    /// Reads the next block into `self.blocks`; false at the end of the stream.
    fn next_block(&mut self) -> io::Result<bool> {
        if !self.header_read {
            let mut header = [0u8; 16];
            read_stored(&mut self.inner, &mut header, "snappy-java header")?;
            check_snappy_java_header(&header[..8], &header[8..])?;
            self.header_read = true;
        }
        loop {
            let Some(length) = read_u32_or_end(&mut self.inner)? else {
                return Ok(false);
            };
            // A concatenated stream starts again with the magic, whose first four bytes read
            // as a length no block has.
            if length.to_be_bytes() != SNAPPY_JAVA_MAGIC[..4] {
                let stored = read_chunk(&mut self.inner, length, "snappy-java block")?;
                self.blocks.decompress(&stored, MAX_BLOCK_BYTES)?;
                return Ok(true);
            }
            let mut header = [0u8; 16];
            header[..4].copy_from_slice(&SNAPPY_JAVA_MAGIC[..4]);
            read_stored(&mut self.inner, &mut header[4..], "snappy-java header")?;
            check_snappy_java_header(&header[..8], &header[8..])?;
        }
    }
}

/// `magic` is the header's first eight bytes, `versions` the two version numbers after them.
fn check_snappy_java_header(magic: &[u8], versions: &[u8]) -> io::Result<()> {
    if magic != SNAPPY_JAVA_MAGIC {
        return Err(damage("snappy-java stream without its header"));
    }
    let compatible = u32::from_be_bytes([versions[4], versions[5], versions[6], versions[7]]);
    if compatible > 1 {
        return Err(damage(format!(
            "snappy-java stream of compatible version {compatible} (agsl reads version 1)"
        )));
    }
    Ok(())
}

impl<R: Read> Read for SnappyJava<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.blocks.is_drained() {
            if !self.next_block()? {
                return Ok(0);
            }
        }
        Ok(self.blocks.copy_to(buf))
    }
}

/// Hadoop's block format (`HADOOP_SNAPPY` in Firehose).
pub struct HadoopSnappy<R> {
    inner: R,
    blocks: Blocks,
    /// Decompressed bytes the current block still owes.
    owed: usize,
}

impl<R: Read> HadoopSnappy<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            blocks: Blocks::default(),
            owed: 0,
        }
    }

    fn next_chunk(&mut self) -> io::Result<bool> {
        while self.owed == 0 {
            let Some(length) = read_u32_or_end(&mut self.inner)? else {
                return Ok(false);
            };
            self.owed = usize::try_from(length).unwrap_or(usize::MAX);
            if self.owed > MAX_BLOCK_BYTES {
                return Err(damage(format!(
                    "Hadoop snappy block of {length} bytes (agsl reads blocks up to {MAX_BLOCK_BYTES})"
                )));
            }
        }
        let Some(length) = read_u32_or_end(&mut self.inner)? else {
            return Err(damage(format!(
                "Hadoop snappy stream ends {} bytes short of its last block",
                self.owed
            )));
        };
        let stored = read_chunk(&mut self.inner, length, "Hadoop snappy chunk")?;
        let decompressed = self.blocks.decompress(&stored, self.owed)?;
        self.owed -= decompressed;
        Ok(true)
    }
}

impl<R: Read> Read for HadoopSnappy<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.blocks.is_drained() {
            if !self.next_chunk()? {
                return Ok(0);
            }
        }
        Ok(self.blocks.copy_to(buf))
    }
}

/// Whether `head`, the first bytes of an object, begin a Hadoop snappy stream: a block length
/// of at most [`MAX_BLOCK_BYTES`] (so a first byte of 0 or 1, which no text log starts with),
/// then a chunk whose raw block claims no more than that. Hadoop's format has no magic.
pub fn looks_like_hadoop_snappy(head: &[u8]) -> bool {
    let (Some(block), Some(chunk)) = (be_u32(head, 0), be_u32(head, 4)) else {
        return false;
    };
    let block = block as usize;
    let claims = snap::raw::decompress_len(&head[8..]).ok();
    (1..=MAX_BLOCK_BYTES).contains(&block)
        && chunk > 0
        && claims.is_some_and(|claims| (1..=block).contains(&claims))
}

/// The official framing format, whose own errors become damage.
pub struct Framed<R: Read>(snap::read::FrameDecoder<R>);

impl<R: Read> Framed<R> {
    pub fn new(inner: R) -> Self {
        Self(snap::read::FrameDecoder::new(inner))
    }
}

impl<R: Read> Read for Framed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|error| {
            if error
                .get_ref()
                .is_some_and(|inner| inner.is::<snap::Error>())
            {
                damage(format!("snappy framing: {error}"))
            } else {
                error
            }
        })
    }
}

/// The current decompressed block and how much of it was read.
#[derive(Default)]
struct Blocks {
    decoder: snap::raw::Decoder,
    block: Vec<u8>,
    position: usize,
}

impl Blocks {
    fn is_drained(&self) -> bool {
        self.position == self.block.len()
    }

    /// Decompresses `stored` as the current block, which may hold at most `limit` bytes;
    /// returns its length.
    fn decompress(&mut self, stored: &[u8], limit: usize) -> io::Result<usize> {
        let length = snap::raw::decompress_len(stored)
            .map_err(|error| damage(format!("snappy block: {error}")))?;
        if length > limit {
            return Err(damage(format!(
                "snappy block of {length} bytes where at most {limit} fit"
            )));
        }
        if length > stored.len().saturating_mul(MAX_EXPANSION) {
            return Err(damage(format!(
                "snappy block claims {length} bytes from {} stored bytes",
                stored.len()
            )));
        }
        self.block.resize(length, 0);
        self.position = 0;
        if length > 0 {
            self.decoder
                .decompress(stored, &mut self.block)
                .map_err(|error| damage(format!("snappy block: {error}")))?;
        }
        Ok(length)
    }

    fn copy_to(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.block.len() - self.position);
        buf[..n].copy_from_slice(&self.block[self.position..self.position + n]);
        self.position += n;
        n
    }
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let word = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
}

/// A big-endian length, or `None` where the stream ends cleanly before it.
fn read_u32_or_end(inner: &mut impl Read) -> io::Result<Option<u32>> {
    let mut word = [0u8; 4];
    match fill(inner, &mut word) {
        (_, Some(error)) => Err(error),
        (0, None) => Ok(None),
        (4, None) => Ok(Some(u32::from_be_bytes(word))),
        _ => Err(damage("snappy stream ends inside a length")),
    }
}

/// A block's `length` stored bytes, read as they arrive (so a lying length allocates no more
/// than the object holds), and refused past what any block of [`MAX_BLOCK_BYTES`] compresses to.
fn read_chunk(inner: &mut impl Read, length: u32, what: &str) -> io::Result<Vec<u8>> {
    let length = u64::from(length);
    if length > snap::raw::max_compress_len(MAX_BLOCK_BYTES) as u64 {
        return Err(damage(format!("{what} of {length} stored bytes")));
    }
    let mut stored = Vec::new();
    inner.take(length).read_to_end(&mut stored)?;
    if (stored.len() as u64) < length {
        return Err(damage(format!(
            "{what} of {length} bytes cut off after {}",
            stored.len()
        )));
    }
    Ok(stored)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn raw(data: &[u8]) -> Vec<u8> {
        snap::raw::Encoder::new().compress_vec(data).unwrap()
    }

    /// snappy-java's layout around raw blocks of `block` bytes.
    pub(in crate::source) fn snappy_java(data: &[u8], block: usize) -> Vec<u8> {
        let mut out = SNAPPY_JAVA_MAGIC.to_vec();
        out.extend(1u32.to_be_bytes());
        out.extend(1u32.to_be_bytes());
        for part in data.chunks(block) {
            let stored = raw(part);
            out.extend((stored.len() as u32).to_be_bytes());
            out.extend(stored);
        }
        out
    }

    /// Hadoop's layout: blocks of `block` bytes, each in chunks of `chunk` bytes.
    pub(in crate::source) fn hadoop(data: &[u8], block: usize, chunk: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for part in data.chunks(block) {
            out.extend((part.len() as u32).to_be_bytes());
            for piece in part.chunks(chunk) {
                let stored = raw(piece);
                out.extend((stored.len() as u32).to_be_bytes());
                out.extend(stored);
            }
        }
        out
    }

    fn lines(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| format!("{{\"timestamp\":{i},\"action\":\"ALLOW\"}}\n").into_bytes())
            .collect()
    }

    fn read(mut reader: impl Read) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        reader.read_to_end(&mut out).map(|_| out)
    }

    #[test]
    fn the_example_in_snappy_javas_documentation_reads_back() {
        // `foobar\n`, as snappy-java writes it (block length 9, then the raw block).
        let stream =
            b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x09\x07\x18foobar\n";
        assert_eq!(read(SnappyJava::new(&stream[..])).unwrap(), b"foobar\n");
    }

    #[test]
    fn every_layout_reads_back_what_was_written() {
        let data = lines(5_000);
        assert_eq!(
            read(SnappyJava::new(&snappy_java(&data, 32 << 10)[..])).unwrap(),
            data
        );
        let mut twice = snappy_java(&data[..1000], 100);
        twice.extend(snappy_java(&data[1000..], 32 << 10));
        assert_eq!(
            read(SnappyJava::new(&twice[..])).unwrap(),
            data,
            "concatenated streams"
        );
        assert_eq!(
            read(HadoopSnappy::new(&hadoop(&data, 256 << 10, 64 << 10)[..])).unwrap(),
            data
        );
        assert_eq!(
            read(HadoopSnappy::new(&hadoop(&data, 1000, 1000)[..])).unwrap(),
            data
        );
        let mut framed = snap::write::FrameEncoder::new(Vec::new());
        io::Write::write_all(&mut framed, &data).unwrap();
        let framed = framed.into_inner().unwrap();
        assert_eq!(read(Framed::new(&framed[..])).unwrap(), data);
    }

    #[test]
    fn hadoop_streams_are_told_from_text_and_from_each_other() {
        let data = lines(10);
        assert!(looks_like_hadoop_snappy(&hadoop(&data, 1 << 20, 1 << 20)));
        assert!(
            !looks_like_hadoop_snappy(&data),
            "text starts with a printable byte"
        );
        assert!(!looks_like_hadoop_snappy(&snappy_java(&data, 1 << 10)));
        assert!(!looks_like_hadoop_snappy(b"\0\0\0"), "too short to say");
        // A chunk claiming more than its block is not Hadoop's.
        let mut lying = hadoop(&data, 1 << 20, 1 << 20);
        lying[3] = 1;
        lying[2] = 0;
        assert!(!looks_like_hadoop_snappy(&lying));
    }

    #[test]
    fn damage_is_invalid_data_after_the_good_blocks() {
        let data = lines(2_000);
        let whole = snappy_java(&data, 1 << 10);
        let cut = &whole[..whole.len() - 10];
        let mut reader = SnappyJava::new(cut);
        let mut out = Vec::new();
        let error = reader.read_to_end(&mut out).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
        assert!(
            !out.is_empty() && data.starts_with(&out),
            "blocks before the cut are kept"
        );

        let mut flipped = hadoop(&data, 1 << 20, 1 << 20);
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        flipped.truncate(last - 20);
        let error = read(HadoopSnappy::new(&flipped[..])).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");

        let mut framed = snap::write::FrameEncoder::new(Vec::new());
        io::Write::write_all(&mut framed, &data).unwrap();
        let mut framed = framed.into_inner().unwrap();
        let middle = framed.len() / 2;
        framed[middle] ^= 0x55;
        let error = read(Framed::new(&framed[..])).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
    }

    #[test]
    fn lying_lengths_are_refused_without_allocating_them() {
        let hello = raw(b"hello");
        let mut huge_block = (MAX_BLOCK_BYTES as u32 + 1).to_be_bytes().to_vec();
        huge_block.extend((hello.len() as u32).to_be_bytes());
        huge_block.extend(&hello);
        let error = read(HadoopSnappy::new(&huge_block[..])).unwrap_err();
        assert!(
            error.to_string().contains("agsl reads blocks up to"),
            "{error}"
        );

        let mut huge_chunk = SNAPPY_JAVA_MAGIC.to_vec();
        huge_chunk.extend([0, 0, 0, 1, 0, 0, 0, 1]);
        huge_chunk.extend(0xffff_fff0u32.to_be_bytes());
        huge_chunk.extend(raw(b"hello"));
        let error = read(SnappyJava::new(&huge_chunk[..])).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");

        // A raw block claiming 8 MiB from a few bytes is refused before it is allocated.
        let mut claims = SNAPPY_JAVA_MAGIC.to_vec();
        claims.extend([0, 0, 0, 1, 0, 0, 0, 1]);
        claims.extend(4u32.to_be_bytes());
        claims.extend([0x80, 0x80, 0x80, 0x04]);
        let error = read(SnappyJava::new(&claims[..])).unwrap_err();
        assert!(error.to_string().contains("from 4 stored bytes"), "{error}");
    }

    #[test]
    fn a_stores_error_is_not_damage() {
        let data = snappy_java(&lines(100), 1 << 10);
        let failing = io::Cursor::new(data[..40].to_vec()).chain(Failing);
        let error = read(SnappyJava::new(failing)).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
    }

    struct Failing;

    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "store failed",
            ))
        }
    }
}
