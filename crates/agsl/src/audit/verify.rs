//! `agsl verify`: reconciles a target's ledger with everything it describes.
//!
//! - **Source:** a fresh listing of the window. Every object converted exactly once (the
//!   ledger keys coverage by object, so "more than once" shows as rows, below); objects the
//!   ledger names that the source no longer holds, or holds with another size; objects listed
//!   but not converted, with why. Objects no run would convert (another log type under the same
//!   prefix, digests) are counted by reason, not reported.
//! - **Copies:** no AWS delivery converted from two URLs (`state::deliveries`), across all
//!   sources: a target converted by an agsl before runs skipped copies may hold some.
//! - **Files:** every committed file present with its recorded size, no file in the table's
//!   folders that no commit names, no commit whose files are still staged, and each file's
//!   per-object row counts adding up to its rows, all from objects the ledger counts as
//!   converted.
//! - **Catalog:** the raw and converted tables exist where their data is, every partition with
//!   data is registered at the folder its files are in, and no registered converted partition
//!   points at a folder without committed files.
//! - **Deep:** every file is read and its rows per source object compared with the ledger.
//!
//! File and catalog checks cover the whole target; source checks cover the window.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{AuditError, TargetState, deep, format_of, now};
use crate::ConvertJob;
use crate::catalog::{CatalogKind, LOCAL_CATALOG_KEY, Partition, plan_tables, same_folder};
use crate::pipeline::{check_tables, committed_layout, open_catalog, plan_listing, service_tables};
use crate::source::Source;
use crate::state::{DamagedCheckpoint, FileEntry, STATE_DIR, deliveries, read_runs};
use crate::storage::is_url;
use crate::window::{KeyDays, key_day, key_time};

/// One way the target differs from what its ledger says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Discrepancy {
    /// The last checkpoint fails its checksum or JSON. Reads pass it over for the one before
    /// it and the records after that (the same ledger); the next run writes a sound one.
    CheckpointDamaged(DamagedCheckpoint),
    /// A commit exists whose files are still staged (a run was killed while publishing).
    Unpublished {
        sequence: u64,
    },
    /// A source object in the window that no run has converted (or not all of the window).
    NotConverted {
        url: String,
        why: String,
    },
    /// An object the ledger counts as converted that the source no longer holds.
    SourceGone {
        url: String,
    },
    /// An object whose size changed since it was converted: it was rewritten in place.
    SourceChanged {
        url: String,
        converted_size: u64,
        size: u64,
    },
    /// A committed file that is not where its commit put it.
    FileMissing {
        path: String,
    },
    FileSize {
        path: String,
        ledger: u64,
        actual: u64,
    },
    /// A file in the table's folders that no commit names: readers take its rows for the
    /// table's.
    StrayFile {
        path: String,
        size: u64,
    },
    /// A file's row counts disagree: with its per-object counts, or (deep) with its content.
    RowCounts {
        path: String,
        ledger: u64,
        found: u64,
        detail: String,
    },
    /// A file holds rows of an object the ledger does not count as converted.
    UnconvertedRows {
        path: String,
        url: String,
    },
    /// The job keeps a local catalog but the target has none.
    CatalogMissing {
        catalog: String,
    },
    TableMissing {
        table: String,
    },
    /// A partition with committed files that the catalog does not list.
    PartitionMissing {
        table: String,
        partition: String,
    },
    /// A registered partition of the converted table with no committed file.
    PartitionOrphan {
        table: String,
        partition: String,
    },
    /// One AWS delivery converted from two or more URLs (a copy of the logs in the source, or
    /// a second source holding them): its rows are in the table once for each.
    ConvertedTwice {
        urls: Vec<String>,
    },
    /// A table whose location is not where its data is (a target or source that has moved).
    TableElsewhere {
        table: String,
        location: String,
        expected: String,
    },
    /// A registered partition whose location is not the folder its files are in.
    PartitionElsewhere {
        table: String,
        partition: String,
        location: String,
        expected: String,
    },
}

