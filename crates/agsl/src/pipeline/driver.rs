//! The driver of a run, in the steps a distributed engine calls on their own: [`Driver::start`]
//! takes the target's lock, repairs what an interrupted run left and plans against the ledger;
//! [`Driver::next_unit`] hands out the plan in [`WorkUnit`]s of one commit each; any process
//! converts a unit ([`super::convert_unit`]); [`Driver::commit`] commits what one attempt of a
//! unit staged, once; [`Driver::finish`] updates the catalog and removes what other attempts
//! staged. `agsl convert` runs the same steps in one process, so a target can be written by
//! the CLI and by Spark in turn.
//!
//! Invariants: only the driver holding the lock commits; a unit is committed at most once, and
//! only files staged for that unit; a unit never committed leaves nothing a reader sees.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::Instant;

use agsl_formats::Format;

use super::commit::{CommitBatches, Committer};
use super::plan::{ObjectTask, Plan};
use super::summary::total;
use super::unit::{UnitOutput, UnitTally, WorkUnit};
use super::{ConvertJob, Progress, RunSummary, record, reprocess, tables};
use crate::error::{Error, Result};
use crate::source::Source;
use crate::state::{Commit, CommitLog, RunOutcome, RunRecord, STAGING_DIR, TargetLock};
use crate::storage::{Location, Store, join_key};

/// A run in progress on one target, holding its lock until it is finished or failed.
///
/// # Example
///
/// A run as Spark makes it: the driver plans and hands out units, each unit is converted twice
/// (a retried or speculative task), one attempt of each is committed, and the table holds
/// every line once.
///
/// ```
/// use agsl::sample::write_sample;
/// use agsl::{Driver, Format, JobSpec, Progress, convert_unit};
/// use agsl_formats::sample::SamplePlan;
/// use parquet::file::reader::{FileReader, SerializedFileReader};
///
/// let dir = tempfile::tempdir()?;
/// let (logs, table) = (dir.path().join("logs"), dir.path().join("alb"));
/// let plan = SamplePlan { objects: 8, lines_per_object: 50, ..SamplePlan::default() };
/// write_sample(Format::Alb, plan, &logs)?;
/// let job = JobSpec {
///     service: Some("alb".parse()?),
///     source: Some(logs.into()),
///     target: Some(table.clone().into()),
///     ..JobSpec::default()
/// }
/// .build()?;
///
/// let progress = Progress::default();
/// let mut driver = Driver::start(&job, &progress)?;
/// driver.spread_over(4);
/// let units: Vec<_> = std::iter::from_fn(|| driver.next_unit()).collect();
/// assert!(units.len() >= 2);
/// for unit in &units {
///     let (job, source, target) = (driver.job(), driver.source(), driver.target());
///     let lost = convert_unit(job, source, target, unit, Some("attempt-0"), &progress)?;
///     let accepted = convert_unit(job, source, target, unit, Some("attempt-1"), &progress)?;
///     driver.commit(accepted)?;
///     assert!(driver.commit(lost).is_err(), "a unit is committed once");
/// }
/// let summary = driver.finish()?;
/// assert_eq!((summary.objects, summary.rows), (8, 400));
///
/// let mut rows = 0;
/// for file in agsl::sink::table_files(&table)? {
///     let reader = SerializedFileReader::new(std::fs::File::open(file)?)?;
///     rows += reader.metadata().file_metadata().num_rows();
/// }
/// assert_eq!(rows, 400);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Driver {
    job: ConvertJob,
    source: Source,
    target: Store,
    lock: TargetLock,
    run: String,
    record: RunRecord,
    log: CommitLog,
    started: Instant,
    /// The plan's groups not handed out yet, and the one being handed out.
    groups: std::collections::btree_map::IntoIter<Format, Vec<ObjectTask>>,
    current: Option<(Format, CommitBatches, usize)>,
    handed_out_all: bool,
    /// Stored bytes per unit: the job's commit size, or less to give every task work.
    unit_bytes: u64,
    /// Stored bytes of the whole plan.
    planned_bytes: u64,
    /// Units handed out and not committed yet, by name: their service and object count.
    issued: BTreeMap<String, (Format, usize)>,
    /// Each service with work handed out: what its committed units did.
    services: BTreeMap<Format, ServiceProgress>,
    replaced_files: u64,
    skipped: u64,
    skipped_reasons: BTreeMap<String, u64>,
    /// Objects the committed units skipped as archived (`--skip-archived`).
    archived: ArchivedObjects,
    listed_through: Option<i64>,
}

