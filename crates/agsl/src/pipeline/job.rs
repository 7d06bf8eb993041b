//! A conversion job: [`ConvertJob`], what the pipeline runs, and [`JobSpec`], the one builder
//! every front end (the CLI, TOML job files, Python) fills and validates it through, so options
//! map to a job, and are checked, in one place.

use std::path::Path;
use std::time::Duration;

use agsl_formats::{FieldList, Format, ServiceChoice, UnknownServiceChoice};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::catalog::{CatalogKind, CatalogOptions};
use crate::sink::{PartitionLayout, WriterOptions};
use crate::source::FetchOptions;
use crate::storage::{Encryption, Location, StorageOptions};
use crate::window::TimeWindow;

/// Most rows per Arrow batch handed from a decoder to the writer; formats with long lines
/// batch fewer ([`agsl_formats::FormatInfo::batch_rows`]).
pub const DEFAULT_BATCH_SIZE: usize = 8192;
/// Stored (compressed) source bytes converted per commit: a crash costs at most this much
/// work again, and files stay large.
pub const DEFAULT_COMMIT_BYTES: u64 = 1 << 30;
/// How old an S3 lock's heartbeat may get before another run may take the lock over.
pub const DEFAULT_LOCK_STALE_AFTER: Duration = Duration::from_secs(300);

/// What to convert, from where, to where, and how.
#[derive(Debug, Clone)]
pub struct ConvertJob {
    /// The service to convert; `None` detects it per object (`--service auto`).
    pub format: Option<Format>,
    pub source: Location,
    pub target: Location,
    pub storage: StorageOptions,
    /// Objects converted at once; defaults to the number of cores.
    pub workers: usize,
    /// On S3: GETs in flight ahead of the workers, and the bytes they may buffer.
    pub fetch: FetchOptions,
    /// Most rows per batch; a format whose lines are long batches fewer.
    pub batch_size: usize,
    pub writer: WriterOptions,
    /// Objects (by key date) and records (by event time) to convert; unbounded by default.
    pub window: TimeWindow,
    /// Convert the window again, replacing what earlier runs wrote for it.
    pub reprocess: bool,
    /// Plan only: report what would be converted, change nothing.
    pub dry_run: bool,
    /// List the whole source even when an earlier run listed most of it (finds objects that
    /// arrived with old dates).
    pub full_listing: bool,
    /// Skip objects S3 keeps archived (Glacier Flexible Retrieval, Deep Archive, the archive
    /// tiers of Intelligent-Tiering) instead of failing the run on them. They are counted and
    /// never recorded as converted, so they convert once restored.
    pub skip_archived: bool,
    pub commit_bytes: u64,
    pub lock_stale_after: Duration,
    /// The catalog that gets the raw and converted tables and their partitions.
    pub catalog: CatalogOptions,
    /// The converted tables' partition layout: the seed's, or led by `account_id`.
    pub partitioning: PartitionLayout,
    /// With the account layout: the account of objects whose key names none (CloudFront,
    /// simple-layout S3 access logs).
    pub account_id: Option<String>,
    /// Where rejects go; `None` keeps them in the target, under `_rejects/` (with `auto`,
    /// each table's own). A location of their own gets one folder per table with `auto`.
    pub rejects: Option<Location>,
    /// The fields of objects that do not name theirs (CloudFront v2's `plain` output) and the
    /// delimiter of text output, as the delivery was configured; one service only.
    pub record_fields: Option<FieldList>,
}

impl ConvertJob {
    pub fn new(
        format: impl Into<Option<Format>>,
        source: impl Into<Location>,
        target: impl Into<Location>,
    ) -> Self {
        Self {
            format: format.into(),
            source: source.into(),
            target: target.into(),
            storage: StorageOptions::default(),
            workers: std::thread::available_parallelism().map_or(2, usize::from),
            fetch: FetchOptions::default(),
            batch_size: DEFAULT_BATCH_SIZE,
            writer: WriterOptions::default(),
            window: TimeWindow::default(),
            reprocess: false,
            dry_run: false,
            full_listing: false,
            skip_archived: false,
            commit_bytes: DEFAULT_COMMIT_BYTES,
            lock_stale_after: DEFAULT_LOCK_STALE_AFTER,
            catalog: CatalogOptions::default(),
            partitioning: PartitionLayout::Seed,
            account_id: None,
            rejects: None,
            record_fields: None,
        }
    }

    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    pub fn with_writer_options(mut self, writer: WriterOptions) -> Self {
        self.writer = writer;
        self
    }

