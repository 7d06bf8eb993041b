//! Objects converted from two places. The ledger knows objects by URL, so the same AWS
//! delivery under two URLs (a replica bucket made the source, a backup folder inside the
//! source, a second source holding copies) is converted once per URL and its rows are in
//! the table twice. An AWS delivery is told by its key from `AWSLogs/` on, which names the
//! account, service, region, day and a file name unique to the delivery, together with its
//! size. Keys without `AWSLogs/` (CloudFront, S3 access logs, files named by hand) are not
//! compared: their names alone do not say they are the same delivery.
//!
//! Memory follows the ledger: 16 bytes per object for the (hash, slot) pairs, then the URLs
//! of the few objects whose hashes meet, whose keys are compared as text: two deliveries that
//! merely share a hash are never reported.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::state::{Ledger, Slot};

/// The folder where an AWS delivery's own key begins in a URL.
const DELIVERY_FOLDER: &str = "/AWSLogs/";

/// Groups of two or more URLs the ledger holds for one AWS delivery, each group sorted, the
/// groups in the order of their first URL.
pub(super) fn converted_copies(ledger: &Ledger) -> Vec<Vec<String>> {
    let mut hashes: Vec<(u64, Slot)> = ledger
        .objects
        .iter_with_slots()
        .filter_map(|(slot, url, entry)| Some((identity_hash(delivery(&url)?, entry.size), slot)))
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
fn delivery(url: &str) -> Option<&str> {
    let start = url.rfind(DELIVERY_FOLDER)? + 1;
    let key = &url[start..];
    (key.len() > DELIVERY_FOLDER.len() - 1).then_some(key)
}

fn identity_hash(key: &str, size: u64) -> u64 {
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
        assert_eq!(identity_hash(key, 10), identity_hash(key, 10));
        assert_ne!(identity_hash(key, 10), identity_hash(key, 11));
        assert_ne!(
            identity_hash(key, 10),
            identity_hash(&key.replace('x', "y"), 10)
        );
    }
}
