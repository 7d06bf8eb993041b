//! Deploying agsl as a scheduled AWS Glue (Spark) job, as the seed's `make create_job` did:
//! the wheel, a small driver script and the config file go to S3 beside each other; the Glue
//! job runs the script with the wheel installed by `--additional-python-modules`; a scheduled
//! trigger starts it. Deploying again updates the job and the trigger in place, keeping what was
//! set on the job since (see `job_definition`), so the command is safe to re-run from CI.
//!
//! The config is checked before anything is uploaded: a job Glue would only fail at 3 a.m. is
//! refused now. `delete` removes what a deploy made (see `delete`).

mod delete;
mod job_definition;

use std::path::{Path, PathBuf};

use aws_sdk_glue::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_glue::types::{Action, JobCommand, TriggerType, TriggerUpdate, WorkerType};

pub use delete::{DeletedJob, delete};
use job_definition::{AgslJobSettings, CONFIG_ARGUMENT, DESCRIPTION, WHEEL_ARGUMENT, job_update};

use crate::catalog::{CatalogError, GlueCatalog};
use crate::storage::{Location, StorageError, StorageOptions, Store, runtime};

/// The script Glue runs.
pub const DRIVER_SCRIPT: &str = include_str!("glue_driver.py");
/// Its file name in the script location.
pub const DRIVER_SCRIPT_NAME: &str = "agsl_glue_driver.py";

/// What to deploy.
#[derive(Debug, Clone)]
pub struct GlueJobSpec {
    /// The Glue job's name; the trigger is `<name>-schedule`, the config `<name>.toml`.
    pub name: String,
    pub role_arn: String,
    /// The S3 folder that gets the wheel, the script and the config.
    pub script_location: Location,
    /// The config file (`agsl.toml`) and the jobs of it to run (empty: all).
    pub config: PathBuf,
    pub jobs: Vec<String>,
    /// A Glue schedule, `cron(...)`; `None` deploys without a trigger (started by hand).
    pub schedule: Option<String>,
    /// `G.1X`, `G.2X`, ...
    pub worker_type: String,
    pub workers: u32,
    /// Glue 5.0 (Spark 3.5, Python 3.11) by default.
    pub glue_version: String,
    /// The manylinux2014 wheel (`scripts/wheel`).
    pub wheel: PathBuf,
}

/// What a deploy put where.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeployedJob {
    pub job: String,
    pub created: bool,
    pub script: String,
    pub wheel: String,
    pub config: String,
    /// The job's trigger after this deploy, and its schedule: the one `--schedule` set, or,
    /// without it, one an earlier deploy set (left as it is).
    pub trigger: Option<String>,
    pub schedule: Option<String>,
}

/// A deployed job as Glue describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GlueJobDescription {
    pub job: String,
    pub role: String,
    pub glue_version: Option<String>,
    pub worker_type: Option<String>,
    pub workers: Option<i32>,
    pub script: Option<String>,
    pub arguments: std::collections::BTreeMap<String, String>,
    pub trigger: Option<String>,
    pub schedule: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeployError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Connect(#[from] CatalogError),
    #[error("cannot {operation} Glue job `{name}`: {message}")]
    Glue {
        operation: &'static str,
        name: String,
        message: String,
    },
}

fn glue_error<E, R>(operation: &'static str, name: &str, error: SdkError<E, R>) -> DeployError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    DeployError::Glue {
        operation,
        name: name.to_owned(),
        message: DisplayErrorContext(&error).to_string(),
    }
}

fn is_not_found<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .is_some_and(|code| code == "EntityNotFoundException")
}

/// The newest agsl wheel for Glue in `folder` (where `scripts/wheel` writes). An aarch64 wheel
/// built there for EMR on Graviton is passed over, however new.
pub fn find_wheel(folder: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(folder).ok()?;
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("agsl-") && name.contains("manylinux") && runs_on_glue(&name)
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
}

/// Whether the wheel file `name` installs on Glue's workers, which are x86_64 glibc Linux: one
/// of its platform tags (the last part of the name, compressed tags joined by `.`) is a
/// manylinux or linux x86_64 tag, or `any` for a pure-Python wheel.
fn runs_on_glue(name: &str) -> bool {
    let glue_tag = |tag: &str| {
        tag == "any"
            || ((tag.starts_with("manylinux") || tag.starts_with("linux_"))
                && tag.ends_with("_x86_64"))
    };
    name.strip_suffix(".whl")
        .and_then(|stem| stem.rsplit('-').next())
        .is_some_and(|platforms| platforms.split('.').any(glue_tag))
}