    pub fn with_window(mut self, window: TimeWindow) -> Self {
        self.window = window;
        self
    }

    /// Refuses settings that cannot work together, before anything is read or written.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(account) = &self.account_id {
            if !agsl_formats::is_account_id(account) {
                return Err(format!("account id `{account}` is not 12 digits"));
            }
            if self.partitioning != PartitionLayout::Account {
                return Err("an account id is for the account partitioning; add it".into());
            }
        }
        if let Some(rejects) = &self.rejects
            && let Some(below) = relative_below(rejects, &self.target)
            && !below.starts_with('_')
        {
            return Err(format!(
                "rejects location `{rejects}` is inside the table at `{}`, whose readers would \
                 take the rejects for rows; use a folder outside it or one starting with `_`",
                self.target
            ));
        }
        if let Some(rejects) = &self.rejects
            && relative_below(rejects, &self.source).is_some()
        {
            return Err(format!(
                "rejects location `{rejects}` is inside the source `{}`: its files would be                  listed as logs; use a folder outside it",
                self.source
            ));
        }
        Ok(())
    }
}

/// The path of `inner` below `outer` (empty if they are the same), `None` if it is not below.
pub(super) fn relative_below(inner: &Location, outer: &Location) -> Option<String> {
    match (inner, outer) {
        (Location::Local(inner), Location::Local(outer)) => {
            let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
            let below = absolute(inner);
            let below = below.strip_prefix(absolute(outer)).ok()?;
            Some(below.to_string_lossy().into_owned())
        }
        (
            Location::S3 { bucket, prefix },
            Location::S3 {
                bucket: outer_bucket,
                prefix: outer_prefix,
            },
        ) if bucket == outer_bucket => {
            if outer_prefix.is_empty() {
                return Some(prefix.clone());
            }
            match prefix.strip_prefix(outer_prefix.as_str()) {
                Some("") => Some(String::new()),
                Some(rest) => rest.strip_prefix('/').map(str::to_owned),
                None => None,
            }
        }
        _ => None,
    }
}

/// Every setting of a conversion as a front end received it: the keys of a TOML job (and of its
/// `[defaults]`), the CLI's flags, Python's keyword arguments. Each value is parsed into its
/// type where it is read (a location, a size, a service); [`JobSpec::build`] then checks them
/// together, once for every front end, and fills in the defaults. Unset means the default.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    #[serde(
        default,
        deserialize_with = "service",
        skip_serializing_if = "Option::is_none",
        serialize_with = "display"
    )]
    pub service: Option<ServiceChoice>,
    #[serde(
        default,
        deserialize_with = "location",
        skip_serializing_if = "Option::is_none",
        serialize_with = "location_text"
    )]
    pub source: Option<Location>,
    #[serde(
        default,
        deserialize_with = "location",
        skip_serializing_if = "Option::is_none",
        serialize_with = "location_text"
    )]
    pub target: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sse: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sse_kms_key_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "instant",
        skip_serializing_if = "Option::is_none"
    )]
    pub since: Option<String>,
    #[serde(
        default,
        deserialize_with = "instant",
        skip_serializing_if = "Option::is_none"
    )]
    pub until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reprocess: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_listing: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_archived: Option<bool>,
    #[serde(
        default,
        deserialize_with = "size",
        skip_serializing_if = "Option::is_none"
    )]
    pub target_file_size: Option<u64>,
    #[serde(
        default,
        deserialize_with = "zstd_level",
        skip_serializing_if = "Option::is_none"
    )]
    pub zstd_level: Option<i32>,
    #[serde(
        default,
        deserialize_with = "positive",
        skip_serializing_if = "Option::is_none"
    )]
    pub workers: Option<usize>,
    #[serde(
        default,
        deserialize_with = "size",
        skip_serializing_if = "Option::is_none"
    )]
    pub commit_size: Option<u64>,
    #[serde(
        default,
        deserialize_with = "positive",
        skip_serializing_if = "Option::is_none"
    )]
    pub fetch_concurrency: Option<usize>,
    #[serde(
        default,
        deserialize_with = "size",
        skip_serializing_if = "Option::is_none"
    )]
    pub fetch_buffer: Option<u64>,
    #[serde(
        default,
        deserialize_with = "positive",
        skip_serializing_if = "Option::is_none"
    )]
    pub lock_timeout_seconds: Option<usize>,
    #[serde(
        default,
        deserialize_with = "catalog_kind",
        skip_serializing_if = "Option::is_none",
        serialize_with = "display"
    )]
    pub catalog: Option<CatalogKind>,
    #[serde(
        default,
        deserialize_with = "name",
        skip_serializing_if = "Option::is_none"
    )]
    pub database: Option<String>,
    #[serde(
        default,
        deserialize_with = "name",
        skip_serializing_if = "Option::is_none"
    )]
    pub table: Option<String>,
    #[serde(
        default,
        deserialize_with = "name",
        skip_serializing_if = "Option::is_none"
    )]
    pub raw_database: Option<String>,
    #[serde(
        default,
        deserialize_with = "name",
        skip_serializing_if = "Option::is_none"
    )]
    pub raw_table: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition_projection: Option<bool>,
    #[serde(
        default,
        deserialize_with = "partitioning",
        skip_serializing_if = "Option::is_none",
        serialize_with = "display"
    )]
    pub partitioning: Option<PartitionLayout>,
    #[serde(
        default,
        deserialize_with = "account_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub account_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "location",
        skip_serializing_if = "Option::is_none",
        serialize_with = "location_text"
    )]
    pub rejects: Option<Location>,
    /// The delivery's `recordFields` for output that does not name its fields, separated by
    /// commas or spaces (CloudFront v2 `plain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_fields: Option<String>,
    /// The delivery's `fieldDelimiter` for that output, one character [default: TAB].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_delimiter: Option<String>,
}

