//! Every Resolver record of `shared/corpus/route53` converts, as MANIFEST.md says: 34 NDJSON
//! records without a trailing newline, AWS's example pretty-printed over 28 lines, and one
//! Route 53 *public* hosted-zone line, which is another product's format and must be a reject.

use agsl_formats::Route53ResolverFormat;

use crate::strings;

const ELASTIC: &str = "integrations-route53_resolver_logs-test-route53.log";
const AWS_DOCS: &str = "awsdocs-route53-resolver-query-logs-example-json.json";
const PUBLIC: &str =
    "dynatrace-s3-log-forwarder-test_attribute_extraction.route53_public_query_log.log";

#[test]
fn every_resolver_record_converts_and_the_public_log_line_is_rejected() {
    let expected = [(AWS_DOCS, 1, 0), (PUBLIC, 0, 1), (ELASTIC, 34, 0)];
    let mut files: Vec<String> = std::fs::read_dir(crate::corpus_dir("route53"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        expected.map(|(file, _, _)| file.to_owned()),
        "the corpus folder changed"
    );
    for (file, rows, rejects) in expected {
        let d = crate::decode_corpus(&Route53ResolverFormat, "route53", file);
        assert_eq!(
            (d.counts.rows, d.counts.rejects),
            (rows, rejects),
            "{file}: {:?}",
            d.rejects
        );
    }
    let public = crate::decode_corpus(&Route53ResolverFormat, "route53", PUBLIC);
    assert_eq!(public.rejects[0].line, 1);
    assert!(
        public.rejects[0]
            .raw
            .starts_with(b"1.0 2023-02-21T16:34:06Z")
    );
}

#[test]
fn values_the_manifest_calls_out() {
    let elastic = crate::decode_corpus(&Route53ResolverFormat, "route53", ELASTIC);
    let names = strings(&elastic, "query_name");
    // The last line: an ip6.arpa name without the trailing dot, kept as written.
    let last = names.last().unwrap().as_deref().unwrap();
    assert!(last.ends_with("ip6.arpa"), "{last}");
    assert!(names.iter().all(|n| n.is_some()));
    assert!(
        strings(&elastic, "version")
            .iter()
            .all(|v| v.as_deref() == Some("1.100000"))
    );
    assert!(
        strings(&elastic, "srcids_instance")
            .iter()
            .any(|v| v.is_some())
    );
    let actions = strings(&elastic, "firewall_rule_action");
    assert_eq!(
        actions
            .iter()
            .filter(|a| a.as_deref() == Some("BLOCK"))
            .count(),
        1
    );
    assert!(strings(&elastic, "json_other").iter().all(|v| v.is_none()));
    // Answers: empty lists and chains of up to four, never NULL in this file.
    let answers = crate::list_lengths(&elastic, "answers");
    assert!(answers.iter().all(|n| n.is_some()));
    assert!(answers.contains(&Some(0)));
    assert_eq!(answers.iter().flatten().max(), Some(&4));

    let docs = crate::decode_corpus(&Route53ResolverFormat, "route53", AWS_DOCS);
    assert_eq!(
        strings(&docs, "srcids_instance")[0].as_deref(),
        Some("i-0d15cd0d3example")
    );
    assert_eq!(
        strings(&docs, "account_id")[0].as_deref(),
        Some("111122223333")
    );
    // The pretty-printed record is the elastic file's line 33 before elastic replaced its
    // addresses: every other value is the same.
    let columns = [
        "query_type",
        "rcode",
        "firewall_rule_group_id",
        "firewall_rule_action",
        "firewall_domain_list_id",
        "srcids_instance",
    ];
    let docs_values: Vec<_> = columns
        .iter()
        .map(|c| strings(&docs, c)[0].clone())
        .collect();
    let line_33: Vec<_> = columns
        .iter()
        .map(|c| strings(&elastic, c)[32].clone())
        .collect();
    assert_eq!(docs_values, line_33);
}
