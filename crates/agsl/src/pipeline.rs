//! One conversion run: list the source, route each object by key, then let every worker take
//! whole objects (open, decompress, decode, partition, encode) until none are left. Workers own
//! their writers, so the two cores never wait on each other; memory is bounded per worker.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use agsl_formats::detect::{self as detection, KeyDetection};
use agsl_formats::{DecodeCounts, DecodeError, DecodeOutput, Format, LogFormat, Reject, Route};
use arrow_array::RecordBatch;

use crate::error::{Error, Result, SinkError, SourceError};
use crate::sink::{PartitionWriter, RejectsWriter, WriterOptions, WrittenFile};
use crate::source::{CountingReader, LocalSource, SourceObject, open_decompressed};

/// Rows per Arrow batch handed from a decoder to the writer.
pub const DEFAULT_BATCH_SIZE: usize = 8192;

/// What to convert, from where, to where, and how.
#[derive(Debug, Clone)]
pub struct ConvertJob {
    /// The service to convert; `None` detects it per object (`--service auto`).
    pub format: Option<Format>,
    pub source: PathBuf,
    pub target: PathBuf,
    /// Objects converted at once; defaults to the number of cores.
    pub workers: usize,
    pub batch_size: usize,
    pub writer: WriterOptions,
}

impl ConvertJob {
    pub fn new(
        format: impl Into<Option<Format>>,
        source: impl Into<PathBuf>,
        target: impl Into<PathBuf>,
    ) -> Self {
        Self {
            format: format.into(),
            source: source.into(),
            target: target.into(),
            workers: std::thread::available_parallelism().map_or(2, usize::from),
            batch_size: DEFAULT_BATCH_SIZE,
            writer: WriterOptions::default(),
        }
    }

    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    pub fn with_writer_options(mut self, writer: WriterOptions) -> Self {
        self.writer = writer;
        self
    }
}

/// Live counters of a run, read by progress displays from another thread.
#[derive(Debug, Default)]
pub struct Progress {
    pub objects_total: AtomicU64,
    pub objects_done: AtomicU64,
    /// Stored (compressed) bytes of the objects to convert, and how many were read so far.
    pub source_bytes_total: AtomicU64,
    pub source_bytes_read: Arc<AtomicU64>,
    pub rows: AtomicU64,
    pub rejects: AtomicU64,
}

/// The outcome of a run, printed as the closing summary line and as `--json`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSummary {
    pub service: String,
    /// Objects converted (skipped ones excluded).
    pub objects: u64,
    pub skipped_objects: u64,
    /// Why objects were skipped, with counts.
    pub skipped_reasons: BTreeMap<String, u64>,
    /// Data lines read; `rows + rejects == lines`.
    pub lines: u64,
    pub rows: u64,
    pub rejects: u64,
    /// Header, comment and blank lines (not data).
    pub skipped_lines: u64,
    /// Decompressed bytes read.
    pub bytes_in: u64,
    /// Stored bytes read (compressed size of the converted objects).
    pub source_bytes: u64,
    /// Parquet bytes written, table and rejects.
    pub bytes_out: u64,
    pub files: u64,
    pub partitions: BTreeSet<String>,
    pub seconds: f64,
    /// With `--service auto`: one summary per service found; empty otherwise.
    pub services: Vec<RunSummary>,
}

impl RunSummary {
    /// Decompressed input throughput in MB/s (10^6 bytes).
    pub fn megabytes_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.bytes_in as f64 / 1e6 / self.seconds
        } else {
            0.0
        }
    }
}

