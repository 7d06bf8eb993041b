//! Job config files: the successor of the seed's `example_glue_jobs.json`. A TOML file with a
//! `[defaults]` table and one table per job; each job is its defaults overlaid with its own keys.
//! Unknown keys and bad values are errors that name the key and the line.
//!
//! ```toml
//! [defaults]
//! target_file_size = "256MiB"
//! endpoint_url = "http://127.0.0.1:5000"   # S3-compatible store or emulator
//!
//! [alb_prod]
//! service = "alb"
//! source = "s3://logs-bucket/AWSLogs/123456789012/elasticloadbalancing/"
//! target = "s3://lake-bucket/alb_logs/"
//! since = "2026-01-01"
//! ```

use std::path::Path;

use crate::pipeline::{ConvertJob, JobSpec};

/// A config file could not be read or is invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read config `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid config `{path}`: {message}")]
    Invalid { path: String, message: String },
    #[error("config `{path}` has no job named `{name}`; its jobs are: {known}")]
    UnknownJob {
        path: String,
        name: String,
        known: String,
    },
}

/// A named job of a config file.
#[derive(Debug, Clone)]
pub struct NamedJob {
    pub name: String,
    pub job: ConvertJob,
    /// The settings the job was built from (its table over `[defaults]`), which another process
    /// builds the same job from (a Spark executor).
    pub spec: JobSpec,
}

/// Reads `path` and returns its jobs, in file order of their names (sorted), or only those in
/// `names` (in the order given).
pub fn load(path: &Path, names: &[String]) -> Result<Vec<NamedJob>, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: shown.clone(),
        source,
    })?;
    parse(&text, &shown, names)
}

