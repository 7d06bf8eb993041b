//! `agsl status`: per table, the last run, what the ledger holds, the last seven days' rejects
//! and skipped objects, how many files each partition has, and (with a source) how far the
//! newest source object is ahead of the newest converted one. It reads the state, plus the
//! newest key days of the source, so it costs about what a no-op run costs.

use std::collections::BTreeMap;

use agsl_formats::Format;
use agsl_formats::detect::{KeyDetection, detect_from_key};
use serde::Serialize;

use super::TableObjects;
use super::{AuditError, TargetState, now};
use crate::counts;
use crate::sink::is_rejects_file;
use crate::source::Source;
use crate::state::{RunOutcome, RunRecord, StoredState, read_runs};
use crate::storage::{Location, StorageOptions};
use crate::window::{KeyDays, key_time};

/// Run records this recent count towards a table's recent rejects and skips.
pub const RECENT_DAYS: u64 = 7;
/// Days listed before the newest converted key day to find newer source objects.
const LAG_LOOKBACK_DAYS: i64 = 1;

/// The target (and optionally the source) `status` looks at.
#[derive(Debug, Clone)]
pub struct StatusJob {
    pub target: Location,
    /// Without a source there is no lag.
    pub source: Option<Location>,
    pub storage: StorageOptions,
    /// The job's service; `None` routes source keys by their layout (`auto`).
    pub format: Option<Format>,
}

impl From<&crate::ConvertJob> for StatusJob {
    fn from(job: &crate::ConvertJob) -> Self {
        Self {
            target: job.target.clone(),
            source: Some(job.source.clone()),
            storage: job.storage.clone(),
            format: job.format,
        }
    }
}

/// What `status` reports for a target.
#[derive(Debug, Clone, Serialize)]
pub struct TargetStatus {
    pub target: String,
    /// Commits in the log.
    pub commits: u64,
    /// Commits whose files the next run still has to move into place (a run was killed).
    pub unpublished_commits: u64,
    /// What every run reads of the state, and the ledger it holds in memory: source objects
    /// and files named.
    pub state: StoredState,
    pub ledger_objects: u64,
    pub ledger_files: u64,
    pub last_run: Option<RunStatus>,
    /// Runs in the last seven days, and how many of them failed or were killed.
    pub runs_recent: u64,
    pub failed_runs_recent: u64,
    /// Objects skipped in the last seven days, by reason (never counting `already converted`).
    pub skipped_recent: BTreeMap<String, u64>,
    pub tables: Vec<TableStatus>,
}

/// One run, as `status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RunStatus {
    pub run: String,
    /// Seconds since the Unix epoch.
    pub started_at: u64,
    pub seconds: u64,
    /// `running` (still, or killed), `succeeded` or `failed`.
    pub outcome: RunOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<&RunRecord> for RunStatus {
    fn from(record: &RunRecord) -> Self {
        Self {
            run: record.run.clone(),
            started_at: record.started_at,
            seconds: record.seconds(now()),
            outcome: record.outcome,
            error: record.error.clone(),
        }
    }
}

/// One table of a target.
#[derive(Debug, Clone, Serialize)]
pub struct TableStatus {
    pub service: String,
    /// The table's folder below the target (empty for a one-service target).
    pub folder: String,
    /// The last run that converted objects into this table.
    pub last_run: Option<RunStatus>,
    /// Source objects converted, rows and files committed (per the ledger).
    pub objects: u64,
    pub rows: u64,
    pub rejects: u64,
    pub files: u64,
    pub bytes: u64,
    /// Newest event time converted (UTC microseconds).
    pub newest_event: Option<i64>,
    /// Newest key time among converted objects (UTC microseconds).
    pub newest_key_time: Option<i64>,
    /// The last seven days' runs: rows and rejects they wrote.
    pub rows_recent: u64,
    pub rejects_recent: u64,
    /// The last seven days' rejects by kind of reason.
    pub rejects_recent_by_reason: BTreeMap<String, u64>,
    pub partitions: u64,
    pub files_per_partition_median: u64,
    pub files_per_partition_max: u64,
    /// With a source: how far it is ahead.
    pub lag: Option<Lag>,
}

/// How far the source is ahead of a table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Lag {
    /// Newest key time among the source's objects for this table (UTC microseconds).
    pub newest_source_key_time: Option<i64>,
    /// How far that is ahead of the newest converted key time, in seconds (0 when caught up).
    pub seconds: u64,
    /// Objects listed in the newest days that no run has converted yet.
    pub pending_objects: u64,
}

/// The status of `job.target`.
pub fn status(job: &StatusJob) -> Result<TargetStatus, AuditError> {
    let state = TargetState::read(&job.target, &job.storage)?;
    let runs = read_runs(&state.store)?;
    let recent_since = now().saturating_sub(RECENT_DAYS * 86_400);
    let recent: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| r.started_at >= recent_since)
        .collect();
    let mut skipped_recent = BTreeMap::new();
    for record in &recent {
        counts::add_all(&mut skipped_recent, &record.skipped_reasons);
    }
    let objects_by_service = state.objects_by_service();
    let history = History {
        runs: &runs,
        recent: &recent,
    };
    let mut tables: Vec<TableStatus> = state
        .ledger
        .tables()
        .into_iter()
        .map(|(service, folder)| {
            let converted = objects_by_service.get(service).copied().unwrap_or_default();
            table_status(&state, converted, &history, service, folder.unwrap_or(""))
        })
        .collect();
    if let Some(source) = &job.source {
        add_lag(job, source, &state, &mut tables)?;
    }
    Ok(TargetStatus {
        target: job.target.to_string(),
        commits: state.ledger.sequence,
        unpublished_commits: state.unpublished.len() as u64,
        state: state.stored,
        ledger_objects: state.ledger.objects.len() as u64,
        ledger_files: state.ledger.files.len() as u64,
        last_run: runs.last().map(RunStatus::from),
        runs_recent: recent.len() as u64,
        failed_runs_recent: recent.iter().filter(|r| ended_badly(r, &runs)).count() as u64,
        skipped_recent,
        tables,
    })
}