/// Converts the objects of `job.source` that belong to `job.format` into `job.target`. With no
/// format (`--service auto`) each object's service is detected (key layout first, then the
/// first line) and each service gets its own table, `job.target/<table name>`; the summary then
/// totals the run and lists one summary per service in `services`.
pub fn convert(job: &ConvertJob, progress: &Progress) -> Result<RunSummary> {
    let started = Instant::now();
    let source = LocalSource::new(&job.source)?;
    prepare_target(&job.target)?;
    let routed = route_objects(job.format, &source)?;
    let all = routed.groups.values().flatten();
    let (count, bytes) = all.fold((0, 0), |(n, b), o| (n + 1, b + o.size));
    progress.objects_total.store(count, Ordering::Relaxed);
    progress.source_bytes_total.store(bytes, Ordering::Relaxed);
    tracing::info!(
        service = job.format.map_or("auto".to_owned(), |f| f.to_string()),
        objects = count,
        skipped = routed.skipped,
        megabytes = bytes as f64 / 1e6,
        "converting"
    );

    let mut services = Vec::new();
    for (format, objects) in &routed.groups {
        let target = match job.format {
            Some(_) => job.target.clone(),
            None => job.target.join(format.table_name()),
        };
        services.push(convert_objects(
            job, *format, &source, objects, &target, progress,
        )?);
    }
    let mut summary = match job.format {
        Some(format) => services.pop().unwrap_or_else(|| RunSummary {
            service: format.to_string(),
            ..RunSummary::default()
        }),
        None => total(services),
    };
    summary.skipped_objects = routed.skipped;
    summary.skipped_reasons = routed.skipped_reasons;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The run total over per-service summaries, partitions prefixed with each table's folder.
fn total(services: Vec<RunSummary>) -> RunSummary {
    let mut total = RunSummary {
        service: "auto".to_owned(),
        ..RunSummary::default()
    };
    for s in &services {
        total.objects += s.objects;
        total.lines += s.lines;
        total.rows += s.rows;
        total.rejects += s.rejects;
        total.skipped_lines += s.skipped_lines;
        total.bytes_in += s.bytes_in;
        total.source_bytes += s.source_bytes;
        total.bytes_out += s.bytes_out;
        total.files += s.files;
        let table = s.service.parse::<Format>().map_or("", Format::table_name);
        total
            .partitions
            .extend(s.partitions.iter().map(|p| format!("{table}/{p}")));
    }
    total.services = services;
    total
}

/// Objects grouped by the format that converts them, and what was skipped.
#[derive(Default)]
struct Routed {
    groups: BTreeMap<Format, Vec<SourceObject>>,
    skipped: u64,
    skipped_reasons: BTreeMap<String, u64>,
}

fn route_objects(service: Option<Format>, source: &LocalSource) -> Result<Routed> {
    let mut routed = Routed::default();
    let parser = service.map(Format::parser);
    for object in source.list()? {
        let route = match &parser {
            Some(parser) => match parser.route(&object.key) {
                Route::Convert => Ok(parser.format()),
                Route::Skip(reason) => Err(reason),
            },
            None => detect(source, &object.key),
        };
        match route {
            Ok(format) => routed.groups.entry(format).or_default().push(object),
            Err(reason) => {
                tracing::debug!(key = %object.key, reason, "skipping object");
                routed.skipped += 1;
                *routed.skipped_reasons.entry(reason.to_owned()).or_default() += 1;
            }
        }
    }
    Ok(routed)
}

/// Bytes of the first line read to recognise content whose key says nothing.
const DETECTION_BYTES: u64 = 64 * 1024;

/// The service of one object for `--service auto`, or why it is skipped.
fn detect(source: &LocalSource, key: &str) -> std::result::Result<Format, &'static str> {
    match detection::detect_from_key(key) {
        KeyDetection::Format(format) => return Ok(format),
        KeyDetection::Skip(reason) => return Err(reason),
        KeyDetection::Unknown => {}
    }
    let mut line = Vec::new();
    let read = source
        .open(key)
        .ok()
        .and_then(|file| open_decompressed(file).ok())
        .and_then(|mut input| {
            (&mut input)
                .take(DETECTION_BYTES)
                .read_until(b'\n', &mut line)
                .ok()
        });
    read.and_then(|_| detection::format_from_first_line(&line))
        .ok_or("content of no known service")
}

/// Converts already routed `objects` of one format into the table at `target`.
fn convert_objects(
    job: &ConvertJob,
    format: Format,
    source: &LocalSource,
    objects: &[SourceObject],
    target: &Path,
    progress: &Progress,
) -> Result<RunSummary> {
    let started = Instant::now();
    let parser = format.parser();
    let mut summary = RunSummary {
        service: format.to_string(),
        ..RunSummary::default()
    };
    let run = Run {
        job,
        format: parser.as_ref(),
        source,
        objects,
        target,
        progress,
        next: AtomicUsize::new(0),
        failed: AtomicBool::new(false),
        run_id: run_id(),
    };
    let workers = job.workers.clamp(1, objects.len().max(1));
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

    let mut counts = DecodeCounts::default();
    for result in results {
        let Some(output) = result? else { continue };
        counts.add(&output.counts);
        for file in output.files.iter().chain(&output.rejects_file) {
            summary.bytes_out += file.bytes;
            summary.files += 1;
        }
        for file in &output.files {
            if let Some(partition) = partition_of(target, &file.path) {
                summary.partitions.insert(partition);
            }
        }
    }
    if counts.rows + counts.rejects != counts.lines {
        return Err(Error::Internal(format!(
            "rows {} + rejects {} != lines {}",
            counts.rows, counts.rejects, counts.lines
        )));
    }
    summary.objects = objects.len() as u64;
    summary.lines = counts.lines;
    summary.rows = counts.rows;
    summary.rejects = counts.rejects;
    summary.skipped_lines = counts.skipped_lines;
    summary.bytes_in = counts.bytes;
    summary.source_bytes = objects.iter().map(|o| o.size).sum();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Creates the target folder and proves it is writable before any work starts.
fn prepare_target(target: &Path) -> Result<()> {
    std::fs::create_dir_all(target).map_err(|e| SinkError::io(target, e))?;
    let probe = target.join(".agsl-write-probe");
    std::fs::write(&probe, b"").map_err(|e| SinkError::io(target, e))?;
    std::fs::remove_file(&probe).map_err(|e| SinkError::io(&probe, e))?;
    Ok(())
}

/// `part-` file names carry the run's UTC start time and a random suffix, so runs never clash.
fn run_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let (year, month, day) = agsl_formats::time::civil_from_days(now.div_euclid(86_400));
    let second = now.rem_euclid(86_400);
    let random = RandomState::new().hash_one(std::process::id()) as u32;
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z-{random:08x}",
        second / 3600,
        second / 60 % 60,
        second % 60
    )
}

