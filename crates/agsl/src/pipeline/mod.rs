//! One conversion run: lock the target, recover what an interrupted run left, plan the work
//! against the ledger, then convert it in commits of bounded size. Each commit's files are
//! staged under `<target>/_agsl/staging/`, its record is appended to the commit log with a
//! conditional create, and only then are its files moved into the partition folders; see
//! [`crate::state`]. A run killed at any instant is redone from its last commit by the next run,
//! so every source line lands in the table exactly once and readers never see staged files.

mod job;
mod plan;
mod record;
mod reprocess;
mod tables;
mod worker;

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use agsl_formats::Format;

pub use job::{
    ConvertJob, DEFAULT_BATCH_SIZE, DEFAULT_COMMIT_BYTES, DEFAULT_LOCK_STALE_AFTER, InvalidJob,
    JobSpec, parse_size,
};
pub use plan::ALREADY_CONVERTED;
use plan::ObjectTask;
pub(crate) use plan::plan_listing;
pub use tables::table_ddl;
pub(crate) use tables::{open_catalog, service_tables};

use crate::catalog::CatalogSummary;
use crate::error::{Result, SinkError};
use crate::faults::crash_point;
use crate::sink::{PartitionLayout, TablePartitioning, WrittenFile, is_rejects_file};
use crate::source::Source;
use crate::state::{
    Commit, CommitLog, CommittedFile, Coverage, FileEntry, Ledger, RunOutcome, RunRecord,
    STAGING_DIR, SourceRows, TargetLock,
};
use crate::storage::{Location, Store, join_key, location_url};

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

/// An object a dry run would convert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedObject {
    pub service: Format,
    pub url: String,
    pub size: u64,
}

/// The outcome of a run, printed as the closing summary line and as `--json`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSummary {
    pub service: String,
    /// Objects converted (skipped ones excluded).
    pub objects: u64,
    pub skipped_objects: u64,
    /// Why objects were skipped, with counts (`already converted` among them).
    pub skipped_reasons: BTreeMap<String, u64>,
    /// Data lines read; `rows + rejects + excluded == lines`.
    pub lines: u64,
    pub rows: u64,
    pub rejects: u64,
    /// Rejects by kind of reason ([`crate::sink::reason_kind`]).
    pub reject_reasons: BTreeMap<String, u64>,
    /// Lines read but not written: records outside the window or converted by an earlier run,
    /// and rejects an earlier run already wrote.
    pub excluded: u64,
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
    /// Commits appended to the target's log.
    pub commits: u64,
    /// With `--reprocess`: committed files replaced.
    pub replaced_files: u64,
    pub seconds: f64,
    /// With `--dry-run`: what would be converted (nothing was).
    pub dry_run: bool,
    pub planned: Vec<PlannedObject>,
    /// With `--service auto`: one summary per service found; empty otherwise.
    pub services: Vec<RunSummary>,
    /// What the catalog update changed (`None` without a catalog, and in dry runs).
    pub catalog: Option<CatalogSummary>,
    /// The newest event time (UTC microseconds) the table holds after the run, for lag.
    pub newest_event: Option<i64>,
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

