//! Splits a line at every occurrence of one ASCII byte, as `str::split` does (empty fields
//! between adjacent delimiters included), for the formats whose fields are never quoted: VPC
//! Flow and NLB (spaces), CloudFront (TABs). Field ends come from one bitmask per 64-byte block
//! ([`super::byte_classes::occurrences`]) instead of a search per field: these fields are a
//! few bytes long, where starting a search costs more than the search itself (VPC Flow converts
//! a fifth faster).

use super::byte_classes::occurrences;

/// The fields of `line` between `delimiter`s, in order; always at least one (an empty line is
/// one empty field). `delimiter` must be ASCII, so that fields end on character boundaries.
pub(crate) fn split_on(line: &str, delimiter: u8) -> Split<'_> {
    assert!(delimiter.is_ascii(), "a field delimiter is one ASCII byte");
    Split {
        line,
        delimiter,
        block_start: 0,
        mask: occurrences(line.as_bytes(), 0, delimiter),
        field_start: 0,
        done: false,
    }
}

/// The iterator of [`split_on`].
pub(crate) struct Split<'a> {
    line: &'a str,
    delimiter: u8,
    /// The block whose delimiters `mask` holds (those not yet consumed).
    block_start: usize,
    mask: u64,
    field_start: usize,
    done: bool,
}

impl<'a> Iterator for Split<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.done {
            return None;
        }
        loop {
            if self.mask != 0 {
                let end = self.block_start + self.mask.trailing_zeros() as usize;
                self.mask &= self.mask - 1;
                // SAFETY: `field_start` is 0 or just past an earlier delimiter, `end` is a later
                // delimiter's index; the delimiter is one ASCII byte, so both are character
                // boundaries of `line`, in order.
                let field = unsafe { self.line.get_unchecked(self.field_start..end) };
                self.field_start = end + 1;
                return Some(field);
            }
            self.block_start += 64;
            if self.block_start >= self.line.len() {
                self.done = true;
                return Some(&self.line[self.field_start..]);
            }
            self.mask = occurrences(self.line.as_bytes(), self.block_start, self.delimiter);
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::split_on;

    #[test]
    fn edges_split_as_str_split_does() {
        let long = format!("{} x", "a ".repeat(70));
        for line in ["", " ", "  ", "a", "a b", " a", "a ", "a  b", "é ü", &long] {
            assert_eq!(
                split_on(line, b' ').collect::<Vec<_>>(),
                line.split(' ').collect::<Vec<_>>(),
                "{line:?}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        /// Any text, with delimiters dense or sparse and lines across several blocks.
        #[test]
        fn fields_are_those_of_str_split(
            line in "([ \\t|\\x00]{0,3}[a-z0-9é\"-]{0,9}){0,40}",
            delimiter in prop::sample::select(vec![b' ', b'\t', b'|', 0]),
        ) {
            prop_assert_eq!(
                split_on(&line, delimiter).collect::<Vec<_>>(),
                line.split(char::from(delimiter)).collect::<Vec<_>>()
            );
        }
    }
}
