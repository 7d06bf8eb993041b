//! The `agsl` binary: parses arguments, sets up logging and output, runs one command, and maps
//! failures to exit codes (0 ok, 1 runtime failure, 2 usage or configuration).

mod cli;
mod commands;
mod output;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing::level_filters::LevelFilter;

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
    tracing_subscriber::fmt()
        .with_writer(output::LogWriterFactory)
        .with_max_level(level)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let output = Output::new(cli.quiet, cli.json, cli.no_progress);
    let result = match cli.command {
        Command::Convert(args) => commands::convert::run(args, &output),
        Command::Demo(args) => commands::demo::run(args, &output),
        Command::Generate(args) => commands::generate::run(args, &output),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit_code(&error))
        }
    }
}

/// 2 for what the user can fix in the arguments, 1 for everything else.
fn exit_code(error: &anyhow::Error) -> u8 {
    match error.downcast_ref::<agsl::Error>() {
        Some(agsl::Error::Source(agsl::SourceError::Missing { .. })) => 2,
        _ => 1,
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
