//! Reads a ZIP archive's entries in one pass from its start, as Amazon Data Firehose writes them
//! when a stream compresses with `ZIP` (one deflated entry per object). Entries are read in
//! order through their local headers, so an archive streams from S3 like gzip does and the
//! central directory at its end is never needed.
//!
//! Invariants: every entry's CRC-32 and size are checked (from its header, or from the data
//! descriptor after it), so a cut or damaged archive is `InvalidData` after the entries read
//! before the damage, never a silently short object; entries are joined with a line break
//! where one does not end with its own, so two files' lines never merge into one record; an
//! encrypted entry, or one compressed with a method other than deflate or none, is damage
//! naming the entry. An error of the store's reader is returned as it is.

use std::io::{self, BufRead, Read};

use flate2::Crc;
use flate2::bufread::DeflateDecoder;

use super::decompress::{damage, read_stored};

/// A local file header's signature, which every archive starts with.
pub const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// The central directory's first header, and the end records of archives without entries.
const DIRECTORY_SIGNATURES: [&[u8; 4]; 3] = [b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06"];
const DESCRIPTOR_SIGNATURE: &[u8; 4] = b"PK\x07\x08";
/// General purpose flags: encrypted; sizes and CRC in a data descriptor after the data.
const ENCRYPTED: u16 = 1;
const DATA_DESCRIPTOR: u16 = 1 << 3;
const STORED: u16 = 0;
const DEFLATED: u16 = 8;
/// The extra field holding ZIP64's 8-byte sizes.
const ZIP64_EXTRA: u16 = 0x0001;

/// The decompressed content of every entry of a ZIP archive read from `R`, in order.
pub struct ZipEntries<R: BufRead> {
    state: State<R>,
    /// Whether the bytes yielded so far end a line (true before any).
    line_ended: bool,
}

enum State<R: BufRead> {
    /// At a local header, or at the central directory after the last entry.
    Between(R),
    Deflated(DeflateDecoder<R>, Entry),
    Stored(io::Take<R>, Entry),
    Done,
    /// After an error: nothing more is read.
    Failed,
}

/// What an entry's header says, and what its content gave so far.
struct Entry {
    name: String,
    flags: u16,
    crc: u32,
    stored_bytes: u64,
    bytes: u64,
    zip64: bool,
    read: Crc,
}

impl<R: BufRead> ZipEntries<R> {
    pub fn new(inner: R) -> Self {
        Self {
            state: State::Between(inner),
            line_ended: true,
        }
    }

    /// Reads into `buf` (not empty): an entry's bytes, or the line break put between entries.
    /// A read error leaves the state as it was, so an interrupted read can be tried again.
    fn step(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = match &mut self.state {
                State::Deflated(decoder, entry) => {
                    let n = decoder.read(buf).map_err(|error| entry.damaged(error))?;
                    entry.read.update(&buf[..n]);
                    n
                }
                State::Stored(inner, entry) => {
                    let n = inner.read(buf)?;
                    if n == 0 && inner.limit() > 0 {
                        return Err(damage(format!("ZIP entry {} is cut off", entry.name)));
                    }
                    entry.read.update(&buf[..n]);
                    n
                }
                State::Between(_) => 0,
                State::Done => return Ok(0),
                State::Failed => return Err(damage("ZIP archive read after an error")),
            };
            if n > 0 {
                return Ok(n);
            }
            // An entry ended, or the next one starts.
            match std::mem::replace(&mut self.state, State::Failed) {
                State::Deflated(decoder, mut entry) => {
                    let consumed = decoder.total_in();
                    let mut inner = decoder.into_inner();
                    entry.finish(&mut inner, consumed)?;
                    self.state = State::Between(inner);
                }
                State::Stored(inner, mut entry) => {
                    let mut inner = inner.into_inner();
                    let stored = entry.stored_bytes;
                    entry.finish(&mut inner, stored)?;
                    self.state = State::Between(inner);
                }
                State::Between(mut inner) => {
                    let Some(header) = next_entry(&mut inner)? else {
                        self.state = State::Done;
                        return Ok(0);
                    };
                    self.state = if header.method == DEFLATED {
                        State::Deflated(DeflateDecoder::new(inner), header.entry)
                    } else {
                        let stored = header.entry.stored_bytes;
                        State::Stored(inner.take(stored), header.entry)
                    };
                    if !self.line_ended {
                        buf[0] = b'\n';
                        return Ok(1);
                    }
                }
                State::Done | State::Failed => {}
            }
        }
    }
}

