//! One synchronous API over local directories and S3 (`object_store` on a shared Tokio runtime),
//! used for listing sources, reading objects, and the target's state and committed files. The
//! conversion threads stay plain threads; only storage calls enter the runtime.

mod aws;
mod concurrent;
mod failure;
mod location;
mod options;

pub(crate) use aws::aws_sdk_config;
pub use concurrent::{Lookahead, for_each_concurrently, for_each_in_order};
pub(crate) use location::join_key;
pub use location::{Location, is_url, location_url};
pub use options::{Encryption, StorageOptions, check_region};

/// Requests in flight at once for a batch of small ones on S3 (reading commit records,
/// publishing a commit's files, deleting old records), each waiting a round trip: as many as
/// the object fetches ([`crate::source::FetchOptions`]). Through 30 ms a request, `agsl
/// status` reading 886 records took 2.23 s at 16, 1.32 s at 32 and 0.93 s at 64
/// (BENCHMARKS.md).
pub const STORE_CONCURRENCY: usize = 64;
/// Small files (under one upload part, read whole) uploaded at once.
pub const SMALL_UPLOADS_AT_ONCE: usize = 8;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use futures_util::TryStreamExt;
use futures_util::stream::BoxStream;
use object_store::list::PaginatedListStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutPayload, UpdateVersion};
use tokio::runtime::Runtime;

/// Storage that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    #[error("invalid location `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("{0}")]
    Credentials(String),
    #[error("cannot create folder `{}`: {source}", path.display())]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A broken invariant inside agsl (a bug, never the store's answer).
    #[error("internal error: {0}")]
    Internal(String),
    /// One line naming what was refused and what to do; the request details go to the debug
    /// log (`-v`), not into the message.
    #[error("{}", failure::describe(operation, location, error))]
    Request {
        operation: &'static str,
        location: String,
        error: object_store::Error,
    },
    /// The object is not the one listed, or was replaced while it was read: converting it would
    /// record the listed size for other content, or splice two versions' bytes into one
    /// stream. AWS never rewrites a log object, so this is somebody else's write; the object
    /// stays unconverted and the next run reads it as it is then.
    #[error(
        "`{location}` changed while this run read it ({what}); it was not converted, run again to convert it as it is now"
    )]
    Changed { location: String, what: String },
}

impl StorageError {
    /// Whether the store refused these credentials the request (S3's `AccessDenied`).
    pub fn is_access_denied(&self) -> bool {
        matches!(self, StorageError::Request { error, .. } if failure::is_access_denied(error))
    }

    /// Whether S3 refused to read an archived object that is not restored.
    pub fn is_archived(&self) -> bool {
        matches!(self, StorageError::Request { operation: "read", error, .. } if failure::is_archived(error))
    }
}

/// The runtime every storage call runs on: two threads suffice, the work is waiting on I/O.
pub(crate) fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("agsl-io")
            .enable_all()
            .build()
            .expect("a Tokio runtime starts")
    })
}

/// An object found by a listing: its key relative to the store's root, size and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub key: String,
    pub size: u64,
    pub e_tag: Option<String>,
}

/// A prefix of a store (S3) or a directory (local), addressed by `/`-separated relative keys.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    /// S3's own listing, which takes `start-after`, a delimiter and a page size together.
    pages: Option<Arc<dyn PaginatedListStore>>,
    root: String,
    location: Location,
    /// Kept to open other locations the same way (see [`Store::open_other`]).
    options: Arc<StorageOptions>,
    /// Other buckets opened by [`Store::resolve`], shared by clones.
    buckets: Arc<Mutex<HashMap<String, Store>>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location)
            .finish()
    }
}

impl Store {
    /// Opens `location`; a local directory is created if missing.
    pub fn open(location: &Location, options: &StorageOptions) -> Result<Self, StorageError> {
        match location {
            Location::Local(path) => {
                std::fs::create_dir_all(path).map_err(|source| StorageError::Folder {
                    path: path.clone(),
                    source,
                })?;
                let store = LocalFileSystem::new_with_prefix(path).map_err(|source| {
                    StorageError::Request {
                        operation: "open",
                        location: path.display().to_string(),
                        error: source,
                    }
                })?;
                Ok(Self {
                    inner: Arc::new(store),
                    pages: None,
                    root: String::new(),
                    location: location.clone(),
                    options: Arc::new(options.clone()),
                    buckets: Arc::default(),
                })
            }
            Location::S3 { bucket, prefix } => {
                let store = Arc::new(runtime().block_on(aws::s3_store(bucket, options))?);
                Ok(Self {
                    inner: store.clone(),
                    pages: Some(store),
                    root: prefix.clone(),
                    location: location.clone(),
                    options: Arc::new(options.clone()),
                    buckets: Arc::default(),
                })
            }
        }
    }

