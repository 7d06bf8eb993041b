//! Counts by name (rows per source object, rejects per kind of reason, skipped objects per
//! reason), added up without copying a name that is counted already.

use std::collections::BTreeMap;

/// Adds `n` to the count of `key`.
pub(crate) fn add(counts: &mut BTreeMap<String, u64>, key: &str, n: u64) {
    match counts.get_mut(key) {
        Some(count) => *count += n,
        None => {
            counts.insert(key.to_owned(), n);
        }
    }
}

/// Adds every count of `more` into `counts`.
pub(crate) fn add_all(counts: &mut BTreeMap<String, u64>, more: &BTreeMap<String, u64>) {
    for (key, n) in more {
        add(counts, key, *n);
    }
}
