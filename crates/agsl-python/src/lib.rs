//! `agsl._native`: the agsl library for Python. Everything here is glue: jobs arrive as the
//! JSON of a [`JobSpec`] (Python's keyword arguments, or a config file's job) and are built by
//! the same builder as the CLI's; a distributed run's units and outputs travel as JSON strings,
//! which Spark ships between driver and executors as they are. The Python package `agsl`
//! (python/agsl) wraps these functions; `agsl.spark` adds the Spark side.
//!
//! The GIL is released around every call that reads, parses or writes, so Spark's Python
//! workers and other Python threads go on meanwhile.

mod arrow;
mod driver;

use agsl::{ConvertJob, Format, JobSpec, Progress};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;

create_exception!(
    _native,
    AgslError,
    PyException,
    "A run or read that failed: I/O after retries, a lock held by another run, a damaged target."
);

/// Maps the library's error to Python: settings that cannot make a job, or that the target or
/// its catalog cannot take, are a `ValueError`, everything else an `AgslError` with the
/// library's message.
pub(crate) fn py_error(error: agsl::Error) -> PyErr {
    match error {
        agsl::Error::InvalidJob(message) => PyValueError::new_err(message),
        agsl::Error::Target(conflict) => PyValueError::new_err(conflict.to_string()),
        agsl::Error::Catalog(catalog) if catalog.needs_a_change() => {
            PyValueError::new_err(agsl::Error::Catalog(catalog).to_string())
        }
        other => AgslError::new_err(other.to_string()),
    }
}

/// The job a spec's JSON describes, checked as the CLI checks its flags.
pub(crate) fn build_job(spec_json: &str) -> PyResult<ConvertJob> {
    read_spec(spec_json)?
        .build()
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The job of a read that writes nothing (`read_logs`): a target is not needed, so the source
/// stands in for it.
pub(crate) fn build_read_job(spec_json: &str) -> PyResult<ConvertJob> {
    let mut spec = read_spec(spec_json)?;
    if spec.target.is_none() {
        spec.target = spec.source.clone();
    }
    spec.build()
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The spec of a JSON object of settings; an error names the setting it is about.
fn read_spec(spec_json: &str) -> PyResult<JobSpec> {
    let settings: serde_json::Map<String, serde_json::Value> = serde_json::from_str(spec_json)
        .map_err(|e| PyValueError::new_err(format!("job settings are not a JSON object: {e}")))?;
    for (key, value) in &settings {
        let one = serde_json::Value::Object([(key.clone(), value.clone())].into_iter().collect());
        serde_json::from_value::<JobSpec>(one)
            .map_err(|e| PyValueError::new_err(format!("setting `{key}`: {e}")))?;
    }
    serde_json::from_value(serde_json::Value::Object(settings))
        .map_err(|e| PyValueError::new_err(format!("job settings: {e}")))
}

pub(crate) fn format_of(service: &str) -> PyResult<Format> {
    service
        .parse()
        .map_err(|e: agsl_formats::UnknownFormat| PyValueError::new_err(e.to_string()))
}

pub(crate) fn to_json(value: &impl serde::Serialize) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| AgslError::new_err(e.to_string()))
}

/// Converts what is new in the job's source, as `agsl convert` does; returns the summary's JSON.
#[pyfunction]
fn convert(py: Python<'_>, spec_json: &str) -> PyResult<String> {
    let job = build_job(spec_json)?;
    let summary = py
        .detach(|| agsl::convert(&job, &Progress::default()))
        .map_err(py_error)?;
    to_json(&summary)
}

/// The jobs of a config file (all, or those named), as `[name, spec JSON]` pairs: each spec is
/// the job's table over `[defaults]`, checked.
#[pyfunction]
fn config_jobs(path: &str, names: Vec<String>) -> PyResult<Vec<(String, String)>> {
    let jobs = agsl::config::load(std::path::Path::new(path), &names)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    jobs.into_iter()
        .map(|named| Ok((named.name, to_json(&named.spec)?)))
        .collect()
}

/// The objects of the job's source (in its window) a first run would convert, as
/// `(service, key, size)`.
#[pyfunction]
fn list_objects(py: Python<'_>, spec_json: &str) -> PyResult<Vec<(String, String, u64)>> {
    let job = build_read_job(spec_json)?;
    let planned = py.detach(|| agsl::list_objects(&job)).map_err(py_error)?;
    Ok(planned
        .into_iter()
        .map(|p| (p.service.to_string(), p.key, p.size))
        .collect())
}

/// Converts one unit of a distributed run into the target's staging area, as the attempt
/// named `attempt`, with `workers` threads; returns the output's JSON for the driver.
#[pyfunction]
fn convert_unit(
    py: Python<'_>,
    spec_json: &str,
    unit_json: &str,
    attempt: &str,
    workers: usize,
) -> PyResult<String> {
    let job = build_job(spec_json)?.with_workers(workers);
    let unit: agsl::WorkUnit = serde_json::from_str(unit_json)
        .map_err(|e| PyValueError::new_err(format!("not a work unit: {e}")))?;
    let output = py
        .detach(|| {
            let source = agsl::source::Source::open(&job.source, &job.storage)?;
            let target = agsl::storage::Store::open(&job.target, &job.storage)?;
            agsl::convert_unit(
                &job,
                &source,
                &target,
                &unit,
                Some(attempt),
                &Progress::default(),
            )
        })
        .map_err(py_error)?;
    to_json(&output)
}

/// Every service keyword, in registry order.
#[pyfunction]
fn services() -> Vec<&'static str> {
    Format::ALL.iter().map(|f| f.keyword()).collect()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("AgslError", m.py().get_type::<AgslError>())?;
    m.add_function(wrap_pyfunction!(convert, m)?)?;
    m.add_function(wrap_pyfunction!(config_jobs, m)?)?;
    m.add_function(wrap_pyfunction!(list_objects, m)?)?;
    m.add_function(wrap_pyfunction!(convert_unit, m)?)?;
    m.add_function(wrap_pyfunction!(services, m)?)?;
    m.add_function(wrap_pyfunction!(arrow::parse, m)?)?;
    m.add_function(wrap_pyfunction!(arrow::schema, m)?)?;
    m.add_function(wrap_pyfunction!(arrow::read_objects, m)?)?;
    m.add_class::<arrow::ObjectReader>()?;
    m.add_class::<driver::Driver>()?;
    Ok(())
}
