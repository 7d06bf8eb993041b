//! An S3 prefix as a source. Listing is paginated by `object_store`; with a time window it is
//! narrowed to the date folders (`…/YYYY/MM/DD/`) the window needs, found by walking the layout
//! level by level (account, service, region folders are few), so a backfill of one week lists
//! one week of keys, not the bucket's whole history.

use bytes::Bytes;

use super::SourceObject;
use super::prefetch::{FetchOptions, Prefetch};
use crate::storage::{StorageError, Store, StoredObject};
use crate::window::{KeyDays, key_day};

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

    pub fn read(&self, key: &str) -> Result<Bytes, StorageError> {
        self.store.get(key)
    }

    /// Starts fetching `objects` (key and listed size) ahead of the workers.
    pub fn prefetch(&self, objects: Vec<(String, u64)>, options: FetchOptions) -> Prefetch {
        Prefetch::start(&self.store, objects, options)
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
            self.walk("", days, 0, &mut found)?;
        }
        let mut objects: Vec<SourceObject> = found
            .into_iter()
            .map(|o| SourceObject {
                key: o.key,
                size: o.size,
            })
            .collect();
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        objects.dedup();
        Ok(objects)
    }

    fn walk(
        &self,
        prefix: &str,
        days: &KeyDays,
        depth: usize,
        found: &mut Vec<StoredObject>,
    ) -> Result<(), StorageError> {
        let (folders, objects) = self.list_level(prefix, days)?;
        found.extend(objects);
        let is_year = |f: &String| number_of(f, 4).is_some();
        if !folders.is_empty() && folders.iter().all(is_year) {
            return self.walk_dates(&folders, days, found);
        }
        for folder in folders {
            if depth < MAX_WALK_DEPTH {
                self.walk(&folder, days, depth + 1, found)?;
            } else {
                found.extend(self.store.list(&folder)?);
            }
        }
        Ok(())
    }

    /// The folders and objects of one level. A level of date-named objects and no folders
    /// (S3 access logs' flat layout, `YYYY-MM-DD-hh-mm-ss-…`) is listed from the first day on
    /// with `start-after`, recognised from its first page.
    fn list_level(
        &self,
        prefix: &str,
        days: &KeyDays,
    ) -> Result<(Vec<String>, Vec<StoredObject>), StorageError> {
        let Some(first) = days.first else {
            return self.store.list_level(prefix);
        };
        let (folders, objects) = self.store.list_level_after(prefix, None, Some(PEEK_KEYS))?;
        let date_named = |o: &StoredObject| {
            let name = o.key.rsplit('/').next().unwrap_or_default();
            name.len() > 10
                && key_day(name).is_some()
                && name.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        };
        if folders.is_empty() && !objects.is_empty() && objects.iter().all(date_named) {
            let (year, month, day) = agsl_formats::time::civil_from_days(first);
            let after = format!("{year:04}-{month:02}-{day:02}");
            tracing::debug!(prefix, after, "listing a date-named level with start-after");
            return self.store.list_level_after(prefix, Some(&after), None);
        }
        self.store.list_level(prefix)
    }

    /// Lists the `YYYY/MM/DD` folders overlapping the key-day range.
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
        for year_folder in years {
            let Some(year) = number_of(year_folder, 4) else {
                continue;
            };
            let year = i64::from(year);
            if !in_range((year, 1, 1), (year, 12, 31)) {
                continue;
            }
            let (months, objects) = self.store.list_level(year_folder)?;
            found.extend(objects);
            for month_folder in months {
                let Some(month) = number_of(&month_folder, 2) else {
                    found.extend(self.store.list(&month_folder)?);
                    continue;
                };
                if !in_range((year, month, 1), (year, month, 31)) {
                    continue;
                }
                let (days, objects) = self.store.list_level(&month_folder)?;
                found.extend(objects);
                for day_folder in days {
                    let keep = number_of(&day_folder, 2)
                        .is_none_or(|day| in_range((year, month, day), (year, month, day)));
                    if keep {
                        found.extend(self.store.list(&day_folder)?);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The number a folder key's last segment holds, if it is exactly `digits` digits.
fn number_of(folder: &str, digits: usize) -> Option<u32> {
    let name = folder.trim_end_matches('/').rsplit('/').next()?;
    (name.len() == digits && name.bytes().all(|b| b.is_ascii_digit()))
        .then(|| name.parse().ok())
        .flatten()
}
