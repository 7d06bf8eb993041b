//! Field-level parsing shared by the text formats: a quote-aware tokenizer, typed values with
//! `-` as NULL, `ip:port` and request-line splitting, and region detection from object keys.
//! Hand-written on purpose: this is the per-field hot path, and it allocates only for quoted
//! values that contain backslash escapes. Field ends come from bitmasks of 64-byte blocks
//! ([`byte_classes`]): ALB parses 10 % faster than with one `memchr` per field, and the
//! formats without quoting split their lines the same way ([`split_on`]).

mod byte_classes;
mod split;

use std::borrow::Cow;

use byte_classes::{BlockClasses, classify};
pub(crate) use split::split_on;

/// The reason a line was rejected; lowercase, values in backticks.
pub(crate) type Reason = Cow<'static, str>;

/// Shows at most 64 bytes of a bad value in a reject reason.
pub(crate) fn shown(value: &str) -> &str {
    match value.char_indices().nth(64) {
        Some((end, _)) => &value[..end],
        None => value,
    }
}

/// Splits a line on single spaces. A token that starts with `"` runs to its closing quote and
/// may contain spaces; inside it `\"` and `\\` are escapes. The closing quote must be followed
/// by a space or the end of the line.
pub(crate) struct Tokens<'a> {
    line: &'a str,
    pos: usize,
    /// Tokens returned so far.
    index: usize,
    /// Bit `i` is set when token `i` (below 64) was quoted.
    quoted: u64,
    /// `"` bytes consumed by quoted tokens: their two delimiters and escaped quotes.
    quotes_consumed: usize,
    /// Offset of the 64-byte block `classes` describes (`usize::MAX` before the first).
    block_start: usize,
    classes: BlockClasses,
    /// `"` bytes in the blocks before `quotes_counted_to`.
    quotes_in_blocks: usize,
    quotes_counted_to: usize,
}

/// Which positions of a line may hold a quoted field. Everything else is bare and can never
/// contain `"`: a bare token with a quote, or a quoted token where a bare one belongs, is what
/// an unescaped quote inside a quoted value leaves behind when it ends that value early, so such
/// lines are rejected instead of stored with every later value in the wrong column.
pub(crate) struct QuoteLayout {
    /// Bit `i` is set when field `i` may be quoted.
    pub(crate) quotable: u64,
    /// Whether fields past the known ones may be quoted.
    pub(crate) extras_quotable: bool,
}

impl QuoteLayout {
    /// The layout whose quotable fields are those `wire` writes between quotes.
    pub(crate) const fn of(wire: &crate::raw::WireLayout, extras_quotable: bool) -> Self {
        let mut quotable = 0u64;
        let mut i = 0;
        while i < wire.fields.len() {
            if wire.fields[i].is_quoted() {
                quotable |= 1 << i;
            }
            i += 1;
        }
        Self {
            quotable,
            extras_quotable,
        }
    }

    fn allows_quote_at(&self, index: usize, known: usize) -> bool {
        if index >= known {
            self.extras_quotable
        } else {
            index < 64 && self.quotable & (1 << index) != 0
        }
    }
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(line: &'a str) -> Self {
        Self {
            line,
            pos: 0,
            index: 0,
            quoted: 0,
            quotes_consumed: 0,
            block_start: usize::MAX,
            classes: BlockClasses::default(),
            quotes_in_blocks: 0,
            quotes_counted_to: 0,
        }
    }

    /// Classifies the block at `block` and counts its quotes, unless an earlier call counted
    /// them (a token read again after an error searches from its start again).
    fn classify(&mut self, block: usize) {
        self.classes = classify(self.line.as_bytes(), block);
        self.block_start = block;
        if block == self.quotes_counted_to {
            self.quotes_in_blocks += self.classes.quotes.count_ones() as usize;
            self.quotes_counted_to = block + 64;
        }
    }

    /// The `"` bytes of the whole line, from the blocks the tokens classified and the rest.
    fn quotes_in_line(&mut self) -> usize {
        while self.quotes_counted_to < self.line.len() {
            self.classify(self.quotes_counted_to);
        }
        self.quotes_in_blocks
    }