impl Driver {
    /// Checks that `job.target` can take the job, locks it, recovers it and plans the run.
    /// With `--reprocess`, the window's earlier output is taken back here, before any unit is
    /// handed out.
    pub fn start(job: &ConvertJob, progress: &Progress) -> Result<Driver> {
        job.validate().map_err(Error::InvalidJob)?;
        if job.dry_run {
            return Err(Error::InvalidJob(
                "a dry run plans only; it has no driver".into(),
            ));
        }
        let started = Instant::now();
        let run = super::run_id();
        let source = Source::open(&job.source, &job.storage)?;
        let target = Store::open(&job.target, &job.storage)?;
        super::target::check_placement(job, Some(&target))?;
        let lock = TargetLock::acquire(&target, &run, job.lock_stale_after)?;
        let mut record = RunRecord::started(&run, &super::job_service(job), super::unix_seconds());
        record::keep(&target, &record);
        let prepared = prepare(job, &source, &target, &lock, &run, progress);
        let (log, plan, replaced_files) = match prepared {
            Ok(prepared) => prepared,
            Err(error) => {
                fail_record(&target, &mut record, &error);
                return Err(error);
            }
        };
        let planned_bytes = plan.tasks().map(|t| t.size).sum();
        Ok(Driver {
            job: job.clone(),
            source,
            target,
            lock,
            run,
            record,
            log,
            started,
            groups: plan.groups.into_iter(),
            current: None,
            handed_out_all: false,
            unit_bytes: job.commit_bytes,
            planned_bytes,
            issued: BTreeMap::new(),
            services: BTreeMap::new(),
            replaced_files,
            skipped: plan.skipped,
            skipped_reasons: plan.skipped_reasons,
            archived: ArchivedObjects::default(),
            listed_through: plan.listed_through,
        })
    }

    /// The run's name (its UTC start time and a random suffix).
    pub fn run(&self) -> &str {
        &self.run
    }

    pub fn job(&self) -> &ConvertJob {
        &self.job
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    pub fn target(&self) -> &Store {
        &self.target
    }

    /// Cuts units small enough that the plan makes at least `tasks` of them (when it has that
    /// many objects), so a distributed run keeps every task slot busy; call it before the first
    /// [`Driver::next_unit`]. Units never exceed the job's commit size.
    pub fn spread_over(&mut self, tasks: usize) {
        let share = self.planned_bytes.div_ceil(tasks.max(1) as u64).max(1);
        self.unit_bytes = self.job.commit_bytes.min(share);
    }

    /// The next unit of work, in plan order (by service, then key); `None` once all are out.
    /// Units are cut as they are asked for, so a plan of a million objects is not copied.
    pub fn next_unit(&mut self) -> Option<WorkUnit> {
        loop {
            if let Some((format, batches, index)) = &mut self.current
                && let Some(tasks) = batches.next()
            {
                let format = *format;
                let name = format!("{}-{format}-{index:04}", self.run);
                *index += 1;
                self.issued.insert(name.clone(), (format, tasks.len()));
                self.services
                    .entry(format)
                    .or_insert_with(|| ServiceProgress {
                        tally: UnitTally::default(),
                        commits: 0,
                        first_unit: Instant::now(),
                        seconds: 0.0,
                    });
                let table = match self.job.format {
                    Some(_) => String::new(),
                    None => format.table_name().to_owned(),
                };
                return Some(WorkUnit {
                    run: self.run.clone(),
                    name,
                    format,
                    table,
                    tasks,
                });
            }
            let Some((format, tasks)) = self.groups.next() else {
                self.handed_out_all = true;
                return None;
            };
            self.current = Some((format, CommitBatches::new(tasks, self.unit_bytes), 0));
        }
    }

    /// Commits what one attempt of a handed-out unit staged. Refuses an output of a unit this
    /// driver did not hand out, or already committed, and files staged outside its folder.
    pub fn commit(&mut self, mut output: UnitOutput) -> Result<()> {
        let Some(&(format, objects)) = self.issued.get(&output.unit) else {
            return Err(Error::Distributed(format!(
                "unit `{}` was not handed out by run {}, or is committed already",
                output.unit, self.run
            )));
        };
        let folder = join_key(STAGING_DIR, &output.unit);
        if output.covered.len() + output.archived.len() != objects
            || output.added.iter().any(|f| {
                // `<unit>/…` or an attempt's `<unit>-<attempt>/…`; `…-1000` is no prefix of
                // `…-10000…` then.
                !f.staged
                    .strip_prefix(&folder)
                    .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('-'))
            })
        {
            return Err(Error::Distributed(format!(
                "the output of unit `{}` does not describe its {objects} objects and its \
                 staging folder",
                output.unit
            )));
        }
        let unit = output.unit.clone();
        let tally = output.tally.clone();
        let archived = std::mem::take(&mut output.archived);
        let committer = Committer {
            job: &self.job,
            target: &self.target,
            lock: &self.lock,
            run: &self.run,
        };
        committer.commit_unit(&mut self.log, output)?;
        self.issued.remove(&unit);
        self.archived.add(&archived);
        let service = self
            .services
            .get_mut(&format)
            .ok_or_else(|| Error::Internal(format!("no progress of service `{format}`")))?;
        service.tally.add(&tally);
        service.commits += 1;
        service.seconds = service.first_unit.elapsed().as_secs_f64();
        Ok(())
    }

