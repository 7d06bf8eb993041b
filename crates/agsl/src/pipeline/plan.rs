//! Deciding what a run converts: list the source (narrowed by the window), compare each object
//! with the ledger, route it to its format. What is left of the window once the event time an
//! object was already converted for is taken out is the object's work in this run. An object
//! the ledger does not hold by URL, but whose AWS delivery it holds under another (or that the
//! listing holds twice), is a copy and is skipped (`state::deliveries`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, Read};

use agsl_formats::detect::{self as detection, KeyDetection};
use agsl_formats::{Format, Route};

use super::ConvertJob;
use crate::error::{Result, SourceError};
use crate::source::{Source, SourceObject, is_corrupt_data, open_decompressed_head};
use crate::state::deliveries::{self, Deliveries};
use crate::state::{Coverage, Ledger};
use crate::window::{KeyDays, Spans, key_day};

/// One object to convert in this run. Its URL is not kept (`Source::url` gives it again): a
/// plan can hold a million tasks.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// Objects the listing found (in the window's days), whatever becomes of them.
    pub listed: u64,
    pub skipped: u64,
    pub skipped_reasons: BTreeMap<String, u64>,
    /// With `--reprocess`: converted event time to take back before converting it again.
    pub uncover: Vec<Coverage>,
    /// The latest key day listed, when the listing covered everything new (an unbounded run).
    pub listed_through: Option<i64>,
    /// Objects skipped as [`CHANGED_SINCE_CONVERTED`] (few: AWS never rewrites a log object).
    /// A run warns about each; `verify`, which plans too, reports them its own way.
    pub changed: Vec<ChangedObject>,
    /// The first object skipped as [`COPY_OF_CONVERTED`], with the URL its delivery is
    /// converted (or planned) under: a run warns once, naming it.
    pub first_copy: Option<(String, String)>,
}

/// A converted object whose stored size has changed since its conversion.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChangedObject {
    pub key: String,
    pub converted_size: u64,
    pub size: u64,
}

