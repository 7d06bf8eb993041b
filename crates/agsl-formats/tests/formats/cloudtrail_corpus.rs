//! Every record of `shared/corpus/cloudtrail` converts, or the object is rejected or skipped as
//! MANIFEST.md says. Elastic's files are NDJSON (one record per line), not the S3 envelope, so
//! they are wrapped into `{"Records":[...]}`; the others are fed as the objects they are.

use agsl_formats::{CloudtrailFormat, Decoded};
use arrow_array::Array;
use arrow_array::cast::AsArray;

use crate::{corpus_dir, strings};

fn decode_object(file: &str) -> Decoded {
    crate::decode_corpus(&CloudtrailFormat, "cloudtrail", file)
}

/// NDJSON records wrapped as one delivered object; returns the decode and the record count.
fn decode_ndjson(file: &str) -> (Decoded, u64) {
    let text = std::fs::read_to_string(corpus_dir("cloudtrail").join(file)).unwrap();
    let records: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let wrapped = format!("{{\"Records\":[{}]}}", records.join(","));
    let decoded = Decoded::from_bytes(&CloudtrailFormat, wrapped.as_bytes(), 4).unwrap();
    assert_eq!(
        decoded.counts.rows + decoded.counts.rejects,
        decoded.counts.lines
    );
    (decoded, records.len() as u64)
}

#[test]
fn every_ndjson_record_converts() {
    let mut files = crate::corpus_files("cloudtrail");
    files.retain(|f| !f.contains("digest"));
    assert_eq!(files.len(), 22);
    for file in files {
        let (d, records) = decode_ndjson(&file);
        assert_eq!(
            (d.counts.rows, d.counts.rejects),
            (records, 0),
            "{file}: {:?}",
            d.rejects
        );
    }
}

#[test]
fn schema_drift_values() {
    let (tls, _) = decode_ndjson("integrations-cloudtrail-test-tls-details-json.log");
    assert_eq!(strings(&tls, "errorcode")[1].as_deref(), Some("200"));
    assert_eq!(
        strings(&tls, "sourceipaddress")[1].as_deref(),
        Some("81.2.69.142, 192.168.10.10")
    );
    assert_eq!(
        strings(&tls, "sessioncredentialfromconsole")[2].as_deref(),
        Some("true")
    );
    let (put, _) = decode_ndjson("integrations-cloudtrail-test-put-object-json.log");
    let resources = put.batches[0]
        .column_by_name("resources")
        .unwrap()
        .as_list::<i32>();
    let items = resources.value(0);
    let accounts = items
        .as_struct()
        .column_by_name("accountid")
        .unwrap()
        .as_string::<i32>()
        .clone();
    assert!(
        accounts.iter().flatten().any(|a| a == "000000000"),
        "the lower-case `accountid` key"
    );
    let (login, _) = decode_ndjson("beats-cloudtrail-console-login-json.log");
    assert_eq!(
        strings(&login, "errormessage")[1].as_deref(),
        Some("Failed authentication")
    );
    assert_eq!(strings(&login, "errorcode")[1], None);
    let (gov, _) = decode_ndjson("integrations-cloudtrail-test-us-gov-arn.log");
    assert!(
        strings(&gov, "useridentity_arn")[0]
            .as_deref()
            .unwrap()
            .starts_with("arn:aws-us-gov:")
    );
    let (insight, _) = decode_ndjson("beats-cloudtrail-insight-json.log");
    assert!(
        insight.batches[0]
            .column_by_name("json_useridentity")
            .unwrap()
            .is_null(0)
    );
    assert!(strings(&insight, "json_insightdetails")[0].is_some());
}

#[test]
fn delivered_objects() {
    let d = decode_object("otel-contrib-cloudtraillog-cloudtrail_log.json");
    assert_eq!((d.counts.rows, d.counts.rejects), (7, 0), "{:?}", d.rejects);
    let events = strings(&d, "eventname");
    assert_eq!(events[0].as_deref(), Some("StartInstances"));
    let additional = strings(&d, "json_additionaleventdata");
    assert!(
        additional
            .iter()
            .flatten()
            .any(|a| a.contains(r#""MFAUsed":true"#)),
        "compact, types as delivered"
    );
    assert!(
        strings(&d, "json_requestparameters")
            .iter()
            .flatten()
            .all(|j| !j.contains('\n')),
        "pretty JSON compacted"
    );
    let empty = decode_object("otel-contrib-cloudtraillog-cloudtrail_log_empty.json");
    assert_eq!((empty.counts.lines, empty.counts.rejects), (0, 0));
    let cloudwatch = decode_object("otel-contrib-cloudtraillog-cloudtrail_log_cw.json");
    assert_eq!((cloudwatch.counts.rows, cloudwatch.counts.rejects), (0, 1));
    assert!(cloudwatch.rejects[0].reason.contains("no `Records` array"));
    let digest = decode_object("integrations-cloudtrail-test-cloudtrail-digest-json.log");
    assert_eq!(
        (digest.counts.lines, digest.counts.skipped_lines),
        (0, 1),
        "a digest is not data"
    );
}

#[test]
fn every_corpus_file_is_covered() {
    assert_eq!(
        crate::corpus_files("cloudtrail").len(),
        23,
        "plus three .json objects tested above"
    );
}
