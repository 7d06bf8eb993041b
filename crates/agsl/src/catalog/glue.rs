//! The AWS Glue Data Catalog through `aws-sdk-glue`: the standard credential chain and region,
//! `--endpoint-url` for emulators. Throttling and transient failures are retried by the SDK
//! (standard mode, up to 10 attempts); partitions are added in batches of 100, the most
//! `BatchCreatePartition` takes, with `AlreadyExists` answers counted as present, and repointed
//! in batches of 100 too (`BatchUpdatePartition`); every listing follows `NextToken` to the end,
//! so no partition is missed however many there are.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_glue::Client;
use aws_sdk_glue::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_glue::types as glue;

use super::{Catalog, CatalogError, Column, Partition, StorageFormat, TableDefinition};
use crate::storage::{StorageOptions, runtime};

/// `BatchCreatePartition` and `BatchUpdatePartition` take at most this many partitions a call.
const PARTITIONS_PER_BATCH: usize = 100;
/// `GetPartitions` page size (its maximum).
const PARTITIONS_PER_PAGE: i32 = 1000;
/// Attempts per request, throttling and 5xx answers included.
const MAX_ATTEMPTS: u32 = 10;

/// A Glue Data Catalog client.
#[derive(Debug, Clone)]
pub struct GlueCatalog {
    client: Client,
}

impl GlueCatalog {
    /// Connects with the standard AWS configuration; `options` override the endpoint and region.
    pub fn connect(options: &StorageOptions) -> Result<Self, CatalogError> {
        let client = runtime().block_on(async {
            let config = crate::storage::aws_sdk_config(options.region.as_deref()).await;
            let mut builder = aws_sdk_glue::config::Builder::from(&config).retry_config(
                aws_config::retry::RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS),
            );
            if let Some(endpoint) = &options.endpoint_url {
                builder = builder.endpoint_url(endpoint);
            }
            if config.region().is_none() {
                if options.endpoint_url.is_none() && config.endpoint_url().is_none() {
                    return Err(CatalogError::Request {
                        catalog: "glue",
                        operation: "connect to",
                        name: "the Glue Data Catalog".into(),
                        message: "no AWS region is configured; set AWS_REGION or --region".into(),
                        retryable: false,
                    });
                }
                builder = builder.region(aws_config::Region::new("us-east-1"));
            }
            Ok(Client::from_conf(builder.build()))
        })?;
        Ok(Self { client })
    }

    /// The Glue client, for the other Glue APIs agsl uses (jobs and triggers).
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }
}

/// A failed request as a [`CatalogError`], with the service's code and message (never
/// credentials: the SDK's errors do not carry them).
fn request_error<E, R>(operation: &'static str, name: &str, error: SdkError<E, R>) -> CatalogError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let retryable = error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .is_some_and(|code| code == "ConcurrentModificationException");
    CatalogError::Request {
        catalog: "glue",
        operation,
        name: name.to_owned(),
        message: DisplayErrorContext(&error).to_string(),
        retryable,
    }
}

fn build_error(name: &str, error: impl std::fmt::Display) -> CatalogError {
    CatalogError::Request {
        catalog: "glue",
        operation: "describe",
        name: name.to_owned(),
        message: error.to_string(),
        retryable: false,
    }
}

fn glue_columns(columns: &[Column], table: &str) -> Result<Vec<glue::Column>, CatalogError> {
    columns
        .iter()
        .map(|c| {
            glue::Column::builder()
                .name(&c.name)
                .r#type(&c.data_type)
                .set_comment(c.comment.clone())
                .build()
                .map_err(|e| build_error(table, e))
        })
        .collect()
}

fn hash_map(map: &BTreeMap<String, String>) -> HashMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn storage_descriptor(
    table: &TableDefinition,
    location: &str,
) -> Result<glue::StorageDescriptor, CatalogError> {
    Ok(glue::StorageDescriptor::builder()
        .set_columns(Some(glue_columns(&table.columns, &table.qualified_name())?))
        .location(location)
        .input_format(&table.storage.input_format)
        .output_format(&table.storage.output_format)
        .serde_info(
            glue::SerDeInfo::builder()
                .serialization_library(&table.storage.serde_library)
                .set_parameters(Some(hash_map(&table.storage.serde_parameters)))
                .build(),
        )
        .build())
}

