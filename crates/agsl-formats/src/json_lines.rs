//! The shared driver for formats whose objects are a stream of JSON objects (WAF, and the JSON
//! formats after it): one per line as AWS delivers them, but also pretty-printed over many
//! lines or concatenated (`}{`), as Firehose and hand-made files hold them (FORMATS.md 8.4).
//!
//! Invariants:
//! - Every record is a row or a reject, and `rows + rejects == lines` where `lines` counts
//!   records (a pretty-printed record spanning 100 lines is one); blank lines are skipped.
//! - A record's line number is the line of its first byte.
//! - Time is linear in the input: a line is parsed where it stands; only a record left open at
//!   the end of its line is carried, and its later lines are scanned once for the brace that
//!   closes it before it is parsed, once.
//! - A broken record never swallows the records after it: it ends at the end of its line when
//!   a string is left open there (JSON strings hold no raw newline), and before the next line
//!   that starts a record at column 0 (a pretty-printed record indents its inner lines).
//! - Memory is bounded by [`MAX_RECORD_BYTES`] whatever the input (a line without end, a gzip
//!   bomb, a record never closed); rejects of longer input keep its first [`MAX_LINE_BYTES`].

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

/// Where a scan of an open record stands: nesting depth, and whether inside a string.
#[derive(Debug, Default, Clone, Copy)]
struct Scan {
    depth: u32,
    in_string: bool,
    escaped: bool,
}

impl Scan {
    /// Advances over `bytes`; returns the offset just past the bracket that closes the record,
    /// if `bytes` hold it.
    fn advance(&mut self, bytes: &[u8]) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            if self.in_string {
                match (self.escaped, b) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => self.in_string = false,
                    _ => {}
                }
            } else {
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth = self.depth.saturating_sub(1);
                        if self.depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
            }
        }
        None
    }
}

