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
use std::time::Duration;

use agsl_formats::{ServiceChoice, UnknownServiceChoice};
use serde::{Deserialize, Deserializer};

use crate::catalog::{CatalogKind, CatalogOptions};
use crate::pipeline::ConvertJob;
use crate::sink::{PartitionLayout, WriterOptions};
use crate::storage::Location;
use crate::window::TimeWindow;

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

/// The keys a job (or `[defaults]`) may set; all optional until merged.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobTable {
    #[serde(default, deserialize_with = "service")]
    service: Option<ServiceChoice>,
    #[serde(default, deserialize_with = "location")]
    source: Option<Location>,
    #[serde(default, deserialize_with = "location")]
    target: Option<Location>,
    endpoint_url: Option<String>,
    region: Option<String>,
    sse: Option<String>,
    sse_kms_key_id: Option<String>,
    #[serde(default, deserialize_with = "instant")]
    since: Option<String>,
    #[serde(default, deserialize_with = "instant")]
    until: Option<String>,
    reprocess: Option<bool>,
    full_listing: Option<bool>,
    #[serde(default, deserialize_with = "size")]
    target_file_size: Option<u64>,
    #[serde(default, deserialize_with = "zstd_level")]
    zstd_level: Option<i32>,
    #[serde(default, deserialize_with = "positive")]
    workers: Option<usize>,
    #[serde(default, deserialize_with = "size")]
    commit_size: Option<u64>,
    #[serde(default, deserialize_with = "positive")]
    fetch_concurrency: Option<usize>,
    #[serde(default, deserialize_with = "size")]
    fetch_buffer: Option<u64>,
    #[serde(default, deserialize_with = "positive")]
    lock_timeout_seconds: Option<usize>,
    #[serde(default, deserialize_with = "catalog_kind")]
    catalog: Option<CatalogKind>,
    #[serde(default, deserialize_with = "name")]
    database: Option<String>,
    #[serde(default, deserialize_with = "name")]
    table: Option<String>,
    #[serde(default, deserialize_with = "name")]
    raw_database: Option<String>,
    #[serde(default, deserialize_with = "name")]
    raw_table: Option<String>,
    partition_projection: Option<bool>,
    #[serde(default, deserialize_with = "partitioning")]
    partitioning: Option<PartitionLayout>,
    #[serde(default, deserialize_with = "account_id")]
    account_id: Option<String>,
    #[serde(default, deserialize_with = "location")]
    rejects: Option<Location>,
}

impl JobTable {
    /// The job `name`'s keys over `defaults`.
    fn overlay(self, defaults: &JobTable, name: &str) -> JobTable {
        let d = defaults.clone();
        JobTable {
            service: self.service.or(d.service),
            source: self.source.or(d.source),
            target: self.target.or(d.target),
            endpoint_url: self.endpoint_url.or(d.endpoint_url),
            region: self.region.or(d.region),
            sse: self.sse.or(d.sse),
            sse_kms_key_id: self.sse_kms_key_id.or(d.sse_kms_key_id),
            since: self.since.or(d.since),
            until: self.until.or(d.until),
            reprocess: self.reprocess.or(d.reprocess),
            full_listing: self.full_listing.or(d.full_listing),
            target_file_size: self.target_file_size.or(d.target_file_size),
            zstd_level: self.zstd_level.or(d.zstd_level),
            workers: self.workers.or(d.workers),
            commit_size: self.commit_size.or(d.commit_size),
            fetch_concurrency: self.fetch_concurrency.or(d.fetch_concurrency),
            fetch_buffer: self.fetch_buffer.or(d.fetch_buffer),
            lock_timeout_seconds: self.lock_timeout_seconds.or(d.lock_timeout_seconds),
            catalog: self.catalog.or(d.catalog),
            database: self.database.or(d.database),
            // Table names belong to one job: a default would give every job the same table.
            table: self.table,
            raw_database: self.raw_database.or(d.raw_database),
            raw_table: self.raw_table,
            partition_projection: self.partition_projection.or(d.partition_projection),
            partitioning: self.partitioning.or(d.partitioning),
            account_id: self.account_id.or(d.account_id),
            // A default rejects location gets one folder per job, named after it.
            rejects: self.rejects.or_else(|| d.rejects.map(|r| r.join(name))),
        }
    }
}

