//! One run per target at a time. On a local target the lock is an OS file lock on
//! `_agsl/lock`, which the kernel releases when the process dies, even by `kill -9`. On S3 it is
//! the object `_agsl/lock`, created with a conditional put and kept fresh by a heartbeat; a lock
//! whose heartbeat is older than the stale time, or whose holder was a process on this host that
//! no longer exists, is taken over with a conditional replace, so two runs never both win it.
//! Even so, the commit log's conditional creates are the last line: a run that lost its lock
//! cannot commit over another's work.

use std::fs::{File, OpenOptions};
use std::io::{Seek, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::StateError;
use super::log::STATE_DIR;
use crate::storage::{Location, Store};

const LOCK_KEY: &str = "_agsl/lock";

/// Who holds a lock, stored in it for the message a second run prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Holder {
    run: String,
    host: String,
    pid: u32,
    started: u64,
    heartbeat: u64,
}

impl Holder {
    fn describe(&self) -> String {
        format!(
            "run {} (pid {} on {}, started {}s ago, last heartbeat {}s ago)",
            self.run,
            self.pid,
            self.host,
            now().saturating_sub(self.started),
            now().saturating_sub(self.heartbeat)
        )
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Whether a process with `pid` runs on this host (Linux `/proc`; elsewhere assumed alive).
pub(crate) fn process_alive(pid: u32) -> bool {
    !std::path::Path::new("/proc/self").exists()
        || std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct TargetLock {
    lost: Arc<AtomicBool>,
    held: Held,
}

#[derive(Debug)]
enum Held {
    /// The open, locked file: closing it releases the lock.
    Local { _file: File },
    Remote {
        store: Store,
        run: String,
        stop: Option<Sender<()>>,
        heartbeat: Option<JoinHandle<()>>,
    },
}

impl TargetLock {
    /// Takes the target's lock or fails at once naming its holder. `stale_after` is how old an
    /// S3 lock's heartbeat may get before the lock counts as abandoned.
    pub fn acquire(store: &Store, run: &str, stale_after: Duration) -> Result<Self, StateError> {
        let holder = Holder {
            run: run.to_owned(),
            host: host_name(),
            pid: std::process::id(),
            started: now(),
            heartbeat: now(),
        };
        let lost = Arc::new(AtomicBool::new(false));
        let held = match store.location() {
            Location::Local(root) => Held::Local {
                _file: lock_file(root, store, &holder)?,
            },
            Location::S3 { .. } => {
                take_remote(store, &holder, stale_after)?;
                let (stop, stopped) = channel();
                let location = store.url(LOCK_KEY);
                let heartbeat = {
                    let (store, lost, mut holder) = (store.clone(), lost.clone(), holder.clone());
                    let every = (stale_after / 4).max(Duration::from_millis(500));
                    std::thread::Builder::new()
                        .name("agsl-lock-heartbeat".into())
                        .spawn(move || {
                            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                                holder.heartbeat = now();
                                if !refresh(&store, &holder) {
                                    tracing::error!("the target's lock was taken by another run");
                                    lost.store(true, Ordering::Relaxed);
                                    return;
                                }
                            }
                        })
                        .map_err(|source| StateError::Io { location, source })?
                };
                Held::Remote {
                    store: store.clone(),
                    run: run.to_owned(),
                    stop: Some(stop),
                    heartbeat: Some(heartbeat),
                }
            }
        };
        Ok(Self { lost, held })
    }

    /// Fails if another run took the lock over (this run's heartbeat stalled past the stale
    /// time); checked before every commit.
    pub fn check(&self) -> Result<(), StateError> {
        if self.lost.load(Ordering::Relaxed) {
            return Err(StateError::LockLost);
        }
        Ok(())
    }
}

fn lock_file(root: &std::path::Path, store: &Store, holder: &Holder) -> Result<File, StateError> {
    let dir = root.join(STATE_DIR);
    let io_error = |source| StateError::Io {
        location: store.url(LOCK_KEY),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(io_error)?;
    let path = dir.join("lock");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_error)?;
    if file.try_lock().is_err() {
        let holder = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Holder>(&bytes).ok())
            .map_or_else(|| "another run".to_owned(), |h| h.describe());
        return Err(StateError::Locked {
            target: store.location().to_string(),
            holder,
        });
    }
    let record = serde_json::to_vec(holder).map_err(|e| StateError::corrupt(LOCK_KEY, e))?;
    file.set_len(0).map_err(io_error)?;
    file.rewind().map_err(io_error)?;
    file.write_all(&record).map_err(io_error)?;
    Ok(file)
}

fn take_remote(store: &Store, holder: &Holder, stale_after: Duration) -> Result<(), StateError> {
    let record = serde_json::to_vec(holder).map_err(|e| StateError::corrupt(LOCK_KEY, e))?;
    if store.create(LOCK_KEY, record.clone())? {
        return Ok(());
    }
    let locked = |description: String| StateError::Locked {
        target: store.location().to_string(),
        holder: description,
    };
    let Some((bytes, version)) = store.get_if_exists(LOCK_KEY)? else {
        // Released between our create and read: try once more.
        return if store.create(LOCK_KEY, record)? {
            Ok(())
        } else {
            Err(locked("another run".into()))
        };
    };
    // A record agsl did not write cannot say whether its holder is alive: never taken over.
    let current: Holder = serde_json::from_slice(&bytes).map_err(|e| {
        StateError::corrupt(
            LOCK_KEY,
            format!("{e}; remove it once no run is writing to the target"),
        )
    })?;
    let stale = now().saturating_sub(current.heartbeat) > stale_after.as_secs()
        || (current.host == holder.host && !process_alive(current.pid));
    if !stale {
        return Err(locked(current.describe()));
    }
    tracing::warn!(previous = current.describe(), "taking over a stale lock");
    if store.replace(LOCK_KEY, record, &version)? {
        Ok(())
    } else {
        Err(locked("another run that took the stale lock first".into()))
    }
}

/// Renews the heartbeat; `false` if the lock is no longer this run's.
fn refresh(store: &Store, holder: &Holder) -> bool {
    let Ok(Some((bytes, version))) = store.get_if_exists(LOCK_KEY) else {
        return false;
    };
    let ours = serde_json::from_slice::<Holder>(&bytes).is_ok_and(|h| h.run == holder.run);
    let Ok(record) = serde_json::to_vec(holder) else {
        return false;
    };
    ours && store.replace(LOCK_KEY, record, &version).unwrap_or(false)
}

impl Drop for TargetLock {
    fn drop(&mut self) {
        if let Held::Remote {
            store,
            run,
            stop,
            heartbeat,
        } = &mut self.held
        {
            drop(stop.take());
            if let Some(heartbeat) = heartbeat.take() {
                let _ = heartbeat.join();
            }
            let ours = store
                .get_if_exists(LOCK_KEY)
                .ok()
                .flatten()
                .is_some_and(|(b, _)| {
                    serde_json::from_slice::<Holder>(&b).is_ok_and(|h| &h.run == run)
                });
            if ours {
                let _ = store.delete(LOCK_KEY);
            }
        }
    }
}
