//! The commit log under `<target>/_agsl/`: each commit is one JSON record created with a
//! conditional put (`If-None-Match`), so exactly one run can write commit N, and a commit either
//! exists whole or not at all. Files are staged under `_agsl/staging/` first and moved into the
//! partition folders only after their commit record exists (on S3, a commit's files are moved
//! concurrently); a `.published` marker says the move finished. A run that finds a commit without its marker finishes the move (roll forward), and
//! staged files no commit names are leftovers of interrupted runs and are deleted. Now and then
//! the whole ledger is written as a checkpoint ([`SinceCheckpoint`] says when), as zstd-compressed
//! JSON ([`CheckpointEncoding`]); reading the state is the last checkpoint plus the records
//! after it, and records up to the checkpoint before the last are deleted, so a damaged last
//! checkpoint is passed over for the one before it and the records after that.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::StateError;
use super::ledger::{Commit, CommittedFile, Ledger};
use crate::faults::crash_point;
use crate::storage::{
    Lookahead, Store, StoredObject, for_each_concurrently, for_each_in_order, is_url,
};

pub const STATE_DIR: &str = "_agsl";
pub const STAGING_DIR: &str = "_agsl/staging";
const LOG_DIR: &str = "_agsl/log";
const CHECKPOINT_DIR: &str = "_agsl/checkpoint";
/// A checkpoint (the whole ledger in one object) is due once the commits after the last one
/// are at least this many, and either name a quarter as many entries as it holds
/// ([`CHECKPOINT_GROWTH_DIVISOR`]) or are [`CHECKPOINT_MAX_COMMITS`] (see [`SinceCheckpoint`]).
const CHECKPOINT_MIN_COMMITS: u64 = 16;
const CHECKPOINT_MAX_COMMITS: u64 = 1024;
const CHECKPOINT_GROWTH_DIVISOR: u64 = 4;
/// Commit records read at once while the state is read, at most this many bytes of them (a
/// commit of 50,000 objects is about 7 MB), so reading concurrently does not hold many large
/// records at a time. A larger record is read alone.
const RECORD_BYTES_AT_ONCE: u64 = 32 << 20;

fn log_key(sequence: u64) -> String {
    format!("{LOG_DIR}/{sequence:020}.json")
}

fn published_key(sequence: u64) -> String {
    format!("{LOG_DIR}/{sequence:020}.published")
}

fn checkpoint_key(sequence: u64, encoding: CheckpointEncoding) -> String {
    format!("{CHECKPOINT_DIR}/{sequence:020}.{}", encoding.extension())
}

/// How a checkpoint is stored, told by its extension. A checkpoint is the whole ledger, and
/// every run reads the last one: at a million objects with rows, 194 MB of JSON, 7 MB once
/// compressed (its URLs repeat their folders; 12 to 15 times smaller with keys as AWS names
/// them). Checkpoints written before agsl compressed them are plain JSON and are still read.
/// An older agsl does not know the compressed ones: on a target whose older records are gone
/// it stops with "commit 1 is missing" instead of reading a wrong state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum CheckpointEncoding {
    Json,
    JsonZstd,
}

impl CheckpointEncoding {
    /// What checkpoints are written as.
    const WRITTEN: Self = Self::JsonZstd;
    /// zstd's fastest level: level 3 made the ALB-like and S3 access checkpoints measured larger,
    /// and a CloudTrail one a fifth smaller.
    const ZSTD_LEVEL: i32 = 1;

    fn of(extension: &str) -> Option<Self> {
        match extension {
            "json" => Some(Self::Json),
            "json.zst" => Some(Self::JsonZstd),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::JsonZstd => "json.zst",
        }
    }
}

/// The sequence number in a log or checkpoint key.
fn sequence_of(key: &str) -> Option<(u64, &str)> {
    let name = key.rsplit('/').next()?;
    let (number, extension) = name.split_once('.')?;
    Some((number.parse().ok()?, extension))
}

#[derive(Deserialize)]
struct Checkpoint {
    ledger: Ledger,
}

/// A checkpoint being written: the same JSON as [`Checkpoint`], borrowing the ledger.
#[derive(Serialize)]
struct CheckpointRef<'a> {
    ledger: &'a Ledger,
}

