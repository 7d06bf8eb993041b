//! Time windows: which objects (by the date in their key) and which records (by event time) a
//! run converts, and the spans of event time each object has already been converted for. Keeping
//! spans per object is what makes windowed backfills and later runs add up to exactly once.

use agsl_formats::time::{MICROS_PER_DAY, days_from_civil, parse_iso8601_utc};
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{BooleanArray, RecordBatch};
use arrow_schema::ArrowError;
use serde::{Deserialize, Serialize};
use smallvec::{SmallVec, smallvec};

/// A half-open window `[since, until)` of event time in UTC microseconds; `None` is unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindow {
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl TimeWindow {
    /// Parses `--since`/`--until` values: a date (`2026-01-31`, midnight UTC) or RFC 3339
    /// (`2026-01-31T12:00:00Z`, `2026-01-31T12:00:00+02:00`).
    pub fn new(since: Option<&str>, until: Option<&str>) -> Result<Self, String> {
        let window = Self {
            since: since.map(parse_instant).transpose()?,
            until: until.map(parse_instant).transpose()?,
        };
        if let (Some(s), Some(u)) = (window.since, window.until)
            && s >= u
        {
            return Err("the window is empty: --since must be before --until".into());
        }
        Ok(window)
    }

    pub fn is_unbounded(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    pub fn spans(&self) -> Spans {
        Spans(smallvec![(
            self.since.unwrap_or(i64::MIN),
            self.until.unwrap_or(i64::MAX),
        )])
    }
}

/// The key days (days since 1970-01-01, both ends inclusive) whose objects a run lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyDays {
    pub first: Option<i64>,
    pub last: Option<i64>,
}

impl KeyDays {
    pub fn from(first: Option<i64>, last: Option<i64>) -> Self {
        Self { first, last }
    }

    /// The key days that may hold records in `window`. Objects are written after their
    /// records, so one day of slack on both sides catches records that cross midnight or
    /// arrive late; the records themselves are then filtered exactly.
    pub fn of(window: &TimeWindow) -> Self {
        Self {
            first: window
                .since
                .map(|s| s.div_euclid(MICROS_PER_DAY) - KEY_DAY_SLACK),
            last: window
                .until
                .map(|u| (u - 1).div_euclid(MICROS_PER_DAY) + KEY_DAY_SLACK),
        }
    }

    pub fn is_everything(&self) -> bool {
        self.first.is_none() && self.last.is_none()
    }

    pub fn admits(&self, day: i64) -> bool {
        self.first.is_none_or(|f| day >= f) && self.last.is_none_or(|l| day <= l)
    }
}

/// Days of slack between an object's key date and the records it may hold.
const KEY_DAY_SLACK: i64 = 1;

fn parse_instant(text: &str) -> Result<i64, String> {
    let bad = || format!("`{text}` is not a date (2026-01-31) or an RFC 3339 time");
    let b = text.as_bytes();
    if b.len() == 10 {
        let (year, month, day) = parse_date(b).ok_or_else(bad)?;
        return Ok(days_from_civil(year, month, day) * MICROS_PER_DAY);
    }
    if let Some(micros) = parse_iso8601_utc(text) {
        return Ok(micros);
    }
    // An explicit offset: `...+02:00` or `...-05:30`.
    if b.len() >= 25 {
        let (local, offset) = text.split_at(text.len() - 6);
        let o = offset.as_bytes();
        if (o[0] == b'+' || o[0] == b'-') && o[3] == b':' {
            let hours: i64 = offset[1..3].parse().map_err(|_| bad())?;
            let minutes: i64 = offset[4..6].parse().map_err(|_| bad())?;
            let sign = if o[0] == b'+' { 1 } else { -1 };
            let utc = parse_iso8601_utc(&format!("{local}Z")).ok_or_else(bad)?;
            return Ok(utc - sign * (hours * 60 + minutes) * 60_000_000);
        }
    }
    Err(bad())
}

fn parse_date(b: &[u8]) -> Option<(i64, u32, u32)> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |s: &[u8]| -> Option<u32> {
        s.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let (year, month, day) = (number(&b[0..4])?, number(&b[5..7])?, number(&b[8..10])?);
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some((i64::from(year), month, day))
}