    /// The first byte at or after `from` in the class `pick` takes from a block's classes, if
    /// any. Blocks are classified once each, as the tokens move along the line.
    fn next_in_class(&mut self, from: usize, pick: fn(&BlockClasses) -> u64) -> Option<usize> {
        let bytes = self.line.as_bytes();
        let mut block = from & !63;
        let mut skip = from - block;
        while block < bytes.len() {
            if self.block_start != block {
                self.classify(block);
            }
            let bits = pick(&self.classes) & (u64::MAX << skip);
            if bits != 0 {
                return Some(block + bits.trailing_zeros() as usize);
            }
            block += 64;
            skip = 0;
        }
        None
    }

    /// The unparsed rest of the line (after the last token returned).
    #[cfg(test)]
    pub(crate) fn rest(&self) -> &'a str {
        &self.line[self.pos.min(self.line.len())..]
    }

    /// Fills `fields` with the line's first tokens and returns how many there were (at most
    /// `fields.len()`); see [`Tokens::check_quotes`] for the rest of the line.
    pub(crate) fn fill(&mut self, fields: &mut [Cow<'a, str>]) -> Result<usize, Reason> {
        let mut count = 0;
        while count < fields.len() {
            match self.next_token()? {
                Some(token) => fields[count] = token,
                None => break,
            }
            count += 1;
        }
        Ok(count)
    }

    /// Reads the rest of the line and fails when a quote sits where `layout` has no quoted
    /// field, `known` being the number of fields the layout names (see [`QuoteLayout`]).
    pub(crate) fn check_quotes(
        &mut self,
        layout: &QuoteLayout,
        known: usize,
    ) -> Result<(), Reason> {
        while self.next_token()?.is_some() {}
        let quoted_misplaced = (0..self.index.min(64))
            .find(|&i| self.quoted & (1 << i) != 0 && !layout.allows_quote_at(i, known));
        if let Some(i) = quoted_misplaced {
            return Err(format!(
                "field {} is quoted where the layout has a bare value; a quote inside an \
                 earlier quoted field would shift the columns",
                i + 1
            )
            .into());
        }
        if self.quotes_in_line() != self.quotes_consumed {
            return Err(self.stray_quote());
        }
        Ok(())
    }

    /// The reason for a `"` inside a bare token (found again on the slow path).
    fn stray_quote(&self) -> Reason {
        let mut again = Tokens::new(self.line);
        let mut field = 0;
        loop {
            let quoted = self.line.as_bytes().get(again.pos) == Some(&b'"');
            let Ok(Some(token)) = again.next_token() else {
                break;
            };
            field += 1;
            if !quoted && token.contains('"') {
                return format!(
                    "`\"` inside the bare field {field} (`{}`); a quote inside an earlier quoted \
                     field would shift the columns",
                    shown(&token)
                )
                .into();
            }
        }
        "`\"` outside the quoted fields".into()
    }

    /// Next token, `None` at the end of the line, or why the line cannot be split.
    pub(crate) fn next_token(&mut self) -> Result<Option<Cow<'a, str>>, Reason> {
        let bytes = self.line.as_bytes();
        let start = self.pos;
        if start >= bytes.len() {
            return Ok(None);
        }
        let index = self.index;
        self.index += 1;
        if bytes[start] != b'"' {
            let end = self
                .next_in_class(start, |c| c.spaces)
                .unwrap_or(bytes.len());
            self.pos = end + 1;
            return Ok(Some(Cow::Borrowed(&self.line[start..end])));
        }
        if index < 64 {
            self.quoted |= 1 << index;
        }
        let body = start + 1;
        let mut at = body;
        let mut escaped = false;
        let close = loop {
            match self.next_in_class(at, |c| c.quotes_or_escapes) {
                None => return Err(format!("unterminated quote at byte {start}").into()),
                Some(i) if bytes[i] == b'\\' => {
                    escaped = true;
                    if bytes.get(i + 1) == Some(&b'"') {
                        self.quotes_consumed += 1;
                    }
                    at = i + 2;
                    if at > bytes.len() {
                        return Err(format!("unterminated quote at byte {start}").into());
                    }
                }
                Some(i) => break i,
            }
        };
        match bytes.get(close + 1) {
            None | Some(b' ') => {}
            Some(_) => {
                return Err(
                    format!("no space after the quoted field closing at byte {close}").into(),
                );
            }
        }
        self.quotes_consumed += 2;
        self.pos = close + 2;
        let raw = &self.line[body..close];
        Ok(Some(if escaped {
            Cow::Owned(unescape(raw))
        } else {
            Cow::Borrowed(raw)
        }))
    }
}

