//! Splits an S3 server access log line into its fields, letting the structure of the line decide
//! where each quoted field ends.
//!
//! S3 does not escape `"` inside the quoted request line, referrer and user agent, so a quote
//! followed by a space may sit inside a value (`"foo "bar" baz"`, `"GET /" HTTP/1.1"`). Taking
//! the first such quote as the end (what a tokenizer does) shifts every later value into the
//! wrong column. Instead every way of closing the three quoted fields is considered, and a way is
//! valid only when every field after it has its documented shape: the request line is `-` or
//! ends with an HTTP version; status, byte and time fields are integers or `-`; and after the
//! user agent come version id, host id, `SigV2`/`SigV4`/`-`, cipher, `AuthHeader`/`QueryString`/`-`,
//! host header, a TLS version, an access point ARN, `Yes`/`-` and a region (as many of these as
//! the line's era wrote). Exactly one valid way gives the fields; none, or more than one, rejects
//! the line with a reason that says so. The candidates are counted with suffix sums, so a line
//! with `q` quotes costs `O(q)` shape checks, however hostile it is.

use super::{KNOWN_FIELDS, WIRE};
use crate::fields::{self, Reason};

/// Old lines end right after the user agent.
const MIN_FIELDS: usize = WIRE.required;

const REQUEST: usize = WIRE.position("request_uri");
const REFERRER: usize = WIRE.position("referrer");
const USER_AGENT: usize = WIRE.position("user_agent");
/// The first field after the user agent.
const TAIL: usize = USER_AGENT + 1;

/// Column names by field position, for reject reasons.
const NAMES: [&str; KNOWN_FIELDS] = WIRE.names();

/// What a bare (unquoted) field must look like.
#[derive(Clone, Copy)]
enum Shape {
    /// Non-empty, without `"`.
    Token,
    Int32,
    Int64,
    OneOf(&'static [&'static str]),
    /// `-` or `TLSv1.2`-like (AWS's own examples write `TLSV1.2`).
    Tls,
    /// `-` or an ARN.
    Arn,
    /// `-` or a region name.
    Region,
}

/// Shapes of fields 9 to 14 (between the request line and the referrer).
const MIDDLE: [Shape; 6] = [
    Shape::Int32,
    Shape::Token,
    Shape::Int64,
    Shape::Int64,
    Shape::Int64,
    Shape::Int64,
];

/// Shapes of fields 17 to 26 (after the user agent).
const TAIL_SHAPES: [Shape; KNOWN_FIELDS - TAIL] = [
    Shape::Token,
    Shape::Token,
    Shape::OneOf(&["SigV2", "SigV4", "-"]),
    Shape::Token,
    Shape::OneOf(&["AuthHeader", "QueryString", "-"]),
    Shape::Token,
    Shape::Tls,
    Shape::Arn,
    Shape::OneOf(&["Yes", "-"]),
    Shape::Region,
];

impl Shape {
    fn fits(self, value: &str) -> bool {
        let token = !value.is_empty() && !value.contains('"');
        match self {
            Shape::Token => token,
            Shape::Int32 => fields::int32(value, "").is_ok(),
            Shape::Int64 => fields::int64(value, "").is_ok(),
            Shape::OneOf(allowed) => allowed.contains(&value),
            Shape::Tls => {
                value == "-"
                    || (token
                        && value.len() > 4
                        && value.as_bytes()[..4].eq_ignore_ascii_case(b"tlsv"))
            }
            Shape::Arn => value == "-" || (token && value.starts_with("arn:")),
            Shape::Region => value == "-" || fields::looks_like_region(value),
        }
    }

    /// Why `value` does not fit; typed fields keep the wording of the other formats.
    fn misfit(self, value: &str, column: &'static str) -> Reason {
        match self {
            Shape::Int32 => fields::int32(value, column).err(),
            Shape::Int64 => fields::int64(value, column).err(),
            _ => None,
        }
        .unwrap_or_else(|| {
            format!(
                "value `{}` does not fit column `{column}`",
                fields::shown(value)
            )
            .into()
        })
    }
}

