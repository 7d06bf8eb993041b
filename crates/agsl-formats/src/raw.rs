//! How Athena reads a format's objects as AWS delivered them (the raw table), described by the
//! format itself so that the catalog layer renders it without knowing any format; and the wire
//! layout of space-separated formats, declared once per format and read by both the parser (its
//! field count and quoted positions) and the raw table's regular expression.
//!
//! Choices: every Regex SerDe column is `string` (a value that does not cast would turn NULL or
//! drop the row, depending on the engine; the converted table is the typed one). Fields AWS
//! added over the years are optional at the end of each pattern, so old and new lines match,
//! and unknown trailing fields are ignored. The patterns use only what Java's and Rust's regex
//! engines share, so agsl's tests check them against the corpus with the `regex` crate, and in
//! Java itself. Athena matches them with `java.util.regex` on threads with a 1 MB stack, where
//! a repeated alternation (`(?:[^"\\]|\\.)*`) recurses once per character and overflows on
//! lines with fields of a few KB; so every repetition is of a character class (iterative in
//! Java) or an unrolled loop that repeats once per escape, never per character. Quoted fields
//! use possessive loops (`*+`), which Java runs without recursion however many escapes a user
//! agent holds; they match exactly what the greedy loops match (the classes exclude the
//! character that follows them), and the `regex` crate, which has no possessive quantifiers,
//! checks their greedy twin ([`greedy_twin`]). The request line's URL must give back its last
//! space to the protocol, so its loop stays greedy: it recurses once per escaped quote, which
//! URLs (percent-encoded) do not carry in the hundreds.

