//! Reading log objects into Arrow batches in memory, writing nothing: for Python's
//! `agsl.parse` (the bytes of one object) and for the Spark executors of `read_logs` (objects
//! of a source, streamed). The same decoders as a conversion, so rows are the table's rows;
//! `rows + rejects == lines` holds for every object read here too. The one decode step every
//! path shares, damaged streams included, is `decode_keeping_damage`.

use std::borrow::Cow;
use std::io::{BufRead, Read};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use agsl_formats::{DecodeCounts, DecodeError, DecodeOutput, LogFormat, ObjectDecoder, Reject};
use arrow_array::RecordBatch;
use arrow_array::builder::{BinaryBuilder, Int64Builder, StringBuilder};

use crate::error::{Error, Result, SourceError};
use crate::sink::rejects_schema;
use crate::source::{FetchOptions, Source, is_corrupt_data, open_decompressed};
use crate::window::Spans;

/// One object's rows and rejects (in the rejects files' schema: `source_key`, `line_number`,
/// `reason`, `raw_line`).
#[derive(Debug)]
pub struct ParsedObject {
    pub batches: Vec<RecordBatch>,
    pub rejects: RecordBatch,
    pub counts: DecodeCounts,
}

/// Parses the bytes of one object (gzip, ZIP, Snappy or plain) named `key`. A damaged stream
/// keeps the lines before the damage and adds one reject saying where it broke, as a conversion
/// does.
///
/// ```
/// use agsl::Format;
/// use agsl::read::parse_bytes;
/// use agsl_formats::sample::{SamplePlan, objects};
/// use arrow_array::cast::AsArray;
/// use arrow_array::types::Int64Type;
///
/// // A generated ALB object of 30 lines as AWS stores it (gzip); every tenth line is malformed.
/// let plan = SamplePlan {
///     objects: 1,
///     lines_per_object: 30,
///     bad_line_every: Some(10),
///     ..SamplePlan::default()
/// };
/// let object = objects(Format::Alb, plan).next().unwrap();
/// let gzip = agsl::sample::stored(&object)?;
///
/// let parsed = parse_bytes(Format::Alb.parser(), &object.key, gzip, 8192)?;
/// assert_eq!((parsed.counts.rows, parsed.counts.rejects), (27, 3));
/// let lines = parsed.rejects.column_by_name("line_number").unwrap();
/// assert_eq!(lines.as_primitive::<Int64Type>().values(), &[10, 20, 30]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_bytes(
    format: &dyn LogFormat,
    key: &str,
    data: Vec<u8>,
    batch_size: usize,
) -> Result<ParsedObject> {
    let mut collected = Collected::default();
    let counts = decode_object(
        format,
        key,
        std::io::Cursor::new(data),
        batch_size,
        &mut collected,
    )?;
    let rejects = collected.rejects_batch(key)?;
    Ok(ParsedObject {
        batches: collected.batches,
        rejects,
        counts,
    })
}

/// Decodes one object into `output`; the counts include a reject for a damaged gzip stream.
fn decode_object(
    format: &dyn LogFormat,
    key: &str,
    raw: impl Read + Send + 'static,
    batch_size: usize,
    output: &mut dyn DecodeOutput,
) -> Result<DecodeCounts> {
    let mut input = open_decompressed(raw).map_err(|source| SourceError::Read {
        key: key.to_owned(),
        source,
    })?;
    let mut counts = DecodeCounts::default();
    decode_keeping_damage(
        batch_decoder(format, batch_size).as_mut(),
        key,
        &mut input,
        output,
        &mut counts,
    )
    .map_err(|error| decode_failure(key, error))?;
    Ok(counts)
}

/// A fresh decoder for `format`, for a conversion and for reading alike: batches of
/// [`batch_rows`].
pub(crate) fn batch_decoder(format: &dyn LogFormat, most_rows: usize) -> Box<dyn ObjectDecoder> {
    format.decoder(batch_rows(format, most_rows))
}

/// The rows of a decoder's full batch: the format's own [`agsl_formats::FormatInfo::batch_rows`],
/// or `most_rows` when that is fewer.
fn batch_rows(format: &dyn LogFormat, most_rows: usize) -> usize {
    format.info().batch_rows.min(most_rows)
}

