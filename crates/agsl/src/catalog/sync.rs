//! Brings a catalog in line with a target after a run: the databases, the raw and converted
//! tables of each service (created, or upgraded by appending new columns), and every partition
//! the target's ledger holds. Partitions are found by comparing the ledger with the catalog's
//! full listing rather than by remembering what the last run added, so a run that died between
//! its commit and its catalog update is healed by the next one; a table whose `agsl.commit`
//! parameter already names the ledger's sequence needs no listing at all.

use std::collections::{BTreeMap, BTreeSet};

use agsl_formats::raw::RawLayout;
use agsl_formats::{Format, HIVE_DEFAULT_PARTITION, account_from_key};

use super::hive::{ProjectionRange, converted_template, folder_url, projection_parameters};
use super::raw::raw_partition;
use super::{
    COMMIT_PARAMETER, Catalog, CatalogError, DEFAULT_DATABASE, DEFAULT_RAW_DATABASE,
    LAST_RUN_PARAMETER, Partition, ROWS_PARAMETER, TARGET_PARAMETER, TableDefinition,
    converted_table, evolve_columns, raw_table,
};
use crate::sink::{PartitionLayout, TablePartitioning, is_rejects_file};
use crate::state::Ledger;

/// The catalog names of one service's two tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    pub database: String,
    pub table: String,
    pub raw_database: String,
    pub raw_table: String,
}

impl TableNames {
    /// The seed's names (FORMATS.md section 0), each overridable.
    pub fn resolve(
        format: Format,
        database: Option<&str>,
        table: Option<&str>,
        raw_database: Option<&str>,
        raw_table: Option<&str>,
    ) -> Self {
        Self {
            database: database.unwrap_or(DEFAULT_DATABASE).to_owned(),
            table: table.unwrap_or(format.table_name()).to_owned(),
            raw_database: raw_database.unwrap_or(DEFAULT_RAW_DATABASE).to_owned(),
            raw_table: raw_table.map_or_else(
                || format!("{}_raw_logs", format.table_name()),
                str::to_owned,
            ),
        }
    }
}

/// One service to bring in line: its tables' names and where their data is.
#[derive(Debug, Clone)]
pub struct ServiceTables {
    pub format: Format,
    pub names: TableNames,
    /// The converted table's folder URL.
    pub location: String,
    /// The table's folder relative to the target (`""`, or `alb` with `--service auto`).
    pub folder: String,
    /// The converted table's partition layout; with `account`, the raw table's partitions
    /// are led by `account_id` too.
    pub layout: PartitionLayout,
    /// The source folder URL the raw table reads.
    pub source: String,
    /// Field names of the newest object's header line, for raw tables whose columns follow it
    /// (VPC custom formats).
    pub header_fields: Option<Vec<String>>,
    /// Set when this run converted objects of the service: recorded as the table's last run.
    pub run: Option<String>,
}

/// What a sync changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogSummary {
    /// `local` or `glue`.
    pub catalog: String,
    pub tables_created: u64,
    pub tables_updated: u64,
    /// Columns appended to existing converted tables (schema upgrades).
    pub columns_added: u64,
    /// Partitions registered by this sync, raw and converted tables together.
    pub partitions_added: u64,
    /// Registered partitions pointed at the folder their files are in now (a moved target).
    pub partitions_moved: u64,
}

/// A table as the ledger says it should be, with the partitions it should have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTable {
    pub table: TableDefinition,
    pub partitions: Vec<Partition>,
}

