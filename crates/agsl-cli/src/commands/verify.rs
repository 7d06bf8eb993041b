//! `agsl verify`: every discrepancy on its own line on stdout, then a summary on stderr; exit
//! 0 when the target is exactly what its ledger says, 1 when not. `--json` prints the report.

use std::io::Write;

use agsl::audit::{self, VerifyReport};
use agsl_formats::ServiceChoice;

use crate::cli::VerifyArgs;
use crate::commands::{convert, targets};
use crate::output::{Output, counts_by_reason, thousands};

/// The target differs from its ledger (exit code 1).
#[derive(Debug)]
pub struct Discrepancies(pub usize);

impl std::fmt::Display for Discrepancies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "verify found {} discrepancies", self.0)
    }
}

impl std::error::Error for Discrepancies {}

pub fn run(args: VerifyArgs, output: &Output) -> anyhow::Result<()> {
    let deep = args.deep;
    let jobs = match &args.target.config {
        Some(config) => targets::config_jobs(config, &args.target.jobs)?,
        None => vec![(None, job(args)?)],
    };
    let mut found = 0;
    for (name, job) in jobs {
        let report = audit::verify(&job, deep).map_err(|e| targets::in_job(name.as_deref(), e))?;
        found += report.discrepancies.len();
        if output.json {
            #[derive(serde::Serialize)]
            struct Named<'a> {
                #[serde(skip_serializing_if = "Option::is_none")]
                job: Option<&'a str>,
                clean: bool,
                #[serde(flatten)]
                report: &'a VerifyReport,
            }
            output.json_line(&Named {
                job: name.as_deref(),
                clean: report.is_clean(),
                report: &report,
            })?;
        } else {
            let mut stdout = std::io::stdout().lock();
            for discrepancy in &report.discrepancies {
                writeln!(stdout, "{discrepancy}")?;
            }
        }
        let job = name.map(|n| format!("job {n}: ")).unwrap_or_default();
        output.note(format!("{job}{}", summary_line(&report)));
    }
    if found > 0 {
        return Err(Discrepancies(found).into());
    }
    Ok(())
}

/// The job the flags describe: the source, the target, the window and the catalog to check.
fn job(args: VerifyArgs) -> anyhow::Result<agsl::ConvertJob> {
    let usage = |flag: &str| crate::UsageError(format!("verify needs {flag} (or --config)"));
    let source = args.target.source.ok_or_else(|| usage("--source"))?;
    let target = args.target.target.ok_or_else(|| usage("--target"))?;
    let service = args.target.service.unwrap_or(ServiceChoice::Auto);
    let mut spec = convert::spec(service, source, target, args.storage, &args.catalog);
    spec.since = args.since;
    spec.until = args.until;
    Ok(convert::build(spec)?)
}

fn summary_line(report: &VerifyReport) -> String {
    let verdict = if report.is_clean() {
        "clean".to_owned()
    } else {
        format!("{} discrepancies", report.discrepancies.len())
    };
    let mut line = format!(
        "verify {verdict}: {} of {} source objects converted, {} files, {} partitions checked",
        thousands(report.objects_converted),
        thousands(report.objects_listed),
        thousands(report.files_checked),
        thousands(report.partitions_checked),
    );
    if let Some(rows) = report.rows_read {
        line.push_str(&format!(", {} rows read back", thousands(rows)));
    }
    if !report.skipped.is_empty() {
        let skipped = counts_by_reason(&report.skipped);
        line.push_str(&format!("; not for this table: {skipped}"));
    }
    line
}
