//! The shared driver for formats whose objects are a stream of JSON objects (WAF, and the JSON
//! formats after it): one per line as AWS delivers them, but also pretty-printed over many
//! lines or concatenated (`}{`), as Firehose and hand-made files hold them (FORMATS.md 8.4).
//!
//! Invariants:
//! - Every record is a row or a reject, and `rows + rejects == lines` where `lines` counts
//!   records (a pretty-printed record spanning 100 lines is one); blank lines are skipped.
//! - A record's line number is the line of its first byte.
//! - A record that cannot be completed (bad JSON, or more than [`MAX_RECORD_BYTES`] without
//!   closing) costs only its first line: that line is rejected and reading resumes at the next
//!   one, so a broken line never swallows the good records after it.
//! - Memory is bounded by [`MAX_RECORD_BYTES`] whatever the input (a line without end, a gzip
//!   bomb): longer lines are rejected keeping their first [`MAX_LINE_BYTES`].

use std::borrow::Cow;
use std::io::BufRead;

use arrow_array::RecordBatch;
use arrow_schema::ArrowError;

use crate::decode::{
    DecodeCounts, DecodeError, DecodeOutput, LineSplitter, MAX_LINE_BYTES, ObjectDecoder, Reject,
};
use crate::json::Members;

/// The largest record read whole. AWS's records are at most a few hundred KB (long header
/// lists, `matchedData`); this leaves room for pretty-printed ones.
pub(crate) const MAX_RECORD_BYTES: usize = 8 << 20;

/// A format's rows from JSON objects. Implementations append a row only when the whole record
/// converted, so a reject leaves no partial row behind.
pub(crate) trait JsonRecordParser: Send {
    /// Appends one record (a JSON object, its members unparsed) or says why it cannot.
    fn append(&mut self, record: &Members<'_>) -> Result<(), Cow<'static, str>>;
    /// Rows appended since the last `finish_batch`.
    fn buffered_rows(&self) -> usize;
    fn finish_batch(&mut self) -> Result<RecordBatch, ArrowError>;
}

/// Drives a [`JsonRecordParser`] over an object (see the module documentation).
pub(crate) struct JsonLinesDecoder<P> {
    parser: P,
    batch_size: usize,
    /// Lines of a record not yet complete, starting at line `pending_line`.
    pending: Vec<u8>,
    pending_line: u64,
    splitter: LineSplitter,
    line_number: u64,
}

impl<P: JsonRecordParser> JsonLinesDecoder<P> {
    pub(crate) fn new(parser: P, batch_size: usize) -> Self {
        Self {
            parser,
            batch_size: batch_size.max(1),
            pending: Vec::new(),
            pending_line: 0,
            splitter: LineSplitter::new(MAX_RECORD_BYTES),
            line_number: 0,
        }
    }

    /// One physical line read (without its `\n`, `overflow` bytes dropped from it): a blank
    /// line, the start or the continuation of a record, or an over-long line to reject.
    fn add_line(
        &mut self,
        line: &[u8],
        overflow: u64,
        output: &mut dyn DecodeOutput,
        counts: &mut DecodeCounts,
    ) -> Result<(), DecodeError> {
        self.line_number += 1;
        if overflow > 0 {
            // Whatever was pending cannot close across a line this long: each is rejected.
            self.give_up_pending(output, counts)?;
            counts.lines += 1;
            counts.rejects += 1;
            let reason = format!(
                "line is {} bytes, longer than the {MAX_RECORD_BYTES}-byte record limit; only its start is kept",
                line.len() as u64 + overflow
            );
            return output.reject(Reject {
                line: self.line_number,
                reason: reason.into(),
                raw: &line[..line.len().min(MAX_LINE_BYTES)],
            });
        }
        if self.pending.is_empty() {
            if line.iter().all(u8::is_ascii_whitespace) {
                counts.skipped_lines += 1;
                return Ok(());
            }
            self.pending_line = self.line_number;
        }
        self.pending.extend_from_slice(line);
        self.pending.push(b'\n');
        self.drain(false, output, counts)
    }

    /// Converts every complete record at the start of `pending`; keeps an incomplete one for
    /// the next line unless `at_end`.
    fn drain(
        &mut self,
        at_end: bool,
        output: &mut dyn DecodeOutput,
        counts: &mut DecodeCounts,
    ) -> Result<(), DecodeError> {
        let mut from = 0;
        loop {
            let outcome = self.next_records(from, at_end, output, counts)?;
            match outcome {
                Drained::All => {
                    self.pending.clear();
                    return Ok(());
                }
                Drained::Incomplete(start) if self.pending.len() - start <= MAX_RECORD_BYTES => {
                    self.keep_from(start);
                    return Ok(());
                }
                // Too long to be a record, or not one: its first line goes to the rejects and
                // reading resumes at the next line.
                Drained::Incomplete(start) => {
                    from = self.reject_first_line(start, "record not closed", output, counts)?
                }
                Drained::Invalid(start, reason) => {
                    from = self.reject_first_line(start, &reason, output, counts)?
                }
            }
            if from >= self.pending.len() {
                self.pending.clear();
                return Ok(());
            }
        }
    }

