//! Fetches a batch's S3 objects ahead of the CPU workers, so waiting on S3 overlaps with
//! parsing. A GET waits tens of milliseconds for its first byte; with one blocking GET per
//! worker, small objects would go at a few dozen a second whatever the cores. Here up to
//! [`FetchOptions::concurrency`] requests are in flight on the I/O runtime, in task order, and
//! their bodies wait for a worker in memory bounded by [`FetchOptions::buffer_bytes`] (a body's
//! share is released when the worker drops it). Objects above [`STREAM_THRESHOLD`] are
//! streamed to the worker as their bytes arrive, so parsing a large object starts with its
//! first bytes and the object is never held whole; an interrupted stream resumes where it
//! stopped, from the same version of the object. A body is always the listed object: one of
//! another size, or replaced while its stream resumes, is an error naming it, never converted.
//!
//! Workers take objects in task order (the pipeline's shared counter), which is the order they
//! are fetched in: a body waiting in the buffer always has a lower index than any object not
//! yet fetched, so the buffer drains and fetching never stalls for good.
//!
//! How long the workers waited for bodies is logged (at debug, `-v`) when the batch ends: time
//! spent waiting says the run was bound by S3, not by its cores. A streamed object is handed
//! over before its bytes arrive, so the wait for its later chunks is not in that figure.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use crate::storage::{BODY_RETRIES, StorageError, Store, runtime};

/// Objects larger than this are streamed to the worker as they arrive.
pub const STREAM_THRESHOLD: u64 = 16 * 1024 * 1024;
/// Chunks of a streamed object received and waiting for the worker.
const STREAM_CHUNKS: usize = 256;
/// What a streamed object holds in memory at most: its queued chunks (HTTP bodies arrive in
/// chunks of at most 64 KiB).
const STREAM_BYTES: u64 = STREAM_CHUNKS as u64 * 64 * 1024;
/// Bytes of whole-object GETs in flight at once, per CPU worker taking the bodies. Requests
/// share the link, so without a bound 64 transfers of large objects would all finish together,
/// late, and the workers would wait for the first; bounded, the first objects arrive first.
/// Small objects still go 64 at once. The bound grows with the workers because one S3
/// connection carries some 50 to 100 MB/s: 16 MiB of 5 MB objects is three transfers, enough
/// for two workers, while sixteen inflate and parse compressed logs faster than three
/// connections bring them.
const IN_FLIGHT_BYTES_PER_WORKER: u64 = 8 * 1024 * 1024;
/// The bound on whole-object GETs in flight for one or two workers.
const IN_FLIGHT_BYTES_AT_LEAST: u64 = 16 * 1024 * 1024;
/// The budget is counted in KiB, so that gigabytes fit a semaphore's permits.
const KIB: u64 = 1024;

/// How many GETs may be in flight and how many fetched bytes may wait for a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchOptions {
    pub concurrency: usize,
    pub buffer_bytes: u64,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            concurrency: 64,
            buffer_bytes: 128 * 1024 * 1024,
        }
    }
}

/// The objects of one batch being fetched.
pub struct Prefetch {
    bodies: Vec<Mutex<Option<oneshot::Receiver<io::Result<Body>>>>>,
    fetcher: JoinHandle<()>,
    started: Instant,
    /// Nanoseconds the workers spent waiting in [`Prefetch::take`], and when a body was first
    /// taken (nanoseconds after the start).
    waited: AtomicU64,
    first_taken: AtomicU64,
}

impl Prefetch {
    /// Starts fetching `objects` (key and listed size), in order, for `workers` CPU workers.
    pub fn start(
        store: &Store,
        objects: Vec<(String, u64)>,
        options: FetchOptions,
        workers: usize,
    ) -> Self {
        let (senders, receivers): (Vec<_>, Vec<_>) =
            objects.iter().map(|_| oneshot::channel()).unzip();
        let window = (workers as u64 * IN_FLIGHT_BYTES_PER_WORKER).max(IN_FLIGHT_BYTES_AT_LEAST);
        let fetcher = runtime().spawn(fetch_all(store.clone(), objects, senders, options, window));
        Self {
            bodies: receivers.into_iter().map(|r| Mutex::new(Some(r))).collect(),
            fetcher,
            started: Instant::now(),
            waited: AtomicU64::new(0),
            first_taken: AtomicU64::new(u64::MAX),
        }
    }