/// The converted and the raw table of one service, as `ledger` describes them. With
/// `projection`, both get partition projection parameters (and keep their partition lists
/// for reference only).
pub fn plan_tables(
    ledger: &Ledger,
    service: &ServiceTables,
    projection: bool,
    this_year: i32,
) -> [PlannedTable; 2] {
    let (partitions, rows, folders) = ledger_contents(ledger, service);
    let parser = service.format.parser();
    let partitioning = TablePartitioning::of(parser, service.layout);
    let keys = partitioning.keys();
    let mut converted = converted_table(
        parser,
        partitioning,
        &service.names.database,
        &service.names.table,
        &service.location,
    );
    let target = (TARGET_PARAMETER.to_owned(), converted.location.clone());
    converted.parameters.extend([
        (ROWS_PARAMETER.to_owned(), rows.to_string()),
        (COMMIT_PARAMETER.to_owned(), ledger.sequence.to_string()),
        target.clone(),
    ]);
    if projection {
        let mut range = ProjectionRange::default();
        for p in &partitions {
            range.include(&keys, &p.values);
        }
        let template = converted_template(&converted.location, &keys);
        converted
            .parameters
            .extend(projection_parameters(&keys, &range, template, this_year));
    }
    let mut raw = raw_table(
        service.format,
        service.layout,
        &service.names.raw_database,
        &service.names.raw_table,
        &service.source,
        service.header_fields.as_deref(),
    );
    raw.parameters.extend([
        (COMMIT_PARAMETER.to_owned(), ledger.sequence.to_string()),
        target,
    ]);
    let by_account = service.layout == PartitionLayout::Account;
    let raw_partitions: Vec<Partition> = match service.format.parser().raw_table().layout {
        RawLayout::RegionDateFolders => raw_partitions(&folders, by_account),
        RawLayout::Flat => Vec::new(),
    };
    let raw_keys: Vec<&str> = raw.partition_keys.iter().map(|c| c.name.as_str()).collect();
    if projection && !raw.partition_keys.is_empty() {
        let mut range = ProjectionRange::default();
        for p in &raw_partitions {
            range.include(&raw_keys, &p.values);
        }
        let mut prefix = raw_partitions
            .first()
            .map(|p| strip_segments(&p.location, 4))
            .unwrap_or_else(|| raw.location.clone());
        if by_account && let Some(account) = raw_partitions.first().map(|p| &p.values[0]) {
            // The account is a folder of the delivery path (`AWSLogs/<account>/…`).
            prefix = prefix.replacen(&format!("/{account}/"), "/${account_id}/", 1);
        }
        let template = format!("{prefix}${{region}}/${{year}}/${{month}}/${{day}}/");
        raw.parameters.extend(projection_parameters(
            &raw_keys, &range, template, this_year,
        ));
    }
    [
        PlannedTable {
            table: converted,
            partitions,
        },
        PlannedTable {
            table: raw,
            partitions: raw_partitions,
        },
    ]
}

/// Brings `catalog` in line with `ledger` for each of `services`. With `projection`, tables
/// get partition projection parameters instead of registered partitions.
pub fn sync(
    catalog: &dyn Catalog,
    ledger: &Ledger,
    services: &[ServiceTables],
    projection: bool,
    this_year: i32,
) -> Result<CatalogSummary, CatalogError> {
    let mut summary = CatalogSummary {
        catalog: catalog.kind().to_owned(),
        ..CatalogSummary::default()
    };
    for service in services {
        catalog.ensure_database(&service.names.raw_database)?;
        catalog.ensure_database(&service.names.database)?;
        let [converted, raw] = plan_tables(ledger, service, projection, this_year);
        let run = service.run.as_deref();
        apply(catalog, converted, run, true, &mut summary)?;
        apply(catalog, raw, run, false, &mut summary)?;
    }
    catalog.flush()?;
    Ok(summary)
}