/// Drives a [`JsonRecordParser`] over an object (see the module documentation).
pub(crate) struct JsonLinesDecoder<P> {
    parser: P,
    batch_size: usize,
    /// The lines of a record left open, from line `pending_line`, scanned up to their end.
    pending: Vec<u8>,
    pending_line: u64,
    scan: Scan,
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
            scan: Scan::default(),
            splitter: LineSplitter::new(MAX_RECORD_BYTES),
            line_number: 0,
        }
    }

    /// One physical line (without its `\n`, `overflow` bytes dropped from it).
    fn add_line(
        &mut self,
        line: &[u8],
        overflow: u64,
        output: &mut dyn DecodeOutput,
        counts: &mut DecodeCounts,
    ) -> Result<(), DecodeError> {
        self.line_number += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if overflow > 0 {
            self.reject_pending(
                "JSON record not closed before an over-long line",
                output,
                counts,
            )?;
            let reason = format!(
                "line is {} bytes, longer than the {MAX_RECORD_BYTES}-byte record limit; only its start is kept",
                line.len() as u64 + overflow
            );
            return self.reject(self.line_number, line, reason.into(), output, counts);
        }
        if self.pending.is_empty() {
            if line.iter().all(u8::is_ascii_whitespace) {
                counts.skipped_lines += 1;
                return Ok(());
            }
            return self.records_in(line, output, counts);
        }
        if line.first() == Some(&b'{') {
            self.reject_pending(
                "JSON record not closed before the next record",
                output,
                counts,
            )?;
            return self.records_in(line, output, counts);
        }
        if self.pending.len() + line.len() > MAX_RECORD_BYTES {
            self.reject_pending("JSON record longer than the record limit", output, counts)?;
            return self.records_in(line, output, counts);
        }
        match self.scan.advance(line) {
            Some(end) => {
                self.pending.extend_from_slice(&line[..end]);
                let record = std::mem::take(&mut self.pending);
                let result = self.one_record(self.pending_line, &record, output, counts);
                self.pending = record;
                self.pending.clear();
                result?;
                match &line[end..] {
                    rest if rest.iter().all(u8::is_ascii_whitespace) => Ok(()),
                    rest => self.records_in(rest, output, counts),
                }
            }
            None if self.scan.in_string => {
                self.pending.extend_from_slice(line);
                self.reject_pending(
                    "a JSON string runs past the end of its line",
                    output,
                    counts,
                )
            }
            None => {
                self.pending.extend_from_slice(line);
                self.pending.push(b'\n');
                Ok(())
            }
        }
    }

    /// The records of `text`, part of the current line with no record open before it: each
    /// parsed where it stands; one left open at the end of the line is kept for the next.
    fn records_in(
        &mut self,
        text: &[u8],
        output: &mut dyn DecodeOutput,
        counts: &mut DecodeCounts,
    ) -> Result<(), DecodeError> {
        let number = self.line_number;
        // Validated once, so the parser reads `&str` and skips per-value UTF-8 checks.
        let Ok(text) = std::str::from_utf8(text) else {
            return self.reject(
                number,
                text,
                "line is not valid UTF-8".into(),
                output,
                counts,
            );
        };
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Members<'_>>();
        loop {
            let start = skip_whitespace(text.as_bytes(), stream.byte_offset());
            match stream.next() {
                None => return Ok(()),
                Some(Ok(members)) => {
                    let raw = &text.as_bytes()[start..stream.byte_offset()];
                    let result = self.parser.append(&members);
                    self.outcome(number, raw, result, output, counts)?;
                }
                Some(Err(e)) if e.is_eof() => {
                    let open = &text.as_bytes()[start..];
                    let mut scan = Scan::default();
                    if scan.advance(open).is_some() || scan.in_string {
                        let reason = format!("not a JSON object: {e}");
                        return self.reject(number, open, reason.into(), output, counts);
                    }
                    self.scan = scan;
                    self.pending_line = number;
                    self.pending.extend_from_slice(open);
                    self.pending.push(b'\n');
                    return Ok(());
                }
                Some(Err(e)) => {
                    let rest = &text.as_bytes()[start..];
                    let reason = format!("not a JSON object: {e}");
                    return self.reject(number, rest, reason.into(), output, counts);
                }
            }
        }
    }

    /// A record closed on a later line than it started: exactly one JSON object.
    fn one_record(
        &mut self,
        number: u64,
        record: &[u8],
        output: &mut dyn DecodeOutput,
        counts: &mut DecodeCounts,
    ) -> Result<(), DecodeError> {
        let parsed = std::str::from_utf8(record)
            .map_err(|_| Cow::Borrowed("record is not valid UTF-8"))
            .and_then(|text| {
                serde_json::from_str::<Members<'_>>(text)
                    .map_err(|e| Cow::Owned(format!("not a JSON object: {e}")))
                    .and_then(|members| self.parser.append(&members))
            });
        self.outcome(number, record, parsed, output, counts)
    }

    /// Counts one record and delivers it: a row (flushing a full batch) or a reject.
    fn outcome(
        &mut self,
        number: u64,
        raw: &[u8],
        result: Result<(), Cow<'static, str>>,
        output: &mut dyn DecodeOutput,
        counts: &mut DecodeCounts,
    ) -> Result<(), DecodeError> {
        match result {
            Ok(()) => {
                counts.lines += 1;
                counts.rows += 1;
                if self.parser.buffered_rows() >= self.batch_size {
                    output.batch(self.parser.finish_batch()?)?;
                }
                Ok(())
            }
            Err(reason) => self.reject(number, raw, reason, output, counts),
        }
    }

    fn reject(
        &self,
        number: u64,
        raw: &[u8],
        reason: Cow<'static, str>,
        output: &mut dyn DecodeOutput,
        counts: &mut DecodeCounts,
    ) -> Result<(), DecodeError> {
        counts.lines += 1;
        counts.rejects += 1;
        output.reject(Reject {
            line: number,
            reason,
            raw: trim_end(&raw[..raw.len().min(MAX_LINE_BYTES)]),
        })
    }

    /// Rejects the open record, if any, as one reject from its first line.
    fn reject_pending(
        &mut self,
        reason: &'static str,
        output: &mut dyn DecodeOutput,
        counts: &mut DecodeCounts,
    ) -> Result<(), DecodeError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let result = self.reject(
            self.pending_line,
            &self.pending,
            reason.into(),
            output,
            counts,
        );
        self.pending.clear();
        result
    }
}

fn skip_whitespace(text: &[u8], mut pos: usize) -> usize {
    while text.get(pos).is_some_and(u8::is_ascii_whitespace) {
        pos += 1;
    }
    pos
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
            .and_then(|()| {
                self.reject_pending(
                    "JSON record not closed at the end of the object",
                    output,
                    counts,
                )
            });
        self.splitter = splitter;
        // Rows converted before a read error are still delivered: they are good data.
        if self.parser.buffered_rows() > 0 {
            output.batch(self.parser.finish_batch()?)?;
        }
        result
    }
}