    /// Ends the run: records how far the listing went, updates the catalog, deletes what
    /// uncommitted attempts staged, writes the run's record and releases the lock. Units
    /// handed out and never committed are simply not converted: the next run plans them again.
    pub fn finish(mut self) -> Result<RunSummary> {
        match self.conclude() {
            Ok(summary) => {
                record::finish(&mut self.record, &summary);
                self.record.finished_at = Some(super::unix_seconds());
                record::keep(&self.target, &self.record);
                Ok(summary)
            }
            Err(error) => {
                fail_record(&self.target, &mut self.record, &error);
                Err(error)
            }
        }
    }

    /// Ends a run that failed: its record says why, and the lock is released. What it
    /// committed stays; what it staged is deleted by the next run.
    pub fn fail(mut self, error: &Error) {
        fail_record(&self.target, &mut self.record, error);
    }

    fn conclude(&mut self) -> Result<RunSummary> {
        let committer = Committer {
            job: &self.job,
            target: &self.target,
            lock: &self.lock,
            run: &self.run,
        };
        // Only a run that handed out every unit and had each committed listed everything.
        let complete = self.handed_out_all && self.issued.is_empty();
        if complete && self.listed_through > self.log.ledger().listed_through {
            committer.commit(
                &mut self.log,
                Commit {
                    run: self.run.clone(),
                    committed_at: super::unix_seconds(),
                    listed_through: self.listed_through,
                    ..Commit::default()
                },
            )?;
        }
        remove_staged(&self.target, &self.run)?;
        let ledger = self.log.ledger();
        let mut converted = BTreeSet::new();
        let mut services = Vec::new();
        let mut all = UnitTally::default();
        for (format, progress) in std::mem::take(&mut self.services) {
            if progress.tally.objects > 0 {
                converted.insert(format);
            }
            let mut in_tables = progress.tally.clone();
            in_tables.partitions = in_tables
                .partitions
                .iter()
                .map(|p| format!("{}/{p}", format.table_name()))
                .collect();
            all.add(&in_tables);
            let mut summary = RunSummary::from_tally(format.keyword(), progress.tally);
            summary.commits = progress.commits;
            summary.seconds = progress.seconds;
            summary.newest_event = super::newest_event(ledger, format.keyword());
            services.push(summary);
        }
        let catalog = tables::update_catalog(
            &self.job,
            &self.source,
            &self.target,
            ledger,
            &self.run,
            &converted,
        )?;
        let mut summary = match self.job.format {
            Some(format) => services.pop().unwrap_or_else(|| RunSummary {
                service: format.to_string(),
                newest_event: super::newest_event(ledger, format.keyword()),
                ..RunSummary::default()
            }),
            None => total(services, all),
        };
        summary.commits += u64::from(self.replaced_files > 0);
        summary.replaced_files = self.replaced_files;
        summary.skipped_objects = self.skipped + self.archived.count;
        summary.skipped_reasons = std::mem::take(&mut self.skipped_reasons);
        if self.archived.count > 0 {
            *summary.skipped_reasons.entry(ARCHIVED.into()).or_default() += self.archived.count;
            self.archived.warn();
        }
        summary.catalog = catalog;
        summary.seconds = self.started.elapsed().as_secs_f64();
        Ok(summary)
    }
}

