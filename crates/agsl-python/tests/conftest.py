"""Fixtures of the Python and Spark tests: the `agsl` binary (the CLI the results are compared
with), generated logs, a local Spark session (`local[2,2]`: two cores, a failed task is tried
once more) and a moto server. Output is read back with pyarrow's own Parquet reader."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[3]
# Collected timestamps are naive datetimes in the process's time zone: make it UTC.
os.environ["TZ"] = "UTC"
time.tzset()


def agsl_binary() -> str:
    return os.environ.get("AGSL_BIN", str(ROOT / "target" / "debug" / "agsl"))


def cli(*args: str, env: dict | None = None) -> dict:
    """Runs the CLI with `--json -q`; returns its JSON output (the last line)."""
    done = subprocess.run(
        [agsl_binary(), *args, "--json", "-q"],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, f"agsl {' '.join(args)} failed: {done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def generate(service: str, target: Path, size: str = "300KB", lines: int = 100,
             bad_every: int | None = 13, start: str | None = None) -> dict:
    args = ["generate", "--service", service, "--target", str(target), "--size", size,
            "--lines-per-object", str(lines)]
    if bad_every:
        args += ["--bad-line-every", str(bad_every)]
    if start:
        args += ["--start", start]
    return cli(*args)


def parquet_files(root: Path, rejects: bool = False) -> list[Path]:
    """The committed table files below `root` (or its rejects files)."""
    found = []
    for path in sorted(root.rglob("*.parquet")):
        relative = path.relative_to(root).parts
        if relative[0] == "_agsl":
            continue
        if (relative[0] == "_rejects") == rejects:
            found.append(path)
    return found


def normalize(value):
    """A value as pyarrow and Spark both give it: naive UTC datetimes, dicts for structs."""
    if hasattr(value, "asDict"):
        value = value.asDict(recursive=True)
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return value.replace(tzinfo=None)
    return value


def column_digests(rows: list[dict], columns: list[str]) -> dict[str, str]:
    """Per-column digests of `rows` sorted by their whole content: equal digests for every
    column mean the same multiset of rows."""
    keyed = sorted((json.dumps(r, sort_keys=True, default=str), r) for r in rows)
    digests = {}
    for column in columns:
        h = hashlib.sha256()
        for _, row in keyed:
            h.update(json.dumps(row.get(column), sort_keys=True, default=str).encode())
            h.update(b"\x00")
        digests[column] = h.hexdigest()
    return digests


def table_rows(root: Path, rejects: bool = False, partition: bool = True) -> list[dict]:
    """Every row of the table at `root`, normalized, with its partition folder as `_partition`."""
    rows = []
    for path in parquet_files(root, rejects):
        folder = str(path.parent.relative_to(root))
        for row in pq.read_table(path).to_pylist():
            row = normalize(row)
            if partition and not rejects:
                row["_partition"] = folder
            rows.append(row)
    return rows


def partitions(root: Path) -> set[str]:
    return {str(p.parent.relative_to(root)) for p in parquet_files(root)}


def file_schemas(root: Path) -> set[str]:
    return {str(pq.read_schema(p)) for p in parquet_files(root)}


def catalog(target: Path) -> list[dict]:
    """The target's local catalog as `agsl tables` lists it, without what differs by place."""
    listed = cli("tables", "--target", str(target))
    tables = listed["tables"] if isinstance(listed, dict) else listed
    kept = []
    for table in tables:
        kept.append({k: v for k, v in table.items()
                     if k not in ("location", "last_run", "last_run_at", "updated_at")})
    return sorted(kept, key=lambda t: json.dumps(t, sort_keys=True))


@pytest.fixture(scope="session")
def spark(moto):
    """The session, started after moto: its Python workers inherit this process's environment
    when they start, the AWS settings among it (on a cluster, executors have their roles)."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2,2]")
        .appName("agsl-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto():
    """A moto server; this process's AWS settings (inherited by Spark's workers and the CLI)
    point at it with dummy credentials."""
    server = os.environ.get("AGSL_MOTO_SERVER") or str(Path(sys.executable).parent / "moto_server")
    port = free_port()
    child = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.time() < deadline, f"moto did not start on {endpoint}"
            time.sleep(0.1)
    os.environ.update({
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    os.environ.pop("AWS_PROFILE", None)
    yield endpoint
    child.terminate()
    child.wait()