/// Converts what is new in `job.source` (or the window's objects) into `job.target`,
/// exactly once. With no format (`--service auto`) each object's service is detected (key
/// layout first, then the first line) and each service gets its own table,
/// `job.target/<table name>`; the summary then totals the run and lists one per service.
pub fn convert(job: &ConvertJob, progress: &Progress) -> Result<RunSummary> {
    job.validate().map_err(crate::Error::InvalidJob)?;
    let started = Instant::now();
    let run = run_id();
    let source = Source::open(&job.source, &job.storage)?;
    if job.dry_run {
        let ledger = match &job.target {
            // A dry run does not even create the target folder.
            Location::Local(path) if !path.exists() => Default::default(),
            _ => CommitLog::read(&Store::open(&job.target, &job.storage)?)?
                .0
                .into_ledger(),
        };
        check_layout(job, &ledger)?;
        let plan = plan::plan(job, &source, &ledger)?;
        return Ok(dry_run_summary(job, &source, &plan, started));
    }
    let target = Store::open(&job.target, &job.storage)?;
    let lock = TargetLock::acquire(&target, &run, job.lock_stale_after)?;
    let mut record = RunRecord::started(&run, &job_service(job), unix_seconds());
    record::keep(&target, &record);
    let result = convert_locked(job, &source, &target, &lock, &run, progress, started);
    match &result {
        Ok(summary) => record::finish(&mut record, summary),
        Err(error) => {
            record.outcome = RunOutcome::Failed;
            record.error = Some(error.to_string());
        }
    }
    record.finished_at = Some(unix_seconds());
    record::keep(&target, &record);
    drop(lock);
    result
}

/// The job's service keyword, or `auto`.
fn job_service(job: &ConvertJob) -> String {
    job.format.map_or("auto".to_owned(), |f| f.to_string())
}

/// The run once the target's lock is held.
fn convert_locked(
    job: &ConvertJob,
    source: &Source,
    target: &Store,
    lock: &TargetLock,
    run: &str,
    progress: &Progress,
    started: Instant,
) -> Result<RunSummary> {
    let mut log = CommitLog::recover(target)?;
    crate::spool::remove_abandoned();
    check_layout(job, log.ledger())?;
    let mut plan = plan::plan(job, source, log.ledger())?;
    let (count, bytes) = plan.tasks().fold((0, 0), |(n, b), t| (n + 1, b + t.size));
    progress.objects_total.store(count, Ordering::Relaxed);
    progress.source_bytes_total.store(bytes, Ordering::Relaxed);
    tracing::info!(
        service = job.format.map_or("auto".to_owned(), |f| f.to_string()),
        objects = count,
        skipped = plan.skipped,
        megabytes = bytes as f64 / 1e6,
        "converting"
    );
    let committer = Committer {
        job,
        target,
        lock,
        run,
    };
    let mut replaced_files = 0;
    if !plan.uncover.is_empty() {
        replaced_files = reprocess::take_back(&committer, &mut log, &plan.uncover)?;
    }
    let mut services = Vec::new();
    let mut converted = BTreeSet::new();
    // Taken by value: each commit's tasks are freed once committed, as the ledger grows.
    for (format, tasks) in std::mem::take(&mut plan.groups) {
        let mut summary = committer.convert_service(format, source, tasks, &mut log, progress)?;
        summary.newest_event = newest_event(log.ledger(), &summary.service);
        if summary.objects > 0 {
            converted.insert(format);
        }
        services.push(summary);
    }
    if plan.listed_through > log.ledger().listed_through {
        committer.commit(
            &mut log,
            Commit {
                run: run.to_owned(),
                committed_at: unix_seconds(),
                listed_through: plan.listed_through,
                ..Commit::default()
            },
        )?;
    }
    let catalog = tables::update_catalog(job, source, target, log.ledger(), run, &converted)?;
    let mut summary = match job.format {
        Some(format) => services.pop().unwrap_or_else(|| RunSummary {
            service: format.to_string(),
            newest_event: newest_event(log.ledger(), &format.to_string()),
            ..RunSummary::default()
        }),
        None => total(services),
    };
    summary.commits += u64::from(replaced_files > 0);
    summary.replaced_files = replaced_files;
    summary.skipped_objects = plan.skipped;
    summary.skipped_reasons = plan.skipped_reasons;
    summary.catalog = catalog;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The newest event time among the committed table files of `service`.
fn newest_event(ledger: &Ledger, service: &str) -> Option<i64> {
    ledger
        .files
        .values()
        .filter(|f| f.service == service)
        .filter_map(|f| f.newest_event)
        .max()
}

/// Refuses a partition layout other than the one the target's committed files have: readers
/// would see two layouts mixed. Every run checks, so one file tells the target's layout.
fn check_layout(job: &ConvertJob, ledger: &Ledger) -> Result<()> {
    let Some((layout, path)) = committed_layout(job, ledger) else {
        return Ok(());
    };
    if layout == job.partitioning {
        return Ok(());
    }
    Err(crate::Error::InvalidJob(format!(
        "target `{}` holds tables in the {layout} partitioning (e.g. `{path}`), not {}; keep \
         --partitioning {layout}, or convert into a new target",
        job.target, job.partitioning
    )))
}

/// The partition layout of the target's committed table files, with one of them as example.
pub(crate) fn committed_layout<'a>(
    job: &ConvertJob,
    ledger: &'a Ledger,
) -> Option<(PartitionLayout, &'a str)> {
    let path = ledger.files.keys().find(|p| !is_rejects_file(p))?;
    let in_table = match job.format {
        Some(_) => path.as_str(),
        None => path.split_once('/').map_or(path.as_str(), |(_, rest)| rest),
    };
    Some((TablePartitioning::layout_of(in_table), path))
}

