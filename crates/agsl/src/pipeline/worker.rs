//! Converting one batch of objects of one format: every worker takes whole objects (open,
//! decompress, decode, filter to the object's window, partition, encode) until none are left.
//! Workers own their writers, so the two cores never wait on each other; memory is bounded per
//! worker. Files land in a staging folder; the caller commits them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

use agsl_formats::{DecodeCounts, DecodeError, DecodeOutput, LogFormat, Reject};
use arrow_array::RecordBatch;

use super::plan::ObjectTask;
use super::{ConvertJob, Progress};
use crate::cpu::{self, StageCpu};
use crate::error::{Error, Result, SinkError, SourceError};
use crate::read::{batch_decoder, decode_failure, decode_keeping_damage};
use crate::sink::{
    KeyValues, PartitionLayout, PartitionWriter, RejectsWriter, TablePartitioning, WrittenFile,
};
use crate::source::{CountingReader, Prefetch, Source, open_decompressed};
use crate::window::Spans;

/// What the workers of one batch produced.
#[derive(Debug, Default)]
pub(super) struct BatchOutput {
    pub counts: DecodeCounts,
    /// Rows and rejects decoded but not written: outside the object's window, or written by an
    /// earlier run. `rows + rejects + excluded == lines` for what was written.
    pub excluded_rows: u64,
    pub excluded_rejects: u64,
    pub files: Vec<WrittenFile>,
    pub rejects_files: Vec<WrittenFile>,
    /// Rejects written, by kind of reason ([`crate::sink::reason_kind`]).
    pub reject_reasons: BTreeMap<String, u64>,
    /// Keys of objects skipped as archived (`--skip-archived`): nothing of them was read.
    pub archived: Vec<String>,
    /// CPU seconds of the workers' decompressing, parsing and encoding threads.
    pub cpu: StageCpu,
}

/// Converts `tasks` with the job's workers, writing the table below `root`.
pub(super) fn convert_batch(
    job: &ConvertJob,
    format: &dyn LogFormat,
    source: &Source,
    tasks: &[ObjectTask],
    root: &Path,
    run_name: &str,
    progress: &Progress,
) -> Result<BatchOutput> {
    let time_column = format
        .schema()
        .index_of(format.info().event_time_column)
        .map_err(SinkError::from)?;
    let workers = job.workers.clamp(1, tasks.len().max(1));
    let run = Run {
        job,
        format,
        source,
        tasks,
        root,
        progress,
        time_column,
        next: AtomicUsize::new(0),
        failed: AtomicBool::new(false),
        run_name,
        prefetch: source.prefetch(
            tasks.iter().map(|t| (t.key.clone(), t.size)).collect(),
            job.fetch,
            workers,
        ),
    };
    let results: Vec<Result<Option<WorkerOutput>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let run = &run;
                scope.spawn(move || run.worker(worker))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Internal("a worker thread panicked".into())))
            })
            .collect()
    });
    let mut output = BatchOutput::default();
    for result in results {
        let Some(worker) = result? else { continue };
        output.counts.add(&worker.counts);
        output.excluded_rows += worker.excluded_rows;
        output.excluded_rejects += worker.excluded_rejects;
        output.files.extend(worker.files);
        output.rejects_files.extend(worker.rejects_file);
        crate::counts::add_all(&mut output.reject_reasons, &worker.reject_reasons);
        output.archived.extend(worker.archived);
        output.cpu.add(&worker.cpu);
    }
    let counts = &output.counts;
    if counts.rows + counts.rejects != counts.lines {
        return Err(Error::Internal(format!(
            "rows {} + rejects {} != lines {}",
            counts.rows, counts.rejects, counts.lines
        )));
    }
    Ok(output)
}

struct WorkerOutput {
    counts: DecodeCounts,
    excluded_rows: u64,
    excluded_rejects: u64,
    files: Vec<WrittenFile>,
    rejects_file: Option<WrittenFile>,
    reject_reasons: BTreeMap<String, u64>,
    archived: Vec<String>,
    cpu: StageCpu,
}

