//! `agsl ddl`: the Athena statements of a service's two tables, for catalogs kept as code.

use std::io::Write;

use agsl::ConvertJob;

use crate::cli::DdlArgs;
use crate::commands::convert::{apply_names, apply_storage};

pub fn run(args: DdlArgs) -> anyhow::Result<()> {
    let mut job = ConvertJob::new(args.service, args.source, args.target);
    apply_names(&mut job, args.names)?;
    apply_storage(&mut job, args.storage)?;
    let sql = agsl::table_ddl(&job, args.partition_projection)?;
    std::io::stdout().lock().write_all(sql.as_bytes())?;
    Ok(())
}
