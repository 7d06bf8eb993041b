//! Raw (source) tables: Athena reads the logs as AWS delivered them. Each format describes its
//! raw table ([`agsl_formats::raw::RawTable`]: the Regex SerDe with a pattern built from its
//! wire layout, delimited text with header lines skipped, or a SerDe of the service's own, as
//! in AWS's published Athena DDL); this module renders that description into a catalog table
//! and knows no format.

use std::collections::BTreeMap;

use agsl_formats::Format;
use agsl_formats::raw::{RawLayout, RawSerde};

use super::hive::{folder_url, partition_keys};
use super::{Column, ROLE_PARAMETER, SERVICE_PARAMETER, StorageFormat, TableDefinition};
use crate::sink::{PartitionLayout, TablePartitioning};
use crate::window::date_folder_value;

const TEXT_INPUT: &str = "org.apache.hadoop.mapred.TextInputFormat";
const TEXT_OUTPUT: &str = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat";
const REGEX_SERDE: &str = "org.apache.hadoop.hive.serde2.RegexSerDe";
const LAZY_SERDE: &str = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe";
const JSON_SERDE: &str = "org.openx.data.jsonserde.JsonSerDe";

/// The raw table of `format` over `location` (the source folder). `header_fields` are the field
/// names of the objects' header line, when known (VPC custom formats), for formats whose
/// header names the columns; the format's default columns otherwise. With the account
/// `layout`, partitioned raw tables are led by `account_id` too.
pub fn raw_table(
    format: Format,
    layout: PartitionLayout,
    database: &str,
    name: &str,
    location: &str,
    header_fields: Option<&[String]>,
) -> TableDefinition {
    let raw = format.parser().raw_table();
    let mut parameters = BTreeMap::from([
        ("EXTERNAL".to_owned(), "TRUE".to_owned()),
        (SERVICE_PARAMETER.to_owned(), format.to_string()),
        (ROLE_PARAMETER.to_owned(), "raw".to_owned()),
    ]);
    let text = |serde: &str, serde_parameters: BTreeMap<String, String>| StorageFormat {
        input_format: TEXT_INPUT.into(),
        output_format: TEXT_OUTPUT.into(),
        serde_library: serde.into(),
        serde_parameters,
    };
    let typed = |columns: &[(&str, &str)]| -> Vec<Column> {
        columns.iter().map(|(n, t)| Column::new(*n, *t)).collect()
    };
    let (columns, storage) = match raw.serde {
        RawSerde::Regex(wire) => {
            parameters.insert("classification".into(), "regex".into());
            (
                wire.columns()
                    .into_iter()
                    .map(|name| Column::new(name, "string"))
                    .collect(),
                text(
                    REGEX_SERDE,
                    BTreeMap::from([("input.regex".to_owned(), wire.line_regex())]),
                ),
            )
        }
        RawSerde::Delimited {
            separator,
            header_lines,
            columns,
            header_names_columns,
        } => {
            parameters.insert("skip.header.line.count".into(), header_lines.to_string());
            parameters.insert("classification".into(), "csv".into());
            let columns = match header_fields {
                Some(fields) if header_names_columns && !fields.is_empty() => fields
                    .iter()
                    .map(|f| {
                        let name = f.replace('-', "_");
                        let known = columns.iter().find(|(c, _)| *c == name);
                        Column::new(&name, known.map_or("string", |(_, t)| *t))
                    })
                    .collect(),
                _ => typed(columns),
            };
            (columns, text(LAZY_SERDE, delimited(separator)))
        }
        RawSerde::JsonLines {
            columns,
            key_mapping,
        } => {
            parameters.insert("classification".into(), "json".into());
            let mapping = key_mapping
                .iter()
                .map(|(column, key)| (format!("mapping.{column}"), (*key).to_owned()))
                .collect();
            (typed(columns), text(JSON_SERDE, mapping))
        }
        RawSerde::Custom {
            classification,
            input_format,
            serde_library,
            columns,
        } => {
            parameters.insert("classification".into(), classification.into());
            (
                typed(columns),
                StorageFormat {
                    input_format: input_format.into(),
                    output_format: TEXT_OUTPUT.into(),
                    serde_library: serde_library.into(),
                    serde_parameters: BTreeMap::new(),
                },
            )
        }
    };
    let partition_keys = match raw.layout {
        RawLayout::RegionDateFolders => partition_keys(TablePartitioning::new(
            agsl_formats::Partitioning::RegionDate,
            layout,
        )),
        RawLayout::Flat => Vec::new(),
    };
    TableDefinition {
        database: database.to_owned(),
        name: name.to_owned(),
        location: folder_url(location),
        columns,
        partition_keys,
        storage,
        parameters,
    }
}

fn delimited(separator: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("field.delim".to_owned(), separator.to_owned()),
        ("serialization.format".to_owned(), separator.to_owned()),
    ])
}