    /// The body of object `index`, waiting for it if it has not arrived yet. Each object is
    /// taken once. A failed fetch (after the store's retries) is the error.
    pub fn take(&self, index: usize) -> io::Result<Body> {
        let receiver = self
            .bodies
            .get(index)
            .and_then(|slot| slot.lock().unwrap_or_else(|e| e.into_inner()).take());
        let waiting = Instant::now();
        let received = receiver.map(oneshot::Receiver::blocking_recv);
        let now = Instant::now();
        self.waited
            .fetch_add(nanos(now - waiting), Ordering::Relaxed);
        self.first_taken
            .fetch_min(nanos(now - self.started), Ordering::Relaxed);
        match received {
            Some(Ok(body)) => body,
            _ => Err(io::Error::other(format!(
                "internal error: object {index} of the batch was taken twice or its fetch stopped"
            ))),
        }
    }
}

impl Drop for Prefetch {
    /// Stops fetching: requests in flight are cancelled, waiting bodies freed.
    fn drop(&mut self) {
        self.fetcher.abort();
        let seconds = |nanos: u64| Duration::from_nanos(nanos).as_secs_f64();
        let first = self.first_taken.load(Ordering::Relaxed);
        tracing::debug!(
            objects = self.bodies.len(),
            waited_s = seconds(self.waited.load(Ordering::Relaxed)),
            first_body_s = (first != u64::MAX).then(|| seconds(first)),
            batch_s = self.started.elapsed().as_secs_f64(),
            "fetched ahead: the workers' total wait for bodies"
        );
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Fetches every object in order, each once its share of the buffer and a request slot are
/// free (whole objects also within `in_flight_bytes` of transfers), and hands each body to its
/// slot.
async fn fetch_all(
    store: Store,
    objects: Vec<(String, u64)>,
    senders: Vec<oneshot::Sender<io::Result<Body>>>,
    options: FetchOptions,
    in_flight_bytes: u64,
) {
    let budget = (options.buffer_bytes / KIB).clamp(1, u64::from(u32::MAX));
    let memory = Arc::new(Semaphore::new(budget as usize));
    let requests = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let window = (in_flight_bytes / KIB).clamp(1, u64::from(u32::MAX));
    let in_flight = Arc::new(Semaphore::new(window as usize));
    // Dropped with this task when the prefetch is dropped, which aborts what is in flight.
    let mut tasks = JoinSet::new();
    for ((key, size), sender) in objects.into_iter().zip(senders) {
        let streamed = size > STREAM_THRESHOLD;
        let held = if streamed { STREAM_BYTES } else { size };
        let share = (held / KIB).clamp(1, budget) as u32;
        let (Ok(memory), Ok(request)) = (
            memory.clone().acquire_many_owned(share).await,
            requests.clone().acquire_owned().await,
        ) else {
            return;
        };
        let transfer = if streamed {
            None
        } else {
            let share = (size / KIB).clamp(1, window) as u32;
            match in_flight.clone().acquire_many_owned(share).await {
                Ok(permit) => Some(permit),
                Err(_) => return,
            }
        };
        let store = store.clone();
        // Decided here, in task order, so a test names which object fails.
        if let Err(injected) = crate::faults::fail_read("fetch") {
            let _ = sender.send(Err(injected));
            continue;
        }
        if streamed {
            tasks.spawn(stream_body(store, key, size, memory, request, sender));
        } else {
            tasks.spawn(async move {
                let body = store.fetch(&key, None).await.and_then(|bytes| {
                    as_listed(&store, &key, bytes.len() as u64, size)?;
                    Ok(bytes)
                });
                let body = body.map_err(io::Error::other);
                drop((request, transfer));
                let _ = sender.send(body.map(|bytes| Body::whole(bytes, memory)));
            });
        }
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

/// Whether a read found the object the listing did: of the `listed` size.
pub(super) fn as_listed(
    store: &Store,
    key: &str,
    read: u64,
    listed: u64,
) -> Result<(), StorageError> {
    if read == listed {
        return Ok(());
    }
    Err(store.changed(
        key,
        format!("{read} bytes where the listing found {listed}"),
    ))
}

/// Hands the worker a body that streams `key` as it arrives. A stream interrupted
/// mid-transfer is resumed from the byte where it stopped (as whole bodies are fetched again),
/// of the same version: the first response's, which must be the listed size.
async fn stream_body(
    store: Store,
    key: String,
    size: u64,
    memory: OwnedSemaphorePermit,
    request: OwnedSemaphorePermit,
    sender: oneshot::Sender<io::Result<Body>>,
) {
    let (chunks, received) = mpsc::channel(STREAM_CHUNKS);
    if sender
        .send(Ok(Body::streamed(received, size, memory)))
        .is_err()
    {
        return;
    }
    let mut offset = 0;
    let mut resumed = 0;
    let mut pinned = None;
    'resume: loop {
        let stream = store.stream_from(&key, offset, pinned.as_ref()).await;
        let stream = stream.and_then(|stream| {
            as_listed(&store, &key, stream.size, size)?;
            Ok(stream)
        });
        let mut stream = match stream {
            Ok(stream) => {
                pinned.get_or_insert(stream.version);
                stream.chunks
            }
            Err(error) => {
                let _ = chunks.send(Err(io::Error::other(error))).await;
                return;
            }
        };
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => {
                    offset += bytes.len() as u64;
                    // A closed channel means the worker stopped reading: the object is
                    // abandoned.
                    if chunks.send(Ok(bytes)).await.is_err() {
                        return;
                    }
                }
                // Every listed byte arrived: nothing is left to resume.
                Err(object_store::Error::Generic { .. }) if offset >= size => break 'resume,
                Err(object_store::Error::Generic { .. }) if resumed < BODY_RETRIES => {
                    resumed += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(200 << resumed)).await;
                    continue 'resume;
                }
                Err(error) => {
                    let error = store.read_error(&key, error);
                    let _ = chunks.send(Err(io::Error::other(error))).await;
                    return;
                }
            }
        }
        break;
    }
    drop(request);
}

