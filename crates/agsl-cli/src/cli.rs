//! The command line, declared with clap. Doc comments are the help text.

use std::path::PathBuf;

use agsl::metrics::MetricsOutput;
use agsl::{CatalogKind, Format, Location, PartitionLayout};
use agsl_formats::ServiceChoice;
use clap::{Args, Parser, Subcommand};

/// Convert AWS service logs into partitioned, zstd-compressed Parquet tables.
#[derive(Debug, Parser)]
#[command(name = "agsl", version, propagate_version = true, long_about = long_about())]
pub struct Cli {
    /// Print only errors (no progress, no summary line on stderr).
    #[arg(short, long, global = true, env = "AGSL_QUIET")]
    pub quiet: bool,

    /// More log output (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print the run summary as one JSON object on stdout.
    #[arg(long, global = true, env = "AGSL_JSON")]
    pub json: bool,

    /// Never draw a progress bar (plain periodic log lines are still printed).
    #[arg(long, global = true, env = "AGSL_NO_PROGRESS")]
    pub no_progress: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert what is new in a source (folder or s3:// prefix) into a Parquet table.
    Convert(ConvertArgs),
    /// Run the jobs of a config file (all, or the ones named), one summary per job.
    Run(RunArgs),
    /// Generate sample logs, convert them and show what came out (no AWS account needed).
    Demo(DemoArgs),
    /// Write realistic sample logs in the layout AWS delivers them (for trials and benchmarks).
    Generate(GenerateArgs),
    /// Print Athena CREATE EXTERNAL TABLE statements for a service's raw and converted tables.
    Ddl(DdlArgs),
    /// List the tables of a catalog: location, partitions, rows converted, last run.
    Tables(TablesArgs),
    /// Show a target's tables: last run, rows, newest data, lag behind the source, recent
    /// rejects and skipped objects, files per partition.
    Status(StatusArgs),
    /// Check a target against its source, its files and its catalog; list every discrepancy
    /// and exit 1 if there is any.
    Verify(VerifyArgs),
    /// Deploy agsl as a scheduled AWS Glue (Spark) job running a config file; show or delete one.
    #[command(subcommand)]
    GlueJob(GlueJobCommand),
}

/// `agsl glue-job ...`
#[derive(Debug, Subcommand)]
pub enum GlueJobCommand {
    /// Upload the wheel, a driver script and the config to S3; create or update the Glue job
    /// and, with --schedule, its trigger.
    Deploy(Box<GlueDeployArgs>),
    /// Print what is deployed under a job name: script, wheel, config, workers, schedule.
    Show(GlueJobNameArgs),
    /// Delete a job agsl deployed, its trigger and its config; the wheel and the driver
    /// script (shared by the jobs deployed beside it), the tables and their data stay.
    Delete(GlueJobNameArgs),
}

#[derive(Debug, Args)]
pub struct GlueDeployArgs {
    /// The config file whose jobs the Glue job runs.
    #[arg(long)]
    pub config: PathBuf,

    /// Only these jobs of the config [default: all].
    #[arg(long = "job", value_name = "JOB")]
    pub jobs: Vec<String>,

    /// The Glue job's name.
    #[arg(long)]
    pub name: String,

    /// The IAM role the job runs as (see README, "Running on Spark and AWS Glue").
    #[arg(long)]
    pub role_arn: String,

    /// The S3 folder for the wheel, the driver script and the config.
    #[arg(long, value_parser = parse_location)]
    pub script_location: Location,

    /// Run on this Glue schedule, e.g. "cron(15 * * * ? *)" [default: no trigger].
    #[arg(long)]
    pub schedule: Option<String>,

    /// Glue worker type: G.1X, G.2X, G.4X, G.8X.
    #[arg(long, default_value = "G.1X")]
    pub worker_type: String,

    /// Number of workers (one of them is the Spark driver).
    #[arg(long, default_value_t = 2)]
    pub workers: u32,

    /// Glue version (5.0: Spark 3.5, Python 3.11).
    #[arg(long, default_value = "5.0")]
    pub glue_version: String,

    /// The agsl wheel to install, for x86_64 Linux as Glue runs [default: the newest x86_64 wheel
    /// in target/wheels, from scripts/wheel].
    #[arg(long)]
    pub wheel: Option<PathBuf>,

    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(Debug, Args)]
pub struct GlueJobNameArgs {
    /// The Glue job's name.
    pub name: String,

    #[command(flatten)]
    pub storage: StorageArgs,
}

/// A target (with its source and service), or the jobs of a config file.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The target (`s3://bucket/prefix` or a local folder).
    #[arg(long, value_parser = parse_location, conflicts_with = "config")]
    pub target: Option<Location>,

    /// The source it is converted from (`status`: adds the lag, listing only the newest days).
    #[arg(long, value_parser = parse_location, conflicts_with = "config")]
    pub source: Option<Location>,

