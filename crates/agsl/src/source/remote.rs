//! An S3 prefix as a source. Listing is paginated by `object_store`; with a time window it is
//! narrowed to the date folders (`…/YYYY/MM/DD/`) the window needs, found by walking the layout
//! level by level (account, service, region folders are few), so a backfill of one week lists
//! one week of keys, not the bucket's whole history.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;

use super::SourceObject;
use super::prefetch::{FetchOptions, Prefetch, as_listed};
use crate::storage::{StorageError, Store, StoredObject};
use crate::window::{KeyDays, date_folder_value, name_date};

/// Folder levels walked looking for the year folders before listing everything below.
const MAX_WALK_DEPTH: usize = 6;
/// Keys read to recognise a flat, date-named level.
const PEEK_KEYS: usize = 100;

#[derive(Debug, Clone)]
pub struct RemoteSource {
    store: Store,
}

impl RemoteSource {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub fn url(&self, key: &str) -> String {
        self.store.url(key)
    }

    /// The object's bytes, which must be the `listed` size.
    pub fn read_listed(&self, key: &str, listed: u64) -> Result<Bytes, StorageError> {
        let bytes = self.store.get(key)?;
        as_listed(&self.store, key, bytes.len() as u64, listed)?;
        Ok(bytes)
    }

    /// The first `bytes` bytes of the object (its start, for recognising its content).
    pub fn read_head(&self, key: &str, bytes: u64) -> Result<Bytes, StorageError> {
        self.store.get_range(key, 0..bytes)
    }

    /// Starts fetching `objects` (key and listed size) ahead of `workers` CPU workers.
    pub fn prefetch(
        &self,
        objects: Vec<(String, u64)>,
        options: FetchOptions,
        workers: usize,
    ) -> Prefetch {
        Prefetch::start(&self.store, objects, options, workers)
    }

    /// The object's bytes, or `None` when it does not exist.
    pub fn read_if_exists(&self, key: &str) -> Result<Option<Bytes>, StorageError> {
        Ok(self.store.get_if_exists(key)?.map(|(bytes, _)| bytes))
    }

    /// Objects below the prefix, sorted; only the date folders within `days` are listed where
    /// the layout has them.
    pub fn list(&self, days: &KeyDays) -> Result<Vec<SourceObject>, StorageError> {
        let mut found = Vec::new();
        if days.is_everything() {
            found = self.store.list("")?;
        } else {
            self.walk(days, &mut found)?;
        }
        let mut objects: Vec<SourceObject> = found
            .into_iter()
            .map(|o| SourceObject {
                key: o.key,
                size: o.size,
            })
            .collect();
        objects.sort_unstable_by(|a, b| a.key.cmp(&b.key)); // keys are unique
        objects.dedup();
        Ok(objects)
    }

    /// Walks the layout level by level, listing each level's folders concurrently (accounts
    /// and regions of an organization trail are many), down to the year folders, whose dates
    /// are then listed within `days` only.
    fn walk(&self, days: &KeyDays, found: &mut Vec<StoredObject>) -> Result<(), StorageError> {
        let is_year = |f: &String| number_of(f, 4).is_some();
        let mut frontier = vec![String::new()];
        let mut years = Vec::new();
        for depth in 0..=MAX_WALK_DEPTH {
            if frontier.is_empty() {
                break;
            }
            let levels = concurrently(&frontier, |prefix| self.list_level(prefix, days))?;
            let mut next = Vec::new();
            for (prefix, (folders, objects)) in frontier.iter().zip(levels) {
                if super::targets::holds_state(prefix, &folders) {
                    // An agsl target: none of it is listed (see `targets`).
                    tracing::info!(
                        target = self.store.url(prefix),
                        "left out an agsl target below the source: its files are not logs"
                    );
                    continue;
                }
                found.extend(objects);
                if !folders.is_empty() && folders.iter().all(is_year) {
                    years.extend(folders);
                } else {
                    next.extend(folders);
                }
            }
            frontier = next;
            if depth == MAX_WALK_DEPTH {
                // Deeper than any AWS layout: everything below is listed.
                for listed in concurrently(&frontier, |folder| self.store.list(folder))? {
                    found.extend(listed);
                }
            }
        }
        self.walk_dates(&years, days, found)
    }

    /// The folders and objects of one level. A level of date-named objects and no folders
    /// (S3 access logs' flat layout, `[prefix]YYYY-MM-DD-hh-mm-ss-…`, or one CloudFront
    /// distribution's) is listed from the first day on with `start-after`, recognised from its
    /// first page.
    fn list_level(
        &self,
        prefix: &str,
        days: &KeyDays,
    ) -> Result<(Vec<String>, Vec<StoredObject>), StorageError> {
        let Some(first) = days.first else {
            return self.store.list_level(prefix);
        };
        let (folders, objects) = self.store.list_level_after(prefix, None, Some(PEEK_KEYS))?;
        // What the first page's names hold before their date: one text for all of them (none
        // for S3 access logs' `2024-03-07-…`, `access-logs-` for a target prefix that does not
        // end in `/`, `E2ABC.` for one CloudFront distribution), else nothing to narrow by. The
        // keys the bound leaves out sort between the first page and it, so they begin with
        // that text too, and their dates are older than the window's.
        fn before_date(object: &StoredObject) -> Option<&str> {
            let name = object.key.rsplit('/').next().unwrap_or_default();
            name_date(name).map(|(at, _)| &name[..at])
        }
        let mut heads = objects.iter().map(before_date);
        if let Some(Some(head)) = heads.next()
            && folders.is_empty()
            && heads.all(|h| h == Some(head))
        {
            let (year, month, day) = agsl_formats::time::civil_from_days(first);
            let after = format!("{head}{year:04}-{month:02}-{day:02}");
            tracing::debug!(prefix, after, "listing a date-named level with start-after");
            return self.store.list_level_after(prefix, Some(&after), None);
        }
        self.store.list_level(prefix)
    }