impl<R: BufRead> Read for ZipEntries<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.step(buf)?;
        if n > 0 {
            self.line_ended = buf[n - 1] == b'\n';
        }
        Ok(n)
    }
}

/// A local header read: its entry and compression method.
struct Header {
    entry: Entry,
    method: u16,
}

/// Reads the next local header; `None` at the central directory.
fn next_entry(inner: &mut impl BufRead) -> io::Result<Option<Header>> {
    let mut signature = [0u8; 4];
    read_stored(inner, &mut signature, "ZIP archive before its directory")?;
    if DIRECTORY_SIGNATURES.contains(&&signature) {
        return Ok(None);
    }
    if signature != ZIP_MAGIC {
        return Err(damage("ZIP archive with bytes that start no entry"));
    }
    let mut fixed = [0u8; 26];
    read_stored(inner, &mut fixed, "ZIP entry header")?;
    let u16_at = |at: usize| u16::from_le_bytes([fixed[at], fixed[at + 1]]);
    let u32_at =
        |at: usize| u32::from_le_bytes([fixed[at], fixed[at + 1], fixed[at + 2], fixed[at + 3]]);
    let (flags, method) = (u16_at(2), u16_at(4));
    let mut name = vec![0u8; usize::from(u16_at(22))];
    read_stored(inner, &mut name, "ZIP entry name")?;
    let mut extra = vec![0u8; usize::from(u16_at(24))];
    read_stored(inner, &mut extra, "ZIP entry header")?;
    let name = String::from_utf8_lossy(&name).into_owned();
    let mut entry = Entry {
        name,
        flags,
        crc: u32_at(10),
        stored_bytes: u64::from(u32_at(14)),
        bytes: u64::from(u32_at(18)),
        zip64: false,
        read: Crc::new(),
    };
    if let Some((bytes, stored_bytes)) = zip64_sizes(&extra) {
        entry.zip64 = true;
        if entry.bytes == u64::from(u32::MAX) {
            entry.bytes = bytes;
        }
        if entry.stored_bytes == u64::from(u32::MAX) {
            entry.stored_bytes = stored_bytes;
        }
    }
    if flags & ENCRYPTED != 0 {
        return Err(damage(format!("ZIP entry {} is encrypted", entry.name)));
    }
    match method {
        DEFLATED => {}
        STORED if flags & DATA_DESCRIPTOR == 0 => {}
        STORED => {
            return Err(damage(format!(
                "ZIP entry {} is stored with its size after its data, which cannot be read in one pass",
                entry.name
            )));
        }
        other => {
            return Err(damage(format!(
                "ZIP entry {} is compressed with method {other} (agsl reads deflate and stored entries)",
                entry.name
            )));
        }
    }
    Ok(Some(Header { entry, method }))
}

/// The uncompressed and compressed sizes of a ZIP64 extra field, when `extra` holds one.
fn zip64_sizes(mut extra: &[u8]) -> Option<(u64, u64)> {
    while extra.len() >= 4 {
        let id = u16::from_le_bytes([extra[0], extra[1]]);
        let size = usize::from(u16::from_le_bytes([extra[2], extra[3]]));
        let data = extra.get(4..4 + size)?;
        if id == ZIP64_EXTRA && data.len() >= 16 {
            let word =
                |at: usize| u64::from_le_bytes(data[at..at + 8].try_into().unwrap_or_default());
            return Some((word(0), word(8)));
        }
        extra = &extra[4 + size..];
    }
    None
}

impl Entry {
    /// A decoder's error: damage naming the entry, or the store's error as it is.
    fn damaged(&self, error: io::Error) -> io::Error {
        if super::decompress::is_corrupt_data(&error) {
            damage(format!("ZIP entry {}: {error}", self.name))
        } else {
            error
        }
    }

