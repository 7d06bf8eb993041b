//! After a run's commits, still holding the target's lock: the catalog the job names gets the
//! raw and converted tables of every service the target holds, with their partitions.

use std::collections::BTreeSet;
use std::io::BufRead;

use agsl_formats::Format;
use agsl_formats::raw::RawSerde;

use crate::catalog::{
    self, Catalog, CatalogError, CatalogKind, CatalogSummary, GlueCatalog, LocalCatalog,
    ServiceTables, TableNames,
};
use crate::source::{Source, is_corrupt_data, open_decompressed_head};
use crate::state::Ledger;
use crate::storage::{Store, location_url};

use super::ConvertJob;
use super::plan::Plan;

/// Opens the catalog a job names; `None` for `CatalogKind::None`.
pub(crate) fn open_catalog(
    job: &ConvertJob,
    target: &Store,
) -> Result<Option<Box<dyn Catalog>>, CatalogError> {
    Ok(match job.catalog.kind {
        CatalogKind::Local => Some(Box::new(LocalCatalog::open(target)?)),
        CatalogKind::Glue => Some(Box::new(GlueCatalog::connect(&job.storage)?)),
        CatalogKind::None => None,
    })
}

/// Brings the job's catalog in line with the target. `converted` are the services this run
/// converted objects of, recorded as the tables' last run.
pub(crate) fn update_catalog(
    job: &ConvertJob,
    source: &Source,
    target: &Store,
    ledger: &Ledger,
    run: &str,
    converted: &BTreeSet<Format>,
) -> Result<Option<CatalogSummary>, CatalogError> {
    let Some(catalog) = open_catalog(job, target)? else {
        return Ok(None);
    };
    let mut formats: BTreeSet<Format> = match job.format {
        Some(format) => BTreeSet::from([format]),
        // A service this build does not know (written by a newer agsl) is an error: its
        // tables would otherwise silently stop being kept.
        None => ledger
            .files
            .values()
            .map(|f| catalog::service_format(&f.service))
            .collect::<Result<_, _>>()?,
    };
    formats.extend(converted);
    let services = formats
        .into_iter()
        .map(|format| service_tables(job, source, target, ledger, format, run, converted))
        .collect::<Result<Vec<ServiceTables>, CatalogError>>()?;
    let this_year = agsl_formats::time::civil_from_days(super::unix_seconds() as i64 / 86_400).0;
    let summary = catalog::sync(
        catalog.as_ref(),
        ledger,
        &services,
        job.catalog.partition_projection,
        this_year as i32,
    )?;
    tracing::info!(
        catalog = summary.catalog,
        created = summary.tables_created,
        updated = summary.tables_updated,
        columns_added = summary.columns_added,
        partitions_added = summary.partitions_added,
        partitions_moved = summary.partitions_moved,
        "catalog up to date"
    );
    Ok(Some(summary))
}

