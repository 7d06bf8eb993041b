//! The tables a run keeps up to date: for every service, the *raw* table over the source logs
//! (a SerDe that lets Athena read the text as delivered) and the *converted* Parquet table, each
//! with its partitions. One [`Catalog`] trait, two implementations: [`GlueCatalog`] (the AWS
//! Glue Data Catalog) and [`LocalCatalog`] (an SQLite file kept with the target, the default).
//! [`sync`] brings a catalog in line with a target's ledger after each run; [`ddl`] renders the
//! same definitions as Athena DDL.

pub mod ddl;
mod evolve;
mod glue;
mod hive;
mod local;
mod raw;
mod sync;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use evolve::evolve_columns;
pub use glue::GlueCatalog;
pub use hive::{converted_table, hive_type};
pub use local::{LOCAL_CATALOG_KEY, LocalCatalog};
pub use raw::raw_table;
pub use sync::{
    CatalogSummary, PlannedTable, ServiceTables, TableNames, check_owners, plan_tables,
    same_folder, sync,
};

/// Checks a database or table name: Athena takes 1 to 255 lowercase letters, digits and
/// underscores.
pub fn check_name(name: &str) -> Result<(), String> {
    let valid = (1..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid name `{name}`: use 1 to 255 lowercase letters, digits and underscores"
        ))
    }
}

/// A table as `agsl tables` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableListing {
    pub table: TableDefinition,
    /// Registered partitions; `None` when the table uses partition projection.
    pub partitions: Option<u64>,
}

/// The tables of `databases`, in order, with their partition counts.
pub fn list_tables(
    catalog: &dyn Catalog,
    databases: &[&str],
) -> Result<Vec<TableListing>, CatalogError> {
    let mut listings = Vec::new();
    for database in databases {
        for table in catalog.tables(database)? {
            let partitions = if table.projected() {
                None
            } else {
                Some(catalog.partitions(database, &table.name)?.len() as u64)
            };
            listings.push(TableListing { table, partitions });
        }
    }
    Ok(listings)
}

/// Which catalog a job keeps its tables in, and under which names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogOptions {
    pub kind: CatalogKind,
    /// The converted tables' database [default: `aws_service_logs`].
    pub database: Option<String>,
    /// The converted table's name (one service only) [default: the seed's, e.g. `alb`].
    pub table: Option<String>,
    /// The raw tables' database [default: `aws_service_logs_raw`].
    pub raw_database: Option<String>,
    /// The raw table's name (one service only) [default: e.g. `alb_raw_logs`].
    pub raw_table: Option<String>,
    /// Partition projection parameters instead of registered partitions, on both tables.
    pub partition_projection: bool,
}

/// The seed's database of raw (source) tables.
pub const DEFAULT_RAW_DATABASE: &str = "aws_service_logs_raw";
/// The seed's database of converted tables.
pub const DEFAULT_DATABASE: &str = "aws_service_logs";
/// Table parameter naming the agsl service a table belongs to; set on every table agsl made.
pub const SERVICE_PARAMETER: &str = "agsl.service";
/// Table parameter: `raw` or `converted`.
pub const ROLE_PARAMETER: &str = "agsl.role";
/// Table parameter: rows in the converted table, per the target's ledger.
pub const ROWS_PARAMETER: &str = "agsl.rows";
/// Table parameter: the last run that changed the table (its run id).
pub const LAST_RUN_PARAMETER: &str = "agsl.last_run";
/// Table parameter: the ledger sequence the table was last brought in line with. A run that
/// finds its own sequence there has nothing to check.
pub const COMMIT_PARAMETER: &str = "agsl.commit";
/// Table parameter: the folder (URL) of the converted table whose target keeps this table and
/// its raw companion. In a catalog many targets share (Glue), a table belongs to one of them.
pub const TARGET_PARAMETER: &str = "agsl.target";

/// A column of a catalog table, typed in Hive's type language (`bigint`, `array<struct<…>>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub data_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Column {
    pub fn new(name: impl Into<String>, data_type: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            data_type: data_type.into(),
            comment: None,
        }
    }
}

/// How a table's files are read: Hive input/output formats and the SerDe with its properties.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StorageFormat {
    pub input_format: String,
    pub output_format: String,
    pub serde_library: String,
    pub serde_parameters: BTreeMap<String, String>,
}

/// One table as a catalog holds it: what Glue's `TableInput` carries, in agsl's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDefinition {
    pub database: String,
    pub name: String,
    /// `s3://…/` (or `file:///…/` for local targets), always ending in `/`.
    pub location: String,
    pub columns: Vec<Column>,
    pub partition_keys: Vec<Column>,
    pub storage: StorageFormat,
    /// Table properties: `classification`, `projection.*`, `agsl.*`, …
    pub parameters: BTreeMap<String, String>,
}

impl TableDefinition {
    /// `database.name`, for messages.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.database, self.name)
    }

    /// Whether the table uses partition projection rather than registered partitions.
    pub fn projected(&self) -> bool {
        self.parameters
            .get("projection.enabled")
            .is_some_and(|v| v == "true")
    }
}

/// A registered partition: its values in partition-key order and its folder.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Partition {
    pub values: Vec<String>,
    pub location: String,
}

/// A catalog of databases, tables and partitions. Implementations are idempotent where the
/// catalog allows: creating what exists and adding partitions that exist are not errors.
pub trait Catalog: Send + Sync {
    /// `local` or `glue`, for messages and summaries.
    fn kind(&self) -> &'static str;

    /// Whether other targets keep tables here too (Glue), so a table found by name may be
    /// another target's. The local catalog lives in its target: its tables are that target's,
    /// wherever the folder has moved.
    fn is_shared(&self) -> bool {
        false
    }

