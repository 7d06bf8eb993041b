//! Output policy: results (`--json`) on stdout; progress, logs and the human summary on stderr.
//! A progress bar only on a terminal; otherwise a plain log line every ten seconds.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use agsl::{Progress, RunSummary};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

const BAR_TICK: Duration = Duration::from_millis(150);
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Decides what goes where, from the global flags.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub quiet: bool,
    pub json: bool,
    pub bar: bool,
}

impl Output {
    pub fn new(quiet: bool, json: bool, no_progress: bool) -> Self {
        Self {
            quiet,
            json,
            bar: !quiet && !no_progress && std::io::stderr().is_terminal(),
        }
    }

    /// Runs `work` while showing `progress`: a bar on a terminal, periodic log lines otherwise.
    pub fn with_progress<T: Send>(
        &self,
        progress: &Progress,
        work: impl FnOnce() -> T + Send,
    ) -> T {
        let (stop, stopped) = mpsc::channel::<()>();
        let bar = self.bar;
        let quiet = self.quiet;
        std::thread::scope(|scope| {
            scope.spawn(move || {
                if bar {
                    draw_bar(progress, &stopped);
                } else if !quiet {
                    log_periodically(progress, &stopped);
                }
            });
            let result = work();
            drop(stop);
            result
        })
    }

    /// The closing summary: one line on stderr, and the JSON object on stdout with `--json`.
    /// With `--dry-run` the objects that would be converted are listed on stdout first.
    pub fn summary(&self, job: Option<&str>, summary: &RunSummary) -> std::io::Result<()> {
        if summary.dry_run && !self.json {
            let mut stdout = std::io::stdout().lock();
            for planned in &summary.planned {
                writeln!(
                    stdout,
                    "{}\t{}\t{}",
                    planned.service, planned.size, planned.url
                )?;
            }
        }
        if !self.quiet {
            let prefix = job.map(|name| format!("job {name}: ")).unwrap_or_default();
            for service in &summary.services {
                eprintln!("{prefix}{}", summary_line(service));
            }
            if let Some(catalog) = &summary.catalog {
                eprintln!("{prefix}{}", catalog_line(catalog));
            }
            eprintln!("{prefix}{}", summary_line(summary));
        }
        if self.json {
            self.json_line(&SummaryJson { job, summary })?;
        }
        Ok(())
    }

    pub fn json_line(&self, value: &impl Serialize) -> std::io::Result<()> {
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer(&mut stdout, value)?;
        writeln!(stdout)
    }

    /// A human message on stderr, unless quiet.
    pub fn note(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }
}

