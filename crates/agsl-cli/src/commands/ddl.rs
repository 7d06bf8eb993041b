//! `agsl ddl`: the Athena statements of a service's two tables, for catalogs kept as code.

use std::io::Write;

use agsl::JobSpec;
use agsl_formats::ServiceChoice;

use crate::cli::DdlArgs;
use crate::commands::convert;

pub fn run(args: DdlArgs) -> anyhow::Result<()> {
    let names = args.names;
    let job = convert::build(JobSpec {
        service: Some(ServiceChoice::One(args.service)),
        source: Some(args.source),
        target: Some(args.target),
        endpoint_url: args.storage.endpoint_url,
        region: args.storage.region,
        sse: args.storage.sse,
        sse_kms_key_id: args.storage.sse_kms_key_id,
        database: names.database,
        table: names.table,
        raw_database: names.raw_database,
        raw_table: names.raw_table,
        ..JobSpec::default()
    })?;
    let sql = agsl::table_ddl(&job, args.partition_projection)?;
    std::io::stdout().lock().write_all(sql.as_bytes())?;
    Ok(())
}
