//! The ledger's objects by URL: what each converted source object's size and event-time spans
//! were. A target can hold millions, so the URLs are held front-coded ([`SortedUrls`], a
//! fraction of their length) in chunks of at most [`CHUNK_MAX`], and the entries in one vector
//! by slot, instead of a map node and an allocation per URL. Objects a commit adds are merged
//! into the chunks they fall in, which are rebuilt (and split in two when full): the work and
//! the memory of a commit follow its objects, not the ledger's size.
//!
//! Invariants: chunks are in URL order, disjoint and never empty; a URL is in one chunk at most;
//! `entries[slot]` is the entry of the URL whose chunk names that slot, or `None` once the
//! object was removed (its URL is dropped when its chunk is next rebuilt; if it comes back
//! before, it takes its slot again; a slot is never given to another object, so one removed
//! for good keeps its 40 bytes); `live` counts the entries that are not `None`.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::ledger::ObjectEntry;
use super::urls::{SortedUrls, SortedUrlsBuilder};

/// URLs in a chunk at most; a fuller one is split. Adding an object rebuilds its chunk (about
/// 30 bytes a URL), so the bound keeps a commit's work small; a million objects take about
/// 500 to 1,000 chunks.
const CHUNK_MAX: usize = 2048;

/// The objects of a ledger, by URL.
#[derive(Clone, Default)]
pub struct Objects {
    chunks: Vec<Chunk>,
    entries: Vec<Option<ObjectEntry>>,
    live: usize,
}

/// Where an object's entry is held: a number below [`Objects::slots`], the same for the same
/// object until it is removed. `verify` marks the objects it lists by slot.
pub type Slot = usize;

/// Consecutive URLs of the ledger and their slots.
#[derive(Clone, Default)]
struct Chunk {
    urls: SortedUrls,
    /// By position in `urls`.
    slots: Box<[Slot]>,
}

impl Chunk {
    /// The chunk of the URLs and slots gathered so far, leaving both empty for the next.
    fn taken(urls: &mut SortedUrlsBuilder, slots: &mut Vec<Slot>) -> Self {
        Chunk {
            urls: std::mem::take(urls).finish(),
            slots: std::mem::take(slots).into_boxed_slice(),
        }
    }
}

impl Objects {
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// One more than the highest slot.
    pub fn slots(&self) -> usize {
        self.entries.len()
    }

    pub fn get(&self, url: &str) -> Option<&ObjectEntry> {
        self.slot(url).map(|(_, entry)| entry)
    }

    pub fn contains_key(&self, url: &str) -> bool {
        self.slot(url).is_some()
    }

    /// The object's slot and entry.
    pub fn slot(&self, url: &str) -> Option<(Slot, &ObjectEntry)> {
        let slot = self.find(url)?;
        Some((slot, self.entries[slot].as_ref()?))
    }

    pub(super) fn get_mut(&mut self, url: &str) -> Option<&mut ObjectEntry> {
        let slot = self.find(url)?;
        self.entries[slot].as_mut()
    }

    pub(super) fn remove(&mut self, url: &str) {
        if let Some(slot) = self.find(url)
            && self.entries[slot].take().is_some()
        {
            self.live -= 1;
        }
    }

    /// Adds objects the ledger does not hold: sorted by URL, each URL once (a removed one may
    /// come back).
    pub(super) fn add(&mut self, new: Vec<(String, ObjectEntry)>) {
        let mut fresh: Vec<(String, Slot)> = Vec::new();
        for (url, entry) in new {
            if let Some(slot) = self.find(&url) {
                if self.entries[slot].replace(entry).is_none() {
                    self.live += 1;
                }
                continue;
            }
            fresh.push((url, self.new_slot(entry)));
        }
        // From the last chunk concerned to the first, so the indexes of those before hold.
        let mut end = fresh.len();
        while end > 0 {
            let at = self.chunk_of(fresh[end - 1].0.as_bytes());
            let start = match self.chunks.get(at).and_then(|chunk| chunk.urls.first()) {
                Some(first) if at > 0 => {
                    fresh[..end].partition_point(|(url, _)| url.as_bytes() < first)
                }
                _ => 0,
            };
            let rebuilt = merged(self.chunks.get(at), &fresh[start..end], &self.entries);
            let replaced = at..(at + 1).min(self.chunks.len());
            self.chunks.splice(replaced, rebuilt);
            end = start;
        }
    }

