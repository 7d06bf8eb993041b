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

/// The source objects (by URL) with rows in a file, and how many rows each gave. Files
/// committed before agsl counted rows per object name their objects only (a JSON list); they
/// read back with the counts unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceRows {
    rows: BTreeMap<ObjectUrl, u64>,
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
        Self {
            rows: urls.into_iter().map(|url| (url.into(), 0)).collect(),
            counted: false,
        }
    }

    /// The object URLs, sorted.
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        self.rows.keys().map(|url| &**url)
    }

    pub fn contains(&self, url: &str) -> bool {
        self.rows.contains_key(url)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Takes each URL from `objects` where it is there, so the two hold it once, and packs the
    /// map's nodes full (see [`Ledger::compact`]).
    fn share_urls(&mut self, objects: &BTreeMap<ObjectUrl, ObjectEntry>) {
        self.rows = std::mem::take(&mut self.rows)
            .into_iter()
            .map(|(url, rows)| {
                let shared = objects
                    .get_key_value(&*url)
                    .map_or(url, |(shared, _)| Arc::clone(shared));
                (shared, rows)
            })
            .collect();
    }

    /// Rows per object, when they were counted.
    pub fn rows(&self) -> Option<&BTreeMap<ObjectUrl, u64>> {
        self.counted.then_some(&self.rows)
    }
}

impl Serialize for SourceRows {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.counted {
            self.rows.serialize(serializer)
        } else {
            serializer.collect_seq(self.rows.keys())
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
        for coverage in &commit.covered {
            let object = self
                .objects
                .entry(coverage.url.as_str().into())
                .or_default();
            object.size = coverage.size;
            object.covered = object.covered.union(&coverage.spans);
        }
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

    /// Packs the objects map's nodes full. A map filled in key order (a checkpoint as it is
    /// read, the objects of a commit) leaves them about half empty; rebuilt in one pass from
    /// its sorted entries it takes some 40% less memory, which is 50 MB at a million objects.
    /// Files' row counts are packed (and share their URLs) as each file is added or read.
    pub fn compact(&mut self) {
        self.objects = std::mem::take(&mut self.objects).into_iter().collect();
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
                "objects" => objects = Some(map.next_value()?),
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

    /// Whether `file`'s row counts hold the very URL (not a copy) the ledger's object holds.
    fn shares_url(ledger: &Ledger, file: &str, url: &str) -> bool {
        let (object_url, _) = ledger.objects.get_key_value(url).unwrap();
        let (file_url, _) = ledger.files[file].sources.rows.get_key_value(url).unwrap();
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