fn dry_run_summary(
    job: &ConvertJob,
    source: &Source,
    plan: &plan::Plan,
    started: Instant,
) -> RunSummary {
    let planned: Vec<PlannedObject> = plan
        .groups
        .iter()
        .flat_map(|(format, tasks)| {
            tasks.iter().map(|t| PlannedObject {
                service: *format,
                url: source.url(&t.key),
                size: t.size,
            })
        })
        .collect();
    RunSummary {
        service: job.format.map_or("auto".to_owned(), |f| f.to_string()),
        objects: planned.len() as u64,
        source_bytes: planned.iter().map(|p| p.size).sum(),
        skipped_objects: plan.skipped,
        skipped_reasons: plan.skipped_reasons.clone(),
        seconds: started.elapsed().as_secs_f64(),
        dry_run: true,
        planned,
        ..RunSummary::default()
    }
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
        crate::counts::add_all(&mut total.reject_reasons, &s.reject_reasons);
        total.excluded += s.excluded;
        total.skipped_lines += s.skipped_lines;
        total.bytes_in += s.bytes_in;
        total.source_bytes += s.source_bytes;
        total.bytes_out += s.bytes_out;
        total.files += s.files;
        total.commits += s.commits;
        total.newest_event = total.newest_event.max(s.newest_event);
        let table = s.service.parse::<Format>().map_or("", Format::table_name);
        total
            .partitions
            .extend(s.partitions.iter().map(|p| format!("{table}/{p}")));
    }
    total.services = services;
    total
}

/// Stages, commits and publishes the work of one run.
struct Committer<'a> {
    job: &'a ConvertJob,
    target: &'a Store,
    lock: &'a TargetLock,
    run: &'a str,
}

/// Where one commit's files are written before they are committed: straight into the target's
/// staging folder when the target is local; a local spool folder, uploaded to the staging
/// prefix, when it is S3.
struct Staging {
    local: PathBuf,
    prefix: String,
    upload: bool,
}

