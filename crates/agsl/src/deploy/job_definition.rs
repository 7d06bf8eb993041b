//! The Glue job definition agsl deploys, and how a re-deploy updates an existing job.
//!
//! Glue's `UpdateJob` replaces the whole definition: a setting left out of the update is reset,
//! not kept. A re-deploy from CI must not undo what an operator set on the job since (a timeout,
//! retries, VPC connections, a security configuration, extra `--enable-metrics`-style
//! arguments), so the update starts from the job as Glue describes it and replaces only what
//! agsl owns: role, script, Glue version, workers and agsl's own arguments. An agsl argument
//! the new deploy no longer sets (`--agsl-jobs` when every job now runs) is removed, not kept.

use std::collections::HashMap;

use aws_sdk_glue::types::{Job, JobCommand, JobUpdate, WorkerType};

/// The default argument naming the config file a deployed job runs; it marks a job as agsl's.
pub(super) const CONFIG_ARGUMENT: &str = "--agsl-config";
/// The default argument naming the wheel Glue installs for the job.
pub(super) const WHEEL_ARGUMENT: &str = "--additional-python-modules";

/// The default arguments agsl sets and therefore replaces on every deploy.
pub(super) const AGSL_ARGUMENTS: [&str; 4] = [
    "--job-language",
    WHEEL_ARGUMENT,
    CONFIG_ARGUMENT,
    "--agsl-jobs",
];

/// Describes a job agsl created, unless an operator has changed it.
pub(super) const DESCRIPTION: &str = "agsl: AWS service logs to partitioned Parquet";

/// What agsl decides in a job's definition.
#[derive(Debug, Clone)]
pub(super) struct AgslJobSettings {
    pub role: String,
    pub command: JobCommand,
    pub glue_version: String,
    pub worker_type: WorkerType,
    pub workers: i32,
    /// Keys among [`AGSL_ARGUMENTS`].
    pub arguments: Vec<(String, String)>,
}

