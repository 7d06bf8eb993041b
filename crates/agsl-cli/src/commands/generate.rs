//! `agsl generate`: realistic sample logs in the AWS key layout.

use agsl::sample::write_sample;
use agsl_formats::sample::{self, SamplePlan};
use serde::Serialize;

use crate::cli::GenerateArgs;
use crate::output::{Output, thousands};

/// Lines generated up front to measure a service's average line length.
const PROBE_LINES: usize = 500;

#[derive(Debug, Serialize)]
struct Generated<'a> {
    service: &'a str,
    objects: u64,
    lines: u64,
    bad_lines: u64,
    bytes: u64,
    stored_bytes: u64,
}

pub fn run(args: GenerateArgs, output: &Output) -> anyhow::Result<()> {
    let probe = SamplePlan {
        objects: 1,
        lines_per_object: PROBE_LINES,
        seed: args.seed,
        ..SamplePlan::default()
    };
    let probe_bytes = sample::objects(args.service, probe)
        .next()
        .map_or(0, |object| object.body.len() as u64);
    let bytes_per_line = (probe_bytes / PROBE_LINES as u64).max(1);
    let objects = args
        .size
        .div_ceil(args.lines_per_object * bytes_per_line)
        .max(1);
    let plan = SamplePlan {
        seed: args.seed,
        start_micros: args.start.unwrap_or(SamplePlan::default().start_micros),
        objects: usize::try_from(objects)?,
        lines_per_object: usize::try_from(args.lines_per_object)?,
        bad_line_every: args.bad_line_every,
    };
    let written = write_sample(args.service, plan, &args.target)?;
    let service = args.service.to_string();
    output.note(format!(
        "{service}: wrote {} objects, {} lines ({} malformed), {:.1} MB ({:.1} MB gzip) to {}",
        thousands(written.objects),
        thousands(written.facts.good_lines + written.facts.bad_lines),
        thousands(written.facts.bad_lines),
        written.bytes as f64 / 1e6,
        written.stored_bytes as f64 / 1e6,
        args.target.display()
    ));
    if output.json {
        output.json_line(&Generated {
            service: &service,
            objects: written.objects,
            lines: written.facts.good_lines + written.facts.bad_lines,
            bad_lines: written.facts.bad_lines,
            bytes: written.bytes,
            stored_bytes: written.stored_bytes,
        })?;
    }
    Ok(())
}