/// A partition of `table` as Glue takes it: its values, and the table's storage at its location.
fn partition_input(
    table: &TableDefinition,
    partition: &Partition,
) -> Result<glue::PartitionInput, CatalogError> {
    Ok(glue::PartitionInput::builder()
        .set_values(Some(partition.values.clone()))
        .storage_descriptor(storage_descriptor(table, &partition.location)?)
        .build())
}

fn table_input(table: &TableDefinition) -> Result<glue::TableInput, CatalogError> {
    glue::TableInput::builder()
        .name(&table.name)
        .table_type("EXTERNAL_TABLE")
        .set_parameters(Some(hash_map(&table.parameters)))
        .set_partition_keys(Some(glue_columns(
            &table.partition_keys,
            &table.qualified_name(),
        )?))
        .storage_descriptor(storage_descriptor(table, &table.location)?)
        .build()
        .map_err(|e| build_error(&table.qualified_name(), e))
}

fn from_glue_columns(columns: &[glue::Column]) -> Vec<Column> {
    columns
        .iter()
        .map(|c| Column {
            name: c.name().to_owned(),
            data_type: c.r#type().unwrap_or_default().to_owned(),
            comment: c.comment().map(str::to_owned),
        })
        .collect()
}

fn sorted(map: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn from_glue_table(database: &str, table: &glue::Table) -> TableDefinition {
    let descriptor = table.storage_descriptor();
    let serde = descriptor.and_then(|d| d.serde_info());
    TableDefinition {
        database: database.to_owned(),
        name: table.name().to_owned(),
        location: descriptor
            .and_then(|d| d.location())
            .unwrap_or_default()
            .to_owned(),
        columns: descriptor.map_or_else(Vec::new, |d| from_glue_columns(d.columns())),
        partition_keys: from_glue_columns(table.partition_keys()),
        storage: StorageFormat {
            input_format: descriptor
                .and_then(|d| d.input_format())
                .unwrap_or_default()
                .to_owned(),
            output_format: descriptor
                .and_then(|d| d.output_format())
                .unwrap_or_default()
                .to_owned(),
            serde_library: serde
                .and_then(|s| s.serialization_library())
                .unwrap_or_default()
                .to_owned(),
            serde_parameters: sorted(serde.and_then(|s| s.parameters())),
        },
        parameters: sorted(table.parameters()),
    }
}

impl Catalog for GlueCatalog {
    fn kind(&self) -> &'static str {
        "glue"
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn ensure_database(&self, name: &str) -> Result<(), CatalogError> {
        let input = glue::DatabaseInput::builder()
            .name(name)
            .description("AWS service logs, kept by agsl")
            .build()
            .map_err(|e| build_error(name, e))?;
        let result = runtime().block_on(self.client.create_database().database_input(input).send());
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_already_exists_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(request_error("create database", name, e)),
        }
    }

    fn table(&self, database: &str, name: &str) -> Result<Option<TableDefinition>, CatalogError> {
        let result = runtime().block_on(
            self.client
                .get_table()
                .database_name(database)
                .name(name)
                .send(),
        );
        match result {
            Ok(output) => Ok(output.table().map(|t| from_glue_table(database, t))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_entity_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(request_error(
                "read table",
                &format!("{database}.{name}"),
                e,
            )),
        }
    }

    fn tables(&self, database: &str) -> Result<Vec<TableDefinition>, CatalogError> {
        let mut tables = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let result = runtime().block_on(
                self.client
                    .get_tables()
                    .database_name(database)
                    .set_next_token(token.take())
                    .send(),
            );
            let output = match result {
                Ok(output) => output,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_entity_not_found_exception()) =>
                {
                    return Ok(Vec::new());
                }
                Err(e) => return Err(request_error("list tables of", database, e)),
            };
            tables.extend(
                output
                    .table_list()
                    .iter()
                    .map(|t| from_glue_table(database, t)),
            );
            match output.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(tables)
    }

    fn create_table(&self, table: &TableDefinition) -> Result<(), CatalogError> {
        let input = table_input(table)?;
        let result = runtime().block_on(
            self.client
                .create_table()
                .database_name(&table.database)
                .table_input(input)
                .send(),
        );
        match result {
            Ok(_) => Ok(()),
            // Another run made it first: bring it in line instead.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_already_exists_exception()) =>
            {
                self.update_table(table)
            }
            Err(e) => Err(request_error("create table", &table.qualified_name(), e)),
        }
    }

    fn update_table(&self, table: &TableDefinition) -> Result<(), CatalogError> {
        let input = table_input(table)?;
        runtime()
            .block_on(
                self.client
                    .update_table()
                    .database_name(&table.database)
                    .table_input(input)
                    .send(),
            )
            .map(drop)
            .map_err(|e| request_error("update table", &table.qualified_name(), e))
    }

    fn partitions(&self, database: &str, table: &str) -> Result<Vec<Partition>, CatalogError> {
        let mut partitions = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let output = runtime()
                .block_on(
                    self.client
                        .get_partitions()
                        .database_name(database)
                        .table_name(table)
                        .max_results(PARTITIONS_PER_PAGE)
                        .set_next_token(token.take())
                        .send(),
                )
                .map_err(|e| {
                    request_error("list partitions of", &format!("{database}.{table}"), e)
                })?;
            partitions.extend(output.partitions().iter().map(|p| {
                Partition {
                    values: p.values().to_vec(),
                    location: p
                        .storage_descriptor()
                        .and_then(|d| d.location())
                        .unwrap_or_default()
                        .to_owned(),
                }
            }));
            match output.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        partitions.sort();
        Ok(partitions)
    }

    fn add_partitions(
        &self,
        table: &TableDefinition,
        partitions: &[Partition],
    ) -> Result<u64, CatalogError> {
        let name = table.qualified_name();
        let mut added = 0;
        for chunk in partitions.chunks(PARTITIONS_PER_BATCH) {
            let inputs = chunk
                .iter()
                .map(|p| partition_input(table, p))
                .collect::<Result<Vec<_>, CatalogError>>()?;
            let output = runtime()
                .block_on(
                    self.client
                        .batch_create_partition()
                        .database_name(&table.database)
                        .table_name(&table.name)
                        .set_partition_input_list(Some(inputs))
                        .send(),
                )
                .map_err(|e| request_error("add partitions to", &name, e))?;
            let mut existing = 0;
            for error in output.errors() {
                let detail = error.error_detail();
                match detail.and_then(|d| d.error_code()) {
                    Some("AlreadyExistsException") => existing += 1,
                    code => {
                        return Err(CatalogError::Request {
                            catalog: "glue",
                            operation: "add partitions to",
                            name: name.clone(),
                            message: format!(
                                "partition ({}): {}: {}",
                                error.partition_values().join(", "),
                                code.unwrap_or("error"),
                                detail.and_then(|d| d.error_message()).unwrap_or_default()
                            ),
                            retryable: false,
                        });
                    }
                }
            }
            added += (chunk.len() - existing) as u64;
        }
        Ok(added)
    }

    fn move_partitions(
        &self,
        table: &TableDefinition,
        partitions: &[Partition],
    ) -> Result<u64, CatalogError> {
        let name = table.qualified_name();
        let mut moved = 0;
        for chunk in partitions.chunks(PARTITIONS_PER_BATCH) {
            let entries = chunk
                .iter()
                .map(|p| {
                    glue::BatchUpdatePartitionRequestEntry::builder()
                        .set_partition_value_list(Some(p.values.clone()))
                        .partition_input(partition_input(table, p)?)
                        .build()
                        .map_err(|e| build_error(&name, e))
                })
                .collect::<Result<Vec<_>, CatalogError>>()?;
            let output = runtime()
                .block_on(
                    self.client
                        .batch_update_partition()
                        .database_name(&table.database)
                        .table_name(&table.name)
                        .set_entries(Some(entries))
                        .send(),
                )
                .map_err(|e| request_error("move partitions of", &name, e))?;
            if let Some(error) = output.errors().first() {
                let detail = error.error_detail();
                return Err(CatalogError::Request {
                    catalog: "glue",
                    operation: "move partitions of",
                    name,
                    message: format!(
                        "partition ({}): {}: {}",
                        error.partition_value_list().join(", "),
                        detail.and_then(|d| d.error_code()).unwrap_or("error"),
                        detail.and_then(|d| d.error_message()).unwrap_or_default()
                    ),
                    retryable: false,
                });
            }
            moved += chunk.len() as u64;
        }
        Ok(moved)
    }
}
