//! One conversion run: lock the target, recover what an interrupted run left, plan the work
//! against the ledger, then convert it in commits of bounded size. Each commit's files are
//! staged under `<target>/_agsl/staging/`, its record is appended to the commit log with a
//! conditional create, and only then are its files moved into the partition folders; see
//! [`crate::state`]. A run killed at any instant is redone from its last commit by the next run,
//! so every source line lands in the table exactly once and readers never see staged files.

mod commit;
mod driver;
mod job;
mod plan;
mod record;
mod reprocess;
mod summary;
mod tables;
mod target;
mod unit;
mod worker;

use std::hash::{BuildHasher, RandomState};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use commit::Committer;
pub use driver::Driver;
pub use job::{
    ConvertJob, DEFAULT_BATCH_SIZE, DEFAULT_COMMIT_BYTES, DEFAULT_LOCK_STALE_AFTER, InvalidJob,
    JobSpec, parse_size,
};
pub(crate) use plan::plan_listing;
pub use plan::{ALREADY_CONVERTED, CHANGED_SINCE_CONVERTED};
use summary::dry_run_summary;
pub use summary::{PlannedObject, Progress, RunSummary};
pub use tables::table_ddl;
pub(crate) use tables::{open_catalog, service_tables};
pub use target::TargetConflict;
pub(crate) use target::{check_jobs_apart, check_tables, committed_layout};
pub use unit::{UnitOutput, UnitTally, WorkUnit, convert_unit};

use crate::error::Result;
use crate::source::Source;
use crate::state::{CommitLog, Ledger};
use crate::storage::Store;

/// Converts what is new in `job.source` (or the window's objects) into `job.target`,
/// exactly once. With no format (`--service auto`) each object's service is detected (key
/// layout first, then the first line) and each service gets its own table,
/// `job.target/<table name>`; the summary then totals the run and lists one per service.
pub fn convert(job: &ConvertJob, progress: &Progress) -> Result<RunSummary> {
    if job.dry_run {
        job.validate().map_err(crate::Error::InvalidJob)?;
        let started = Instant::now();
        let source = Source::open(&job.source, &job.storage)?;
        // A dry run does not even create the target folder.
        let target = Store::open_existing(&job.target, &job.storage)?;
        target::check_placement(job, target.as_ref())?;
        let ledger = match &target {
            Some(target) => CommitLog::read(target)?.0.into_ledger(),
            None => Ledger::default(),
        };
        target::check_holdings(job, &ledger)?;
        let plan = plan::plan(job, &source, &ledger)?;
        tables::check_catalog_owners(job, tables::table_formats(job, &ledger, &plan))?;
        return Ok(dry_run_summary(job, &source, &plan, started));
    }
    // The driver validates the job.
    let mut driver = Driver::start(job, progress)?;
    let mut convert_all = || -> Result<()> {
        while let Some(unit) = driver.next_unit() {
            let output =
                convert_unit(job, driver.source(), driver.target(), &unit, None, progress)?;
            driver.commit(output)?;
        }
        Ok(())
    };
    match convert_all() {
        Ok(()) => driver.finish(),
        Err(error) => {
            driver.fail(&error);
            Err(error)
        }
    }
}

/// Every object of `job.source` (in its window) with its service, as a first run would plan
/// them: what Spark's `read_logs` reads. No target is read or written.
pub fn list_objects(job: &ConvertJob) -> Result<Vec<PlannedObject>> {
    let source = Source::open(&job.source, &job.storage)?;
    let plan = plan::plan(job, &source, &Ledger::default())?;
    Ok(dry_run_summary(job, &source, &plan, Instant::now()).planned)
}

/// The job's service keyword, or `auto`.
fn job_service(job: &ConvertJob) -> String {
    job.format.map_or("auto".to_owned(), |f| f.to_string())
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