    /// Opens `location` if it exists; a local directory that does not is `None` (and is not
    /// created). S3 prefixes always "exist".
    pub fn open_existing(
        location: &Location,
        options: &StorageOptions,
    ) -> Result<Option<Self>, StorageError> {
        match location {
            Location::Local(path) if !path.exists() => Ok(None),
            _ => Self::open(location, options).map(Some),
        }
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Opens another location with this store's endpoint and region.
    pub fn open_other(&self, location: &Location) -> Result<Self, StorageError> {
        Self::open(location, &self.options)
    }

    /// The store and key of a file named by its absolute URL (`s3://bucket/key`,
    /// `file:///path`), or by a key relative to this store. Buckets opened this way are kept,
    /// as opening one may cost a request.
    pub fn resolve(&self, path: &str) -> Result<(Self, String), StorageError> {
        if !is_url(path) {
            return Ok((self.clone(), path.to_owned()));
        }
        match Location::parse(path)? {
            Location::S3 { bucket, prefix } => {
                let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
                let store = match buckets.get(&bucket) {
                    Some(store) => store.clone(),
                    None => {
                        let store = self.open_other(&Location::S3 {
                            bucket: bucket.clone(),
                            prefix: String::new(),
                        })?;
                        buckets.insert(bucket, store.clone());
                        store
                    }
                };
                Ok((store, prefix))
            }
            Location::Local(file) => {
                let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
                let folder = file.parent().map(Path::to_path_buf);
                match (folder, name) {
                    (Some(folder), Some(name)) => {
                        Ok((self.open_other(&Location::Local(folder))?, name))
                    }
                    _ => Err(StorageError::InvalidUrl {
                        url: path.to_owned(),
                        reason: "not a file".into(),
                    }),
                }
            }
        }
    }

    /// The URL of `key`: `s3://bucket/prefix/key` or the absolute local path as `file://`.
    pub fn url(&self, key: &str) -> String {
        location_url(&self.location.join(key))
    }

    /// The store's path of `key`. An S3 key is taken as it is: it came from a listing or from
    /// the user, and `Path::from` would percent-encode the `%`, `#`, `~`, `[` and others
    /// that keys may hold, asking S3 for another object. Only a key no path can hold (a
    /// control character, an empty or `..` segment) is encoded. Local paths are encoded, as the
    /// local store decodes them back into file names.
    fn path(&self, key: &str) -> StorePath {
        let full = join_key(&self.root, key);
        match self.location {
            Location::S3 { .. } => {
                StorePath::parse(&full).unwrap_or_else(|_| StorePath::from(full.as_str()))
            }
            Location::Local(_) => StorePath::from(full),
        }
    }

    fn relative(&self, path: &StorePath) -> String {
        let full = path.as_ref();
        match full.strip_prefix(self.root.as_str()) {
            Some(rest) if !self.root.is_empty() => rest.trim_start_matches('/').to_owned(),
            _ => full.to_owned(),
        }
    }

    fn stored(&self, meta: object_store::ObjectMeta) -> StoredObject {
        StoredObject {
            key: self.relative(&meta.location),
            size: meta.size,
            e_tag: meta.e_tag,
        }
    }

    fn error(
        &self,
        operation: &'static str,
        key: &str,
        source: object_store::Error,
    ) -> StorageError {
        let location = self.url(key);
        tracing::debug!(operation, %location, error = %source, "storage request failed");
        StorageError::Request {
            operation,
            location,
            error: source,
        }
    }

    /// Every object below `prefix` (recursive, paginated), sorted by key.
    pub fn list(&self, prefix: &str) -> Result<Vec<StoredObject>, StorageError> {
        self.list_after(prefix, None)
    }

    /// Objects below `prefix` whose key sorts after `offset` (S3 `start-after`), sorted by key.
    pub fn list_after(
        &self,
        prefix: &str,
        offset: Option<&str>,
    ) -> Result<Vec<StoredObject>, StorageError> {
        let path = self.path(prefix);
        let path = (!path.as_ref().is_empty()).then_some(path);
        let stream = match offset {
            Some(offset) => self
                .inner
                .list_with_offset(path.as_ref(), &self.path(offset)),
            None => self.inner.list(path.as_ref()),
        };
        let listed: Vec<_> = runtime()
            .block_on(stream.try_collect())
            .map_err(|e| self.error("list", prefix, e))?;
        let mut objects: Vec<StoredObject> =
            listed.into_iter().map(|meta| self.stored(meta)).collect();
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    /// The sub-"directories" (common prefixes, relative keys) and objects directly below `prefix`.
    pub fn list_level(
        &self,
        prefix: &str,
    ) -> Result<(Vec<String>, Vec<StoredObject>), StorageError> {
        let path = self.path(prefix);
        let path = (!path.as_ref().is_empty()).then_some(path);
        let listed = runtime()
            .block_on(self.inner.list_with_delimiter(path.as_ref()))
            .map_err(|e| self.error("list", prefix, e))?;
        let mut directories: Vec<String> = listed
            .common_prefixes
            .iter()
            .map(|p| self.relative(p))
            .collect();
        directories.sort();
        let mut objects: Vec<StoredObject> = listed
            .objects
            .into_iter()
            .map(|meta| self.stored(meta))
            .collect();
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok((directories, objects))
    }

    /// Whether anything lies below the folder `prefix`: one request on S3.
    pub fn any_below(&self, prefix: &str) -> Result<bool, StorageError> {
        let (folders, objects) = self.list_level_after(prefix, None, Some(1))?;
        Ok(!folders.is_empty() || !objects.is_empty())
    }

    /// Like [`Store::list_level`], but only entries whose name sorts after `after` (a name
    /// within the level), and at most about `limit` of them when given (S3: one page). On S3
    /// the bound is sent as `start-after`, so older keys of a flat, date-named prefix (S3
    /// access logs) are never listed at all.
    pub fn list_level_after(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<(Vec<String>, Vec<StoredObject>), StorageError> {
        let Some(pages) = &self.pages else {
            let (mut folders, mut objects) = self.list_level(prefix)?;
            if let Some(after) = after {
                let level = join_key(prefix, after);
                folders.retain(|f| f.as_str() > level.as_str());
                objects.retain(|o| o.key.as_str() > level.as_str());
            }
            return Ok((folders, objects));
        };
        let full_prefix = join_key(&self.root, prefix);
        let listed_prefix = (!full_prefix.is_empty()).then(|| format!("{full_prefix}/"));
        let mut options = object_store::list::PaginatedListOptions {
            offset: after.map(|name| join_key(&full_prefix, name)),
            delimiter: Some("/".into()),
            max_keys: limit,
            ..Default::default()
        };
        let (mut folders, mut objects) = (Vec::new(), Vec::new());
        loop {
            let page = runtime()
                .block_on(pages.list_paginated(listed_prefix.as_deref(), options.clone()))
                .map_err(|e| self.error("list", prefix, e))?;
            folders.extend(page.result.common_prefixes.iter().map(|p| self.relative(p)));
            objects.extend(
                page.result
                    .objects
                    .into_iter()
                    .map(|meta| self.stored(meta)),
            );
            match page.page_token {
                Some(token) if limit.is_none() => options.page_token = Some(token),
                _ => break,
            }
        }
        folders.sort();
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok((folders, objects))
    }

    /// The whole object. A body interrupted mid-transfer is fetched again (requests themselves
    /// are retried by the client).
    pub fn get(&self, key: &str) -> Result<Bytes, StorageError> {
        runtime().block_on(self.fetch(key, None))
    }

    /// The bytes `range` of the object (its end within the object's size).
    pub fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Bytes, StorageError> {
        runtime().block_on(self.fetch(key, Some(range)))
    }

    /// The whole object, or the bytes `range` of it, from async code (the prefetcher). A body
    /// interrupted mid-transfer is fetched again, as by [`Store::get`].
    pub(crate) async fn fetch(
        &self,
        key: &str,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<Bytes, StorageError> {
        let path = self.path(key);
        let mut attempt = 0;
        loop {
            let result = match &range {
                Some(range) => self.inner.get_range(&path, range.clone()).await,
                None => match self.inner.get(&path).await {
                    Ok(response) => response.bytes().await,
                    Err(e) => Err(e),
                },
            };
            match result {
                Ok(bytes) => return Ok(bytes),
                Err(object_store::Error::Generic { .. }) if attempt < BODY_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
                }
                Err(e) => return Err(self.error("read", key, e)),
            }
        }
    }

    /// The object from byte `offset` on, as chunks while they arrive (large objects are read
    /// while they are parsed). An interrupted stream is the caller's to resume, from the
    /// version it began with: `pinned` is asked for (`If-Match`), and an object replaced
    /// since is [`StorageError::Changed`], never the rest of another version.
    pub(crate) async fn stream_from(
        &self,
        key: &str,
        offset: u64,
        pinned: Option<&Version>,
    ) -> Result<ObjectStream, StorageError> {
        let options = object_store::GetOptions {
            range: (offset > 0).then_some(object_store::GetRange::Offset(offset)),
            if_match: pinned.and_then(|version| version.e_tag.clone()),
            ..Default::default()
        };
        let response = match self.inner.get_opts(&self.path(key), options).await {
            Ok(response) => response,
            Err(object_store::Error::Precondition { .. }) => {
                return Err(self.changed(key, "it was replaced after its first bytes were read"));
            }
            Err(e) => return Err(self.error("read", key, e)),
        };
        Ok(ObjectStream {
            size: response.meta.size,
            version: Version {
                e_tag: response.meta.e_tag.clone(),
                version: response.meta.version.clone(),
            },
            chunks: response.into_stream(),
        })
    }

    /// [`StorageError::Changed`] for `key`.
    pub(crate) fn changed(&self, key: &str, what: impl Into<String>) -> StorageError {
        StorageError::Changed {
            location: self.url(key),
            what: what.into(),
        }
    }

    /// Copies the object into the local `file` as it arrives (the object is never held whole).
    /// A body interrupted mid-transfer is downloaded again, as [`Store::get`] fetches it again.
    pub fn download(&self, key: &str, file: &Path) -> Result<(), StorageError> {
        let mut attempt = 0;
        loop {
            match self.download_once(key, file) {
                Err(StorageError::Request {
                    error: object_store::Error::Generic { .. },
                    ..
                }) if attempt < BODY_RETRIES => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(200 << attempt));
                }
                result => return result,
            }
        }
    }

    fn download_once(&self, key: &str, file: &Path) -> Result<(), StorageError> {
        use futures_util::StreamExt;
        use std::io::Write;
        let io = |e: std::io::Error| self.error("download", key, generic_io(e));
        let mut out = std::io::BufWriter::new(std::fs::File::create(file).map_err(io)?);
        runtime().block_on(async {
            let mut stream = self.stream_from(key, 0, None).await?.chunks;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| self.error("read", key, e))?;
                out.write_all(&chunk).map_err(io)?;
            }
            Ok::<_, StorageError>(())
        })?;
        out.flush().map_err(io)
    }

    /// A failed read of `key`, as every read reports it.
    pub(crate) fn read_error(&self, key: &str, error: object_store::Error) -> StorageError {
        self.error("read", key, error)
    }

    /// The object, or `None` if it does not exist.
    pub fn get_if_exists(&self, key: &str) -> Result<Option<(Bytes, Version)>, StorageError> {
        let path = self.path(key);
        let result = runtime().block_on(async {
            let response = self.inner.get(&path).await?;
            let version = Version {
                e_tag: response.meta.e_tag.clone(),
                version: response.meta.version.clone(),
            };
            Ok::<_, object_store::Error>((response.bytes().await?, version))
        });
        match result {
            Ok(found) => Ok(Some(found)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("read", key, e)),
        }
    }

    pub fn exists(&self, key: &str) -> Result<bool, StorageError> {
        match runtime().block_on(self.inner.head(&self.path(key))) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error("read", key, e)),
        }
    }

    /// Writes the object, replacing any previous one (atomically: readers see old or new).
    pub fn put(&self, key: &str, bytes: impl Into<Bytes>) -> Result<(), StorageError> {
        let payload = PutPayload::from(bytes.into());
        runtime()
            .block_on(self.inner.put(&self.path(key), payload))
            .map(|_| ())
            .map_err(|e| self.error("write", key, e))
    }

    /// Creates the object only if no object exists at `key` (S3 `If-None-Match: *`, local
    /// hard link). `Ok(false)` when it already existed: someone else created it first.
    pub fn create(&self, key: &str, bytes: impl Into<Bytes>) -> Result<bool, StorageError> {
        let payload = PutPayload::from(bytes.into());
        let path = self.path(key);
        let put = self.inner.put_opts(&path, payload, PutMode::Create.into());
        match runtime().block_on(put) {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(self.error("create", key, e)),
        }
    }

    /// Replaces the object only if it is still at `version` (S3 `If-Match`). `Ok(false)` when it
    /// changed or vanished meanwhile.
    pub fn replace(
        &self,
        key: &str,
        bytes: impl Into<Bytes>,
        version: &Version,
    ) -> Result<bool, StorageError> {
        let payload = PutPayload::from(bytes.into());
        let mode = PutMode::Update(UpdateVersion {
            e_tag: version.e_tag.clone(),
            version: version.version.clone(),
        });
        match runtime().block_on(self.inner.put_opts(&self.path(key), payload, mode.into())) {
            Ok(_) => Ok(true),
            Err(
                object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. },
            ) => Ok(false),
            Err(e) => Err(self.error("replace", key, e)),
        }
    }

    /// Makes a local object durable (its bytes and its folder entry reach the disk), so that
    /// what is written after it can rely on it even across a power loss. S3 writes are
    /// durable when acknowledged.
    pub fn sync(&self, key: &str) -> Result<(), StorageError> {
        let Location::Local(root) = &self.location else {
            return Ok(());
        };
        let path = root.join(key);
        let sync = |p: &Path| std::fs::File::open(p).and_then(|f| f.sync_all());
        sync(&path)
            .and_then(|()| path.parent().map_or(Ok(()), sync))
            .map_err(|e| self.error("sync", key, generic_io(e)))
    }

    /// How many requests to run at once for a batch of small ones (moving a commit's files,
    /// reading or deleting commit records): on S3 each waits a round trip, so
    /// [`STORE_CONCURRENCY`]; locally one at a time, as a folder gains nothing from more.
    pub fn requests_at_once(&self) -> usize {
        match self.location() {
            Location::S3 { .. } => STORE_CONCURRENCY,
            Location::Local(_) => 1,
        }
    }

    /// Deletes the object; a missing object is not an error.
    pub fn delete(&self, key: &str) -> Result<(), StorageError> {
        match runtime().block_on(self.inner.delete(&self.path(key))) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("delete", key, e)),
        }
    }

    /// Moves an object (local: an atomic rename; S3: server-side copy, then delete).
    pub fn rename(&self, from: &str, to: &str) -> Result<(), StorageError> {
        runtime()
            .block_on(self.inner.rename(&self.path(from), &self.path(to)))
            .map_err(|e| self.error("move", from, e))
    }

    /// Copies the object at `key` to `other_key` in `other`, streamed in parts (for moving a
    /// file between buckets or between S3 and a local folder).
    pub fn copy_to(&self, key: &str, other: &Store, other_key: &str) -> Result<(), StorageError> {
        let (from, to) = (self.path(key), other.path(other_key));
        let result = runtime().block_on(async {
            let mut body = self.inner.get(&from).await?.into_stream();
            let upload = other.inner.put_multipart(&to).await?;
            let mut writer =
                object_store::WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART_BYTES);
            while let Some(chunk) = body.try_next().await? {
                writer.wait_for_capacity(4).await?;
                writer.write(&chunk);
            }
            writer.finish().await.map(|_| ())
        });
        result.map_err(|e| self.error("copy", key, e))
    }

    /// Uploads `files` (local path, key): files under one part are read whole and sent
    /// [`SMALL_UPLOADS_AT_ONCE`] at a time, larger ones stream one at a time (each with its own
    /// parts in flight), so a commit of many small files costs few round trips and memory stays
    /// bounded by `SMALL_UPLOADS_AT_ONCE` parts whatever the files.
    pub fn upload_all(&self, files: &[(&Path, &str)]) -> Result<(), StorageError> {
        let (small, large): (Vec<_>, Vec<_>) = files.iter().partition(|(file, _)| is_small(file));
        for_each_concurrently(&small, SMALL_UPLOADS_AT_ONCE, |(file, key)| {
            self.upload_whole(file, key)
        })?;
        large
            .iter()
            .try_for_each(|(file, key)| self.upload_multipart(file, key))
    }

    /// Uploads a local file to `key` (multipart for large files).
    pub fn upload(&self, file: &Path, key: &str) -> Result<(), StorageError> {
        if is_small(file) {
            self.upload_whole(file, key)
        } else {
            self.upload_multipart(file, key)
        }
    }

    /// Uploads a file smaller than one part in one PUT.
    fn upload_whole(&self, file: &Path, key: &str) -> Result<(), StorageError> {
        let bytes = std::fs::read(file).map_err(|e| self.error("upload", key, generic_io(e)))?;
        self.put(key, bytes)
    }

    /// Uploads a file in parts, streamed from disk, at most four parts in flight.
    fn upload_multipart(&self, file: &Path, key: &str) -> Result<(), StorageError> {
        let path = self.path(key);
        let result = runtime().block_on(async {
            let mut input = tokio::fs::File::open(file).await.map_err(generic_io)?;
            let upload = self.inner.put_multipart(&path).await?;
            let mut writer =
                object_store::WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART_BYTES);
            let mut buffer = vec![0u8; 1024 * 1024];
            loop {
                let n = tokio::io::AsyncReadExt::read(&mut input, &mut buffer)
                    .await
                    .map_err(generic_io)?;
                if n == 0 {
                    break;
                }
                writer.wait_for_capacity(4).await?;
                writer.write(&buffer[..n]);
            }
            writer.finish().await.map(|_| ())
        });
        result.map_err(|e| self.error("upload", key, e))
    }
}