    /// Takes a slot for a new object's entry. The vector grows by an eighth, not twice over
    /// (a large one is moved by remapping its pages, not copied).
    fn new_slot(&mut self, entry: ObjectEntry) -> Slot {
        if self.entries.len() == self.entries.capacity() {
            self.entries
                .reserve_exact((self.entries.len() / 8).max(1024));
        }
        self.entries.push(Some(entry));
        self.live += 1;
        self.entries.len() - 1
    }

    /// The objects in URL order, each URL as its own `String`.
    pub fn iter(&self) -> impl Iterator<Item = (String, &ObjectEntry)> {
        self.iter_with_slots().map(|(_, url, entry)| (url, entry))
    }

    /// The objects in URL order, with their slots.
    pub fn iter_with_slots(&self) -> impl Iterator<Item = (Slot, String, &ObjectEntry)> {
        self.chunks.iter().flat_map(move |chunk| {
            chunk
                .urls
                .iter()
                .zip(chunk.slots.iter())
                .filter_map(move |(url, &slot)| Some((slot, url, self.entries[slot].as_ref()?)))
        })
    }

    /// Calls `f` with each object's URL (lent, not copied: a pass over a million objects
    /// allocates nothing) and entry, in URL order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8], &ObjectEntry)) {
        for chunk in &self.chunks {
            let mut cursor = chunk.urls.cursor();
            while let Some(url) = cursor.current() {
                if let Some(entry) = &self.entries[chunk.slots[cursor.index()]] {
                    f(url, entry);
                }
                cursor.advance();
            }
        }
    }

    /// The URLs in order.
    pub fn keys(&self) -> impl Iterator<Item = String> {
        self.iter().map(|(url, _)| url)
    }

    /// The chunk that holds `url` or would: the last whose first URL is not after it.
    fn chunk_of(&self, url: &[u8]) -> usize {
        self.chunks
            .partition_point(|chunk| chunk.urls.first().is_some_and(|first| first <= url))
            .saturating_sub(1)
    }

    /// Where `url` is held, removed or not.
    fn find(&self, url: &str) -> Option<Slot> {
        let chunk = self.chunks.get(self.chunk_of(url.as_bytes()))?;
        chunk.urls.position(url).map(|at| chunk.slots[at])
    }
}

/// `chunk` (if any) with `fresh` merged in and its removed objects left out, as one chunk or,
/// past [`CHUNK_MAX`], as several of equal size.
fn merged(
    chunk: Option<&Chunk>,
    fresh: &[(String, Slot)],
    entries: &[Option<ObjectEntry>],
) -> Vec<Chunk> {
    let held = chunk.map_or(0, |chunk| {
        chunk
            .slots
            .iter()
            .filter(|&&slot| entries[slot].is_some())
            .count()
    });
    let mut pieces = Pieces::new(held + fresh.len());
    let mut fresh = fresh.iter().peekable();
    if let Some(chunk) = chunk {
        let mut cursor = chunk.urls.cursor();
        while let Some(url) = cursor.current() {
            while let Some((new, slot)) = fresh.next_if(|(new, _)| new.as_bytes() < url) {
                pieces.push(new.as_bytes(), *slot);
            }
            let slot = chunk.slots[cursor.index()];
            if entries[slot].is_some() {
                pieces.push(url, slot);
            }
            cursor.advance();
        }
    }
    for (url, slot) in fresh {
        pieces.push(url.as_bytes(), *slot);
    }
    pieces.chunks
}