/// The day (days since 1970-01-01) an object's key is dated by, where its layout has one:
/// `/YYYY/MM/DD/` folders (ALB, ELB, CloudTrail, VPC, partitioned S3 access logs), Hive-style
/// `/year=YYYY/month=MM/day=DD/` ones (VPC Flow Logs' Hive-compatible prefixes, CloudFront
/// v2's) or a `YYYY-MM-DD` in the name (S3 access logs, CloudFront).
pub fn key_day(key: &str) -> Option<i64> {
    let segments: Vec<&str> = key.split('/').map(date_folder_value).collect();
    for window in segments.windows(4) {
        if let [year, month, day, _] = window
            && year.len() == 4
            && month.len() == 2
            && day.len() == 2
            && let Some((y, m, d)) = parse_date(format!("{year}-{month}-{day}").as_bytes())
        {
            return Some(days_from_civil(y, m, d));
        }
    }
    name_date(segments.last()?).map(|(_, day)| day)
}

/// The number a date folder holds: the folder itself (`2024`), or the value of a Hive-style
/// one (`year=2024`, `month=03`, `day=07`).
pub fn date_folder_value(folder: &str) -> &str {
    match folder.split_once('=') {
        Some(("year" | "month" | "day", value)) => value,
        _ => folder,
    }
}

/// Where the first `YYYY-MM-DD` of a file name begins (not inside a longer number), and its
/// day: `(0, …)` for S3 access logs' `2024-03-07-…`, `(6, …)` for CloudFront's
/// `E2ABC.2024-03-07-23.…`, `(12, …)` for `access-logs-2024-03-07-…` (a target prefix that
/// does not end in `/`).
pub fn name_date(name: &str) -> Option<(usize, i64)> {
    let name = name.as_bytes();
    (0..name.len().saturating_sub(9)).find_map(|i| {
        let starts_clean = i == 0 || !name[i - 1].is_ascii_digit();
        let ends_clean = name.get(i + 10).is_none_or(|c| !c.is_ascii_digit());
        let (y, m, d) = parse_date(&name[i..i + 10]).filter(|_| starts_clean && ends_clean)?;
        Some((i, days_from_civil(y, m, d)))
    })
}

/// The time an object's key names, in UTC microseconds: to the minute where its name says
/// (`20240307T2330Z` in ALB, ELB, CloudTrail and VPC names; `2024-03-07-23-30-00` in S3 access
/// log names; the hour of CloudFront's `2024-03-07-23`), else the start of its [`key_day`].
pub fn key_time(key: &str) -> Option<i64> {
    let name = key.rsplit('/').next()?.as_bytes();
    let digits = |s: &[u8]| -> Option<i64> {
        s.iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let at = |i: usize| -> Option<i64> {
        let rest = name.get(i..)?;
        let clock = |hours: i64, minutes: i64, seconds: i64| {
            (hours < 24 && minutes < 60 && seconds < 60)
                .then_some(((hours * 60 + minutes) * 60 + seconds) * 1_000_000)
        };
        // 20240307T2330Z
        if rest.len() >= 14 && rest[8] == b'T' && rest[13] == b'Z' {
            let r = rest;
            let date = [r[0], r[1], r[2], r[3], b'-', r[4], r[5], b'-', r[6], r[7]];
            let (y, m, d) = parse_date(&date)?;
            let time = clock(digits(&rest[9..11])?, digits(&rest[11..13])?, 0)?;
            return Some(days_from_civil(y, m, d) * MICROS_PER_DAY + time);
        }
        let (y, m, d) = parse_date(rest.get(..10)?)?;
        let day = days_from_civil(y, m, d) * MICROS_PER_DAY;
        let field = |from: usize| -> Option<i64> {
            (rest.get(from - 1) == Some(&b'-')).then(|| digits(rest.get(from..from + 2)?))?
        };
        let time = match (field(11), field(14), field(17)) {
            (Some(h), Some(m), Some(s)) => clock(h, m, s)?,
            (Some(h), _, _) => clock(h, 0, 0)?,
            _ => return None,
        };
        Some(day + time)
    };
    (0..name.len())
        .filter(|&i| i == 0 || !name[i - 1].is_ascii_digit())
        .find_map(at)
        .or_else(|| key_day(key).map(|day| day * MICROS_PER_DAY))
}

/// A set of event-time spans, sorted and disjoint, each `[start, end)` in UTC microseconds.
/// One span is kept inline (24 bytes, no heap block): the ledger and a plan hold one `Spans`
/// per object, a million of them on a large source, and nearly all hold a single span.
/// Stored as a JSON list of `[start, end]` pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spans(SmallVec<[(i64, i64); 1]>);

impl Serialize for Spans {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(&self.0)
    }
}