/// Resolves `\x` to `x` (so `\"` is a quote and `\\` a backslash).
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `-` (bare or quoted) means NULL in every AWS text log.
#[inline]
pub(crate) fn text(value: &str) -> Option<&str> {
    (value != "-").then_some(value)
}

#[inline]
fn parse_integer(value: &str) -> Option<i64> {
    let (negative, digits) = match value.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut n = 0i64;
    for &b in digits {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n = n * 10 + i64::from(digit);
    }
    Some(if negative { -n } else { n })
}

pub(crate) fn int64(value: &str, column: &'static str) -> Result<Option<i64>, Reason> {
    if value == "-" {
        return Ok(None);
    }
    parse_integer(value)
        .map(Some)
        .ok_or_else(|| format!("invalid integer `{}` in column `{column}`", shown(value)).into())
}

pub(crate) fn int32(value: &str, column: &'static str) -> Result<Option<i32>, Reason> {
    if value == "-" {
        return Ok(None);
    }
    parse_integer(value)
        .and_then(|n| i32::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| format!("invalid integer `{}` in column `{column}`", shown(value)).into())
}

pub(crate) fn float64(value: &str, column: &'static str) -> Result<Option<f64>, Reason> {
    if value == "-" {
        return Ok(None);
    }
    if let Some(n) = plain_decimal(value) {
        return Ok(Some(n));
    }
    let plausible = value
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    match value.parse::<f64>() {
        Ok(n) if plausible && n.is_finite() => Ok(Some(n)),
        _ => Err(format!("invalid number `{}` in column `{column}`", shown(value)).into()),
    }
}

/// `value` when it is a decimal of at most 15 digits without exponent (`0.001`, `-1`, `12.50`,
/// the way AWS writes durations): its digits as an integer divided by a power of ten. Both are
/// exact in an `f64` and IEEE division rounds correctly, so this is the very value
/// `str::parse` returns (Clinger's fast path), without its general grammar; ALB's three
/// processing times spent 1.9 % of a conversion's CPU there. `None` for anything else, which
/// the general parser then takes.
#[inline]
fn plain_decimal(value: &str) -> Option<f64> {
    const POWERS_OF_TEN: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (negative, unsigned) = match value.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    let (whole, fraction) = match unsigned.iter().position(|&b| b == b'.') {
        Some(dot) => (&unsigned[..dot], &unsigned[dot + 1..]),
        None => (unsigned, &[][..]),
    };
    // At most 15 digits, so the integer stays below 2^53 and is exact as an f64.
    if whole.is_empty() || whole.len() + fraction.len() > 15 {
        return None;
    }
    let mut digits = 0u64;
    for &b in whole.iter().chain(fraction) {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        digits = digits * 10 + u64::from(digit);
    }
    let magnitude = digits as f64 / POWERS_OF_TEN[fraction.len()];
    Some(if negative { -magnitude } else { magnitude })
}

/// An ISO-8601 UTC timestamp in microseconds; `-` is NULL.
pub(crate) fn timestamp(value: &str, column: &'static str) -> Result<Option<i64>, Reason> {
    timestamp_by(value, column, crate::time::parse_iso8601_utc)
}

/// An ISO-8601 timestamp written without a zone (NLB), read as UTC; `-` is NULL.
pub(crate) fn zoneless_timestamp(value: &str, column: &'static str) -> Result<Option<i64>, Reason> {
    timestamp_by(value, column, crate::time::parse_iso8601_assume_utc)
}

fn timestamp_by(
    value: &str,
    column: &'static str,
    parse: fn(&str) -> Option<i64>,
) -> Result<Option<i64>, Reason> {
    if value == "-" {
        return Ok(None);
    }
    parse(value)
        .map(Some)
        .ok_or_else(|| format!("invalid timestamp `{}` in column `{column}`", shown(value)).into())
}

