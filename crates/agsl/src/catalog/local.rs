//! The embedded catalog: one SQLite file, `<target>/_agsl/catalog.sqlite`, so the tables move
//! with the data and need no service or account. SQLite because every change is one
//! transaction (a killed run leaves the previous state whole), the file opens with any
//! `sqlite3` shell or library, and its relational layout (databases, tables, columns,
//! partitions) is the Glue model, queryable as it is. On an S3 target the file is fetched at
//! the start of a sync and put back at the end, under the target's lock.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use super::{Catalog, CatalogError, Column, Partition, StorageFormat, TableDefinition};
use crate::storage::{Location, Store};

/// Where the local catalog lives, relative to the target.
pub const LOCAL_CATALOG_KEY: &str = "_agsl/catalog.sqlite";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS databases (
    name TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tables (
    database TEXT NOT NULL REFERENCES databases(name),
    name TEXT NOT NULL,
    location TEXT NOT NULL,
    input_format TEXT NOT NULL,
    output_format TEXT NOT NULL,
    serde_library TEXT NOT NULL,
    serde_parameters TEXT NOT NULL, -- JSON object
    parameters TEXT NOT NULL,       -- JSON object
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (database, name)
);
CREATE TABLE IF NOT EXISTS columns (
    database TEXT NOT NULL,
    table_name TEXT NOT NULL,
    is_partition_key INTEGER NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    data_type TEXT NOT NULL,
    PRIMARY KEY (database, table_name, is_partition_key, position)
);
CREATE TABLE IF NOT EXISTS partitions (
    database TEXT NOT NULL,
    table_name TEXT NOT NULL,
    partition_values TEXT NOT NULL, -- JSON array, in partition-key order
    location TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (database, table_name, partition_values)
);
";

/// The SQLite catalog of one target.
pub struct LocalCatalog {
    connection: Mutex<Connection>,
    path: PathBuf,
    /// For an S3 target: the store to put the file back to on [`Catalog::flush`].
    remote: Option<Store>,
}

impl std::fmt::Debug for LocalCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCatalog")
            .field("path", &self.path)
            .finish()
    }
}

impl LocalCatalog {
    /// Runs `statement` once per partition in one transaction, bound to the table's database
    /// and name, the partition's values and location, and the time (`?1` to `?5`); returns the
    /// rows it changed.
    fn each_partition(
        &self,
        table: &TableDefinition,
        partitions: &[Partition],
        statement: &str,
    ) -> Result<u64, CatalogError> {
        self.with(|c| {
            let transaction = c.transaction()?;
            let mut changed = 0;
            {
                let mut statement = transaction.prepare(statement)?;
                for partition in partitions {
                    changed += statement.execute(params![
                        table.database,
                        table.name,
                        to_json(&partition.values),
                        partition.location,
                        now()
                    ])? as u64;
                }
            }
            transaction.commit()?;
            Ok(changed)
        })
    }

    /// Opens (creating if missing) the catalog kept with `target`.
    pub fn open(target: &Store) -> Result<Self, CatalogError> {
        match target.location() {
            Location::Local(root) => Self::open_file(&root.join(LOCAL_CATALOG_KEY), None),
            Location::S3 { .. } => {
                let path = std::env::temp_dir().join(format!(
                    "agsl-catalog-{}-{}.sqlite",
                    std::process::id(),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_nanos()
                ));
                let io = |source| CatalogError::LocalFile {
                    path: path.display().to_string(),
                    source,
                };
                match target.get_if_exists(LOCAL_CATALOG_KEY)? {
                    Some((bytes, _)) => std::fs::write(&path, &bytes).map_err(io)?,
                    None => {
                        let _ = std::fs::remove_file(&path);
                    }
                }
                Self::open_file(&path, Some(target.clone()))
            }
        }
    }