    /// Parses records from `pending[from..]` until the end, an incomplete record, or an error.
    fn next_records(
        &mut self,
        from: usize,
        at_end: bool,
        output: &mut dyn DecodeOutput,
        counts: &mut DecodeCounts,
    ) -> Result<Drained, DecodeError> {
        let Self {
            parser,
            pending,
            pending_line,
            batch_size,
            ..
        } = self;
        // Validated once here, so the parser reads `&str` and skips per-value UTF-8 checks; a
        // line with invalid UTF-8 ends the text, and is rejected when its turn comes.
        let (text, invalid) = valid_lines(&pending[from..]);
        let invalid_reason = || "line is not valid UTF-8".to_owned();
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Members<'_>>();
        loop {
            let start = skip_whitespace(text.as_bytes(), stream.byte_offset());
            match stream.next() {
                None => {
                    return Ok(match invalid {
                        None => Drained::All,
                        Some(line) => Drained::Invalid(from + line, invalid_reason()),
                    });
                }
                Some(Ok(members)) => {
                    counts.lines += 1;
                    match parser.append(&members) {
                        Ok(()) => {
                            counts.rows += 1;
                            if parser.buffered_rows() >= *batch_size {
                                output.batch(parser.finish_batch()?)?;
                            }
                        }
                        Err(reason) => {
                            counts.rejects += 1;
                            output.reject(Reject {
                                line: *pending_line + newlines(&text.as_bytes()[..start]),
                                reason,
                                raw: trim_end(&text.as_bytes()[start..stream.byte_offset()]),
                            })?;
                        }
                    }
                }
                Some(Err(e)) if e.is_eof() => {
                    return Ok(match invalid {
                        Some(_) => Drained::Invalid(from + start, invalid_reason()),
                        None if !at_end => Drained::Incomplete(from + start),
                        None => Drained::Invalid(
                            from + start,
                            "JSON record not closed at the end of the object".into(),
                        ),
                    });
                }
                Some(Err(e)) => {
                    return Ok(Drained::Invalid(
                        from + start,
                        format!("not a JSON object: {e}"),
                    ));
                }
            }
        }
    }

    /// Rejects the first line of the record at `pending[start..]` and returns where the next
    /// line starts.
    fn reject_first_line(
        &mut self,
        start: usize,
        reason: &str,
        output: &mut dyn DecodeOutput,
        counts: &mut DecodeCounts,
    ) -> Result<usize, DecodeError> {
        let rest = &self.pending[start..];
        let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        counts.lines += 1;
        counts.rejects += 1;
        output.reject(Reject {
            line: self.pending_line + newlines(&self.pending[..start]),
            reason: reason.to_owned().into(),
            raw: trim_end(&rest[..end]),
        })?;
        Ok(start + end)
    }

    /// Drops `pending[..start]` (all converted or rejected), renumbering the rest.
    fn keep_from(&mut self, start: usize) {
        self.pending_line += newlines(&self.pending[..start]);
        self.pending.drain(..start);
    }

    /// Rejects what is pending line by line (nothing more can complete it).
    fn give_up_pending(
        &mut self,
        output: &mut dyn DecodeOutput,
        counts: &mut DecodeCounts,
    ) -> Result<(), DecodeError> {
        if !self.pending.is_empty() {
            self.drain(true, output, counts)?;
        }
        Ok(())
    }
}

/// Where draining `pending` stopped.
enum Drained {
    /// Every record converted or rejected; only whitespace is left.
    All,
    /// The record starting at this offset needs more lines.
    Incomplete(usize),
    /// The record starting at this offset is not valid JSON (or not an object).
    Invalid(usize, String),
}

/// The longest run of whole lines of `bytes` that is valid UTF-8, and, when it stops short,
/// where the first invalid line starts.
fn valid_lines(bytes: &[u8]) -> (&str, Option<usize>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(e) => {
            let at = e.valid_up_to();
            let line = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |i| i + 1);
            // Valid: a prefix of the valid part that ends at a line boundary.
            let text = std::str::from_utf8(&bytes[..line]).unwrap_or_default();
            (text, Some(line))
        }
    }
}

fn skip_whitespace(text: &[u8], mut pos: usize) -> usize {
    while text.get(pos).is_some_and(u8::is_ascii_whitespace) {
        pos += 1;
    }
    pos
}

fn newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

fn trim_end(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

impl<P: JsonRecordParser> ObjectDecoder for JsonLinesDecoder<P> {
    fn decode(
        &mut self,
        input: &mut dyn BufRead,
        output: &mut dyn DecodeOutput,
        counts: &mut DecodeCounts,
    ) -> Result<(), DecodeError> {
        self.pending.clear();
        self.line_number = 0;
        let mut splitter =
            std::mem::replace(&mut self.splitter, LineSplitter::new(MAX_RECORD_BYTES));
        let result = splitter
            .run(input, counts, |line, overflow, counts| {
                self.add_line(line, overflow, output, counts)
            })
            .and_then(|()| self.give_up_pending(output, counts));
        self.splitter = splitter;
        // Rows converted before a read error are still delivered: they are good data.
        if self.parser.buffered_rows() > 0 {
            output.batch(self.parser.finish_batch()?)?;
        }
        result
    }
}