/// A timestamp that must be present (the event time that partitions the row).
pub(crate) fn required_timestamp(value: &str, column: &'static str) -> Result<i64, Reason> {
    timestamp(value, column)?
        .ok_or_else(|| format!("missing timestamp in column `{column}`").into())
}

/// A boolean written as `Yes` when set and `-` when not (S3 `aclRequired`).
pub(crate) fn yes_or_dash(value: &str, column: &'static str) -> Result<bool, Reason> {
    match value {
        "Yes" => Ok(true),
        "-" => Ok(false),
        _ => Err(format!(
            "invalid value `{}` in column `{column}`; expected `Yes` or `-`",
            shown(value)
        )
        .into()),
    }
}

/// Splits `ip:port` on the last `:` (IPv6 addresses contain colons), dropping `[...]` around an
/// IPv6 address. `-` gives two NULLs.
pub(crate) fn ip_port<'a>(
    value: &'a str,
    column: &'static str,
) -> Result<(Option<&'a str>, Option<i32>), Reason> {
    if value == "-" {
        return Ok((None, None));
    }
    // The port is a few bytes from the end: a loop from there beats starting a search.
    let Some(colon) = value.bytes().rposition(|b| b == b':') else {
        return Err(format!("invalid ip:port `{}` in column `{column}`", shown(value)).into());
    };
    let ip = &value[..colon];
    let ip = ip
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(ip);
    let port = parse_integer(&value[colon + 1..])
        .filter(|p| (0..=65_535).contains(p))
        .ok_or_else(|| format!("invalid port in `{}` in column `{column}`", shown(value)))?;
    if ip.is_empty() {
        return Err(format!("invalid ip:port `{}` in column `{column}`", shown(value)).into());
    }
    Ok((Some(ip), Some(port as i32)))
}

/// A request line `VERB URL PROTO`, split at the first and the last space so a URL with spaces
/// stays whole. One trailing space (as in `"- - - "`) is dropped first. Each part `-` is NULL.
pub(crate) fn request_line(value: &str) -> [Option<&str>; 3] {
    let value = value.strip_suffix(' ').unwrap_or(value);
    // The verb and the protocol are a few bytes long: loops from either end beat searches.
    let Some(first) = value.bytes().position(|b| b == b' ') else {
        return [text(value), None, None];
    };
    let verb = &value[..first];
    let rest = &value[first + 1..];
    match rest.bytes().rposition(|b| b == b' ') {
        Some(last) => [text(verb), text(&rest[..last]), text(&rest[last + 1..])],
        None => [text(verb), text(rest), None],
    }
}