/// A fetched object's bytes, read by a worker; its share of the buffer is released when it is
/// dropped.
pub struct Body {
    current: Bytes,
    /// The chunks still to come, for a streamed object.
    chunks: Option<mpsc::Receiver<io::Result<Bytes>>>,
    /// Bytes still to come: a stream that ends early is an error, never a short object.
    remaining: u64,
    _memory: OwnedSemaphorePermit,
}

impl Body {
    fn whole(bytes: Bytes, memory: OwnedSemaphorePermit) -> Self {
        Self {
            current: bytes,
            chunks: None,
            remaining: 0,
            _memory: memory,
        }
    }

    fn streamed(
        chunks: mpsc::Receiver<io::Result<Bytes>>,
        size: u64,
        memory: OwnedSemaphorePermit,
    ) -> Self {
        Self {
            current: Bytes::new(),
            chunks: Some(chunks),
            remaining: size,
            _memory: memory,
        }
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            let Some(chunks) = &mut self.chunks else {
                return Ok(0);
            };
            match chunks.blocking_recv() {
                Some(Ok(chunk)) => {
                    self.remaining = self.remaining.saturating_sub(chunk.len() as u64);
                    self.current = chunk;
                }
                Some(Err(error)) => return Err(error),
                None if self.remaining > 0 => {
                    return Err(io::Error::other(format!(
                        "the object's stream ended with {} bytes still to come",
                        self.remaining
                    )));
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::fmt;
    use std::sync::OnceLock;

    use futures_util::stream::BoxStream;
    use object_store::path::Path;
    use object_store::{
        CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload,
        ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult,
    };

    /// Faults put between agsl and a local store: each GET answers after `answer_after`
    /// (counting how many wait at once); with a `cut`, the first GET breaks off after that
    /// many bytes, as a lost connection does, and with a `replacement` the object is replaced
    /// before the break (somebody else's write).
    #[derive(Debug, Default)]
    struct Between {
        inner: OnceLock<Arc<dyn ObjectStore>>,
        cut: Option<usize>,
        replacement: Option<Bytes>,
        answer_after: Duration,
        gets: Mutex<Vec<GetOptions>>,
        waiting: AtomicU64,
        most_waiting: AtomicU64,
    }

    impl Between {
        fn inner(&self) -> &Arc<dyn ObjectStore> {
            self.inner.get().expect("put around a store")
        }

        /// A local store in `dir` holding `objects`, read through `self`.
        fn around(self, dir: &std::path::Path, objects: &[(&str, &[u8])]) -> (Store, Arc<Self>) {
            let store = Store::local(dir);
            for (key, bytes) in objects {
                store.put(key, bytes.to_vec()).unwrap();
            }
            let between = Arc::new(self);
            let store = store.wrapped(|inner| {
                between.inner.set(inner).expect("put around one store");
                between.clone()
            });
            (store, between)
        }
    }

    impl fmt::Display for Between {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "Between({})", self.inner())
        }
    }

    #[async_trait::async_trait]
    impl ObjectStore for Between {
        async fn put_opts(
            &self,
            location: &Path,
            payload: PutPayload,
            opts: PutOptions,
        ) -> object_store::Result<PutResult> {
            self.inner().put_opts(location, payload, opts).await
        }

        async fn put_multipart_opts(
            &self,
            location: &Path,
            opts: PutMultipartOptions,
        ) -> object_store::Result<Box<dyn MultipartUpload>> {
            self.inner().put_multipart_opts(location, opts).await
        }

        async fn get_opts(
            &self,
            location: &Path,
            options: GetOptions,
        ) -> object_store::Result<GetResult> {
            let first = {
                let mut gets = self.gets.lock().unwrap();
                gets.push(options.clone());
                gets.len() == 1
            };
            let waiting = self.waiting.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_waiting.fetch_max(waiting, Ordering::SeqCst);
            tokio::time::sleep(self.answer_after).await;
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            let result = self.inner().get_opts(location, options).await?;
            let Some(cut) = self.cut.filter(|_| first) else {
                return Ok(result);
            };
            let (meta, range, attributes) = (
                result.meta.clone(),
                result.range.clone(),
                result.attributes.clone(),
            );
            let head = result.bytes().await?.slice(..cut);
            if let Some(replacement) = &self.replacement {
                let payload = PutPayload::from(replacement.clone());
                self.inner()
                    .put_opts(location, payload, PutOptions::default())
                    .await?;
            }
            let lost = object_store::Error::Generic {
                store: "Between",
                source: "connection reset by peer".into(),
            };
            Ok(GetResult {
                payload: GetResultPayload::Stream(
                    futures_util::stream::iter([Ok(head), Err(lost)]).boxed(),
                ),
                meta,
                range,
                attributes,
            })
        }

        fn delete_stream(
            &self,
            locations: BoxStream<'static, object_store::Result<Path>>,
        ) -> BoxStream<'static, object_store::Result<Path>> {
            self.inner().delete_stream(locations)
        }

        fn list(
            &self,
            prefix: Option<&Path>,
        ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
            self.inner().list(prefix)
        }

        async fn list_with_delimiter(
            &self,
            prefix: Option<&Path>,
        ) -> object_store::Result<ListResult> {
            self.inner().list_with_delimiter(prefix).await
        }

        async fn copy_opts(
            &self,
            from: &Path,
            to: &Path,
            options: CopyOptions,
        ) -> object_store::Result<()> {
            self.inner().copy_opts(from, to, options).await
        }
    }