/// Why a candidate split does not fit, cheap to make (candidates fail on every line); turned
/// into a [`Reason`] only for the line's reject.
#[derive(Clone, Copy)]
enum Misfit {
    /// The line ends before field `.0`.
    TooFew(usize),
    /// Field `.0` is not followed by a space.
    NoSpaceAfter(usize),
    /// Field `column`, at `start..end`, does not have its shape.
    Value {
        column: usize,
        shape: Shape,
        start: usize,
        end: usize,
    },
}

impl Misfit {
    fn reason(self, line: &str) -> Reason {
        match self {
            Misfit::TooFew(count) => too_few(count),
            Misfit::NoSpaceAfter(column) => no_space_after(NAMES[column]),
            Misfit::Value {
                column,
                shape,
                start,
                end,
            } => shape.misfit(&line[start..end], NAMES[column]),
        }
    }
}

/// The fields of one line (absent trailing fields are `-`) and how many the line had.
pub(super) struct Fields<'a> {
    pub(super) values: [&'a str; KNOWN_FIELDS],
    pub(super) count: usize,
}

/// Splits `line`, or says why no single split fits.
pub(super) fn split(line: &str) -> Result<Fields<'_>, Reason> {
    let mut values = ["-"; KNOWN_FIELDS];
    let request = prefix(line, &mut values)?;
    if let Some(count) = only_split(line, request, &mut values) {
        return Ok(Fields { values, count });
    }
    split_counting(line, request, values)
}

/// [`split`] without [`only_split`], for the tests that hold the two to the same result.
#[cfg(test)]
fn split_every_way(line: &str) -> Result<Fields<'_>, Reason> {
    let mut values = ["-"; KNOWN_FIELDS];
    let request = prefix(line, &mut values)?;
    split_counting(line, request, values)
}

/// The usual line: no quoted field holds a `" ` of its own, so exactly three quotes after the
/// request line's opening one could close a field, and the one split there can be closes the
/// request line, referrer and user agent at them in turn. It is taken here when it fits,
/// checked as [`Line`] checks every split (each field's shape once, where counting every split
/// checks the tail after each closing candidate and again when taking the split). `None`: not
/// such a line, or that split does not fit; [`Line`] then counts the splits (none, and why).
fn only_split<'a>(
    text: &'a str,
    request: usize,
    values: &mut [&'a str; KNOWN_FIELDS],
) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.get(request) != Some(&b'"') {
        return None;
    }
    let mut closers = [0; 3];
    let mut found = 0;
    for q in closing_candidates(bytes, request + 1) {
        *closers.get_mut(found)? = q;
        found += 1;
    }
    let [request_close, referrer_close, user_agent_close] = closers;
    if found != 3 {
        return None;
    }
    let line = Line::unscanned(text);
    let request_line = &text[request + 1..request_close];
    if !request_fits(request_line) {
        return None;
    }
    let mut middle = ["-"; 6];
    let referrer = line.middle(request_close + 1, &mut middle).ok()?;
    if !line.quote_at(referrer) || referrer_close <= referrer {
        return None;
    }
    // A closing candidate is followed by a space or ends the line (then no quote is here).
    let user_agent = referrer_close + 2;
    if !line.quote_at(user_agent) || user_agent_close <= user_agent {
        return None;
    }
    let (tail, count) = line.tail(user_agent_close + 1).ok()?;
    values[REQUEST] = request_line;
    values[REQUEST + 1..REFERRER].copy_from_slice(&middle);
    values[REFERRER] = &text[referrer + 1..referrer_close];
    values[USER_AGENT] = &text[user_agent + 1..user_agent_close];
    values[TAIL..].copy_from_slice(&tail);
    Some(TAIL + count)
}

/// The offsets, from `from` on, of the quotes that could close a quoted field: those followed
/// by a space or the end of the line.
fn closing_candidates(bytes: &[u8], from: usize) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr_iter(b'"', &bytes[from..])
        .map(move |i| from + i)
        .filter(|&q| matches!(bytes.get(q + 1), None | Some(b' ')))
}

/// Counts the splits of the line past its prefix (in `values`); takes the only one.
fn split_counting<'a>(
    line: &'a str,
    request: usize,
    mut values: [&'a str; KNOWN_FIELDS],
) -> Result<Fields<'a>, Reason> {
    let line = Line::new(line, request);
    match line.ways_from_request(request) {
        1 => {}
        0 => return Err(line.why_not(request)),
        _ => {
            return Err(
                "ambiguous quoted fields: the request line, referrer or user agent contains `\" ` \
                 and more than one split fits the S3 access log layout"
                    .into(),
            );
        }
    }
    let count = line.take(request, &mut values).ok_or(
        "internal error: the one split counted as valid was not found again; please report this line",
    )?;
    Ok(Fields { values, count })
}