impl Committer<'_> {
    fn staging(&self, name: &str) -> Staging {
        let prefix = join_key(STAGING_DIR, name);
        match self.target.location() {
            Location::Local(root) => Staging {
                local: root.join(&prefix),
                prefix,
                upload: false,
            },
            Location::S3 { .. } => Staging {
                local: crate::spool::folder(name),
                prefix,
                upload: true,
            },
        }
    }

    /// The URL of the folder that gets `table`'s rejects, when they have a location of their
    /// own (`table` is empty for a one-service run).
    fn rejects_folder(&self, table: &str) -> Option<String> {
        let rejects = self.job.rejects.as_ref()?;
        let folder = if table.is_empty() {
            rejects.clone()
        } else {
            rejects.join(table)
        };
        Some(location_url(&folder))
    }

    /// Stages written files (uploading them if the target is remote) as files of a commit.
    /// With `published_to` (a folder's URL) they are published there instead of in the target.
    fn stage(
        &self,
        staging: &Staging,
        service: &str,
        files: &[WrittenFile],
        published_to: Option<&str>,
    ) -> Result<Vec<CommittedFile>> {
        let mut committed = Vec::with_capacity(files.len());
        for file in files {
            let relative = relative_key(&staging.local, &file.path)?;
            let staged = join_key(&staging.prefix, &relative);
            let published = match published_to {
                Some(folder) => {
                    let name = relative.rsplit('/').next().unwrap_or(&relative);
                    format!("{}/{name}", folder.trim_end_matches('/'))
                }
                None => relative,
            };
            if staging.upload {
                self.target.upload(&file.path, &staged)?;
                std::fs::remove_file(&file.path).map_err(|e| SinkError::io(&file.path, e))?;
            }
            committed.push(CommittedFile {
                path: published,
                staged,
                entry: FileEntry {
                    service: service.to_owned(),
                    rows: file.rows,
                    bytes: file.bytes,
                    sources: SourceRows::counted(file.sources.clone()),
                    newest_event: file.newest_event,
                },
            });
        }
        Ok(committed)
    }

    /// Appends a commit, once this run is sure it still holds the lock.
    fn commit(&self, log: &mut CommitLog, commit: Commit) -> Result<u64> {
        self.lock.check()?;
        Ok(log.commit(commit)?)
    }

    /// Converts one service's objects in commits of about `job.commit_bytes` stored bytes.
    fn convert_service(
        &self,
        format: Format,
        source: &Source,
        tasks: Vec<ObjectTask>,
        log: &mut CommitLog,
        progress: &Progress,
    ) -> Result<RunSummary> {
        let started = Instant::now();
        let parser = format.parser();
        let table = match self.job.format {
            Some(_) => String::new(),
            None => format.table_name().to_owned(),
        };
        let mut summary = RunSummary {
            service: format.to_string(),
            ..RunSummary::default()
        };
        for (index, batch) in CommitBatches::new(tasks, self.job.commit_bytes).enumerate() {
            let name = format!("{}-{format}-{index:04}", self.run);
            let staging = self.staging(&name);
            let root = staging.local.join(&table);
            let output =
                worker::convert_batch(self.job, parser, source, &batch, &root, &name, progress)?;
            crash_point("batch-written");
            let service = format.to_string();
            let mut added = self.stage(&staging, &service, &output.files, None)?;
            let rejects_folder = self.rejects_folder(&table);
            added.extend(self.stage(
                &staging,
                &service,
                &output.rejects_files,
                rejects_folder.as_deref(),
            )?);
            if staging.upload {
                let _ = std::fs::remove_dir_all(&staging.local);
            }
            for file in output.files.iter().chain(&output.rejects_files) {
                summary.bytes_out += file.bytes;
                summary.files += 1;
            }
            for file in &added {
                if let Some(partition) = partition_of(&table, &file.path) {
                    summary.partitions.insert(partition);
                }
            }
            let covered = batch
                .iter()
                .map(|t| Coverage {
                    url: source.url(&t.key),
                    size: t.size,
                    spans: t.todo.clone(),
                })
                .collect();
            self.commit(
                log,
                Commit {
                    run: self.run.to_owned(),
                    committed_at: unix_seconds(),
                    covered,
                    added,
                    ..Commit::default()
                },
            )?;
            summary.commits += 1;
            let counts = &output.counts;
            summary.objects += batch.len() as u64;
            summary.lines += counts.lines;
            summary.rows += counts.rows - output.excluded_rows;
            summary.rejects += counts.rejects - output.excluded_rejects;
            crate::counts::add_all(&mut summary.reject_reasons, &output.reject_reasons);
            summary.excluded += output.excluded_rows + output.excluded_rejects;
            summary.skipped_lines += counts.skipped_lines;
            summary.bytes_in += counts.bytes;
            summary.source_bytes += batch.iter().map(|t| t.size).sum::<u64>();
        }
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }
}

