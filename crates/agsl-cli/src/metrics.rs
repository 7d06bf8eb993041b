//! `--metrics`: after each job, its figures as CloudWatch EMF records on stdout or in a
//! Prometheus textfile (rewritten whole, atomically, so a collector never reads half of it).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use agsl::metrics::{self, MetricsOutput, RunMetrics};
use agsl::{ConvertJob, RunSummary};

/// Collects the metrics of the jobs of one command.
pub struct MetricsReporter {
    output: Option<MetricsOutput>,
    collected: Vec<RunMetrics>,
}

impl MetricsReporter {
    pub fn new(output: Option<MetricsOutput>) -> Self {
        Self {
            output,
            collected: Vec::new(),
        }
    }

    /// Reports one job's run, failed or not (`started` is when it began).
    pub fn job(
        &mut self,
        name: &str,
        job: &ConvertJob,
        result: &agsl::Result<RunSummary>,
        started: Instant,
    ) -> std::io::Result<()> {
        let Some(output) = &self.output else {
            return Ok(());
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let table = match job.format {
            Some(format) => job
                .catalog
                .table
                .clone()
                .unwrap_or_else(|| format.table_name().to_owned()),
            None => String::new(),
        };
        let service = job.format.map_or("auto".to_owned(), |f| f.to_string());
        let figures = match result {
            Ok(summary) if summary.dry_run => return Ok(()),
            Ok(summary) => metrics::run_metrics(name, summary, &table, now.as_micros() as i64),
            Err(_) => vec![metrics::failed_run(
                name,
                &service,
                &table,
                started.elapsed().as_secs_f64(),
            )],
        };
        match output {
            MetricsOutput::Emf => {
                use std::io::Write;
                let mut stdout = std::io::stdout().lock();
                for m in &figures {
                    writeln!(stdout, "{}", metrics::emf_record(m, now.as_millis() as u64))?;
                }
            }
            MetricsOutput::Prometheus(path) => {
                self.collected.extend(figures);
                let text = metrics::prometheus_text(&self.collected, now.as_secs());
                let name = path.file_name().map_or_else(
                    || "metrics".to_owned(),
                    |n| n.to_string_lossy().into_owned(),
                );
                let temp = path.with_file_name(format!(".{name}.tmp"));
                std::fs::write(&temp, text)?;
                std::fs::rename(&temp, path)?;
            }
        }
        Ok(())
    }
}
