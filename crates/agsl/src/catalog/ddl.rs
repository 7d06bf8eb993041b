//! Athena (Hive) DDL for the tables agsl keeps, for people who manage their catalog as code:
//! the same definitions the catalogs receive, rendered as `CREATE EXTERNAL TABLE` statements.
//! String literals are escaped as Hive unescapes them (`\\`, `\'`, `\t`), so a regex arrives
//! in the catalog exactly as agsl tests it.

use std::fmt::Write as _;

use super::{Partition, TableDefinition};

/// Partitions per `ALTER TABLE … ADD` statement (Athena accepts long statements, but short
/// ones fail and retry in smaller pieces).
const PARTITIONS_PER_STATEMENT: usize = 100;

/// `'text'` as a Hive string literal.
pub fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('\'');
    for c in text.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '\'' => quoted.push_str("\\'"),
            '\t' => quoted.push_str("\\t"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            c => quoted.push(c),
        }
    }
    quoted.push('\'');
    quoted
}

/// `` `name` ``: every identifier is quoted, since log fields include reserved words (`end`)
/// and agsl's lineage column starts with `_`.
fn identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

pub fn create_database(name: &str) -> String {
    format!("CREATE DATABASE IF NOT EXISTS {};\n", identifier(name))
}

/// The `CREATE EXTERNAL TABLE` statement of a table.
pub fn create_table(table: &TableDefinition) -> String {
    let mut sql = format!(
        "CREATE EXTERNAL TABLE IF NOT EXISTS {}.{} (\n",
        identifier(&table.database),
        identifier(&table.name)
    );
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("  {} {}", identifier(&c.name), c.data_type))
        .collect();
    sql.push_str(&columns.join(",\n"));
    sql.push_str("\n)\n");
    if !table.partition_keys.is_empty() {
        let keys: Vec<String> = table
            .partition_keys
            .iter()
            .map(|c| format!("{} {}", identifier(&c.name), c.data_type))
            .collect();
        let _ = writeln!(sql, "PARTITIONED BY ({})", keys.join(", "));
    }
    let _ = writeln!(
        sql,
        "ROW FORMAT SERDE {}",
        quote(&table.storage.serde_library)
    );
    if !table.storage.serde_parameters.is_empty() {
        sql.push_str("WITH SERDEPROPERTIES (\n");
        sql.push_str(&properties(&table.storage.serde_parameters));
        sql.push_str("\n)\n");
    }
    let _ = writeln!(
        sql,
        "STORED AS INPUTFORMAT {}\nOUTPUTFORMAT {}",
        quote(&table.storage.input_format),
        quote(&table.storage.output_format)
    );
    let _ = writeln!(sql, "LOCATION {}", quote(&table.location));
    // `EXTERNAL` is the statement's keyword, not a property Athena takes; the ledger sequence
    // a catalog is in line with means nothing in a statement.
    let parameters: std::collections::BTreeMap<String, String> = table
        .parameters
        .iter()
        .filter(|(k, _)| k.as_str() != "EXTERNAL" && k.as_str() != super::COMMIT_PARAMETER)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !parameters.is_empty() {
        sql.push_str("TBLPROPERTIES (\n");
        sql.push_str(&properties(&parameters));
        sql.push_str("\n)");
    }
    sql.push_str(";\n");
    sql
}

fn properties(map: &std::collections::BTreeMap<String, String>) -> String {
    map.iter()
        .map(|(k, v)| format!("  {} = {}", quote(k), quote(v)))
        .collect::<Vec<_>>()
        .join(",\n")
}

/// `ALTER TABLE … ADD IF NOT EXISTS PARTITION (…) LOCATION '…'` statements for `partitions`.
pub fn add_partitions(table: &TableDefinition, partitions: &[Partition]) -> String {
    let mut sql = String::new();
    for chunk in partitions.chunks(PARTITIONS_PER_STATEMENT) {
        let _ = writeln!(
            sql,
            "ALTER TABLE {}.{} ADD IF NOT EXISTS",
            identifier(&table.database),
            identifier(&table.name)
        );
        for partition in chunk {
            let values: Vec<String> = table
                .partition_keys
                .iter()
                .zip(&partition.values)
                .map(|(k, v)| format!("{} = {}", identifier(&k.name), quote(v)))
                .collect();
            let _ = writeln!(
                sql,
                "  PARTITION ({}) LOCATION {}",
                values.join(", "),
                quote(&partition.location)
            );
        }
        sql.push_str(";\n");
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_as_hive_unescapes() {
        assert_eq!(quote(r#"a\s"b'c	d"#), r#"'a\\s"b\'c\td'"#);
        assert_eq!(identifier("end"), "`end`");
    }
}
