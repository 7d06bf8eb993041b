//! What a target holds: for every source object, the event-time spans already converted; for
//! every committed file, its rows and the source objects they came from. The ledger is rebuilt
//! from the commit log (a checkpoint plus the commits after it), never written in place.
//! URLs are held front-coded ([`SortedUrls`]): the objects' in one set, each file's in its own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::objects::Objects;
use super::urls::SortedUrls;
use crate::sink::{REJECTS_DIR, is_rejects_file};
use crate::window::Spans;

/// The converted state of a target, as of commit `sequence`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    pub sequence: u64,
    /// By source object URL.
    pub objects: Objects,
    /// By path relative to the target (`alb_logs/region=…/part-….parquet`, `_rejects/…`).
    pub files: BTreeMap<String, FileEntry>,
    /// The latest key day (days since 1970-01-01) an unbounded run listed completely: later
    /// incremental runs list from a little before it instead of the whole history.
    #[serde(default)]
    pub listed_through: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObjectEntry {
    /// Stored size when last converted.
    pub size: u64,
    /// Event time already converted; everything for an object converted without a window.
    pub covered: Spans,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The service keyword of the table the file belongs to (rejects files too).
    pub service: String,
    pub rows: u64,
    pub bytes: u64,
    /// The source objects with rows in the file (for reprocessing) and how many each gave
    /// (for `verify`).
    pub sources: SourceRows,
    /// The newest event time in the file (UTC microseconds), for `status`; absent in rejects
    /// files and in files written before agsl recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_event: Option<i64>,
}

/// The source objects (by URL) with rows in a file, and how many rows each gave, in URL order:
/// the URLs front-coded, the counts beside them, as a file's objects never change once it is
/// committed. Files committed before agsl counted rows per object name their objects only (a
/// JSON list); they read back with the counts unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceRows {
    urls: SortedUrls,
    /// By position in `urls`; empty when not counted.
    rows: Box<[u64]>,
    counted: bool,
}

impl SourceRows {
    /// Objects with their row counts.
    pub fn counted(rows: BTreeMap<String, u64>) -> Self {
        let mut urls = SortedUrls::builder();
        let mut counts = Vec::with_capacity(rows.len());
        for (url, count) in &rows {
            if urls.push(url.as_bytes()) {
                counts.push(*count);
            }
        }
        Self {
            urls: urls.finish(),
            rows: counts.into_boxed_slice(),
            counted: true,
        }
    }

    /// Objects whose row counts are unknown.
    pub fn uncounted(urls: impl IntoIterator<Item = String>) -> Self {
        let mut urls: Vec<String> = urls.into_iter().collect();
        urls.sort_unstable();
        urls.dedup();
        let urls = SortedUrls::from_sorted(urls.iter().map(String::as_str)).unwrap_or_default();
        Self {
            urls,
            rows: Box::default(),
            counted: false,
        }
    }

    /// The object URLs, sorted.
    pub fn urls(&self) -> impl Iterator<Item = String> + '_ {
        self.urls.iter()
    }

    pub fn contains(&self, url: &str) -> bool {
        self.urls.contains(url)
    }

    pub fn len(&self) -> usize {
        self.urls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.urls.is_empty()
    }

    /// Rows per object (sorted by URL), when they were counted.
    pub fn rows(&self) -> Option<impl Iterator<Item = (String, u64)> + '_> {
        self.counted
            .then(|| self.urls.iter().zip(self.rows.iter().copied()))
    }
}

impl Serialize for SourceRows {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Some(rows) = self.rows() {
            serializer.collect_map(rows)
        } else {
            serializer.collect_seq(self.urls())
        }
    }
}

impl<'de> Deserialize<'de> for SourceRows {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Counted(BTreeMap<String, u64>),
            Listed(Vec<String>),
        }
        Ok(match Stored::deserialize(deserializer)? {
            Stored::Counted(rows) => SourceRows::counted(rows),
            Stored::Listed(urls) => SourceRows::uncounted(urls),
        })
    }
}

/// One atomic change to a target: coverage gained or given up, files added and removed. A
/// commit exists once its record is in the log; its files are moved into place afterwards.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    pub sequence: u64,
    pub run: String,
    /// Seconds since the Unix epoch.
    pub committed_at: u64,
    pub covered: Vec<Coverage>,
    pub uncovered: Vec<Coverage>,
    pub added: Vec<CommittedFile>,
    pub removed: Vec<String>,
    #[serde(default)]
    pub listed_through: Option<i64>,
}