    /// What a worker reads of the object's body, and how the read ends.
    fn read_body(store: &Store, key: &str, size: u64) -> (Vec<u8>, io::Result<usize>) {
        let prefetch = Prefetch::start(store, vec![(key.into(), size)], FetchOptions::default(), 2);
        let mut read = Vec::new();
        let ended = prefetch
            .take(0)
            .and_then(|mut body| body.read_to_end(&mut read));
        (read, ended)
    }

    fn object(size: usize, seed: u8) -> Vec<u8> {
        (0..size)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn a_stream_broken_off_resumes_from_where_it_stopped_of_the_same_version() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = object(STREAM_THRESHOLD as usize + 70_001, 1);
        let cut = 5_000_003;
        let (store, cutting) = Between {
            cut: Some(cut),
            ..Between::default()
        }
        .around(dir.path(), &[("big.log", &bytes)]);
        let (read, ended) = read_body(&store, "big.log", bytes.len() as u64);
        ended.unwrap();
        assert!(
            read == bytes,
            "read {} bytes of {}",
            read.len(),
            bytes.len()
        );
        let gets = cutting.gets.lock().unwrap();
        assert_eq!(gets.len(), 2, "{gets:?}");
        assert_eq!(gets[0].range, None);
        assert_eq!(
            gets[1].range,
            Some(object_store::GetRange::Offset(cut as u64))
        );
        assert!(
            gets[1].if_match.is_some(),
            "the resumed read names the version"
        );
    }

