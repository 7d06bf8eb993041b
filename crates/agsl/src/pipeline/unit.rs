//! Work units: one commit's worth of one service's objects, which any process can convert into
//! a staging folder of its own, this one (the CLI) or a Spark executor. Converting a unit
//! changes nothing a reader sees: its files stay under `<target>/_agsl/staging/` until the
//! driver that planned the unit commits them ([`super::Driver::commit`]). A unit converted
//! twice (a retried or speculative Spark task) writes two staging folders, named after the
//! attempt; the driver commits the one output it is handed, and the other folder is deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use agsl_formats::Format;
use serde::{Deserialize, Serialize};

use super::plan::ObjectTask;
use super::{ConvertJob, Progress, worker};
use crate::cpu::StageCpu;
use crate::error::{Result, SinkError};
use crate::faults::crash_point;
use crate::sink::{WrittenFile, is_rejects_file};
use crate::source::Source;
use crate::state::{CommittedFile, Coverage, FileEntry, STAGING_DIR, SourceRows};
use crate::storage::{Location, Store, join_key, location_url};

/// One commit's worth of objects of one service, planned by a [`super::Driver`]. It travels to
/// executors as JSON and is converted there by [`convert_unit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkUnit {
    /// The run that planned it.
    pub run: String,
    /// Unique within the run (`<run>-<service>-<index>`); its staging folder is named after it.
    pub name: String,
    pub format: Format,
    /// The table's folder below the target: empty for a one-service run, the table name with
    /// `--service auto`.
    pub table: String,
    pub(crate) tasks: Vec<ObjectTask>,
}

impl WorkUnit {
    pub fn objects(&self) -> usize {
        self.tasks.len()
    }
}

/// What converting a unit produced: its staged files and the coverage they give, to be
/// committed by the driver, and its counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UnitOutput {
    /// The unit's name.
    pub unit: String,
    pub(crate) added: Vec<CommittedFile>,
    /// What the unit's objects give the ledger: every object but the archived ones.
    pub(crate) covered: Vec<Coverage>,
    /// Keys of the unit's objects skipped as archived (`--skip-archived`), never recorded.
    #[serde(default)]
    pub(crate) archived: Vec<String>,
    pub tally: UnitTally,
}

/// The counts of one converted unit, which the driver adds up into its run summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UnitTally {
    /// Objects converted (not those skipped as archived).
    pub objects: u64,
    pub lines: u64,
    pub rows: u64,
    pub rejects: u64,
    pub reject_reasons: BTreeMap<String, u64>,
    pub excluded: u64,
    pub skipped_lines: u64,
    pub bytes_in: u64,
    pub source_bytes: u64,
    pub bytes_out: u64,
    pub files: u64,
    pub partitions: BTreeSet<String>,
    /// CPU seconds by stage (absent from the outputs of an older agsl's tasks).
    #[serde(default)]
    pub cpu: StageCpu,
}

impl UnitTally {
    /// Adds another unit's counts (the driver's sum per service, and over services).
    pub fn add(&mut self, other: &UnitTally) {
        self.objects += other.objects;
        self.lines += other.lines;
        self.rows += other.rows;
        self.rejects += other.rejects;
        crate::counts::add_all(&mut self.reject_reasons, &other.reject_reasons);
        self.excluded += other.excluded;
        self.skipped_lines += other.skipped_lines;
        self.bytes_in += other.bytes_in;
        self.source_bytes += other.source_bytes;
        self.bytes_out += other.bytes_out;
        self.files += other.files;
        self.partitions.extend(other.partitions.iter().cloned());
        self.cpu.add(&other.cpu);
    }
}

