//! One module per subcommand; each turns parsed arguments into library calls and output.

pub mod convert;
pub mod ddl;
pub mod demo;
pub mod generate;
pub mod glue_job;
pub mod run;
pub mod status;
pub mod tables;
pub mod targets;
pub mod verify;