fn draw_bar(progress: &Progress, stopped: &mpsc::Receiver<()>) {
    // Nothing to draw until the listing has set the totals.
    while progress.objects_total.load(Ordering::Relaxed) == 0 {
        if stopped.recv_timeout(BAR_TICK) != Err(RecvTimeoutError::Timeout) {
            return;
        }
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{wide_bar}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    LogWriter::show_bar(Some(bar.clone()));
    loop {
        bar.set_length(progress.source_bytes_total.load(Ordering::Relaxed));
        bar.set_position(progress.source_bytes_read.load(Ordering::Relaxed));
        bar.set_message(format!(
            "{} rows, {} rejects",
            thousands(progress.rows.load(Ordering::Relaxed)),
            thousands(progress.rejects.load(Ordering::Relaxed))
        ));
        if stopped.recv_timeout(BAR_TICK) != Err(RecvTimeoutError::Timeout) {
            break;
        }
    }
    LogWriter::show_bar(None);
    bar.finish_and_clear();
}

/// The bar being drawn, if any, so log lines can be printed above it instead of through it.
static ACTIVE_BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Where log lines go: stderr, printed above the progress bar while one is drawn.
pub struct LogWriter {
    line: Vec<u8>,
}

impl LogWriter {
    fn show_bar(bar: Option<ProgressBar>) {
        if let Ok(mut active) = ACTIVE_BAR.lock() {
            *active = bar;
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriterFactory {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> LogWriter {
        LogWriter { line: Vec::new() }
    }
}

/// Makes one [`LogWriter`] per log event.
pub struct LogWriterFactory;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        let write = || {
            let _ = std::io::stderr().lock().write_all(&self.line);
        };
        match ACTIVE_BAR.lock().ok().as_deref().cloned().flatten() {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }
}

fn log_periodically(progress: &Progress, stopped: &mpsc::Receiver<()>) {
    while stopped.recv_timeout(LOG_EVERY) == Err(RecvTimeoutError::Timeout) {
        tracing::info!(
            objects = progress.objects_done.load(Ordering::Relaxed),
            of = progress.objects_total.load(Ordering::Relaxed),
            rows = progress.rows.load(Ordering::Relaxed),
            rejects = progress.rejects.load(Ordering::Relaxed),
            megabytes_read = progress.source_bytes_read.load(Ordering::Relaxed) as f64 / 1e6,
            "progress"
        );
    }
}

/// `alb: 60 objects, 504,112 rows, 3 rejects, 2 skipped, 300.1 MB -> 41.2 MB, 2.9 s (103.4 MB/s)`
pub fn summary_line(s: &RunSummary) -> String {
    if s.dry_run {
        return format!(
            "{}: dry run: would convert {} objects ({:.1} MB stored), {} skipped{}",
            s.service,
            thousands(s.objects),
            s.source_bytes as f64 / 1e6,
            thousands(s.skipped_objects),
            skipped_reasons(s)
        );
    }
    let excluded = if s.excluded > 0 {
        format!(
            ", {} outside the window or already converted",
            thousands(s.excluded)
        )
    } else {
        String::new()
    };
    format!(
        "{}: {} objects, {} rows, {} rejects{excluded}, {} skipped{}, {:.1} MB -> {:.1} MB, {:.1} s ({:.1} MB/s)",
        s.service,
        thousands(s.objects),
        thousands(s.rows),
        thousands(s.rejects),
        thousands(s.skipped_objects),
        skipped_reasons(s),
        s.bytes_in as f64 / 1e6,
        s.bytes_out as f64 / 1e6,
        s.seconds,
        s.megabytes_per_second()
    )
}

/// `catalog (local): 2 tables created, 0 updated, 0 columns added, 14 partitions added`, and
/// `, 3 partitions moved` when a moved target's partitions were repointed.
pub fn catalog_line(c: &agsl::catalog::CatalogSummary) -> String {
    let moved = if c.partitions_moved > 0 {
        format!(", {} partitions moved", thousands(c.partitions_moved))
    } else {
        String::new()
    };
    format!(
        "catalog ({}): {} tables created, {} updated, {} columns added, {} partitions added{moved}",
        c.catalog,
        thousands(c.tables_created),
        thousands(c.tables_updated),
        thousands(c.columns_added),
        thousands(c.partitions_added)
    )
}

/// ` (12 already converted, 3 NLB log)`, or nothing when no object was skipped.
fn skipped_reasons(s: &RunSummary) -> String {
    if s.skipped_reasons.is_empty() {
        return String::new();
    }
    format!(" ({})", counts_by_reason(&s.skipped_reasons))
}

/// `12 already converted, 3 NLB log`: counts with their reasons.
pub fn counts_by_reason(counts: &std::collections::BTreeMap<String, u64>) -> String {
    let counts: Vec<String> = counts
        .iter()
        .map(|(reason, n)| format!("{} {reason}", thousands(*n)))
        .collect();
    counts.join(", ")
}

pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The `--json` summary: the library's JSON form of a summary, with the config job's name.
#[derive(Debug, Serialize)]
struct SummaryJson<'a> {
    /// The config job, with `agsl run`.
    #[serde(skip_serializing_if = "Option::is_none")]
    job: Option<&'a str>,
    #[serde(flatten)]
    summary: &'a RunSummary,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(504_112), "504,112");
        assert_eq!(thousands(1_234_567_890), "1,234,567,890");
    }

    #[test]
    fn summary_line_shape() {
        let summary = RunSummary {
            service: "alb".into(),
            objects: 60,
            rows: 504_112,
            rejects: 3,
            skipped_objects: 2,
            bytes_in: 300_100_000,
            bytes_out: 41_200_000,
            seconds: 2.9,
            ..RunSummary::default()
        };
        assert_eq!(
            summary_line(&summary),
            "alb: 60 objects, 504,112 rows, 3 rejects, 2 skipped, 300.1 MB -> 41.2 MB, 2.9 s (103.5 MB/s)"
        );
    }
}
