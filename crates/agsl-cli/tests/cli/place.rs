//! Sources and targets for the state tests, local or on moto S3 alike: generated ALB objects
//! with their per-object facts, and a reader that checks a committed table line by line.

use std::collections::{BTreeMap, BTreeSet};

use agsl::storage::{Location, StorageOptions, Store};
use agsl_formats::Format;
use agsl_formats::sample::{SampleObject, SamplePlan, objects};
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// A local folder or an S3 prefix.
pub struct Place {
    pub url: String,
    pub store: Store,
}

impl Place {
    pub fn new(url: &str) -> Self {
        let location = Location::parse(url).unwrap();
        Self {
            url: url.to_owned(),
            store: Store::open(&location, &StorageOptions::default()).unwrap(),
        }
    }
}

/// Good and bad lines per source object key.
pub type Expected = BTreeMap<String, (u64, u64)>;

/// ALB objects of 5-minute intervals starting `first_interval` intervals after the default
/// start (2024-03-07 23:30 UTC, so intervals 6 and up fall on 2024-03-08).
pub fn alb_objects(
    first_interval: i64,
    count: usize,
    lines: usize,
    seed: u64,
) -> Vec<SampleObject> {
    let base = SamplePlan::default();
    let plan = SamplePlan {
        seed,
        start_micros: base.start_micros + first_interval * 300_000_000,
        objects: count,
        lines_per_object: lines,
        bad_line_every: Some(97),
    };
    objects(Format::Alb, plan).collect()
}

/// Writes objects below `source` and adds their facts to `expected`.
pub fn put_objects(source: &Place, objects: &[SampleObject], expected: &mut Expected) {
    for object in objects {
        let bytes = agsl::sample::stored(object).unwrap();
        source.store.put(&object.key, bytes).unwrap();
        let facts = &object.facts;
        assert!(
            expected
                .insert(object.key.clone(), (facts.good_lines, facts.bad_lines))
                .is_none(),
            "keys are unique"
        );
    }
}

/// What a committed table holds, per source object key.
#[derive(Debug, Default)]
pub struct TableContent {
    pub rows: BTreeMap<String, u64>,
    pub rejects: BTreeMap<String, u64>,
    /// Rows seen twice (same object, same trace id) and rejects seen twice (same object and line).
    pub duplicate_rows: u64,
    pub duplicate_rejects: u64,
    pub partitions: BTreeSet<String>,
    /// Paths of the table's visible files (what Athena/DuckDB/Spark would read).
    pub files: Vec<String>,
}

impl TableContent {
    pub fn total_rows(&self) -> u64 {
        self.rows.values().sum()
    }

    /// Asserts the table holds every good line of `expected` once and every bad line once as a
    /// reject, and nothing else.
    pub fn assert_exactly(&self, expected: &Expected) {
        let rows: BTreeMap<String, u64> = expected
            .iter()
            .filter(|(_, (good, _))| *good > 0)
            .map(|(k, (good, _))| (k.clone(), *good))
            .collect();
        let rejects: BTreeMap<String, u64> = expected
            .iter()
            .filter(|(_, (_, bad))| *bad > 0)
            .map(|(k, (_, bad))| (k.clone(), *bad))
            .collect();
        assert_eq!(self.duplicate_rows, 0, "rows committed twice");
        assert_eq!(self.duplicate_rejects, 0, "rejects committed twice");
        assert_eq!(self.rows, rows, "rows per object");
        assert_eq!(self.rejects, rejects, "rejects per object");
    }
}

fn count_rejects(
    batches: &[RecordBatch],
    content: &mut TableContent,
    seen: &mut BTreeSet<(String, i64)>,
) {
    for batch in batches {
        let sources = batch
            .column_by_name("source_key")
            .unwrap()
            .as_string::<i32>();
        let lines = batch
            .column_by_name("line_number")
            .unwrap()
            .as_primitive::<Int64Type>();
        for row in 0..batch.num_rows() {
            let source = key_of(sources.value(row));
            if !seen.insert((source.clone(), lines.value(row))) {
                content.duplicate_rejects += 1;
            }
            *content.rejects.entry(source).or_default() += 1;
        }
    }
}

/// The key of a `_source_key` URL: what follows the `AWSLogs/` layout root.
fn key_of(url: &str) -> String {
    let start = url
        .find("AWSLogs/")
        .expect("generated keys start with AWSLogs/");
    url[start..].to_owned()
}

/// Reads every visible Parquet file of the table at `target` (leaving out `_`- and
/// `.`-prefixed folders and files, as Hive readers do) and the rejects in `<target>/_rejects/`.
pub fn read_table(target: &Place) -> TableContent {
    read_table_and_rejects(target, None)
}

/// Like [`read_table`], with the rejects in a location of their own (and none in the target).
pub fn read_table_and_rejects(target: &Place, rejects: Option<&Place>) -> TableContent {
    let mut content = TableContent::default();
    let mut traces = BTreeSet::new();
    let mut reject_lines = BTreeSet::new();
    let read = |place: &Place, key: &str| -> Vec<RecordBatch> {
        ParquetRecordBatchReaderBuilder::try_new(place.store.get(key).unwrap())
            .unwrap()
            .build()
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    if let Some(place) = rejects {
        for object in place.store.list("").unwrap() {
            if object.key.ends_with(".parquet") {
                let batches = read(place, &object.key);
                count_rejects(&batches, &mut content, &mut reject_lines);
            }
        }
    }
    for object in target.store.list("").unwrap() {
        let key = &object.key;
        if !key.ends_with(".parquet") {
            continue;
        }
        let hidden = key
            .split('/')
            .any(|segment| segment.starts_with('_') || segment.starts_with('.'));
        let in_rejects = key.starts_with("_rejects/");
        assert!(
            !(in_rejects && rejects.is_some()),
            "rejects have a location of their own, yet `{key}` is in the target"
        );
        if hidden && !in_rejects {
            continue;
        }
        let batches = read(target, key);
        if in_rejects {
            count_rejects(&batches, &mut content, &mut reject_lines);
            continue;
        }
        content.files.push(key.clone());
        if let Some((partition, _)) = key.rsplit_once('/') {
            content.partitions.insert(partition.to_owned());
        }
        for batch in &batches {
            let sources = batch
                .column_by_name("_source_key")
                .unwrap()
                .as_string::<i32>();
            let trace = batch.column_by_name("trace_id").unwrap().as_string::<i32>();
            for row in 0..batch.num_rows() {
                let source = key_of(sources.value(row));
                let id = trace.is_valid(row).then(|| trace.value(row).to_owned());
                if !traces.insert((source.clone(), id)) {
                    content.duplicate_rows += 1;
                }
                *content.rows.entry(source).or_default() += 1;
            }
        }
    }
    content
}
