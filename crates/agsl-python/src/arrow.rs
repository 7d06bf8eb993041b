//! Parsed rows to pyarrow: `parse` (one object's bytes), `schema` (a service's columns) and the
//! streamed reader of `read_logs`' executors, whose batches are made to match the Arrow schema
//! Spark derives from its declared one (list items named as that Spark version names them,
//! `_source_key` last), since `mapInArrow` takes columns as declared and nothing else.

use std::sync::{Arc, Mutex};

use agsl::read::{ObjectBatches, parse_bytes};
use agsl::source::Source;
use agsl::{ConvertJob, DEFAULT_BATCH_SIZE, TimeWindow};
use arrow_array::{Array, ArrayRef, ListArray, RecordBatch, StringArray, UInt32Array};
use arrow_pyarrow::{PyArrowType, Table};
use arrow_schema::{DataType, Schema, SchemaRef};
use pyo3::exceptions::{PyStopIteration, PyValueError};
use pyo3::prelude::*;

use crate::{AgslError, build_read_job, format_of, py_error};

/// Parses the bytes of one object (gzip, ZIP, Snappy or plain) of `service`: `(rows, rejects)` as two
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
/// the job's window, in batches conformed to `target` (the Arrow form of Spark's schema: the
/// service's columns, then `_source_key`) of at most the rows a conversion's batch holds,
/// consecutive small objects sharing one. On S3 the objects are fetched ahead, as a
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
    let batches = ObjectBatches::read(
        &source,
        format.parser(),
        keys.into_iter().zip(sizes).collect(),
        window.spans(),
        job.batch_size,
        job.fetch,
        job.skip_archived,
    );
    Ok(ObjectReader {
        batch_size: batches.batch_rows(),
        batches: Mutex::new(batches),
        lineages,
        target,
        held: None,
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

/// The record batches of listed objects, read and parsed on a thread while Python takes them,
/// the small batches of consecutive objects joined into batches of up to `batch_size` rows:
/// a CloudTrail or S3 access object holds a few dozen records, and each batch handed to Spark
/// costs far more than parsing them (one per object made a task of 375 such objects take 0.4
/// to 0.6 s, against about 0.2 s joined; BENCHMARKS.md).
#[pyclass(module = "agsl._native")]
pub struct ObjectReader {
    /// Behind a lock as Python objects may be touched from any thread.
    batches: Mutex<ObjectBatches>,
    /// Each object's lineage URL, the table's `_source_key`.
    lineages: Vec<String>,
    target: SchemaRef,
    batch_size: usize,
    /// A conformed batch taken from `batches` that did not fit the batch returned before it.
    held: Option<RecordBatch>,
}

impl ObjectReader {
    /// The next batch for Python: conformed batches of consecutive objects, joined while they
    /// fit in `batch_size` rows; `None` at the end.
    fn next_joined(&mut self) -> Result<Option<RecordBatch>, PyErr> {
        let batches = self.batches.get_mut().unwrap_or_else(|e| e.into_inner());
        let mut joined: Vec<RecordBatch> = self.held.take().into_iter().collect();
        let mut rows: usize = joined.iter().map(RecordBatch::num_rows).sum();
        while rows < self.batch_size {
            let Some(next) = batches.next() else { break };
            let (object, parsed) = next.map_err(py_error)?;
            let mut batch = conform(&parsed, &self.target, &self.lineages[object])
                .map_err(|e| AgslError::new_err(e.to_string()))?;
            if batch.num_rows() < self.batch_size {
                batch = compacted(&batch).map_err(|e| AgslError::new_err(e.to_string()))?;
            }
            if !joined.is_empty() && rows + batch.num_rows() > self.batch_size {
                self.held = Some(batch);
                break;
            }
            rows += batch.num_rows();
            joined.push(batch);
        }
        match joined.len() {
            0 => Ok(None),
            1 => Ok(joined.pop()),
            _ => arrow_select::concat::concat_batches(&self.target, &joined)
                .map(Some)
                .map_err(|e| AgslError::new_err(e.to_string())),
        }
    }
}

#[pymethods]
impl ObjectReader {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<PyArrowType<RecordBatch>> {
        match py.detach(|| self.next_joined())? {
            None => Err(PyStopIteration::new_err(())),
            Some(batch) => Ok(PyArrowType(batch)),
        }
    }
}

/// `batch` copied into buffers of its size. A parser's batch keeps the room of a whole batch
/// (8,192 rows of CloudTrail's columns, some 5 MB) however few rows its object held, and
/// holding a task's small objects to join them kept that room for each: 250 MB more for 400
/// CloudTrail objects of 20 records (35 MB copied; 64 MB with the buffers shrunk in place
/// instead, which leaves the freed ends scattered over the heap).
fn compacted(batch: &RecordBatch) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let rows = UInt32Array::from_iter_values(0..batch.num_rows() as u32);
    arrow_select::take::take_record_batch(batch, &rows)
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
