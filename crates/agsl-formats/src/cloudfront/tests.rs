//! Per-field CloudFront tests. Expected values from FORMATS.md section 3 (the AWS example lines).

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType};

use crate::test_support::{int32, int64, text};
use crate::{CloudfrontFormat, Decoded, LogFormat, Route};

const HEADER: &str = "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end\n";
const DOC: &str = "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/index.html\t200\t-\tMozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/78.0.3904.108%20Safari/537.36\t-\t-\tHit\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\td111111abcdef8.cloudfront.net\thttps\t23\t0.001\t-\tTLSv1.2\tECDHE-RSA-AES128-GCM-SHA256\tHit\tHTTP/2.0\t-\t-\t11040\t0.001\tHit\ttext/html\t78\t-\t-";

fn decode(input: &str) -> Decoded {
    Decoded::from_bytes(&CloudfrontFormat, input.as_bytes(), 64).expect("decodes")
}

fn parse(input: &str) -> RecordBatch {
    let d = decode(input);
    assert!(d.rejects.is_empty(), "rejected: {:?}", d.rejects);
    assert_eq!(d.rows(), 1);
    d.batches.into_iter().next().unwrap()
}

#[test]
fn documentation_line_with_header() {
    let d = decode(&format!("{HEADER}{DOC}\n"));
    assert_eq!(
        (d.counts.rows, d.counts.skipped_lines, d.counts.rejects),
        (1, 2, 0)
    );
    let b = &d.batches[0];
    let time = b
        .column_by_name("time")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    assert_eq!(time.value(0), 1_575_493_351_000_000);
    assert_eq!(text(b, "x_edge_location").as_deref(), Some("LAX1"));
    assert_eq!(int64(b, "sc_bytes"), Some(392));
    assert_eq!(text(b, "c_ip").as_deref(), Some("192.0.2.100"));
    assert_eq!(text(b, "cs_uri_stem").as_deref(), Some("/index.html"));
    assert_eq!(int32(b, "sc_status"), Some(200));
    assert_eq!(text(b, "cs_referrer"), None);
    assert!(
        text(b, "cs_user_agent")
            .unwrap()
            .starts_with("Mozilla/5.0%20(Windows"),
        "kept URL-encoded"
    );
    assert_eq!(text(b, "x_edge_result_type").as_deref(), Some("Hit"));
    assert_eq!(int64(b, "cs_bytes"), Some(23));
    let taken = b
        .column_by_name("time_taken")
        .unwrap()
        .as_primitive::<Float64Type>();
    assert_eq!(taken.value(0), 0.001);
    assert_eq!(text(b, "cs_protocol_version").as_deref(), Some("HTTP/2.0"));
    assert_eq!(int32(b, "fle_encrypted_fields"), None);
    assert_eq!(int32(b, "c_port"), Some(11040));
    assert_eq!(text(b, "sc_content_type").as_deref(), Some("text/html"));
    assert_eq!(int64(b, "sc_content_len"), Some(78));
    assert_eq!(int64(b, "sc_range_end"), None);
}

#[test]
fn without_header_the_current_order_applies() {
    let b = parse(DOC);
    assert_eq!(int32(&b, "c_port"), Some(11040));
}

#[test]
fn header_order_and_unknown_fields_are_honoured() {
    let input = "#Fields: time date sc-status new-field-2030 c-ip\n21:02:31\t2019-12-04\t000\tsurprise\t2001:db8::1\n";
    let b = parse(input);
    assert_eq!(
        int32(&b, "sc_status"),
        Some(0),
        "000: viewer closed the connection"
    );
    assert_eq!(text(&b, "c_ip").as_deref(), Some("2001:db8::1"));
    assert_eq!(text(&b, "x_edge_location"), None, "absent from the header");
}

#[test]
fn short_lines_are_null_filled_and_commas_stay_in_one_field() {
    let short: Vec<&str> = DOC.split('\t').take(31).collect();
    let mut fields: Vec<String> = short.iter().map(|s| s.to_string()).collect();
    fields[19] = "81.2.69.142, 216.160.83.56".into();
    let b = parse(&format!("{HEADER}{}\n", fields.join("\t")));
    assert_eq!(int64(&b, "sc_content_len"), Some(78));
    assert_eq!(int64(&b, "sc_range_start"), None);
    assert_eq!(
        text(&b, "x_forwarded_for").as_deref(),
        Some("81.2.69.142, 216.160.83.56")
    );
}