impl JobSpec {
    /// The job `name`'s settings over `defaults` (a config file's `[defaults]` table).
    pub fn overlay(self, defaults: &JobSpec, name: &str) -> JobSpec {
        let d = defaults.clone();
        JobSpec {
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
            skip_archived: self.skip_archived.or(d.skip_archived),
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
            // A field list describes one delivery's objects, so one job's.
            record_fields: self.record_fields,
            field_delimiter: self.field_delimiter,
        }
    }

    /// The job these settings describe, or the first setting that is missing, malformed or at
    /// odds with another.
    ///
    /// ```
    /// use agsl::{InvalidJob, JobSpec, Location};
    ///
    /// let spec = JobSpec {
    ///     service: Some("cloudtrail".parse()?),
    ///     source: Some(Location::parse("s3://my-trail-bucket/AWSLogs/")?),
    ///     target: Some(Location::parse("s3://my-tables/cloudtrail/")?),
    ///     workers: Some(8),
    ///     ..JobSpec::default()
    /// };
    /// let job = spec.clone().build()?;
    /// assert_eq!((job.workers, job.dry_run), (8, false));
    ///
    /// let without_target = JobSpec { target: None, ..spec };
    /// assert!(matches!(without_target.build(), Err(InvalidJob::Missing("target"))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(self) -> Result<ConvertJob, InvalidJob> {
        let setting = |keys: &'static [&'static str]| {
            move |message: String| InvalidJob::Setting { keys, message }
        };
        let service = self.service.ok_or(InvalidJob::Missing("service"))?;
        let source = self.source.ok_or(InvalidJob::Missing("source"))?;
        let target = self.target.ok_or(InvalidJob::Missing("target"))?;
        let mut job = ConvertJob::new(service.format(), source, target);
        if let Some(region) = &self.region {
            crate::storage::check_region(region).map_err(setting(&["region"]))?;
        }
        job.storage = StorageOptions {
            endpoint_url: self.endpoint_url,
            region: self.region,
            encryption: Encryption::parse(self.sse.as_deref(), self.sse_kms_key_id)
                .map_err(setting(&["sse"]))?,
        };
        job.window = TimeWindow::new(self.since.as_deref(), self.until.as_deref())
            .map_err(setting(&["since", "until"]))?;
        job.reprocess = self.reprocess.unwrap_or(false);
        job.full_listing = self.full_listing.unwrap_or(false);
        job.skip_archived = self.skip_archived.unwrap_or(false);
        let mut writer = WriterOptions::default();
        if let Some(bytes) = self.target_file_size {
            writer = writer.with_target_file_bytes(bytes);
        }
        if let Some(level) = self.zstd_level {
            writer = writer
                .with_zstd_level(level)
                .map_err(|e| setting(&["zstd_level"])(e.to_string()))?;
        }
        job.writer = writer;
        if let Some(workers) = self.workers {
            job.workers = workers;
        }
        if let Some(bytes) = self.commit_size {
            job.commit_bytes = bytes;
        }
        if let Some(concurrency) = self.fetch_concurrency {
            job.fetch.concurrency = concurrency;
        }
        if let Some(bytes) = self.fetch_buffer {
            job.fetch.buffer_bytes = bytes;
        }
        if let Some(seconds) = self.lock_timeout_seconds {
            job.lock_stale_after = Duration::from_secs(seconds as u64);
        }
        if job.format.is_none() && (self.table.is_some() || self.raw_table.is_some()) {
            return Err(InvalidJob::Setting {
                keys: &["table", "raw_table"],
                message: "they name one service's tables; with service `auto` each service \
                          gets the seed's table names"
                    .into(),
            });
        }
        job.catalog = CatalogOptions {
            kind: self.catalog.unwrap_or_default(),
            database: self.database,
            table: self.table,
            raw_database: self.raw_database,
            raw_table: self.raw_table,
            partition_projection: self.partition_projection.unwrap_or(false),
        };
        job.partitioning = self.partitioning.unwrap_or_default();
        job.account_id = self.account_id;
        job.rejects = self.rejects;
        job.record_fields = match (self.record_fields, self.field_delimiter) {
            (None, None) => None,
            (names, delimiter) => {
                let names = names.unwrap_or_default();
                let fields = FieldList::parse(&names, delimiter.as_deref())
                    .map_err(setting(&["record_fields", "field_delimiter"]))?;
                let format = job.format.ok_or_else(|| InvalidJob::Setting {
                    keys: &["record_fields", "field_delimiter"],
                    message: "they describe one service's objects; not with service `auto`".into(),
                })?;
                format
                    .parser()
                    .with_field_list(&fields)
                    .map_err(setting(&["record_fields", "field_delimiter"]))?;
                Some(fields)
            }
        };
        job.validate().map_err(InvalidJob::Combination)?;
        Ok(job)
    }
}

