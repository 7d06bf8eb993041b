//! The converted table in Hive's terms: Arrow types as Hive type strings, the Parquet SerDe,
//! the seed's partition keys, and partition projection parameters for readers that prefer
//! computing partitions to listing them (Athena).

use std::collections::{BTreeMap, BTreeSet};

use agsl_formats::LogFormat;
use arrow_schema::{DataType, TimeUnit};

use super::{Column, ROLE_PARAMETER, SERVICE_PARAMETER, StorageFormat, TableDefinition};
use crate::sink::{ACCOUNT_KEY, TablePartitioning, table_schema};

/// The Hive type of an Arrow type, as Glue and Athena spell it; `None` for a type agsl never
/// writes. Timestamps are Parquet `TIMESTAMP(MICROS, UTC)`, which Athena reads as `timestamp`.
pub fn hive_type(data_type: &DataType) -> Option<String> {
    Some(match data_type {
        DataType::Utf8 | DataType::LargeUtf8 => "string".to_owned(),
        DataType::Int32 => "int".to_owned(),
        DataType::Int64 => "bigint".to_owned(),
        DataType::Float64 => "double".to_owned(),
        DataType::Boolean => "boolean".to_owned(),
        DataType::Binary => "binary".to_owned(),
        DataType::Timestamp(TimeUnit::Microsecond, _) => "timestamp".to_owned(),
        DataType::List(item) => format!("array<{}>", hive_type(item.data_type())?),
        DataType::Struct(fields) => {
            let members = fields
                .iter()
                .map(|f| Some(format!("{}:{}", f.name(), hive_type(f.data_type())?)))
                .collect::<Option<Vec<_>>>()?;
            format!("struct<{}>", members.join(","))
        }
        _ => return None,
    })
}

/// Partition keys of a partitioning: all strings, as the seed wrote them.
pub(crate) fn partition_keys(partitioning: TablePartitioning) -> Vec<Column> {
    partitioning
        .keys()
        .iter()
        .map(|k| Column::new(*k, "string"))
        .collect()
}

/// The converted Parquet table of `format` at `location` (its folder URL).
pub fn converted_table(
    format: &dyn LogFormat,
    partitioning: TablePartitioning,
    database: &str,
    name: &str,
    location: &str,
) -> TableDefinition {
    let schema = table_schema(&format.schema());
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let data_type = hive_type(f.data_type())
                .expect("agsl's formats use only types with a Hive equivalent");
            Column::new(f.name(), data_type)
        })
        .collect();
    let parameters = BTreeMap::from([
        ("EXTERNAL".to_owned(), "TRUE".to_owned()),
        ("classification".to_owned(), "parquet".to_owned()),
        ("parquet.compression".to_owned(), "ZSTD".to_owned()),
        (SERVICE_PARAMETER.to_owned(), format.format().to_string()),
        (ROLE_PARAMETER.to_owned(), "converted".to_owned()),
    ]);
    TableDefinition {
        database: database.to_owned(),
        name: name.to_owned(),
        location: folder_url(location),
        columns,
        partition_keys: partition_keys(partitioning),
        storage: StorageFormat {
            input_format: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat".into(),
            output_format: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat".into(),
            serde_library: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe".into(),
            serde_parameters: BTreeMap::from([("serialization.format".into(), "1".into())]),
        },
        parameters,
    }
}

/// `url` with exactly one trailing `/`: Glue and Athena expect folder locations.
pub(crate) fn folder_url(url: &str) -> String {
    format!("{}/", url.trim_end_matches('/'))
}

/// The partition values a table has or may get, for partition projection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectionRange {
    pub accounts: BTreeSet<String>,
    pub regions: BTreeSet<String>,
    pub years: Option<(i32, i32)>,
}

impl ProjectionRange {
    /// Widens the range by one partition's `values`, in the order of `keys`.
    pub(crate) fn include(&mut self, keys: &[&str], values: &[String]) {
        let value = |name: &str| {
            keys.iter()
                .position(|k| *k == name)
                .and_then(|i| values.get(i))
        };
        if let Some(account) = value(ACCOUNT_KEY) {
            self.accounts.insert(account.clone());
        }
        if let Some(region) = value("region") {
            self.regions.insert(region.clone());
        }
        if let Some(year) = value("year").and_then(|y| y.parse::<i32>().ok()) {
            self.years = Some(match self.years {
                Some((first, last)) => (first.min(year), last.max(year)),
                None => (year, year),
            });
        }
    }
}