    /// Checks the entry once its content is read (`stored` bytes of it): against the data
    /// descriptor after it when the header defers to one, else against the header.
    fn finish(&mut self, inner: &mut impl BufRead, stored: u64) -> io::Result<()> {
        let (crc, stored_bytes, bytes) = if self.flags & DATA_DESCRIPTOR != 0 {
            self.descriptor(inner)?
        } else {
            (self.crc, self.stored_bytes, self.bytes)
        };
        let read_bytes = u64::from(self.read.amount());
        // `Crc` counts in 32 bits, as sizes without ZIP64 are kept.
        let expected_bytes = bytes & u64::from(u32::MAX);
        if self.read.sum() != crc || read_bytes != expected_bytes || stored != stored_bytes {
            return Err(damage(format!(
                "ZIP entry {} is damaged or cut off: read {} bytes from {stored} stored ones \
                 with CRC-32 {:08x}, where the archive says {bytes} from {stored_bytes} with {crc:08x}",
                self.name,
                read_bytes,
                self.read.sum()
            )));
        }
        Ok(())
    }

    /// The data descriptor's CRC-32, compressed and uncompressed sizes (its signature is
    /// optional; its sizes are 8 bytes each for ZIP64 entries).
    fn descriptor(&self, inner: &mut impl BufRead) -> io::Result<(u32, u64, u64)> {
        let mut word = [0u8; 4];
        read_stored(inner, &mut word, "ZIP data descriptor")?;
        if &word == DESCRIPTOR_SIGNATURE {
            read_stored(inner, &mut word, "ZIP data descriptor")?;
        }
        let crc = u32::from_le_bytes(word);
        if self.zip64 {
            let mut sizes = [0u8; 16];
            read_stored(inner, &mut sizes, "ZIP data descriptor")?;
            let at = |i: usize| u64::from_le_bytes(sizes[i..i + 8].try_into().unwrap_or_default());
            Ok((crc, at(0), at(8)))
        } else {
            let mut sizes = [0u8; 8];
            read_stored(inner, &mut sizes, "ZIP data descriptor")?;
            let at = |i: usize| {
                u64::from(u32::from_le_bytes(
                    sizes[i..i + 4].try_into().unwrap_or_default(),
                ))
            };
            Ok((crc, at(0), at(4)))
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::io::Write;

    use super::*;

    /// How a test entry is written.
    #[derive(Clone, Copy)]
    pub(in crate::source) enum Layout {
        Stored,
        Deflated,
        /// Deflated, with its CRC and sizes in a data descriptor (with its signature, as
        /// streaming writers put it).
        DeflatedDescribed,
        /// Deflated, ZIP64 sizes in the header's extra field and the descriptor.
        DeflatedZip64,
    }

    /// An archive of `entries` laid out as ZIP writers do, central directory included.
    pub(in crate::source) fn archive(entries: &[(&str, &[u8], Layout)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut directory = Vec::new();
        for (name, data, layout) in entries {
            let offset = out.len() as u32;
            let mut crc = Crc::new();
            crc.update(data);
            let stored = match layout {
                Layout::Stored => data.to_vec(),
                _ => {
                    let mut encoder =
                        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
                    encoder.write_all(data).unwrap();
                    encoder.finish().unwrap()
                }
            };
            let (method, flags) = match layout {
                Layout::Stored => (STORED, 0),
                Layout::Deflated => (DEFLATED, 0),
                Layout::DeflatedDescribed | Layout::DeflatedZip64 => (DEFLATED, DATA_DESCRIPTOR),
            };
            let zip64 = matches!(layout, Layout::DeflatedZip64);
            let described = flags & DATA_DESCRIPTOR != 0;
            let mut extra = Vec::new();
            if zip64 {
                extra.extend(ZIP64_EXTRA.to_le_bytes());
                extra.extend(16u16.to_le_bytes());
                extra.extend(0u64.to_le_bytes());
                extra.extend(0u64.to_le_bytes());
            }
            out.extend(ZIP_MAGIC);
            out.extend(20u16.to_le_bytes());
            out.extend(flags.to_le_bytes());
            out.extend(method.to_le_bytes());
            out.extend([0u8; 4]);
            let (header_crc, header_stored, header_bytes) = match (described, zip64) {
                (false, _) => (crc.sum(), stored.len() as u32, data.len() as u32),
                (true, false) => (0, 0, 0),
                (true, true) => (0, u32::MAX, u32::MAX),
            };
            out.extend(header_crc.to_le_bytes());
            out.extend(header_stored.to_le_bytes());
            out.extend(header_bytes.to_le_bytes());
            out.extend((name.len() as u16).to_le_bytes());
            out.extend((extra.len() as u16).to_le_bytes());
            out.extend(name.as_bytes());
            out.extend(&extra);
            out.extend(&stored);
            if described {
                out.extend(DESCRIPTOR_SIGNATURE);
                out.extend(crc.sum().to_le_bytes());
                if zip64 {
                    out.extend((stored.len() as u64).to_le_bytes());
                    out.extend((data.len() as u64).to_le_bytes());
                } else {
                    out.extend((stored.len() as u32).to_le_bytes());
                    out.extend((data.len() as u32).to_le_bytes());
                }
            }
            directory.extend(b"PK\x01\x02");
            directory.extend([0u8; 38]);
            directory.extend(offset.to_le_bytes());
            directory.extend(name.as_bytes());
        }
        out.extend(directory);
        out.extend(b"PK\x05\x06");
        out.extend([0u8; 18]);
        out
    }

    fn read(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        ZipEntries::new(bytes).read_to_end(&mut out).map(|_| out)
    }

    fn lines(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| format!("{{\"timestamp\":{i},\"action\":\"BLOCK\"}}\n").into_bytes())
            .collect()
    }

    #[test]
    fn every_layout_reads_back_what_was_written() {
        let data = lines(3_000);
        for layout in [
            Layout::Stored,
            Layout::Deflated,
            Layout::DeflatedDescribed,
            Layout::DeflatedZip64,
        ] {
            let zip = archive(&[("9a0c1bb2-5f4e-4a2b-9c8d-0123456789ab", &data, layout)]);
            assert_eq!(read(&zip).unwrap(), data);
        }
        assert_eq!(
            read(&archive(&[])).unwrap(),
            b"",
            "an archive without entries"
        );
    }

    #[test]
    fn entries_follow_each_other_on_lines_of_their_own() {
        let zip = archive(&[
            ("a.log", b"first\nsecond", Layout::Deflated),
            ("folder/", b"", Layout::Stored),
            ("b.log", b"third\n", Layout::DeflatedDescribed),
            ("c.log", b"fourth", Layout::Stored),
        ]);
        assert_eq!(read(&zip).unwrap(), b"first\nsecond\nthird\nfourth");
    }

    #[test]
    fn a_cut_or_damaged_archive_is_invalid_data_after_the_entries_before_it() {
        let data = lines(5_000);
        let zip = archive(&[
            ("a.log", b"kept\n", Layout::Deflated),
            ("b.log", &data, Layout::DeflatedDescribed),
        ]);
        let mut out = Vec::new();
        let cut = &zip[..zip.len() / 2];
        let error = ZipEntries::new(cut).read_to_end(&mut out).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
        assert!(out.starts_with(b"kept\n"), "the first entry is read");

        // The same bytes without the central directory: the descriptor is there, the end is not.
        let whole = archive(&[("b.log", &data, Layout::Deflated)]);
        let directory = whole.windows(4).rposition(|w| w == b"PK\x01\x02").unwrap();
        let error = read(&whole[..directory]).unwrap_err();
        assert!(
            error.to_string().contains("before its directory"),
            "{error}"
        );

        // One changed byte of content: the CRC-32 tells.
        let mut flipped = archive(&[("b.log", &data, Layout::Stored)]);
        let at = flipped.len() / 2;
        flipped[at] ^= 0x20;
        let error = read(&flipped).unwrap_err();
        assert!(error.to_string().contains("damaged or cut off"), "{error}");
    }

    #[test]
    fn what_cannot_be_read_is_named() {
        let mut encrypted = archive(&[("secret.log", b"x\n", Layout::Stored)]);
        encrypted[6] |= ENCRYPTED as u8;
        assert!(
            read(&encrypted)
                .unwrap_err()
                .to_string()
                .contains("secret.log is encrypted")
        );

        let mut bzip2 = archive(&[("b.log", b"x\n", Layout::Deflated)]);
        bzip2[8] = 12;
        let error = read(&bzip2).unwrap_err();
        assert!(error.to_string().contains("method 12"), "{error}");

        let mut stored_described = archive(&[("s.log", b"x\n", Layout::Stored)]);
        stored_described[6] |= DATA_DESCRIPTOR as u8;
        let error = read(&stored_described).unwrap_err();
        assert!(error.to_string().contains("one pass"), "{error}");
    }
}