fn partition_of(root: &Path, file: &Path) -> Option<String> {
    let relative = file.parent()?.strip_prefix(root).ok()?;
    Some(relative.to_string_lossy().replace('\\', "/"))
}

struct WorkerOutput {
    counts: DecodeCounts,
    files: Vec<WrittenFile>,
    rejects_file: Option<WrittenFile>,
}

/// What a worker's parsing side produced; its writer thread reports the files.
struct ParseOutput {
    counts: DecodeCounts,
    rejects_file: Option<WrittenFile>,
}

/// A batch on its way from a worker's parser to the worker's writer thread.
struct WriteRequest {
    batch: RecordBatch,
    region: Option<Arc<str>>,
    url: Arc<str>,
}

/// Batches queued between a worker's parser and its writer: a little slack, bounded memory.
const BATCHES_IN_FLIGHT: usize = 2;

/// State shared by the workers of one run.
struct Run<'a> {
    job: &'a ConvertJob,
    format: &'a dyn LogFormat,
    source: &'a LocalSource,
    objects: &'a [SourceObject],
    /// The table folder this run writes.
    target: &'a Path,
    progress: &'a Progress,
    next: AtomicUsize,
    failed: AtomicBool,
    run_id: String,
}

impl Run<'_> {
    /// Converts objects until none are left. `Ok(None)` when another worker failed first.
    /// The worker parses on its own thread and encodes Parquet on a writer thread of its own,
    /// so parsing and encoding overlap (as decompression does, see `ReadAhead`).
    fn worker(&self, worker: usize) -> Result<Option<WorkerOutput>> {
        let name = format!("part-{}-{worker:02}", self.run_id);
        let writer = PartitionWriter::new(
            self.target,
            self.format,
            self.job.writer.clone(),
            name.clone(),
        )?;
        let (batches, requests) = sync_channel::<WriteRequest>(BATCHES_IN_FLIGHT);
        std::thread::scope(|scope| {
            let encoder = std::thread::Builder::new()
                .name(format!("agsl-writer-{worker}"))
                .spawn_scoped(scope, || self.encode(writer, requests))
                .map_err(|e| SinkError::io(self.target, e))?;
            let parsed = self.parse(&name, batches);
            let written = encoder.join().unwrap_or_else(|_| {
                Err(SinkError::io(
                    self.target,
                    std::io::Error::other("writer thread panicked"),
                ))
            });
            match (parsed, written) {
                // The writer's own error is the cause when both sides stopped.
                (_, Err(error)) => Err(error.into()),
                (Err(error), _) => Err(error),
                (Ok(None), _) => Ok(None),
                (Ok(Some(parsed)), Ok(files)) => Ok(Some(WorkerOutput {
                    counts: parsed.counts,
                    files,
                    rejects_file: parsed.rejects_file,
                })),
            }
        })
    }

    /// The writer thread: encodes every batch it receives, then commits, or drops its partial
    /// files when the run failed.
    fn encode(
        &self,
        mut writer: PartitionWriter,
        requests: Receiver<WriteRequest>,
    ) -> Result<Vec<WrittenFile>, SinkError> {
        for request in requests {
            if let Err(error) =
                writer.write(&request.batch, request.region.as_deref(), &request.url)
            {
                self.failed.store(true, Ordering::Relaxed);
                writer.abort();
                return Err(error);
            }
        }
        if self.failed.load(Ordering::Relaxed) {
            writer.abort();
            return Ok(Vec::new());
        }
        writer.finish()
    }

    /// The parsing side of a worker: takes objects until none are left, sending batches to the
    /// writer thread and writing rejects itself.
    fn parse(&self, name: &str, batches: SyncSender<WriteRequest>) -> Result<Option<ParseOutput>> {
        let mut rejects = RejectsWriter::new(
            self.target,
            format!("{name}.parquet"),
            self.job.writer.clone(),
        );
        let mut counts = DecodeCounts::default();
        let mut decoder = self.format.decoder(self.job.batch_size);
        loop {
            if self.failed.load(Ordering::Relaxed) {
                rejects.abort();
                return Ok(None);
            }
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(object) = self.objects.get(index) else {
                break;
            };
            let mut sinks = ObjectSinks {
                batches: &batches,
                rejects: &mut rejects,
                region: self.format.region_from_key(&object.key).map(Arc::from),
                url: Arc::from(self.source.url(&object.key)),
                progress: self.progress,
                writer_stopped: false,
                error: None,
            };
            if let Err(error) =
                self.convert_object(object, decoder.as_mut(), &mut sinks, &mut counts)
            {
                self.failed.store(true, Ordering::Relaxed);
                rejects.abort();
                return Err(error);
            }
            self.progress.objects_done.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Some(ParseOutput {
            counts,
            rejects_file: rejects.finish()?,
        }))
    }

    fn convert_object(
        &self,
        object: &SourceObject,
        decoder: &mut dyn agsl_formats::ObjectDecoder,
        sinks: &mut ObjectSinks<'_>,
        counts: &mut DecodeCounts,
    ) -> Result<()> {
        let read_error = |source| SourceError::Read {
            key: object.key.clone(),
            source,
        };
        let file = self.source.open(&object.key)?;
        let raw = CountingReader::new(file, self.progress.source_bytes_read.clone());
        let mut input = open_decompressed(raw).map_err(read_error)?;
        let mut object_counts = DecodeCounts::default();
        let result = decoder.decode(&mut input, sinks, &mut object_counts);
        if sinks.writer_stopped {
            // The writer thread failed; the worker reports the writer's error instead.
            return Err(Error::Internal("the writer thread stopped".into()));
        }
        if let Some(error) = sinks.error.take() {
            return Err(error.into());
        }
        match result {
            Ok(()) => {}
            // A corrupt or truncated compressed stream is bad data, not a failed run: the lines
            // before the damage are kept and the object gets one reject saying where it broke.
            Err(DecodeError::Read { line, source }) if is_corrupt_data(&source) => {
                tracing::warn!(key = %object.key, line, error = %source, "corrupt object");
                let reason = format!("corrupt compressed data after line {line}: {source}");
                // A failing sink records its error in `sinks.error`, checked below.
                let _ = sinks.reject(Reject {
                    line: line + 1,
                    reason: reason.into(),
                    raw: b"",
                });
                object_counts.lines += 1;
                object_counts.rejects += 1;
                if let Some(error) = sinks.error.take() {
                    return Err(error.into());
                }
            }
            Err(DecodeError::Read { source, .. }) => return Err(read_error(source).into()),
            Err(error) => {
                return Err(Error::Internal(format!(
                    "decoding `{}`: {error}",
                    object.key
                )));
            }
        }
        counts.add(&object_counts);
        Ok(())
    }
}

