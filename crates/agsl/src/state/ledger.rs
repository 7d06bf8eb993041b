//! What a target holds: for every source object, the event-time spans already converted; for
//! every committed file, its rows and the source objects they came from. The ledger is rebuilt
//! from the commit log (a checkpoint plus the commits after it), never written in place.
//! Each object's URL is held once ([`ObjectUrl`]), however many files name it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::window::Spans;

/// A source object's URL (`s3://bucket/key` or `file:///path`) as the ledger holds it: shared
/// by the object's entry and the row counts of the files holding its rows. A million objects
/// with rows otherwise keep every URL twice, about a third of the ledger's memory.
pub type ObjectUrl = Arc<str>;

/// The converted state of a target, as of commit `sequence`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ledger {
    pub sequence: u64,
    /// By source object URL.
    pub objects: BTreeMap<ObjectUrl, ObjectEntry>,
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

/// The source objects (by URL) with rows in a file, and how many rows each gave, sorted by
/// URL: a slice, not a map, as a file's objects never change once it is committed (24 bytes
/// an object instead of a map's 40). Files committed before agsl counted rows per object name
/// their objects only (a JSON list); they read back with the counts unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceRows {
    rows: Box<[(ObjectUrl, u64)]>,
    counted: bool,
}

impl SourceRows {
    /// Objects with their row counts.
    pub fn counted(rows: BTreeMap<String, u64>) -> Self {
        Self {
            rows: rows.into_iter().map(|(url, n)| (url.into(), n)).collect(),
            counted: true,
        }
    }

    /// Objects whose row counts are unknown.
    pub fn uncounted(urls: impl IntoIterator<Item = String>) -> Self {
        let mut rows: Vec<(ObjectUrl, u64)> = urls.into_iter().map(|url| (url.into(), 0)).collect();
        rows.sort_unstable();
        rows.dedup();
        Self {
            rows: rows.into_boxed_slice(),
            counted: false,
        }
    }

    /// The object URLs, sorted.
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        self.rows.iter().map(|(url, _)| &**url)
    }

    pub fn contains(&self, url: &str) -> bool {
        self.rows
            .binary_search_by(|(held, _)| (**held).cmp(url))
            .is_ok()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Takes each URL from `objects` where it is there, so the two hold it once.
    fn share_urls(&mut self, objects: &BTreeMap<ObjectUrl, ObjectEntry>) {
        for (url, _) in self.rows.iter_mut() {
            if let Some((shared, _)) = objects.get_key_value(&**url) {
                *url = Arc::clone(shared);
            }
        }
    }

    /// Rows per object (sorted by URL), when they were counted.
    pub fn rows(&self) -> Option<&[(ObjectUrl, u64)]> {
        self.counted.then_some(&self.rows)
    }
}

impl Serialize for SourceRows {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.counted {
            serializer.collect_map(self.rows.iter().map(|(url, rows)| (url, rows)))
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
            if let Some(object) = self.objects.get_mut(coverage.url.as_str()) {
                object.covered = object.covered.minus(&coverage.spans);
                if object.covered.is_empty() {
                    self.objects.remove(coverage.url.as_str());
                }
            }
        }
        let mut new_objects = Vec::new();
        for coverage in &commit.covered {
            let covered = |object: &mut ObjectEntry| {
                object.size = coverage.size;
                object.covered = object.covered.union(&coverage.spans);
            };
            match self.objects.get_mut(coverage.url.as_str()) {
                Some(object) => covered(object),
                None => {
                    let mut object = ObjectEntry::default();
                    covered(&mut object);
                    new_objects.push((ObjectUrl::from(coverage.url.as_str()), object));
                }
            }
        }
        self.add_objects(new_objects);
        for path in &commit.removed {
            self.files.remove(path);
        }
        for file in &commit.added {
            let mut entry = file.entry.clone();
            entry.sources.share_urls(&self.objects);
            self.files.insert(file.path.clone(), entry);
        }
        if commit.listed_through > self.listed_through {
            self.listed_through = commit.listed_through;
        }
        self.sequence = commit.sequence;
    }

    /// Adds objects the ledger does not hold yet (the same URL twice is one object covering
    /// both). Many at once, an eighth of the ledger or more, are merged in in one pass, which
    /// packs the map's nodes full: inserted one by one in key order they would stay about half
    /// empty, 30 MB more at a million objects. A merge passes over the whole map, hence the
    /// eighth: the passes then add up to a few times the ledger's final size.
    fn add_objects(&mut self, mut new: Vec<(ObjectUrl, ObjectEntry)>) {
        new.sort_by(|a, b| a.0.cmp(&b.0));
        new.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1.size = later.1.size;
                kept.1.covered = kept.1.covered.union(&later.1.covered);
            }
            same
        });
        if new.len() * 8 < self.objects.len() {
            self.objects.extend(new);
        } else {
            let mut merged: BTreeMap<ObjectUrl, ObjectEntry> = new.into_iter().collect();
            self.objects.append(&mut merged);
        }
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
}

/// A checkpoint writes `objects` before `files`, so each file's row counts are read sharing the
/// URLs already read (one file at a time), never holding a second copy of every URL.
impl<'de> Deserialize<'de> for Ledger {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(LedgerVisitor)
    }
}

struct LedgerVisitor;