/// Reads a checkpoint from a stream, never holding its JSON whole next to the ledger it
/// becomes (at a million objects, 194 MB of JSON): a local file is read in place, an S3
/// object is first downloaded to the spool.
fn read_checkpoint(
    store: &Store,
    sequence: u64,
    encoding: CheckpointEncoding,
) -> Result<Checkpoint, StateError> {
    let key = &checkpoint_key(sequence, encoding);
    let parse = |path: &Path| {
        let file = std::fs::File::open(path).map_err(|source| StateError::Io {
            location: path.display().to_string(),
            source,
        })?;
        let file = std::io::BufReader::with_capacity(1 << 20, file);
        match encoding {
            CheckpointEncoding::Json => serde_json::from_reader(file),
            CheckpointEncoding::JsonZstd => {
                let decoder = zstd::stream::read::Decoder::with_buffer(file)
                    .map_err(|e| StateError::corrupt(key, e))?;
                // serde_json reads a byte at a time: buffered, not a call into zstd each.
                serde_json::from_reader(std::io::BufReader::with_capacity(1 << 20, decoder))
            }
        }
        .map_err(|e| StateError::corrupt(key, e))
    };
    if let crate::storage::Location::Local(root) = store.location() {
        return parse(&root.join(key));
    }
    with_spool_file("checkpoint-read", |spool| {
        store.download(key, spool)?;
        parse(spool)
    })
}

/// Runs `use_file` with a path in this process's spool (see [`crate::spool`]), removed after;
/// a run killed meanwhile leaves it to the next run's clean-up.
fn with_spool_file<T>(
    name: &str,
    use_file: impl FnOnce(&Path) -> Result<T, StateError>,
) -> Result<T, StateError> {
    let folder = crate::spool::folder(name);
    std::fs::create_dir_all(&folder).map_err(|source| StateError::Io {
        location: folder.display().to_string(),
        source,
    })?;
    let result = use_file(&folder.join("checkpoint.json"));
    let _ = std::fs::remove_dir_all(&folder);
    result
}

/// The commits after the last checkpoint, which decide when the next one is due. A checkpoint
/// costs the whole ledger; reading the state costs the checkpoint and every record after it.
/// Writing one every 16 commits, whatever their size, made checkpoints the cost that grew
/// fastest (at a million objects with rows, some 400 MB of JSON per 16 commits of a few hundred
/// objects each). Writing one once the records name a quarter of the ledger's entries again
/// keeps both in proportion: the checkpoints of a target's life add up to about five times its
/// last one (a geometric series), and a read costs about 1.25 checkpoints. Reads also stay
/// within 1,024 records, so many small commits make one every 1,024 commits: 64 times less
/// often than before, but again growing with the square of the history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SinceCheckpoint {
    /// Entries of the ledger the checkpoint holds.
    ledger_entries: u64,
    /// Commits after it, and the entries they name.
    commits: u64,
    entries: u64,
}

impl SinceCheckpoint {
    fn at(ledger: &Ledger) -> Self {
        Self {
            ledger_entries: ledger.entries(),
            ..Self::default()
        }
    }

    fn add(&mut self, commit: &Commit) {
        self.commits += 1;
        self.entries += commit.entries();
    }

    fn checkpoint_due(&self) -> bool {
        self.commits >= CHECKPOINT_MIN_COMMITS
            && (self.commits >= CHECKPOINT_MAX_COMMITS
                || self.entries * CHECKPOINT_GROWTH_DIVISOR >= self.ledger_entries)
    }
}

/// What a read of a target's state takes from its store: the last checkpoint and the commit
/// records after it. With the ledger's size, this is what grows with a target's history and
/// breaks first at scale (SCALING.md), so `status` shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StoredState {
    /// The last checkpoint's commit (0: none yet) and its stored bytes.
    pub checkpoint: u64,
    pub checkpoint_bytes: u64,
    /// Commit records after it, and their bytes.
    pub records: u64,
    pub record_bytes: u64,
}

/// The commit log of one target and the ledger it adds up to.
#[derive(Debug)]
pub struct CommitLog {
    store: Store,
    ledger: Ledger,
    /// The sequence of the last checkpoint (0: none yet).
    checkpoint: u64,
    since: SinceCheckpoint,
    /// What reading the state took.
    read: StoredState,
    /// The last checkpoint, damaged and passed over: recovery writes a sound one.
    damaged_checkpoint: Option<DamagedCheckpoint>,
}

/// A last checkpoint that a read passed over: its key and what failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DamagedCheckpoint {
    pub key: String,
    pub reason: String,
}