/// Uploads the wheel, the script and the config, then creates or updates the job and, with a
/// schedule, its trigger.
pub fn deploy(spec: &GlueJobSpec, storage: &StorageOptions) -> Result<DeployedJob, DeployError> {
    let Location::S3 { .. } = &spec.script_location else {
        return Err(DeployError::Invalid(format!(
            "script location `{}` must be an s3:// folder, where Glue can read it",
            spec.script_location
        )));
    };
    crate::catalog::check_name(&spec.name.replace('-', "_"))
        .map_err(|e| DeployError::Invalid(format!("job name: {e}")))?;
    // The jobs must load here as they will there.
    crate::config::load(&spec.config, &spec.jobs)
        .map_err(|e| DeployError::Invalid(e.to_string()))?;
    let config_text = std::fs::read(&spec.config).map_err(|e| {
        DeployError::Invalid(format!("cannot read `{}`: {e}", spec.config.display()))
    })?;
    let wheel_name = spec
        .wheel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".whl"))
        .ok_or_else(|| {
            DeployError::Invalid(format!("`{}` is not a wheel", spec.wheel.display()))
        })?;
    if !runs_on_glue(&wheel_name) {
        return Err(DeployError::Invalid(format!(
            "wheel `{wheel_name}` is not for x86_64 Linux, which Glue's workers run; \
             build one with `scripts/wheel`"
        )));
    }
    let worker_type = WorkerType::from(spec.worker_type.as_str());
    if !WorkerType::values().contains(&spec.worker_type.as_str()) {
        return Err(DeployError::Invalid(format!(
            "unknown worker type `{}`; use G.1X, G.2X, G.4X or G.8X",
            spec.worker_type
        )));
    }
    if let Some(schedule) = &spec.schedule
        && !(schedule.starts_with("cron(") && schedule.ends_with(')'))
    {
        return Err(DeployError::Invalid(format!(
            "schedule `{schedule}` is not a Glue cron expression such as `cron(15 * * * ? *)`"
        )));
    }
    if spec.workers < 2 {
        return Err(DeployError::Invalid(
            "a Glue Spark job needs at least 2 workers (one is the driver)".into(),
        ));
    }
    let workers = i32::try_from(spec.workers).map_err(|_| {
        DeployError::Invalid(format!("{} workers is more than Glue runs", spec.workers))
    })?;

    let store = Store::open(&spec.script_location, storage)?;
    store.upload(&spec.wheel, &wheel_name)?;
    store.put(DRIVER_SCRIPT_NAME, DRIVER_SCRIPT.as_bytes().to_vec())?;
    let config_key = format!("{}.toml", spec.name);
    store.put(&config_key, config_text)?;
    let (script, wheel, config) = (
        store.url(DRIVER_SCRIPT_NAME),
        store.url(&wheel_name),
        store.url(&config_key),
    );

    let glue = GlueCatalog::connect(storage)?;
    let client = glue.client();
    let command = JobCommand::builder()
        .name("glueetl")
        .script_location(&script)
        .python_version("3")
        .build();
    let mut arguments = vec![
        ("--job-language".to_owned(), "python".to_owned()),
        (WHEEL_ARGUMENT.to_owned(), wheel.clone()),
        (CONFIG_ARGUMENT.to_owned(), config.clone()),
    ];
    if !spec.jobs.is_empty() {
        arguments.push(("--agsl-jobs".to_owned(), spec.jobs.join(",")));
    }
    let settings = AgslJobSettings {
        role: spec.role_arn.clone(),
        command,
        glue_version: spec.glue_version.clone(),
        worker_type,
        workers,
        arguments,
    };
    let existing = find_job(client, &spec.name)?;
    let created = existing.is_none();
    runtime().block_on(async {
        match existing {
            Some(existing) => {
                client
                    .update_job()
                    .job_name(&spec.name)
                    .job_update(job_update(existing, &settings))
                    .send()
                    .await
                    .map_err(|e| glue_error("update", &spec.name, e))?;
            }
            None => {
                let mut create = client
                    .create_job()
                    .name(&spec.name)
                    .role(&settings.role)
                    .command(settings.command.clone())
                    .glue_version(&settings.glue_version)
                    .worker_type(settings.worker_type.clone())
                    .number_of_workers(settings.workers)
                    .description(DESCRIPTION);
                for (key, value) in &settings.arguments {
                    create = create.default_arguments(key, value);
                }
                create
                    .send()
                    .await
                    .map_err(|e| glue_error("create", &spec.name, e))?;
            }
        }
        Ok::<(), DeployError>(())
    })?;
    let (trigger, schedule) = match &spec.schedule {
        Some(schedule) => {
            schedule_job(client, &spec.name, schedule)?;
            (Some(trigger_name(&spec.name)), Some(schedule.clone()))
        }
        None => match find_trigger(client, &spec.name)? {
            Some(kept) => (Some(trigger_name(&spec.name)), kept.schedule),
            None => (None, None),
        },
    };
    Ok(DeployedJob {
        job: spec.name.clone(),
        created,
        script,
        wheel,
        config,
        trigger,
        schedule,
    })
}