/// What a worker's parsing side produced; its writer thread reports the files.
struct ParseOutput {
    counts: DecodeCounts,
    excluded_rows: u64,
    excluded_rejects: u64,
    rejects_file: Option<WrittenFile>,
    reject_reasons: BTreeMap<String, u64>,
    archived: Vec<String>,
    /// CPU time of this thread, and of the read-ahead threads it read objects through.
    parse_cpu: Duration,
    decompress_cpu: Duration,
}

/// What became of one object a worker took.
enum Outcome {
    Converted,
    /// S3 keeps it archived and the job skips such objects: nothing of it was read.
    Archived,
}

/// A batch on its way from a worker's parser to the worker's writer thread.
struct WriteRequest {
    batch: RecordBatch,
    key_values: KeyValues,
    url: Arc<str>,
}

/// Batches queued between a worker's parser and its writer: a little slack, bounded memory.
const BATCHES_IN_FLIGHT: usize = 2;

/// State shared by the workers of one batch.
struct Run<'a> {
    job: &'a ConvertJob,
    format: &'a dyn LogFormat,
    source: &'a Source,
    tasks: &'a [ObjectTask],
    /// The table folder this batch writes (in staging).
    root: &'a Path,
    progress: &'a Progress,
    time_column: usize,
    next: AtomicUsize,
    failed: AtomicBool,
    /// `<run id>-<batch>`: file names start `part-<run_name>-<worker>`, unique per batch.
    run_name: &'a str,
    /// On S3: the batch's objects, fetched ahead in task order.
    prefetch: Option<Prefetch>,
}

