//! Removing a deployed job, as the seed's `make clean_glue` removed its job: the trigger, the
//! job and the config file it ran go; the wheel and the driver script stay, because every job
//! deployed to the same script location shares them, and the tables and their data stay too.
//!
//! Only a job agsl deployed (one with an `--agsl-config` argument) is deleted, and only with a
//! trigger that starts no other job, so a mistyped name cannot remove someone else's work. The
//! trigger goes first, so it cannot start the job while it is being removed.

use aws_sdk_glue::types::Job;

use super::job_definition::{CONFIG_ARGUMENT, WHEEL_ARGUMENT};
use super::{DeployError, find_job, find_trigger, glue_error, is_not_found, trigger_name};
use crate::catalog::GlueCatalog;
use crate::storage::{Location, StorageOptions, Store, runtime};

/// What a delete removed, and the shared files it left.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeletedJob {
    pub job: String,
    /// The trigger deleted with the job, if it had one.
    pub trigger: Option<String>,
    /// The config file deleted (its `s3://` URL).
    pub config: String,
    /// The wheel and the driver script, left for the other jobs deployed beside it.
    pub kept: Vec<String>,
}

/// Deletes the job `name`, its trigger and its config; `None` if there is no such job.
pub fn delete(name: &str, storage: &StorageOptions) -> Result<Option<DeletedJob>, DeployError> {
    let glue = GlueCatalog::connect(storage)?;
    let client = glue.client();
    let Some(job) = find_job(client, name)? else {
        return Ok(None);
    };
    let config = agsl_config(&job).ok_or_else(|| {
        DeployError::Invalid(format!(
            "Glue job `{name}` was not deployed by agsl (it has no s3:// {CONFIG_ARGUMENT} \
             argument); it is left as it is"
        ))
    })?;
    let trigger = find_trigger(client, name)?;
    if let Some(trigger) = &trigger {
        let others: Vec<&str> = trigger
            .actions()
            .iter()
            .filter_map(|action| action.job_name())
            .filter(|job| *job != name)
            .collect();
        if !others.is_empty() {
            return Err(DeployError::Invalid(format!(
                "trigger `{}` also starts {}; take them off it first, nothing was deleted",
                trigger_name(name),
                others.join(", ")
            )));
        }
    }

    runtime().block_on(async {
        if trigger.is_some() {
            match client
                .delete_trigger()
                .name(trigger_name(name))
                .send()
                .await
            {
                Ok(_) => {}
                Err(error) if is_not_found(&error) => {}
                Err(error) => return Err(glue_error("delete the trigger of", name, error)),
            }
        }
        client
            .delete_job()
            .job_name(name)
            .send()
            .await
            .map_err(|e| glue_error("delete", name, e))?;
        Ok(())
    })?;
    delete_object(&config, storage)?;

    let arguments = job.default_arguments.unwrap_or_default();
    let kept = [
        job.command.and_then(|c| c.script_location),
        arguments.get(WHEEL_ARGUMENT).cloned(),
    ]
    .into_iter()
    .flatten()
    .collect();
    Ok(Some(DeletedJob {
        job: name.to_owned(),
        trigger: trigger.map(|_| trigger_name(name)),
        config,
        kept,
    }))
}

/// The config URL of a job agsl deployed.
fn agsl_config(job: &Job) -> Option<String> {
    job.default_arguments
        .as_ref()?
        .get(CONFIG_ARGUMENT)
        .filter(|url| url.starts_with("s3://"))
        .cloned()
}

/// Deletes the object at `url` (`s3://bucket/key`); a missing object is not an error.
fn delete_object(url: &str, storage: &StorageOptions) -> Result<(), DeployError> {
    let Location::S3 {
        bucket,
        prefix: key,
    } = Location::parse(url)?
    else {
        return Err(DeployError::Invalid(format!("`{url}` is not an s3:// URL")));
    };
    let bucket = Location::S3 {
        bucket,
        prefix: String::new(),
    };
    Ok(Store::open(&bucket, storage)?.delete(&key)?)
}
