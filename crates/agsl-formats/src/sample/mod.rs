//! Deterministic, realistic sample logs in the layout AWS delivers them, for the demo, the
//! tests and the benchmarks. The generator records what it wrote (good and bad lines, a byte
//! sum, rows per day) so tests can check a conversion against facts the parser never saw.

pub(crate) mod load_balancer;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::Format;
use crate::time::MICROS_PER_DAY;

/// A small, fast, seedable generator (SplitMix64): no dependency, same output everywhere.
#[derive(Debug, Clone)]
pub struct SampleRng(u64);

impl SampleRng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A public-looking IPv4 address (first octet 1-222, last 1-254), its octets drawn in order.
    pub fn public_ipv4(&mut self) -> Ipv4Addr {
        let first = 1 + self.below(222) as u8;
        let second = self.below(256) as u8;
        let third = self.below(256) as u8;
        Ipv4Addr::new(first, second, third, 1 + self.below(254) as u8)
    }

    /// Appends `len` characters drawn from the ASCII `alphabet` (ids, hex, base64).
    pub fn push_text(&mut self, alphabet: &[u8], len: usize, out: &mut String) {
        for _ in 0..len {
            out.push(char::from(*self.pick(alphabet)));
        }
    }
}

/// How much to generate and from when.
#[derive(Debug, Clone)]
pub struct SamplePlan {
    pub seed: u64,
    /// End of the first 5-minute delivery interval, microseconds since the epoch.
    pub start_micros: i64,
    /// Objects to write; each covers one 5-minute interval of one LB node.
    pub objects: usize,
    pub lines_per_object: usize,
    /// Every n-th line is malformed (`None`: no bad lines).
    pub bad_line_every: Option<u64>,
}

impl Default for SamplePlan {
    fn default() -> Self {
        Self {
            seed: 42,
            // 2024-03-07T23:30:00Z: the default run crosses midnight, like real deliveries do.
            start_micros: crate::time::days_from_civil(2024, 3, 7) * MICROS_PER_DAY
                + 23 * 3_600_000_000
                + 30 * 60_000_000,
            objects: 24,
            lines_per_object: 2_000,
            bad_line_every: None,
        }
    }
}

impl SamplePlan {
    /// Whether the `line_number`-th line (1-based, counted over all objects) is a bad one.
    pub fn is_bad_line(&self, line_number: u64) -> bool {
        self.bad_line_every
            .is_some_and(|every| line_number.is_multiple_of(every))
    }
}

/// One generated object: its key in the AWS layout, its uncompressed body and what it holds.
#[derive(Debug, Clone)]
pub struct SampleObject {
    pub key: String,
    pub body: Vec<u8>,
    /// Whether AWS delivers this object gzip-compressed (ALB) or as plain text (Classic ELB).
    pub compressed: bool,
    pub facts: SampleFacts,
}

/// What a generator wrote, independent of any parser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SampleFacts {
    pub good_lines: u64,
    pub bad_lines: u64,
    /// Sum over good lines of the format's bytes-sent column
    /// ([`FormatInfo::bytes_sent_column`](crate::FormatInfo::bytes_sent_column)).
    pub sent_bytes: i64,
    /// Good lines per partition path (`region=.../year=.../month=.../day=...`).
    pub rows_per_partition: BTreeMap<String, u64>,
}

impl SampleFacts {
    /// Counts one good line with its bytes sent, in its partition.
    pub fn good_line(&mut self, sent_bytes: i64, partition: String) {
        self.good_lines += 1;
        self.sent_bytes += sent_bytes;
        *self.rows_per_partition.entry(partition).or_default() += 1;
    }

    pub fn add(&mut self, other: &SampleFacts) {
        self.good_lines += other.good_lines;
        self.bad_lines += other.bad_lines;
        self.sent_bytes += other.sent_bytes;
        for (partition, rows) in &other.rows_per_partition {
            *self
                .rows_per_partition
                .entry(partition.clone())
                .or_default() += rows;
        }
    }
}

/// Generates the objects of `plan` for `format`, one at a time so gigabytes stay cheap (each
/// format's generator lives in its own module: [`LogFormat::sample`](crate::LogFormat::sample)).
pub fn objects(format: Format, plan: SamplePlan) -> Box<dyn Iterator<Item = SampleObject> + Send> {
    format.parser().sample(plan)
}