    // The target's service [default: the one its files name; by key layout for several].
    #[arg(long, value_parser = parse_service_or_auto, conflicts_with = "config",
          help = format!("The target's service: {} [default: the one its files name; by key layout for several]", Format::keywords()))]
    pub service: Option<ServiceChoice>,

    /// Instead: the targets and sources of a config file's jobs (all, or the ones named).
    #[arg(long, conflicts_with = "target")]
    pub config: Option<PathBuf>,

    /// Jobs, with --config [default: all].
    #[arg(requires = "config")]
    pub jobs: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Check only source objects dated (by key) at or after this; same forms as convert's.
    #[arg(long, conflicts_with = "config")]
    pub since: Option<String>,

    /// Check only source objects dated before this.
    #[arg(long, conflicts_with = "config")]
    pub until: Option<String>,

    /// Also read every committed file and compare its rows per source object with the ledger.
    #[arg(long)]
    pub deep: bool,

    #[command(flatten)]
    pub catalog: CatalogArgs,

    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    // Log type, or auto (detect each object's service from its key and first line).
    #[arg(long, value_parser = parse_service_or_auto,
          help = format!("Log type: {}, or auto (detect each object's service from its key and first line; one table per service below --target)", Format::keywords()))]
    pub service: ServiceChoice,

    /// Where the logs are: `s3://bucket/prefix` or a local folder (or single file).
    #[arg(long, value_parser = parse_location)]
    pub source: Location,

    /// Where the table goes: `s3://bucket/prefix` or a local folder. Partitions, `_rejects/`
    /// and agsl's state (`_agsl/`) are kept below it.
    #[arg(long, value_parser = parse_location)]
    pub target: Location,

    /// Where lines that cannot be parsed go, as Parquet (`s3://bucket/prefix` or a local
    /// folder) [default: <target>/_rejects/]. Not inside the table, unless `_`-prefixed.
    #[arg(long, value_parser = parse_location)]
    pub rejects: Option<Location>,

    /// Partition layout: seed (region/year/month/day, or year/month/day, as the seed wrote)
    /// or account (account_id=<12 digits> first, from each object's key).
    #[arg(long, default_value = "seed", value_parser = parse_partitioning)]
    pub partitioning: PartitionLayout,

    /// With --partitioning account: the account of objects whose key names none
    /// (CloudFront, simple-layout S3 access logs).
    #[arg(long, value_parser = parse_account_id)]
    pub account_id: Option<String>,

    /// Only objects dated (by key) and records timed at or after this: a date (2026-01-31,
    /// midnight UTC) or RFC 3339 (2026-01-31T12:00:00Z).
    #[arg(long)]
    pub since: Option<String>,

    /// Only objects and records before this (exclusive); same forms as --since.
    #[arg(long)]
    pub until: Option<String>,

    /// Convert the window again, replacing what earlier runs wrote for it (no duplicates).
    #[arg(long)]
    pub reprocess: bool,

    /// List what would be converted and how much; change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// For output that does not name its fields (CloudFront v2 `plain`): the delivery's
    /// recordFields in order, separated by commas (as `aws logs get-delivery` shows them).
    #[arg(long, value_name = "FIELD,FIELD,...")]
    pub record_fields: Option<String>,

    /// The delivery's fieldDelimiter for text output (plain, and W3C that is not
    /// TAB-separated): one character, or \t [default: TAB].
    #[arg(long, value_name = "CHAR")]
    pub field_delimiter: Option<String>,

    /// List the whole source. By default a run lists from two days before the newest key
    /// date an earlier run listed, so objects delivered later with older dates need this.
    #[arg(long)]
    pub full_listing: bool,

    /// Skip objects S3 keeps archived (Glacier Flexible Retrieval, Deep Archive, the archive
    /// tiers of Intelligent-Tiering) instead of failing the run on the first one. They are
    /// counted and left unconverted: restore them, then convert their days with --since.
    #[arg(long)]
    pub skip_archived: bool,

    /// After the run, its figures for alarms: `emf` (CloudWatch Embedded Metric Format lines
    /// on stdout) or `prometheus=FILE` (a Prometheus textfile).
    #[arg(long, value_name = "emf|prometheus=FILE")]
    pub metrics: Option<MetricsOutput>,

    #[command(flatten)]
    pub tuning: TuningArgs,

    #[command(flatten)]
    pub catalog: CatalogArgs,

    #[command(flatten)]
    pub storage: StorageArgs,
}

/// Where the raw and converted tables are kept, and under which names.
#[derive(Debug, Args, Clone)]
pub struct CatalogArgs {
    /// The catalog that gets the tables and their partitions after each run: local (an SQLite
    /// file under <target>/_agsl/, no AWS needed), glue (the AWS Glue Data Catalog, standard
    /// credentials and region; --endpoint-url applies) or none.
    #[arg(long, default_value = "local", value_parser = parse_catalog)]
    pub catalog: CatalogKind,