/// Converts `unit` into the target's staging area and describes the files it staged. With an
/// `attempt` (a Spark task attempt), the staging folder is named after it too, so two attempts
/// of one unit never write over each other.
pub fn convert_unit(
    job: &ConvertJob,
    source: &Source,
    target: &Store,
    unit: &WorkUnit,
    attempt: Option<&str>,
    progress: &Progress,
) -> Result<UnitOutput> {
    // A configured field list (CloudFront v2's `plain` output), checked when the job was built.
    let configured = match &job.record_fields {
        Some(fields) => Some(
            unit.format
                .parser()
                .with_field_list(fields)
                .map_err(crate::Error::InvalidJob)?,
        ),
        None => None,
    };
    let parser = configured.as_deref().unwrap_or(unit.format.parser());
    let stager = Stager { job, target };
    let name = match attempt {
        Some(attempt) => format!("{}-{attempt}", unit.name),
        None => unit.name.clone(),
    };
    let staging = stager.staging(&name);
    let root = staging.local.join(&unit.table);
    let output = worker::convert_batch(job, parser, source, &unit.tasks, &root, &name, progress)?;
    crash_point("batch-written");
    let service = unit.format.to_string();
    let mut added = stager.stage(&staging, &service, &output.files, None)?;
    let rejects_folder = stager.rejects_folder(&unit.table);
    added.extend(stager.stage(
        &staging,
        &service,
        &output.rejects_files,
        rejects_folder.as_deref(),
    )?);
    if staging.upload {
        let _ = std::fs::remove_dir_all(&staging.local);
    }
    let counts = &output.counts;
    let archived: BTreeSet<&str> = output.archived.iter().map(String::as_str).collect();
    let is_read = |task: &&ObjectTask| !archived.contains(task.key.as_str());
    let mut tally = UnitTally {
        objects: (unit.tasks.len() - archived.len()) as u64,
        lines: counts.lines,
        rows: counts.rows - output.excluded_rows,
        rejects: counts.rejects - output.excluded_rejects,
        reject_reasons: output.reject_reasons.clone(),
        excluded: output.excluded_rows + output.excluded_rejects,
        skipped_lines: counts.skipped_lines,
        bytes_in: counts.bytes,
        source_bytes: unit.tasks.iter().filter(is_read).map(|t| t.size).sum(),
        cpu: output.cpu,
        ..UnitTally::default()
    };
    for file in output.files.iter().chain(&output.rejects_files) {
        tally.bytes_out += file.bytes;
        tally.files += 1;
    }
    tally.partitions = added
        .iter()
        .filter_map(|file| partition_of(&unit.table, &file.path))
        .collect();
    let covered = unit
        .tasks
        .iter()
        .filter(is_read)
        .map(|t| Coverage {
            url: source.url(&t.key),
            size: t.size,
            spans: t.todo.clone(),
        })
        .collect();
    Ok(UnitOutput {
        unit: unit.name.clone(),
        added,
        covered,
        archived: output.archived,
        tally,
    })
}

/// Where one unit's files are written before they are committed: straight into the target's
/// staging folder when the target is local; a local spool folder, uploaded to the staging
/// prefix, when it is S3.
pub(super) struct Staging {
    pub(super) local: PathBuf,
    pub(super) prefix: String,
    pub(super) upload: bool,
}

/// Stages a job's written files in its target.
pub(super) struct Stager<'a> {
    pub(super) job: &'a ConvertJob,
    pub(super) target: &'a Store,
}

impl Stager<'_> {
    pub(super) fn staging(&self, name: &str) -> Staging {
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
    pub(super) fn rejects_folder(&self, table: &str) -> Option<String> {
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
    pub(super) fn stage(
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
        if staging.upload {
            let uploads: Vec<(&Path, &str)> = files
                .iter()
                .zip(&committed)
                .map(|(file, committed)| (file.path.as_path(), committed.staged.as_str()))
                .collect();
            self.target.upload_all(&uploads)?;
            for file in files {
                std::fs::remove_file(&file.path).map_err(|e| SinkError::io(&file.path, e))?;
            }
        }
        Ok(committed)
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
