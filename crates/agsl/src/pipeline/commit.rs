//! Committing a run's work: each service's objects are converted in batches of bounded size;
//! a batch's files are staged, its record appended to the commit log with a conditional
//! create, and only then are the files moved into their partitions (see [`crate::state`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use agsl_formats::Format;

use super::plan::ObjectTask;
use super::{ConvertJob, Progress, RunSummary, unix_seconds, worker};
use crate::error::{Result, SinkError};
use crate::faults::crash_point;
use crate::sink::{WrittenFile, is_rejects_file};
use crate::source::Source;
use crate::state::{
    Commit, CommitLog, CommittedFile, Coverage, FileEntry, STAGING_DIR, SourceRows, TargetLock,
};
use crate::storage::{Location, Store, join_key, location_url};

/// Stages, commits and publishes the work of one run.
pub(super) struct Committer<'a> {
    pub(super) job: &'a ConvertJob,
    pub(super) target: &'a Store,
    pub(super) lock: &'a TargetLock,
    pub(super) run: &'a str,
}

/// Where one commit's files are written before they are committed: straight into the target's
/// staging folder when the target is local; a local spool folder, uploaded to the staging
/// prefix, when it is S3.
pub(super) struct Staging {
    pub(super) local: PathBuf,
    pub(super) prefix: String,
    pub(super) upload: bool,
}

impl Committer<'_> {
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
    pub(super) fn commit(&self, log: &mut CommitLog, commit: Commit) -> Result<u64> {
        self.lock.check()?;
        Ok(log.commit(commit)?)
    }

    /// Converts one service's objects in commits of about `job.commit_bytes` stored bytes.
    pub(super) fn convert_service(
        &self,
        format: Format,
        source: &Source,
        tasks: Vec<ObjectTask>,
        log: &mut CommitLog,
        progress: &Progress,
    ) -> Result<RunSummary> {
        let started = Instant::now();
        // A configured field list (CloudFront v2's `plain` output), checked when the job was built.
        let configured = match &self.job.record_fields {
            Some(fields) => Some(
                format
                    .parser()
                    .with_field_list(fields)
                    .map_err(crate::Error::InvalidJob)?,
            ),
            None => None,
        };
        let parser = configured.as_deref().unwrap_or(format.parser());
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
