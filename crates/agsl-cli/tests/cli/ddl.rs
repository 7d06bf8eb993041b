//! `agsl ddl` parsed back: every statement names the tables, columns, partition keys, SerDe,
//! properties and location the local catalog got from a real conversion, and the raw
//! table's regex survives Hive's string unescaping exactly.

use agsl::catalog::{Catalog, LOCAL_CATALOG_KEY, LocalCatalog, TableDefinition};
use agsl::sample::write_sample;
use agsl_formats::Format;
use agsl_formats::sample::SamplePlan;

use crate::{agsl, convert, stderr};

/// Hive's unescaping of a single-quoted literal starting at `text` (after the quote); returns
/// the value and the rest after the closing quote.
fn literal(text: &str) -> (String, &str) {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next().map(|(_, n)| n) {
                Some('t') => value.push('\t'),
                Some('n') => value.push('\n'),
                Some(n) => value.push(n),
                None => break,
            },
            '\'' => return (value, &text[i + 1..]),
            c => value.push(c),
        }
    }
    panic!("unterminated literal: {text}")
}

/// Every `'key' = 'value'` pair in `text`.
fn pairs(mut text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    while let Some(start) = text.find('\'') {
        let (key, rest) = literal(&text[start + 1..]);
        let rest = rest.trim_start().strip_prefix('=').unwrap().trim_start();
        let (value, rest) = literal(rest.strip_prefix('\'').unwrap());
        found.push((key, value));
        text = rest;
    }
    found
}

/// `(name, columns, serde, serde properties, location)` of a CREATE EXTERNAL TABLE statement.
pub(crate) type CreateParts = (
    String,
    Vec<(String, String)>,
    String,
    Vec<(String, String)>,
    String,
);

/// The parts of one CREATE EXTERNAL TABLE statement.
pub(crate) fn parse_create(statement: &str) -> CreateParts {
    let head = statement.split_once(" (\n").unwrap();
    let name = head.0.rsplit(' ').next().unwrap().replace('`', "");
    let (columns, rest) = head.1.split_once("\n)\n").unwrap();
    let columns = columns
        .lines()
        .map(|l| {
            let (n, t) = l.trim().trim_end_matches(',').split_once(' ').unwrap();
            (n.trim_matches('`').to_owned(), t.to_owned())
        })
        .collect();
    let serde = rest.split_once("ROW FORMAT SERDE '").unwrap().1;
    let (serde, _) = literal(serde);
    let serde_properties = rest
        .split_once("WITH SERDEPROPERTIES (")
        .map(|(_, r)| pairs(r.split_once("\n)\n").unwrap().0))
        .unwrap_or_default();
    let location = literal(rest.split_once("LOCATION '").unwrap().1).0;
    (name, columns, serde, serde_properties, location)
}

fn check(statement: &str, table: &TableDefinition) {
    let (name, columns, serde, properties, location) = parse_create(statement);
    assert_eq!(name, table.qualified_name());
    let expected: Vec<(String, String)> = table
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.data_type.clone()))
        .collect();
    assert_eq!(columns, expected, "{name}");
    assert_eq!(serde, table.storage.serde_library);
    assert_eq!(
        properties
            .into_iter()
            .collect::<std::collections::BTreeMap<_, _>>(),
        table.storage.serde_parameters
    );
    assert_eq!(location, table.location);
    let keys: Vec<String> = table
        .partition_keys
        .iter()
        .map(|k| format!("`{}` string", k.name))
        .collect();
    if !keys.is_empty() {
        assert!(
            statement.contains(&format!("PARTITIONED BY ({})", keys.join(", "))),
            "{statement}"
        );
    }
}

#[test]
fn ddl_statements_describe_the_catalog_tables() {
    let dir = tempfile::tempdir().unwrap();
    for format in [Format::Alb, Format::Cloudfront, Format::VpcFlow] {
        let source = dir.path().join(format!("logs-{format}"));
        let target = dir.path().join(format!("lake-{format}"));
        let plan = SamplePlan {
            objects: 4,
            lines_per_object: 20,
            ..SamplePlan::default()
        };
        write_sample(format, plan, &source).unwrap();
        let output = convert(&format.to_string(), &source, &target, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        let output = agsl(&[
            "ddl",
            "--service",
            &format.to_string(),
            "--source",
            source.to_str().unwrap(),
            "--target",
            target.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
        let sql = String::from_utf8(output.stdout).unwrap();
        let catalog = LocalCatalog::open_file(&target.join(LOCAL_CATALOG_KEY), None).unwrap();
        let converted = catalog
            .table("aws_service_logs", format.table_name())
            .unwrap()
            .unwrap();
        let raw_name = format!("{}_raw_logs", format.table_name());
        let raw = catalog
            .table("aws_service_logs_raw", &raw_name)
            .unwrap()
            .unwrap();
        let creates: Vec<&str> = sql
            .split("CREATE EXTERNAL TABLE IF NOT EXISTS ")
            .skip(1)
            .collect();
        assert_eq!(creates.len(), 4, "two tables, two variants: {sql}");
        check(&format!("x {}", creates[0]), &raw);
        check(&format!("x {}", creates[1]), &converted);
        // The projection variant: the same tables with projection parameters.
        check(&format!("x {}", creates[3]), &converted);
        assert!(creates[3].contains("'projection.enabled' = 'true'"));
        assert!(creates[3].contains("'storage.location.template' = "));
        // Registered partitions: one ALTER TABLE line per catalog partition.
        let added = sql.matches("  PARTITION (").count();
        let registered = catalog
            .partitions("aws_service_logs", format.table_name())
            .unwrap()
            .len()
            + catalog
                .partitions("aws_service_logs_raw", &raw_name)
                .unwrap()
                .len();
        assert_eq!(added, registered, "{format}");
        assert!(sql.contains("CREATE DATABASE IF NOT EXISTS `aws_service_logs`;"));
    }
}