/// Athena DDL for the job's service (one service, not `auto`): the databases, the raw and
/// converted tables, the partitions the target holds, then the partition projection variant
/// of both tables (or only that, with `projection_only`).
pub fn table_ddl(job: &ConvertJob, projection_only: bool) -> crate::Result<String> {
    use crate::catalog::ddl;
    let format = job.format.ok_or_else(|| {
        crate::Error::Internal("DDL is made for one service at a time, not `auto`".into())
    })?;
    let source = Source::open(&job.source, &job.storage)?;
    let target = Store::open_existing(&job.target, &job.storage)?;
    let ledger = match &target {
        Some(target) => crate::state::CommitLog::read(target)?.0.into_ledger(),
        None => Ledger::default(),
    };
    let location = match &target {
        Some(target) => target.url(""),
        None => location_url(&job.target),
    };
    let this_year = agsl_formats::time::civil_from_days(super::unix_seconds() as i64 / 86_400).0;
    super::target::check_tables(job, &ledger)?;
    // The tables describe the files as they were written.
    let mut job = job.clone();
    if let Some((layout, _)) = super::target::committed_layout(&job, &ledger) {
        job.partitioning = layout;
    }
    let service = service_tables_at(
        &job,
        &source,
        location,
        &ledger,
        format,
        "",
        &BTreeSet::new(),
    )?;
    let mut sql = String::new();
    let header = |sql: &mut String, text: &str| {
        sql.push_str(&format!("-- {text}\n"));
    };
    if !projection_only {
        header(
            &mut sql,
            &format!("{format}: raw and converted tables, registered partitions"),
        );
        sql.push_str(&ddl::create_database(&service.names.raw_database));
        sql.push_str(&ddl::create_database(&service.names.database));
        for planned in catalog::plan_tables(&ledger, &service, false, this_year as i32)
            .iter()
            .rev()
        {
            sql.push('\n');
            sql.push_str(&ddl::create_table(&planned.table));
            if !planned.partitions.is_empty() {
                sql.push_str(&ddl::add_partitions(&planned.table, &planned.partitions));
            }
        }
        sql.push('\n');
    }
    header(
        &mut sql,
        &format!("{format}: partition projection variant (instead of registered partitions)"),
    );
    if projection_only {
        sql.push_str(&ddl::create_database(&service.names.raw_database));
        sql.push_str(&ddl::create_database(&service.names.database));
    }
    for planned in catalog::plan_tables(&ledger, &service, true, this_year as i32)
        .iter()
        .rev()
    {
        sql.push('\n');
        sql.push_str(&ddl::create_table(&planned.table));
    }
    Ok(sql)
}

/// The services whose tables a run's catalog update keeps: the job's, or with `auto` the
/// target's and those of the planned objects.
pub(crate) fn table_formats(job: &ConvertJob, ledger: &Ledger, plan: &Plan) -> BTreeSet<Format> {
    match job.format {
        Some(format) => BTreeSet::from([format]),
        None => (ledger.tables().into_keys())
            .filter_map(|service| service.parse().ok())
            .chain(plan.groups.keys().copied())
            .collect(),
    }
}

/// Before a run converts anything: refuses the tables of `formats` in a shared catalog (Glue)
/// that another target keeps, which the catalog update after the commits would refuse.
pub(crate) fn check_catalog_owners(
    job: &ConvertJob,
    formats: impl IntoIterator<Item = Format>,
) -> Result<(), CatalogError> {
    if job.catalog.kind != CatalogKind::Glue {
        return Ok(());
    }
    let catalog = GlueCatalog::connect(&job.storage)?;
    for format in formats {
        let location = location_url(&job.target.join(table_folder(job, format)));
        catalog::check_owners(&catalog, &table_names(job, format), &location)?;
    }
    Ok(())
}

pub(crate) fn service_tables(
    job: &ConvertJob,
    source: &Source,
    target: &Store,
    ledger: &Ledger,
    format: Format,
    run: &str,
    converted: &BTreeSet<Format>,
) -> Result<ServiceTables, CatalogError> {
    let location = target.url(table_folder(job, format));
    service_tables_at(job, source, location, ledger, format, run, converted)
}

/// The folder of `format`'s table in the target: the target itself for one service, the
/// table's name with `auto`.
fn table_folder(job: &ConvertJob, format: Format) -> &'static str {
    match job.format {
        Some(_) => "",
        None => format.table_name(),
    }
}

/// The catalog names of `format`'s tables. Table names given for one service do not apply to
/// the others of an `auto` run.
fn table_names(job: &ConvertJob, format: Format) -> TableNames {
    let options = &job.catalog;
    let single = job.format.is_some();
    TableNames::resolve(
        format,
        options.database.as_deref(),
        options.table.as_deref().filter(|_| single),
        options.raw_database.as_deref(),
        options.raw_table.as_deref().filter(|_| single),
    )
}