impl Commit {
    /// The objects and files it names: what the size of its record grows with.
    pub fn entries(&self) -> u64 {
        (self.covered.len() + self.uncovered.len() + self.added.len() + self.removed.len()) as u64
    }
}

/// Event-time spans of one source object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    pub url: String,
    pub size: u64,
    pub spans: Spans,
}

/// A file of a commit: where it was staged and where it is published.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommittedFile {
    pub path: String,
    pub staged: String,
    #[serde(flatten)]
    pub entry: FileEntry,
}

impl Ledger {
    /// Applies a commit; the ledger then stands at its sequence.
    pub fn apply(&mut self, commit: &Commit) {
        for coverage in &commit.uncovered {
            if let Some(object) = self.objects.get_mut(&coverage.url) {
                object.covered = object.covered.minus(&coverage.spans);
                if object.covered.is_empty() {
                    self.objects.remove(&coverage.url);
                }
            }
        }
        let mut new_objects = Vec::new();
        for coverage in &commit.covered {
            let covered = |object: &mut ObjectEntry| {
                object.size = coverage.size;
                object.covered = object.covered.union(&coverage.spans);
            };
            match self.objects.get_mut(&coverage.url) {
                Some(object) => covered(object),
                None => {
                    let mut object = ObjectEntry::default();
                    covered(&mut object);
                    new_objects.push((coverage.url.clone(), object));
                }
            }
        }
        self.add_objects(new_objects);
        for path in &commit.removed {
            self.files.remove(path);
        }
        for file in &commit.added {
            self.files.insert(file.path.clone(), file.entry.clone());
        }
        if commit.listed_through > self.listed_through {
            self.listed_through = commit.listed_through;
        }
        self.sequence = commit.sequence;
    }

    /// Adds objects the ledger does not hold yet (the same URL twice is one object covering
    /// both).
    fn add_objects(&mut self, mut new: Vec<(String, ObjectEntry)>) {
        new.sort_by(|a, b| a.0.cmp(&b.0));
        new.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1.size = later.1.size;
                kept.1.covered = kept.1.covered.union(&later.1.covered);
            }
            same
        });
        self.objects.add(new);
    }

    /// Its objects and files: what the size of a checkpoint grows with.
    pub fn entries(&self) -> u64 {
        (self.objects.len() + self.files.len()) as u64
    }

    /// The event time of `url` already converted (empty if never converted).
    pub fn covered(&self, url: &str) -> Spans {
        self.objects
            .get(url)
            .map(|o| o.covered.clone())
            .unwrap_or_default()
    }

    /// The tables the target holds, by service keyword, each with its folder: `""` for a
    /// one-service target, the table's name with `--service auto`. Table files tell it first;
    /// a table whose every line was rejected has rejects files only, and when those went to a
    /// location of their own (named by URL) its folder is unknown: `None`.
    pub fn tables(&self) -> BTreeMap<&str, Option<&str>> {
        let mut tables = BTreeMap::new();
        let files = &self.files;
        for (path, entry) in files.iter().filter(|(p, _)| !is_rejects_file(p)) {
            tables.insert(entry.service.as_str(), table_folder(path));
        }
        for (path, entry) in files.iter().filter(|(p, _)| is_rejects_file(p)) {
            let folder = tables.entry(entry.service.as_str()).or_insert(None);
            *folder = folder.or(table_folder(path));
        }
        tables
    }
}