/// Reason given for objects skipped as archived (`--skip-archived`).
pub const ARCHIVED: &str = "archived in S3, not restored";

/// The objects a run skipped as archived: how many, and enough to tell the user which.
#[derive(Default)]
struct ArchivedObjects {
    count: u64,
    first_key: Option<String>,
    /// The first and last day their keys are dated, when they are.
    days: Option<(i64, i64)>,
}

impl ArchivedObjects {
    fn add(&mut self, keys: &[String]) {
        for key in keys {
            self.count += 1;
            if self.first_key.as_ref().is_none_or(|first| key < first) {
                self.first_key = Some(key.clone());
            }
            if let Some(day) = crate::window::key_day(key) {
                let (first, last) = self.days.get_or_insert((day, day));
                *first = (*first).min(day);
                *last = (*last).max(day);
            }
        }
    }

    /// Tells the user what was left and how to convert it: it is not in the ledger, but an
    /// incremental run lists only recent days, so restored objects need their days named.
    fn warn(&self) {
        let days = match self.days {
            Some((first, last)) => format!(
                "then convert their days again (--since {} --until {})",
                date(first),
                date(last + 1)
            ),
            None => "then convert them again (--full-listing)".to_owned(),
        };
        tracing::warn!(
            objects = self.count,
            first = self.first_key.as_deref().unwrap_or_default(),
            "objects are archived in S3 (Glacier Flexible Retrieval, Deep Archive or an \
             Intelligent-Tiering archive tier) and were skipped, not converted: restore them \
             (aws s3api restore-object), {days}"
        );
    }
}

/// `days` since the Unix epoch as `YYYY-MM-DD`.
fn date(days: i64) -> String {
    let (year, month, day) = agsl_formats::time::civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// What one service's committed units did so far in a run.
struct ServiceProgress {
    tally: UnitTally,
    commits: u64,
    first_unit: Instant,
    seconds: f64,
}

/// Recovers the locked target, checks that it can take the job, plans the run and takes back
/// what `--reprocess` replaces: the commit log, the plan, and the number of files replaced.
fn prepare(
    job: &ConvertJob,
    source: &Source,
    target: &Store,
    lock: &TargetLock,
    run: &str,
    progress: &Progress,
) -> Result<(CommitLog, Plan, u64)> {
    let mut log = CommitLog::recover(target)?;
    crate::spool::remove_abandoned();
    super::target::check_holdings(job, log.ledger())?;
    let plan = super::plan::plan(job, source, log.ledger())?;
    tables::check_catalog_owners(job, tables::table_formats(job, log.ledger(), &plan))?;
    let (count, bytes) = plan.tasks().fold((0, 0), |(n, b), t| (n + 1, b + t.size));
    progress.objects_total.store(count, Ordering::Relaxed);
    progress.source_bytes_total.store(bytes, Ordering::Relaxed);
    tracing::info!(
        service = super::job_service(job),
        objects = count,
        skipped = plan.skipped,
        megabytes = bytes as f64 / 1e6,
        "converting"
    );
    let mut replaced_files = 0;
    if !plan.uncover.is_empty() {
        let committer = Committer {
            job,
            target,
            lock,
            run,
        };
        replaced_files = reprocess::take_back(&committer, &mut log, &plan.uncover)?;
    }
    Ok((log, plan, replaced_files))
}

fn fail_record(target: &Store, record: &mut RunRecord, error: &Error) {
    record.outcome = RunOutcome::Failed;
    record.error = Some(error.to_string());
    record.finished_at = Some(super::unix_seconds());
    record::keep(target, record);
}

/// Deletes what this run staged and did not commit: the folders of attempts that lost (a
/// failed or speculative Spark task) and of units never committed. Committed files were moved
/// out of staging when their commit was published.
fn remove_staged(target: &Store, run: &str) -> Result<()> {
    let prefix = join_key(STAGING_DIR, run);
    for leftover in target.list(STAGING_DIR)? {
        if leftover.key.starts_with(&prefix) {
            target.delete(&leftover.key)?;
        }
    }
    if let Location::Local(root) = target.location()
        && let Ok(folders) = std::fs::read_dir(root.join(STAGING_DIR))
    {
        for folder in folders.flatten() {
            if folder.file_name().to_string_lossy().starts_with(run) {
                let _ = std::fs::remove_dir_all(folder.path());
            }
        }
    }
    Ok(())
}
