//! The `agsl` binary: parses arguments, sets up logging and output, runs one command, and maps
//! failures to exit codes (0 ok, 1 runtime failure, 2 usage or configuration).

mod cli;
mod commands;
mod metrics;
mod output;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::cli::{Cli, Command};
use crate::output::Output;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => LevelFilter::ERROR,
        (false, 0) => LevelFilter::INFO,
        (false, 1) => LevelFilter::DEBUG,
        (false, _) => LevelFilter::TRACE,
    };
    // The AWS SDK warns at length while it looks for credentials and regions (instance
    // metadata refused, raw responses); a failure is reported as one `error:` line, so its own
    // logs show only with -v.
    let aws_level = if cli.verbose > 0 {
        level
    } else {
        LevelFilter::OFF
    };
    let filter = Targets::new()
        .with_default(level)
        .with_target("aws_config", aws_level)
        .with_target("aws_smithy", aws_level)
        .with_target("aws_runtime", aws_level)
        .with_target("aws_sdk", aws_level);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(output::LogWriterFactory)
                .with_target(false)
                .with_ansi(std::io::stderr().is_terminal())
                .with_filter(filter),
        )
        .init();
    let output = Output::new(cli.quiet, cli.json, cli.no_progress);
    let result = match cli.command {
        Command::Convert(args) => commands::convert::run(args, &output),
        Command::Run(args) => commands::run::run(args, &output),
        Command::Demo(args) => commands::demo::run(args, &output),
        Command::Generate(args) => commands::generate::run(args, &output),
        Command::Ddl(args) => commands::ddl::run(args),
        Command::Tables(args) => commands::tables::run(args, &output),
        Command::Status(args) => commands::status::run(args, &output),
        Command::Verify(args) => commands::verify::run(args, &output),
        Command::GlueJob(command) => commands::glue_job::run(command, &output),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::from(exit_code(&error))
        }
    }
}

/// The error and its causes on one line, leaving out causes the message already quotes.
fn one_line(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
    }
    message.replace('\n', " ")
}

/// An argument or config value the user must fix (exit code 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// 2 for what the user can fix in the arguments or config, 1 for everything else.
fn exit_code(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<UsageError>().is_some() {
        return 2;
    }
    let run_error = error.downcast_ref::<agsl::Error>().or_else(|| {
        match error.downcast_ref::<agsl::audit::AuditError>() {
            Some(agsl::audit::AuditError::Run(run_error)) => Some(run_error),
            _ => None,
        }
    });
    match run_error {
        Some(agsl::Error::Source(agsl::SourceError::Missing { .. })) => 2,
        Some(agsl::Error::Storage(agsl::StorageError::InvalidUrl { .. })) => 2,
        Some(agsl::Error::InvalidJob(_) | agsl::Error::Target(_)) => 2,
        Some(agsl::Error::Catalog(catalog)) if catalog.needs_a_change() => 2,
        _ => 1,
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