/// One field of a space-separated line, in wire order, and the raw-table columns it fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireField {
    /// A token up to the next space.
    Bare(&'static str),
    /// `"…"` with `\"` escapes (load balancers escape quotes).
    Quoted(&'static str),
    /// `"…"` or a bare token (producers differ: ALB target lists, older domain names).
    MaybeQuoted(&'static str),
    /// `"…"` that may hold unescaped quotes (S3), or a bare `-` (NULL).
    QuotedOrDash(&'static str),
    /// `[…]` (S3 time).
    Bracketed(&'static str),
    /// `ip:port`, split on the last `:`.
    IpPort(&'static str, &'static str),
    /// `ip:port` or `-` (both NULL).
    IpPortOrDash(&'static str, &'static str),
    /// `"VERB URL PROTO"`, split at the first and last space.
    Request,
}

impl WireField {
    /// Whether the field is written between quotes (always or sometimes).
    pub const fn is_quoted(self) -> bool {
        matches!(
            self,
            WireField::Quoted(_)
                | WireField::MaybeQuoted(_)
                | WireField::QuotedOrDash(_)
                | WireField::Request
        )
    }

    /// The name of the field's first column (its only one, but for `ip:port` and requests).
    pub const fn name(self) -> &'static str {
        match self {
            WireField::Bare(c)
            | WireField::Quoted(c)
            | WireField::MaybeQuoted(c)
            | WireField::QuotedOrDash(c)
            | WireField::Bracketed(c)
            | WireField::IpPort(c, _)
            | WireField::IpPortOrDash(c, _) => c,
            WireField::Request => "request",
        }
    }

    /// The raw-table columns the field fills, in order.
    pub fn columns(self) -> Vec<&'static str> {
        match self {
            WireField::Bare(c)
            | WireField::Quoted(c)
            | WireField::MaybeQuoted(c)
            | WireField::QuotedOrDash(c)
            | WireField::Bracketed(c) => vec![c],
            WireField::IpPort(ip, port) | WireField::IpPortOrDash(ip, port) => vec![ip, port],
            WireField::Request => vec!["request_verb", "request_url", "request_proto"],
        }
    }

    fn pattern(self) -> &'static str {
        match self {
            WireField::Bare(_) => r"([^ ]*)",
            WireField::Quoted(_) => r#""([^"\\]*+(?:\\.[^"\\]*+)*+)""#,
            WireField::MaybeQuoted(_) => r#""?([^"]*?)"?"#,
            WireField::QuotedOrDash(_) => r#"(?:"(.*?)"|-)"#,
            WireField::Bracketed(_) => r"\[([^\]]*)\]",
            WireField::IpPort(..) => r"([^ ]*):([0-9]*)",
            WireField::IpPortOrDash(..) => r"(?:([^ ]*):([0-9]*)|-)",
            WireField::Request => r#""([^ "]*) ([^"\\]*(?:\\.[^"\\]*)*) ([^ "]*)""#,
        }
    }
}

/// The fields of a space-separated line in wire order: the first `required` on every line AWS
/// ever wrote, later ones on newer lines only, anything past them ignored.
#[derive(Debug, Clone, Copy)]
pub struct WireLayout {
    pub fields: &'static [WireField],
    pub required: usize,
}

impl WireLayout {
    /// The fields AWS documents today.
    pub const fn known(&self) -> usize {
        self.fields.len()
    }

    /// The position of the field named `name` (its first column, `request` for a request
    /// line); evaluated in a constant, a name the layout lacks fails the build.
    pub const fn position(&self, name: &str) -> usize {
        let mut i = 0;
        while i < self.fields.len() {
            if str_eq(self.fields[i].name(), name) {
                return i;
            }
            i += 1;
        }
        panic!("the wire layout has no field of that name")
    }

    /// The name of each field by position (see [`WireField::name`]), for reject reasons.
    pub const fn names<const N: usize>(&self) -> [&'static str; N] {
        assert!(N == self.fields.len(), "one name per field");
        let mut names = [""; N];
        let mut i = 0;
        while i < N {
            names[i] = self.fields[i].name();
            i += 1;
        }
        names
    }

    /// The whole-line pattern (the Regex SerDe matches whole lines): the required fields
    /// always, each later one only after the one before it, anything unknown after.
    pub fn line_regex(&self) -> String {
        let mut regex = String::new();
        for (i, field) in self.fields[..self.required].iter().enumerate() {
            if i > 0 {
                regex.push(' ');
            }
            regex.push_str(field.pattern());
        }
        let optional = &self.fields[self.required..];
        for field in optional {
            regex.push_str("(?: ");
            regex.push_str(field.pattern());
        }
        regex.push_str(&")?".repeat(optional.len()));
        regex.push_str("(?: .*)?");
        regex
    }

    /// The raw-table columns of every field, in order.
    pub fn columns(&self) -> Vec<&'static str> {
        self.fields.iter().flat_map(|f| f.columns()).collect()
    }
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The pattern with every possessive quantifier (`*+`, `++`) made greedy: the same matches for
/// agsl's patterns, in a form the `regex` crate (which has no possessive quantifiers) accepts.
pub fn greedy_twin(pattern: &str) -> String {
    pattern.replace("*+", "*").replace("++", "+")
}

/// A raw-table column with its Hive type.
pub type TypedColumn = (&'static str, &'static str);

/// How Athena parses the objects of a raw table.
#[derive(Debug, Clone, Copy)]
pub enum RawSerde {
    /// Hive's Regex SerDe over whole lines, one `string` column per capture.
    Regex(WireLayout),
    /// Delimited text (LazySimpleSerDe) with header lines skipped.
    Delimited {
        separator: &'static str,
        header_lines: u32,
        columns: &'static [TypedColumn],
        /// Whether each object's header line names its fields (VPC custom formats): the raw
        /// columns then follow the header, typed as in `columns` when named there.
        header_names_columns: bool,
    },
    /// One JSON object per line, read by the OpenX JSON SerDe (as in AWS's Athena DDL for
    /// WAF); nested values typed as in `columns`. `key_mapping` pairs a column with the JSON
    /// key it reads when the key is no valid column name (`cs_host` reads `cs(Host)`).
    JsonLines {
        columns: &'static [TypedColumn],
        key_mapping: &'static [(&'static str, &'static str)],
    },
    /// A SerDe and input format of the service's own (CloudTrail's).
    Custom {
        classification: &'static str,
        input_format: &'static str,
        serde_library: &'static str,
        columns: &'static [TypedColumn],
    },
}

/// How a raw table's partitions map onto the source folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawLayout {
    /// `…/<region>/<yyyy>/<mm>/<dd>/` folders, one partition each (not Hive-style).
    RegionDateFolders,
    /// One flat prefix; the table is not partitioned (the seed's NullPartitioner).
    Flat,
}

/// A format's raw table, as AWS's published Athena DDL reads it.
#[derive(Debug, Clone, Copy)]
pub struct RawTable {
    pub serde: RawSerde,
    pub layout: RawLayout,
}

impl RawTable {
    /// JSON records, one per line, read by the OpenX JSON SerDe over the whole prefix, whose
    /// keys are the column names (WAF, Route 53 Resolver): their delivery folders are not
    /// the region/date folders raw partitions are read from.
    pub const fn json_lines(columns: &'static [TypedColumn]) -> RawTable {
        RawTable {
            serde: RawSerde::JsonLines {
                columns,
                key_mapping: &[],
            },
            layout: RawLayout::Flat,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_fields_nest_after_the_required_ones() {
        let layout = WireLayout {
            fields: &[
                WireField::Bare("a"),
                WireField::Quoted("b"),
                WireField::Bare("c"),
            ],
            required: 2,
        };
        assert_eq!(
            layout.line_regex(),
            r#"([^ ]*) "([^"\\]*+(?:\\.[^"\\]*+)*+)"(?: ([^ ]*))?(?: .*)?"#
        );
        assert_eq!(layout.columns(), ["a", "b", "c"]);
        assert_eq!(layout.position("c"), 2);
        assert_eq!(layout.names::<3>(), ["a", "b", "c"]);
        assert_eq!(greedy_twin(r#"[^"]*+x++"#), r#"[^"]*x+"#);
    }
}
