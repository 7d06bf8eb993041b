//! AWS deliveries, whatever URL they are listed under. The ledger knows objects by URL, so the
//! same delivery under two URLs (a replica bucket made the source, a backup folder inside the
//! source, a second source holding copies) would convert once per URL and put its rows in the
//! table twice. A delivery is told by its key ([`agsl_formats::delivery::delivery_key`]: from
//! `AWSLogs/` on, else a file name AWS gives one delivery alone, as CloudFront's, S3 access
//! logs' and Firehose's are) together with its size. Files named by hand are never taken for
//! copies: their names alone do not say they are the same delivery.
//!
//! Memory follows the ledger: 8 bytes per object for the hashes a run checks new objects
//! against ([`Deliveries`]), 16 for the (hash, slot) pairs `verify` sorts, then the URLs of
//! the few objects whose hashes meet. Keys are always compared as text before two objects are
//! called one delivery: two deliveries that merely share a hash are never taken for copies.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use agsl_formats::delivery::delivery_key;

use super::{Ledger, Slot};

/// The AWS delivery an object's URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery<'u> {
    /// The delivery's own key, a suffix of the URL.
    pub key: &'u str,
    /// The hash of the key and the object's size, as [`Deliveries`] holds them.
    pub hash: u64,
}

/// The delivery of `url`, `size` bytes long; `None` for a URL that names none.
pub fn delivery(url: &str, size: u64) -> Option<Delivery<'_>> {
    let key = delivery_key(url.as_bytes())?;
    Some(Delivery {
        key: &url[url.len() - key.len()..],
        hash: identity_hash(key, size),
    })
}

/// The hashes of the deliveries the ledger holds converted (some event time of them), to tell
/// whether an object it does not hold by URL may be a copy of one.
pub struct Deliveries {
    hashes: Vec<u64>,
}

impl Deliveries {
    pub fn of(ledger: &Ledger) -> Self {
        let mut hashes = Vec::new();
        ledger.objects.for_each(|url, entry| {
            if let Some(key) = delivery_key(url)
                && !entry.covered.is_empty()
            {
                hashes.push(identity_hash(key, entry.size));
            }
        });
        hashes.sort_unstable();
        hashes.dedup();
        Deliveries { hashes }
    }

    /// Whether the ledger may hold the delivery whose hash ([`Delivery::hash`]) is `hash` under
    /// another URL; comparing the keys ([`for_each_converted`]) tells for certain.
    pub fn may_hold(&self, hash: u64) -> bool {
        self.hashes.binary_search(&hash).is_ok()
    }
}

/// Calls `f` with the delivery and the URL of every delivery the ledger holds converted (some
/// event time of it), in URL order, copying no URL.
pub fn for_each_converted(ledger: &Ledger, mut f: impl FnMut(Delivery<'_>, &str)) {
    ledger.objects.for_each(|url, entry| {
        let Ok(url) = std::str::from_utf8(url) else {
            return;
        };
        if !entry.covered.is_empty()
            && let Some(delivery) = delivery(url, entry.size)
        {
            f(delivery, url);
        }
    });
}

/// Groups of two or more URLs the ledger holds for one AWS delivery, each group sorted, the
/// groups in the order of their first URL.
pub fn converted_copies(ledger: &Ledger) -> Vec<Vec<String>> {
    let mut hashes: Vec<(u64, Slot)> = ledger
        .objects
        .iter_with_slots()
        .filter_map(|(slot, url, entry)| {
            Some((
                identity_hash(delivery_key(url.as_bytes())?, entry.size),
                slot,
            ))
        })
        .collect();
    hashes.sort_unstable();
    let meeting: BTreeSet<Slot> = hashes
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|run| run.len() > 1)
        .flat_map(|run| run.iter().map(|&(_, slot)| slot))
        .collect();
    if meeting.is_empty() {
        return Vec::new();
    }
    let mut groups: BTreeMap<(String, u64), Vec<String>> = BTreeMap::new();
    for (slot, url, entry) in ledger.objects.iter_with_slots() {
        if !meeting.contains(&slot) {
            continue;
        }
        if let Some(delivery) = delivery(&url, entry.size) {
            groups
                .entry((delivery.key.to_owned(), entry.size))
                .or_default()
                .push(url);
        }
    }
    let mut copies: Vec<Vec<String>> = groups
        .into_values()
        .filter(|urls| urls.len() > 1)
        .map(|mut urls| {
            urls.sort();
            urls
        })
        .collect();
    copies.sort();
    copies
}

fn identity_hash(key: &[u8], size: u64) -> u64 {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    size.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_is_named_by_the_end_of_its_url() {
        let key = "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/03/07/x.log.gz";
        fn of(url: &str) -> Option<&str> {
            delivery(url, 10).map(|d| d.key)
        }
        assert_eq!(of(&format!("s3://central/org/copy/{key}")), Some(key));
        assert_eq!(of(&format!("file:///data/{key}")), Some(key));
        let cloudfront = "E2ABC.2024-03-07-23.a1b2c3d4.gz";
        assert_eq!(of(&format!("s3://logs/cdn/{cloudfront}")), Some(cloudfront));
        assert_eq!(of("file:///data/access.log"), None);
    }

    #[test]
    fn the_hash_tells_keys_and_sizes_apart() {
        let key = "AWSLogs/1/elasticloadbalancing/r/2024/03/07/x.log.gz";
        let other = key.replace('x', "y");
        let (key, other) = (key.as_bytes(), other.as_bytes());
        assert_eq!(identity_hash(key, 10), identity_hash(key, 10));
        assert_ne!(identity_hash(key, 10), identity_hash(key, 11));
        assert_ne!(identity_hash(key, 10), identity_hash(other, 10));
        // The hash a run checks a listed URL by is the one the ledger's URLs give.
        let url = "s3://replica/AWSLogs/1/elasticloadbalancing/r/2024/03/07/x.log.gz";
        assert_eq!(
            delivery(url, 10).map(|d| d.hash),
            Some(identity_hash(key, 10))
        );
    }
}