/// A named job of a config file.
#[derive(Debug, Clone)]
pub struct NamedJob {
    pub name: String,
    pub job: ConvertJob,
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
    let mut tables: std::collections::BTreeMap<String, toml::Spanned<JobTable>> =
        toml::from_str(text).map_err(|e| invalid(one_line(&e.to_string())))?;
    let defaults = tables
        .remove("defaults")
        .map(toml::Spanned::into_inner)
        .unwrap_or_default();
    let mut jobs = Vec::new();
    for (name, table) in tables {
        let line = line_of(text, table.span().start);
        let merged = table.into_inner().overlay(&defaults, &name);
        let job = build(merged).map_err(|m| invalid(format!("job `{name}` (line {line}): {m}")))?;
        jobs.push(NamedJob { name, job });
    }
    if jobs.is_empty() {
        return Err(invalid(
            "no jobs: add a table such as `[alb_prod]` with service, source and target".into(),
        ));
    }
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

fn build(table: JobTable) -> Result<ConvertJob, String> {
    let service = table.service.ok_or("missing key `service`")?;
    let source = table.source.ok_or("missing key `source`")?;
    let target = table.target.ok_or("missing key `target`")?;
    let mut job = ConvertJob::new(service.format(), source, target);
    job.storage.endpoint_url = table.endpoint_url;
    if let Some(region) = &table.region {
        crate::storage::check_region(region)
            .map_err(|message| format!("key `region`: {message}"))?;
    }
    job.storage.region = table.region;
    job.storage.encryption =
        crate::storage::Encryption::parse(table.sse.as_deref(), table.sse_kms_key_id)
            .map_err(|message| format!("key `sse`: {message}"))?;
    job.window = TimeWindow::new(table.since.as_deref(), table.until.as_deref())?;
    job.reprocess = table.reprocess.unwrap_or(false);
    job.full_listing = table.full_listing.unwrap_or(false);
    let mut writer = WriterOptions::default();
    if let Some(bytes) = table.target_file_size {
        writer = writer.with_target_file_bytes(bytes);
    }
    if let Some(level) = table.zstd_level {
        writer = writer.with_zstd_level(level).map_err(|e| e.to_string())?;
    }
    job.writer = writer;
    if let Some(workers) = table.workers {
        job.workers = workers;
    }
    if let Some(bytes) = table.commit_size {
        job.commit_bytes = bytes;
    }
    if let Some(concurrency) = table.fetch_concurrency {
        job.fetch.concurrency = concurrency;
    }
    if let Some(bytes) = table.fetch_buffer {
        job.fetch.buffer_bytes = bytes;
    }
    if let Some(seconds) = table.lock_timeout_seconds {
        job.lock_stale_after = Duration::from_secs(seconds as u64);
    }
    if job.format.is_none() && (table.table.is_some() || table.raw_table.is_some()) {
        return Err(
            "`table` and `raw_table` name one service's tables; not with service `auto`".into(),
        );
    }
    job.catalog = CatalogOptions {
        kind: table.catalog.unwrap_or_default(),
        database: table.database,
        table: table.table,
        raw_database: table.raw_database,
        raw_table: table.raw_table,
        partition_projection: table.partition_projection.unwrap_or(false),
    };
    job.partitioning = table.partitioning.unwrap_or_default();
    job.account_id = table.account_id;
    job.rejects = table.rejects;
    job.validate()?;
    Ok(job)
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

fn parse_string<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text).map(Some).map_err(serde::de::Error::custom)
}

fn service<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ServiceChoice>, D::Error> {
    parse_string(d, |text| {
        text.parse()
            .map_err(|e: UnknownServiceChoice| e.to_string())
    })
}

fn catalog_kind<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CatalogKind>, D::Error> {
    parse_string(d, str::parse)
}

fn partitioning<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PartitionLayout>, D::Error> {
    parse_string(d, str::parse)
}

fn account_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    parse_string(d, |text| {
        agsl_formats::is_account_id(text)
            .then(|| text.to_owned())
            .ok_or_else(|| format!("account id `{text}` is not 12 digits"))
    })
}

fn name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    parse_string(d, |text| {
        crate::catalog::check_name(text).map(|()| text.to_owned())
    })
}

fn location<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Location>, D::Error> {
    parse_string(d, |text| Location::parse(text).map_err(|e| e.to_string()))
}

fn instant<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    parse_string(d, |text| {
        TimeWindow::new(Some(text), None).map(|_| text.to_owned())
    })
}

fn size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    parse_string(d, parse_size)
}

fn zstd_level<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    let level = i64::deserialize(d)?;
    (1..=22)
        .contains(&level)
        .then_some(Some(level as i32))
        .ok_or_else(|| serde::de::Error::custom(format!("zstd_level {level} is not in 1..=22")))
}

fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let value = i64::deserialize(d)?;
    usize::try_from(value)
        .ok()
        .filter(|v| *v > 0)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("{value} must be a positive number")))
}

/// Parses `300MB`, `256MiB`, `1GB`, `1024` (bytes): decimal and binary units.
pub fn parse_size(value: &str) -> Result<u64, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("invalid size `{value}`; use e.g. 256MiB or 1GB"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit `{other}`; use KB, MB, GB, KiB, MiB or GiB"
            ));
        }
    };
    let bytes = number * multiplier as f64;
    if bytes < 1.0 {
        return Err(format!("size `{value}` must be at least 1 byte"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use agsl_formats::Format;

    use super::*;

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
    fn sizes() {
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("300MB"), Ok(300_000_000));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("1024"), Ok(1024));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("MB").is_err());
        assert!(parse_size("0").is_err());
    }

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
        assert!(error.contains("not with service `auto`"), "{error}");
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