impl CommitLog {
    /// Reads the state without changing anything (for `--dry-run` and status): commits whose
    /// files are not all moved yet count as done, as the next run finishes them.
    ///
    /// A damaged checkpoint (its checksum or JSON fails) is passed over for the one before it:
    /// that one and the records after it, kept until the next checkpoint is written, add up to
    /// the same ledger. Only if those records are gone too does the read fail, naming the
    /// damaged checkpoint. [`CommitLog::recover`] then writes a sound one.
    pub fn read(store: &Store) -> Result<(Self, Vec<Commit>), StateError> {
        let mut checkpoints: Vec<(u64, CheckpointEncoding, u64)> = store
            .list(CHECKPOINT_DIR)?
            .iter()
            .filter_map(|o| {
                let (sequence, extension) = sequence_of(&o.key)?;
                Some((sequence, CheckpointEncoding::of(extension)?, o.size))
            })
            .collect();
        checkpoints.sort_unstable_by(|a, b| b.cmp(a));
        let mut damaged = None;
        for (sequence, encoding, bytes) in checkpoints {
            match read_checkpoint(store, sequence, encoding) {
                Ok(checkpoint) => {
                    let read = Self::read_after(store, checkpoint.ledger, sequence, bytes);
                    return Self::passed_over(read, damaged);
                }
                Err(StateError::Corrupt { key, reason }) => {
                    tracing::warn!(
                        %key,
                        %reason,
                        "passing over a damaged checkpoint for the one before it"
                    );
                    damaged.get_or_insert(DamagedCheckpoint { key, reason });
                }
                Err(error) => return Err(error),
            }
        }
        let read = Self::read_after(store, Ledger::default(), 0, 0);
        Self::passed_over(read, damaged)
    }

    /// A read that passed over a damaged checkpoint: marked for [`CommitLog::recover`] to write
    /// a sound one, or, if the older state is incomplete too (a record missing), failed with
    /// the damage. An I/O error stays the error.
    fn passed_over(
        read: Result<(Self, Vec<Commit>), StateError>,
        damaged: Option<DamagedCheckpoint>,
    ) -> Result<(Self, Vec<Commit>), StateError> {
        match (read, damaged) {
            (Ok((mut log, unpublished)), damaged) => {
                log.damaged_checkpoint = damaged;
                Ok((log, unpublished))
            }
            (Err(StateError::Corrupt { .. }), Some(DamagedCheckpoint { key, reason })) => {
                Err(StateError::Corrupt { key, reason })
            }
            (Err(error), _) => Err(error),
        }
    }

    /// Reads the records after checkpoint `checkpoint` (0: none), whose ledger and stored size
    /// are given, and applies them.
    fn read_after(
        store: &Store,
        ledger: Ledger,
        checkpoint: u64,
        checkpoint_bytes: u64,
    ) -> Result<(Self, Vec<Commit>), StateError> {
        // `~` sorts after the extensions, so the listing starts after the checkpoint's commit.
        let offset = format!("{LOG_DIR}/{checkpoint:020}~");
        let entries = store.list_after(LOG_DIR, Some(&offset))?;
        let mut log = Self {
            store: store.clone(),
            since: SinceCheckpoint::at(&ledger),
            ledger,
            checkpoint,
            read: StoredState {
                checkpoint,
                checkpoint_bytes,
                ..StoredState::default()
            },
            damaged_checkpoint: None,
        };
        let published: std::collections::BTreeSet<u64> = entries
            .iter()
            .filter_map(|o| sequence_of(&o.key))
            .filter(|(_, extension)| *extension == "published")
            .map(|(sequence, _)| sequence)
            .collect();
        let records: Vec<&StoredObject> = entries
            .iter()
            .filter(|o| matches!(sequence_of(&o.key), Some((s, "json")) if s > checkpoint))
            .collect();
        log.read.records = records.len() as u64;
        log.read.record_bytes = records.iter().map(|record| record.size).sum();
        // Checked here, so the records' sequences are `checkpoint + 1` on, in order.
        for (expected, record) in (checkpoint + 1..).zip(&records) {
            if sequence_of(&record.key).is_none_or(|(sequence, _)| sequence != expected) {
                return Err(StateError::Corrupt {
                    key: record.key.clone(),
                    reason: format!("commit {expected} is missing"),
                });
            }
        }
        // Up to 1,024 records (a round trip each on S3) are read several at a time, each
        // request starting as soon as one finishes, and applied in order.
        let lookahead = Lookahead {
            items: store.requests_at_once(),
            weight: RECORD_BYTES_AT_ONCE,
        };
        let mut unpublished = Vec::new();
        let mut sequence = checkpoint;
        for_each_in_order(
            &records,
            lookahead,
            |record| record.size,
            |record| {
                let bytes = store.get(&record.key)?;
                serde_json::from_slice::<Commit>(&bytes)
                    .map_err(|e| StateError::corrupt(&record.key, e))
            },
            |commit| {
                sequence += 1;
                log.ledger.apply(&commit);
                log.since.add(&commit);
                if !published.contains(&sequence) {
                    unpublished.push(commit);
                }
                Ok(())
            },
        )?;
        Ok((log, unpublished))
    }

