//! agsl converts AWS service logs (every format of `agsl_formats::Format::ALL`: load balancer,
//! CloudFront, CloudTrail, S3 access, VPC Flow, WAF and Route 53 Resolver logs) into
//! Hive-partitioned, zstd-compressed Parquet tables.
//!
//! ```text
//!  source (local dir or s3://)     one worker per core, each taking whole objects
//!  ──────────────────────────      ───────────────────────────────────────────────────────────
//!  list (narrowed by date) ─ compare with the ledger ─ route ──► open ─► gunzip ─► LogFormat
//!  (skip NLB, digests, converted)                                decoder (agsl-formats)
//!                                        │ RecordBatch (kept to the object's window) │ Reject
//!                                        ▼                                           ▼
//!                 PartitionWriter: + _source_key, split by            RejectsWriter: key, line,
//!                 region/event day, one Parquet file per partition    reason, raw bytes
//!                                        │                                           │
//!                                        ▼                                           ▼
//!                 <target>/_agsl/staging/  ── commit record (_agsl/log/<n>.json, conditional
//!                 create) ──► files moved into region=…/year=…/month=…/day=… and _rejects/
//! ```
//!
//! Invariants: every data line becomes one row or one reject, or is left for another window
//! (`rows + rejects + excluded == lines`); across runs and crashes each line is committed
//! exactly once; readers of the partition folders only ever see committed files; bad input
//! never stops a run, only I/O does.
//!
//! # Example
//!
//! Every front end builds its job through [`JobSpec`]. Here: generated ALB logs with a malformed
//! line in every fifty, converted into a table with the embedded catalog, then converted
//! again, which finds nothing new.
//!
//! ```
//! use agsl::sample::write_sample;
//! use agsl::{Format, JobSpec, Progress, convert};
//! use agsl_formats::sample::SamplePlan;
//!
//! let dir = tempfile::tempdir()?;
//! let (logs, tables) = (dir.path().join("logs"), dir.path().join("alb"));
//! let plan = SamplePlan {
//!     objects: 4,
//!     lines_per_object: 100,
//!     bad_line_every: Some(50),
//!     ..SamplePlan::default()
//! };
//! write_sample(Format::Alb, plan, &logs)?;
//!
//! let job = JobSpec {
//!     service: Some("alb".parse()?),
//!     source: Some(logs.into()),
//!     target: Some(tables.into()),
//!     ..JobSpec::default()
//! }
//! .build()?;
//! let first = convert(&job, &Progress::default())?;
//! assert_eq!((first.objects, first.lines), (4, 400));
//! assert_eq!((first.rows, first.rejects), (392, 8));
//!
//! let again = convert(&job, &Progress::default())?;
//! assert_eq!((again.objects, again.rows, again.skipped_objects), (0, 0, 4));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod audit;
pub mod catalog;
pub mod config;
mod counts;
pub mod cpu;
pub mod deploy;
mod error;
mod faults;
pub mod metrics;
mod pipeline;
pub mod read;
pub mod sample;
pub mod sink;
pub mod source;
mod spool;
pub mod state;
pub mod storage;
pub mod window;

pub use agsl_formats::{Format, LogFormat, Partitioning};
pub use catalog::{CatalogError, CatalogKind, CatalogOptions};
pub use error::{Error, Result, SinkError, SourceError};
pub use pipeline::{
    ALREADY_CONVERTED, CHANGED_SINCE_CONVERTED, ConvertJob, DEFAULT_BATCH_SIZE,
    DEFAULT_COMMIT_BYTES, DEFAULT_LOCK_STALE_AFTER, Driver, InvalidJob, JobSpec, PlannedObject,
    Progress, RunSummary, TargetConflict, UnitOutput, UnitTally, WorkUnit, convert, convert_unit,
    list_objects, parse_size, table_ddl,
};
pub use sink::{PartitionLayout, WriterOptions};
pub use state::StateError;
pub use storage::{Encryption, Location, StorageError, StorageOptions};
pub use window::TimeWindow;