impl std::fmt::Display for Discrepancy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Discrepancy::CheckpointDamaged(DamagedCheckpoint { key, reason }) => write!(
                f,
                "checkpoint damaged: {key} ({reason}); the state was read from the one before it (the next run writes a sound one)"
            ),
            Discrepancy::Unpublished { sequence } => write!(
                f,
                "commit {sequence} is not published: its files are still staged (the next run moves them into place)"
            ),
            Discrepancy::NotConverted { url, why } => write!(f, "not converted: {url} ({why})"),
            Discrepancy::SourceGone { url } => {
                write!(
                    f,
                    "source object gone: {url} is converted but no longer in the source"
                )
            }
            Discrepancy::SourceChanged {
                url,
                converted_size,
                size,
            } => write!(
                f,
                "source object changed: {url} was {converted_size} bytes when converted, is {size} now"
            ),
            Discrepancy::FileMissing { path } => write!(f, "file missing: {path}"),
            Discrepancy::FileSize {
                path,
                ledger,
                actual,
            } => write!(
                f,
                "file size differs: {path} is {actual} bytes, committed as {ledger}"
            ),
            Discrepancy::StrayFile { path, size } => {
                write!(f, "stray file: {path} ({size} bytes) is in no commit")
            }
            Discrepancy::RowCounts {
                path,
                ledger,
                found,
                detail,
            } => write!(
                f,
                "row count differs: {path} has {found} rows, the ledger {ledger} ({detail})"
            ),
            Discrepancy::UnconvertedRows { path, url } => write!(
                f,
                "rows of an unconverted object: {path} holds rows of {url}, which the ledger does not count as converted"
            ),
            Discrepancy::CatalogMissing { catalog } => {
                write!(f, "catalog missing: the target has no {catalog} catalog")
            }
            Discrepancy::TableMissing { table } => write!(f, "table missing: {table}"),
            Discrepancy::PartitionMissing { table, partition } => {
                write!(f, "partition not registered: {table} {partition}")
            }
            Discrepancy::PartitionOrphan { table, partition } => write!(
                f,
                "partition without data: {table} {partition} is registered but no committed file is in it"
            ),
            Discrepancy::ConvertedTwice { urls } => write!(
                f,
                "converted twice: {} are one AWS delivery (the same key from AWSLogs/ on, or the same file name AWS gave it, and size); its rows are in the table once for each",
                urls.join(" and ")
            ),
            Discrepancy::TableElsewhere {
                table,
                location,
                expected,
            } => write!(
                f,
                "table elsewhere: {table} reads {location}, its data is at {expected} (the next run repoints it)"
            ),
            Discrepancy::PartitionElsewhere {
                table,
                partition,
                location,
                expected,
            } => write!(
                f,
                "partition elsewhere: {table} {partition} reads {location}, its files are in {expected} (the next run repoints it)"
            ),
        }
    }
}

/// What `verify` checked and found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub target: String,
    pub source: String,
    /// Source objects listed in the window, and how many of them are converted.
    pub objects_listed: u64,
    pub objects_converted: u64,
    /// Listed objects no run converts, by reason (not discrepancies).
    pub skipped: BTreeMap<String, u64>,
    pub files_checked: u64,
    pub partitions_checked: u64,
    /// With `--deep`: rows read back from the files.
    pub rows_read: Option<u64>,
    pub discrepancies: Vec<Discrepancy>,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.discrepancies.is_empty()
    }
}

/// Reconciles `job.target` with `job.source` (within `job.window`), its files and the
/// catalog `job.catalog` names; with `deep`, reads every file's rows too.
pub fn verify(job: &ConvertJob, deep: bool) -> Result<VerifyReport, AuditError> {
    let state = TargetState::read(&job.target, &job.storage)?;
    let job = &as_written(job, &state)?;
    let source = Source::open(&job.source, &job.storage)?;
    let mut report = VerifyReport {
        target: job.target.to_string(),
        source: job.source.to_string(),
        ..VerifyReport::default()
    };
    let found = &mut report.discrepancies;
    if let Some(damaged) = &state.damaged_checkpoint {
        found.push(Discrepancy::CheckpointDamaged(damaged.clone()));
    }
    for commit in &state.unpublished {
        found.push(Discrepancy::Unpublished {
            sequence: commit.sequence,
        });
    }
    check_source(job, &source, &state, &mut report)?;
    for urls in deliveries::converted_copies(&state.ledger) {
        report
            .discrepancies
            .push(Discrepancy::ConvertedTwice { urls });
    }
    check_files(&state, &mut report)?;
    if deep {
        report.rows_read = Some(deep::check_rows(&state, &mut report.discrepancies)?);
    }
    check_catalog(job, &source, &state, &mut report)?;
    Ok(report)
}

/// The job as the target was written: the service of a one-table target without a folder
/// when none is given, and the partition layout of its files. A service the target holds no
/// table of is refused, as a conversion would be, rather than reported as all missing.
fn as_written(job: &ConvertJob, state: &TargetState) -> Result<ConvertJob, AuditError> {
    let mut job = job.clone();
    if job.format.is_none() {
        job.format = state.single_service()?;
    }
    check_tables(&job, &state.ledger).map_err(crate::Error::from)?;
    if let Some((layout, _)) = committed_layout(&job, &state.ledger) {
        job.partitioning = layout;
    }
    Ok(job)
}