/// Athena partition projection parameters. `template` is the partition folder URL with
/// `${account_id}`, `${region}`, `${year}`, `${month}`, `${day}` in place of the values.
/// Accounts and regions are enums of those seen (every run adds new ones); years span those
/// seen, months and days are zero-padded as written.
pub(crate) fn projection_parameters(
    keys: &[&str],
    range: &ProjectionRange,
    template: String,
    this_year: i32,
) -> BTreeMap<String, String> {
    let (first, last) = range.years.unwrap_or((this_year, this_year));
    let mut parameters = BTreeMap::from([
        ("projection.enabled".to_owned(), "true".to_owned()),
        ("projection.year.type".to_owned(), "integer".to_owned()),
        (
            "projection.year.range".to_owned(),
            format!("{first},{last}"),
        ),
        ("projection.month.type".to_owned(), "integer".to_owned()),
        ("projection.month.range".to_owned(), "1,12".to_owned()),
        ("projection.month.digits".to_owned(), "2".to_owned()),
        ("projection.day.type".to_owned(), "integer".to_owned()),
        ("projection.day.range".to_owned(), "1,31".to_owned()),
        ("projection.day.digits".to_owned(), "2".to_owned()),
        ("storage.location.template".to_owned(), template),
    ]);
    for (key, seen) in [(ACCOUNT_KEY, &range.accounts), ("region", &range.regions)] {
        if !keys.contains(&key) {
            continue;
        }
        let values = if seen.is_empty() {
            agsl_formats::HIVE_DEFAULT_PARTITION.to_owned()
        } else {
            seen.iter().cloned().collect::<Vec<_>>().join(",")
        };
        parameters.insert(format!("projection.{key}.type"), "enum".into());
        parameters.insert(format!("projection.{key}.values"), values);
    }
    parameters
}

/// The projection template of a converted table: its Hive-style partition folders.
pub(crate) fn converted_template(location: &str, keys: &[&str]) -> String {
    let keys: Vec<String> = keys.iter().map(|k| format!("{k}=${{{k}}}")).collect();
    format!("{}{}/", folder_url(location), keys.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::PartitionLayout;
    use agsl_formats::{Format, Partitioning};

    fn seed(format: Format) -> TablePartitioning {
        TablePartitioning::of(format.parser(), PartitionLayout::Seed)
    }

    #[test]
    fn every_format_maps_to_hive_types() {
        for format in Format::ALL {
            let table = converted_table(format.parser(), seed(format), "db", "t", "s3://b/t");
            assert_eq!(table.location, "s3://b/t/");
            assert_eq!(table.columns.last().unwrap().name, "_source_key");
            assert!(table.columns.iter().all(|c| !c.data_type.is_empty()));
            let keys: Vec<_> = table.partition_keys.iter().map(|c| &c.name).collect();
            assert_eq!(keys, format.info().partitioning.keys());
        }
        let cloudtrail = converted_table(
            Format::Cloudtrail.parser(),
            seed(Format::Cloudtrail),
            "d",
            "t",
            "x",
        );
        let resources = cloudtrail
            .columns
            .iter()
            .find(|c| c.name == "resources")
            .unwrap();
        assert_eq!(
            resources.data_type,
            "array<struct<arn:string,accountid:string,type:string>>"
        );
        let alb = converted_table(Format::Alb.parser(), seed(Format::Alb), "d", "t", "x");
        let types: BTreeMap<_, _> = alb
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.data_type.as_str()))
            .collect();
        assert_eq!(types["time"], "timestamp");
        assert_eq!(types["elb_status_code"], "int");
        assert_eq!(types["sent_bytes"], "bigint");
        assert_eq!(types["request_processing_time"], "double");
    }

    #[test]
    fn projection_covers_seen_accounts_regions_and_years() {
        let mut range = ProjectionRange::default();
        let values = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let keys = Partitioning::RegionDate.keys();
        range.include(keys, &values(&["us-east-1", "2023", "12", "31"]));
        range.include(keys, &values(&["eu-west-1", "2025", "01", "01"]));
        let template = converted_template("s3://b/alb", keys);
        assert_eq!(
            template,
            "s3://b/alb/region=${region}/year=${year}/month=${month}/day=${day}/"
        );
        let p = projection_parameters(keys, &range, template, 2026);
        assert_eq!(p["projection.region.values"], "eu-west-1,us-east-1");
        assert_eq!(p["projection.year.range"], "2023,2025");
        assert_eq!(p["projection.day.digits"], "2");
        assert!(!p.contains_key("projection.account_id.type"));
        let p = projection_parameters(
            Partitioning::Date.keys(),
            &ProjectionRange::default(),
            "x".into(),
            2026,
        );
        assert_eq!(p["projection.year.range"], "2026,2026");
        assert!(!p.contains_key("projection.region.type"));
        let by_account = TablePartitioning::new(Partitioning::Date, PartitionLayout::Account);
        let keys = by_account.keys();
        let mut range = ProjectionRange::default();
        range.include(&keys, &values(&["210987654321", "2024", "03", "07"]));
        range.include(&keys, &values(&["123456789012", "2024", "03", "08"]));
        let p = projection_parameters(&keys, &range, "x".into(), 2026);
        assert_eq!(p["projection.account_id.type"], "enum");
        assert_eq!(
            p["projection.account_id.values"],
            "123456789012,210987654321"
        );
        assert_eq!(p["projection.year.range"], "2024,2024");
        assert_eq!(
            converted_template("s3://b/s3", &keys),
            "s3://b/s3/account_id=${account_id}/year=${year}/month=${month}/day=${day}/"
        );
    }
}
