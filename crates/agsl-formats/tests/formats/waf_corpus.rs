//! Every record of `shared/corpus/waf` converts, as MANIFEST.md says: NDJSON files, one record
//! pretty-printed over 100 lines without `webaclId`, type drift inside the rule lists.

use agsl_formats::WafFormat;

use crate::strings;

#[test]
fn every_record_converts() {
    let expected = [
        ("integrations-waf-test-waf.log", 4),
        ("lambda-promtail-waflog.log", 1),
        ("otel-contrib-waf-missing_webaclid_log.json", 1),
        ("otel-contrib-waf-valid_log.json", 1),
        ("otel-contrib-waf-valid_log_multi.json", 2),
    ];
    let mut files: Vec<String> = std::fs::read_dir(crate::corpus_dir("waf"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files.len(), expected.len(), "{files:?}");
    for (file, records) in expected {
        let d = crate::decode_corpus(&WafFormat, "waf", file);
        assert_eq!(
            (d.counts.rows, d.counts.rejects),
            (records, 0),
            "{file}: {:?}",
            d.rejects
        );
    }
}

#[test]
fn values_the_manifest_calls_out() {
    let elastic = crate::decode_corpus(&WafFormat, "waf", "integrations-waf-test-waf.log");
    assert_eq!(strings(&elastic, "request_id")[3].as_deref(), Some("null"));
    assert_eq!(strings(&elastic, "uri")[3].as_deref(), Some(""));
    assert_eq!(strings(&elastic, "json_headers")[3].as_deref(), Some("[]"));
    assert_eq!(strings(&elastic, "webacl_name")[3].as_deref(), Some("test"));
    let pretty = crate::decode_corpus(
        &WafFormat,
        "waf",
        "otel-contrib-waf-missing_webaclid_log.json",
    );
    assert_eq!(strings(&pretty, "webacl_id")[0], None);
    assert!(
        strings(&pretty, "json_headers")[0]
            .as_deref()
            .unwrap()
            .starts_with("[{\"name\"")
    );
    let multi = crate::decode_corpus(&WafFormat, "waf", "otel-contrib-waf-valid_log_multi.json");
    assert!(
        strings(&multi, "json_rate_based_rule_list")[1]
            .as_deref()
            .unwrap()
            .contains(r#""evaluationWindowSec":"120""#)
    );
    let valid = crate::decode_corpus(&WafFormat, "waf", "otel-contrib-waf-valid_log.json");
    assert_eq!(
        strings(&valid, "host")[0].as_deref(),
        Some("dsx88tsajqz63.cloudfront.net")
    );
    assert_eq!(
        strings(&valid, "webacl_scope")[0].as_deref(),
        Some("global")
    );
}