impl<'de> Visitor<'de> for LedgerVisitor {
    type Value = Ledger;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a ledger")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ledger, A::Error> {
        let (mut sequence, mut objects, mut files, mut listed_through) = (None, None, None, None);
        while let Some(field) = map.next_key::<String>()? {
            match field.as_str() {
                "sequence" => sequence = Some(map.next_value()?),
                "objects" => objects = Some(map.next_value_seed(ObjectsPacked)?),
                "files" => {
                    let none_yet = BTreeMap::new();
                    let shared = objects.as_ref().unwrap_or(&none_yet);
                    files = Some(map.next_value_seed(FilesSharingUrls(shared))?);
                }
                "listed_through" => listed_through = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Ledger {
            sequence: sequence.ok_or_else(|| A::Error::missing_field("sequence"))?,
            objects: objects.ok_or_else(|| A::Error::missing_field("objects"))?,
            files: files.ok_or_else(|| A::Error::missing_field("files"))?,
            listed_through,
        })
    }
}

/// The `objects` of a ledger, merged into the map a chunk at a time so that its nodes are full
/// as it is read: inserted one by one in key order they would stay about half empty, and packing
/// them afterwards held a second copy of the entries (together some 70 MB more at a million
/// objects).
struct ObjectsPacked;

/// Entries read before they are merged into the map, at least; then a quarter of the map.
/// A merge passes over the whole map, so chunks growing with it keep the passes to a few
/// times its final size (fixed chunks would make a read of ten million objects quadratic).
const OBJECTS_CHUNK: usize = 65_536;

impl<'de> DeserializeSeed<'de> for ObjectsPacked {
    type Value = BTreeMap<ObjectUrl, ObjectEntry>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectsPacked {
    type Value = BTreeMap<ObjectUrl, ObjectEntry>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the ledger's objects by URL")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut objects = BTreeMap::new();
        let mut chunk = Vec::with_capacity(OBJECTS_CHUNK);
        // A later entry for the same URL wins, as a map read entry by entry keeps it.
        let mut merge = |chunk: &mut Vec<(ObjectUrl, ObjectEntry)>| {
            let mut packed: BTreeMap<_, _> = chunk.drain(..).collect();
            objects.append(&mut packed);
        };
        let mut held = 0;
        while let Some((url, entry)) = map.next_entry::<String, ObjectEntry>()? {
            chunk.push((ObjectUrl::from(url), entry));
            if chunk.len() >= OBJECTS_CHUNK.max(held / 4) {
                held += chunk.len();
                merge(&mut chunk);
            }
        }
        merge(&mut chunk);
        Ok(objects)
    }
}

/// The `files` of a ledger, their row counts sharing the URLs of `objects`.
struct FilesSharingUrls<'a>(&'a BTreeMap<ObjectUrl, ObjectEntry>);

impl<'de> DeserializeSeed<'de> for FilesSharingUrls<'_> {
    type Value = BTreeMap<String, FileEntry>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FilesSharingUrls<'_> {
    type Value = BTreeMap<String, FileEntry>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the ledger's files by path")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut files = BTreeMap::new();
        while let Some((path, mut entry)) = map.next_entry::<String, FileEntry>()? {
            entry.sources.share_urls(self.0);
            files.insert(path, entry);
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::TimeWindow;

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
            let held: Vec<(&str, &ObjectEntry)> =
                ledger.objects.iter().map(|(url, o)| (&**url, o)).collect();
            let want: Vec<(&str, &ObjectEntry)> =
                expected.iter().map(|(url, o)| (url.as_str(), o)).collect();
            assert!(held == want, "after commit {sequence}");
        }
        assert!(expected.len() > 1000, "{} objects", expected.len());
    }

    #[test]
    fn a_checkpoints_objects_read_in_chunks_are_the_map_read_entry_by_entry() {
        // Three chunks and a bit, out of order, with a URL written twice across chunks (the
        // later entry wins, as in a map read entry by entry).
        let count = OBJECTS_CHUNK * 2 + 10;
        let mut entries: Vec<String> = (0..count)
            .rev()
            .map(|i| format!(r#""s3://b/{i:07}":{{"size":{i},"covered":[[0,{i}]]}}"#))
            .collect();
        entries.push(r#""s3://b/0000000":{"size":99,"covered":[[5,6]]}"#.to_owned());
        let json = format!(
            r#"{{"sequence":3,"objects":{{{}}},"files":{{}}}}"#,
            entries.join(",")
        );
        let read: Ledger = serde_json::from_str(&json).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let one_by_one: BTreeMap<String, ObjectEntry> =
            serde_json::from_value(value["objects"].clone()).unwrap();
        assert_eq!(read.objects.len(), count);
        assert!(
            read.objects
                .iter()
                .map(|(url, entry)| (&**url, entry))
                .eq(one_by_one.iter().map(|(url, entry)| (url.as_str(), entry)))
        );
        assert_eq!(read.objects["s3://b/0000000"].size, 99);
    }

    /// Whether `file`'s row counts hold the very URL (not a copy) the ledger's object holds.
    fn shares_url(ledger: &Ledger, file: &str, url: &str) -> bool {
        let (object_url, _) = ledger.objects.get_key_value(url).unwrap();
        let rows = &ledger.files[file].sources.rows;
        let (file_url, _) = rows.iter().find(|(held, _)| &**held == url).unwrap();
        Arc::ptr_eq(object_url, file_url)
    }

    #[test]
    fn an_objects_url_is_held_once_after_commits_and_after_a_checkpoint_is_read() {
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
        assert!(
            urls.iter()
                .all(|url| shares_url(&ledger, "t/a.parquet", url))
        );

        let json = serde_json::to_string(&ledger).unwrap();
        let read: Ledger = serde_json::from_str(&json).unwrap();
        assert_eq!(read, ledger);
        assert!(urls.iter().all(|url| shares_url(&read, "t/a.parquet", url)));

        // Fields in another order read the same, only without sharing.
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
        assert_eq!(listed.rows(), None);
        assert!(listed.contains("s3://b/l") && listed.len() == 2);
        assert_eq!(
            serde_json::to_string(&listed).unwrap(),
            r#"["s3://b/k","s3://b/l"]"#
        );
    }
}
