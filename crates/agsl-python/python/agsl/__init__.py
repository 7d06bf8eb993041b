"""agsl: AWS service logs to typed, partitioned Parquet, exactly once.

The same Rust engine as the ``agsl`` command line, from Python:

- :func:`parse` turns the bytes of one log object into typed rows and rejects (pyarrow Tables);
- :func:`convert` and :func:`run` do what ``agsl convert`` and ``agsl run`` do and return the
  run summary as a dict;
- :mod:`agsl.spark` reads and converts with Spark (AWS Glue 5, EMR), committing exactly once.

Job settings are the keys of an ``agsl.toml`` job (``since``, ``until``, ``catalog``,
``database``, ``commit_size``, ``partitioning``, ...), given as keyword arguments; they are
checked by the same builder as the CLI's flags, and a bad one raises ``ValueError``.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, Optional, Tuple

from . import _native
from ._native import AgslError

__all__ = ["AgslError", "convert", "parse", "run", "schema", "services"]


def services() -> list:
    """Every service keyword (``alb``, ``cloudtrail``, ``vpc_flow``, ...)."""
    return list(_native.services())


def schema(service: str):
    """The typed columns of ``service``'s records, as a ``pyarrow.Schema``."""
    return _native.schema(service)


def parse(service: str, data: bytes, key: str = "") -> Tuple[Any, Any]:
    """Parses the bytes of one ``service`` log object (gzip, ZIP, Snappy or plain).

    Returns ``(rows, rejects)``, two ``pyarrow.Table``: the typed records, and the lines that
    did not parse with ``source_key`` (``key``), ``line_number``, ``reason`` and ``raw_line``.
    Every data line is in exactly one of them.
    """
    return _native.parse(service, bytes(data), key)


def job_spec(**settings: Any) -> str:
    """The JSON job spec of keyword settings (``None`` values are left out)."""
    return json.dumps({k: v for k, v in settings.items() if v is not None})


def convert(service: str, source: str, target: str, **settings: Any) -> Dict[str, Any]:
    """Converts what is new in ``source`` into ``target``, as ``agsl convert`` does.

    ``service`` is a keyword or ``auto``; ``source`` and ``target`` are folders or ``s3://``
    URLs. Returns the run summary (the ``--json`` fields) as a dict.
    """
    spec = job_spec(service=service, source=source, target=target, **settings)
    return json.loads(_native.convert(spec))


def run(config_path: str, jobs: Optional[Iterable[str]] = None) -> Dict[str, Dict[str, Any]]:
    """Runs the jobs of a config file (all, or those named), as ``agsl run`` does.

    Returns each job's summary by job name. A failing job stops the run and raises.
    """
    summaries = {}
    for name, spec in _native.config_jobs(str(config_path), list(jobs or [])):
        summaries[name] = json.loads(_native.convert(spec))
    return summaries