impl<'de> Deserialize<'de> for Spans {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spans = Vec::<(i64, i64)>::deserialize(deserializer)?;
        Ok(Spans(SmallVec::from_slice(&spans)))
    }
}

impl Spans {
    pub fn everything() -> Self {
        Spans(smallvec![(i64::MIN, i64::MAX)])
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_everything(&self) -> bool {
        self.0[..] == [(i64::MIN, i64::MAX)]
    }

    pub fn contains(&self, micros: i64) -> bool {
        // Few spans per object: a linear scan beats a binary search here.
        self.0
            .iter()
            .any(|&(start, end)| start <= micros && micros < end)
    }

    /// The rows of `batch` whose event time (a microsecond timestamp column at `time_column`)
    /// lies in these spans; rows without an event time are kept when `keep_untimed`.
    pub fn rows_within(
        &self,
        batch: &RecordBatch,
        time_column: usize,
        keep_untimed: bool,
    ) -> Result<RecordBatch, ArrowError> {
        if self.is_everything() {
            return Ok(batch.clone());
        }
        let times = batch
            .column(time_column)
            .as_primitive::<TimestampMicrosecondType>();
        let keep: BooleanArray = times
            .iter()
            .map(|t| Some(t.map_or(keep_untimed, |t| self.contains(t))))
            .collect();
        arrow_select::filter::filter_record_batch(batch, &keep)
    }

    pub fn union(&self, other: &Spans) -> Spans {
        let mut all: Vec<(i64, i64)> = self.0.iter().chain(&other.0).copied().collect();
        all.sort_unstable();
        let mut merged: SmallVec<[(i64, i64); 1]> = SmallVec::new();
        for (start, end) in all {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        Spans(merged)
    }

    /// The parts of `self` not in `other`.
    pub fn minus(&self, other: &Spans) -> Spans {
        let mut result = SmallVec::new();
        for &(mut start, end) in &self.0 {
            for &(cut_start, cut_end) in &other.0 {
                if cut_end <= start || cut_start >= end {
                    continue;
                }
                if cut_start > start {
                    result.push((start, cut_start));
                }
                start = start.max(cut_end);
                if start >= end {
                    break;
                }
            }
            if start < end {
                result.push((start, end));
            }
        }
        Spans(result)
    }

    pub fn intersect(&self, other: &Spans) -> Spans {
        self.minus(&self.minus(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_times_of_each_layout() {
        let t = |rfc: &str| parse_iso8601_utc(rfc).unwrap();
        let alb = "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/03/07/\
                   123456789012_elasticloadbalancing_us-east-1_app.web.1a2b_20240307T2330Z_10.0.0.1_x.log.gz";
        assert_eq!(key_time(alb), Some(t("2024-03-07T23:30:00Z")));
        assert_eq!(
            key_time("logs/2024-03-07-23-30-05-0123456789ABCDEF"),
            Some(t("2024-03-07T23:30:05Z"))
        );
        assert_eq!(
            key_time("cf/E2ABC.2024-03-07-23.abcd1234.gz"),
            Some(t("2024-03-07T23:00:00Z"))
        );
        assert_eq!(
            key_time("x/2024/03/07/plain.log"),
            Some(t("2024-03-07T00:00:00Z"))
        );
        assert_eq!(key_time("x/undated.log"), None);
    }

    const DAY: i64 = MICROS_PER_DAY;

    #[test]
    fn parses_dates_and_rfc3339() {
        let w = TimeWindow::new(Some("2026-01-02"), Some("2026-01-03T06:00:00+02:00")).unwrap();
        let day = days_from_civil(2026, 1, 2);
        assert_eq!(w.since, Some(day * DAY));
        assert_eq!(w.until, Some((day + 1) * DAY + 4 * 3_600_000_000));
        assert!(TimeWindow::new(Some("2026-01-03"), Some("2026-01-02")).is_err());
        assert!(TimeWindow::new(Some("yesterday"), None).is_err());
        assert!(TimeWindow::new(Some("2026-13-01"), None).is_err());
    }

    #[test]
    fn key_days_of_every_layout() {
        let day = days_from_civil(2026, 11, 25);
        for key in [
            "AWSLogs/123/elasticloadbalancing/us-east-1/2026/11/25/123_elasticloadbalancing_us-east-1_app.lb.1_20261125T0005Z_10.0.0.1_x.log.gz",
            "AWSLogs/123/CloudTrail/eu-west-1/2026/11/25/123_CloudTrail_eu-west-1_20261125T0000Z_x.json.gz",
            "logs/2026-11-25-10-00-00-ABCDEF0123456789",
            "cf/E2EXAMPLE.2026-11-25-10.a1b2c3d4.gz",
            "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/month=11/day=25/123456789012_vpcflowlogs_us-east-1_fl-1_20261125T1000Z_x.log.gz",
            "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/month=11/day=25/hour=10/123456789012_vpcflowlogs_us-east-1_fl-1_20261125T1000Z_x.log.gz",
            "cf/DistributionId=E2EXAMPLE/year=2026/month=11/day=25/hour=10/E2EXAMPLE.2026-11-25-10.a1b2c3d4.gz",
        ] {
            assert_eq!(key_day(key), Some(day), "{key}");
        }
        assert_eq!(key_day("plain/file.log"), None);
        assert_eq!(key_day("x/12026-11-25.log"), None);
    }

    #[test]
    fn window_admits_keys_with_a_day_of_slack() {
        let w = KeyDays::of(&TimeWindow::new(Some("2026-01-10"), Some("2026-01-20")).unwrap());
        let day = |d| days_from_civil(2026, 1, d);
        assert!(!w.admits(day(8)));
        assert!(w.admits(day(9)));
        assert!(w.admits(day(20)));
        assert!(!w.admits(day(21)));
        assert!(KeyDays::of(&TimeWindow::default()).admits(0));
    }

    #[test]
    fn span_algebra() {
        let a = Spans(smallvec![(0, 10), (20, 30)]);
        let b = Spans(smallvec![(5, 25)]);
        assert_eq!(a.union(&b), Spans(smallvec![(0, 30)]));
        assert_eq!(a.minus(&b), Spans(smallvec![(0, 5), (25, 30)]));
        assert_eq!(a.intersect(&b), Spans(smallvec![(5, 10), (20, 25)]));
        assert_eq!(
            Spans::everything().minus(&Spans::everything()),
            Spans::default()
        );
        let window = TimeWindow {
            since: Some(5),
            until: None,
        }
        .spans();
        let rest = Spans::everything().minus(&window);
        assert_eq!(rest.union(&window), Spans::everything());
        assert!(rest.contains(4) && !rest.contains(5));
    }

    #[test]
    fn spans_are_small_and_stored_as_lists_of_pairs() {
        assert_eq!(std::mem::size_of::<Spans>(), 24);
        assert!(!Spans::everything().0.spilled());
        let two = Spans(smallvec![(0, 10), (20, 30)]);
        let json = serde_json::to_string(&two).unwrap();
        assert_eq!(json, "[[0,10],[20,30]]");
        assert_eq!(serde_json::from_str::<Spans>(&json).unwrap(), two);
        let one: Spans = serde_json::from_str("[[-5,7]]").unwrap();
        assert_eq!(one, Spans(smallvec![(-5, 7)]));
        assert!(!one.0.spilled());
    }
}