/// Decodes one decompressed object into `output`, for a conversion and for reading alike. A
/// corrupt or truncated compressed stream is bad data, not a failed read: the lines before the
/// damage are kept and the object gets one reject saying where it broke (counted in `counts`).
/// Any other failure is returned; [`decode_failure`] turns it into the run's error.
pub(crate) fn decode_keeping_damage(
    decoder: &mut dyn ObjectDecoder,
    key: &str,
    input: &mut dyn BufRead,
    output: &mut dyn DecodeOutput,
    counts: &mut DecodeCounts,
) -> std::result::Result<(), DecodeError> {
    match decoder.decode(input, output, counts) {
        Err(DecodeError::Read { line, source }) if is_corrupt_data(&source) => {
            tracing::warn!(key, line, error = %source, "corrupt object");
            let reason = format!("corrupt compressed data after line {line}: {source}");
            output.reject(Reject {
                line: line + 1,
                reason: reason.into(),
                raw: b"",
            })?;
            counts.lines += 1;
            counts.rejects += 1;
            Ok(())
        }
        result => result,
    }
}

/// The error a failed decode of the object `key` fails the run with: a read error names the
/// object (and is retried by the caller's policy, never skipped); anything else is internal.
pub(crate) fn decode_failure(key: &str, error: DecodeError) -> Error {
    match error {
        DecodeError::Read { source, .. } => SourceError::Read {
            key: key.to_owned(),
            source,
        }
        .into(),
        error => Error::Internal(format!("decoding `{key}`: {error}")),
    }
}

/// Batches and rejects kept in memory.
#[derive(Default)]
struct Collected {
    batches: Vec<RecordBatch>,
    lines: Vec<u64>,
    reasons: Vec<Cow<'static, str>>,
    raw: Vec<Vec<u8>>,
}

impl Collected {
    fn rejects_batch(&self, key: &str) -> Result<RecordBatch> {
        let rows = self.lines.len();
        let mut keys = StringBuilder::with_capacity(rows, rows * key.len());
        let mut lines = Int64Builder::with_capacity(rows);
        let mut reasons = StringBuilder::new();
        let mut raw = BinaryBuilder::new();
        for i in 0..rows {
            keys.append_value(key);
            lines.append_value(self.lines[i] as i64);
            reasons.append_value(&self.reasons[i]);
            raw.append_value(&self.raw[i]);
        }
        RecordBatch::try_new(
            rejects_schema(),
            vec![
                Arc::new(keys.finish()),
                Arc::new(lines.finish()),
                Arc::new(reasons.finish()),
                Arc::new(raw.finish()),
            ],
        )
        .map_err(|e| Error::Internal(e.to_string()))
    }
}

impl DecodeOutput for Collected {
    fn batch(&mut self, batch: RecordBatch) -> std::result::Result<(), DecodeError> {
        self.batches.push(batch);
        Ok(())
    }

    fn reject(&mut self, reject: Reject<'_>) -> std::result::Result<(), DecodeError> {
        self.lines.push(reject.line);
        self.reasons.push(reject.reason);
        self.raw.push(reject.raw.to_vec());
        Ok(())
    }
}

/// Batches of listed objects of a source, read and decoded in order on a thread of their own
/// while the caller takes them: at most two batches wait, so memory stays bounded whatever the
/// objects' sizes. They are read as a conversion reads them: on S3 fetched ahead (up to
/// [`FetchOptions::concurrency`] GETs in flight, so a task of many small objects is not one
/// request's latency per object), streamed when large and resumed when cut off; the listed
/// size checked, so an object replaced since it was listed is an error, never another
/// version's rows; with `skip_archived`, an object S3 keeps archived is left out with a
/// warning instead of failing the read. Rows outside `window` are left out (rows without an
/// event time are kept); rejects are counted, not kept. Each batch comes with the index of its
/// object; the last item is an error if reading failed, and nothing is read after it.
pub struct ObjectBatches {
    batches: Receiver<Result<(usize, RecordBatch)>>,
    batch_rows: usize,
}