/// The raw partition of an object (or of its folder, a URL ending in `/`): its region and
/// date folders (`…/<region>/YYYY/MM/DD/`, or Hive-style
/// `…/aws-region=<region>/year=YYYY/month=MM/day=DD/`, as VPC Flow Logs' Hive-compatible
/// prefixes write them), located at the day folder, which holds the hour folders of VPC Flow
/// Logs' per-hour partitions (`…/DD/HH/`, `…/day=DD/hour=HH/`) too; `None` for an object
/// outside such folders.
pub(crate) fn raw_partition(object_url: &str) -> Option<super::Partition> {
    let (folder, _file) = object_url.rsplit_once('/')?;
    let segments: Vec<&str> = folder.split('/').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let at_day = |end: usize| -> Option<super::Partition> {
        let [region, year, month, day] = segments.get(end.checked_sub(4)?..end)? else {
            return None;
        };
        let region = region.strip_prefix("aws-region=").unwrap_or(region);
        let (year, month, day) = (
            date_folder_value(year),
            date_folder_value(month),
            date_folder_value(day),
        );
        let region_like = region.split('-').count() >= 3
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        (digits(year, 4) && digits(month, 2) && digits(day, 2) && region_like).then(|| {
            super::Partition {
                values: vec![region.into(), year.into(), month.into(), day.into()],
                location: format!("{}/", segments[..end].join("/")),
            }
        })
    };
    let hour = segments
        .last()
        .is_some_and(|last| digits(last.strip_prefix("hour=").unwrap_or(last), 2));
    at_day(segments.len()).or_else(|| at_day(segments.len() - 1).filter(|_| hour))
}

#[cfg(test)]
mod tests {
    use agsl_formats::raw::greedy_twin;

    use super::*;

    #[test]
    fn regex_groups_match_the_columns() {
        let regex_formats = Format::ALL
            .into_iter()
            .filter(|f| matches!(f.parser().raw_table().serde, RawSerde::Regex(_)));
        for format in regex_formats {
            let table = raw_table(format, PartitionLayout::Seed, "raw", "t", "s3://b/p", None);
            let pattern = &table.storage.serde_parameters["input.regex"];
            let regex = regex::Regex::new(&greedy_twin(pattern)).unwrap();
            assert_eq!(regex.captures_len() - 1, table.columns.len(), "{format}");
        }
    }

    /// JSON keys that are no valid column name (`cs(Host)`) are read through the SerDe's
    /// `mapping.<column>` properties; every JSON SerDe table names only columns it has.
    #[test]
    fn json_serde_tables_map_keys_that_are_no_column_names() {
        let table = raw_table(
            Format::CloudfrontV2,
            PartitionLayout::Seed,
            "raw",
            "t",
            "s3://b/p",
            None,
        );
        let parameters = &table.storage.serde_parameters;
        assert_eq!(parameters["mapping.cs_host"], "cs(Host)");
        assert_eq!(parameters["mapping.cs_referrer"], "cs(Referer)");
        assert_eq!(parameters["mapping.timestamp_ms"], "timestamp(ms)");
        assert!(
            !parameters.contains_key("mapping.date"),
            "same name, no mapping"
        );
        for format in Format::ALL {
            let table = raw_table(format, PartitionLayout::Seed, "raw", "t", "s3://b/p", None);
            for key in table.storage.serde_parameters.keys() {
                if let Some(column) = key.strip_prefix("mapping.") {
                    assert!(
                        table.columns.iter().any(|c| c.name == column),
                        "{format}: {key}"
                    );
                }
            }
        }
    }

    #[test]
    fn raw_partitions_come_from_the_delivery_folders() {
        let p = raw_partition(
            "s3://b/AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/03/07/x.log.gz",
        )
        .unwrap();
        assert_eq!(p.values, ["us-east-1", "2024", "03", "07"]);
        assert_eq!(
            p.location,
            "s3://b/AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/03/07/"
        );
        // Per-hour folders and Hive-compatible prefixes: the day folder, which holds the hours.
        for (url, day) in [
            (
                "s3://b/AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/07/23/x.log.gz",
                "s3://b/AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/07/",
            ),
            (
                "s3://b/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=03/day=07/x.log.gz",
                "s3://b/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=03/day=07/",
            ),
            (
                "s3://b/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=03/day=07/hour=23/x.log.gz",
                "s3://b/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=03/day=07/",
            ),
        ] {
            let p = raw_partition(url).unwrap();
            assert_eq!(p.values, ["us-east-1", "2024", "03", "07"], "{url}");
            assert_eq!(p.location, day);
        }
        assert!(raw_partition("file:///logs/hand-collected.log").is_none());
        assert!(raw_partition("s3://b/x/us-east-1/2024/3/07/f").is_none());
    }

    #[test]
    fn vpc_raw_columns_follow_the_header() {
        let fields: Vec<String> = ["version", "vpc-id", "srcport", "start"]
            .map(String::from)
            .into();
        let table = raw_table(
            Format::VpcFlow,
            PartitionLayout::Seed,
            "raw",
            "t",
            "s3://b/p",
            Some(&fields),
        );
        let columns: Vec<_> = table
            .columns
            .iter()
            .map(|c| format!("{} {}", c.name, c.data_type))
            .collect();
        assert_eq!(
            columns,
            [
                "version int",
                "vpc_id string",
                "srcport int",
                "start bigint"
            ]
        );
    }
}
