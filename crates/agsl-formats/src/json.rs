//! JSON helpers for the JSON formats (CloudTrail, WAF): read an object's top-level keys in order without copying their
//! values (`RawValue`), turn values into column text, and compact raw JSON so pretty-printed
//! deliveries store the same text as compact ones.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// The top-level members of a JSON object, in the order received, values unparsed.
pub(crate) struct Members<'a>(pub Vec<(Cow<'a, str>, &'a RawValue)>);

/// A key borrowed from the input when it has no escapes, owned otherwise.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(24));
                while let Some((key, value)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    members.push((key.0, value));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

/// `raw` without insignificant whitespace; borrowed when it has none.
pub(crate) fn compact(raw: &str) -> Cow<'_, str> {
    let bytes = raw.as_bytes();
    let needs_work = {
        let mut in_string = false;
        let mut escaped = false;
        bytes.iter().any(|&b| {
            if in_string {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
                false
            } else {
                in_string = b == b'"';
                b.is_ascii_whitespace()
            }
        })
    };
    if !needs_work {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in raw.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_ascii_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A value for a text column: a JSON string unescaped, `null` as NULL, anything else (number,
/// boolean, object) as its compact JSON text, so no value is lost to a type surprise.
pub(crate) fn text(raw: &RawValue) -> Option<Cow<'_, str>> {
    let json = raw.get();
    if json == "null" {
        return None;
    }
    if let Some(inner) = json.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        // `raw` is valid JSON, so a string without escapes is its content verbatim: no second
        // parse (this is the common case, and the hot path of every JSON format).
        if !inner.contains('\\') {
            return Some(Cow::Borrowed(inner));
        }
        if let Ok(owned) = serde_json::from_str::<String>(json) {
            return Some(Cow::Owned(owned));
        }
    }
    Some(compact(json))
}

/// A boolean column: JSON `true`/`false`, or the strings `"true"`/`"false"`; `null` is NULL.
pub(crate) fn boolean(raw: &RawValue) -> Result<Option<bool>, String> {
    match raw.get() {
        "null" => Ok(None),
        "true" | "\"true\"" => Ok(Some(true)),
        "false" | "\"false\"" => Ok(Some(false)),
        other => Err(other.chars().take(64).collect()),
    }
}

/// An integer column: a JSON integer, or a string holding one (producers drift); `null` is
/// NULL. The error carries the value's start, for the reject reason.
pub(crate) fn integer(raw: &RawValue) -> Result<Option<i64>, String> {
    let json = raw.get();
    if json == "null" {
        return Ok(None);
    }
    let digits = json
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(json);
    digits
        .parse()
        .map(Some)
        .map_err(|_| json.chars().take(64).collect())
}

/// A raw-JSON column: the compact text, `null` as NULL.
pub(crate) fn raw(raw: &RawValue) -> Option<Cow<'_, str>> {
    (raw.get() != "null").then(|| compact(raw.get()))
}

/// Members a format has no column for, as one compact object in the order received, with the
/// unknown members of one nested object (`httpRequest`, `srcids`) under `nested_key`; `None`
/// when there are none. This is the `json_other` column: nothing a record holds is lost.
pub(crate) fn other_members(
    top: &[(Cow<'_, str>, &RawValue)],
    nested_key: &str,
    nested: &[(Cow<'_, str>, &RawValue)],
) -> Option<String> {
    if top.is_empty() && nested.is_empty() {
        return None;
    }
    let mut out = String::from("{");
    let push_members = |out: &mut String, members: &[(Cow<'_, str>, &RawValue)]| {
        for (i, (key, value)) in members.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_key(out, key);
            out.push_str(&compact(value.get()));
        }
    };
    push_members(&mut out, top);
    if !nested.is_empty() {
        if !top.is_empty() {
            out.push(',');
        }
        push_key(&mut out, nested_key);
        out.push('{');
        push_members(&mut out, nested);
        out.push('}');
    }
    out.push('}');
    Some(out)
}

/// `"key":`, the key escaped as JSON.
fn push_key(out: &mut String, key: &str) {
    out.push_str(&serde_json::to_string(key).unwrap_or_else(|_| "\"\"".into()));
    out.push(':');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacting_keeps_strings_intact() {
        assert_eq!(compact(r#"{"a":1}"#), Cow::Borrowed(r#"{"a":1}"#));
        assert_eq!(
            compact("{\n  \"a b\": [1, 2],\n  \"c\": \"x \\\" y\"\n}"),
            r#"{"a b":[1,2],"c":"x \" y"}"#
        );
        assert_eq!(
            compact(r#"{ "k" : "\\" , "l":"é ü" }"#),
            r#"{"k":"\\","l":"é ü"}"#
        );
    }

    #[test]
    fn members_in_order_and_values() {
        let json = r#"{"b":"x\ny","a":null,"c":{"d": 1},"e\u0041":true,"n":200}"#;
        let members: Members<'_> = serde_json::from_str(json).unwrap();
        let keys: Vec<&str> = members.0.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["b", "a", "c", "eA", "n"]);
        assert_eq!(text(members.0[0].1).as_deref(), Some("x\ny"));
        assert_eq!(text(members.0[1].1), None);
        assert_eq!(text(members.0[2].1).as_deref(), Some(r#"{"d":1}"#));
        assert_eq!(text(members.0[4].1).as_deref(), Some("200"));
        let plain: &RawValue = serde_json::from_str(r#""a b""#).unwrap();
        assert!(matches!(text(plain), Some(Cow::Borrowed("a b"))));
        let empty: &RawValue = serde_json::from_str(r#""""#).unwrap();
        assert_eq!(text(empty).as_deref(), Some(""));
        let escaped: &RawValue = serde_json::from_str(r#""\u00e9\"\\""#).unwrap();
        assert_eq!(text(escaped).as_deref(), Some("é\"\\"));
        assert_eq!(boolean(members.0[3].1), Ok(Some(true)));
        assert!(boolean(members.0[4].1).is_err());
        assert_eq!(raw(members.0[1].1), None);
        assert_eq!(integer(members.0[4].1), Ok(Some(200)));
        assert_eq!(integer(members.0[1].1), Ok(None));
        assert!(integer(members.0[0].1).is_err());
    }
}