/// The window's source objects against the ledger.
fn check_source(
    job: &ConvertJob,
    source: &Source,
    state: &TargetState,
    report: &mut VerifyReport,
) -> Result<(), AuditError> {
    let mut listing = job.clone();
    listing.full_listing = true;
    listing.reprocess = false;
    let ledger = &state.ledger;
    let mut listed = 0;
    // By the ledger's slots: a source of a million objects is not copied again.
    let mut listed_converted = vec![false; ledger.objects.slots()];
    let mut found = Vec::new();
    let plan = plan_listing(&listing, source, ledger, &mut |object, url| {
        listed += 1;
        let Some((slot, entry)) = ledger.objects.slot(url) else {
            return;
        };
        listed_converted[slot] = true;
        if entry.size != object.size {
            found.push(Discrepancy::SourceChanged {
                url: url.to_string(),
                converted_size: entry.size,
                size: object.size,
            });
        }
    })?;
    let last_run = read_runs(&state.store)?
        .into_iter()
        .rev()
        .find(|r| r.finished_at.is_some());
    for task in plan.tasks() {
        let why = if !task.first_pass {
            "part of the window is not converted".to_owned()
        } else {
            match &last_run {
                Some(run)
                    if key_time(&task.key)
                        .is_some_and(|t| t / 1_000_000 > run.started_at as i64) =>
                {
                    "delivered after the last run; the next run converts it".to_owned()
                }
                Some(run) => format!(
                    "the last run ({}, {}) did not convert it",
                    run.run, run.outcome
                ),
                None => "no run has converted it".to_owned(),
            }
        };
        found.push(Discrepancy::NotConverted {
            url: source.url(&task.key),
            why,
        });
    }
    let days = KeyDays::of(&job.window);
    let prefix = source.url("");
    for (slot, url, _) in ledger.objects.iter_with_slots() {
        let in_window = key_day(&url).is_none_or(|day| days.admits(day));
        if url.starts_with(&prefix) && in_window && !listed_converted[slot] {
            found.push(Discrepancy::SourceGone { url });
        }
    }
    report.objects_listed = listed;
    report.objects_converted = listed_converted.iter().filter(|&&c| c).count() as u64;
    report.skipped = plan
        .skipped_reasons
        .into_iter()
        // Converted objects, rewritten or not: a rewritten one is a discrepancy of its own.
        .filter(|(reason, _)| {
            reason != crate::ALREADY_CONVERTED && reason != crate::CHANGED_SINCE_CONVERTED
        })
        .collect();
    report.discrepancies.extend(found);
    Ok(())
}

/// The committed files against the target's folders, and against the ledger's own counts.
fn check_files(state: &TargetState, report: &mut VerifyReport) -> Result<(), AuditError> {
    let state_prefix = format!("{STATE_DIR}/");
    let stored: BTreeMap<String, u64> = state
        .store
        .list("")?
        .into_iter()
        .filter(|o| !o.key.starts_with(&state_prefix))
        .map(|o| (o.key, o.size))
        .collect();
    let found = &mut report.discrepancies;
    let unpublished: BTreeSet<&str> = state
        .unpublished
        .iter()
        .flat_map(|c| c.added.iter().map(|f| f.path.as_str()))
        .collect();
    for (path, entry) in &state.ledger.files {
        report.files_checked += 1;
        let size = if is_url(path) {
            let (store, key) = state.store.resolve(path)?;
            store
                .list(&key)?
                .into_iter()
                .find(|o| o.key == key)
                .map(|o| o.size)
        } else {
            stored.get(path).copied()
        };
        match size {
            // Reported once, as the unpublished commit.
            None if unpublished.contains(path.as_str()) => {}
            None => found.push(Discrepancy::FileMissing { path: path.clone() }),
            Some(actual) if actual != entry.bytes => found.push(Discrepancy::FileSize {
                path: path.clone(),
                ledger: entry.bytes,
                actual,
            }),
            Some(_) => {}
        }
        check_entry(state, path, entry, found);
    }
    for (path, size) in &stored {
        if !state.ledger.files.contains_key(path) {
            found.push(Discrepancy::StrayFile {
                path: path.clone(),
                size: *size,
            });
        }
    }
    Ok(())
}

