//! The driver of a distributed run, held by the Spark driver's Python process: it holds the
//! target's lock from construction to `finish` (or `fail`), hands out units as JSON and
//! commits the outputs the accepted task attempts return.

use agsl::{Progress, UnitOutput};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::{build_job, py_error, to_json};

#[pyclass(module = "agsl._native")]
pub struct Driver {
    /// `None` once finished or failed.
    inner: Option<agsl::Driver>,
}

impl Driver {
    fn inner(&mut self) -> PyResult<&mut agsl::Driver> {
        self.inner
            .as_mut()
            .ok_or_else(|| PyRuntimeError::new_err("this run is over (finished or failed)"))
    }
}

#[pymethods]
impl Driver {
    /// Locks the job's target, recovers it and plans the run.
    #[new]
    fn new(py: Python<'_>, spec_json: &str) -> PyResult<Self> {
        let job = build_job(spec_json)?;
        let driver = py
            .detach(|| agsl::Driver::start(&job, &Progress::default()))
            .map_err(py_error)?;
        Ok(Self {
            inner: Some(driver),
        })
    }

    /// The run's name.
    #[getter]
    fn run(&mut self) -> PyResult<String> {
        Ok(self.inner()?.run().to_owned())
    }

    /// Every unit of the plan not handed out yet, as JSON: at least `tasks` of them when the
    /// plan has that many objects, each at most the job's commit size.
    #[pyo3(signature = (tasks = 1))]
    fn units(&mut self, tasks: usize) -> PyResult<Vec<String>> {
        let driver = self.inner()?;
        driver.spread_over(tasks);
        let mut units = Vec::new();
        while let Some(unit) = driver.next_unit() {
            units.push(to_json(&unit)?);
        }
        Ok(units)
    }

    /// Commits the output (JSON) one attempt of a unit returned.
    fn commit(&mut self, py: Python<'_>, output_json: &str) -> PyResult<()> {
        let output: UnitOutput = serde_json::from_str(output_json)
            .map_err(|e| PyValueError::new_err(format!("not a unit's output: {e}")))?;
        let driver = self.inner()?;
        py.detach(|| driver.commit(output)).map_err(py_error)
    }

    /// Ends the run (catalog update, cleanup, lock released); returns the summary's JSON.
    fn finish(&mut self, py: Python<'_>) -> PyResult<String> {
        let driver = self
            .inner
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this run is over (finished or failed)"))?;
        let summary = py.detach(|| driver.finish()).map_err(py_error)?;
        to_json(&summary)
    }

    /// Ends a run that failed with `message`, releasing the lock; a no-op once it is over.
    fn fail(&mut self, message: &str) {
        if let Some(driver) = self.inner.take() {
            driver.fail(&agsl::Error::Distributed(message.to_owned()));
        }
    }
}