/// Creates or upgrades one table, registers the partitions it lacks, and only then records the
/// ledger sequence it is in line with (so a sync cut short is redone in full next time).
fn apply(
    catalog: &dyn Catalog,
    planned: PlannedTable,
    run: Option<&str>,
    converted: bool,
    summary: &mut CatalogSummary,
) -> Result<(), CatalogError> {
    let PlannedTable {
        table: mut wanted,
        partitions,
    } = planned;
    let commit = wanted.parameters.remove(COMMIT_PARAMETER);
    let existing = catalog.table(&wanted.database, &wanted.name)?;
    let in_line = match &existing {
        None => {
            if let Some(run) = run {
                wanted
                    .parameters
                    .insert(LAST_RUN_PARAMETER.into(), run.into());
            }
            catalog.create_table(&wanted)?;
            summary.tables_created += 1;
            false
        }
        Some(existing) => {
            if catalog.is_shared() {
                let target = wanted.parameters.get(TARGET_PARAMETER);
                check_owner(existing, target.map_or("", String::as_str), converted)?;
            }
            if converted {
                // The data's columns decide; the table keeps what it has and gains the rest.
                if let Some(columns) = evolve_columns(existing, &wanted)? {
                    summary.columns_added += (columns.len() - existing.columns.len()) as u64;
                    wanted.columns = columns;
                } else {
                    wanted.columns = existing.columns.clone();
                }
            } else if existing.partition_keys != wanted.partition_keys {
                return Err(CatalogError::IncompatiblePartitioning {
                    table: existing.qualified_name(),
                    existing: names(&existing.partition_keys),
                    wanted: names(&wanted.partition_keys),
                });
            }
            wanted.parameters = merged_parameters(existing, wanted.parameters, run);
            if &wanted != existing {
                catalog.update_table(&wanted)?;
                summary.tables_updated += 1;
            }
            // Switching projection off leaves partitions to register however recent the table,
            // and a table that has moved (a local target's folder) has partitions to repoint.
            !catalog.lists_cheaply()
                && existing.parameters.get(COMMIT_PARAMETER) == commit.as_ref()
                && existing.projected() == wanted.projected()
                && same_folder(&existing.location, &wanted.location)
        }
    };
    if in_line {
        return Ok(());
    }
    if !wanted.projected() && !partitions.is_empty() {
        let registered: BTreeMap<Vec<String>, String> = catalog
            .partitions(&wanted.database, &wanted.name)?
            .into_iter()
            .map(|p| (p.values, p.location))
            .collect();
        let (mut missing, mut moved) = (Vec::new(), Vec::new());
        for partition in partitions {
            match registered.get(&partition.values) {
                None => missing.push(partition),
                Some(location) if !same_folder(location, &partition.location) => {
                    moved.push(partition);
                }
                Some(_) => {}
            }
        }
        if !missing.is_empty() {
            summary.partitions_added += catalog.add_partitions(&wanted, &missing)?;
        }
        if !moved.is_empty() {
            summary.partitions_moved += catalog.move_partitions(&wanted, &moved)?;
        }
    }
    if let Some(commit) = commit {
        wanted.parameters.insert(COMMIT_PARAMETER.into(), commit);
        catalog.update_table(&wanted)?;
    }
    Ok(())
}

/// Before a run converts anything: refuses `names`' tables in a shared catalog when another
/// target keeps them, as [`sync`] would after the run's commits, so the user learns it first.
/// `location` is the converted table's folder URL.
pub fn check_owners(
    catalog: &dyn Catalog,
    names: &TableNames,
    location: &str,
) -> Result<(), CatalogError> {
    if !catalog.is_shared() {
        return Ok(());
    }
    let tables = [
        (&names.database, &names.table, true),
        (&names.raw_database, &names.raw_table, false),
    ];
    for (database, table, converted) in tables {
        if let Some(existing) = catalog.table(database, table)? {
            check_owner(&existing, location, converted)?;
        }
    }
    Ok(())
}

/// Refuses a table of a shared catalog that another target keeps: repointing it would hide
/// that target's partitions behind this one's wherever their values meet. A table agsl made
/// names its target; one made before it did, or by another tool (the seed's job), is told by
/// its location when converted, and a raw table's location follows its source, which may move.
/// `target` is this target's converted table folder (URL).
fn check_owner(
    existing: &TableDefinition,
    target: &str,
    converted: bool,
) -> Result<(), CatalogError> {
    let owner = match existing.parameters.get(TARGET_PARAMETER) {
        Some(owner) => owner,
        None if converted => &existing.location,
        None => return Ok(()),
    };
    if same_folder(owner, target) {
        return Ok(());
    }
    Err(CatalogError::OtherTarget {
        table: existing.qualified_name(),
        owner: owner.trim_end_matches('/').to_owned(),
        target: target.trim_end_matches('/').to_owned(),
    })
}