    /// Reads the state and repairs what an interrupted run left: finishes moving the files of
    /// commits that exist, deletes staged files that no commit names. Call it holding the lock.
    pub fn recover(store: &Store) -> Result<Self, StateError> {
        let (mut log, unpublished) = Self::read(store)?;
        for commit in &unpublished {
            tracing::info!(
                sequence = commit.sequence,
                "finishing an interrupted commit"
            );
            log.publish(commit)?;
        }
        // Only after every commit is published: a read starts after the last checkpoint, so
        // an unpublished commit before it would never be finished.
        if log.damaged_checkpoint.is_some() {
            tracing::warn!(
                sequence = log.ledger.sequence,
                "writing a checkpoint in place of the damaged one"
            );
            log.write_checkpoint()?;
            log.damaged_checkpoint = None;
        }
        for leftover in store.list(STAGING_DIR)? {
            store.delete(&leftover.key)?;
        }
        if let crate::storage::Location::Local(root) = store.location() {
            // Empty folders of staged files are not objects; remove them too.
            let _ = std::fs::remove_dir_all(root.join(STAGING_DIR));
        }
        Ok(log)
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// What reading the state took from the store, as it was read.
    pub fn stored_as_read(&self) -> StoredState {
        self.read
    }

    /// The last checkpoint, if the read passed it over as damaged.
    pub fn damaged_checkpoint(&self) -> Option<&DamagedCheckpoint> {
        self.damaged_checkpoint.as_ref()
    }

    /// The ledger, without copying it (a ledger of a million objects is some 200 MB).
    pub fn into_ledger(self) -> Ledger {
        self.ledger
    }

    /// Appends `commit` as the next commit and moves its files into place. Fails with
    /// [`StateError::Conflict`] if another run appended that commit first.
    pub fn commit(&mut self, mut commit: Commit) -> Result<u64, StateError> {
        commit.sequence = self.ledger.sequence + 1;
        let record = serde_json::to_vec(&commit).map_err(|e| StateError::corrupt("commit", e))?;
        crash_point("before-commit");
        let key = log_key(commit.sequence);
        if !self.store.create(&key, record)? {
            return Err(StateError::Conflict {
                sequence: commit.sequence,
            });
        }
        self.store.sync(&key)?;
        crash_point("after-commit");
        self.ledger.apply(&commit);
        self.since.add(&commit);
        self.publish(&commit)?;
        if self.since.checkpoint_due() {
            self.write_checkpoint()?;
        }
        Ok(commit.sequence)
    }

    /// Moves a commit's files into place: idempotent, so an interrupted move is simply redone.
    /// A file whose path is a URL (rejects sent to their own location) is copied there from
    /// the target's staging folder, then its staged copy deleted.
    fn publish(&self, commit: &Commit) -> Result<(), StateError> {
        for path in &commit.removed {
            let (store, key) = self.store.resolve(path)?;
            store.delete(&key)?;
        }
        // On S3 a move is a server-side copy and a delete, a round trip each: a commit's files
        // are moved concurrently there. Each move is idempotent, so an interrupted publish is
        // redone whole whatever finished first.
        for_each_concurrently(&commit.added, self.store.requests_at_once(), |file| {
            self.publish_file(commit.sequence, file)
        })?;
        self.store.put(&published_key(commit.sequence), "")?;
        Ok(())
    }

    /// Moves one file of commit `sequence` into place, or finds it there already.
    fn publish_file(&self, sequence: u64, file: &CommittedFile) -> Result<(), StateError> {
        let (store, key) = self.store.resolve(&file.path)?;
        if self.store.exists(&file.staged)? {
            if is_url(&file.path) {
                self.store.copy_to(&file.staged, &store, &key)?;
                crash_point("published-file");
                self.store.delete(&file.staged)?;
            } else {
                self.store.rename(&file.staged, &file.path)?;
                crash_point("published-file");
            }
        } else if !store.exists(&key)? {
            return Err(StateError::Corrupt {
                key: log_key(sequence),
                reason: format!("file `{}` is neither staged nor published", file.path),
            });
        }
        Ok(())
    }

    /// Writes the whole ledger as a checkpoint and drops log records older than the previous
    /// checkpoint (kept one checkpoint back for inspection).
    fn write_checkpoint(&mut self) -> Result<(), StateError> {
        let sequence = self.ledger.sequence;
        // Written through a spool file, neither cloning the ledger nor holding its JSON in
        // memory: a ledger of a million objects is about 200 MB of JSON.
        with_spool_file(&format!("checkpoint-{sequence}"), |spool| {
            let io = |source| StateError::Io {
                location: spool.display().to_string(),
                source,
            };
            let file = std::fs::File::create(spool).map_err(io)?;
            let mut encoder =
                zstd::stream::write::Encoder::new(file, CheckpointEncoding::ZSTD_LEVEL)
                    .map_err(io)?;
            // A damaged checkpoint then fails its checksum even where its JSON would still parse.
            encoder.include_checksum(true).map_err(io)?;
            let checkpoint = CheckpointRef {
                ledger: &self.ledger,
            };
            // serde_json writes in small pieces: buffered, not a call into zstd each.
            let mut writer = std::io::BufWriter::with_capacity(1 << 20, encoder);
            serde_json::to_writer(&mut writer, &checkpoint).map_err(|e| {
                // Writing the spool failed (a full disk), or the ledger would not serialize.
                if e.is_io() {
                    io(e.into())
                } else {
                    StateError::corrupt("checkpoint", e)
                }
            })?;
            let encoder = writer.into_inner().map_err(|e| io(e.into_error()))?;
            encoder.finish().map_err(io)?;
            let key = checkpoint_key(sequence, CheckpointEncoding::WRITTEN);
            Ok(self.store.upload(spool, &key)?)
        })?;
        crash_point("after-checkpoint");
        let previous = self.checkpoint;
        let mut older = self.store.list(LOG_DIR)?;
        older.retain(|entry| sequence_of(&entry.key).is_some_and(|(s, _)| s <= previous));
        let mut checkpoints = self.store.list(CHECKPOINT_DIR)?;
        checkpoints.retain(|entry| sequence_of(&entry.key).is_some_and(|(s, _)| s < previous));
        older.append(&mut checkpoints);
        // Up to 2,048 records and markers: deleted concurrently on S3.
        for_each_concurrently(&older, self.store.requests_at_once(), |entry| {
            self.store.delete(&entry.key)
        })?;
        self.checkpoint = sequence;
        self.since = SinceCheckpoint::at(&self.ledger);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Coverage;
    use crate::window::Spans;

    fn covering(urls: impl IntoIterator<Item = String>) -> Commit {
        let covered = urls
            .into_iter()
            .map(|url| Coverage {
                url,
                size: 1,
                spans: Spans::everything(),
            })
            .collect();
        Commit {
            covered,
            ..Commit::default()
        }
    }

    fn url(i: u32) -> String {
        format!("s3://b/k{i:05}")
    }

    fn sequences(store: &Store, folder: &str, extension: &str) -> Vec<u64> {
        let listed = store.list(folder).unwrap();
        listed
            .iter()
            .filter_map(|o| sequence_of(&o.key))
            .filter(|(_, e)| *e == extension)
            .map(|(s, _)| s)
            .collect()
    }

    #[test]
    fn a_checkpoint_is_due_after_16_commits_naming_a_quarter_of_the_ledger_or_after_1024() {
        let due = |ledger_entries, commits, entries| {
            SinceCheckpoint {
                ledger_entries,
                commits,
                entries,
            }
            .checkpoint_due()
        };
        assert!(!due(0, 15, 0) && due(0, 16, 0));
        assert!(!due(1000, 15, 5000), "16 commits at least, however large");
        assert!(!due(1000, 16, 249) && due(1000, 16, 250));
        assert!(!due(1_000_000, 1023, 0) && due(1_000_000, 1024, 0));
        let mut since = SinceCheckpoint::default();
        since.add(&Commit {
            removed: vec!["a".into(), "b".into()],
            ..covering([url(1)])
        });
        assert_eq!((since.commits, since.entries), (1, 3));
    }

    /// One commit of 200 objects, then 150 of one: checkpoints at 70 and 138 (see below).
    fn log_with_two_checkpoints(store: &Store) -> CommitLog {
        let mut log = CommitLog::recover(store).unwrap();
        log.commit(covering((0..200).map(url))).unwrap();
        for i in 200..350 {
            log.commit(covering([url(i)])).unwrap();
        }
        log
    }

    #[test]
    fn checkpoints_follow_the_ledger_growth_and_a_read_rebuilds_the_same_state() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        let log = log_with_two_checkpoints(&store);
        // Commit 16 is the first checkpoint (215 entries); the next is due 54 entries later
        // (commit 70, 269 entries), then 68 later (commit 138). The one before the last is kept;
        // the records up to it are gone.
        assert_eq!(log.ledger.sequence, 151);
        assert_eq!(sequences(&store, CHECKPOINT_DIR, "json.zst"), [70, 138]);
        let records = sequences(&store, LOG_DIR, "json");
        assert_eq!(records, (71..=151).collect::<Vec<_>>());
        assert_eq!(sequences(&store, LOG_DIR, "published"), records);

        let (read, unpublished) = CommitLog::read(&store).unwrap();
        assert_eq!(read.ledger, log.ledger);
        assert_eq!((read.checkpoint, read.since), (138, log.since));
        assert_eq!((read.since.ledger_entries, read.since.commits), (337, 13));
        assert!(unpublished.is_empty());

        // A commit whose files were not all moved is found again, to be finished.
        store.delete(&published_key(150)).unwrap();
        let (_, unpublished) = CommitLog::read(&store).unwrap();
        assert_eq!(unpublished.len(), 1);
        assert_eq!(unpublished[0].sequence, 150);
        assert_eq!(unpublished[0].covered[0].url, url(348));

        // A record missing in the middle is damage, never skipped.
        store.delete(&log_key(140)).unwrap();
        let error = CommitLog::read(&store).unwrap_err().to_string();
        assert!(error.contains("commit 140 is missing"), "{error}");
    }

    /// Commits until the first checkpoint (commit 16) and two commits after it.
    fn log_with_a_checkpoint(store: &Store) -> CommitLog {
        let mut log = CommitLog::recover(store).unwrap();
        for i in 0..18 {
            log.commit(covering((i * 10..i * 10 + 10).map(url)))
                .unwrap();
        }
        assert_eq!(log.checkpoint, 16);
        log
    }

    #[test]
    fn a_checkpoint_is_compressed_json_with_a_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        let log = log_with_a_checkpoint(&store);
        assert_eq!(sequences(&store, CHECKPOINT_DIR, "json"), [] as [u64; 0]);
        let stored = store
            .get(&checkpoint_key(16, CheckpointEncoding::JsonZstd))
            .unwrap();
        assert_eq!(stored[..4], [0x28, 0xB5, 0x2F, 0xFD], "zstd's magic number");
        assert_ne!(
            stored[4] & 0x04,
            0,
            "the frame header's content checksum flag"
        );
        let json = zstd::stream::decode_all(&stored[..]).unwrap();
        let checkpoint: Checkpoint = serde_json::from_slice(&json).unwrap();
        assert_eq!(checkpoint.ledger.sequence, 16);
        assert_eq!(checkpoint.ledger.objects.len(), 160);
        assert!(
            stored.len() * 4 < json.len(),
            "{} of {} bytes",
            stored.len(),
            json.len()
        );
        let (read, _) = CommitLog::read(&store).unwrap();
        assert_eq!((read.checkpoint, &read.ledger), (16, &log.ledger));
        let record_bytes = [17, 18]
            .map(|sequence| store.get(&log_key(sequence)).unwrap().len() as u64)
            .iter()
            .sum();
        let expected = StoredState {
            checkpoint: 16,
            checkpoint_bytes: stored.len() as u64,
            records: 2,
            record_bytes,
        };
        assert_eq!(read.stored_as_read(), expected);

        // One changed byte in the middle of the frame: an error naming the checkpoint, never a
        // ledger read from damaged bytes. The read passes it over: all 18 records are there.
        let mut damaged = stored.to_vec();
        let middle = damaged.len() / 2;
        damaged[middle] ^= 0x40;
        let key = checkpoint_key(16, CheckpointEncoding::JsonZstd);
        store.put(&key, damaged).unwrap();
        match read_checkpoint(&store, 16, CheckpointEncoding::JsonZstd) {
            Err(StateError::Corrupt { key: named, .. }) => assert_eq!(named, key),
            Err(other) => panic!("expected a corrupt checkpoint, got {other}"),
            Ok(_) => panic!("a damaged checkpoint was read"),
        }
        let (read, _) = CommitLog::read(&store).unwrap();
        assert_eq!((read.checkpoint, &read.ledger), (0, &log.ledger));
        assert_eq!(read.stored_as_read().records, 18);
    }