/// The run records `status` reads: all of them, and the last seven days'.
struct History<'a> {
    runs: &'a [RunRecord],
    recent: &'a [&'a RunRecord],
}

/// One table's status from the ledger and the run records (no lag yet); `converted` are its
/// objects.
fn table_status(
    state: &TargetState,
    converted: TableObjects,
    history: &History<'_>,
    service: &str,
    folder: &str,
) -> TableStatus {
    let (runs, recent) = (history.runs, history.recent);
    let mut table = TableStatus {
        service: service.to_owned(),
        folder: folder.to_owned(),
        last_run: runs
            .iter()
            .rev()
            .find(|r| r.tables.get(service).is_some_and(|t| t.objects > 0))
            .map(RunStatus::from),
        objects: 0,
        rows: 0,
        rejects: 0,
        files: 0,
        bytes: 0,
        newest_event: None,
        newest_key_time: None,
        rows_recent: recent
            .iter()
            .filter_map(|r| r.tables.get(service))
            .map(|t| t.rows)
            .sum(),
        rejects_recent: recent
            .iter()
            .filter_map(|r| r.tables.get(service))
            .map(|t| t.rejects)
            .sum(),
        rejects_recent_by_reason: BTreeMap::new(),
        partitions: 0,
        files_per_partition_median: 0,
        files_per_partition_max: 0,
        lag: None,
    };
    for counted in recent.iter().filter_map(|r| r.tables.get(service)) {
        counts::add_all(&mut table.rejects_recent_by_reason, &counted.reject_reasons);
    }
    let mut per_partition: BTreeMap<&str, u64> = BTreeMap::new();
    for (path, entry) in state
        .ledger
        .files
        .iter()
        .filter(|(_, e)| e.service == service)
    {
        table.bytes += entry.bytes;
        if is_rejects_file(path) {
            table.rejects += entry.rows;
            continue;
        }
        table.files += 1;
        table.rows += entry.rows;
        table.newest_event = table.newest_event.max(entry.newest_event);
        let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
        *per_partition.entry(folder).or_insert(0) += 1;
    }
    let mut counts: Vec<u64> = per_partition.into_values().collect();
    counts.sort_unstable();
    table.partitions = counts.len() as u64;
    table.files_per_partition_median = counts.get(counts.len() / 2).copied().unwrap_or(0);
    table.files_per_partition_max = counts.last().copied().unwrap_or(0);
    table.objects = converted.count;
    table.newest_key_time = converted.newest_key_time;
    table
}

/// A run that failed, or that never ended and is not the newest (so it was killed).
fn ended_badly(record: &RunRecord, runs: &[RunRecord]) -> bool {
    match record.outcome {
        RunOutcome::Succeeded => false,
        RunOutcome::Failed => true,
        RunOutcome::Running => runs.last().is_some_and(|newest| newest.run != record.run),
    }
}

/// Lists the source's newest key days (from a day before the oldest table's newest converted
/// key) and sets each table's lag: objects of its service, by key layout or the job's service.
fn add_lag(
    job: &StatusJob,
    source: &Location,
    state: &TargetState,
    tables: &mut [TableStatus],
) -> Result<(), AuditError> {
    let source = Source::open(source, &job.storage)?;
    let format = match job.format {
        Some(format) => Some(format),
        None => state.single_service()?,
    };
    let today = (now() / 86_400) as i64;
    let from = tables
        .iter()
        .map(|t| {
            t.newest_key_time
                .map_or(today, |t| t.div_euclid(86_400_000_000))
        })
        .min()
        .unwrap_or(today)
        - LAG_LOOKBACK_DAYS;
    let listed = source.list(&KeyDays::from(Some(from), None))?;
    for table in tables.iter_mut() {
        table.lag = Some(Lag::default());
    }
    for object in listed {
        let service = match format {
            Some(format)
                if agsl_formats::detect::route(format.parser(), &object.key)
                    == agsl_formats::Route::Convert =>
            {
                format.to_string()
            }
            Some(_) => continue,
            None => match detect_from_key(&object.key) {
                KeyDetection::Format(format) => format.to_string(),
                _ => continue,
            },
        };
        let Some(table) = tables.iter_mut().find(|t| t.service == service) else {
            continue;
        };
        let lag = table.lag.get_or_insert_with(Lag::default);
        let time = key_time(&object.key);
        lag.newest_source_key_time = lag.newest_source_key_time.max(time);
        if !state
            .ledger
            .objects
            .contains_key(source.url(&object.key).as_str())
        {
            lag.pending_objects += 1;
        }
    }
    for table in tables.iter_mut() {
        if let Some(lag) = &mut table.lag {
            let ahead = match (lag.newest_source_key_time, table.newest_key_time) {
                (Some(source), Some(converted)) => source - converted,
                _ => 0,
            };
            lag.seconds = u64::try_from(ahead / 1_000_000).unwrap_or(0);
        }
    }
    Ok(())
}