/// Whole-object re-fetches after a body was cut off mid-transfer.
pub(crate) const BODY_RETRIES: u32 = 3;
/// Multipart upload part size (S3 needs at least 5 MiB per part but the last).
const UPLOAD_PART_BYTES: usize = 16 * 1024 * 1024;

/// Whether `file` fits in one part, so one PUT uploads it; a file that cannot be read is not
/// small, and its multipart upload then fails naming it.
fn is_small(file: &Path) -> bool {
    std::fs::metadata(file).is_ok_and(|m| m.len() < UPLOAD_PART_BYTES as u64)
}

fn generic_io(error: std::io::Error) -> object_store::Error {
    object_store::Error::Generic {
        store: "local",
        source: Box::new(error),
    }
}

/// The version of an object read, for a conditional replace or a resumed read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    e_tag: Option<String>,
    version: Option<String>,
}

/// One version of an object, streamed from some offset (see [`Store::stream_from`]).
pub(crate) struct ObjectStream {
    /// The whole object's size, also when the stream starts past its first byte.
    pub size: u64,
    /// The version the bytes come from.
    pub version: Version,
    pub chunks: BoxStream<'static, object_store::Result<Bytes>>,
}

#[cfg(test)]
impl Store {
    /// This store with its requests going through `wrap(inner)`: tests put faults between
    /// agsl and the storage.
    pub(crate) fn wrapped(
        mut self,
        wrap: impl FnOnce(Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore>,
    ) -> Self {
        self.inner = wrap(self.inner);
        self
    }

    /// A store on the local folder `dir`, for the tests.
    pub(crate) fn local(dir: &std::path::Path) -> Self {
        Self::open(&dir.into(), &StorageOptions::default()).expect("a local store opens")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_store_round_trip_and_conditional_create() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        assert!(store.create("_agsl/log/1.json", "one").unwrap());
        assert!(!store.create("_agsl/log/1.json", "two").unwrap());
        assert_eq!(store.get("_agsl/log/1.json").unwrap(), "one");
        store.put("a/b/c.txt", "c").unwrap();
        let (dirs, files) = store.list_level("").unwrap();
        assert_eq!(dirs, ["_agsl", "a"]);
        assert!(files.is_empty());
        store.rename("a/b/c.txt", "x/y.txt").unwrap();
        let keys: Vec<_> = store.list("").unwrap().into_iter().map(|o| o.key).collect();
        assert_eq!(keys, ["_agsl/log/1.json", "x/y.txt"]);
        store.delete("x/y.txt").unwrap();
        store.delete("x/y.txt").unwrap();
        assert!(!store.exists("x/y.txt").unwrap());
        assert!(store.get_if_exists("nothing").unwrap().is_none());
    }
}
