//! The commit log under `<target>/_agsl/`: each commit is one JSON record created with a
//! conditional put (`If-None-Match`), so exactly one run can write commit N, and a commit either
//! exists whole or not at all. Files are staged under `_agsl/staging/` first and moved into the
//! partition folders only after their commit record exists (on S3, a commit's files are moved
//! concurrently); a `.published` marker says the move finished. A run that finds a commit without its marker finishes the move (roll forward), and
//! staged files no commit names are leftovers of interrupted runs and are deleted.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::StateError;
use super::ledger::{Commit, CommittedFile, Ledger};
use crate::faults::crash_point;
use crate::storage::{STORE_CONCURRENCY, Store, for_each_concurrently, is_url};

pub const STATE_DIR: &str = "_agsl";
pub const STAGING_DIR: &str = "_agsl/staging";
const LOG_DIR: &str = "_agsl/log";
const CHECKPOINT_DIR: &str = "_agsl/checkpoint";
/// A checkpoint (the whole ledger in one object) is written every this many commits, so reading
/// the state costs one checkpoint plus at most this many records however long the history.
const CHECKPOINT_EVERY: u64 = 16;

fn log_key(sequence: u64) -> String {
    format!("{LOG_DIR}/{sequence:020}.json")
}

fn published_key(sequence: u64) -> String {
    format!("{LOG_DIR}/{sequence:020}.published")
}

fn checkpoint_key(sequence: u64) -> String {
    format!("{CHECKPOINT_DIR}/{sequence:020}.json")
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
/// becomes (at a million objects, 118 MB of JSON): a local file is read in place, an S3
/// object is first downloaded to the spool.
fn read_checkpoint(store: &Store, key: &str) -> Result<Checkpoint, StateError> {
    let parse = |path: &Path| {
        let file = std::fs::File::open(path).map_err(|source| StateError::Io {
            location: path.display().to_string(),
            source,
        })?;
        serde_json::from_reader(std::io::BufReader::with_capacity(1 << 20, file))
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

/// The commit log of one target and the ledger it adds up to.
#[derive(Debug)]
pub struct CommitLog {
    store: Store,
    ledger: Ledger,
    checkpoint: u64,
}

impl CommitLog {
    /// Reads the state without changing anything (for `--dry-run` and status): commits whose
    /// files are not all moved yet count as done, as the next run finishes them.
    pub fn read(store: &Store) -> Result<(Self, Vec<Commit>), StateError> {
        let checkpoints = store.list(CHECKPOINT_DIR)?;
        let latest = checkpoints
            .iter()
            .filter_map(|o| sequence_of(&o.key))
            .filter(|(_, extension)| *extension == "json")
            .map(|(sequence, _)| sequence)
            .max();
        let (ledger, checkpoint) = match latest {
            Some(sequence) => {
                let checkpoint = read_checkpoint(store, &checkpoint_key(sequence))?;
                (checkpoint.ledger, sequence)
            }
            None => (Ledger::default(), 0),
        };
        // `~` sorts after the extensions, so the listing starts after the checkpoint's commit.
        let offset = format!("{LOG_DIR}/{checkpoint:020}~");
        let entries = store.list_after(LOG_DIR, Some(&offset))?;
        let mut log = Self {
            store: store.clone(),
            ledger,
            checkpoint,
        };
        let mut unpublished = Vec::new();
        let published: std::collections::BTreeSet<u64> = entries
            .iter()
            .filter_map(|o| sequence_of(&o.key))
            .filter(|(_, extension)| *extension == "published")
            .map(|(sequence, _)| sequence)
            .collect();
        for entry in &entries {
            let Some((sequence, "json")) = sequence_of(&entry.key) else {
                continue;
            };
            if sequence <= checkpoint {
                continue;
            }
            if sequence != log.ledger.sequence + 1 {
                return Err(StateError::Corrupt {
                    key: entry.key.clone(),
                    reason: format!("commit {} is missing", log.ledger.sequence + 1),
                });
            }
            let bytes = store.get(&entry.key)?;
            let commit: Commit =
                serde_json::from_slice(&bytes).map_err(|e| StateError::corrupt(&entry.key, e))?;
            log.ledger.apply(&commit);
            if !published.contains(&sequence) {
                unpublished.push(commit);
            }
        }
        log.ledger.compact();
        Ok((log, unpublished))
    }

    /// Reads the state and repairs what an interrupted run left: finishes moving the files of
    /// commits that exist, deletes staged files that no commit names. Call it holding the lock.
    pub fn recover(store: &Store) -> Result<Self, StateError> {
        let (log, unpublished) = Self::read(store)?;
        for commit in &unpublished {
            tracing::info!(
                sequence = commit.sequence,
                "finishing an interrupted commit"
            );
            log.publish(commit)?;
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
        self.publish(&commit)?;
        if commit.sequence - self.checkpoint >= CHECKPOINT_EVERY {
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
        let concurrency = match self.store.location() {
            crate::storage::Location::S3 { .. } => STORE_CONCURRENCY,
            crate::storage::Location::Local(_) => 1,
        };
        for_each_concurrently(&commit.added, concurrency, |file| {
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
        // memory: a ledger of a million objects is about 150 MB of JSON.
        with_spool_file(&format!("checkpoint-{sequence}"), |spool| {
            let io = |source| StateError::Io {
                location: spool.display().to_string(),
                source,
            };
            let mut writer = std::io::BufWriter::new(std::fs::File::create(spool).map_err(io)?);
            let checkpoint = CheckpointRef {
                ledger: &self.ledger,
            };
            serde_json::to_writer(&mut writer, &checkpoint).map_err(|e| {
                // Writing the spool failed (a full disk), or the ledger would not serialize.
                if e.is_io() {
                    io(e.into())
                } else {
                    StateError::corrupt("checkpoint", e)
                }
            })?;
            std::io::Write::flush(&mut writer).map_err(io)?;
            drop(writer);
            Ok(self.store.upload(spool, &checkpoint_key(sequence))?)
        })?;
        crash_point("after-checkpoint");
        let previous = self.checkpoint;
        for entry in self.store.list(LOG_DIR)? {
            if sequence_of(&entry.key).is_some_and(|(s, _)| s <= previous) {
                self.store.delete(&entry.key)?;
            }
        }
        for entry in self.store.list(CHECKPOINT_DIR)? {
            if sequence_of(&entry.key).is_some_and(|(s, _)| s < previous) {
                self.store.delete(&entry.key)?;
            }
        }
        self.checkpoint = sequence;
        Ok(())
    }
}