    #[test]
    fn a_plain_json_checkpoint_of_an_earlier_agsl_is_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        let log = log_with_a_checkpoint(&store);
        // The checkpoint as agsl wrote it before compressing: plain JSON under `.json`.
        let compressed = checkpoint_key(16, CheckpointEncoding::JsonZstd);
        let json = zstd::stream::decode_all(&store.get(&compressed).unwrap()[..]).unwrap();
        store.delete(&compressed).unwrap();
        store
            .put(&checkpoint_key(16, CheckpointEncoding::Json), json)
            .unwrap();
        let (read, _) = CommitLog::read(&store).unwrap();
        assert_eq!((read.checkpoint, &read.ledger), (16, &log.ledger));

        // The next checkpoint is compressed, is the one read, and the plain one before it is
        // kept one checkpoint back, as any other.
        let mut log_read = CommitLog::recover(&store).unwrap();
        for i in 18..40 {
            log_read.commit(covering([url(1000 + i)])).unwrap();
        }
        // 16 commits after it at least, naming a quarter of its 160 entries: commit 38.
        assert_eq!(log_read.checkpoint, 38);
        assert_eq!(sequences(&store, CHECKPOINT_DIR, "json"), [16]);
        assert_eq!(sequences(&store, CHECKPOINT_DIR, "json.zst"), [38]);
        let (read, _) = CommitLog::read(&store).unwrap();
        assert_eq!((read.checkpoint, read.ledger.objects.len()), (38, 202));
        assert_eq!(read.ledger.objects, log_read.ledger.objects);
    }

    #[test]
    fn a_damaged_checkpoint_is_passed_over_for_the_one_before_and_written_again_by_recovery() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        let log = log_with_two_checkpoints(&store);
        assert_eq!(sequences(&store, CHECKPOINT_DIR, "json.zst"), [70, 138]);
        let damaged = checkpoint_key(138, CheckpointEncoding::JsonZstd);
        store.put(&damaged, "not a checkpoint").unwrap();

        // Checkpoint 70 and the records after it make the same ledger; reading changes nothing.
        let (read, unpublished) = CommitLog::read(&store).unwrap();
        assert_eq!((read.checkpoint, &read.ledger), (70, &log.ledger));
        assert_eq!(read.damaged_checkpoint().map(|d| &d.key), Some(&damaged));
        assert!(unpublished.is_empty());
        assert_eq!(read.stored_as_read().records, 81);
        assert_eq!(sequences(&store, CHECKPOINT_DIR, "json.zst"), [70, 138]);

        // Recovery writes a sound checkpoint at the last commit, which the next read takes.
        let recovered = CommitLog::recover(&store).unwrap();
        assert_eq!(recovered.damaged_checkpoint(), None);
        assert_eq!(
            sequences(&store, CHECKPOINT_DIR, "json.zst"),
            [70, 138, 151]
        );
        let (read, _) = CommitLog::read(&store).unwrap();
        assert_eq!((read.checkpoint, &read.ledger), (151, &log.ledger));
        assert_eq!(read.damaged_checkpoint(), None);

        // Damaged where the records after the one before are gone: the damage is the error.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        log_with_two_checkpoints(&store);
        store.put(&damaged, "not a checkpoint").unwrap();
        store.delete(&log_key(100)).unwrap();
        match CommitLog::read(&store).unwrap_err() {
            StateError::Corrupt { key, .. } => assert_eq!(key, damaged),
            other => panic!("expected the damaged checkpoint, got {other}"),
        }
    }
}