fn is_corrupt_data(error: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        error.kind(),
        ErrorKind::InvalidData | ErrorKind::InvalidInput | ErrorKind::UnexpectedEof
    )
}

/// Receives one object's batches (passed on to the writer thread) and rejects (written here);
/// keeps a sink's own error for the run to report.
struct ObjectSinks<'a> {
    batches: &'a SyncSender<WriteRequest>,
    rejects: &'a mut RejectsWriter,
    region: Option<Arc<str>>,
    url: Arc<str>,
    progress: &'a Progress,
    writer_stopped: bool,
    error: Option<SinkError>,
}

impl DecodeOutput for ObjectSinks<'_> {
    fn batch(&mut self, batch: RecordBatch) -> std::result::Result<(), DecodeError> {
        self.progress
            .rows
            .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        let request = WriteRequest {
            batch,
            region: self.region.clone(),
            url: self.url.clone(),
        };
        self.batches.send(request).map_err(|_| {
            self.writer_stopped = true;
            DecodeError::Output("the writer thread stopped".into())
        })
    }

    fn reject(&mut self, reject: Reject<'_>) -> std::result::Result<(), DecodeError> {
        self.progress.rejects.fetch_add(1, Ordering::Relaxed);
        self.rejects.write(&self.url, &reject).map_err(|error| {
            let message = error.to_string();
            self.error = Some(error);
            DecodeError::Output(message.into())
        })
    }
}