/// The update that gives `existing` agsl's settings and keeps every other setting it has.
///
/// Left out: the capacity settings Glue refuses beside a worker type (`MaxCapacity`,
/// `AllocatedCapacity`, e.g. of a job first created with DPUs), and the visual editor's nodes and
/// source-control link, which would replace agsl's script with another.
pub(super) fn job_update(existing: Job, ours: &AgslJobSettings) -> JobUpdate {
    let mut arguments: HashMap<String, String> = existing
        .default_arguments
        .unwrap_or_default()
        .into_iter()
        .filter(|(key, _)| !AGSL_ARGUMENTS.contains(&key.as_str()))
        .collect();
    arguments.extend(ours.arguments.iter().cloned());
    JobUpdate::builder()
        .role(&ours.role)
        .command(ours.command.clone())
        .glue_version(&ours.glue_version)
        .worker_type(ours.worker_type.clone())
        .number_of_workers(ours.workers)
        .set_default_arguments(Some(arguments))
        .description(
            existing
                .description
                .unwrap_or_else(|| DESCRIPTION.to_owned()),
        )
        .set_job_mode(existing.job_mode)
        .set_job_run_queuing_enabled(existing.job_run_queuing_enabled)
        .set_log_uri(existing.log_uri)
        .set_execution_property(existing.execution_property)
        .set_non_overridable_arguments(existing.non_overridable_arguments)
        .set_connections(existing.connections)
        .max_retries(existing.max_retries)
        .set_timeout(existing.timeout)
        .set_security_configuration(existing.security_configuration)
        .set_notification_property(existing.notification_property)
        .set_execution_class(existing.execution_class)
        .set_maintenance_window(existing.maintenance_window)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_glue::types::{ConnectionsList, ExecutionClass, NotificationProperty};

    fn ours(arguments: &[(&str, &str)]) -> AgslJobSettings {
        AgslJobSettings {
            role: "arn:aws:iam::123456789012:role/new".into(),
            command: JobCommand::builder()
                .name("glueetl")
                .script_location("s3://deploy/glue/agsl_glue_driver.py")
                .python_version("3")
                .build(),
            glue_version: "5.0".into(),
            worker_type: WorkerType::G2X,
            workers: 8,
            arguments: arguments
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    /// A job deployed before, then changed by an operator in the console.
    fn existing() -> Job {
        Job::builder()
            .name("agsl-logs")
            .role("arn:aws:iam::123456789012:role/old")
            .description("ALB logs of the prod accounts")
            .command(
                JobCommand::builder()
                    .name("glueetl")
                    .script_location("s3://old/script.py")
                    .build(),
            )
            .glue_version("4.0")
            .worker_type(WorkerType::G1X)
            .number_of_workers(2)
            .max_capacity(2.0)
            .default_arguments("--additional-python-modules", "s3://old/agsl-0.0.9.whl")
            .default_arguments("--agsl-config", "s3://old/agsl-logs.toml")
            .default_arguments("--agsl-jobs", "alb_prod")
            .default_arguments("--job-language", "python")
            .default_arguments("--enable-metrics", "true")
            .default_arguments("--TempDir", "s3://tmp/glue/")
            .non_overridable_arguments("--enable-auto-scaling", "true")
            .connections(ConnectionsList::builder().connections("vpc-logs").build())
            .max_retries(2)
            .timeout(120)
            .security_configuration("kms-at-rest")
            .notification_property(
                NotificationProperty::builder()
                    .notify_delay_after(30)
                    .build(),
            )
            .execution_class(ExecutionClass::Standard)
            .build()
    }

    #[test]
    fn a_redeploy_replaces_what_agsl_owns_and_keeps_what_an_operator_set() {
        let update = job_update(
            existing(),
            &ours(&[
                ("--job-language", "python"),
                (
                    "--additional-python-modules",
                    "s3://deploy/glue/agsl-0.1.0.whl",
                ),
                ("--agsl-config", "s3://deploy/glue/agsl-logs.toml"),
            ]),
        );
        // agsl's settings, replaced.
        assert_eq!(update.role(), Some("arn:aws:iam::123456789012:role/new"));
        assert_eq!(
            update.command().and_then(JobCommand::script_location),
            Some("s3://deploy/glue/agsl_glue_driver.py")
        );
        assert_eq!(update.glue_version(), Some("5.0"));
        assert_eq!(update.worker_type(), Some(&WorkerType::G2X));
        assert_eq!(update.number_of_workers(), Some(8));
        let arguments = update.default_arguments().unwrap();
        assert_eq!(
            arguments["--additional-python-modules"],
            "s3://deploy/glue/agsl-0.1.0.whl"
        );
        assert_eq!(
            arguments["--agsl-config"],
            "s3://deploy/glue/agsl-logs.toml"
        );
        assert!(
            !arguments.contains_key("--agsl-jobs"),
            "an agsl argument this deploy does not set is removed: {arguments:?}"
        );
        // The operator's settings, kept.
        assert_eq!(arguments["--enable-metrics"], "true");
        assert_eq!(arguments["--TempDir"], "s3://tmp/glue/");
        assert_eq!(arguments.len(), 5, "{arguments:?}");
        assert_eq!(
            update.non_overridable_arguments().unwrap()["--enable-auto-scaling"],
            "true"
        );
        assert_eq!(update.description(), Some("ALB logs of the prod accounts"));
        assert_eq!(
            update.connections().map(ConnectionsList::connections),
            Some(&["vpc-logs".to_owned()][..])
        );
        assert_eq!(update.max_retries(), 2);
        assert_eq!(update.timeout(), Some(120));
        assert_eq!(update.security_configuration(), Some("kms-at-rest"));
        assert_eq!(
            update
                .notification_property()
                .and_then(NotificationProperty::notify_delay_after),
            Some(30)
        );
        assert_eq!(update.execution_class(), Some(&ExecutionClass::Standard));
        // Refused by Glue beside a worker type (`AllocatedCapacity` is never set: 0 is not sent).
        assert_eq!(update.max_capacity(), None);
    }

    #[test]
    fn jobs_named_again_are_set_again_and_a_bare_job_gets_agsl_description() {
        let bare = Job::builder().name("agsl-logs").build();
        let update = job_update(bare, &ours(&[("--agsl-jobs", "alb_prod,cloudtrail")]));
        let arguments = update.default_arguments().unwrap();
        assert_eq!(arguments.len(), 1, "{arguments:?}");
        assert_eq!(arguments["--agsl-jobs"], "alb_prod,cloudtrail");
        assert_eq!(update.description(), Some(DESCRIPTION));
        assert_eq!(
            update.timeout(),
            None,
            "Glue's default timeout stays the default"
        );
        assert_eq!(update.max_retries(), 0);
    }
}