/// Whether `s` looks like an AWS region name: `us-east-1`, `us-gov-west-1`, `ap-southeast-4`.
pub fn looks_like_region(s: &str) -> bool {
    let mut parts = s.split('-');
    let Some(first) = parts.next() else {
        return false;
    };
    let rest: Vec<&str> = parts.collect();
    first.len() == 2
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && rest.len() >= 2
        && rest
            .last()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && rest[..rest.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
}

/// The region of an AWS-delivered key: the folder after `<service>/` (`AWSLogs/<account>/<service>/<region>/...`),
/// else the `_<service>_<region>_` part of the file name.
pub(crate) fn region_in_key(key: &str, service: &str) -> Option<String> {
    let folder = format!("{service}/");
    let mut segments = key.split('/');
    while let Some(segment) = segments.next() {
        if format!("{segment}/") == folder
            && let Some(region) = segments.next().filter(|r| looks_like_region(r))
        {
            return Some(region.to_owned());
        }
    }
    let file = key.rsplit('/').next().unwrap_or(key);
    let marker = format!("_{service}_");
    let after = &file[file.find(&marker)? + marker.len()..];
    let region = &after[..after.find('_')?];
    looks_like_region(region).then(|| region.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(line: &str) -> Result<Vec<String>, Reason> {
        let mut t = Tokens::new(line);
        let mut out = Vec::new();
        while let Some(tok) = t.next_token()? {
            out.push(tok.into_owned());
        }
        Ok(out)
    }

    #[test]
    fn tokenizer_cases() {
        assert_eq!(tokens("a b c").unwrap(), ["a", "b", "c"]);
        assert_eq!(tokens(r#"a "b c" d"#).unwrap(), ["a", "b c", "d"]);
        assert_eq!(tokens(r#""" x"#).unwrap(), ["", "x"]);
        assert_eq!(
            tokens(r#""say \"hi\"" \\"#).unwrap(),
            [r#"say "hi""#, r"\\"]
        );
        assert_eq!(tokens(r#""a\\" b"#).unwrap(), [r"a\", "b"]);
        assert_eq!(tokens("a  b").unwrap(), ["a", "", "b"]);
        assert_eq!(tokens("é ü").unwrap(), ["é", "ü"]);
        assert!(tokens(r#""-"1 x"#).is_err());
        assert!(tokens(r#""open"#).is_err());
        assert!(tokens(r#""trailing\"#).is_err());
    }

    /// The tokenizer's rules one byte at a time, with no search and no masks: what
    /// [`Tokens`] must agree with on every line.
    fn reference_tokens(line: &str) -> Option<Vec<String>> {
        let bytes = line.as_bytes();
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < bytes.len() {
            if bytes[pos] != b'"' {
                let end = (pos..bytes.len())
                    .find(|&i| bytes[i] == b' ')
                    .unwrap_or(bytes.len());
                out.push(line[pos..end].to_owned());
                pos = end + 1;
                continue;
            }
            let mut i = pos + 1;
            loop {
                match bytes.get(i)? {
                    b'\\' if i + 1 < bytes.len() => i += 2,
                    b'\\' => return None,
                    b'"' => break,
                    _ => i += 1,
                }
            }
            if !matches!(bytes.get(i + 1), None | Some(b' ')) {
                return None;
            }
            out.push(unescape(&line[pos + 1..i]));
            pos = i + 2;
        }
        Some(out)
    }

    #[test]
    fn plain_decimals_take_the_fast_path_and_the_rest_the_general_parser() {
        for value in [
            "0.000",
            "0.001",
            "-1",
            "12.50",
            "5.",
            "007.25",
            "-0.0",
            "999999999999999",
        ] {
            let fast = plain_decimal(value).unwrap_or_else(|| panic!("{value}"));
            assert_eq!(
                fast.to_bits(),
                value.parse::<f64>().unwrap().to_bits(),
                "{value}"
            );
        }
        for value in [
            ".5",
            "+1",
            "1e3",
            "1.2.3",
            "-",
            "",
            "1_0",
            "9999999999999999",
            "0.0000000000000001",
            // 17 digits: past 2^53, where digits over a power of ten round twice (found by the
            // property test below when the bound was raised to 17).
            "720600000000.00593",
        ] {
            assert_eq!(plain_decimal(value), None, "{value}");
        }
        assert_eq!(float64(".5", "t").unwrap(), Some(0.5));
        assert_eq!(float64("1e3", "t").unwrap(), Some(1000.0));
        assert!(float64("1.2.3", "t").is_err());
        assert!(float64("inf", "t").is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// Wherever the fast path answers, it answers the bits `str::parse` gives.
        #[test]
        fn plain_decimals_parse_to_the_bits_std_gives(
            sign in proptest::prelude::any::<bool>(),
            whole in "[0-9]{0,16}",
            dot in proptest::prelude::any::<bool>(),
            fraction in "[0-9]{0,16}",
        ) {
            let value = format!("{}{whole}{}{fraction}", if sign { "-" } else { "" }, if dot { "." } else { "" });
            if let Some(fast) = plain_decimal(&value) {
                let general = value.parse::<f64>().unwrap();
                proptest::prop_assert_eq!(fast.to_bits(), general.to_bits(), "{}", value);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]
        /// Lines of spaces, quotes, backslashes and text across several 64-byte blocks split
        /// alike, or fail alike.
        #[test]
        fn tokens_agree_with_the_byte_by_byte_rules(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::Just(" "), proptest::prelude::Just("\""),
                    proptest::prelude::Just("\\"), proptest::prelude::Just("a"),
                    proptest::prelude::Just("é"), proptest::prelude::Just("word-of-text"),
                    proptest::prelude::Just(r#""quoted field with spaces" "#),
                ],
                0..80,
            )
        ) {
            let line: String = pieces.concat();
            proptest::prop_assert_eq!(tokens(&line).ok(), reference_tokens(&line), "{:?}", line);
            // However far the tokens got, the line's quotes are all counted, once.
            let mut partly = Tokens::new(&line);
            for _ in 0..pieces.len() % 5 {
                let _ = partly.next_token();
            }
            let quotes = line.bytes().filter(|&b| b == b'"').count();
            proptest::prop_assert_eq!(partly.quotes_in_line(), quotes);
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(int32("200", "c"), Ok(Some(200)));
        assert_eq!(int32("-", "c"), Ok(None));
        assert_eq!(int32("-1", "c"), Ok(Some(-1)));
        assert!(int32("2147483648", "c").is_err());
        assert!(int32("", "c").is_err());
        assert!(int32("20a", "c").is_err());
        assert_eq!(
            int64("9223372036854775", "c"),
            Ok(Some(9_223_372_036_854_775))
        );
        assert!(int64("99999999999999999999", "c").is_err());
        assert_eq!(float64("-1", "c"), Ok(Some(-1.0)));
        assert_eq!(float64("0.086", "c"), Ok(Some(0.086)));
        assert!(float64("inf", "c").is_err());
        assert!(float64("NaN", "c").is_err());
        assert!(float64("1e999", "c").is_err());
    }

    #[test]
    fn ip_ports() {
        assert_eq!(
            ip_port("10.0.0.1:80", "c"),
            Ok((Some("10.0.0.1"), Some(80)))
        );
        assert_eq!(ip_port("-", "c"), Ok((None, None)));
        assert_eq!(
            ip_port("fd6d:6bbc:c529:6::face:ed83:f46:80", "c"),
            Ok((Some("fd6d:6bbc:c529:6::face:ed83:f46"), Some(80)))
        );
        assert_eq!(
            ip_port("[2001:db8::1]:443", "c"),
            Ok((Some("2001:db8::1"), Some(443)))
        );
        assert!(ip_port("10.0.0.1", "c").is_err());
        assert!(ip_port("10.0.0.1:99999", "c").is_err());
        assert!(ip_port(":80", "c").is_err());
    }

    #[test]
    fn request_lines() {
        assert_eq!(
            request_line("GET http://www.example.com:80/ HTTP/1.1"),
            [
                Some("GET"),
                Some("http://www.example.com:80/"),
                Some("HTTP/1.1")
            ]
        );
        assert_eq!(
            request_line("GET http://h/a b;c HTTP/1.1"),
            [Some("GET"), Some("http://h/a b;c"), Some("HTTP/1.1")]
        );
        assert_eq!(request_line("- - - "), [None, None, None]);
        assert_eq!(request_line("- - -"), [None, None, None]);
        assert_eq!(
            request_line("- http://www.example.com:80- -"),
            [None, Some("http://www.example.com:80-"), None]
        );
        assert_eq!(
            request_line("- http://h:80-/ "),
            [None, Some("http://h:80-/"), None]
        );
        assert_eq!(request_line("-"), [None, None, None]);
        assert_eq!(request_line(""), [Some(""), None, None]);
    }

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "us-gov-west-1",
            "ap-southeast-4",
            "eu-central-2",
        ] {
            assert!(looks_like_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us",
            "us-east",
            "US-EAST-1",
            "2022",
            "us--1",
            "useast-1",
        ] {
            assert!(!looks_like_region(bad), "{bad}");
        }
        let key = "logs/AWSLogs/123456789012/elasticloadbalancing/us-east-2/2022/05/01/x.log.gz";
        assert_eq!(
            region_in_key(key, "elasticloadbalancing").as_deref(),
            Some("us-east-2")
        );
        let file =
            "123456789012_elasticloadbalancing_eu-west-1_app.lb.1_20140215T2340Z_1.2.3.4_x.log.gz";
        assert_eq!(
            region_in_key(file, "elasticloadbalancing").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(region_in_key("access.log", "elasticloadbalancing"), None);
    }
}