/// Why a [`JobSpec`] does not make a job. Front ends name the settings their own way:
/// [`Display`](std::fmt::Display) uses config keys (`key \`sse\``), [`InvalidJob::with_flags`]
/// the CLI's flags (`--sse`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidJob {
    #[error("missing key `{0}`")]
    Missing(&'static str),
    /// A value that cannot be used, or settings that do not go together.
    #[error("{}: {message}", shown_keys(keys))]
    Setting {
        keys: &'static [&'static str],
        message: String,
    },
    /// Settings that cannot work together (checked by [`ConvertJob::validate`]).
    #[error("{0}")]
    Combination(String),
}

impl InvalidJob {
    /// The message with settings named as command-line flags (`--since/--until: …`).
    pub fn with_flags(&self) -> String {
        match self {
            InvalidJob::Missing(key) => format!("missing {}", flag(key)),
            InvalidJob::Setting { keys, message } => {
                let flags: Vec<String> = keys.iter().map(|k| flag(k)).collect();
                format!("{}: {message}", flags.join("/"))
            }
            InvalidJob::Combination(message) => message.clone(),
        }
    }
}

fn flag(key: &str) -> String {
    format!("--{}", key.replace('_', "-"))
}

fn shown_keys(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    match keys.len() {
        1 => format!("key {}", quoted[0]),
        _ => format!("keys {}", quoted.join("/")),
    }
}

// Serialized as the text each setting is read from, so a spec round-trips through JSON (a
// distributed run hands its job to the executors this way).
fn display<T: std::fmt::Display, S: Serializer>(
    value: &Option<T>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => s.collect_str(value),
        None => s.serialize_none(),
    }
}

