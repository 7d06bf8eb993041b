"""agsl on Spark (AWS Glue 5, EMR, or ``local[N]``): the same engine, distributed.

- :func:`read_logs`: a DataFrame of parsed records. The driver lists the objects; executors
  read and parse them with the Rust parsers (``mapInArrow``), in bounded batches.
- :func:`convert` and :func:`run`: the distributed converter. The driver takes the target's
  lock, recovers it and plans against its ledger, exactly as ``agsl convert`` does; each Spark
  task converts one unit (one commit's worth of objects) into a staging folder named after
  its attempt and returns a description of the files; the driver commits the outputs Spark
  accepted, one commit per unit, then updates the catalog. A retried or speculative attempt's
  files are never committed and are deleted when the run finishes, so output is the CLI's,
  every line exactly once, and the CLI and Spark may write one target in turn.

Executors need the ``agsl`` wheel installed (on Glue: ``--additional-python-modules``) and
read the source and write the target themselves, so the target must be shared storage
(``s3://``) on a real cluster.
"""

from __future__ import annotations

import json
import os
from functools import partial
from typing import Any, Dict, Iterable, Iterator, List, Optional

from . import _native, job_spec

__all__ = ["convert", "read_logs", "run", "spark_schema"]

#: Set on the driver to ``fail-first-attempt`` to make every task's first attempt fail after
#: its unit is converted and staged (a fault point for tests of Spark's retries).
FAULT_VARIABLE = "AGSL_SPARK_FAULT"

SOURCE_KEY = "_source_key"


def spark_schema(service: str):
    """The Spark schema of :func:`read_logs`: the service's typed columns, then
    ``_source_key`` (the object's key below the source)."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import from_arrow_schema

    arrow = _native.schema(service).append(pa.field(SOURCE_KEY, pa.string(), nullable=False))
    return from_arrow_schema(arrow)


def read_logs(
    spark,
    service: str,
    source: str,
    since: Optional[str] = None,
    until: Optional[str] = None,
    **settings: Any,
):
    """A DataFrame of the records of ``service`` logs under ``source`` (a folder or ``s3://``
    URL), with ``since``/``until`` limiting objects and records by time as ``agsl convert``
    does. Lines that do not parse are left out (``agsl.parse`` and ``convert`` keep them)."""
    if service == "auto":
        raise ValueError("read_logs reads one service; name it (auto mixes schemas)")
    spec = job_spec(service=service, source=source, since=since, until=until, **settings)
    schema = spark_schema(service)
    objects = [(key, size) for _, key, size in _native.list_objects(spec)]
    keys = spark.createDataFrame(objects, "key string, size long")
    if objects:
        tasks = min(len(objects), max(1, spark.sparkContext.defaultParallelism * 4))
        keys = keys.repartition(tasks)
    return keys.mapInArrow(partial(_read_objects, spec, service, schema), schema)


def _arrow_schema(schema):
    """The Arrow form of a Spark schema as this Spark version's own Python workers build it
    (its names for list items, for one). Timestamps are UTC instants, which agsl's are: later
    Spark 4 releases (4.3 among them) ask for the zone, 3.5 and 4.0 always used UTC."""
    import inspect

    from pyspark.sql.pandas.types import to_arrow_schema

    if "timezone" in inspect.signature(to_arrow_schema).parameters:
        return to_arrow_schema(schema, timezone="UTC")
    return to_arrow_schema(schema)


def _read_objects(spec: str, service: str, schema, batches: Iterator) -> Iterator:
    """Executor side of :func:`read_logs`: the records of each listed object, read as a
    conversion reads them (of their listed sizes; on S3 fetched ahead, streamed when large)."""
    from agsl import _native

    target = _arrow_schema(schema)
    for batch in batches:
        keys, sizes = batch.column(0).to_pylist(), batch.column(1).to_pylist()
        yield from _native.read_objects(spec, service, keys, sizes, target)


def convert(spark, service: str, source: str, target: str, **settings: Any) -> Dict[str, Any]:
    """Converts what is new in ``source`` into ``target`` with Spark, exactly once; returns
    the run summary as ``agsl.convert`` does. Settings are those of an ``agsl.toml`` job."""
    return _drive(spark, job_spec(service=service, source=source, target=target, **settings))


def run(spark, config_path: str, jobs: Optional[Iterable[str]] = None) -> Dict[str, Dict[str, Any]]:
    """Runs the jobs of a config file with Spark, one after another; returns each job's
    summary by name. A failing job stops the run and raises."""
    summaries = {}
    for name, spec in _native.config_jobs(str(config_path), list(jobs or [])):
        summaries[name] = _drive(spark, spec)
    return summaries


def _drive(spark, spec: str) -> Dict[str, Any]:
    """One distributed run: plan on the driver, convert units in tasks, commit on the driver."""
    driver = _native.Driver(spec)
    try:
        context = spark.sparkContext
        units = driver.units(context.defaultParallelism)
        if units:
            workers = int(context.getConf().get("spark.task.cpus", "1"))
            fault = os.environ.get(FAULT_VARIABLE, "")
            convert_units = partial(_convert_units, spec, workers, fault)
            # One task per unit; collect() returns the output of the one attempt Spark accepted.
            outputs = context.parallelize(units, len(units)).mapPartitions(convert_units).collect()
            for output in outputs:
                driver.commit(output)
        return json.loads(driver.finish())
    except BaseException as error:
        driver.fail(f"{type(error).__name__}: {error}")
        raise


def _convert_units(spec: str, workers: int, fault: str, units: Iterator[str]) -> List[str]:
    """Executor side of :func:`convert`: converts this task's units as this attempt."""
    from pyspark import TaskContext

    from agsl import _native

    context = TaskContext.get()
    attempt = f"s{context.stageId()}-t{context.taskAttemptId()}"
    outputs = [_native.convert_unit(spec, unit, attempt, workers) for unit in units]
    if fault == "fail-first-attempt" and context.attemptNumber() == 0:
        raise RuntimeError(f"{FAULT_VARIABLE}: failing attempt {attempt} after it staged its files")
    return outputs