impl ObjectBatches {
    /// Starts reading `objects` (key and listed size), in order.
    pub fn read(
        source: &Source,
        format: &'static dyn LogFormat,
        objects: Vec<(String, u64)>,
        window: Spans,
        batch_size: usize,
        fetch: FetchOptions,
        skip_archived: bool,
    ) -> Self {
        let (sender, batches) = sync_channel(2);
        let source = source.clone();
        let batch_rows = batch_rows(format, batch_size);
        std::thread::spawn(move || {
            let time_column = format
                .schema()
                .index_of(format.info().event_time_column)
                .unwrap_or(usize::MAX);
            let mut output = Streamed {
                sender: sender.clone(),
                object: 0,
                window,
                time_column,
            };
            // Alive while the objects are read: dropping it stops the fetch.
            let prefetch = source.prefetch(objects.clone(), fetch, 1);
            for (index, (key, size)) in objects.iter().enumerate() {
                output.object = index;
                let fetched = prefetch.as_ref().map(|p| (p, index));
                let result = source
                    .read_listed(key, *size, fetched)
                    .and_then(|raw| decode_object(format, key, raw, batch_size, &mut output));
                match result {
                    Ok(_) => {}
                    Err(error) if skip_archived && error.is_archived() => {
                        tracing::warn!(key, "archived in S3, not restored: skipped");
                    }
                    Err(error) => {
                        let _ = sender.send(Err(error));
                        return;
                    }
                }
            }
        });
        Self {
            batches,
            batch_rows,
        }
    }

    /// The rows of a full batch; an object's last batch may hold fewer.
    pub fn batch_rows(&self) -> usize {
        self.batch_rows
    }
}

impl Iterator for ObjectBatches {
    type Item = Result<(usize, RecordBatch)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.batches.recv().ok()
    }
}

struct Streamed {
    sender: std::sync::mpsc::SyncSender<Result<(usize, RecordBatch)>>,
    /// The index of the object being decoded.
    object: usize,
    window: Spans,
    time_column: usize,
}

impl DecodeOutput for Streamed {
    fn batch(&mut self, batch: RecordBatch) -> std::result::Result<(), DecodeError> {
        let batch = if self.time_column >= batch.num_columns() {
            batch
        } else {
            self.window
                .rows_within(&batch, self.time_column, true)
                .map_err(|e| DecodeError::Output(e.to_string().into()))?
        };
        if batch.num_rows() == 0 {
            return Ok(());
        }
        // The reader went away: stop decoding.
        self.sender
            .send(Ok((self.object, batch)))
            .map_err(|_| DecodeError::Output("the reader stopped".into()))
    }

    fn reject(&mut self, _reject: Reject<'_>) -> std::result::Result<(), DecodeError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use agsl_formats::Format;
    use agsl_formats::sample::{SamplePlan, objects};

    use crate::storage::{Location, StorageOptions};

    /// The rows `ObjectBatches` yields for each of `objects` (key, listed size), and how the
    /// read ended.
    fn read_all(source: &Source, objects: &[(&str, u64)]) -> (Vec<usize>, Result<()>) {
        let batches = ObjectBatches::read(
            source,
            Format::Alb.parser(),
            objects.iter().map(|(k, s)| ((*k).to_owned(), *s)).collect(),
            Spans::everything(),
            1000,
            FetchOptions::default(),
            false,
        );
        let mut rows = vec![0; objects.len()];
        for batch in batches {
            match batch {
                Ok((object, batch)) => rows[object] += batch.num_rows(),
                Err(error) => return (rows, Err(error)),
            }
        }
        (rows, Ok(()))
    }

    #[test]
    fn objects_are_read_in_order_as_listed_and_one_changed_since_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let plan = SamplePlan {
            objects: 1,
            lines_per_object: 2_500,
            bad_line_every: None,
            ..SamplePlan::default()
        };
        let object = objects(Format::Alb, plan).next().unwrap();
        let stored = crate::sample::stored(&object).unwrap();
        std::fs::write(dir.path().join("alb.log.gz"), &stored).unwrap();
        std::fs::write(
            dir.path().join("half.log"),
            &object.body[..object.body.len() / 2],
        )
        .unwrap();
        let half_lines = object.body[..object.body.len() / 2]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        let location = Location::Local(dir.path().to_path_buf());
        let source = Source::open(&location, &StorageOptions::default()).unwrap();
        let listed = stored.len() as u64;
        let half = (object.body.len() / 2) as u64;

        let (rows, ended) = read_all(&source, &[("alb.log.gz", listed), ("half.log", half)]);
        ended.unwrap();
        // The last line of the half is cut, a reject.
        assert_eq!(rows, [2_500, half_lines]);

        // Grown since the listing (another delivery written over it): not read as the listed
        // one, and nothing after it is read.
        let (rows, ended) = read_all(&source, &[("alb.log.gz", listed - 1), ("half.log", half)]);
        assert_eq!(rows, [0, 0]);
        let error = ended.unwrap_err().to_string();
        assert!(error.contains("alb.log.gz"), "names the object: {error}");
        assert!(error.contains("changed while this run read it"), "{error}");
    }
}
