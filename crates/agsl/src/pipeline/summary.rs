//! What a run reports: live progress counters, the closing summary (per service, and totalled
//! for `--service auto`) and what a dry run would convert.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use agsl_formats::Format;
use serde::Serialize;

use super::ConvertJob;
use super::plan;
use super::unit::UnitTally;
use crate::catalog::CatalogSummary;
use crate::cpu::StageCpu;
use crate::source::Source;

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
    /// The object's key below the source.
    pub key: String,
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
    /// CPU seconds spent decompressing, parsing and encoding (see [`StageCpu`]).
    pub cpu: StageCpu,
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

pub(super) fn dry_run_summary(
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
                key: t.key.clone(),
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

impl RunSummary {
    /// The summary of `service`'s converted units, their counts added up in `tally`.
    pub(super) fn from_tally(service: &str, tally: UnitTally) -> Self {
        RunSummary {
            service: service.to_owned(),
            objects: tally.objects,
            lines: tally.lines,
            rows: tally.rows,
            rejects: tally.rejects,
            reject_reasons: tally.reject_reasons,
            excluded: tally.excluded,
            skipped_lines: tally.skipped_lines,
            bytes_in: tally.bytes_in,
            source_bytes: tally.source_bytes,
            bytes_out: tally.bytes_out,
            files: tally.files,
            partitions: tally.partitions,
            cpu: tally.cpu,
            ..RunSummary::default()
        }
    }
}

/// The run total of `--service auto`: `tally` adds up every service's units, with partitions
/// prefixed by each table's folder; `services` are the per-service summaries.
pub(super) fn total(services: Vec<RunSummary>, tally: UnitTally) -> RunSummary {
    let mut total = RunSummary::from_tally("auto", tally);
    for s in &services {
        total.commits += s.commits;
        total.newest_event = total.newest_event.max(s.newest_event);
    }
    total.services = services;
    total
}

impl serde::Serialize for RunSummary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SummaryJson::from(self).serialize(serializer)
    }
}

/// The JSON form of a summary (`--json`, Python's dict). `bytes_in` is decompressed input; `source_bytes` is as stored.
#[derive(Debug, Serialize)]
struct SummaryJson<'a> {
    service: &'a str,
    objects: u64,
    rows: u64,
    rejects: u64,
    skipped_objects: u64,
    lines: u64,
    skipped_lines: u64,
    bytes_in: u64,
    source_bytes: u64,
    bytes_out: u64,
    files: u64,
    partitions: usize,
    excluded: u64,
    commits: u64,
    replaced_files: u64,
    skipped_reasons: &'a BTreeMap<String, u64>,
    seconds: f64,
    megabytes_per_second: f64,
    /// CPU seconds by stage: `decompress`, `parse`, `encode`.
    cpu_seconds: StageCpu,
    dry_run: bool,
    /// With `--dry-run`: the objects that would be converted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    planned: Vec<PlannedJson<'a>>,
    /// With `--service auto`: the same fields per service found.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    services: Vec<SummaryJson<'a>>,
    /// What the catalog update changed; absent with `--catalog none` and in dry runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    catalog: Option<CatalogJson<'a>>,
}

#[derive(Debug, Serialize)]
struct CatalogJson<'a> {
    catalog: &'a str,
    tables_created: u64,
    tables_updated: u64,
    columns_added: u64,
    partitions_added: u64,
    partitions_moved: u64,
}

impl<'a> From<&'a RunSummary> for SummaryJson<'a> {
    fn from(s: &'a RunSummary) -> Self {
        Self {
            service: &s.service,
            objects: s.objects,
            rows: s.rows,
            rejects: s.rejects,
            skipped_objects: s.skipped_objects,
            lines: s.lines,
            skipped_lines: s.skipped_lines,
            bytes_in: s.bytes_in,
            source_bytes: s.source_bytes,
            bytes_out: s.bytes_out,
            files: s.files,
            partitions: s.partitions.len(),
            excluded: s.excluded,
            commits: s.commits,
            replaced_files: s.replaced_files,
            skipped_reasons: &s.skipped_reasons,
            seconds: s.seconds,
            megabytes_per_second: s.megabytes_per_second(),
            cpu_seconds: s.cpu,
            dry_run: s.dry_run,
            planned: s
                .planned
                .iter()
                .map(|p| PlannedJson {
                    service: p.service.keyword(),
                    url: &p.url,
                    size: p.size,
                })
                .collect(),
            services: s.services.iter().map(SummaryJson::from).collect(),
            catalog: s.catalog.as_ref().map(|c| CatalogJson {
                catalog: &c.catalog,
                tables_created: c.tables_created,
                tables_updated: c.tables_updated,
                columns_added: c.columns_added,
                partitions_added: c.partitions_added,
                partitions_moved: c.partitions_moved,
            }),
        }
    }
}

#[derive(Debug, Serialize)]
struct PlannedJson<'a> {
    service: &'a str,
    url: &'a str,
    size: u64,
}
