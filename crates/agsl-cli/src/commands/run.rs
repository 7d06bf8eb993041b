//! `agsl run --config agsl.toml [JOB...]`: the jobs of a config file, one after another, each
//! with its own summary. A failing job stops the run (later jobs would likely fail alike).

use std::time::Instant;

use crate::cli::RunArgs;
use crate::commands::convert;
use crate::metrics::MetricsReporter;
use crate::output::Output;

pub fn run(args: RunArgs, output: &Output) -> anyhow::Result<()> {
    let jobs = agsl::config::load(&args.config, &args.jobs)
        .map_err(|e| crate::UsageError(e.to_string()))?;
    let mut metrics = MetricsReporter::new(args.metrics);
    for named in jobs {
        let mut job = named.job;
        job.dry_run |= args.dry_run;
        tracing::info!(job = %named.name, "starting job");
        let started = Instant::now();
        let result = convert::convert(&job, output);
        metrics.job(&named.name, &job, &result, started)?;
        let summary =
            result.map_err(|e| anyhow::Error::new(e).context(format!("job `{}`", named.name)))?;
        output.summary(Some(&named.name), &summary)?;
    }
    Ok(())
}
