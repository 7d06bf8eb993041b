//! `shared/corpus/cloudfront_v2`: one JSON record in the v2 key style and its legacy twin (two
//! requests, `#Version`/`#Fields` header). No real v2 delivery is public (MANIFEST.md), so the
//! documented examples are tested with the format's unit tests; here both files convert and
//! the shared request gives the same row, but for the two values the JSON's author mistyped.

use agsl_formats::{CloudfrontFormat, CloudfrontV2Format, LogFormat};
use arrow_array::RecordBatch;

const JSON: &str = "loki-lambda-promtail-cloudfront.json";
const W3C: &str = "lambda-promtail-cloudfront.log";

fn first_row(decoded: &agsl_formats::Decoded) -> RecordBatch {
    decoded.batches[0].slice(0, 1)
}

#[test]
fn both_files_convert_and_agree_on_the_shared_request() {
    let json = crate::decode_corpus(&CloudfrontV2Format::default(), "cloudfront_v2", JSON);
    assert_eq!(
        (json.counts.rows, json.counts.rejects),
        (1, 0),
        "{:?}",
        json.rejects
    );
    let w3c = crate::decode_corpus(&CloudfrontV2Format::default(), "cloudfront_v2", W3C);
    assert_eq!(
        (w3c.counts.rows, w3c.counts.rejects),
        (2, 0),
        "{:?}",
        w3c.rejects
    );
    assert_eq!(w3c.counts.skipped_lines, 2, "the two header lines");

    let (json_row, w3c_row) = (first_row(&json), first_row(&w3c));
    let slips = ["x_forwarded_for", "time_to_first_byte"];
    for field in CloudfrontV2Format::default().schema().fields() {
        let name = field.name();
        let (a, b) = (
            json_row.column_by_name(name).unwrap(),
            w3c_row.column_by_name(name).unwrap(),
        );
        if slips.contains(&name.as_str()) {
            assert_ne!(a.to_data(), b.to_data(), "{name} is one of the slips");
        } else {
            assert_eq!(a.to_data(), b.to_data(), "{name}");
        }
    }
    // The slips, as MANIFEST.md describes them.
    assert_eq!(
        crate::strings(&json, "x_forwarded_for")[0].as_deref(),
        Some("10.3.200.121, 2010.56.14.213")
    );
    assert_eq!(
        crate::strings(&w3c, "x_forwarded_for")[0].as_deref(),
        Some("10.3.200.121,\\x2010.56.14.213")
    );

    // The legacy parser reads the twin into the same legacy columns.
    let legacy = crate::decode_corpus(&CloudfrontFormat, "cloudfront_v2", W3C);
    let legacy_row = first_row(&legacy);
    for field in CloudfrontFormat.schema().fields() {
        let name = field.name();
        assert_eq!(
            legacy_row.column_by_name(name).unwrap().to_data(),
            w3c_row.column_by_name(name).unwrap().to_data(),
            "{name}"
        );
    }
}