    #[command(flatten)]
    pub names: TableNameArgs,

    /// Describe partitions by Athena partition projection (table parameters) instead of
    /// registering them, on both tables.
    #[arg(long)]
    pub partition_projection: bool,
}

/// Database and table names; the seed's by default.
#[derive(Debug, Args, Clone)]
pub struct TableNameArgs {
    /// Database of the converted tables [default: aws_service_logs].
    #[arg(long, value_parser = parse_name)]
    pub database: Option<String>,

    // Name of the converted table [default: the seed's].
    #[arg(long, value_parser = parse_name,
          help = format!("Name of the converted table [default: the seed's: {}]. Not with --service auto", table_names()))]
    pub table: Option<String>,

    /// Database of the raw (source) tables [default: aws_service_logs_raw].
    #[arg(long, value_parser = parse_name)]
    pub raw_database: Option<String>,

    /// Name of the raw table [default: <table>_raw_logs, e.g. alb_raw_logs]. Not with
    /// --service auto.
    #[arg(long, value_parser = parse_name)]
    pub raw_table: Option<String>,
}

#[derive(Debug, Args)]
pub struct DdlArgs {
    // Log type.
    #[arg(long, value_parser = parse_service, help = format!("Log type: {}", Format::keywords()))]
    pub service: Format,

    /// Where the logs are (the raw table's location): `s3://bucket/prefix` or a local folder.
    #[arg(long, value_parser = parse_location)]
    pub source: Location,

    /// Where the converted table is; its partitions are listed when agsl has converted into it.
    #[arg(long, value_parser = parse_location)]
    pub target: Location,

    #[command(flatten)]
    pub names: TableNameArgs,

    /// Print only the partition projection variant.
    #[arg(long)]
    pub partition_projection: bool,

    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(Debug, Args)]
pub struct TablesArgs {
    /// The target whose local catalog to list (`<target>/_agsl/catalog.sqlite`).
    #[arg(long, value_parser = parse_location, required_unless_present = "catalog")]
    pub target: Option<Location>,

    /// local (the target's) or glue.
    #[arg(long, value_parser = parse_catalog)]
    pub catalog: Option<CatalogKind>,

    /// Database of the converted tables [default: aws_service_logs].
    #[arg(long, value_parser = parse_name)]
    pub database: Option<String>,

    /// Database of the raw tables [default: aws_service_logs_raw].
    #[arg(long, value_parser = parse_name)]
    pub raw_database: Option<String>,

    #[command(flatten)]
    pub storage: StorageArgs,
}

/// How files are written and work is split.
#[derive(Debug, Args, Clone)]
pub struct TuningArgs {
    /// Start a new Parquet file once one reaches this size (e.g. 256MiB, 1GB).
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    pub target_file_size: u64,

    /// zstd compression level of the Parquet files (1 fastest .. 22 smallest).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=22))]
    pub zstd_level: i32,

    /// Objects converted in parallel [default: number of cores].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub workers: Option<u16>,

    /// On S3: objects fetched at once ahead of the workers (GET requests in flight).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub fetch_concurrency: u16,

    /// On S3: fetched bytes that may wait for a worker; objects over 16 MiB are streamed in
    /// ranged parts instead of held whole.
    #[arg(long, default_value = "128MiB", value_parser = parse_size)]
    pub fetch_buffer: u64,

    /// Commit after about this much stored source data: a crash redoes at most this much.
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    pub commit_size: u64,

    /// Seconds without a heartbeat after which an S3 target's lock counts as abandoned.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub lock_timeout: u64,
}

/// How to reach S3 (credentials always come from the standard AWS chain).
#[derive(Debug, Args, Clone)]
pub struct StorageArgs {
    /// S3 endpoint for S3-compatible stores or a local emulator (e.g. http://127.0.0.1:5000).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,

    /// AWS region [default: the bucket's own region, else the AWS config's].
    #[arg(long)]
    pub region: Option<String>,

    /// Server-side encryption of every object written to S3 (table files, rejects, state, the
    /// local catalog file): AES256 (SSE-S3) or aws:kms (SSE-KMS) [default: the bucket's].
    #[arg(long, value_name = "AES256|aws:kms")]
    pub sse: Option<String>,

    /// The KMS key (ID, ARN or alias) for `--sse aws:kms` [default: the account's aws/s3 key].
    #[arg(long, value_name = "KEY")]
    pub sse_kms_key_id: Option<String>,
}

