//! Parsed rows to pyarrow: `parse` (one object's bytes), `schema` (a service's columns) and the
//! streamed reader of `read_logs`' executors, whose batches are made to match the Arrow schema
//! Spark derives from its declared one (list items named as that Spark version names them,
//! `_source_key` last), since `mapInArrow` takes columns as declared and nothing else.

use std::sync::{Arc, Mutex};

use agsl::read::{ObjectBatches, parse_bytes};
use agsl::source::Source;
use agsl::{ConvertJob, DEFAULT_BATCH_SIZE, TimeWindow};
use arrow_array::{Array, ArrayRef, ListArray, RecordBatch, StringArray};
use arrow_pyarrow::{PyArrowType, Table};
use arrow_schema::{DataType, Schema, SchemaRef};
use pyo3::exceptions::{PyStopIteration, PyValueError};
use pyo3::prelude::*;

use crate::{AgslError, build_read_job, format_of, py_error};

/// Parses the bytes of one object (gzip or plain) of `service`: `(rows, rejects)` as two
/// pyarrow Tables; the rejects have `source_key` (= `key`), `line_number`, `reason`,
/// `raw_line`.
#[pyfunction]
#[pyo3(signature = (service, data, key = ""))]
pub fn parse(
    py: Python<'_>,
    service: &str,
    data: Vec<u8>,
    key: &str,
) -> PyResult<(PyArrowType<Table>, PyArrowType<Table>)> {
    let format = format_of(service)?;
    let parsed = py
        .detach(|| parse_bytes(format.parser(), key, data, DEFAULT_BATCH_SIZE))
        .map_err(py_error)?;
    let rows = Table::try_new(parsed.batches, format.parser().schema())
        .map_err(|e| AgslError::new_err(e.to_string()))?;
    let rejects_schema = parsed.rejects.schema();
    let rejects = Table::try_new(vec![parsed.rejects], rejects_schema)
        .map_err(|e| AgslError::new_err(e.to_string()))?;
    Ok((PyArrowType(rows), PyArrowType(rejects)))
}

/// The typed columns of `service`'s records (without partition columns).
#[pyfunction]
pub fn schema(service: &str) -> PyResult<PyArrowType<Schema>> {
    let format = format_of(service)?;
    Ok(PyArrowType(format.parser().schema().as_ref().clone()))
}

/// Reads listed objects of the job's source as `service`, in order, for `read_logs`: rows in
/// the job's window, each batch conformed to `target` (the Arrow form of Spark's schema: the
/// service's columns, then `_source_key`). On S3 the objects are fetched ahead, as a
/// conversion fetches them. `sizes` are what the driver's listing found: an object of another
/// size by now is an error naming it.
#[pyfunction]
pub fn read_objects(
    spec_json: &str,
    service: &str,
    keys: Vec<String>,
    sizes: Vec<u64>,
    target: PyArrowType<Schema>,
) -> PyResult<ObjectReader> {
    if keys.len() != sizes.len() {
        return Err(PyValueError::new_err(format!(
            "{} keys and {} sizes",
            keys.len(),
            sizes.len()
        )));
    }
    let job = build_read_job(spec_json)?;
    let format = format_of(service)?;
    let source = opened_source(spec_json, &job)?;
    let target = Arc::new(target.0);
    check_target(format.parser().schema(), &target)?;
    let window: &TimeWindow = &job.window;
    let lineages = keys.iter().map(|key| source.url(key)).collect();
    Ok(ObjectReader {
        batches: Mutex::new(ObjectBatches::read(
            &source,
            format.parser(),
            keys.into_iter().zip(sizes).collect(),
            window.spans(),
            job.batch_size,
            job.fetch,
        )),
        lineages,
        target,
    })
}

/// Sources this process has opened for `read_objects`, by the spec they were opened for. A
/// Spark Python worker reads batch after batch of keys of one source, and opening an S3 source
/// (the AWS configuration and credentials chain, an HTTP client with its TLS roots, then new
/// connections) costs more than reading a small object.
static SOURCES: Mutex<Vec<(String, Source)>> = Mutex::new(Vec::new());
/// Sources kept at most; the oldest goes first.
const SOURCES_KEPT: usize = 8;

/// The source of `job`, opened once per spec in this process.
fn opened_source(spec_json: &str, job: &ConvertJob) -> PyResult<Source> {
    let mut sources = SOURCES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, source)) = sources.iter().find(|(spec, _)| spec == spec_json) {
        return Ok(source.clone());
    }
    let source = Source::open(&job.source, &job.storage).map_err(py_error)?;
    if sources.len() == SOURCES_KEPT {
        sources.remove(0);
    }
    sources.push((spec_json.to_owned(), source.clone()));
    Ok(source)
}

/// The record batches of listed objects, read and parsed on a thread while Python takes them.
#[pyclass(module = "agsl._native")]
pub struct ObjectReader {
    /// Behind a lock as Python objects may be touched from any thread.
    batches: Mutex<ObjectBatches>,
    /// Each object's lineage URL, the table's `_source_key`.
    lineages: Vec<String>,
    target: SchemaRef,
}

#[pymethods]
impl ObjectReader {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<PyArrowType<RecordBatch>> {
        let batches = self.batches.get_mut().unwrap_or_else(|e| e.into_inner());
        let next = py.detach(|| batches.next());
        match next {
            None => Err(PyStopIteration::new_err(())),
            Some(Err(error)) => Err(py_error(error)),
            Some(Ok((object, batch))) => conform(&batch, &self.target, &self.lineages[object])
                .map(PyArrowType)
                .map_err(|e| AgslError::new_err(e.to_string())),
        }
    }
}

/// Refuses a target schema that is not the service's columns plus `_source_key`.
fn check_target(schema: SchemaRef, target: &Schema) -> PyResult<()> {
    let names: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
    let expected: Vec<&String> = target.fields().iter().map(|f| f.name()).collect();
    let fits = expected.len() == names.len() + 1
        && expected[..names.len()] == names[..]
        && expected[names.len()] == "_source_key";
    if fits {
        Ok(())
    } else {
        Err(PyValueError::new_err(format!(
            "the target schema's columns {expected:?} are not the service's columns then \
             `_source_key`"
        )))
    }
}

/// `batch` with its list columns' items named as in `target`, and `_source_key` (`lineage`)
/// appended.
fn conform(
    batch: &RecordBatch,
    target: &SchemaRef,
    lineage: &str,
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(target.fields().len());
    for (column, field) in batch.columns().iter().zip(target.fields()) {
        columns.push(match (column.data_type(), field.data_type()) {
            (have, want) if have == want => column.clone(),
            (DataType::List(_), DataType::List(item)) => {
                let list = column
                    .as_any()
                    .downcast_ref::<ListArray>()
                    .ok_or_else(|| arrow_schema::ArrowError::CastError("not a list".into()))?;
                Arc::new(ListArray::try_new(
                    item.clone(),
                    list.offsets().clone(),
                    list.values().clone(),
                    list.nulls().cloned(),
                )?)
            }
            (have, want) => {
                return Err(arrow_schema::ArrowError::CastError(format!(
                    "column `{}` is {have}, Spark declares {want}",
                    field.name()
                )));
            }
        });
    }
    columns.push(Arc::new(StringArray::from(vec![lineage; batch.num_rows()])));
    RecordBatch::try_new(target.clone(), columns)
}