/// Objects per commit at most, however small: a commit's record names each of its objects, so
/// a million tiny (or empty) objects make many records of bounded size, not one of 150 MB.
pub const MAX_COMMIT_OBJECTS: usize = 50_000;

/// The tasks of one service in commits, in order: consecutive runs of at least `bytes` stored
/// bytes each (the last may be smaller) and of at most [`MAX_COMMIT_OBJECTS`] tasks. Each
/// batch is handed out by value and the tasks left are shrunk as they halve, so a plan of a
/// million objects gives its memory back while the ledger fills up, instead of holding both.
struct CommitBatches {
    /// The tasks not handed out yet, last first (batches are split off the end).
    rest: Vec<ObjectTask>,
    bytes: u64,
}

impl CommitBatches {
    fn new(mut tasks: Vec<ObjectTask>, bytes: u64) -> Self {
        tasks.reverse();
        Self { rest: tasks, bytes }
    }
}

impl Iterator for CommitBatches {
    type Item = Vec<ObjectTask>;

    fn next(&mut self) -> Option<Vec<ObjectTask>> {
        let mut size = 0;
        let mut count = 0;
        for task in self.rest.iter().rev().take(MAX_COMMIT_OBJECTS) {
            if count > 0 && size >= self.bytes {
                break;
            }
            size += task.size;
            count += 1;
        }
        if count == 0 {
            return None;
        }
        let mut batch = self.rest.split_off(self.rest.len() - count);
        batch.reverse();
        if self.rest.capacity() > 2 * self.rest.len() {
            self.rest.shrink_to_fit();
        }
        Some(batch)
    }
}

/// `/`-separated path of `file` below `root`.
fn relative_key(root: &Path, file: &Path) -> Result<String> {
    let relative = file.strip_prefix(root).map_err(|_| {
        crate::Error::Internal(format!(
            "`{}` was written outside its staging folder",
            file.display()
        ))
    })?;
    Ok(relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/"))
}

/// The partition (`region=…/year=…/month=…/day=…`) of a table file, `None` for rejects.
fn partition_of(table: &str, path: &str) -> Option<String> {
    if is_rejects_file(path) {
        return None;
    }
    let in_table = path.strip_prefix(table)?.trim_start_matches('/');
    let (partition, _) = in_table.rsplit_once('/')?;
    Some(partition.to_owned())
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Runs are named by their UTC start time and a random suffix, so their files never clash.
fn run_id() -> String {
    let now = unix_seconds() as i64;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_are_bounded_by_bytes_and_by_objects() {
        let task = |size| ObjectTask {
            key: "k".into(),
            size,
            todo: crate::window::Spans::everything(),
            first_pass: true,
        };
        let sized: Vec<ObjectTask> = (0..10).map(|i| task(40 + i)).collect();
        let batches: Vec<Vec<u64>> = CommitBatches::new(sized, 100)
            .map(|batch| batch.iter().map(|t| t.size).collect())
            .collect();
        assert_eq!(
            batches,
            [
                vec![40, 41, 42],
                vec![43, 44, 45],
                vec![46, 47, 48],
                vec![49]
            ],
            "in plan order"
        );
        let empty: Vec<ObjectTask> = (0..MAX_COMMIT_OBJECTS * 2 + 1).map(|_| task(0)).collect();
        let mut batches = CommitBatches::new(empty, 100);
        assert_eq!(batches.next().map(|b| b.len()), Some(MAX_COMMIT_OBJECTS));
        assert_eq!(batches.next().map(|b| b.len()), Some(MAX_COMMIT_OBJECTS));
        assert!(
            batches.rest.capacity() < MAX_COMMIT_OBJECTS,
            "what is handed out is given back"
        );
        let lengths: Vec<usize> = batches.map(|b| b.len()).collect();
        assert_eq!(lengths, [1]);
    }
}