    /// Opens (creating if missing) the catalog file at `path`.
    pub fn open_file(path: &Path, remote: Option<Store>) -> Result<Self, CatalogError> {
        let error = |source| CatalogError::Local {
            path: path.display().to_string(),
            source,
        };
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(|source| CatalogError::LocalFile {
                path: path.display().to_string(),
                source,
            })?;
        }
        let connection = Connection::open(path).map_err(error)?;
        connection.execute_batch(SCHEMA).map_err(error)?;
        Ok(Self {
            connection: Mutex::new(connection),
            path: path.to_owned(),
            remote,
        })
    }

    /// The file holding the catalog (a temporary copy for an S3 target).
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, source: rusqlite::Error) -> CatalogError {
        CatalogError::Local {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, CatalogError> {
        let mut connection = self
            .connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut connection).map_err(|e| self.error(e))
    }
}

impl Drop for LocalCatalog {
    fn drop(&mut self) {
        if self.remote.is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A JSON value stored in `column`; a damaged one is an error, never an empty value.
fn stored_json<T: serde::de::DeserializeOwned>(
    row: &rusqlite::Row<'_>,
    column: usize,
) -> rusqlite::Result<T> {
    let text: String = row.get(column)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("maps and lists of strings serialize")
}

/// Reads one table (its row and its columns) inside an open connection.
fn read_table(
    connection: &Connection,
    database: &str,
    name: &str,
) -> rusqlite::Result<Option<TableDefinition>> {
    let row = connection
        .query_row(
            "SELECT location, input_format, output_format, serde_library, serde_parameters,
                    parameters FROM tables WHERE database = ?1 AND name = ?2",
            params![database, name],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    StorageFormat {
                        input_format: row.get(1)?,
                        output_format: row.get(2)?,
                        serde_library: row.get(3)?,
                        serde_parameters: stored_json(row, 4)?,
                    },
                    stored_json(row, 5)?,
                ))
            },
        )
        .optional()?;
    let Some((location, storage, parameters)) = row else {
        return Ok(None);
    };
    let mut statement = connection.prepare(
        "SELECT name, data_type, is_partition_key FROM columns
         WHERE database = ?1 AND table_name = ?2 ORDER BY is_partition_key, position",
    )?;
    let mut columns = Vec::new();
    let mut partition_keys = Vec::new();
    for column in statement.query_map(params![database, name], |row| {
        Ok((
            Column::new(row.get::<_, String>(0)?, row.get::<_, String>(1)?),
            row.get::<_, bool>(2)?,
        ))
    })? {
        let (column, is_key) = column?;
        if is_key {
            partition_keys.push(column);
        } else {
            columns.push(column);
        }
    }
    Ok(Some(TableDefinition {
        database: database.to_owned(),
        name: name.to_owned(),
        location,
        columns,
        partition_keys,
        storage,
        parameters,
    }))
}

/// Writes a table's row and columns (replacing what was there) inside a transaction.
fn write_table(
    transaction: &rusqlite::Transaction<'_>,
    table: &TableDefinition,
) -> rusqlite::Result<()> {
    transaction.execute(
        "INSERT OR REPLACE INTO tables (database, name, location, input_format, output_format,
             serde_library, serde_parameters, parameters, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            table.database,
            table.name,
            table.location,
            table.storage.input_format,
            table.storage.output_format,
            table.storage.serde_library,
            to_json(&table.storage.serde_parameters),
            to_json(&table.parameters),
            now(),
        ],
    )?;
    transaction.execute(
        "DELETE FROM columns WHERE database = ?1 AND table_name = ?2",
        params![table.database, table.name],
    )?;
    let mut insert = transaction.prepare(
        "INSERT INTO columns (database, table_name, is_partition_key, position, name, data_type)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (is_key, columns) in [(false, &table.columns), (true, &table.partition_keys)] {
        for (position, column) in columns.iter().enumerate() {
            insert.execute(params![
                table.database,
                table.name,
                is_key,
                position as i64,
                column.name,
                column.data_type
            ])?;
        }
    }
    Ok(())
}