/// Fields 0 to 7 (their values never hold a space, except the bracketed time) into `values`;
/// returns where the request line starts.
fn prefix<'a>(line: &'a str, values: &mut [&'a str; KNOWN_FIELDS]) -> Result<usize, Reason> {
    let bytes = line.as_bytes();
    let mut at = 0;
    for (index, value) in values.iter_mut().enumerate().take(REQUEST) {
        if at > bytes.len() {
            return Err(too_few(index));
        }
        let end = if index == 2 && bytes.get(at) == Some(&b'[') {
            let close = memchr::memchr(b']', &bytes[at..])
                .map(|i| at + i)
                .ok_or_else(|| Reason::from(format!("unterminated `[` at byte {at}")))?;
            *value = &line[at + 1..close];
            close + 1
        } else {
            let end = memchr::memchr(b' ', &bytes[at..]).map_or(bytes.len(), |i| at + i);
            *value = &line[at..end];
            if !Shape::Token.fits(value) {
                return Err(Shape::Token.misfit(value, NAMES[index]));
            }
            end
        };
        match bytes.get(end) {
            Some(b' ') => at = end + 1,
            None => return Err(too_few(index + 1)),
            Some(_) => return Err(format!("no space after column `{}`", NAMES[index]).into()),
        }
    }
    Ok(at)
}

fn too_few(count: usize) -> Reason {
    format!("only {count} fields; an S3 access log line has at least {MIN_FIELDS}").into()
}

/// A line past its prefix, with the positions of every `"` that could close a quoted field (one
/// followed by a space or the end of the line) and, per position, how many valid ways there are
/// to finish the line from there (capped at 2: one or more than one is all that matters).
struct Line<'a> {
    text: &'a str,
    /// Byte offsets of the closing candidates, ascending.
    closers: Vec<usize>,
    /// `user_agent_ways[i]`: valid splits with the user agent closed at `closers[j]`, `j >= i`.
    user_agent_ways: Vec<u8>,
    /// `referrer_ways[i]`: valid splits with the referrer closed at `closers[j]`, `j >= i`.
    referrer_ways: Vec<u8>,
    /// Whether the request line is a bare `-`: then the referrer and user agent are bare `-`
    /// too (batch deletes), else all three are quoted.
    bare: bool,
}

impl<'a> Line<'a> {
    fn new(text: &'a str, from: usize) -> Self {
        let bytes = text.as_bytes();
        let closers: Vec<usize> = closing_candidates(bytes, from).collect();
        let mut line = Self {
            user_agent_ways: vec![0; closers.len() + 1],
            referrer_ways: vec![0; closers.len() + 1],
            closers,
            ..Self::unscanned(text)
        };
        for i in (0..line.closers.len()).rev() {
            let after = line.closers[i] + 1;
            let ua = u8::from(line.tail(after).is_ok());
            line.user_agent_ways[i] = (line.user_agent_ways[i + 1] + ua).min(2);
            let rf = match line.text.as_bytes().get(after) {
                Some(b' ') => line.user_agent_ways_from(after + 1),
                _ => 0,
            };
            line.referrer_ways[i] = (line.referrer_ways[i + 1] + rf).min(2);
        }
        line.bare = line.bare_dash(from).is_some();
        line
    }

    /// A line whose closing candidates are not looked for: enough to check the fields between
    /// and after the quoted ones ([`Line::middle`], [`Line::tail`]).
    fn unscanned(text: &'a str) -> Self {
        Self {
            text,
            closers: Vec::new(),
            user_agent_ways: Vec::new(),
            referrer_ways: Vec::new(),
            bare: false,
        }
    }

    /// Index of the first closing candidate after byte `at`.
    fn first_closer_after(&self, at: usize) -> usize {
        self.closers.partition_point(|&q| q <= at)
    }

    /// Where a bare `-` field starting at `at` ends, if there is one.
    fn bare_dash(&self, at: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        (bytes.get(at) == Some(&b'-') && matches!(bytes.get(at + 1), None | Some(b' ')))
            .then_some(at + 1)
    }

