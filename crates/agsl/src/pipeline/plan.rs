//! Deciding what a run converts: list the source (narrowed by the window), compare each object
//! with the ledger, route it to its format. What is left of the window once the event time an
//! object was already converted for is taken out is the object's work in this run.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};

use agsl_formats::detect::{self as detection, KeyDetection};
use agsl_formats::{Format, Route};

use super::ConvertJob;
use crate::error::{Result, SourceError};
use crate::source::{Source, SourceObject, is_corrupt_data, open_decompressed};
use crate::state::{Coverage, Ledger};
use crate::window::{KeyDays, Spans, key_day};

/// One object to convert in this run. Its URL is not kept (`Source::url` gives it again): a
/// plan can hold a million tasks.
#[derive(Debug, Clone)]
pub(crate) struct ObjectTask {
    pub key: String,
    pub size: u64,
    /// Event time to convert now: the window minus what earlier runs converted.
    pub todo: Spans,
    /// No earlier run converted any of the object: its rejects (and rows without an event
    /// time) are written now, and never again.
    pub first_pass: bool,
}

/// What a run will do.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub groups: BTreeMap<Format, Vec<ObjectTask>>,
    pub skipped: u64,
    pub skipped_reasons: BTreeMap<String, u64>,
    /// With `--reprocess`: converted event time to take back before converting it again.
    pub uncover: Vec<Coverage>,
    /// The latest key day listed, when the listing covered everything new (an unbounded run).
    pub listed_through: Option<i64>,
}

impl Plan {
    fn skip(&mut self, key: &str, reason: &str) {
        tracing::debug!(key, reason, "skipping object");
        self.skipped += 1;
        *self.skipped_reasons.entry(reason.to_owned()).or_default() += 1;
    }

    pub fn tasks(&self) -> impl Iterator<Item = &ObjectTask> {
        self.groups.values().flatten()
    }
}

/// Reason given for objects an earlier run converted completely (for this window).
pub const ALREADY_CONVERTED: &str = "already converted";

/// Days listed again before the day an earlier unbounded run listed through: objects AWS
/// delivers late (minutes, rarely hours) still fall inside.
pub const LISTING_LOOKBACK_DAYS: i64 = 2;

pub(super) fn plan(job: &ConvertJob, source: &Source, ledger: &Ledger) -> Result<Plan> {
    plan_listing(job, source, ledger, &mut |_, _| {})
}

/// [`plan`], showing `seen` every listed object with its URL (for `verify`).
pub(crate) fn plan_listing(
    job: &ConvertJob,
    source: &Source,
    ledger: &Ledger,
    seen: &mut dyn FnMut(&SourceObject, &str),
) -> Result<Plan> {
    let mut plan = Plan::default();
    let window = job.window.spans();
    let parser = job.format.map(Format::parser);
    let unbounded = job.window.is_unbounded();
    // An incremental run lists from shortly before where the last complete listing ended
    // (S3: only those date folders), so its cost follows new data, not the history.
    let listing = match ledger.listed_through {
        Some(day) if unbounded && !job.full_listing => {
            KeyDays::from(Some(day - LISTING_LOOKBACK_DAYS), None)
        }
        _ => KeyDays::of(&job.window),
    };
    let listed = source.list(&listing)?;
    if unbounded {
        plan.listed_through = listed.iter().filter_map(|o| key_day(&o.key)).max();
    }
    for object in listed {
        let url = source.url(&object.key);
        seen(&object, &url);
        let mut covered = ledger.covered(&url);
        if job.reprocess {
            let uncover = covered.intersect(&window);
            if !uncover.is_empty() {
                covered = covered.minus(&uncover);
                plan.uncover.push(Coverage {
                    url: url.clone(),
                    size: object.size,
                    spans: uncover,
                });
            }
        }
        let todo = window.minus(&covered);
        if todo.is_empty() {
            // Checked before routing, so a no-op run never opens an object to detect it.
            plan.skip(&object.key, ALREADY_CONVERTED);
            continue;
        }
        let route = match &parser {
            Some(parser) => match parser.route(&object.key) {
                Route::Convert => Ok(parser.format()),
                Route::Skip(reason) => Err(reason),
            },
            None => detect(source, &object.key)?,
        };
        match route {
            Ok(format) => plan.groups.entry(format).or_default().push(ObjectTask {
                first_pass: covered.is_empty(),
                key: object.key,
                size: object.size,
                todo,
            }),
            Err(reason) => plan.skip(&object.key, reason),
        }
    }
    Ok(plan)
}

/// Bytes of the first line read to recognise content whose key says nothing.
const DETECTION_BYTES: u64 = 64 * 1024;

/// Skip reason for an object whose first line cannot be decompressed, so its service is unknown.
pub const CORRUPT_BEFORE_FIRST_LINE: &str = "corrupt compressed data before the first line";

/// The service of one object for `--service auto`, or why it is skipped. Failing to read the
/// object is an error that stops the run: the object is never skipped for it, so the next run,
/// which lists it again (it is not in the ledger), converts it.
fn detect(source: &Source, key: &str) -> Result<std::result::Result<Format, &'static str>> {
    match detection::detect_from_key(key) {
        KeyDetection::Format(format) => return Ok(Ok(format)),
        KeyDetection::Skip(reason) => return Ok(Err(reason)),
        KeyDetection::Unknown => {}
    }
    let read_error = |source: std::io::Error| SourceError::Read {
        key: key.to_owned(),
        source,
    };
    crate::faults::fail_point("detect-read").map_err(read_error)?;
    let mut line = Vec::new();
    let first_line = open_decompressed(source.read(key)?).and_then(|mut input| {
        (&mut input)
            .take(DETECTION_BYTES)
            .read_until(b'\n', &mut line)
    });
    match first_line {
        Ok(_) => {}
        Err(error) if is_corrupt_data(&error) => return Ok(Err(CORRUPT_BEFORE_FIRST_LINE)),
        Err(error) => return Err(read_error(error).into()),
    }
    Ok(detection::format_from_first_line(&line).ok_or("content of no known service"))
}