    #[test]
    fn an_object_replaced_while_it_streams_is_an_error_never_two_versions_spliced() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = object(STREAM_THRESHOLD as usize + 70_001, 1);
        // The same size, other bytes: only the version tells them apart.
        let replacement = object(bytes.len(), 2);
        let cut = 5_000_003;
        let (store, _) = Between {
            cut: Some(cut),
            replacement: Some(replacement.into()),
            ..Between::default()
        }
        .around(dir.path(), &[("big.log", &bytes)]);
        let (read, ended) = read_body(&store, "big.log", bytes.len() as u64);
        let error = ended.unwrap_err().to_string();
        assert!(error.contains("changed while this run read it"), "{error}");
        assert!(error.contains("big.log"), "names the object: {error}");
        assert!(
            read == bytes[..cut],
            "only the first version's bytes: {}",
            read.len()
        );
    }

    #[test]
    fn whole_objects_in_flight_grow_with_the_workers_taking_them() {
        let dir = tempfile::tempdir().unwrap();
        let size = 2 * 1024 * 1024;
        let bytes = object(size, 4);
        let keys: Vec<String> = (0..40).map(|i| format!("o/{i:02}")).collect();
        let objects: Vec<(&str, &[u8])> = keys.iter().map(|k| (k.as_str(), &bytes[..])).collect();
        // GETs that answer late, so that every request the window lets out waits at once.
        let slow = || Between {
            answer_after: Duration::from_millis(100),
            ..Between::default()
        };
        for (workers, most) in [(1, 8), (2, 8), (8, 32)] {
            let (store, between) = slow().around(dir.path(), &objects);
            let listed = keys.iter().map(|k| (k.clone(), size as u64)).collect();
            let prefetch = Prefetch::start(&store, listed, FetchOptions::default(), workers);
            for i in 0..keys.len() {
                let mut read = Vec::new();
                prefetch.take(i).unwrap().read_to_end(&mut read).unwrap();
                assert!(read == bytes, "object {i}");
            }
            // 16 MiB at least, 8 MiB a worker: 2 MiB objects, so 8, 8 and 32 at once.
            let waited = between.most_waiting.load(Ordering::SeqCst);
            assert_eq!(waited, most, "{workers} workers");
        }
    }

    #[test]
    fn an_object_not_of_its_listed_size_is_an_error_whole_or_streamed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        for size in [5_000, STREAM_THRESHOLD as usize + 1] {
            store.put("o.log", object(size, 3)).unwrap();
            let (read, ended) = read_body(&store, "o.log", size as u64 - 1);
            let error = ended.unwrap_err().to_string();
            assert!(
                error.contains(&format!(
                    "{size} bytes where the listing found {}",
                    size - 1
                )),
                "{error}"
            );
            assert!(read.is_empty(), "{size}: nothing of it is read");
        }
    }

    #[test]
    fn bodies_arrive_whole_and_in_order_within_a_small_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        // Small objects, and two streamed ones.
        let threshold = STREAM_THRESHOLD as usize;
        let sizes = [0, 1, 5000, threshold + 1, 2 * threshold + 12_345, 70];
        let mut objects = Vec::new();
        let mut contents = Vec::new();
        for (i, size) in sizes.iter().enumerate() {
            let bytes: Vec<u8> = (0..*size).map(|b| (b * 7 + i) as u8).collect();
            let key = format!("o/{i}");
            store.put(&key, bytes.clone()).unwrap();
            objects.push((key, *size as u64));
            contents.push(bytes);
        }
        // A buffer smaller than one streamed object's share: it is clamped, never a stall.
        let options = FetchOptions {
            concurrency: 2,
            buffer_bytes: 1024 * 1024,
        };
        let prefetch = Prefetch::start(&store, objects, options, 2);
        for (i, expected) in contents.iter().enumerate() {
            let mut read = Vec::new();
            prefetch.take(i).unwrap().read_to_end(&mut read).unwrap();
            assert!(read == *expected, "object {i}: {} bytes", read.len());
        }
        assert!(prefetch.take(0).is_err(), "an object is taken once");
    }

    #[test]
    fn an_object_gone_since_the_listing_is_an_error_never_an_empty_body() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        let big = STREAM_THRESHOLD + 10;
        let prefetch = Prefetch::start(
            &store,
            vec![("gone".into(), 10), ("gone-big".into(), big)],
            FetchOptions::default(),
            2,
        );
        let Err(whole) = prefetch.take(0) else {
            panic!("a body for an object that does not exist")
        };
        assert!(whole.to_string().contains("the object is gone"), "{whole}");
        let mut read = Vec::new();
        let streamed = prefetch
            .take(1)
            .and_then(|mut body| body.read_to_end(&mut read));
        let Err(streamed) = streamed else {
            panic!("read {} bytes of an object that does not exist", read.len())
        };
        assert!(
            streamed.to_string().contains("the object is gone"),
            "{streamed}"
        );
    }
}