    /// Lists the `YYYY/MM/DD` folders overlapping the key-day range, each level's folders
    /// concurrently.
    fn walk_dates(
        &self,
        years: &[String],
        days: &KeyDays,
        found: &mut Vec<StoredObject>,
    ) -> Result<(), StorageError> {
        use agsl_formats::time::civil_from_days;
        let first = days.first.map(civil_from_days);
        let last = days.last.map(civil_from_days);
        let in_range = |first_of: (i64, u32, u32), last_of: (i64, u32, u32)| {
            first.is_none_or(|f| last_of >= f) && last.is_none_or(|l| first_of <= l)
        };
        let years: Vec<(i64, &String)> = years
            .iter()
            .filter_map(|folder| Some((i64::from(number_of(folder, 4)?), folder)))
            .filter(|(year, _)| in_range((*year, 1, 1), (*year, 12, 31)))
            .collect();
        let mut months = Vec::new();
        let listed = concurrently(&years, |(_, folder)| self.store.list_level(folder))?;
        for ((year, _), (folders, objects)) in years.iter().zip(listed) {
            found.extend(objects);
            months.extend(folders.into_iter().map(|folder| (*year, folder)));
        }
        // Folders that are not months are listed whole, as before.
        let (months, odd): (Vec<_>, Vec<_>) = months
            .into_iter()
            .partition(|(_, folder)| number_of(folder, 2).is_some());
        let months: Vec<(i64, u32, String)> = months
            .into_iter()
            .filter_map(|(year, folder)| Some((year, number_of(&folder, 2)?, folder)))
            .filter(|(year, month, _)| in_range((*year, *month, 1), (*year, *month, 31)))
            .collect();
        let mut day_folders: Vec<String> = odd.into_iter().map(|(_, folder)| folder).collect();
        let listed = concurrently(&months, |(_, _, folder)| self.store.list_level(folder))?;
        for ((year, month, _), (folders, objects)) in months.iter().zip(listed) {
            found.extend(objects);
            day_folders.extend(folders.into_iter().filter(|folder| {
                number_of(folder, 2)
                    .is_none_or(|day| in_range((*year, *month, day), (*year, *month, day)))
            }));
        }
        tracing::debug!(
            folders = day_folders.len(),
            "listing the day folders of the window"
        );
        for listed in concurrently(&day_folders, |folder| self.store.list(folder))? {
            found.extend(listed);
        }
        Ok(())
    }
}

/// Listings made at once while walking a layout.
const LISTINGS_AT_ONCE: usize = 16;

/// `list` applied to every item, up to [`LISTINGS_AT_ONCE`] at a time; results in item order,
/// the first error if any.
fn concurrently<T: Sync, R: Send>(
    items: &[T],
    list: impl Fn(&T) -> Result<R, StorageError> + Sync,
) -> Result<Vec<R>, StorageError> {
    if items.len() <= 1 {
        return items.iter().map(list).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<R, StorageError>>>> =
        items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..LISTINGS_AT_ONCE.min(items.len()) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    let result = list(item);
                    let failed = result.is_err();
                    *results[index].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                    if failed {
                        // Later items are not needed: the walk fails with this error.
                        next.store(items.len(), Ordering::Relaxed);
                        break;
                    }
                }
            });
        }
    });
    // Items are taken in order, so any item left unlisted comes after the one that failed.
    let mut listed = Vec::with_capacity(items.len());
    for slot in results {
        match slot.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(Ok(value)) => listed.push(value),
            Some(Err(error)) => return Err(error),
            None => {
                return Err(StorageError::Internal(
                    "a listing was skipped without an error".into(),
                ));
            }
        }
    }
    Ok(listed)
}

/// The number a folder key's last segment holds (or, Hive-style, its value: `year=2024`),
/// if it is exactly `digits` digits.
fn number_of(folder: &str, digits: usize) -> Option<u32> {
    let name = date_folder_value(folder.trim_end_matches('/').rsplit('/').next()?);
    (name.len() == digits && name.bytes().all(|b| b.is_ascii_digit()))
        .then(|| name.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_of_another_size_than_listed_is_an_error_naming_the_object() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        store.put("a.log", b"one line\n".to_vec()).unwrap();
        let source = RemoteSource::new(store);
        assert_eq!(&source.read_listed("a.log", 9).unwrap()[..], b"one line\n");
        let error = source.read_listed("a.log", 4).unwrap_err();
        assert!(matches!(error, StorageError::Changed { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .contains("9 bytes where the listing found 4"),
            "{error}"
        );
    }
}
