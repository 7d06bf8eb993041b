//! The decoding contract between formats and the pipeline, and the shared driver for
//! line-oriented formats: split an object into lines, hand each to the format's line parser,
//! emit a batch whenever it is full and a reject for every line that does not parse.

use std::borrow::Cow;
use std::io::{self, BufRead};

use arrow_array::RecordBatch;
use arrow_schema::ArrowError;

/// Longest line kept whole. Longer lines are not log records: they are rejected, and the reject
/// keeps their first `MAX_LINE_BYTES` bytes so memory stays bounded on garbage input.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// A line that could not be parsed. It borrows the raw bytes so the hot path copies nothing;
/// the receiver stores them losslessly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject<'a> {
    /// 1-based line number within the (decompressed) object.
    pub line: u64,
    pub reason: Cow<'static, str>,
    pub raw: &'a [u8],
}

/// Where a decoder delivers its output. Implemented by the pipeline's partition writer.
///
/// An output that cannot take a batch or a reject returns [`DecodeError::Output`] with an
/// error of its own type; every decoder stops there and returns that error unchanged, so the
/// output's owner can take it back by downcasting instead of keeping it on the side (each
/// format is held to this by a test).
pub trait DecodeOutput {
    fn batch(&mut self, batch: RecordBatch) -> Result<(), DecodeError>;
    fn reject(&mut self, reject: Reject<'_>) -> Result<(), DecodeError>;
}

/// What one object contained. `rows + rejects == lines`; `skipped_lines` are headers,
/// comments and blank lines, which are not data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeCounts {
    pub lines: u64,
    pub rows: u64,
    pub rejects: u64,
    pub skipped_lines: u64,
    /// Decompressed bytes read.
    pub bytes: u64,
}

impl DecodeCounts {
    pub fn add(&mut self, other: &DecodeCounts) {
        self.lines += other.lines;
        self.rows += other.rows;
        self.rejects += other.rejects;
        self.skipped_lines += other.skipped_lines;
        self.bytes += other.bytes;
    }
}

/// Why decoding an object stopped. A bad line is never an error; these are.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Reading the object failed (I/O, or a corrupt compressed stream) after `line` lines.
    #[error("reading failed after line {line}: {source}")]
    Read { line: u64, source: io::Error },
    #[error("building a record batch failed: {0}")]
    Arrow(#[from] ArrowError),
    /// The output (writer, rejects sink) failed: the error it returned, unchanged.
    #[error("{0}")]
    Output(Box<dyn std::error::Error + Send + Sync>),
}

/// Decodes whole objects of one format. One decoder is reused for many objects by one worker.
pub trait ObjectDecoder: Send {
    /// Reads the object to its end, handing every full batch and every reject to `output`, and
    /// adds what it read to `counts`. The last partial batch is flushed before returning, also
    /// when reading fails midway, so `counts` always matches what `output` received.
    fn decode(
        &mut self,
        input: &mut dyn BufRead,
        output: &mut dyn DecodeOutput,
        counts: &mut DecodeCounts,
    ) -> Result<(), DecodeError>;
}

/// What a line turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineKind {
    /// A record, appended to the builders.
    Row,
    /// A header or comment line: not data, not a reject.
    NotData,
}

/// A format whose objects are one record per line. Implementations append a row to their
/// builders only when the whole line parsed, so a reject leaves no partial row behind. Lines
/// arrive as UTF-8 text: the driver rejects invalid UTF-8 once, for every format.
pub(crate) trait LineParser: Send {
    fn parse_line(&mut self, line: &str) -> Result<LineKind, Cow<'static, str>>;
    /// Rows appended since the last `finish_batch`.
    fn buffered_rows(&self) -> usize;
    fn finish_batch(&mut self) -> Result<RecordBatch, ArrowError>;
    /// Called before each object: per-object state (a header that names the fields) resets here.
    fn start_object(&mut self) {}
}

/// Splits an object into lines with `memchr`, carrying lines that span buffer refills and
/// keeping at most `limit` bytes of any line, so memory stays bounded on input without
/// newlines. Lines that fit in a buffer are handed over in place, without a copy.
pub(crate) struct LineSplitter {
    limit: usize,
    /// Bytes of a line that started in an earlier buffer fill.
    carry: Vec<u8>,
    /// Bytes dropped from the current over-long line (0 when the line fits).
    overflow: u64,
    /// Lines handed over so far, to place a read error.
    lines: u64,
}