/// Chunks of about equal size, at most [`CHUNK_MAX`], built from `total` URLs in order.
struct Pieces {
    chunks: Vec<Chunk>,
    urls: SortedUrlsBuilder,
    slots: Vec<Slot>,
    /// URLs not yet in a closed chunk, and the chunks they make.
    left: usize,
    pieces: usize,
}

impl Pieces {
    fn new(total: usize) -> Self {
        let pieces = total.div_ceil(CHUNK_MAX);
        Pieces {
            chunks: Vec::with_capacity(pieces),
            urls: SortedUrls::builder(),
            slots: Vec::new(),
            left: total,
            pieces,
        }
    }

    fn push(&mut self, url: &[u8], slot: Slot) {
        self.urls.push(url);
        self.slots.push(slot);
        if self.slots.len() == self.left.div_ceil(self.pieces.max(1)) {
            self.left -= self.slots.len();
            self.pieces = self.pieces.saturating_sub(1);
            self.chunks
                .push(Chunk::taken(&mut self.urls, &mut self.slots));
        }
    }
}

impl PartialEq for Objects {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for Objects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Builds the objects of a checkpoint as they are read. A checkpoint lists them in URL order,
/// so they go straight into full chunks; any out of order (not written by agsl) are added
/// afterwards, a later entry for a URL winning as in a map read entry by entry.
#[derive(Default)]
struct ObjectsReader {
    objects: Objects,
    urls: SortedUrlsBuilder,
    slots: Vec<Slot>,
    last: String,
    out_of_order: Vec<(String, ObjectEntry)>,
}

impl ObjectsReader {
    fn push(&mut self, url: String, entry: ObjectEntry) {
        let after_last = self.objects.is_empty() || url > self.last;
        if after_last {
            if self.slots.len() == CHUNK_MAX {
                self.close_chunk();
            }
            self.urls.push(url.as_bytes());
            self.slots.push(self.objects.new_slot(entry));
            self.last = url;
        } else if url == self.last {
            if let Some(held) = self.objects.entries.last_mut() {
                *held = Some(entry);
            }
        } else {
            self.out_of_order.push((url, entry));
        }
    }

    fn close_chunk(&mut self) {
        if !self.slots.is_empty() {
            let chunk = Chunk::taken(&mut self.urls, &mut self.slots);
            self.objects.chunks.push(chunk);
        }
    }

    fn finish(mut self) -> Objects {
        self.close_chunk();
        let mut objects = self.objects;
        // The last entry of each URL, in URL order.
        let late: std::collections::BTreeMap<String, ObjectEntry> =
            self.out_of_order.into_iter().collect();
        if !late.is_empty() {
            objects.add(late.into_iter().collect());
        }
        objects
    }
}

impl Serialize for Objects {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Objects {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectsVisitor)
    }
}

struct ObjectsVisitor;

