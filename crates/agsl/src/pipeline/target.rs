//! What a target may take. A target holds one table (`--service alb`) or, with `--service
//! auto`, one folder per table; in one partition layout; under one `_agsl/` state. A run that
//! would break any of this is refused before it converts anything (a target's own run history
//! records the refusal; a target it is not yet gets no state at all):
//! - another service's files in a table, or two partition layouts, are read back as one table
//!   by every engine that reads the folder (Spark, DuckDB, Trino, Athena's projection);
//! - a target inside another (or holding one as a table folder) has two ledgers over the same
//!   files, so the objects both know convert twice;
//! - a target holding its own source would hold the logs in its table. (A target inside its
//!   source is fine: the source's listing leaves it out.)

use agsl_formats::Format;

use crate::sink::{PartitionLayout, TablePartitioning, is_rejects_file};
use crate::state::{Ledger, STATE_DIR};
use crate::storage::{Location, Store, join_key, location_url};

use super::ConvertJob;
use super::job::relative_below;

/// Why a target cannot take a job. Each says what the target holds and what to do instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetConflict {
    #[error(
        "target `{target}` holds the {held} table, not {service}'s; convert {service} into a \
         target of its own"
    )]
    OtherService {
        target: String,
        held: String,
        service: Format,
    },
    #[error(
        "target `{target}` holds the tables of --service auto (e.g. `{folder}/`); convert with \
         --service auto, or {service} into a target of its own"
    )]
    AutoTarget {
        target: String,
        folder: String,
        service: Format,
    },
    #[error(
        "target `{target}` holds the {held} table of --service {held}, not a folder per \
         table; convert --service auto into a target of its own"
    )]
    OneServiceTarget { target: String, held: String },
    #[error(
        "target `{target}` holds tables in the {held} partitioning (e.g. `{path}`), not \
         {wanted}; keep --partitioning {held}, or convert into a new target"
    )]
    Layout {
        target: String,
        held: PartitionLayout,
        path: String,
        wanted: PartitionLayout,
    },
    #[error("source and target are the same, `{target}`; convert into a folder of its own")]
    SourceIsTarget { target: String },
    #[error(
        "source `{logs}` is inside the target `{target}`, whose table would hold the logs; \
         convert into a folder of its own"
    )]
    SourceInside { logs: String, target: String },
    #[error(
        "target `{target}` is inside the agsl target `{outer}`; convert into that one, or into a \
         folder outside it"
    )]
    InsideTarget { target: String, outer: String },
    #[error(
        "target `{target}` holds the agsl target `{inner}` in a folder; convert into that one, or \
         into a folder outside this one"
    )]
    HoldsTarget { target: String, inner: String },
}

/// Refuses a job that the target's committed files do not fit: another service's table, the
/// other kind of target (one table, or `auto`'s folders), or another partition layout.
pub(crate) fn check_holdings(job: &ConvertJob, ledger: &Ledger) -> Result<(), TargetConflict> {
    check_tables(job, ledger)?;
    check_layout(job, ledger)
}

