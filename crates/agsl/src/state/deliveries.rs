//! AWS deliveries, whatever URL they are listed under. The ledger knows objects by URL, so the
//! same delivery under two URLs (a replica bucket made the source, a backup folder inside the
//! source, a second source holding copies) would convert once per URL and put its rows in the
//! table twice. A delivery is told by its key from `AWSLogs/` on, which names the account,
//! service, region, day and a file name unique to the delivery, together with its size. Keys
//! without `AWSLogs/` (CloudFront, S3 access logs, files named by hand) are never taken for
//! copies: their names alone do not say they are the same delivery.
//!
//! Memory follows the ledger: 8 bytes per object for the hashes a run checks new objects
//! against ([`Deliveries`]), 16 for the (hash, slot) pairs `verify` sorts, then the URLs of
//! the few objects whose hashes meet. Keys are always compared as text before two objects are
//! called one delivery: two deliveries that merely share a hash are never taken for copies.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use super::{Ledger, Slot};

/// The folder where an AWS delivery's own key begins in a URL.
const DELIVERY_FOLDER: &str = "/AWSLogs/";

/// The hashes of the deliveries the ledger holds converted (some event time of them), to tell
/// whether an object it does not hold by URL may be a copy of one.
pub struct Deliveries {
    hashes: Vec<u64>,
}

impl Deliveries {
    pub fn of(ledger: &Ledger) -> Self {
        let mut hashes = Vec::new();
        ledger.objects.for_each(|url, entry| {
            if let Some(key) = delivery_bytes(url)
                && !entry.covered.is_empty()
            {
                hashes.push(identity_hash(key, entry.size));
            }
        });
        hashes.sort_unstable();
        hashes.dedup();
        Deliveries { hashes }
    }

    /// Whether the ledger may hold the delivery whose [`delivery_hash`] is `hash` under another
    /// URL; comparing the keys ([`for_each_converted`]) tells for certain.
    pub fn may_hold(&self, hash: u64) -> bool {
        self.hashes.binary_search(&hash).is_ok()
    }
}

/// The hash of the delivery of `url`, `size` bytes long; `None` for a key without `AWSLogs/`.
pub fn delivery_hash(url: &str, size: u64) -> Option<u64> {
    delivery_bytes(url.as_bytes()).map(|key| identity_hash(key, size))
}

/// Calls `f` with the hash, the key from `AWSLogs/` on and the URL of every delivery the ledger
/// holds converted (some event time of it), in URL order, copying no URL.
pub fn for_each_converted(ledger: &Ledger, mut f: impl FnMut(u64, &str, &str)) {
    ledger.objects.for_each(|url, entry| {
        let Ok(url) = std::str::from_utf8(url) else {
            return;
        };
        if let Some(key) = delivery(url)
            && !entry.covered.is_empty()
        {
            f(identity_hash(key.as_bytes(), entry.size), key, url);
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
                identity_hash(delivery_bytes(url.as_bytes())?, entry.size),
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
        if let Some(key) = delivery(&url) {
            groups
                .entry((key.to_owned(), entry.size))
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

/// The delivery's own key in `url`: from the last `AWSLogs/` folder on.
pub fn delivery(url: &str) -> Option<&str> {
    let key = delivery_bytes(url.as_bytes())?;
    Some(&url[url.len() - key.len()..])
}

fn delivery_bytes(url: &[u8]) -> Option<&[u8]> {
    let start = memchr::memmem::rfind(url, DELIVERY_FOLDER.as_bytes())? + 1;
    let key = &url[start..];
    (key.len() > DELIVERY_FOLDER.len() - 1).then_some(key)
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
    fn a_delivery_is_its_key_from_the_awslogs_folder_on() {
        let key = "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/03/07/x.log.gz";
        assert_eq!(delivery(&format!("s3://logs/{key}")), Some(key));
        assert_eq!(delivery(&format!("s3://central/org/copy/{key}")), Some(key));
        assert_eq!(delivery(&format!("file:///data/{key}")), Some(key));
        assert_eq!(
            delivery("s3://logs/cdn/E2ABC.2024-03-07-23.a1b2c3d4.gz"),
            None
        );
        assert_eq!(delivery("s3://logs/AWSLogs/"), None);
        // Not a folder named so.
        assert_eq!(delivery("s3://logs/myAWSLogs/123/x.gz"), None);
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
        assert_eq!(delivery_hash(url, 10), Some(identity_hash(key, 10)));
    }
}