impl Catalog for LocalCatalog {
    fn kind(&self) -> &'static str {
        "local"
    }

    fn lists_cheaply(&self) -> bool {
        true
    }

    fn ensure_database(&self, name: &str) -> Result<(), CatalogError> {
        self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO databases (name, created_at) VALUES (?1, ?2)",
                params![name, now()],
            )
            .map(drop)
        })
    }

    fn table(&self, database: &str, name: &str) -> Result<Option<TableDefinition>, CatalogError> {
        self.with(|c| read_table(c, database, name))
    }

    fn tables(&self, database: &str) -> Result<Vec<TableDefinition>, CatalogError> {
        self.with(|c| {
            let names: Vec<String> = c
                .prepare("SELECT name FROM tables WHERE database = ?1 ORDER BY name")?
                .query_map([database], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut tables = Vec::new();
            for name in names {
                tables.extend(read_table(c, database, &name)?);
            }
            Ok(tables)
        })
    }

    fn create_table(&self, table: &TableDefinition) -> Result<(), CatalogError> {
        self.with(|c| {
            let transaction = c.transaction()?;
            write_table(&transaction, table)?;
            transaction.commit()
        })
    }

    fn update_table(&self, table: &TableDefinition) -> Result<(), CatalogError> {
        self.create_table(table)
    }

    fn partitions(&self, database: &str, table: &str) -> Result<Vec<Partition>, CatalogError> {
        let mut partitions = self.with(|c| {
            c.prepare(
                "SELECT partition_values, location FROM partitions
                 WHERE database = ?1 AND table_name = ?2",
            )?
            .query_map(params![database, table], |row| {
                Ok(Partition {
                    values: stored_json(row, 0)?,
                    location: row.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        partitions.sort();
        Ok(partitions)
    }

    fn add_partitions(
        &self,
        table: &TableDefinition,
        partitions: &[Partition],
    ) -> Result<u64, CatalogError> {
        self.each_partition(
            table,
            partitions,
            "INSERT OR IGNORE INTO partitions
                 (database, table_name, partition_values, location, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
    }

    fn move_partitions(
        &self,
        table: &TableDefinition,
        partitions: &[Partition],
    ) -> Result<u64, CatalogError> {
        // `created_at` becomes when the partition was registered where it is.
        self.each_partition(
            table,
            partitions,
            "UPDATE partitions SET location = ?4, created_at = ?5
             WHERE database = ?1 AND table_name = ?2 AND partition_values = ?3",
        )
    }

    fn flush(&self) -> Result<(), CatalogError> {
        let Some(store) = &self.remote else {
            return Ok(());
        };
        // A consistent copy of the database file, whatever SQLite still holds in memory.
        let copy = self.path.with_extension("upload");
        let _ = std::fs::remove_file(&copy);
        self.with(|c| {
            c.execute("VACUUM INTO ?1", [copy.display().to_string()])
                .map(drop)
        })?;
        let bytes = std::fs::read(&copy).map_err(|source| CatalogError::LocalFile {
            path: copy.display().to_string(),
            source,
        })?;
        let _ = std::fs::remove_file(&copy);
        store.put(LOCAL_CATALOG_KEY, bytes)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::converted_table;
    use crate::sink::{PartitionLayout, TablePartitioning};
    use agsl_formats::Format;

    #[test]
    fn tables_and_partitions_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = LocalCatalog::open_file(&dir.path().join("c.sqlite"), None).unwrap();
        catalog.ensure_database("db").unwrap();
        catalog.ensure_database("db").unwrap();
        let table = converted_table(
            Format::Alb.parser(),
            TablePartitioning::of(Format::Alb.parser(), PartitionLayout::Seed),
            "db",
            "alb",
            "file:///t",
        );
        assert!(catalog.table("db", "alb").unwrap().is_none());
        catalog.create_table(&table).unwrap();
        assert_eq!(catalog.table("db", "alb").unwrap().unwrap(), table);
        let partition = |day: &str| Partition {
            values: vec!["us-east-1".into(), "2024".into(), "03".into(), day.into()],
            location: format!("file:///t/region=us-east-1/year=2024/month=03/day={day}/"),
        };
        assert_eq!(
            catalog
                .add_partitions(&table, &[partition("07"), partition("08")])
                .unwrap(),
            2
        );
        assert_eq!(
            catalog
                .add_partitions(&table, &[partition("08"), partition("09")])
                .unwrap(),
            1
        );
        assert_eq!(catalog.partitions("db", "alb").unwrap().len(), 3);
        assert_eq!(catalog.tables("db").unwrap(), [table]);
        assert!(catalog.tables("other").unwrap().is_empty());
    }
}