impl LineSplitter {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            carry: Vec::new(),
            overflow: 0,
            lines: 0,
        }
    }

    /// Reads `input` to its end, handing each line (without its `\n`) to `on_line` with the
    /// number of bytes dropped from it (0 when it fits the limit), and counting the bytes read.
    pub(crate) fn run(
        &mut self,
        input: &mut dyn BufRead,
        counts: &mut DecodeCounts,
        mut on_line: impl FnMut(&[u8], u64, &mut DecodeCounts) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        self.carry.clear();
        self.overflow = 0;
        self.lines = 0;
        loop {
            let line = self.lines;
            let buf = input
                .fill_buf()
                .map_err(|source| DecodeError::Read { line, source })?;
            if buf.is_empty() {
                break;
            }
            let len = buf.len();
            counts.bytes += len as u64;
            let mut pos = 0;
            if !self.carry.is_empty() || self.overflow > 0 {
                match memchr::memchr(b'\n', buf) {
                    Some(end) => {
                        self.carry_extend(&buf[..end]);
                        self.hand_over_carry(counts, &mut on_line)?;
                        pos = end + 1;
                    }
                    None => {
                        self.carry_extend(buf);
                        input.consume(len);
                        continue;
                    }
                }
            }
            while let Some(end) = memchr::memchr(b'\n', &buf[pos..]) {
                // The limit holds for lines in place too, so an object decodes the same
                // whatever the size of the buffer it is read through.
                let kept = end.min(self.limit);
                self.lines += 1;
                on_line(&buf[pos..pos + kept], (end - kept) as u64, counts)?;
                pos += end + 1;
            }
            self.carry_extend(&buf[pos..]);
            input.consume(len);
        }
        if !self.carry.is_empty() || self.overflow > 0 {
            self.hand_over_carry(counts, &mut on_line)?;
        }
        Ok(())
    }

    fn hand_over_carry(
        &mut self,
        counts: &mut DecodeCounts,
        on_line: &mut impl FnMut(&[u8], u64, &mut DecodeCounts) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        let carried = std::mem::take(&mut self.carry);
        let overflow = std::mem::take(&mut self.overflow);
        self.lines += 1;
        let result = on_line(&carried, overflow, counts);
        self.carry = carried;
        self.carry.clear();
        result
    }

    /// Appends a partial line to the carry, dropping what exceeds the limit.
    fn carry_extend(&mut self, bytes: &[u8]) {
        let room = self.limit.saturating_sub(self.carry.len());
        let kept = bytes.len().min(room);
        self.carry.extend_from_slice(&bytes[..kept]);
        self.overflow += (bytes.len() - kept) as u64;
    }
}

/// Drives a [`LineParser`] over an object's lines ([`LineSplitter`], lines up to
/// [`MAX_LINE_BYTES`]) and flushes batches of `batch_size` rows.
pub(crate) struct LineDecoder<P> {
    parser: P,
    batch_size: usize,
    splitter: LineSplitter,
    /// Lines seen so far in the current object.
    line_number: u64,
}

impl<P: LineParser> LineDecoder<P> {
    pub(crate) fn new(parser: P, batch_size: usize) -> Self {
        Self {
            parser,
            batch_size: batch_size.max(1),
            splitter: LineSplitter::new(MAX_LINE_BYTES),
            line_number: 0,
        }
    }

    fn line(
        &mut self,
        line: &[u8],
        overflow: u64,
        counts: &mut DecodeCounts,
        output: &mut dyn DecodeOutput,
    ) -> Result<(), DecodeError> {
        self.line_number += 1;
        let number = self.line_number;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if overflow > 0 {
            let reason = format!(
                "line is {} bytes, longer than the {MAX_LINE_BYTES}-byte limit; only its start is kept",
                line.len() as u64 + overflow
            );
            counts.lines += 1;
            counts.rejects += 1;
            return output.reject(Reject {
                line: number,
                reason: reason.into(),
                raw: line,
            });
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            counts.skipped_lines += 1;
            return Ok(());
        }
        let parsed = std::str::from_utf8(line)
            .map_err(|e| Cow::Owned(format!("invalid UTF-8 at byte {}", e.valid_up_to())))
            .and_then(|text| self.parser.parse_line(text));
        match parsed {
            Ok(LineKind::Row) => {
                counts.lines += 1;
                counts.rows += 1;
                if self.parser.buffered_rows() >= self.batch_size {
                    output.batch(self.parser.finish_batch()?)?;
                }
                Ok(())
            }
            Ok(LineKind::NotData) => {
                counts.skipped_lines += 1;
                Ok(())
            }
            Err(reason) => {
                counts.lines += 1;
                counts.rejects += 1;
                output.reject(Reject {
                    line: number,
                    reason,
                    raw: line,
                })
            }
        }
    }
}

