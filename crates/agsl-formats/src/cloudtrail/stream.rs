//! CloudTrail documents too large to hold in memory, read as a stream: the `Records` array is
//! walked element by element (each record's raw JSON is held only while it is decoded), so a
//! gigabyte document or a gzip bomb costs one record of memory, not the document.
//!
//! The output is the in-memory path's: the same rows and rejects, record by record. Only a
//! document that breaks off differs: the records before the damage are kept, and the object gets
//! one reject saying after which record it broke (the in-memory path rejects it whole).

use std::fmt;
use std::io::{self, BufRead, Read};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{CloudtrailDecoder, reject_object};
use crate::decode::{DecodeCounts, DecodeError, DecodeOutput, MAX_LINE_BYTES};

/// Decodes an object whose first `head` bytes were read already and whose rest is `input`.
pub(super) fn decode(
    decoder: &mut CloudtrailDecoder,
    head: Vec<u8>,
    input: &mut dyn BufRead,
    output: &mut dyn DecodeOutput,
    counts: &mut DecodeCounts,
) -> Result<(), DecodeError> {
    let mut kept = Vec::new();
    let mut read = 0u64;
    let reader = Counting {
        inner: io::Cursor::new(head).chain(input),
        read: &mut read,
        kept: &mut kept,
    };
    let mut walk = Walk {
        decoder,
        output,
        counts,
        failed: None,
        records: 0,
        found_records: false,
        found_digest: false,
    };
    let mut json =
        serde_json::Deserializer::from_reader(io::BufReader::with_capacity(1 << 16, reader));
    let parsed = (&mut walk).deserialize(&mut json).and_then(|()| json.end());
    drop(json);
    let Walk {
        decoder,
        output,
        counts,
        failed,
        records,
        found_records,
        found_digest,
    } = walk;
    counts.bytes += read;
    if let Some(error) = failed {
        return Err(error);
    }
    decoder.flush(output)?;
    match parsed {
        Ok(()) if found_records => Ok(()),
        Ok(()) if found_digest => {
            counts.skipped_lines += 1;
            Ok(())
        }
        Ok(()) => reject_object(
            &kept,
            "no `Records` array: not a CloudTrail log file".into(),
            output,
            counts,
        ),
        Err(error) if error.is_io() => Err(DecodeError::Read {
            line: records,
            source: error.into(),
        }),
        Err(error) => reject_object(
            &kept,
            format!("object is not valid JSON after record {records}: {error}"),
            output,
            counts,
        ),
    }
}

/// Counts the decompressed bytes read and keeps the first [`MAX_LINE_BYTES`] of them, the raw
/// bytes of a reject standing for the whole object.
struct Counting<'a, R> {
    inner: R,
    read: &'a mut u64,
    kept: &'a mut Vec<u8>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        *self.read += n as u64;
        let room = MAX_LINE_BYTES.saturating_sub(self.kept.len()).min(n);
        self.kept.extend_from_slice(&buf[..room]);
        Ok(n)
    }
}

/// The state of one walk over a document.
struct Walk<'d> {
    decoder: &'d mut CloudtrailDecoder,
    output: &'d mut dyn DecodeOutput,
    counts: &'d mut DecodeCounts,
    /// An output failure, returned once serde has unwound.
    failed: Option<DecodeError>,
    records: u64,
    found_records: bool,
    found_digest: bool,
}

impl<'de> DeserializeSeed<'de> for &mut Walk<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for &mut Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CloudTrail log file object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "Records" => map.next_value_seed(Records(&mut *self))?,
                "digestStartTime" => {
                    self.found_digest = true;
                    map.next_value::<IgnoredAny>()?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The `Records` array (`null` counts as absent, as in memory), decoded element by element.
struct Records<'w, 'd>(&'w mut Walk<'d>);

impl<'de> DeserializeSeed<'de> for Records<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Records<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the `Records` array")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.0.found_records = true;
        deserializer.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let walk = self.0;
        while let Some(record) = seq.next_element::<Box<RawValue>>()? {
            walk.records += 1;
            let number = walk.records;
            if let Err(error) = walk
                .decoder
                .record(number, record.get(), walk.output, walk.counts)
            {
                walk.failed = Some(error);
                return Err(de::Error::custom("the output failed"));
            }
        }
        Ok(())
    }
}