impl Plan {
    fn route(&mut self, task: ObjectTask, routing: Routing) {
        match routing {
            Ok(format) => self.groups.entry(format).or_default().push(task),
            Err(reason) => self.skip(&task.key, reason),
        }
    }

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

/// Reason given for objects an earlier run converted (wholly or for part of their event time)
/// whose stored size has changed since: rewritten in place (a log file copied again, or still
/// being written when it was converted). Rows of their earlier content are in the table, so
/// nothing more of them is converted until `--reprocess` takes those rows back. Counted as a
/// skip, so every run and its metrics say so until then.
pub const CHANGED_SINCE_CONVERTED: &str = "changed since converted";

/// Reason given for objects whose AWS delivery (its key from `AWSLogs/` on, or the file name
/// AWS gave it alone, and its size: `state::deliveries`) the
/// target holds converted under another URL, or converts from another URL in this run: a
/// replica or a backup copy of the logs. Converting it would put its rows in the table twice.
pub const COPY_OF_CONVERTED: &str = "copy of a converted object";

/// Days listed again before the day an earlier unbounded run listed through: objects AWS
/// delivers late (minutes, rarely hours) still fall inside.
pub const LISTING_LOOKBACK_DAYS: i64 = 2;

pub(super) fn plan(job: &ConvertJob, source: &Source, ledger: &Ledger) -> Result<Plan> {
    let plan = plan_listing(job, source, ledger, &mut |_, _| {})?;
    if let Some((key, original)) = &plan.first_copy {
        tracing::warn!(
            objects = plan
                .skipped_reasons
                .get(COPY_OF_CONVERTED)
                .copied()
                .unwrap_or(0),
            key,
            original,
            "objects are copies of AWS deliveries this target converts from other URLs (the \
             same key from AWSLogs/ on, or the same file name AWS gave it, and size); they are \
             skipped, so no row is converted twice. A window is converted again (--reprocess) \
             under the URL it was converted from"
        );
    }
    if plan.listed == 0 && ledger.objects.is_empty() {
        // A first run that finds nothing is most often a wrong prefix (another account or
        // region folder, a typo), which would otherwise look like a successful run.
        tracing::warn!(
            source = %job.source,
            "the source holds no objects{}; check its bucket and prefix",
            if job.window.is_unbounded() {
                ""
            } else {
                " dated in the window"
            }
        );
    }
    for changed in &plan.changed {
        tracing::warn!(
            key = changed.key,
            converted_size = changed.converted_size,
            size = changed.size,
            "source object changed since it was converted; it is not converted again until a \
             run with --reprocess takes back what was converted of it"
        );
    }
    Ok(plan)
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
    plan.listed = listed.len() as u64;
    if unbounded {
        plan.listed_through = listed.iter().filter_map(|o| key_day(&o.key)).max();
    }
    // Routed in listing order; objects whose key says nothing wait for their content, read
    // for all of them at once below, so detection is not one round trip per object in turn.
    // Only those wait: a plan of a million routed objects is never held twice.
    let mut pending: Vec<(ObjectTask, Option<Routing>)> = Vec::new();
    // Objects the ledger does not hold by URL whose delivery it, or this listing, may hold
    // under another URL: settled after the listing, by one pass over the ledger.
    let mut copies = CopyCheck::default();
    for object in listed {
        let url = source.url(&object.key);
        seen(&object, &url);
        let converted = ledger.objects.get(url.as_str());
        let mut covered = converted.map(|o| o.covered.clone()).unwrap_or_default();
        let uncover = if job.reprocess {
            covered.intersect(&window)
        } else {
            Spans::default()
        };
        if !uncover.is_empty() {
            covered = covered.minus(&uncover);
        }
        // A rewritten object keeps rows of its earlier content for the event time converted
        // from it; converting the rest of the new content beside them would mix the two. Its
        // rows are taken back only when all of them are, so none are lost either.
        if let Some(entry) = converted.filter(|e| e.size != object.size && !covered.is_empty()) {
            plan.skip(&object.key, CHANGED_SINCE_CONVERTED);
            plan.changed.push(ChangedObject {
                key: object.key,
                converted_size: entry.size,
                size: object.size,
            });
            continue;
        }
        if !uncover.is_empty() {
            plan.uncover.push(Coverage {
                url: url.clone(),
                size: object.size,
                spans: uncover,
            });
        }
        let todo = window.minus(&covered);
        if todo.is_empty() {
            // Checked before routing, so a no-op run never opens an object to detect it.
            plan.skip(&object.key, ALREADY_CONVERTED);
            continue;
        }
        let routing = match &parser {
            Some(parser) => Some(match detection::route(*parser, &object.key) {
                Route::Convert => Ok(parser.format()),
                Route::Skip(reason) => Err(reason),
            }),
            None => match detection::detect_from_key(&object.key) {
                KeyDetection::Format(format) => Some(Ok(format)),
                KeyDetection::Skip(reason) => Some(Err(reason)),
                KeyDetection::Unknown => None,
            },
        };
        let task = ObjectTask {
            first_pass: covered.is_empty(),
            key: object.key,
            size: object.size,
            todo,
        };
        if converted.is_none()
            && !matches!(routing, Some(Err(_)))
            && copies.may_be_copy(ledger, &url, task.size)
        {
            copies.suspects.push((task, routing));
            continue;
        }
        match routing {
            Some(routing) => plan.route(task, routing),
            None => pending.push((task, None)),
        }
    }
    let resort = !copies.suspects.is_empty() || !pending.is_empty();
    copies.settle(source, ledger, &mut plan, &mut pending);
    if !pending.is_empty() {
        detect_contents(source, &mut pending, job.fetch.concurrency)?;
        for (task, routing) in pending {
            plan.route(task, routing.expect("every object is recognised"));
        }
    }
    if resort {
        // Detected objects and settled suspects joined their groups last: back into listing
        // (key) order.
        for tasks in plan.groups.values_mut() {
            tasks.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        }
    }
    Ok(plan)
}

/// Finds the listed objects that are copies of AWS deliveries the target holds converted
/// under another URL, or that this listing holds twice ([`COPY_OF_CONVERTED`]).
#[derive(Default)]
struct CopyCheck {
    /// The ledger's deliveries, read at the first object the ledger does not hold by URL, so a
    /// run with nothing new never reads the whole ledger for this.
    deliveries: Option<Deliveries>,
    /// Deliveries of the new objects planned so far.
    planned: HashSet<u64>,
    /// New objects whose delivery the ledger or an object planned before may hold.
    suspects: Vec<(ObjectTask, Option<Routing>)>,
}

impl CopyCheck {
    /// Whether `url`, which the ledger does not hold, may be a copy; if not, it counts as
    /// planned.
    fn may_be_copy(&mut self, ledger: &Ledger, url: &str, size: u64) -> bool {
        let Some(hash) = deliveries::delivery(url, size).map(|d| d.hash) else {
            return false;
        };
        let held = self
            .deliveries
            .get_or_insert_with(|| Deliveries::of(ledger))
            .may_hold(hash);
        let planned_before = !self.planned.insert(hash);
        held || planned_before
    }

