//! A sorted set of URLs held front-coded: each URL as the number of bytes it shares with the one
//! before it and the bytes that follow. The URLs of one source share most of their length with
//! their neighbours (bucket, prefix, account, region, date folders, and the first half of the
//! file name, which repeats them), so a million of them take a fraction of their own length,
//! where a map held each one whole in an allocation of its own. Every [`RESTART`]-th URL is held
//! whole, so finding one binary-searches those and decodes at most [`RESTART`] more.
//!
//! Invariants: the URLs are strictly ascending in byte order (which is `str` order), and each
//! is the bytes of a `str`. A set is built once, in order, and never changed; a ledger that
//! gains objects builds a new one by merging (see `objects.rs`).
//!
//! Why not the `fst` crate, which compresses suffixes too: a ledger's chunks of URLs are rebuilt
//! whenever a commit adds objects to them, and checkpoints decode every URL in order.
//! Front coding builds and decodes at the speed of copying; an FST's builder minimises its
//! automaton as it goes, and a lookup walks one transition per byte.

use std::cmp::Ordering;

/// URLs between two held whole.
const RESTART: usize = 16;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct SortedUrls {
    /// Per URL: the length shared with the URL before (LEB128; 0 at a restart), the length of
    /// the rest (LEB128), the rest.
    bytes: Box<[u8]>,
    /// Where in `bytes` URL 0, RESTART, 2 × RESTART, … begin.
    restarts: Box<[usize]>,
    len: usize,
}

impl SortedUrls {
    pub fn builder() -> SortedUrlsBuilder {
        SortedUrlsBuilder::default()
    }

    /// The set of `urls`, which must be strictly ascending; `None` if they are not.
    pub fn from_sorted<'a>(urls: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let mut builder = Self::builder();
        for url in urls {
            if !builder.push(url.as_bytes()) {
                return None;
            }
        }
        Some(builder.finish())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The position of `url` in the set.
    pub fn position(&self, url: &str) -> Option<usize> {
        let target = url.as_bytes();
        // The last restart at or before `target`.
        let block = self
            .restarts
            .partition_point(|&offset| self.whole_at(offset) <= target)
            .checked_sub(1)?;
        let mut cursor = Cursor::at_restart(self, block);
        while let Some(key) = cursor.current() {
            match key.cmp(target) {
                Ordering::Less => cursor.advance(),
                Ordering::Equal => return Some(cursor.index()),
                Ordering::Greater => return None,
            }
            if cursor.index().is_multiple_of(RESTART) {
                return None;
            }
        }
        None
    }

    /// The first URL's bytes.
    pub fn first(&self) -> Option<&[u8]> {
        self.restarts.first().map(|&offset| self.whole_at(offset))
    }

    pub fn contains(&self, url: &str) -> bool {
        self.position(url).is_some()
    }

    /// The URLs in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            cursor: self.cursor(),
        }
    }

    /// A cursor on the first URL, which lends each URL's bytes without copying them.
    pub fn cursor(&self) -> Cursor<'_> {
        Cursor::at_restart(self, 0)
    }

    /// Bytes held.
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        self.bytes.len() + self.restarts.len() * size_of::<usize>()
    }

    /// The URL held whole at `offset` (a restart).
    fn whole_at(&self, offset: usize) -> &[u8] {
        let mut at = offset;
        let _shared = read_length(&self.bytes, &mut at);
        let rest = read_length(&self.bytes, &mut at);
        &self.bytes[at..at + rest]
    }
}

impl std::fmt::Debug for SortedUrls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Builds a [`SortedUrls`] from URLs in ascending order.
#[derive(Default)]
pub struct SortedUrlsBuilder {
    bytes: Vec<u8>,
    restarts: Vec<usize>,
    len: usize,
    last: Vec<u8>,
}

impl SortedUrlsBuilder {
    /// Appends `url` (the bytes of a `str`); `false`, and nothing appended, unless it comes
    /// after every URL already in.
    pub fn push(&mut self, url: &[u8]) -> bool {
        if self.len > 0 && url <= self.last.as_slice() {
            return false;
        }
        let shared = if self.len.is_multiple_of(RESTART) {
            self.restarts.push(self.bytes.len());
            0
        } else {
            self.last
                .iter()
                .zip(url)
                .take_while(|(a, b)| a == b)
                .count()
        };
        write_length(&mut self.bytes, shared);
        write_length(&mut self.bytes, url.len() - shared);
        self.bytes.extend_from_slice(&url[shared..]);
        self.last.truncate(shared);
        self.last.extend_from_slice(&url[shared..]);
        self.len += 1;
        true
    }

    pub fn finish(self) -> SortedUrls {
        SortedUrls {
            bytes: self.bytes.into_boxed_slice(),
            restarts: self.restarts.into_boxed_slice(),
            len: self.len,
        }
    }
}