impl Run<'_> {
    /// The partition values of an object's key: its region, and its account when the table is
    /// partitioned by account (from the key, else the job's `account_id`).
    fn key_values(&self, key: &str) -> KeyValues {
        let account = match self.job.partitioning {
            PartitionLayout::Seed => None,
            PartitionLayout::Account => agsl_formats::account_from_key(key)
                .or(self.job.account_id.as_deref())
                .map(Arc::from),
        };
        KeyValues {
            account,
            region: self.format.region_from_key(key).map(Arc::from),
            key_day: crate::window::key_day(key),
        }
    }

    /// Converts objects until none are left. `Ok(None)` when another worker failed first.
    /// The worker parses on its own thread and encodes Parquet on a writer thread of its own,
    /// so parsing and encoding overlap (as decompression does, see `ReadAhead`).
    fn worker(&self, worker: usize) -> Result<Option<WorkerOutput>> {
        let name = format!("part-{}-{worker:02}", self.run_name);
        let writer = PartitionWriter::new(
            self.root,
            self.format,
            TablePartitioning::of(self.format, self.job.partitioning),
            self.job.writer.clone(),
            name.clone(),
        )?;
        let (batches, requests) = sync_channel::<WriteRequest>(BATCHES_IN_FLIGHT);
        std::thread::scope(|scope| {
            let encoder = std::thread::Builder::new()
                .name(format!("agsl-writer-{worker}"))
                .spawn_scoped(scope, || self.encode(writer, requests))
                .map_err(|e| SinkError::io(self.root, e))?;
            let parsed = self.parse(&name, batches);
            let written = encoder.join().unwrap_or_else(|_| {
                Err(SinkError::io(
                    self.root,
                    std::io::Error::other("writer thread panicked"),
                ))
            });
            match (parsed, written) {
                // The writer's own error is the cause when both sides stopped.
                (_, Err(error)) => Err(error.into()),
                (Err(error), _) => Err(error),
                (Ok(None), _) => Ok(None),
                (Ok(Some(parsed)), Ok((files, encode_cpu))) => Ok(Some(WorkerOutput {
                    cpu: StageCpu {
                        decompress: parsed.decompress_cpu.as_secs_f64(),
                        parse: parsed.parse_cpu.as_secs_f64(),
                        encode: encode_cpu.as_secs_f64(),
                    },
                    counts: parsed.counts,
                    excluded_rows: parsed.excluded_rows,
                    excluded_rejects: parsed.excluded_rejects,
                    files,
                    rejects_file: parsed.rejects_file,
                    reject_reasons: parsed.reject_reasons,
                    archived: parsed.archived,
                })),
            }
        })
    }

    /// The writer thread: encodes every batch it receives, then closes its files, or drops its
    /// partial files when the run failed. Returns the files and the thread's CPU time.
    fn encode(
        &self,
        mut writer: PartitionWriter,
        requests: Receiver<WriteRequest>,
    ) -> Result<(Vec<WrittenFile>, Duration), SinkError> {
        for request in requests {
            if let Err(error) = writer.write(&request.batch, &request.key_values, &request.url) {
                self.failed.store(true, Ordering::Relaxed);
                writer.abort();
                return Err(error);
            }
        }
        if self.failed.load(Ordering::Relaxed) {
            writer.abort();
            return Ok((Vec::new(), Duration::ZERO));
        }
        let files = writer.finish()?;
        Ok((files, cpu::thread_cpu()))
    }

    /// The parsing side of a worker: takes objects until none are left, sending batches to the
    /// writer thread and writing rejects itself.
    fn parse(&self, name: &str, batches: SyncSender<WriteRequest>) -> Result<Option<ParseOutput>> {
        let started = cpu::thread_cpu();
        cpu::take_helpers();
        let mut rejects = RejectsWriter::new(
            self.root,
            format!("{name}.parquet"),
            self.job.writer.clone(),
        );
        let mut counts = DecodeCounts::default();
        let (mut excluded_rows, mut excluded_rejects) = (0, 0);
        let mut archived = Vec::new();
        let mut decoder = batch_decoder(self.format, self.job.batch_size);
        loop {
            if self.failed.load(Ordering::Relaxed) {
                rejects.abort();
                return Ok(None);
            }
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(task) = self.tasks.get(index) else {
                break;
            };
            let mut sinks = ObjectSinks {
                batches: &batches,
                rejects: &mut rejects,
                key_values: self.key_values(&task.key),
                url: Arc::from(self.source.url(&task.key)),
                todo: &task.todo,
                first_pass: task.first_pass,
                time_column: self.time_column,
                excluded_rows: 0,
                excluded_rejects: 0,
                progress: self.progress,
            };
            match self.convert_object(index, task, decoder.as_mut(), &mut sinks, &mut counts) {
                Ok(Outcome::Converted) => {
                    excluded_rows += sinks.excluded_rows;
                    excluded_rejects += sinks.excluded_rejects;
                }
                Ok(Outcome::Archived) => archived.push(task.key.clone()),
                Err(error) => {
                    self.failed.store(true, Ordering::Relaxed);
                    rejects.abort();
                    return Err(error);
                }
            }
            self.progress.objects_done.fetch_add(1, Ordering::Relaxed);
        }
        let reject_reasons = rejects.take_reasons();
        let rejects_file = rejects.finish()?;
        Ok(Some(ParseOutput {
            counts,
            excluded_rows,
            excluded_rejects,
            rejects_file,
            reject_reasons,
            archived,
            parse_cpu: cpu::thread_cpu().saturating_sub(started),
            decompress_cpu: cpu::take_helpers(),
        }))
    }

    fn convert_object(
        &self,
        index: usize,
        task: &ObjectTask,
        decoder: &mut dyn agsl_formats::ObjectDecoder,
        sinks: &mut ObjectSinks<'_>,
        counts: &mut DecodeCounts,
    ) -> Result<Outcome> {
        // S3 refuses the read of an archived object before any byte of it arrives.
        let fetched = self.prefetch.as_ref().map(|prefetch| (prefetch, index));
        let opened = self
            .source
            .read_listed(&task.key, task.size, fetched)
            .and_then(|stored| {
                let raw = CountingReader::new(stored, self.progress.source_bytes_read.clone());
                open_decompressed(raw).map_err(|source| {
                    Error::from(SourceError::Read {
                        key: task.key.clone(),
                        source,
                    })
                })
            });
        let mut input = match opened {
            Ok(input) => input,
            Err(error) if self.job.skip_archived && error.is_archived() => {
                return Ok(Outcome::Archived);
            }
            Err(error) => return Err(error),
        };
        let mut object_counts = DecodeCounts::default();
        decode_keeping_damage(decoder, &task.key, &mut input, sinks, &mut object_counts)
            .map_err(|error| object_failure(&task.key, error))?;
        counts.add(&object_counts);
        Ok(Outcome::Converted)
    }
}

