//! `agsl tables`: what a catalog holds, one line per table (or a JSON array with `--json`).

use std::io::Write;

use agsl::catalog::{
    self, Catalog, CatalogKind, GlueCatalog, LAST_RUN_PARAMETER, LOCAL_CATALOG_KEY, LocalCatalog,
    ROLE_PARAMETER, ROWS_PARAMETER,
};
use agsl::storage::{Location, Store};
use serde::Serialize;

use crate::UsageError;
use crate::cli::TablesArgs;
use crate::output::{Output, thousands};

#[derive(Serialize)]
struct TableJson<'a> {
    database: &'a str,
    table: &'a str,
    role: Option<&'a str>,
    service: Option<&'a str>,
    location: &'a str,
    /// Absent when the table uses partition projection.
    partitions: Option<u64>,
    rows: Option<u64>,
    last_run: Option<&'a str>,
    columns: usize,
}

pub fn run(args: TablesArgs, output: &Output) -> anyhow::Result<()> {
    let storage = args.storage.options()?;
    let kind = args.catalog.unwrap_or(CatalogKind::Local);
    let catalog: Box<dyn Catalog> = match kind {
        CatalogKind::Glue => Box::new(GlueCatalog::connect(&storage)?),
        _ => {
            let target = args
                .target
                .ok_or_else(|| UsageError("the local catalog needs --target".into()))?;
            if let Location::Local(root) = &target
                && !root.join(LOCAL_CATALOG_KEY).exists()
            {
                return Err(UsageError(format!(
                    "no local catalog in `{}`: no run has converted into it with --catalog local",
                    root.display()
                ))
                .into());
            }
            Box::new(LocalCatalog::open(&Store::open(&target, &storage)?)?)
        }
    };
    let database = args
        .database
        .unwrap_or_else(|| catalog::DEFAULT_DATABASE.to_owned());
    let raw_database = args
        .raw_database
        .unwrap_or_else(|| catalog::DEFAULT_RAW_DATABASE.to_owned());
    let listings = catalog::list_tables(catalog.as_ref(), &[&database, &raw_database])?;
    let rows: Vec<TableJson> = listings
        .iter()
        .map(|l| {
            let parameter = |key: &str| l.table.parameters.get(key).map(String::as_str);
            TableJson {
                database: &l.table.database,
                table: &l.table.name,
                role: parameter(ROLE_PARAMETER),
                service: parameter(catalog::SERVICE_PARAMETER),
                location: &l.table.location,
                partitions: l.partitions,
                rows: parameter(ROWS_PARAMETER).and_then(|r| r.parse().ok()),
                last_run: parameter(LAST_RUN_PARAMETER),
                columns: l.table.columns.len(),
            }
        })
        .collect();
    if output.json {
        return Ok(output.json_line(&rows)?);
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "{:<40} {:<9} {:>10} {:>14}  {:<26} LOCATION",
        "TABLE", "ROLE", "PARTITIONS", "ROWS", "LAST RUN"
    )?;
    for row in &rows {
        writeln!(
            stdout,
            "{:<40} {:<9} {:>10} {:>14}  {:<26} {}",
            format!("{}.{}", row.database, row.table),
            row.role.unwrap_or("-"),
            row.partitions
                .map_or_else(|| "projected".to_owned(), thousands),
            row.rows.map_or_else(|| "-".to_owned(), thousands),
            row.last_run.unwrap_or("-"),
            row.location
        )?;
    }
    if rows.is_empty() {
        output.note(format!(
            "no tables in {} catalog databases `{database}` and `{raw_database}`",
            kind
        ));
    }
    Ok(())
}