    /// Skips the suspects that are copies (of a delivery the ledger holds converted, else of an
    /// object of the listing planned before them) and routes the rest, whose hashes only met.
    /// Memory follows the suspects by a few words each, whatever the ledger holds.
    fn settle(
        self,
        source: &Source,
        ledger: &Ledger,
        plan: &mut Plan,
        pending: &mut Vec<(ObjectTask, Option<Routing>)>,
    ) {
        if self.suspects.is_empty() {
            return;
        }
        let suspects = self.suspects;
        let delivery_of = |task: &ObjectTask| -> Option<(u64, String)> {
            let url = source.url(&task.key);
            let delivery = deliveries::delivery(&url, task.size)?;
            Some((delivery.hash, delivery.key.to_owned()))
        };
        // Each suspect's delivery, found once: the passes below compare against it.
        let suspect_deliveries: Vec<Option<(u64, String)>> =
            suspects.iter().map(|(task, _)| delivery_of(task)).collect();
        let mut by_hash: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, delivery) in suspect_deliveries.iter().enumerate() {
            if let Some((hash, _)) = delivery {
                by_hash.entry(*hash).or_default().push(i);
            }
        }
        // Which suspects are copies, and the URL the first of them is a copy of: `mark` makes
        // the suspects of the delivery `key` (whose hash is `hash`) copies of `original`.
        let mut copies = Copies {
            of: vec![false; suspects.len()],
            first: None,
        };
        let mark = |copies: &mut Copies, hash: u64, key: &str, original: &dyn Fn() -> String| {
            for &i in by_hash.get(&hash).into_iter().flatten() {
                if !copies.of[i]
                    && suspect_deliveries[i]
                        .as_ref()
                        .is_some_and(|(_, k)| k == key)
                {
                    copies.of[i] = true;
                    if copies.first.as_ref().is_none_or(|(first, _)| i < *first) {
                        copies.first = Some((i, original()));
                    }
                }
            }
        };
        deliveries::for_each_converted(ledger, |delivery, url| {
            mark(&mut copies, delivery.hash, delivery.key, &|| url.to_owned());
        });
        for task in plan.tasks().chain(pending.iter().map(|(task, _)| task)) {
            if let Some((hash, key)) = delivery_of(task) {
                mark(&mut copies, hash, &key, &|| source.url(&task.key));
            }
        }
        for (i, (task, routing)) in suspects.iter().enumerate() {
            if copies.of[i] {
                plan.skip(&task.key, COPY_OF_CONVERTED);
                continue;
            }
            // Planned now: the suspects after it with its delivery are its copies.
            if let Some((hash, key)) = &suspect_deliveries[i] {
                mark(&mut copies, *hash, key, &|| source.url(&task.key));
            }
            let task = task.clone();
            match routing {
                Some(routing) => plan.route(task, *routing),
                None => pending.push((task, None)),
            }
        }
        plan.first_copy = copies
            .first
            .map(|(i, original)| (suspects[i].0.key.clone(), original));
    }
}

/// The suspects found to be copies, by index, and the first of them with its original's URL.
struct Copies {
    of: Vec<bool>,
    first: Option<(usize, String)>,
}

/// Where an object goes: its format, or why it is skipped.
type Routing = std::result::Result<Format, &'static str>;

/// Most objects' content read at once to recognise it; S3 requests wait on latency, not CPU.
const DETECTION_THREADS: usize = 32;

/// Routes the objects whose key said nothing from their first line, reading up to
/// `concurrency` (at most [`DETECTION_THREADS`]) of them at a time. The first read that fails
/// fails the plan.
fn detect_contents(
    source: &Source,
    pending: &mut [(ObjectTask, Option<Routing>)],
    concurrency: usize,
) -> Result<()> {
    let threads = concurrency.clamp(1, DETECTION_THREADS).min(pending.len());
    let chunk = pending.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = pending
            .chunks_mut(chunk)
            .map(|objects| {
                scope.spawn(move || -> Result<()> {
                    for (task, routing) in objects.iter_mut() {
                        *routing = Some(detect(source, &task.key, task.size)?);
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|worker| {
            worker.join().unwrap_or_else(|_| {
                Err(crate::Error::Internal("content detection panicked".into()))
            })
        })
    })
}

/// Bytes of the first line read to recognise content whose key says nothing.
const DETECTION_BYTES: u64 = 64 * 1024;
/// Stored bytes fetched to find that line: enough for 64 KiB of text even where gzip cannot
/// compress it at all.
const DETECTION_HEAD_BYTES: u64 = 2 * DETECTION_BYTES;

/// Skip reason for an object whose first line cannot be decompressed, so its service is unknown.
pub const CORRUPT_BEFORE_FIRST_LINE: &str = "corrupt compressed data before the first line";

/// The service of one object for `--service auto`, or why it is skipped. Failing to read the
/// object is an error that stops the run: the object is never skipped for it, so the next run,
/// which lists it again (it is not in the ledger), converts it.
fn detect(source: &Source, key: &str, size: u64) -> Result<Routing> {
    let read_error = |source: std::io::Error| SourceError::Read {
        key: key.to_owned(),
        source,
    };
    crate::faults::fail_read("detect-read").map_err(read_error)?;
    let mut line = Vec::new();
    let head = source.read_head(key, size, DETECTION_HEAD_BYTES)?;
    let first_line = open_decompressed_head(head).and_then(|mut input| {
        (&mut input)
            .take(DETECTION_BYTES)
            .read_until(b'\n', &mut line)
    });
    // Only the object's head was fetched: a compressed stream cut there ends early, which is
    // damage only when the whole object was read.
    let cut_short = size > DETECTION_HEAD_BYTES;
    match first_line {
        Ok(_) => {}
        Err(_) if cut_short && !line.is_empty() => {}
        Err(error) if is_corrupt_data(&error) => return Ok(Err(CORRUPT_BEFORE_FIRST_LINE)),
        Err(error) if cut_short && error.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(error) => return Err(read_error(error).into()),
    }
    Ok(detection::format_from_first_line(&line).ok_or("content of no known service"))
}