/// The table folder of a committed file: empty when the file's first folder is a partition
/// (`region=…`) or the rejects folder, else that first folder (`alb_logs/region=…` with
/// `auto`); `None` for a rejects file elsewhere, named by its URL.
pub fn table_folder(path: &str) -> Option<&str> {
    if crate::storage::is_url(path) {
        return None;
    }
    Some(match path.split_once('/') {
        Some((first, _)) if !first.contains('=') && first != REJECTS_DIR => first,
        _ => "",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::TimeWindow;

    #[test]
    fn table_folders_of_one_service_and_auto_targets() {
        assert_eq!(table_folder("region=x/year=2024/a.parquet"), Some(""));
        assert_eq!(table_folder("_rejects/a.parquet"), Some(""));
        assert_eq!(
            table_folder("alb/region=x/year=2024/a.parquet"),
            Some("alb")
        );
        assert_eq!(table_folder("alb/_rejects/a.parquet"), Some("alb"));
        assert_eq!(table_folder("s3://b/rejects/a.parquet"), None);
    }

    #[test]
    fn commits_add_and_remove_coverage_and_files() {
        let mut ledger = Ledger::default();
        let january = TimeWindow {
            since: Some(0),
            until: Some(100),
        }
        .spans();
        ledger.apply(&Commit {
            sequence: 1,
            covered: vec![Coverage {
                url: "s3://b/k".into(),
                size: 10,
                spans: january.clone(),
            }],
            added: vec![CommittedFile {
                path: "t/a.parquet".into(),
                staged: "_agsl/staging/r/t/a.parquet".into(),
                entry: FileEntry {
                    rows: 5,
                    ..FileEntry::default()
                },
            }],
            ..Commit::default()
        });
        assert_eq!(ledger.covered("s3://b/k"), january);
        ledger.apply(&Commit {
            sequence: 2,
            covered: vec![Coverage {
                url: "s3://b/k".into(),
                size: 10,
                spans: Spans::everything().minus(&january),
            }],
            ..Commit::default()
        });
        assert!(ledger.covered("s3://b/k").is_everything());
        ledger.apply(&Commit {
            sequence: 3,
            uncovered: vec![Coverage {
                url: "s3://b/k".into(),
                size: 10,
                spans: Spans::everything(),
            }],
            removed: vec!["t/a.parquet".into()],
            ..Commit::default()
        });
        assert!(ledger.objects.is_empty() && ledger.files.is_empty());
        assert_eq!(ledger.sequence, 3);
    }

    #[test]
    fn objects_added_many_at_once_or_few_are_the_objects_added_one_by_one() {
        // Commits of 1 to 400 objects, some named twice, some already held, some uncovered
        // again, against the map filled one object at a time.
        let mut ledger = Ledger::default();
        let mut expected: BTreeMap<String, ObjectEntry> = BTreeMap::new();
        let mut seed = 7_u64;
        let mut next = |below: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % below
        };
        for sequence in 1..=60 {
            let count = if sequence % 7 == 0 { 400 } else { 1 + next(12) };
            let covered: Vec<Coverage> = (0..count)
                .map(|_| {
                    let since = next(50) as i64;
                    Coverage {
                        url: format!("s3://b/{:04}", next(3000)),
                        size: next(5),
                        spans: TimeWindow {
                            since: Some(since),
                            until: Some(since + 1 + next(20) as i64),
                        }
                        .spans(),
                    }
                })
                .collect();
            let uncovered: Vec<Coverage> = expected
                .keys()
                .filter(|_| next(40) == 0)
                .map(|url| Coverage {
                    url: url.clone(),
                    size: 0,
                    spans: TimeWindow {
                        since: Some(0),
                        until: Some(30),
                    }
                    .spans(),
                })
                .collect();
            for coverage in &uncovered {
                let object = expected.get_mut(&coverage.url).unwrap();
                object.covered = object.covered.minus(&coverage.spans);
                if object.covered.is_empty() {
                    expected.remove(&coverage.url);
                }
            }
            for coverage in &covered {
                let object = expected.entry(coverage.url.clone()).or_default();
                object.size = coverage.size;
                object.covered = object.covered.union(&coverage.spans);
            }
            ledger.apply(&Commit {
                sequence,
                covered,
                uncovered,
                ..Commit::default()
            });
            let held: Vec<(String, &ObjectEntry)> = ledger.objects.iter().collect();
            let want: Vec<(String, &ObjectEntry)> =
                expected.iter().map(|(url, o)| (url.clone(), o)).collect();
            assert!(held == want, "after commit {sequence}");
            assert_eq!(ledger.objects.len(), expected.len());
            assert!(
                expected
                    .iter()
                    .all(|(url, o)| ledger.objects.get(url) == Some(o))
            );
        }
        assert!(expected.len() > 1000, "{} objects", expected.len());
    }

    #[test]
    fn a_checkpoints_objects_in_order_or_not_read_as_a_map_read_entry_by_entry() {
        // In URL order (as agsl writes them), then some out of order, and a URL written twice
        // in a row and once more later: the later entry wins, as in a map.
        let mut entries: Vec<String> = (0..5000)
            .map(|i| format!(r#""s3://b/{i:07}":{{"size":{i},"covered":[[0,{i}]]}}"#))
            .collect();
        entries.push(r#""s3://b/0004999":{"size":98,"covered":[[5,6]]}"#.to_owned());
        entries.extend(
            (0..40)
                .rev()
                .map(|i| format!(r#""s3://a/{i:07}":{{"size":{i},"covered":[[1,2]]}}"#)),
        );
        entries.push(r#""s3://b/0000000":{"size":99,"covered":[[5,6]]}"#.to_owned());
        let json = format!(
            r#"{{"sequence":3,"objects":{{{}}},"files":{{}}}}"#,
            entries.join(",")
        );
        let read: Ledger = serde_json::from_str(&json).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let one_by_one: BTreeMap<String, ObjectEntry> =
            serde_json::from_value(value["objects"].clone()).unwrap();
        assert_eq!(read.objects.len(), 5040);
        assert!(
            read.objects
                .iter()
                .eq(one_by_one.iter().map(|(url, entry)| (url.clone(), entry)))
        );
        assert_eq!(read.objects.get("s3://b/0000000").unwrap().size, 99);
        assert_eq!(read.objects.get("s3://b/0004999").unwrap().size, 98);
        assert_eq!(
            serde_json::from_str::<Ledger>(&serde_json::to_string(&read).unwrap()).unwrap(),
            read
        );
    }

    #[test]
    fn a_ledger_reads_back_as_written_in_any_field_order() {
        let urls = ["s3://b/k1".to_owned(), "s3://b/k2".to_owned()];
        let mut ledger = Ledger::default();
        ledger.apply(&Commit {
            sequence: 1,
            covered: urls
                .iter()
                .map(|url| Coverage {
                    url: url.clone(),
                    size: 10,
                    spans: Spans::everything(),
                })
                .collect(),
            added: vec![CommittedFile {
                path: "t/a.parquet".into(),
                staged: "_agsl/staging/r/t/a.parquet".into(),
                entry: FileEntry {
                    rows: 5,
                    sources: SourceRows::counted(
                        [(urls[0].clone(), 2), (urls[1].clone(), 3)].into(),
                    ),
                    ..FileEntry::default()
                },
            }],
            listed_through: Some(20_000),
            ..Commit::default()
        });
        let rows: Vec<(String, u64)> = ledger.files["t/a.parquet"]
            .sources
            .rows()
            .unwrap()
            .collect();
        assert_eq!(rows, [(urls[0].clone(), 2), (urls[1].clone(), 3)]);

        let json = serde_json::to_string(&ledger).unwrap();
        let read: Ledger = serde_json::from_str(&json).unwrap();
        assert_eq!(read, ledger);

        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let reordered = format!(
            r#"{{"files":{},"listed_through":20000,"objects":{},"sequence":1,"new":[1]}}"#,
            value["files"], value["objects"]
        );
        assert_eq!(serde_json::from_str::<Ledger>(&reordered).unwrap(), ledger);
        let error = serde_json::from_str::<Ledger>(r#"{"sequence":1,"files":{}}"#).unwrap_err();
        assert!(
            error.to_string().contains("missing field `objects`"),
            "{error}"
        );
    }

    #[test]
    fn source_rows_read_both_the_counted_and_the_older_listed_form() {
        let counted = SourceRows::counted(BTreeMap::from([("s3://b/k".to_owned(), 7)]));
        let json = serde_json::to_string(&counted).unwrap();
        assert_eq!(json, r#"{"s3://b/k":7}"#);
        assert_eq!(serde_json::from_str::<SourceRows>(&json).unwrap(), counted);
        let listed: SourceRows = serde_json::from_str(r#"["s3://b/k","s3://b/l"]"#).unwrap();
        assert!(listed.rows().is_none());
        assert!(listed.contains("s3://b/l") && listed.len() == 2);
        assert_eq!(
            serde_json::to_string(&listed).unwrap(),
            r#"["s3://b/k","s3://b/l"]"#
        );
    }
}