/// The tables of `format`, the converted one at `location`.
fn service_tables_at(
    job: &ConvertJob,
    source: &Source,
    location: String,
    ledger: &Ledger,
    format: Format,
    run: &str,
    converted: &BTreeSet<Format>,
) -> Result<ServiceTables, CatalogError> {
    let single = job.format.is_some();
    // Decoded afresh for each pass: a million URLs are never held at once.
    let keyword = format.to_string();
    let sources = || {
        ledger
            .files
            .values()
            .filter(|f| f.service == keyword)
            .flat_map(|f| f.sources.urls())
    };
    let source_url = if single {
        source.url("")
    } else {
        common_folder(sources()).unwrap_or_else(|| source.url(""))
    };
    let header_fields = match (sources().max(), format.parser().raw_table().serde) {
        (
            Some(url),
            RawSerde::Delimited {
                header_names_columns: true,
                ..
            },
        ) => header_fields(source, &url)?,
        _ => None,
    };
    Ok(ServiceTables {
        format,
        names: table_names(job, format),
        location,
        folder: table_folder(job, format).to_owned(),
        layout: job.partitioning,
        source: source_url,
        header_fields,
        run: converted.contains(&format).then(|| run.to_owned()),
    })
}

/// The longest folder URL every one of `urls` lies below.
fn common_folder<S: AsRef<str>>(mut urls: impl Iterator<Item = S>) -> Option<String> {
    let first = urls.next()?;
    let first = first.as_ref();
    let mut common = first
        .rsplit_once('/')
        .map_or(first, |(folder, _)| folder)
        .to_owned();
    for url in urls {
        let url = url.as_ref();
        // Below `common/`, tested without building that string for each of a million URLs.
        while !(url.starts_with(common.as_str()) && url[common.len()..].starts_with('/')) {
            let folder = common.rsplit_once('/')?.0.len();
            common.truncate(folder);
        }
    }
    Some(format!("{common}/"))
}

/// The field names of an object's header line (a VPC flow log's), if it has one. An object deleted
/// from the source since, or damaged before its first line, has none to offer; failing to read
/// it is an error (the catalog is brought in line by the next run).
fn header_fields(source: &Source, url: &str) -> Result<Option<Vec<String>>, CatalogError> {
    let root = source.url("");
    let Some(key) = url.strip_prefix(root.as_str()) else {
        return Ok(None);
    };
    let key = key.trim_start_matches('/');
    let unreadable = |error: crate::Error| CatalogError::HeaderLine {
        url: url.to_owned(),
        source: Box::new(error),
    };
    let Some(stored) = source.read_if_exists(key).map_err(unreadable)? else {
        tracing::warn!(
            url,
            "the newest object is gone; raw table columns unchanged"
        );
        return Ok(None);
    };
    let mut line = String::new();
    match open_decompressed_head(stored).and_then(|mut reader| reader.read_line(&mut line)) {
        Ok(_) => {}
        Err(error) if is_corrupt_data(&error) => return Ok(None),
        Err(error) => {
            return Err(unreadable(
                crate::error::SourceError::Read {
                    key: key.to_owned(),
                    source: error,
                }
                .into(),
            ));
        }
    }
    let fields: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    // Data lines always hold numbers, addresses or `-`; a header only field names.
    let is_header = !fields.is_empty()
        && fields
            .iter()
            .all(|f| f.as_bytes().first().is_some_and(u8::is_ascii_lowercase));
    Ok(is_header.then_some(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_folder_of_urls() {
        let urls = ["s3://b/a/x/1.gz", "s3://b/a/y/2.gz", "s3://b/a/x/3.gz"];
        assert_eq!(common_folder(urls.into_iter()).unwrap(), "s3://b/a/");
        assert_eq!(
            common_folder(["s3://b/a/x/1.gz"].into_iter()).unwrap(),
            "s3://b/a/x/"
        );
        // A folder whose name starts another's is not below it.
        let siblings = ["s3://b/a/x/1.gz", "s3://b/a/xy/2.gz"];
        assert_eq!(common_folder(siblings.into_iter()).unwrap(), "s3://b/a/");
        assert!(common_folder(std::iter::empty::<&str>()).is_none());
    }
}