/// Parses config `text` (named `path` in messages).
pub fn parse(text: &str, path: &str, names: &[String]) -> Result<Vec<NamedJob>, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        path: path.to_owned(),
        message,
    };
    // Every top-level table is a job but `defaults`; deserializing them straight from the
    // document keeps toml's line numbers in the errors.
    let mut tables: std::collections::BTreeMap<String, toml::Spanned<JobSpec>> =
        toml::from_str(text).map_err(|e| invalid(one_line(&e.to_string())))?;
    let defaults = tables
        .remove("defaults")
        .map(toml::Spanned::into_inner)
        .unwrap_or_default();
    let mut jobs = Vec::new();
    for (name, table) in tables {
        let line = line_of(text, table.span().start);
        let merged = table.into_inner().overlay(&defaults, &name);
        let job = merged
            .clone()
            .build()
            .map_err(|m| invalid(format!("job `{name}` (line {line}): {m}")))?;
        jobs.push(NamedJob {
            name,
            job,
            spec: merged,
        });
    }
    if jobs.is_empty() {
        return Err(invalid(
            "no jobs: add a table such as `[alb_prod]` with service, source and target".into(),
        ));
    }
    crate::pipeline::check_jobs_apart(jobs.iter().map(|j| (j.name.as_str(), &j.job)))
        .map_err(invalid)?;
    if names.is_empty() {
        return Ok(jobs);
    }
    names
        .iter()
        .map(|name| {
            jobs.iter()
                .find(|j| &j.name == name)
                .cloned()
                .ok_or_else(|| ConfigError::UnknownJob {
                    path: path.to_owned(),
                    name: name.clone(),
                    known: jobs
                        .iter()
                        .map(|j| j.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
        })
        .collect()
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// toml's messages span several lines (a source excerpt); one line reads better in a terminal.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && *l != "|"
                && !l.starts_with('|')
                && !l.chars().all(|c| c == '^' || c == ' ')
        })
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use agsl_formats::Format;

    use super::*;
    use crate::catalog::CatalogKind;
    use crate::sink::PartitionLayout;
    use crate::storage::Location;

    const EXAMPLE: &str = r#"
[defaults]
target_file_size = "64MiB"
endpoint_url = "http://127.0.0.1:5000"

[alb_prod]
service = "alb"
source = "s3://logs/AWSLogs/"
target = "s3://lake/alb_logs"
since = "2026-01-01"

[everything]
service = "auto"
source = "/data/logs"
target = "/data/lake"
target_file_size = "1GB"
"#;

    #[test]
    fn jobs_overlay_their_defaults() {
        let jobs = parse(EXAMPLE, "agsl.toml", &[]).unwrap();
        let names: Vec<_> = jobs.iter().map(|j| j.name.as_str()).collect();
        assert_eq!(names, ["alb_prod", "everything"]);
        let alb = &jobs[0].job;
        assert_eq!(alb.format, Some(Format::Alb));
        assert_eq!(alb.writer.target_file_bytes, 64 << 20);
        assert_eq!(
            alb.storage.endpoint_url.as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert!(alb.window.since.is_some() && alb.window.until.is_none());
        let all = &jobs[1].job;
        assert_eq!(all.format, None);
        assert_eq!(all.writer.target_file_bytes, 1_000_000_000);
        assert_eq!(all.target, Location::Local("/data/lake".into()));
        let picked = parse(EXAMPLE, "agsl.toml", &["everything".into()]).unwrap();
        assert_eq!(picked.len(), 1);
    }

    #[test]
    fn catalog_keys_configure_the_tables() {
        let text = r#"
[defaults]
catalog = "glue"
database = "logs"
partition_projection = true

[alb_prod]
service = "alb"
source = "s3://logs/AWSLogs/"
target = "s3://lake/alb_logs"
table = "alb_logs"
raw_table = "alb_source"

[trial]
service = "auto"
source = "./logs"
target = "./lake"
catalog = "local"
"#;
        let jobs = parse(text, "agsl.toml", &[]).unwrap();
        let alb = &jobs[0].job.catalog;
        assert_eq!(alb.kind, CatalogKind::Glue);
        assert_eq!(alb.database.as_deref(), Some("logs"));
        assert_eq!(alb.table.as_deref(), Some("alb_logs"));
        assert_eq!(alb.raw_table.as_deref(), Some("alb_source"));
        assert_eq!(alb.raw_database, None);
        assert!(alb.partition_projection);
        let trial = &jobs[1].job.catalog;
        assert_eq!(trial.kind, CatalogKind::Local);
        assert_eq!(
            (trial.table.as_ref(), trial.database.as_deref()),
            (None, Some("logs"))
        );
        let bad = text.replace("\"glue\"", "\"hive\"");
        let error = parse(&bad, "agsl.toml", &[]).unwrap_err().to_string();
        assert!(
            error.contains("unknown catalog `hive`") && error.contains("line 3"),
            "{error}"
        );
        let bad = text.replace("alb_logs\"", "Alb-Logs\"");
        let error = parse(&bad, "agsl.toml", &[]).unwrap_err().to_string();
        assert!(
            error.contains("invalid name `Alb-Logs`") && error.contains("line 11"),
            "{error}"
        );
        let bad = text.replace("catalog = \"local\"", "table = \"x\"");
        let error = parse(&bad, "agsl.toml", &[]).unwrap_err().to_string();
        assert!(
            error.contains("keys `table`/`raw_table`") && error.contains("with service `auto`"),
            "{error}"
        );
    }

    #[test]
    fn rejects_and_partitioning_keys() {
        let text = r#"
[defaults]
rejects = "s3://quarantine/agsl"
partitioning = "account"

[org_trail]
service = "cloudtrail"
source = "s3://logs/AWSLogs/o-abc123/"
target = "s3://lake/cloudtrail"

[cdn]
service = "cloudfront"
source = "s3://logs/cdn/"
target = "s3://lake/cloudfront"
account_id = "123456789012"
rejects = "s3://lake/cloudfront/_bad"
"#;
        let jobs = parse(text, "agsl.toml", &[]).unwrap();
        let (cdn, trail) = (&jobs[0].job, &jobs[1].job);
        assert_eq!(
            trail.rejects,
            Some(Location::parse("s3://quarantine/agsl/org_trail").unwrap())
        );
        assert_eq!(trail.partitioning, PartitionLayout::Account);
        assert_eq!(trail.account_id, None);
        assert_eq!(
            cdn.rejects,
            Some(Location::parse("s3://lake/cloudfront/_bad").unwrap())
        );
        assert_eq!(cdn.account_id.as_deref(), Some("123456789012"));
        let bad = text.replace("\"account\"", "\"dt\"");
        let error = parse(&bad, "agsl.toml", &[]).unwrap_err().to_string();
        assert!(
            error.contains("unknown partitioning `dt`") && error.contains("line 4"),
            "{error}"
        );
        let bad = text.replace("123456789012", "12345");
        let error = parse(&bad, "agsl.toml", &[]).unwrap_err().to_string();
        assert!(
            error.contains("`12345` is not 12 digits") && error.contains("line 15"),
            "{error}"
        );
        // Rejects inside the table would be read as rows.
        let bad = text.replace("cloudfront/_bad", "cloudfront/bad");
        let error = parse(&bad, "agsl.toml", &[]).unwrap_err().to_string();
        assert!(
            error.contains("job `cdn`") && error.contains("inside the table"),
            "{error}"
        );
        let bad = text.replace("partitioning = \"account\"\n", "");
        let error = parse(&bad, "agsl.toml", &[]).unwrap_err().to_string();
        assert!(error.contains("for the account partitioning"), "{error}");
    }

    #[test]
    fn jobs_no_target_could_take_together_are_refused_before_any_runs() {
        let config = |first: &str, second: &str| {
            format!(
                "[a]\nservice = \"alb\"\nsource = \"s3://logs/a/\"\ntarget = \"{first}\"\n\
                 [b]\nservice = \"{second}\"\nsource = \"s3://logs/b/\"\ntarget = \"s3://lake/alb\"\n"
            )
        };
        // One service from two sources into one target, or targets side by side: fine.
        for (first, second) in [
            ("s3://lake/alb", "alb"),
            ("s3://lake/alb/", "alb"),
            ("s3://lake/alb2", "elb"),
            ("s3://other/alb", "elb"),
        ] {
            let text = config(first, second);
            assert_eq!(parse(&text, "agsl.toml", &[]).unwrap().len(), 2, "{text}");
        }
        let refused = [
            (
                "s3://lake/alb",
                "elb",
                "jobs `a` (alb) and `b` (elb) convert into the same target `s3://lake/alb`",
            ),
            (
                "s3://lake/alb",
                "auto",
                "jobs `a` (alb) and `b` (auto) convert into the same target",
            ),
            (
                "s3://lake",
                "alb",
                "the targets of jobs `a` (`s3://lake`) and `b` (`s3://lake/alb`) are one inside the other",
            ),
            ("s3://lake/alb/x", "alb", "are one inside the other"),
        ];
        for (first, second, expected) in refused {
            let error = parse(&config(first, second), "agsl.toml", &["a".into()])
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{error}");
        }
        let local = "[a]\nservice = \"alb\"\nsource = \"/logs/a\"\ntarget = \"/lake\"\n\
                     [b]\nservice = \"alb\"\nsource = \"/logs/b\"\ntarget = \"/lake/./b\"\n";
        let error = parse(local, "agsl.toml", &[]).unwrap_err().to_string();
        assert!(error.contains("one inside the other"), "{error}");
    }

    #[test]
    fn a_plain_delivery_names_its_fields_in_the_job() {
        let text = "[cdn]\nservice = \"cloudfront_v2\"\nsource = \"/logs\"\ntarget = \"/lake\"\nrecord_fields = \"date,time,c-ip\"\nfield_delimiter = \"|\"\n";
        let jobs = parse(text, "agsl.toml", &[]).unwrap();
        let fields = jobs[0].job.record_fields.clone().unwrap();
        assert_eq!(fields.names, ["date", "time", "c-ip"]);
        assert_eq!(fields.delimiter, b'|');
        let bad = text.replace("c-ip", "c-ipp");
        let error = parse(&bad, "agsl.toml", &[]).unwrap_err().to_string();
        assert!(
            error.contains("`record_fields`") && error.contains("c-ipp"),
            "{error}"
        );
    }

    #[test]
    fn errors_name_the_key_and_line() {
        let typo = EXAMPLE.replace("since =", "snice =");
        let error = parse(&typo, "agsl.toml", &[]).unwrap_err().to_string();
        assert!(
            error.contains("unknown field `snice`") && error.contains("line 10"),
            "{error}"
        );
        assert!(!error.contains('\n'), "{error}");
        let bad_service = EXAMPLE.replace("\"alb\"", "\"alp\"");
        let error = parse(&bad_service, "agsl.toml", &[])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("unknown service `alp`") && error.contains("line 7"),
            "{error}"
        );
        let bad_size = EXAMPLE.replace("\"64MiB\"", "\"64 parsecs\"");
        let error = parse(&bad_size, "agsl.toml", &[]).unwrap_err().to_string();
        assert!(
            error.contains("unknown size unit") && error.contains("line 3"),
            "{error}"
        );
        let error = parse(EXAMPLE, "agsl.toml", &["nope".into()])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("no job named `nope`") && error.contains("alb_prod"),
            "{error}"
        );
        let missing = "[job]\nservice = \"alb\"\n";
        let error = parse(missing, "agsl.toml", &[]).unwrap_err().to_string();
        assert!(error.contains("missing key `source`"), "{error}");
    }
}