    fn quote_at(&self, at: usize) -> bool {
        self.text.as_bytes().get(at) == Some(&b'"')
    }

    fn user_agent_ways_from(&self, at: usize) -> u8 {
        if self.bare {
            self.bare_dash(at)
                .map_or(0, |end| u8::from(self.tail(end).is_ok()))
        } else if self.quote_at(at) {
            self.user_agent_ways[self.first_closer_after(at)]
        } else {
            0
        }
    }

    fn referrer_ways_from(&self, at: usize) -> u8 {
        if self.bare {
            match self.bare_dash(at) {
                Some(end) if self.text.as_bytes().get(end) == Some(&b' ') => {
                    self.user_agent_ways_from(end + 1)
                }
                _ => 0,
            }
        } else if self.quote_at(at) {
            self.referrer_ways[self.first_closer_after(at)]
        } else {
            0
        }
    }

    /// The ends the request line starting at `at` may have (bare `-`, or each closing quote).
    fn request_ends(&self, at: usize) -> impl Iterator<Item = usize> + '_ {
        let bare = self.bare_dash(at);
        let quoted = self.quote_at(at).then(|| {
            self.closers[self.first_closer_after(at)..]
                .iter()
                .filter(move |&&q| request_fits(&self.text[at + 1..q]))
                .map(|&q| q + 1)
        });
        bare.into_iter().chain(quoted.into_iter().flatten())
    }

    /// Valid splits of the whole line, capped at 2.
    fn ways_from_request(&self, at: usize) -> u8 {
        let mut ways = 0;
        for end in self.request_ends(at) {
            if let Ok(referrer) = self.middle(end, &mut ["-"; 6]) {
                ways = (ways + self.referrer_ways_from(referrer)).min(2);
            }
        }
        ways
    }

    /// Fields 9 to 14 after a request line ending at `end` into `out`; returns where the
    /// referrer starts.
    fn middle(&self, end: usize, out: &mut [&'a str; 6]) -> Result<usize, Misfit> {
        let bytes = self.text.as_bytes();
        let mut at = end;
        for (i, shape) in MIDDLE.iter().enumerate() {
            let column = REQUEST + 1 + i;
            match bytes.get(at) {
                Some(b' ') => at += 1,
                None => return Err(Misfit::TooFew(column)),
                Some(_) => return Err(Misfit::NoSpaceAfter(column - 1)),
            }
            let stop = memchr::memchr(b' ', &bytes[at..]).map_or(bytes.len(), |i| at + i);
            let value = &self.text[at..stop];
            if !shape.fits(value) {
                return Err(Misfit::Value {
                    column,
                    shape: *shape,
                    start: at,
                    end: stop,
                });
            }
            out[i] = value;
            at = stop;
        }
        match bytes.get(at) {
            Some(b' ') => Ok(at + 1),
            None => Err(Misfit::TooFew(REFERRER)),
            Some(_) => Err(Misfit::NoSpaceAfter(REFERRER - 1)),
        }
    }

    /// The fields after a user agent ending at `end` (values, how many), or why they misfit.
    fn tail(&self, end: usize) -> Result<([&'a str; KNOWN_FIELDS - TAIL], usize), Misfit> {
        let mut out = ["-"; KNOWN_FIELDS - TAIL];
        let bytes = self.text.as_bytes();
        let mut at = end;
        let mut count = 0;
        while count < out.len() {
            match bytes.get(at) {
                None => break,
                Some(b' ') => at += 1,
                Some(_) => return Err(Misfit::NoSpaceAfter(TAIL + count - 1)),
            }
            let stop = memchr::memchr(b' ', &bytes[at..]).map_or(bytes.len(), |i| at + i);
            let value = &self.text[at..stop];
            let shape = TAIL_SHAPES[count];
            if !shape.fits(value) {
                return Err(Misfit::Value {
                    column: TAIL + count,
                    shape,
                    start: at,
                    end: stop,
                });
            }
            out[count] = value;
            count += 1;
            at = stop;
        }
        Ok((out, count))
    }

    /// Writes the one valid split into `values`; returns the field count (at most 27), or
    /// `None` if the split counted as valid cannot be found again (a bug, never a guess).
    fn take(&self, request: usize, values: &mut [&'a str; KNOWN_FIELDS]) -> Option<usize> {
        let mut middle = ["-"; 6];
        let (request_end, referrer) = self.request_ends(request).find_map(|end| {
            self.middle(end, &mut middle)
                .ok()
                .filter(|&referrer| self.referrer_ways_from(referrer) > 0)
                .map(|referrer| (end, referrer))
        })?;
        values[REQUEST] = self.unquote(request, request_end);
        values[REQUEST + 1..REFERRER].copy_from_slice(&middle);
        let referrer_end = self.field_end(referrer, |ends_at| {
            self.text.as_bytes().get(ends_at) == Some(&b' ')
                && self.user_agent_ways_from(ends_at + 1) > 0
        })?;
        values[REFERRER] = self.unquote(referrer, referrer_end);
        let user_agent = referrer_end + 1;
        let user_agent_end = self.field_end(user_agent, |ends_at| self.tail(ends_at).is_ok())?;
        values[USER_AGENT] = self.unquote(user_agent, user_agent_end);
        let (tail, count) = self.tail(user_agent_end).ok()?;
        values[TAIL..].copy_from_slice(&tail);
        Some(TAIL + count)
    }

    /// The end of the bare or quoted field starting at `at` for which `valid` holds.
    fn field_end(&self, at: usize, valid: impl Fn(usize) -> bool) -> Option<usize> {
        if self.bare {
            return self.bare_dash(at).filter(|&end| valid(end));
        }
        if !self.quote_at(at) {
            return None;
        }
        self.closers[self.first_closer_after(at)..]
            .iter()
            .map(|&q| q + 1)
            .find(|&end| valid(end))
    }

    /// The value of a field spanning `at..end`, without its quotes.
    fn unquote(&self, at: usize, end: usize) -> &'a str {
        if self.quote_at(at) && end > at + 1 {
            &self.text[at + 1..end - 1]
        } else {
            &self.text[at..end]
        }
    }

    /// Why no split fits: the first misfit when every quoted field closes at its first candidate
    /// (what a reader of the line would try first).
    fn why_not(&self, request: usize) -> Reason {
        let first_end = |at: usize, first: bool| -> Result<usize, Reason> {
            let found = || fields::shown(self.text[at..].split(' ').next().unwrap_or(""));
            if let Some(end) = self.bare_dash(at).filter(|_| first || self.bare) {
                return Ok(end);
            }
            if self.bare {
                return Err(format!(
                    "expected a bare `-` like the request line, found `{}`",
                    found()
                )
                .into());
            }
            if !self.quote_at(at) {
                return Err(format!(
                    "expected a quoted field like the request line, found `{}`",
                    found()
                )
                .into());
            }
            self.closers
                .get(self.first_closer_after(at))
                .map(|&q| q + 1)
                .ok_or_else(|| format!("unterminated `\"` at byte {at}").into())
        };
        let reason = (|| -> Result<Reason, Reason> {
            let request_end = first_end(request, true)?;
            let content = self.unquote(request, request_end);
            if !request_fits(content) {
                return Err(format!(
                    "request line `{}` does not end with an HTTP version",
                    fields::shown(content)
                )
                .into());
            }
            let referrer = self
                .middle(request_end, &mut ["-"; 6])
                .map_err(|m| m.reason(self.text))?;
            let referrer_end = first_end(referrer, false)?;
            match self.text.as_bytes().get(referrer_end) {
                Some(b' ') => {}
                None => return Err(too_few(USER_AGENT)),
                Some(_) => return Err(no_space_after("referrer")),
            }
            let user_agent_end = first_end(referrer_end + 1, false)?;
            self.tail(user_agent_end).map_err(|m| m.reason(self.text))?;
            Ok("no split of the quoted fields fits the S3 access log layout".into())
        })();
        reason.unwrap_or_else(|why| why)
    }
}

fn no_space_after(column: &str) -> Reason {
    format!("no space after column `{column}`").into()
}

/// A request line is `-` or ends with an HTTP version (`GET /a HTTP/1.1`, `OPTIONS * HTTP/1.0`).
fn request_fits(content: &str) -> bool {
    content == "-"
        || content.rsplit_once(' ').is_some_and(|(_, version)| {
            version.strip_prefix("HTTP/").is_some_and(|v| {
                !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";

    /// A 24-field line (the issue's report) with `referrer` and `user_agent` substituted.
    fn line(request: &str, referrer: &str, user_agent: &str) -> String {
        format!(
            "{OWNER} testing-1234xxx [20/Jun/2019:03:51:36 +0000] 1.2.3.4 - 63DAF67A2BC0B6C4 \
             REST.GET.OBJECT a.txt {request} 200 - 243 - 8 - {referrer} {user_agent} - \
             uidORkMVUSKEFetTC9FJG1qrSdT9DlxA97GPF8m2IsJlDxHLkV5VGzmkuTb8pXIym7B/J5XZlGU= - \
             ECDHE-RSA-AES128-GCM-SHA256 - testing-1234xxx.s3.amazonaws.com TLSv1.2"
        )
    }

    fn values(line: &str) -> Result<Vec<String>, Reason> {
        split(line).map(|f| {
            f.values[..f.count]
                .iter()
                .map(|v| (*v).to_owned())
                .collect()
        })
    }

    #[test]
    fn quotes_inside_the_referrer_do_not_shift_columns() {
        let v = values(&line(
            r#""GET /a.txt HTTP/1.1""#,
            r#""foo "bar" baz""#,
            r#""curl/7.38.0""#,
        ))
        .unwrap();
        assert_eq!(v.len(), 24);
        assert_eq!(v[REFERRER], r#"foo "bar" baz"#);
        assert_eq!(v[USER_AGENT], "curl/7.38.0");
        assert_eq!(v[17], "-");
        assert_eq!(v[19], "-");
        assert_eq!(v[20], "ECDHE-RSA-AES128-GCM-SHA256");
        assert_eq!(v[23], "TLSv1.2");
    }

    #[test]
    fn quotes_inside_the_request_and_user_agent() {
        let v = values(&line(
            r#""GET /" HTTP/1.1""#,
            r#""-""#,
            r#""Mozilla/5.0 Safari/604.1"""#,
        ))
        .unwrap();
        assert_eq!(v[REQUEST], r#"GET /" HTTP/1.1"#);
        assert_eq!(v[9], "200");
        assert_eq!(v[USER_AGENT], r#"Mozilla/5.0 Safari/604.1""#);
        assert_eq!(v[18].len(), 76);
    }

    #[test]
    fn a_forged_tail_inside_the_user_agent_is_ambiguous() {
        // The user agent holds a complete forged tail, so the real one reads as extra fields.
        let forged = r#""x" - hostid SigV4 c AuthHeader h TLSv1.2 - - us-east-1 z""#;
        let err = values(&line(r#""GET / HTTP/1.1""#, r#""-""#, forged)).unwrap_err();
        assert!(err.contains("ambiguous"), "{err}");
    }

    #[test]
    fn no_valid_split_names_the_first_misfit() {
        let err = values(&line(r#""GET / HTTP/1.1""#, r#""-""#, r#""a" b"#)).unwrap_err();
        assert!(err.contains("`signature_version`"), "{err}");
        let err = values(&line("-", r#""-""#, r#""ua""#)).unwrap_err();
        assert!(err.contains("expected a bare `-`"), "{err}");
        let err = values(&line(r#""GET /""#, r#""-""#, r#""ua""#)).unwrap_err();
        assert!(err.contains("HTTP version"), "{err}");
        let err = values(&line(r#""GET / HTTP/1.1""#, r#""-""#, r#""ua"#)).unwrap_err();
        assert!(!err.is_empty());
    }

    #[test]
    fn bare_dashes_and_short_lines() {
        let batch = format!(
            "{OWNER} b [10/Sep/2019:15:11:07 +0000] 1.2.3.4 arn:x 8CD7 BATCH.DELETE.OBJECT k - 204 - - 344017 - - - - - HOST SigV4 C AuthHeader h TLSv1.2"
        );
        let v = values(&batch).unwrap();
        assert_eq!(v.len(), 24);
        assert_eq!(v[REQUEST], "-");
        assert_eq!(v[12], "344017");
        assert_eq!(v[18], "HOST");
        let old = r#"79a5 b [06/Feb/2014:00:00:38 +0000] 192.0.2.3 79a5 3E57 REST.GET.VERSIONING - "GET /b?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4""#;
        assert_eq!(values(old).unwrap().len(), 17);
        assert!(values(&old[..old.len() - 16]).is_err());
    }

    #[test]
    fn shapes_never_slice_inside_a_character() {
        // Found by scripts/fuzz: a BOM inside the TLS version.
        for value in ["TL\u{feff}Sv1.3", "\u{feff}", "ééé", "TLSv\u{feff}"] {
            let _ = Shape::Tls.fits(value);
            let _ = Shape::Arn.fits(value);
            let _ = Shape::Region.fits(value);
        }
        assert!(!Shape::Tls.fits("TL\u{feff}Sv1.3"));
        assert!(Shape::Tls.fits("TLSV1.2"));
    }

    /// The fields of a split, or its reason, to compare two ways of splitting.
    fn outcome(split: Result<Fields<'_>, Reason>) -> Result<Vec<String>, String> {
        split
            .map(|f| {
                f.values[..f.count]
                    .iter()
                    .map(|v| (*v).to_owned())
                    .collect()
            })
            .map_err(|reason| reason.into_owned())
    }

    /// A quoted field (or a bare `-`): mostly plain text, sometimes holding quotes, `" ` and
    /// spaces of its own, or only quotes and spaces, unbalanced.
    fn quoted(
        plain: &'static str,
        around: fn(String) -> String,
    ) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            1 => Just("-".to_owned()),
            6 => plain.prop_map(move |c| format!("\"{}\"", around(c))),
            3 => r#"( |"|" |-|a){0,5}"#.prop_map(move |c| format!("\"{}\"", around(c))),
            1 => r#"( |"|" |-|a){0,5}"#.prop_map(|c| format!("\"{c}\"")),
            1 => r#"("|" |"" |-){1,2}"#,
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]
        /// The direct split of the usual line gives what counting every split gives, on lines
        /// whose quoted fields (and the fields around them) hold quotes, `" `, spaces and dashes
        /// in any number: the fast path is taken only where the counting finds that one split.
        #[test]
        fn the_only_split_is_the_one_counting_finds(
            request in quoted("[a-z/.-]{0,8}", |c| format!("GET /{c} HTTP/1.1")),
            referrer in quoted("[a-z/:.-]{0,8}", |c| c),
            user_agent in quoted("[a-z/. -]{0,8}", |c| c),
            status in proptest::prop_oneof![8 => proptest::strategy::Just("200"), 1 => proptest::strategy::Just("-"), 1 => proptest::strategy::Just("\"")],
            tail in "(| -| - SigV4| - SigV4 ECDHE AuthHeader h TLSv1\\.2| \"| x y)",
        ) {
            let base = line(&request, &referrer, &user_agent).replace(" 200 ", &format!(" {status} "));
            let text = format!("{base}{tail}");
            proptest::prop_assert_eq!(outcome(split(&text)), outcome(split_every_way(&text)), "{}", text);
        }
    }

    #[test]
    fn the_usual_line_is_split_directly() {
        let text = line(r#""GET /a.txt HTTP/1.1""#, r#""-""#, r#""curl/7.38.0""#);
        let mut values = ["-"; KNOWN_FIELDS];
        let request = prefix(&text, &mut values).unwrap();
        assert!(only_split(&text, request, &mut values).is_some());
        assert_eq!(values[USER_AGENT], "curl/7.38.0");
        let quoted = line(
            r#""GET /a.txt HTTP/1.1""#,
            r#""foo "bar" baz""#,
            r#""curl""#,
        );
        let request = prefix(&quoted, &mut values).unwrap();
        assert_eq!(
            only_split(&quoted, request, &mut values),
            None,
            "four candidates"
        );
    }

    #[test]
    fn many_quotes_are_counted_not_enumerated() {
        // 20,000 closing candidates: enumerating splits would never finish; counting them does.
        let hostile = format!("\"{}\"", "\" ".repeat(20_000));
        for (referrer, user_agent) in [(r#""-""#, hostile.as_str()), (hostile.as_str(), r#""ua""#)]
        {
            let err = values(&line(r#""GET / HTTP/1.1""#, referrer, user_agent)).unwrap_err();
            assert!(err.contains("ambiguous"), "{err}");
        }
    }
}