/// Walks a set in order, holding the current URL decoded.
pub struct Cursor<'a> {
    urls: &'a SortedUrls,
    /// Where the next URL's encoding begins.
    next: usize,
    index: usize,
    key: Vec<u8>,
}

impl<'a> Cursor<'a> {
    fn at_restart(urls: &'a SortedUrls, block: usize) -> Self {
        let mut cursor = Cursor {
            urls,
            next: urls
                .restarts
                .get(block)
                .copied()
                .unwrap_or(urls.bytes.len()),
            index: block * RESTART,
            key: Vec::new(),
        };
        cursor.decode();
        cursor
    }

    /// The current URL's bytes; `None` past the last.
    pub fn current(&self) -> Option<&[u8]> {
        (self.index < self.urls.len).then_some(self.key.as_slice())
    }

    /// The current URL's position in the set.
    pub fn index(&self) -> usize {
        self.index
    }

    pub fn advance(&mut self) {
        if self.index < self.urls.len {
            self.index += 1;
            self.decode();
        }
    }

    fn decode(&mut self) {
        if self.index >= self.urls.len {
            return;
        }
        let bytes = &self.urls.bytes;
        let shared = read_length(bytes, &mut self.next);
        let rest = read_length(bytes, &mut self.next);
        self.key.truncate(shared);
        self.key
            .extend_from_slice(&bytes[self.next..self.next + rest]);
        self.next += rest;
    }
}

/// The URLs of a set, in order, each as its own `String`.
pub struct Iter<'a> {
    cursor: Cursor<'a>,
}

impl Iterator for Iter<'_> {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        let url = owned(self.cursor.current()?);
        self.cursor.advance();
        Some(url)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.cursor.urls.len - self.cursor.index;
        (left, Some(left))
    }
}

/// A URL's bytes as a `String`; they are always a `str`'s, as they came from one.
fn owned(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write_length(bytes: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        bytes.push((n as u8) | 0x80);
        n >>= 7;
    }
    bytes.push(n as u8);
}

fn read_length(bytes: &[u8], at: &mut usize) -> usize {
    let mut n = 0;
    let mut shift = 0;
    loop {
        let byte = bytes[*at];
        *at += 1;
        n |= usize::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return n;
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// URLs as a ledger holds them: long shared folders, file names that differ late, some
    /// multi-byte characters, one long enough for a two-byte length.
    fn urls(count: usize) -> Vec<String> {
        let mut urls: Vec<String> = (0..count)
            .map(|i| {
                format!(
                    "s3://bucket/AWSLogs/1234/elasticloadbalancing/eu-west-1/2026/12/{:02}/1234_elb_{}_é{:05}.log.gz",
                    i % 7,
                    i % 3,
                    i * 7919 % 100_003
                )
            })
            .collect();
        urls.push(format!("s3://bucket/{}", "x".repeat(300)));
        urls.push("file:///a".to_owned());
        urls.sort();
        urls.dedup();
        urls
    }

    #[test]
    fn a_set_gives_back_its_urls_in_order_and_finds_each_at_its_position() {
        for count in [0, 1, 15, 16, 17, 33, 1000] {
            let urls = urls(count);
            let set = SortedUrls::from_sorted(urls.iter().map(String::as_str)).unwrap();
            assert_eq!(set.len(), urls.len());
            assert_eq!(set.iter().collect::<Vec<_>>(), urls, "{count}");
            for (i, url) in urls.iter().enumerate() {
                assert_eq!(set.position(url), Some(i), "{url}");
            }
            // Before the first, after the last, between two, a prefix of one, one extended.
            let absent = [
                String::new(),
                "a".to_owned(),
                "zzz".to_owned(),
                format!("{}0", urls.first().cloned().unwrap_or_default()),
                urls.last()
                    .map(|u| u[..u.len() - 1].to_owned())
                    .unwrap_or_default(),
            ];
            for url in absent.iter().filter(|u| !urls.contains(u)) {
                assert_eq!(set.position(url), None, "{url}");
            }
        }
    }

    #[test]
    fn a_set_holds_a_fraction_of_its_urls_bytes() {
        let urls = urls(10_000);
        let set = SortedUrls::from_sorted(urls.iter().map(String::as_str)).unwrap();
        let whole: usize = urls.iter().map(String::len).sum();
        assert!(
            set.heap_bytes() * 3 < whole,
            "{} of {whole}",
            set.heap_bytes()
        );
    }

    #[test]
    fn urls_out_of_order_or_repeated_are_refused() {
        assert!(SortedUrls::from_sorted(["s3://b/2", "s3://b/1"]).is_none());
        assert!(SortedUrls::from_sorted(["s3://b/1", "s3://b/1"]).is_none());
        let mut builder = SortedUrls::builder();
        assert!(builder.push(b"s3://b/1"));
        assert!(!builder.push(b"s3://b/0"));
        assert!(builder.push(b"s3://b/10"));
        assert_eq!(
            builder.finish().iter().collect::<Vec<_>>(),
            ["s3://b/1", "s3://b/10"]
        );
    }
}