/// The parameters an existing table keeps: those others set stay, agsl's own and the
/// projection's are replaced by `wanted`, and the last run is kept unless this run is one.
fn merged_parameters(
    existing: &TableDefinition,
    wanted: BTreeMap<String, String>,
    run: Option<&str>,
) -> BTreeMap<String, String> {
    let mut parameters: BTreeMap<String, String> = existing
        .parameters
        .iter()
        .filter(|(k, _)| !k.starts_with("projection.") && k.as_str() != "storage.location.template")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    parameters.extend(wanted);
    if let Some(run) = run {
        parameters.insert(LAST_RUN_PARAMETER.into(), run.into());
    }
    parameters
}

fn names(columns: &[super::Column]) -> String {
    columns
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// From the ledger: the converted table's partitions, its row count, and the folders (URLs
/// ending in `/`) of the source objects converted into it: a table of a million objects has a
/// few hundred of them.
fn ledger_contents(
    ledger: &Ledger,
    service: &ServiceTables,
) -> (Vec<Partition>, u64, BTreeSet<String>) {
    let keyword = service.format.to_string();
    let keys = TablePartitioning::of(service.format.parser(), service.layout).keys();
    let mut partitions = BTreeMap::new();
    let mut rows = 0;
    let mut folders = BTreeSet::new();
    for (path, entry) in &ledger.files {
        if entry.service != keyword {
            continue;
        }
        for url in entry.sources.urls() {
            let folder = url.rfind('/').map_or(url.as_str(), |end| &url[..=end]);
            if !folders.contains(folder) {
                folders.insert(folder.to_owned());
            }
        }
        let Some(in_table) = path
            .strip_prefix(service.folder.as_str())
            .map(|p| p.trim_start_matches('/'))
        else {
            continue;
        };
        if is_rejects_file(path) {
            continue;
        }
        let Some((folder, _file)) = in_table.rsplit_once('/') else {
            continue;
        };
        let values: Option<Vec<String>> = folder
            .split('/')
            .zip(&keys)
            .map(|(segment, key)| {
                segment
                    .strip_prefix(key)
                    .and_then(|s| s.strip_prefix('='))
                    .map(str::to_owned)
            })
            .collect();
        match values {
            Some(values) if values.len() == keys.len() => {
                rows += entry.rows;
                partitions
                    .entry(values)
                    .or_insert_with(|| format!("{}{folder}/", folder_url(&service.location)));
            }
            _ => {}
        }
    }
    let partitions = partitions
        .into_iter()
        .map(|(values, location)| Partition { values, location })
        .collect();
    (partitions, rows, folders)
}

/// The raw partitions of source `folders` (URLs ending in `/`). Two folders with the same
/// values (two accounts below one source prefix) cannot both be a partition: the first wins
/// and the rest are logged.
fn raw_partitions(folders: &BTreeSet<String>, by_account: bool) -> Vec<Partition> {
    let mut partitions: BTreeMap<Vec<String>, String> = BTreeMap::new();
    let mut outside = 0u64;
    for url in folders {
        let partition = raw_partition(url).map(|mut p| {
            if by_account {
                let account = account_from_key(url).unwrap_or(HIVE_DEFAULT_PARTITION);
                p.values.insert(0, account.to_owned());
            }
            p
        });
        match partition {
            Some(p) => match partitions.get(&p.values) {
                Some(location) if *location != p.location => {
                    tracing::warn!(
                        folder = p.location,
                        registered = location,
                        "two source folders have the same raw partition values; the raw table reads only the first"
                    );
                }
                Some(_) => {}
                None => {
                    partitions.insert(p.values, p.location);
                }
            },
            None => outside += 1,
        }
    }
    if outside > 0 {
        tracing::debug!(
            folders = outside,
            "source folders outside the region/yyyy/mm/dd layout are in no raw partition"
        );
    }
    partitions
        .into_iter()
        .map(|(values, location)| Partition { values, location })
        .collect()
}

/// Whether two folder URLs name the same folder (one may lack the trailing `/`, as in tables
/// made by other tools).
pub fn same_folder(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// `url` (a folder, ending in `/`) without its last `n` folders.
fn strip_segments(url: &str, n: usize) -> String {
    let mut rest = url.trim_end_matches('/');
    for _ in 0..n {
        rest = rest.rsplit_once('/').map_or(rest, |(head, _)| head);
    }
    format!("{rest}/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{FileEntry, SourceRows};

    #[test]
    fn ledger_files_give_partitions_rows_and_sources() {
        let mut ledger = Ledger::default();
        let entry = |service: &str, rows, source: &str| FileEntry {
            service: service.into(),
            rows,
            bytes: 1,
            sources: SourceRows::uncounted([source.to_owned()]),
            newest_event: None,
        };
        let day = "region=us-east-1/year=2024/month=03/day=07";
        ledger.files.insert(
            format!("alb/{day}/part-a.parquet"),
            entry("alb", 10, "s3://l/us-east-1/2024/03/07/a.log.gz"),
        );
        ledger.files.insert(
            format!("alb/{day}/part-b.parquet"),
            entry("alb", 5, "s3://l/us-east-1/2024/03/07/b.log.gz"),
        );
        ledger.files.insert(
            "alb/_rejects/part-a.parquet".into(),
            entry("alb", 2, "s3://l/us-east-1/2024/03/08/c.log.gz"),
        );
        ledger.files.insert(
            "s3://quarantine/alb/part-c.parquet".into(),
            entry("alb", 3, "s3://l/us-east-1/2024/03/08/d.log.gz"),
        );
        ledger.files.insert(
            "elb/region=x/year=2024/month=03/day=07/p.parquet".into(),
            entry("elb", 7, "s3://l/e"),
        );
        let service = ServiceTables {
            format: Format::Alb,
            names: TableNames::resolve(Format::Alb, None, None, None, None),
            location: "s3://t/alb".into(),
            folder: "alb".into(),
            layout: PartitionLayout::Seed,
            source: "s3://l".into(),
            header_fields: None,
            run: None,
        };
        let (partitions, rows, folders) = ledger_contents(&ledger, &service);
        assert_eq!(rows, 15);
        assert_eq!(
            partitions,
            [Partition {
                values: vec!["us-east-1".into(), "2024".into(), "03".into(), "07".into()],
                location: format!("s3://t/alb/{day}/"),
            }]
        );
        assert_eq!(
            folders.iter().collect::<Vec<_>>(),
            [
                "s3://l/us-east-1/2024/03/07/",
                "s3://l/us-east-1/2024/03/08/"
            ],
            "one entry per folder, table and rejects files alike"
        );
        let raw = raw_partitions(&folders, false);
        assert_eq!(raw.len(), 2);
        assert_eq!(raw[1].location, "s3://l/us-east-1/2024/03/08/");
        assert_eq!(strip_segments(&raw[1].location, 4), "s3://l/");
    }

    #[test]
    fn a_table_belongs_to_the_target_it_names_else_to_its_location() {
        let service = |location: &str| ServiceTables {
            format: Format::Alb,
            names: TableNames::resolve(Format::Alb, None, None, None, None),
            location: location.into(),
            folder: String::new(),
            layout: PartitionLayout::Seed,
            source: "s3://logs/a".into(),
            header_fields: None,
            run: None,
        };
        let [ours, ours_raw] =
            plan_tables(&Ledger::default(), &service("s3://t/alb/"), false, 2026);
        let [theirs, theirs_raw] =
            plan_tables(&Ledger::default(), &service("s3://t/other"), false, 2026);
        let (theirs, theirs_raw) = (theirs.table, theirs_raw.table);
        assert_eq!(ours.table.parameters[TARGET_PARAMETER], "s3://t/alb/");
        assert_eq!(ours_raw.table.parameters[TARGET_PARAMETER], "s3://t/alb/");
        let here = "s3://t/alb";
        assert!(
            check_owner(&ours.table, here, true).is_ok(),
            "one folder, with or without `/`"
        );
        assert!(matches!(
            check_owner(&theirs, "s3://t/alb/", true),
            Err(CatalogError::OtherTarget { owner, target, .. })
                if owner == "s3://t/other" && target == "s3://t/alb"
        ));
        assert!(check_owner(&theirs_raw, here, false).is_err());
        // Made without the parameter: a converted table's location tells; a raw table's
        // location is its source's, which may move, so it is taken over.
        let mut legacy = theirs.clone();
        legacy.parameters.remove(TARGET_PARAMETER);
        assert!(check_owner(&legacy, here, true).is_err());
        legacy.location = "s3://t/alb".into();
        assert!(check_owner(&legacy, here, true).is_ok());
        let mut legacy_raw = theirs_raw.clone();
        legacy_raw.parameters.remove(TARGET_PARAMETER);
        legacy_raw.location = "s3://logs/elsewhere/".into();
        assert!(check_owner(&legacy_raw, here, false).is_ok());
    }

    #[test]
    fn account_partitions_lead_with_the_account() {
        let mut ledger = Ledger::default();
        let day = "account_id=123456789012/region=us-east-1/year=2024/month=03/day=07";
        let source = "s3://l/AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/03/07/a.gz";
        ledger.files.insert(
            format!("{day}/part-a.parquet"),
            FileEntry {
                service: "alb".into(),
                rows: 4,
                bytes: 100,
                sources: SourceRows::uncounted([source.to_owned()]),
                newest_event: None,
            },
        );
        let service = ServiceTables {
            format: Format::Alb,
            names: TableNames::resolve(Format::Alb, None, None, None, None),
            location: "s3://t/alb".into(),
            folder: String::new(),
            layout: PartitionLayout::Account,
            source: "s3://l/AWSLogs/".into(),
            header_fields: None,
            run: None,
        };
        let [converted, raw] = plan_tables(&ledger, &service, true, 2026);
        let keys: Vec<_> = converted
            .table
            .partition_keys
            .iter()
            .map(|c| &c.name)
            .collect();
        assert_eq!(keys, ["account_id", "region", "year", "month", "day"]);
        assert_eq!(converted.partitions.len(), 1);
        assert_eq!(
            converted.partitions[0].values,
            ["123456789012", "us-east-1", "2024", "03", "07"]
        );
        let keys: Vec<_> = raw.table.partition_keys.iter().map(|c| &c.name).collect();
        assert_eq!(keys, ["account_id", "region", "year", "month", "day"]);
        assert_eq!(raw.partitions[0].values, converted.partitions[0].values);
        assert_eq!(
            raw.table.parameters["storage.location.template"],
            "s3://l/AWSLogs/${account_id}/elasticloadbalancing/${region}/${year}/${month}/${day}/"
        );
        assert_eq!(
            raw.table.parameters["projection.account_id.values"],
            "123456789012"
        );
        // A seed-layout plan finds no partition in account folders.
        let seed = ServiceTables {
            layout: PartitionLayout::Seed,
            ..service
        };
        assert!(ledger_contents(&ledger, &seed).0.is_empty());
    }

    #[test]
    fn seed_names_are_the_defaults() {
        let names = TableNames::resolve(Format::VpcFlow, None, None, None, None);
        assert_eq!(names.database, "aws_service_logs");
        assert_eq!(names.table, "vpcflow");
        assert_eq!(names.raw_database, "aws_service_logs_raw");
        assert_eq!(names.raw_table, "vpcflow_raw_logs");
        let names = TableNames::resolve(Format::Alb, Some("d"), Some("t"), Some("rd"), Some("rt"));
        assert_eq!(
            (
                names.database,
                names.table,
                names.raw_database,
                names.raw_table
            ),
            ("d".into(), "t".into(), "rd".into(), "rt".into())
        );
    }
}