impl<P: LineParser> ObjectDecoder for LineDecoder<P> {
    fn decode(
        &mut self,
        input: &mut dyn BufRead,
        output: &mut dyn DecodeOutput,
        counts: &mut DecodeCounts,
    ) -> Result<(), DecodeError> {
        self.parser.start_object();
        self.line_number = 0;
        let mut splitter = std::mem::replace(&mut self.splitter, LineSplitter::new(MAX_LINE_BYTES));
        let result = splitter.run(input, counts, |line, overflow, counts| {
            self.line(line, overflow, counts, output)
        });
        self.splitter = splitter;
        // Rows parsed before a read error are still delivered: they are good data.
        if self.parser.buffered_rows() > 0 {
            output.batch(self.parser.finish_batch()?)?;
        }
        result
    }
}

/// A reject that owns its raw bytes, as collected by [`Decoded`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedReject {
    pub line: u64,
    pub reason: String,
    pub raw: Vec<u8>,
}

/// Everything one in-memory object decoded to: for tests, benchmarks and small inputs.
#[derive(Debug, Default)]
pub struct Decoded {
    pub batches: Vec<RecordBatch>,
    pub rejects: Vec<OwnedReject>,
    pub counts: DecodeCounts,
}

impl Decoded {
    /// Decodes `bytes` (already decompressed) as one object of `format`.
    pub fn from_bytes(
        format: &dyn crate::LogFormat,
        bytes: &[u8],
        batch_size: usize,
    ) -> Result<Self, DecodeError> {
        let mut decoded = Decoded::default();
        let mut counts = DecodeCounts::default();
        let mut input = bytes;
        format
            .decoder(batch_size)
            .decode(&mut input, &mut decoded, &mut counts)?;
        decoded.counts = counts;
        Ok(decoded)
    }

    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

impl DecodeOutput for Decoded {
    fn batch(&mut self, batch: RecordBatch) -> Result<(), DecodeError> {
        self.batches.push(batch);
        Ok(())
    }

    fn reject(&mut self, reject: Reject<'_>) -> Result<(), DecodeError> {
        self.rejects.push(OwnedReject {
            line: reject.line,
            reason: reject.reason.into_owned(),
            raw: reject.raw.to_vec(),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use super::*;
    use crate::{ElbFormat, LogFormat};

    /// An over-long line is rejected the same way whether it arrives in one buffer or across
    /// many: the object's outcome never depends on how it is read.
    #[test]
    fn long_lines_decode_the_same_through_any_buffer() {
        let good = "2015-05-13T23:39:43.945958Z lb 1.2.3.4:5 10.0.0.1:80 0.1 0.1 0.1 200 200 0 57 \"GET http://a/ HTTP/1.1\" \"ua\" - -";
        let text = format!("{good}\n{}\n{good}\n", "x".repeat(MAX_LINE_BYTES + 10));
        let decode = |capacity: usize| {
            let mut decoded = Decoded::default();
            let mut counts = DecodeCounts::default();
            let mut input = BufReader::with_capacity(capacity, text.as_bytes());
            ElbFormat
                .decoder(16)
                .decode(&mut input, &mut decoded, &mut counts)
                .unwrap();
            (counts, decoded.rejects)
        };
        let (counts, rejects) = decode(text.len());
        assert_eq!((counts.rows, counts.rejects), (2, 1));
        assert_eq!(rejects[0].raw.len(), MAX_LINE_BYTES);
        assert_eq!(rejects[0].line, 2);
        assert_eq!(decode(8 << 10), (counts, rejects));
    }
}