/// Refuses a job for a service the target holds no table of, when it holds another's, and a
/// one-service job for `auto`'s target or the other way round.
pub(crate) fn check_tables(job: &ConvertJob, ledger: &Ledger) -> Result<(), TargetConflict> {
    let target = || job.target.to_string();
    for (service, folder) in ledger.tables() {
        match (job.format, folder) {
            (Some(format), _) if service != format.keyword() => {
                return Err(TargetConflict::OtherService {
                    target: target(),
                    held: service.to_owned(),
                    service: format,
                });
            }
            (Some(format), Some(folder)) if !folder.is_empty() => {
                return Err(TargetConflict::AutoTarget {
                    target: target(),
                    folder: folder.to_owned(),
                    service: format,
                });
            }
            (None, Some("")) => {
                return Err(TargetConflict::OneServiceTarget {
                    target: target(),
                    held: service.to_owned(),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// Refuses a partition layout other than the one the target's committed files have.
fn check_layout(job: &ConvertJob, ledger: &Ledger) -> Result<(), TargetConflict> {
    match committed_layout(job, ledger) {
        Some((held, path)) if held != job.partitioning => Err(TargetConflict::Layout {
            target: job.target.to_string(),
            held,
            path: path.to_owned(),
            wanted: job.partitioning,
        }),
        _ => Ok(()),
    }
}

/// The partition layout of the target's committed table files, with one of them as example.
/// One file tells it, as every run checks the layout before it writes.
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

/// Refuses a target that holds its own source, a target inside another agsl target, and one
/// that holds another in a folder of its own (not a partition's, not `_…`). Checked before a
/// run writes its first state, so nothing is left in the other target; once the target has
/// state the nesting is not checked again, as a target made later inside or around it is
/// refused by its own first run. `target` is `None` for a local folder a dry run found missing.
pub(crate) fn check_placement(job: &ConvertJob, target: Option<&Store>) -> crate::Result<()> {
    check_source_outside(job)?;
    if let Some(target) = target
        && target.any_below(STATE_DIR)?
    {
        return Ok(());
    }
    check_outer_targets(job, target)?;
    match target {
        Some(target) => check_inner_targets(job, target),
        None => Ok(()),
    }
}

/// Refuses a source inside the target, or the same: once the target has state, the source's
/// listing would leave all of it out.
fn check_source_outside(job: &ConvertJob) -> Result<(), TargetConflict> {
    match relative_below(&job.source, &job.target).as_deref() {
        Some("") => Err(TargetConflict::SourceIsTarget {
            target: job.target.to_string(),
        }),
        Some(_) => Err(TargetConflict::SourceInside {
            logs: job.source.to_string(),
            target: job.target.to_string(),
        }),
        None => Ok(()),
    }
}

/// Refuses a target below a folder or prefix holding `_agsl/`. On S3 a prefix the credentials
/// may not list is passed over: a policy may let a run list its target's prefix and no more.
fn check_outer_targets(job: &ConvertJob, target: Option<&Store>) -> crate::Result<()> {
    let inside = |outer: &Location| TargetConflict::InsideTarget {
        target: job.target.to_string(),
        outer: outer.to_string(),
    };
    match (&job.target, target) {
        (Location::Local(path), _) => {
            let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            for outer in path.ancestors().skip(1) {
                if outer.join(STATE_DIR).is_dir() {
                    return Err(inside(&Location::Local(outer.to_owned())).into());
                }
            }
        }
        (Location::S3 { bucket, prefix }, Some(target)) => {
            for outer in outer_prefixes(prefix) {
                let outer = Location::S3 {
                    bucket: bucket.clone(),
                    prefix: outer.to_owned(),
                };
                let (bucket_store, key) = target.resolve(&location_url(&outer))?;
                match bucket_store.any_below(&join_key(&key, STATE_DIR)) {
                    Ok(true) => return Err(inside(&outer).into()),
                    Ok(false) => {}
                    Err(error) if error.is_access_denied() => {
                        tracing::debug!(%outer, "may not list above the target; not checked");
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        }
        (Location::S3 { .. }, None) => {}
    }
    Ok(())
}

/// Refuses a target with an agsl target in one of its folders.
fn check_inner_targets(job: &ConvertJob, target: &Store) -> crate::Result<()> {
    let (folders, _) = target.list_level("")?;
    for folder in folders {
        let name = folder.trim_end_matches('/');
        if name.starts_with('_') || name.contains('=') {
            continue;
        }
        if target.any_below(&join_key(name, STATE_DIR))? {
            return Err(TargetConflict::HoldsTarget {
                target: job.target.to_string(),
                inner: job.target.join(name).to_string(),
            }
            .into());
        }
    }
    Ok(())
}

/// Refuses jobs of one config file that no target could take together, before any of them
/// runs: two services (or one and `auto`) into one target, or one job's target inside
/// another's. Each job alone would pass the checks above until the other had run. Jobs of
/// one service into one target (from two sources, say) are fine.
pub(crate) fn check_jobs_apart<'a>(
    jobs: impl IntoIterator<Item = (&'a str, &'a ConvertJob)>,
) -> Result<(), String> {
    let jobs: Vec<_> = jobs.into_iter().collect();
    let service = |job: &ConvertJob| job.format.map_or("auto".to_owned(), |f| f.to_string());
    for (i, &(name, job)) in jobs.iter().enumerate() {
        for &(other_name, other) in &jobs[..i] {
            let below = relative_below(&job.target, &other.target);
            let same = below.as_deref() == Some("");
            let nested = below.is_some() || relative_below(&other.target, &job.target).is_some();
            if same && job.format != other.format {
                return Err(format!(
                    "jobs `{other_name}` ({}) and `{name}` ({}) convert into the same target \
                     `{}`, which holds one service's table; give each a target of its own",
                    service(other),
                    service(job),
                    job.target
                ));
            }
            if nested && !same {
                return Err(format!(
                    "the targets of jobs `{other_name}` (`{}`) and `{name}` (`{}`) are one inside \
                     the other, and would convert the same objects twice; give each a folder of \
                     its own",
                    other.target, job.target
                ));
            }
        }
    }
    Ok(())
}

/// The prefixes that hold `prefix` in its bucket, nearest first, down to the bucket's root.
fn outer_prefixes(prefix: &str) -> Vec<&str> {
    let mut outer = Vec::new();
    let mut rest = prefix.trim_matches('/');
    while !rest.is_empty() {
        rest = rest.rsplit_once('/').map_or("", |(parent, _)| parent);
        outer.push(rest);
    }
    outer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_may_be_inside_its_source_but_not_hold_it() {
        let job = |source: &str, target: &str| {
            let location = |text| Location::parse(text).unwrap();
            ConvertJob::new(Format::Alb, location(source), location(target))
        };
        let placement = |source, target| check_placement(&job(source, target), None);
        assert!(matches!(
            placement("s3://lake/alb", "s3://lake/alb"),
            Err(crate::Error::Target(TargetConflict::SourceIsTarget { .. }))
        ));
        assert!(matches!(
            placement("s3://lake/alb/logs", "s3://lake/alb"),
            Err(crate::Error::Target(TargetConflict::SourceInside { .. }))
        ));
        assert!(placement("s3://lake", "s3://lake/alb").is_ok());
    }

    #[test]
    fn outer_prefixes_go_up_to_the_bucket_root() {
        assert_eq!(outer_prefixes("a/b/c"), ["a/b", "a", ""]);
        assert_eq!(outer_prefixes("a"), [""]);
        assert!(outer_prefixes("").is_empty());
    }
}
