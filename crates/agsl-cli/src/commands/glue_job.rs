//! `agsl glue-job deploy|show|delete`: agsl as a scheduled AWS Glue job (see [`agsl::deploy`]).

use std::path::Path;

use agsl::deploy::{self, GlueJobSpec};

use crate::UsageError;
use crate::cli::{GlueDeployArgs, GlueJobCommand, GlueJobNameArgs};
use crate::output::Output;

pub fn run(command: GlueJobCommand, output: &Output) -> anyhow::Result<()> {
    match command {
        GlueJobCommand::Deploy(args) => deploy(*args, output),
        GlueJobCommand::Show(args) => show(args, output),
        GlueJobCommand::Delete(args) => delete(args, output),
    }
}

fn deploy(args: GlueDeployArgs, output: &Output) -> anyhow::Result<()> {
    let storage = args.storage.options()?;
    let wheel = match args.wheel {
        Some(wheel) => wheel,
        None => deploy::find_wheel(Path::new("target/wheels")).ok_or_else(|| {
            UsageError(
                "no agsl wheel in target/wheels; build one with scripts/wheel or pass --wheel"
                    .into(),
            )
        })?,
    };
    let spec = GlueJobSpec {
        name: args.name,
        role_arn: args.role_arn,
        script_location: args.script_location,
        config: args.config,
        jobs: args.jobs,
        schedule: args.schedule,
        worker_type: args.worker_type,
        workers: args.workers,
        glue_version: args.glue_version,
        wheel,
    };
    let deployed = deploy::deploy(&spec, &storage).map_err(usage_or_failure)?;
    if output.json {
        output.json_line(&deployed)?;
    }
    let verb = if deployed.created {
        "created"
    } else {
        "updated"
    };
    output.note(format!(
        "glue job `{}` {verb}: script {}, wheel {}, config {}{}",
        deployed.job,
        deployed.script,
        deployed.wheel,
        deployed.config,
        match (&deployed.trigger, &deployed.schedule) {
            (Some(trigger), Some(schedule)) => format!(", trigger {trigger} ({schedule})"),
            (Some(trigger), None) => format!(", trigger {trigger}"),
            (None, _) => String::new(),
        }
    ));
    Ok(())
}

/// A refused request is a usage error (exit 2); anything else failed on the way (exit 1).
fn usage_or_failure(error: deploy::DeployError) -> anyhow::Error {
    match error {
        deploy::DeployError::Invalid(message) => anyhow::Error::new(UsageError(message)),
        other => anyhow::Error::new(other),
    }
}

fn show(args: GlueJobNameArgs, output: &Output) -> anyhow::Result<()> {
    let storage = args.storage.options()?;
    let Some(job) = deploy::show(&args.name, &storage)? else {
        anyhow::bail!("there is no Glue job `{}`", args.name);
    };
    if output.json {
        return Ok(output.json_line(&job)?);
    }
    let mut lines = vec![
        format!("job        {}", job.job),
        format!("role       {}", job.role),
        format!(
            "workers    {} x {}",
            job.workers.map_or("?".into(), |w| w.to_string()),
            job.worker_type.as_deref().unwrap_or("?")
        ),
        format!("glue       {}", job.glue_version.as_deref().unwrap_or("?")),
        format!("script     {}", job.script.as_deref().unwrap_or("?")),
    ];
    for (key, value) in &job.arguments {
        lines.push(format!("argument   {key} {value}"));
    }
    lines.push(format!(
        "schedule   {}",
        job.schedule.as_deref().unwrap_or("none (started by hand)")
    ));
    println!("{}", lines.join("\n"));
    Ok(())
}

fn delete(args: GlueJobNameArgs, output: &Output) -> anyhow::Result<()> {
    let storage = args.storage.options()?;
    let Some(deleted) = deploy::delete(&args.name, &storage).map_err(usage_or_failure)? else {
        anyhow::bail!("there is no Glue job `{}`", args.name);
    };
    if output.json {
        output.json_line(&deleted)?;
    }
    output.note(format!(
        "glue job `{}` deleted{}, config {} deleted; kept for other deploys: {}",
        deleted.job,
        deleted
            .trigger
            .as_ref()
            .map_or(String::new(), |t| format!(" with its trigger {t}")),
        deleted.config,
        if deleted.kept.is_empty() {
            "nothing".to_owned()
        } else {
            deleted.kept.join(", ")
        }
    ));
    Ok(())
}
