//! agsl converts AWS service logs (ALB, ELB, CloudFront, CloudTrail, S3 access, VPC Flow Logs)
//! into Hive-partitioned, zstd-compressed Parquet tables.
//!
//! ```text
//!  source (local dir)          one worker per core, each taking whole objects
//!  ───────────────────         ─────────────────────────────────────────────────────────────
//!  list ─ sort ─ route ──► open ─► gunzip (magic bytes) ─► LogFormat decoder (agsl-formats)
//!  (skip NLB, digests, …)                                    │ RecordBatch        │ Reject
//!                                                            ▼                    ▼
//!                               PartitionWriter: + _source_key,     RejectsWriter: key, line,
//!                               split by region/event day,          reason, raw bytes
//!                               one hidden Parquet file per         → _rejects/*.parquet
//!                               partition, renamed when complete
//!                               → region=…/year=…/month=…/day=…/part-*.parquet
//! ```
//!
//! Invariants: every data line becomes one row or one reject (`rows + rejects == lines`); a
//! Parquet file is visible only once complete; bad input never stops a run, only I/O does.

pub mod config;
mod error;
mod faults;
mod pipeline;
pub mod sample;
pub mod sink;
pub mod source;
pub mod state;
pub mod storage;
pub mod window;

pub use agsl_formats::{Format, LogFormat, Partitioning};
pub use error::{Error, Result, SinkError, SourceError};
pub use pipeline::{
    ALREADY_CONVERTED, ConvertJob, DEFAULT_BATCH_SIZE, DEFAULT_COMMIT_BYTES,
    DEFAULT_LOCK_STALE_AFTER, PlannedObject, Progress, RunSummary, convert,
};
pub use sink::WriterOptions;
pub use state::StateError;
pub use storage::{Location, StorageError, StorageOptions};
pub use window::TimeWindow;
