//! Graceful schema upgrades of a converted table: columns the data has and the table lacks are
//! appended (Parquet readers map columns by name, so files written before read NULL for them),
//! columns only the table has are kept, and a column whose type changed is refused, since
//! existing files would no longer read.

use super::{CatalogError, Column, TableDefinition};

/// The columns `existing` must have to read the files `wanted` describes: `None` when it has
/// them all already, else its columns with the missing ones appended in `wanted`'s order.
/// Hive lowercases names, so they compare case-insensitively.
pub fn evolve_columns(
    existing: &TableDefinition,
    wanted: &TableDefinition,
) -> Result<Option<Vec<Column>>, CatalogError> {
    let existing_keys: Vec<String> = existing
        .partition_keys
        .iter()
        .map(|c| c.name.to_ascii_lowercase())
        .collect();
    let wanted_keys: Vec<String> = wanted
        .partition_keys
        .iter()
        .map(|c| c.name.to_ascii_lowercase())
        .collect();
    if existing_keys != wanted_keys {
        return Err(CatalogError::IncompatiblePartitioning {
            table: existing.qualified_name(),
            existing: existing_keys.join(", "),
            wanted: wanted_keys.join(", "),
        });
    }
    let mut columns = existing.columns.clone();
    let mut changed = false;
    for column in &wanted.columns {
        match existing
            .columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(&column.name))
        {
            Some(found) if same_type(&found.data_type, &column.data_type) => {}
            Some(found) => {
                return Err(CatalogError::IncompatibleSchema {
                    table: existing.qualified_name(),
                    column: column.name.clone(),
                    existing: found.data_type.clone(),
                    wanted: column.data_type.clone(),
                    suggestion: format!("{}_v2", existing.name),
                });
            }
            None => {
                columns.push(column.clone());
                changed = true;
            }
        }
    }
    Ok(changed.then_some(columns))
}

/// Hive type names compare without case or spaces (`STRUCT<a: STRING>` = `struct<a:string>`).
fn same_type(a: &str, b: &str) -> bool {
    let normal = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    normal(a) == normal(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::converted_table;
    use crate::sink::{PartitionLayout, TablePartitioning};
    use agsl_formats::Format;

    fn alb() -> TableDefinition {
        converted_table(
            Format::Alb.parser(),
            TablePartitioning::of(Format::Alb.parser(), PartitionLayout::Seed),
            "db",
            "alb",
            "s3://b/alb",
        )
    }

    #[test]
    fn missing_columns_are_appended_after_the_existing_ones() {
        let wanted = alb();
        let mut old = wanted.clone();
        // A table made when ALB had 25 fields, and a column the data no longer has.
        old.columns.retain(|c| {
            !["target_port_list", "classification", "transformed_uri"].contains(&c.name.as_str())
        });
        old.columns.push(Column::new("legacy", "string"));
        let evolved = evolve_columns(&old, &wanted).unwrap().unwrap();
        assert_eq!(evolved[..old.columns.len()], old.columns[..]);
        let appended: Vec<_> = evolved[old.columns.len()..]
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(
            appended,
            ["target_port_list", "classification", "transformed_uri"]
        );
        assert_eq!(evolve_columns(&wanted, &wanted).unwrap(), None);
    }

    #[test]
    fn names_and_types_compare_as_hive_does() {
        let wanted = alb();
        let mut upper = wanted.clone();
        for c in &mut upper.columns {
            c.name = c.name.to_uppercase();
            c.data_type = c.data_type.to_uppercase();
        }
        assert_eq!(evolve_columns(&upper, &wanted).unwrap(), None);
    }

    #[test]
    fn a_changed_type_is_refused_with_a_way_forward() {
        let wanted = alb();
        let mut seed = wanted.clone();
        // The seed typed status codes as strings.
        seed.columns
            .iter_mut()
            .find(|c| c.name == "elb_status_code")
            .unwrap()
            .data_type = "string".into();
        let error = evolve_columns(&seed, &wanted).unwrap_err().to_string();
        assert!(error.contains("`elb_status_code` is `string`"), "{error}");
        assert!(error.contains("--table alb_v2"), "{error}");
        let mut keys = wanted.clone();
        keys.partition_keys.remove(0);
        assert!(matches!(
            evolve_columns(&keys, &wanted),
            Err(CatalogError::IncompatiblePartitioning { .. })
        ));
    }
}
