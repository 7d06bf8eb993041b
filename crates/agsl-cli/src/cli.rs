//! The command line, declared with clap. Doc comments are the help text.

use std::path::PathBuf;

use agsl::Format;
use clap::{Args, Parser, Subcommand};

/// Convert AWS service logs into partitioned, zstd-compressed Parquet tables.
///
/// Reads ALB, ELB, CloudFront, CloudTrail, S3 access and VPC Flow Logs as AWS delivers them
/// (gzip or plain), parses every field into typed columns and writes Hive-partitioned Parquet
/// that Athena, Trino, Spark and DuckDB read directly.
#[derive(Debug, Parser)]
#[command(name = "agsl", version, propagate_version = true)]
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
    /// Convert the logs of one service from a source folder into a Parquet table.
    Convert(ConvertArgs),
    /// Generate sample logs, convert them and show what came out (no AWS account needed).
    Demo(DemoArgs),
    /// Write realistic sample logs in the layout AWS delivers them (for trials and benchmarks).
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Log type: alb, elb, cloudfront, cloudtrail, s3_access, vpc_flow, or auto (detect each
    /// object's service from its key and first line; one table per service below --target).
    #[arg(long, value_parser = parse_service_or_auto)]
    pub service: ServiceChoice,

    /// Folder (or single file) holding the logs, e.g. a copy of `s3://bucket/AWSLogs/...`.
    #[arg(long)]
    pub source: PathBuf,

    /// Folder of the converted table; partitions and `_rejects/` are created below it.
    #[arg(long)]
    pub target: PathBuf,

    /// Start a new Parquet file once one reaches this size (e.g. 256MiB, 1GB).
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    pub target_file_size: u64,

    /// zstd compression level of the Parquet files (1 fastest .. 22 smallest).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=22))]
    pub zstd_level: i32,

    /// Objects converted in parallel [default: number of cores].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub workers: Option<u16>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Log type to demonstrate, or `all`: every service in one mixed prefix, detected per object.
    #[arg(long, value_parser = parse_service_or_auto, default_value = "alb")]
    pub service: ServiceChoice,

    /// Where to put the sample logs and the table [default: the temp folder's `agsl-demo`].
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Log type to generate.
    #[arg(long, value_parser = parse_service, default_value = "alb")]
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
}

fn parse_service(value: &str) -> Result<Format, String> {
    value.parse::<Format>().map_err(|e| e.to_string())
}

/// One service, or every service detected per object (`auto`, or `all` for the demo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceChoice(pub Option<Format>);

fn parse_service_or_auto(value: &str) -> Result<ServiceChoice, String> {
    match value {
        "auto" | "all" => Ok(ServiceChoice(None)),
        _ => value
            .parse::<Format>()
            .map(|f| ServiceChoice(Some(f)))
            .map_err(|_| format!("unknown service `{value}`; expected one of: alb, elb, cloudfront, cloudtrail, s3_access, vpc_flow, auto")),
    }
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
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