impl StorageArgs {
    /// The storage options these flags give (`--sse-kms-key-id` needs `--sse aws:kms`).
    pub fn options(self) -> Result<agsl::StorageOptions, crate::UsageError> {
        let encryption = agsl::Encryption::parse(self.sse.as_deref(), self.sse_kms_key_id)
            .map_err(|message| crate::UsageError(format!("--sse: {message}")))?;
        if let Some(region) = &self.region {
            agsl::storage::check_region(region)
                .map_err(|message| crate::UsageError(format!("--region: {message}")))?;
        }
        Ok(agsl::StorageOptions {
            endpoint_url: self.endpoint_url,
            region: self.region,
            encryption,
        })
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The TOML job file (see agsl.example.toml).
    #[arg(long)]
    pub config: PathBuf,

    /// Jobs to run [default: all, in name order].
    pub jobs: Vec<String>,

    /// List what each job would convert; change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// After each job, its figures for alarms: `emf` (CloudWatch Embedded Metric Format lines
    /// on stdout) or `prometheus=FILE` (one Prometheus textfile for all jobs).
    #[arg(long, value_name = "emf|prometheus=FILE")]
    pub metrics: Option<MetricsOutput>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    // Log type to demonstrate, or `all`.
    #[arg(long, value_parser = parse_service_or_auto, default_value = "alb",
          help = format!("Log type to demonstrate ({}), or `all`: every service in one mixed prefix, detected per object", Format::keywords()))]
    pub service: ServiceChoice,

    /// Where to put the sample logs and the table [default: the temp folder's `agsl-demo`].
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    // Log type to generate.
    #[arg(long, value_parser = parse_service, default_value = "alb",
          help = format!("Log type to generate: {}", Format::keywords()))]
    pub service: Format,

    /// Folder to write the objects to (created if missing).
    #[arg(long)]
    pub target: PathBuf,

    /// About how many uncompressed bytes to write (e.g. 300MB, 1GiB).
    #[arg(long, default_value = "100MB", value_parser = parse_size)]
    pub size: u64,

    /// Lines per object (one object per 5-minute interval and LB node).
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub lines_per_object: u64,

    /// Make every n-th line malformed, to exercise the rejects.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub bad_line_every: Option<u64>,

    /// Seed of the generator; the same seed writes the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// End of the first delivery interval: a date or RFC 3339 time [default: 2024-03-07T23:30:00Z].
    #[arg(long, value_parser = parse_instant)]
    pub start: Option<i64>,
}

/// A date (midnight UTC) or RFC 3339 time, as microseconds since the epoch.
fn parse_instant(value: &str) -> Result<i64, String> {
    agsl::TimeWindow::new(Some(value), None).map(|w| w.since.unwrap_or_default())
}

fn parse_service(value: &str) -> Result<Format, String> {
    value.parse::<Format>().map_err(|e| e.to_string())
}

/// One service, or every service detected per object (`auto`, or `all` for the demo).
fn parse_service_or_auto(value: &str) -> Result<ServiceChoice, String> {
    let value = if value == "all" { "auto" } else { value };
    value
        .parse()
        .map_err(|e: agsl_formats::UnknownServiceChoice| e.to_string())
}

/// `agsl --help`'s description, naming every format of the registry (a list written by hand
/// named six formats long after there were eleven).
fn long_about() -> String {
    let width = Format::ALL
        .iter()
        .map(|f| f.keyword().len())
        .max()
        .unwrap_or(0);
    let formats: Vec<String> = Format::ALL
        .iter()
        .map(|f| format!("  {:width$}  {}", f.keyword(), f.info().title))
        .collect();
    format!(
        "Convert AWS service logs into partitioned, zstd-compressed Parquet tables.\n\n\
         Reads these logs as AWS delivers them (gzip or plain; Firehose's ZIP and Snappy too), \
         parses every field into typed columns and writes Hive-partitioned Parquet that Athena, \
         Trino, Spark and DuckDB read directly:\n\n{}",
        formats.join("\n")
    )
}

/// The seed's converted-table names, for help texts.
fn table_names() -> String {
    let names: Vec<&str> = Format::ALL.iter().map(|f| f.table_name()).collect();
    names.join(", ")
}

pub use agsl::parse_size;

fn parse_partitioning(value: &str) -> Result<PartitionLayout, String> {
    value.parse()
}

fn parse_account_id(value: &str) -> Result<String, String> {
    agsl_formats::is_account_id(value)
        .then(|| value.to_owned())
        .ok_or_else(|| format!("`{value}` is not a 12-digit account id"))
}

fn parse_catalog(value: &str) -> Result<CatalogKind, String> {
    value.parse()
}

/// Athena takes lowercase letters, digits and underscores in database and table names.
fn parse_name(value: &str) -> Result<String, String> {
    agsl::catalog::check_name(value).map(|()| value.to_owned())
}

fn parse_location(value: &str) -> Result<Location, String> {
    Location::parse(value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