impl<'de> Visitor<'de> for ObjectsVisitor {
    type Value = Objects;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the ledger's objects by URL")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Objects, A::Error> {
        let mut reader = ObjectsReader::default();
        while let Some((url, entry)) = map.next_entry::<String, ObjectEntry>()? {
            reader.push(url, entry);
        }
        Ok(reader.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::Spans;

    fn entry(size: u64) -> ObjectEntry {
        ObjectEntry {
            size,
            covered: Spans::everything(),
        }
    }

    #[test]
    fn objects_changed_at_random_are_a_map_changed_the_same_way() {
        // Batches added and objects removed over 20,000 URLs, against a map; after each
        // change the chunks must be in order, disjoint, not empty and not over full.
        let mut objects = Objects::default();
        let mut model: std::collections::BTreeMap<String, ObjectEntry> = Default::default();
        let mut seed = 11_u64;
        let mut next = |below: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % below
        };
        for round in 0..300 {
            let mut batch: Vec<(String, ObjectEntry)> = (0..1 + next(400))
                .map(|_| {
                    let i = next(20_000);
                    (format!("s3://b/k/{:05}.gz", i), entry(i + round))
                })
                .filter(|(url, _)| !objects.contains_key(url))
                .collect();
            batch.sort_by(|a, b| a.0.cmp(&b.0));
            batch.dedup_by(|a, b| a.0 == b.0);
            for (url, e) in &batch {
                model.insert(url.clone(), e.clone());
            }
            objects.add(batch);
            for _ in 0..next(60) {
                let url = format!("s3://b/k/{:05}.gz", next(20_000));
                model.remove(&url);
                objects.remove(&url);
            }
            assert_eq!(objects.len(), model.len(), "round {round}");
            assert!(
                objects.iter().eq(model.iter().map(|(u, e)| (u.clone(), e))),
                "round {round}"
            );
            let bounds: Vec<(String, String)> = objects
                .chunks
                .iter()
                .map(|c| {
                    assert!(!c.urls.is_empty() && c.urls.len() <= CHUNK_MAX);
                    assert_eq!(c.slots.len(), c.urls.len());
                    let urls: Vec<String> = c.urls.iter().collect();
                    (urls[0].clone(), urls[urls.len() - 1].clone())
                })
                .collect();
            assert!(
                bounds.windows(2).all(|pair| pair[0].1 < pair[1].0),
                "round {round}"
            );
        }
        assert!(objects.chunks.len() > 4 && model.len() > 10_000);
        assert!(model.iter().all(|(url, e)| objects.get(url) == Some(e)));
    }

    #[test]
    fn each_object_has_its_own_slot_across_chunks() {
        let mut objects = Objects::default();
        // Enough for several chunks, added in commits of every size, out of order.
        let mut order: Vec<u64> = (0..5000).map(|i| i * 7919 % 5000).collect();
        while !order.is_empty() {
            let take = order.len().min(1 + order.len() % 700);
            let mut batch: Vec<(String, ObjectEntry)> = order
                .drain(..take)
                .map(|i| (format!("s3://b/{i:05}"), entry(i)))
                .collect();
            batch.sort_by(|a, b| a.0.cmp(&b.0));
            objects.add(batch);
        }
        assert!(objects.chunks.len() > 2);
        assert!(
            objects
                .chunks
                .iter()
                .all(|c| !c.urls.is_empty() && c.urls.len() <= CHUNK_MAX)
        );
        objects.remove("s3://b/00010");
        objects.remove("s3://b/04999");
        assert_eq!(objects.len(), 4998);

        let listed: Vec<(Slot, String)> = objects
            .iter_with_slots()
            .map(|(slot, url, _)| (slot, url))
            .collect();
        assert_eq!(listed.len(), 4998);
        assert!(listed.windows(2).all(|pair| pair[0].1 < pair[1].1));
        let slots: std::collections::BTreeSet<Slot> =
            listed.iter().map(|(slot, _)| *slot).collect();
        assert_eq!(slots.len(), 4998);
        for (slot, url) in &listed {
            assert!(*slot < objects.slots());
            assert_eq!(
                objects.slot(url).map(|(held, _)| held),
                Some(*slot),
                "{url}"
            );
            assert_eq!(
                objects
                    .get(url)
                    .map(|e| format!("s3://b/{:05}", e.size))
                    .as_ref(),
                Some(url)
            );
        }
        assert!(objects.get("s3://b/00010").is_none() && !objects.contains_key("s3://b/04999"));

        // A removed object that comes back before its chunk is rebuilt takes its slot again.
        let slot_of = |objects: &Objects, url: &str| objects.find(url);
        let old = slot_of(&objects, "s3://b/00010");
        objects.add(vec![("s3://b/00010".into(), entry(7))]);
        assert_eq!(objects.get("s3://b/00010").map(|e| e.size), Some(7));
        assert_eq!(slot_of(&objects, "s3://b/00010"), old);
        // One added beside a removed one rebuilds its chunk without it.
        objects.add(vec![("s3://b/04999x".into(), entry(1))]);
        assert_eq!(slot_of(&objects, "s3://b/04999"), None);
        assert_eq!(objects.len(), 5000);
    }
}