/// A location as a URL: a local path made absolute, as another process may start elsewhere.
fn location_text<S: Serializer>(value: &Option<Location>, s: S) -> Result<S::Ok, S::Error> {
    display(&value.as_ref().map(crate::storage::location_url), s)
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

/// A size as text (`256MiB`, `1GB`) or as a number of bytes.
fn size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }
    match Size::deserialize(d)? {
        Size::Bytes(bytes) => Ok(Some(bytes)),
        Size::Text(text) => parse_size(&text)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
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
    use super::*;

    fn spec() -> JobSpec {
        JobSpec {
            service: Some(ServiceChoice::One(Format::Alb)),
            source: Some(Location::parse("/logs").unwrap()),
            target: Some(Location::parse("/lake").unwrap()),
            ..JobSpec::default()
        }
    }

    #[test]
    fn a_spec_round_trips_through_json() {
        let full = JobSpec {
            service: Some(ServiceChoice::Auto),
            rejects: Some(Location::parse("s3://bad/rejects").unwrap()),
            endpoint_url: Some("http://127.0.0.1:9000".into()),
            region: Some("eu-west-1".into()),
            sse: Some("aws:kms".into()),
            sse_kms_key_id: Some("key".into()),
            since: Some("2026-01-31".into()),
            until: Some("2026-02-01T12:00:00Z".into()),
            reprocess: Some(true),
            full_listing: Some(false),
            skip_archived: Some(true),
            target_file_size: Some(123_456_789),
            zstd_level: Some(9),
            workers: Some(3),
            commit_size: Some(1 << 20),
            fetch_concurrency: Some(8),
            fetch_buffer: Some(64 << 20),
            lock_timeout_seconds: Some(60),
            catalog: Some(CatalogKind::Glue),
            database: Some("logs".into()),
            raw_database: Some("raw".into()),
            partition_projection: Some(true),
            partitioning: Some(PartitionLayout::Account),
            account_id: Some("123456789012".into()),
            record_fields: Some("date,time".into()),
            field_delimiter: Some("|".into()),
            ..spec()
        };
        let json = serde_json::to_string(&full).unwrap();
        let back: JobSpec = serde_json::from_str(&json).unwrap();
        // Local paths travel as absolute `file://` URLs, which read back as the same path.
        assert_eq!(back, full, "{json}");
        assert!(json.contains(r#""source":"file:///logs""#), "{json}");
        let empty: JobSpec =
            serde_json::from_str(&serde_json::to_string(&JobSpec::default()).unwrap()).unwrap();
        assert_eq!(empty, JobSpec::default());
        let sized: JobSpec =
            serde_json::from_str(r#"{"commit_size": 1000, "fetch_buffer": "1KiB"}"#).unwrap();
        assert_eq!(
            (sized.commit_size, sized.fetch_buffer),
            (Some(1000), Some(1024))
        );
    }

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
    fn locations_below_others() {
        let s3 = |url: &str| Location::parse(url).unwrap();
        let table = s3("s3://lake/alb");
        assert_eq!(
            relative_below(&s3("s3://lake/alb/_bad"), &table),
            Some("_bad".into())
        );
        assert_eq!(
            relative_below(&s3("s3://lake/alb"), &table),
            Some(String::new())
        );
        assert_eq!(relative_below(&s3("s3://lake/alb_bad"), &table), None);
        assert_eq!(relative_below(&s3("s3://other/alb/x"), &table), None);
        assert_eq!(
            relative_below(&s3("s3://lake/x"), &s3("s3://lake")),
            Some("x".into())
        );
        assert_eq!(
            relative_below(&s3("/tmp/t/x"), &s3("/tmp/t")),
            Some("x".into())
        );
        assert_eq!(relative_below(&s3("/tmp/t"), &table), None);
        let mut job = ConvertJob::new(Format::Alb, s3("s3://logs"), table);
        job.rejects = Some(s3("s3://lake/alb"));
        assert!(job.validate().unwrap_err().contains("inside the table"));
        job.rejects = Some(s3("s3://lake/alb-rejects"));
        assert_eq!(job.validate(), Ok(()));
        job.rejects = Some(s3("s3://logs/quarantine"));
        assert!(job.validate().unwrap_err().contains("inside the source"));
    }

    #[test]
    fn unset_settings_are_the_defaults() {
        let job = spec().build().unwrap();
        let defaults = ConvertJob::new(
            Format::Alb,
            Location::parse("/logs").unwrap(),
            Location::parse("/lake").unwrap(),
        );
        assert_eq!(job.commit_bytes, defaults.commit_bytes);
        assert_eq!(job.workers, defaults.workers);
        assert_eq!(job.lock_stale_after, defaults.lock_stale_after);
        assert_eq!(job.partitioning, PartitionLayout::Seed);
        assert!(!job.reprocess && !job.full_listing && !job.dry_run);
        let job = JobSpec {
            workers: Some(3),
            commit_size: Some(1 << 20),
            lock_timeout_seconds: Some(60),
            since: Some("2026-01-31".into()),
            ..spec()
        }
        .build()
        .unwrap();
        assert_eq!((job.workers, job.commit_bytes), (3, 1 << 20));
        assert_eq!(job.lock_stale_after, Duration::from_secs(60));
        assert_ne!(job.window, TimeWindow::default());
    }

    /// One check, two spellings: config keys for files, flags for the command line.
    #[test]
    fn errors_name_the_setting_for_each_front_end() {
        let cases = [
            (
                JobSpec {
                    service: None,
                    ..spec()
                },
                "missing key `service`",
                "missing --service",
            ),
            (
                JobSpec {
                    region: Some("mars".into()),
                    ..spec()
                },
                "key `region`: ",
                "--region: ",
            ),
            (
                JobSpec {
                    until: Some("yesterday".into()),
                    ..spec()
                },
                "keys `since`/`until`: ",
                "--since/--until: ",
            ),
            (
                JobSpec {
                    service: Some(ServiceChoice::Auto),
                    table: Some("t".into()),
                    ..spec()
                },
                "keys `table`/`raw_table`: ",
                "--table/--raw-table: ",
            ),
            (
                JobSpec {
                    record_fields: Some("date,time,asn".into()),
                    ..spec()
                },
                "keys `record_fields`/`field_delimiter`: ",
                "--record-fields/--field-delimiter: ",
            ),
            (
                JobSpec {
                    field_delimiter: Some("|".into()),
                    ..spec()
                },
                "keys `record_fields`/`field_delimiter`: ",
                "--record-fields/--field-delimiter: ",
            ),
            (
                JobSpec {
                    account_id: Some("123456789012".into()),
                    ..spec()
                },
                "account partitioning",
                "account partitioning",
            ),
        ];
        for (spec, key, flag) in cases {
            let error = spec.build().unwrap_err();
            assert!(
                error.to_string().starts_with(key) || error.to_string().contains(key),
                "{error}"
            );
            assert!(
                error.with_flags().starts_with(flag) || error.with_flags().contains(flag),
                "{}",
                error.with_flags()
            );
        }
    }

    #[test]
    fn a_field_list_is_checked_against_the_service_that_reads_it() {
        let cloudfront_v2 = |fields: &str, delimiter: Option<&str>| JobSpec {
            service: Some(ServiceChoice::One(Format::CloudfrontV2)),
            record_fields: Some(fields.into()),
            field_delimiter: delimiter.map(str::to_owned),
            ..spec()
        };
        let job = cloudfront_v2("date,time,c-ip", Some("|")).build().unwrap();
        let fields = job.record_fields.unwrap();
        assert_eq!((fields.names.len(), fields.delimiter), (3, b'|'));
        let error = cloudfront_v2("date,time,cip", None).build().unwrap_err();
        assert!(error.to_string().contains("`cip`"), "{error}");
        // The delimiter alone is for W3C output that does not separate by TAB.
        let job = JobSpec {
            record_fields: None,
            ..cloudfront_v2("", Some(";"))
        }
        .build()
        .unwrap();
        assert_eq!(job.record_fields.unwrap().delimiter, b';');
        let error = cloudfront_v2("date", Some("||")).build().unwrap_err();
        assert!(
            error
                .with_flags()
                .starts_with("--record-fields/--field-delimiter"),
            "{error}"
        );
        let error = JobSpec {
            service: Some(ServiceChoice::Auto),
            ..cloudfront_v2("date", None)
        }
        .build()
        .unwrap_err();
        assert!(
            error.to_string().contains("not with service `auto`"),
            "{error}"
        );
    }

    #[test]
    fn a_jobs_own_settings_win_over_the_defaults_but_table_names_are_its_own() {
        let defaults = JobSpec {
            workers: Some(2),
            table: Some("shared".into()),
            rejects: Some(Location::parse("/rejects").unwrap()),
            ..JobSpec::default()
        };
        let job = JobSpec {
            workers: Some(5),
            ..spec()
        }
        .overlay(&defaults, "alb_prod");
        assert_eq!(job.workers, Some(5));
        assert_eq!(job.table, None);
        assert_eq!(
            job.rejects,
            Some(Location::parse("/rejects/alb_prod").unwrap())
        );
    }
}