#[test]
fn rejects_name_the_problem() {
    let d = decode(&format!(
        "{}\n{}\nnot a log line\n",
        DOC.replacen("\t392\t", "\tlots\t", 1),
        DOC.replacen("21:02:31", "9pm", 1)
    ));
    assert_eq!(d.counts.rejects, 3);
    assert!(
        d.rejects[0].reason.contains("`sc_bytes`"),
        "{}",
        d.rejects[0].reason
    );
    assert!(
        d.rejects[1].reason.contains("`time`"),
        "{}",
        d.rejects[1].reason
    );
    assert!(
        d.rejects[2].reason.contains("missing date or time"),
        "{}",
        d.rejects[2].reason
    );
}

#[test]
fn layout_resets_between_objects() {
    let format = CloudfrontFormat;
    let mut decoder = format.decoder(8);
    let mut out = Decoded::default();
    let mut counts = crate::DecodeCounts::default();
    let reordered = "#Fields: time date\n21:02:31\t2019-12-04\n";
    decoder
        .decode(&mut reordered.as_bytes(), &mut out, &mut counts)
        .unwrap();
    decoder
        .decode(&mut DOC.as_bytes(), &mut out, &mut counts)
        .unwrap();
    assert_eq!((counts.rows, counts.rejects), (2, 0), "{:?}", out.rejects);
}

#[test]
fn routes_delivered_names() {
    assert_eq!(
        CloudfrontFormat.route("logs/EMLARXS9EXAMPLE.2019-11-14-20.RT4KCN4SGK3.gz"),
        Route::Convert
    );
    assert_eq!(CloudfrontFormat.route("collected/cf.log"), Route::Convert);
    assert!(matches!(
        CloudfrontFormat.route("logs/EMLARXS9EXAMPLE.2019-11-14.RT4KCN4SGK3.gz"),
        Route::Skip(_)
    ));
    assert!(matches!(
        CloudfrontFormat.route("logs/index.html"),
        Route::Skip(_)
    ));
    assert_eq!(
        CloudfrontFormat.region_from_key("logs/E1.2019-11-14-20.X.gz"),
        None
    );
}

#[test]
fn a_log_prefix_without_a_slash_stays_in_the_name() {
    // CloudFront puts the distribution's log prefix before each file name as it is.
    for key in [
        "cdn/example.com-EMLARXS9EXAMPLE.2019-11-14-20.RT4KCN4SGK3.gz",
        "cdnEMLARXS9EXAMPLE.2019-11-14-20.RT4KCN4SGK3.gz",
        "logs/shop_EMLARXS9EXAMPLE.2019-11-14-20.RT4KCN4SGK3.gz",
    ] {
        assert!(CloudfrontFormat.claims_key(key), "{key}");
        assert_eq!(CloudfrontFormat.route(key), Route::Convert, "{key}");
        let file = key.rsplit('/').next().unwrap();
        assert!(CloudfrontFormat.names_one_delivery(file), "{file}");
    }
    // After a prefix, only an id as long as AWS's: not any name ending in a date and `.gz`.
    for key in [
        "logs/backup-E1.2019-11-14-20.RT4KCN4SGK3.gz",
        "logs/site.2019-11-14-20.RT4KCN4SGK3.gz",
        "logs/EMLARXS9EXAMPLE.2019-11-14.RT4KCN4SGK3.gz",
    ] {
        assert!(!CloudfrontFormat.claims_key(key), "{key}");
        assert!(
            matches!(CloudfrontFormat.route(key), Route::Skip(_)),
            "{key}"
        );
    }
}

/// The raw table's columns are the W3C fields in the parser's order, renamed as AWS's DDL does.
#[test]
fn raw_columns_follow_the_w3c_fields() {
    for (field, (column, _)) in super::FIELDS.iter().zip(super::RAW_COLUMNS) {
        let renamed = field
            .to_ascii_lowercase()
            .replace("cs(", "cs-")
            .replace(')', "")
            .replace("referer", "referrer")
            .replace('-', "_");
        assert_eq!(renamed, column);
    }
}