    /// Whether listing a table's partitions costs no request (the local SQLite file), so every
    /// sync compares them all instead of trusting `agsl.commit`. That also repoints partitions
    /// that a moved target's earlier runs left at the old folder.
    fn lists_cheaply(&self) -> bool {
        false
    }

    /// Creates the database unless it exists.
    fn ensure_database(&self, name: &str) -> Result<(), CatalogError>;

    /// The table, or `None` if the database has no such table.
    fn table(&self, database: &str, name: &str) -> Result<Option<TableDefinition>, CatalogError>;

    /// Every table of a database, sorted by name (none if the database does not exist).
    fn tables(&self, database: &str) -> Result<Vec<TableDefinition>, CatalogError>;

    fn create_table(&self, table: &TableDefinition) -> Result<(), CatalogError>;

    /// Replaces a table's definition (columns, storage, parameters); its partitions stay.
    fn update_table(&self, table: &TableDefinition) -> Result<(), CatalogError>;

    /// Every registered partition of a table (all pages), sorted by values.
    fn partitions(&self, database: &str, table: &str) -> Result<Vec<Partition>, CatalogError>;

    /// Registers partitions, tolerating ones that exist already; returns how many were new.
    /// Each partition reads its files with the table's storage format.
    fn add_partitions(
        &self,
        table: &TableDefinition,
        partitions: &[Partition],
    ) -> Result<u64, CatalogError>;

    /// Points registered partitions (matched by their values) at new locations, as when the
    /// target has moved; returns how many it changed. Partitions not registered are left out.
    fn move_partitions(
        &self,
        table: &TableDefinition,
        partitions: &[Partition],
    ) -> Result<u64, CatalogError>;

    /// Writes back whatever the catalog keeps apart from the service (the local catalog's file
    /// on an S3 target); a no-op for Glue.
    fn flush(&self) -> Result<(), CatalogError> {
        Ok(())
    }
}

/// Which catalog a job keeps its tables in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CatalogKind {
    /// An SQLite file under `<target>/_agsl/`, moved with the data; needs no AWS account.
    #[default]
    Local,
    /// The AWS Glue Data Catalog (standard credentials and region; `--endpoint-url` applies).
    Glue,
    /// Keep no catalog: only the Parquet files and agsl's own state are written.
    None,
}

impl std::str::FromStr for CatalogKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "local" => Ok(CatalogKind::Local),
            "glue" => Ok(CatalogKind::Glue),
            "none" => Ok(CatalogKind::None),
            other => Err(format!(
                "unknown catalog `{other}`; expected one of: local, glue, none"
            )),
        }
    }
}

impl std::fmt::Display for CatalogKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CatalogKind::Local => "local",
            CatalogKind::Glue => "glue",
            CatalogKind::None => "none",
        })
    }
}

/// A catalog request that failed, or a table that cannot take the new definition.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    #[error("{catalog} catalog: cannot {operation} `{name}`: {message}")]
    Request {
        catalog: &'static str,
        operation: &'static str,
        name: String,
        message: String,
        retryable: bool,
    },
    #[error(
        "table `{table}` cannot take the new schema: column `{column}` is `{existing}` in the catalog but `{wanted}` in the data; existing files were left as they are. Convert into a new table (--table {suggestion}), or drop the table (its files stay) and run again to recreate it"
    )]
    IncompatibleSchema {
        table: String,
        column: String,
        existing: String,
        wanted: String,
        suggestion: String,
    },
    #[error(
        "table `{table}` is the table of `{owner}`, not of this target `{target}`; give this target tables of its own (--table and --raw-table, or --database), or drop the table (its files stay) and run again to move it here"
    )]
    OtherTarget {
        table: String,
        owner: String,
        target: String,
    },
    #[error(
        "table `{table}` is partitioned by ({existing}) but agsl partitions it by ({wanted}); convert into a new table (--table), or drop the table and run again"
    )]
    IncompatiblePartitioning {
        table: String,
        existing: String,
        wanted: String,
    },
    #[error("local catalog `{path}`: {source}")]
    Local {
        path: String,
        source: rusqlite::Error,
    },
    #[error("local catalog `{path}`: {source}")]
    LocalFile {
        path: String,
        source: std::io::Error,
    },
    /// The target's ledger names a service this build of agsl does not know.
    #[error(
        "the target holds `{0}` files, a service this agsl does not know; run the agsl version that wrote them, or a newer one"
    )]
    UnknownService(String),
    /// The newest object, whose header line names the raw table's columns (VPC custom
    /// formats), could not be read.
    #[error("cannot read the header line of `{url}`: {source}")]
    HeaderLine {
        url: String,
        source: Box<crate::Error>,
    },
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

/// The format of a service keyword a target's ledger names; one this build does not know is
/// an error, since its tables would otherwise silently stop being kept.
pub(crate) fn service_format(service: &str) -> Result<agsl_formats::Format, CatalogError> {
    service
        .parse()
        .map_err(|_| CatalogError::UnknownService(service.to_owned()))
}

impl CatalogError {
    /// Whether trying the same request again may succeed (throttling, a concurrent change).
    pub fn is_retryable(&self) -> bool {
        match self {
            CatalogError::Request { retryable, .. } => *retryable,
            CatalogError::Local { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            _ => false,
        }
    }

    /// Whether only the user can resolve it (a table of another schema, layout or target):
    /// running again as before would meet it again.
    pub fn needs_a_change(&self) -> bool {
        matches!(
            self,
            CatalogError::IncompatibleSchema { .. }
                | CatalogError::IncompatiblePartitioning { .. }
                | CatalogError::OtherTarget { .. }
        )
    }
}
