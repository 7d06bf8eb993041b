//! What `status` and `verify` look at: the target the flags name, or each job of a config.

use std::path::Path;

use agsl::ConvertJob;

/// The jobs of a config file (all, or `names`), each with its name.
pub fn config_jobs(
    config: &Path,
    names: &[String],
) -> anyhow::Result<Vec<(Option<String>, ConvertJob)>> {
    Ok(agsl::config::load(config, names)
        .map_err(|e| crate::UsageError(e.to_string()))?
        .into_iter()
        .map(|named| (Some(named.name), named.job))
        .collect())
}

/// An error of the job `name` (if from a config), naming it.
pub fn in_job(
    name: Option<&str>,
    error: impl std::error::Error + Send + Sync + 'static,
) -> anyhow::Error {
    match name {
        Some(name) => anyhow::Error::new(error).context(format!("job `{name}`")),
        None => error.into(),
    }
}