/// The job `name` as Glue describes it, `None` if there is no such job.
fn find_job(
    client: &aws_sdk_glue::Client,
    name: &str,
) -> Result<Option<aws_sdk_glue::types::Job>, DeployError> {
    runtime().block_on(async {
        match client.get_job().job_name(name).send().await {
            Ok(output) => Ok(output.job),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(glue_error("look up", name, error)),
        }
    })
}

/// The job's trigger, `None` if it has none.
fn find_trigger(
    client: &aws_sdk_glue::Client,
    job: &str,
) -> Result<Option<aws_sdk_glue::types::Trigger>, DeployError> {
    runtime().block_on(async {
        match client.get_trigger().name(trigger_name(job)).send().await {
            Ok(output) => Ok(output.trigger),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(glue_error("look up the trigger of", job, error)),
        }
    })
}

fn trigger_name(job: &str) -> String {
    format!("{job}-schedule")
}

/// Creates or updates the job's scheduled trigger.
fn schedule_job(
    client: &aws_sdk_glue::Client,
    job: &str,
    schedule: &str,
) -> Result<(), DeployError> {
    let name = trigger_name(job);
    let action = Action::builder().job_name(job).build();
    let exists = find_trigger(client, job)?.is_some();
    runtime().block_on(async {
        if exists {
            let update = TriggerUpdate::builder()
                .schedule(schedule)
                .actions(action)
                .build();
            client
                .update_trigger()
                .name(&name)
                .trigger_update(update)
                .send()
                .await
                .map_err(|e| glue_error("update the trigger of", job, e))?;
        } else {
            client
                .create_trigger()
                .name(&name)
                .r#type(TriggerType::Scheduled)
                .schedule(schedule)
                .actions(action)
                .start_on_creation(true)
                .send()
                .await
                .map_err(|e| glue_error("schedule", job, e))?;
        }
        Ok(())
    })
}

/// The deployed job `name` and its schedule, `None` if there is no such job.
pub fn show(
    name: &str,
    storage: &StorageOptions,
) -> Result<Option<GlueJobDescription>, DeployError> {
    let glue = GlueCatalog::connect(storage)?;
    let client = glue.client();
    let Some(job) = find_job(client, name)? else {
        return Ok(None);
    };
    let trigger = find_trigger(client, name)?;
    Ok(Some(GlueJobDescription {
        job: job.name.unwrap_or_default(),
        role: job.role.unwrap_or_default(),
        glue_version: job.glue_version,
        worker_type: job.worker_type.map(|w| w.as_str().to_owned()),
        workers: job.number_of_workers,
        script: job.command.and_then(|c| c.script_location),
        arguments: job
            .default_arguments
            .unwrap_or_default()
            .into_iter()
            .collect(),
        schedule: trigger.as_ref().and_then(|t| t.schedule.clone()),
        trigger: trigger.map(|_| trigger_name(name)),
    }))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::{find_wheel, runs_on_glue};

    const X86_64: &str = "agsl-0.1.0-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
    const AARCH64: &str = "agsl-0.1.0-cp39-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64.whl";

    #[test]
    fn only_x86_64_and_pure_python_wheels_run_on_glue() {
        assert!(runs_on_glue(X86_64));
        assert!(runs_on_glue("agsl-0.1.0-py3-none-any.whl"));
        assert!(!runs_on_glue(AARCH64));
        assert!(!runs_on_glue("agsl-0.1.0-cp39-abi3-macosx_11_0_arm64.whl"));
        assert!(!runs_on_glue(
            "agsl-0.1.0-cp39-abi3-macosx_10_12_x86_64.whl"
        ));
        assert!(!runs_on_glue(
            "agsl-0.1.0-cp39-abi3-musllinux_1_2_x86_64.whl"
        ));
        assert!(!runs_on_glue("agsl-0.1.0.tar.gz"));
    }

    #[test]
    fn the_newest_wheel_for_glue_is_found_and_a_newer_aarch64_one_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, age_s: u64| {
            let file = std::fs::File::create(dir.path().join(name)).unwrap();
            file.set_modified(SystemTime::now() - Duration::from_secs(age_s))
                .unwrap();
        };
        assert_eq!(find_wheel(dir.path()), None);
        write("agsl-0.0.9-cp39-abi3-manylinux2014_x86_64.whl", 300);
        write(X86_64, 200);
        write(AARCH64, 100);
        write("other-1.0-py3-none-any.whl", 0);
        assert_eq!(find_wheel(dir.path()), Some(dir.path().join(X86_64)));
    }
}