/// Why [`ObjectSinks`] refused a batch or a reject. The decoder hands it back inside
/// [`DecodeError::Output`], where [`object_failure`] takes it out by its type: the sinks keep
/// no error of their own for the run to look up afterwards.
#[derive(Debug, thiserror::Error)]
enum SinkRefusal {
    /// The writer thread stopped taking batches; its own error is the run's (see
    /// [`Run::worker`]).
    #[error("the writer thread stopped")]
    WriterStopped,
    #[error(transparent)]
    Rejects(#[from] SinkError),
}

/// The run's error for an object whose decode failed: the sinks' own refusal as it was, any
/// other failure as [`decode_failure`] reports it.
fn object_failure(key: &str, error: DecodeError) -> Error {
    let DecodeError::Output(output) = error else {
        return decode_failure(key, error);
    };
    match output.downcast::<SinkRefusal>() {
        Ok(refusal) => match *refusal {
            SinkRefusal::WriterStopped => Error::Internal("the writer thread stopped".into()),
            SinkRefusal::Rejects(error) => error.into(),
        },
        Err(other) => decode_failure(key, DecodeError::Output(other)),
    }
}

/// Receives one object's batches (kept to the object's window, passed on to the writer
/// thread) and rejects (written here on the object's first pass).
struct ObjectSinks<'a> {
    batches: &'a SyncSender<WriteRequest>,
    rejects: &'a mut RejectsWriter,
    key_values: KeyValues,
    url: Arc<str>,
    todo: &'a Spans,
    first_pass: bool,
    time_column: usize,
    excluded_rows: u64,
    excluded_rejects: u64,
    progress: &'a Progress,
}

impl ObjectSinks<'_> {
    /// The rows of `batch` in the object's window. Rows without an event time go with the
    /// first pass, like rejects.
    fn in_window(&mut self, batch: RecordBatch) -> std::result::Result<RecordBatch, DecodeError> {
        let kept = self
            .todo
            .rows_within(&batch, self.time_column, self.first_pass)
            .map_err(|e| DecodeError::Output(e.to_string().into()))?;
        self.excluded_rows += (batch.num_rows() - kept.num_rows()) as u64;
        Ok(kept)
    }
}

impl DecodeOutput for ObjectSinks<'_> {
    fn batch(&mut self, batch: RecordBatch) -> std::result::Result<(), DecodeError> {
        let batch = self.in_window(batch)?;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.progress
            .rows
            .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        let request = WriteRequest {
            batch,
            key_values: self.key_values.clone(),
            url: self.url.clone(),
        };
        self.batches
            .send(request)
            .map_err(|_| DecodeError::Output(Box::new(SinkRefusal::WriterStopped)))
    }

    fn reject(&mut self, reject: Reject<'_>) -> std::result::Result<(), DecodeError> {
        if !self.first_pass {
            // An earlier run of this object wrote its rejects already.
            self.excluded_rejects += 1;
            return Ok(());
        }
        self.progress.rejects.fetch_add(1, Ordering::Relaxed);
        self.rejects
            .write(&self.url, &reject)
            .map_err(|error| DecodeError::Output(Box::new(SinkRefusal::from(error))))
    }
}