/// A file's ledger entry against itself: its per-object counts add up to its rows, and every
/// object it names is converted.
fn check_entry(state: &TargetState, path: &str, entry: &FileEntry, found: &mut Vec<Discrepancy>) {
    if let Some(rows) = entry.sources.rows() {
        let sum: u64 = rows.map(|(_, rows)| rows).sum();
        if sum != entry.rows {
            found.push(Discrepancy::RowCounts {
                path: path.to_owned(),
                ledger: entry.rows,
                found: sum,
                detail: "its rows per source object add up to that".to_owned(),
            });
        }
    }
    for url in entry.sources.urls() {
        if !state.ledger.objects.contains_key(&url) {
            found.push(Discrepancy::UnconvertedRows {
                path: path.to_owned(),
                url,
            });
        }
    }
}

/// Each table the ledger holds against the catalog the job names.
fn check_catalog(
    job: &ConvertJob,
    source: &Source,
    state: &TargetState,
    report: &mut VerifyReport,
) -> Result<(), AuditError> {
    let found = &mut report.discrepancies;
    if job.catalog.kind == CatalogKind::Local && !state.store.exists(LOCAL_CATALOG_KEY)? {
        found.push(Discrepancy::CatalogMissing {
            catalog: "local".to_owned(),
        });
        return Ok(());
    }
    let Some(catalog) = open_catalog(job, &state.store)? else {
        return Ok(());
    };
    let this_year = agsl_formats::time::civil_from_days((now() / 86_400) as i64).0 as i32;
    for service in state.ledger.tables().keys() {
        let format = format_of(service)?;
        let tables = service_tables(
            job,
            source,
            &state.store,
            &state.ledger,
            format,
            "",
            &BTreeSet::new(),
        )?;
        let [converted, raw] = plan_tables(
            &state.ledger,
            &tables,
            job.catalog.partition_projection,
            this_year,
        );
        for (planned, is_converted) in [(converted, true), (raw, false)] {
            let table = &planned.table;
            let name = table.qualified_name();
            let Some(registered) = catalog.table(&table.database, &table.name)? else {
                found.push(Discrepancy::TableMissing { table: name });
                continue;
            };
            // A raw table reads the source of the run that last updated it: a target fed from
            // two sources has two right answers, so only the converted table's is checked.
            if is_converted && !same_folder(&registered.location, &table.location) {
                found.push(Discrepancy::TableElsewhere {
                    table: name.clone(),
                    location: registered.location.clone(),
                    expected: table.location.clone(),
                });
            }
            if registered.projected() {
                continue;
            }
            let partitions = catalog.partitions(&table.database, &table.name)?;
            report.partitions_checked += planned.partitions.len() as u64;
            let keys: Vec<&str> = table
                .partition_keys
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            let check = PartitionCheck {
                table: &name,
                keys: &keys,
                extra_is_wrong: is_converted,
            };
            check.compare(&planned.partitions, &partitions, found);
        }
    }
    Ok(())
}

/// How one table's partitions are compared.
struct PartitionCheck<'a> {
    table: &'a str,
    keys: &'a [&'a str],
    /// Whether a registered partition the ledger does not give is a discrepancy (the converted
    /// table's; a raw table may cover more of the source than was converted).
    extra_is_wrong: bool,
}

impl PartitionCheck<'_> {
    /// Partitions the ledger gives against the ones registered, matched by their values.
    fn compare<'p>(
        &self,
        expected: &'p [Partition],
        registered: &'p [Partition],
        found: &mut Vec<Discrepancy>,
    ) {
        let by_values = |p: &'p [Partition]| -> BTreeMap<&'p [String], &'p str> {
            p.iter()
                .map(|p| (p.values.as_slice(), p.location.as_str()))
                .collect()
        };
        let (expected, registered) = (by_values(expected), by_values(registered));
        for (values, folder) in &expected {
            match registered.get(values) {
                None => found.push(Discrepancy::PartitionMissing {
                    table: self.table.to_owned(),
                    partition: self.name(values),
                }),
                Some(location) if !same_folder(location, folder) => {
                    found.push(Discrepancy::PartitionElsewhere {
                        table: self.table.to_owned(),
                        partition: self.name(values),
                        location: (*location).to_owned(),
                        expected: (*folder).to_owned(),
                    });
                }
                Some(_) => {}
            }
        }
        if self.extra_is_wrong {
            for values in registered.keys().filter(|v| !expected.contains_key(*v)) {
                found.push(Discrepancy::PartitionOrphan {
                    table: self.table.to_owned(),
                    partition: self.name(values),
                });
            }
        }
    }

    /// `region=us-east-1/year=2024/…`
    fn name(&self, values: &[String]) -> String {
        self.keys
            .iter()
            .zip(values)
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join("/")
    }
}
