"""agsl on a real local Spark (`local[2,2]`): read_logs gives the CLI's rows, spark.convert the
CLI's table, partitions, rejects and catalog, exactly once through failed task attempts, a
killed driver, and CLI and Spark runs taking turns on one target; the Glue job's driver script
runs the config it is deployed with."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import agsl
import agsl.spark
from conftest import (ROOT, catalog, cli, column_digests, file_schemas, generate, normalize,
                      partitions, table_rows)


def row_set(root: Path, rejects: bool = False) -> list[str]:
    import json
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in table_rows(root, rejects))


@pytest.fixture(scope="module")
def multi_day(tmp_path_factory):
    """ALB logs of two regions crossing midnight, with malformed lines."""
    source = tmp_path_factory.mktemp("multi") / "logs"
    facts = generate("alb", source, size="2MB", lines=150, bad_every=41)
    return source, facts


@pytest.mark.parametrize("service", agsl.services())
def test_read_logs_returns_the_rows_of_the_cli_table(spark, tmp_path, service):
    source = tmp_path / "logs"
    generate(service, source)
    target = tmp_path / "lake"
    summary = cli("convert", "--service", service, "--source", str(source), "--target", str(target),
                  "--catalog", "none")
    frame = agsl.spark.read_logs(spark, service, str(source))
    columns = list(agsl.schema(service).names) + ["_source_key"]
    assert frame.columns == columns
    collected = frame.collect()
    assert len(collected) == summary["rows"] > 0
    # `_source_key` is the object's lineage URL, as in the table.
    keys = {row["_source_key"] for row in collected}
    assert len(keys) == summary["objects"]
    assert all(Path(k.removeprefix("file://")).is_file() for k in keys), keys
    spark_rows = [normalize(row.asDict(recursive=True)) for row in collected]
    cli_rows = table_rows(target, partition=False)
    assert column_digests(spark_rows, columns) == column_digests(cli_rows, columns)


def test_read_logs_keeps_to_the_window(spark, multi_day):
    source, _ = multi_day
    everything = agsl.spark.read_logs(spark, "alb", str(source))
    night = agsl.spark.read_logs(spark, "alb", str(source), since="2024-03-08")
    total, late = everything.count(), night.count()
    assert 0 < late < total
    assert night.filter("time < timestamp'2024-03-08 00:00:00'").count() == 0


def test_read_logs_fails_naming_an_object_changed_since_it_was_listed(spark, tmp_path):
    source = tmp_path / "logs"
    generate("alb", source, bad_every=None)
    frame = agsl.spark.read_logs(spark, "alb", str(source))  # listed here, on the driver
    assert frame.count() > 0
    changed = sorted(p for p in source.rglob("*.log.gz"))[0]
    # Another delivery appended to it (a second gzip member): not the object the driver listed.
    changed.write_bytes(changed.read_bytes() * 2)
    with pytest.raises(Exception, match="changed while this run read it") as failed:
        frame.collect()
    assert changed.name in str(failed.value)


def test_spark_convert_is_the_cli_conversion(spark, tmp_path, multi_day):
    source, facts = multi_day
    by_spark, by_cli = tmp_path / "spark", tmp_path / "cli"
    ours = agsl.spark.convert(spark, "alb", str(source), str(by_spark), commit_size="60KB")
    theirs = cli("convert", "--service", "alb", "--source", str(source), "--target", str(by_cli))
    assert ours["commits"] > 2, "several units, several tasks"
    for field in ("objects", "lines", "rows", "rejects", "partitions", "skipped_objects"):
        assert ours[field] == theirs[field], field
    assert ours["rejects"] == facts["bad_lines"]
    # The tasks' CPU by stage reaches the driver's summary with their counts.
    assert all(ours["cpu_seconds"][stage] > 0 for stage in ("decompress", "parse", "encode")), ours
    regions = {p.split("/")[0] for p in partitions(by_spark)}
    days = {p.split("/", 1)[1] for p in partitions(by_spark)}
    assert len(regions) >= 2 and len(days) >= 2, partitions(by_spark)
    assert partitions(by_spark) == partitions(by_cli)
    assert file_schemas(by_spark) == file_schemas(by_cli)
    assert row_set(by_spark) == row_set(by_cli)
    assert row_set(by_spark, rejects=True) == row_set(by_cli, rejects=True)
    assert catalog(by_spark) == catalog(by_cli)
    assert not list((by_spark / "_agsl" / "staging").rglob("*.parquet"))


def test_failed_first_attempts_are_retried_and_committed_once(spark, tmp_path, multi_day, monkeypatch):
    source, facts = multi_day
    monkeypatch.setenv(agsl.spark.FAULT_VARIABLE, "fail-first-attempt")
    target = tmp_path / "lake"
    summary = agsl.spark.convert(spark, "alb", str(source), str(target), commit_size="60KB",
                                 catalog="none")
    assert summary["rows"] == facts["lines"] - facts["bad_lines"]
    assert len(row_set(target)) == summary["rows"], "each row once"
    assert len(row_set(target, rejects=True)) == facts["bad_lines"]
    # The failed attempts staged files too; none is left, none was published.
    assert not list((target / "_agsl" / "staging").rglob("*.parquet"))


DRIVER = textwrap.dedent("""
    import os, sys
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession
    import agsl.spark
    spark = (SparkSession.builder.master("local[2,2]").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    agsl.spark.convert(spark, "alb", sys.argv[1], sys.argv[2], commit_size="60KB", catalog="none")
""")


def test_a_killed_driver_leaves_every_line_once(spark, tmp_path, multi_day):
    source, facts = multi_day
    target = tmp_path / "lake"
    # The driver dies like `kill -9` right after its second commit is in the log.
    done = subprocess.run([sys.executable, "-c", DRIVER, str(source), str(target)],
                          env={**os.environ, "AGSL_CRASH_AT": "after-commit:2"},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode != 0, done.stderr[-2000:]
    assert "crashing at after-commit" in done.stderr
    committed = len(row_set(target))
    assert 0 < committed < facts["lines"] - facts["bad_lines"]
    summary = agsl.spark.convert(spark, "alb", str(source), str(target), commit_size="60KB",
                                 catalog="none")
    assert summary["skipped_objects"] > 0, "what was committed is not converted again"
    reference = tmp_path / "reference"
    cli("convert", "--service", "alb", "--source", str(source), "--target", str(reference),
        "--catalog", "none")
    assert row_set(target) == row_set(reference)
    assert row_set(target, rejects=True) == row_set(reference, rejects=True)


def test_cli_and_spark_runs_take_turns_on_one_target(spark, tmp_path):
    source, target, reference = tmp_path / "logs", tmp_path / "lake", tmp_path / "reference"
    starts = ["2024-03-07T23:30:00Z", "2024-03-09T10:00:00Z", "2024-03-11T04:00:00Z"]
    for turn, start in enumerate(starts):
        generate("alb", source, size="300KB", lines=100, start=start)
        if turn % 2 == 0:
            summary = agsl.spark.convert(spark, "alb", str(source), str(target), commit_size="40KB")
        else:
            summary = cli("convert", "--service", "alb", "--source", str(source), "--target",
                          str(target))
        assert summary["objects"] > 0 and summary["skipped_objects"] > 0 or turn == 0
    cli("convert", "--service", "alb", "--source", str(source), "--target", str(reference))
    assert row_set(target) == row_set(reference)
    assert row_set(target, rejects=True) == row_set(reference, rejects=True)
    assert catalog(target) == catalog(reference)
    # The target holds the alb table: another service is refused by Spark's driver as by the CLI.
    with pytest.raises(ValueError, match="holds the alb table"):
        agsl.spark.convert(spark, "elb", str(source), str(target))


def test_spark_run_converts_the_jobs_of_a_config(spark, tmp_path):
    generate("vpc_flow", tmp_path / "flows")
    generate("cloudtrail", tmp_path / "trail")
    config = tmp_path / "agsl.toml"
    config.write_text(
        "[defaults]\ncommit_size = \"10KB\"\n"
        f"[flows]\nservice = \"vpc_flow\"\nsource = \"{tmp_path / 'flows'}\"\ntarget = \"{tmp_path / 'lake/flows'}\"\n"
        f"[trail]\nservice = \"cloudtrail\"\nsource = \"{tmp_path / 'trail'}\"\ntarget = \"{tmp_path / 'lake/trail'}\"\n"
    )
    summaries = agsl.spark.run(spark, config)
    for name, service in (("flows", "vpc_flow"), ("trail", "cloudtrail")):
        reference = tmp_path / f"reference-{name}"
        cli("convert", "--service", service, "--source", str(tmp_path / name), "--target",
            str(reference))
        assert summaries[name]["rows"] > 0
        assert row_set(tmp_path / "lake" / name) == row_set(reference)
        assert catalog(tmp_path / "lake" / name) == catalog(reference)


def test_spark_convert_to_s3_and_glue(spark, moto, tmp_path, multi_day):
    import boto3

    source, facts = multi_day
    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1")
    s3.create_bucket(Bucket="lake")
    glue = boto3.client("glue", endpoint_url=moto, region_name="us-east-1")
    common = dict(catalog="glue", commit_size="60KB", endpoint_url=moto, region="us-east-1")
    ours = agsl.spark.convert(spark, "alb", str(source), "s3://lake/spark", database="by_spark",
                              raw_database="by_spark_raw", **common)
    theirs = agsl.convert("alb", str(source), "s3://lake/cli", database="by_cli",
                          raw_database="by_cli_raw", **common)
    for field in ("objects", "rows", "rejects", "partitions"):
        assert ours[field] == theirs[field], field
    assert ours["rejects"] == facts["bad_lines"]

    def tables(database):
        listed = {}
        for table in glue.get_tables(DatabaseName=database)["TableList"]:
            parts = glue.get_partitions(DatabaseName=database, TableName=table["Name"])["Partitions"]
            columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
            keys = [(k["Name"], k["Type"]) for k in table.get("PartitionKeys", [])]
            listed[table["Name"]] = (columns, keys, sorted(tuple(p["Values"]) for p in parts))
        return listed

    assert tables("by_spark") == tables("by_cli") and tables("by_spark")
    assert tables("by_spark_raw") == tables("by_cli_raw")

    def objects(prefix):
        keys = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="lake", Prefix=prefix):
            keys += [o["Key"][len(prefix):] for o in page.get("Contents", [])]
        return keys

    spark_parts = {k.rsplit("/", 1)[0] for k in objects("spark/") if k.startswith("region=")}
    cli_parts = {k.rsplit("/", 1)[0] for k in objects("cli/") if k.startswith("region=")}
    assert spark_parts == cli_parts and spark_parts
    assert not [k for k in objects("spark/_agsl/staging/")]


def test_read_logs_from_s3(spark, moto, multi_day):
    import boto3

    source, facts = multi_day
    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1")
    s3.create_bucket(Bucket="logs")
    for path in source.rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), "logs", str(path.relative_to(source)))
    frame = agsl.spark.read_logs(spark, "alb", "s3://logs/", endpoint_url=moto, region="us-east-1")
    rows = frame.select("_source_key", "trace_id").collect()
    assert len(rows) == facts["lines"] - facts["bad_lines"]
    assert all(row["_source_key"].startswith("s3://logs/AWSLogs/") for row in rows)
    assert len({row["trace_id"] for row in rows}) == len(rows)


def test_the_glue_driver_script_runs_the_deployed_config(spark, moto, tmp_path, multi_day,
                                                         monkeypatch, capsys):
    """The script `glue-job deploy` uploads, run as Glue runs it: Glue's own arguments around
    agsl's, the config read from S3, only the named job run, on the session Glue started."""
    import importlib.util
    import json

    import boto3

    source, facts = multi_day
    lake, other = tmp_path / "lake", tmp_path / "other"
    config = (f"[alb_prod]\nservice = \"alb\"\nsource = \"{source}\"\ntarget = \"{lake}\"\n"
              f"[other]\nservice = \"alb\"\nsource = \"{source}\"\ntarget = \"{other}\"\n")
    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1")
    s3.create_bucket(Bucket="driver-deploy")
    s3.put_object(Bucket="driver-deploy", Key="glue/agsl-logs.toml", Body=config.encode())
    script = ROOT / "crates" / "agsl" / "src" / "deploy" / "glue_driver.py"
    loader = importlib.util.spec_from_file_location("agsl_glue_driver", script)
    driver = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(driver)
    monkeypatch.setattr(sys, "argv", [
        str(script), "--JOB_ID", "j_0123", "--JOB_RUN_ID", "jr_0456",
        "--job-bookmark-option", "job-bookmark-disable", "--TempDir", "s3://driver-deploy/tmp/",
        "--agsl-config", "s3://driver-deploy/glue/agsl-logs.toml", "--JOB_NAME", "agsl-logs",
        "--agsl-jobs", "alb_prod",
    ])
    driver.main()
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()
               if line.startswith("{")]
    assert [p["job"] for p in printed] == ["alb_prod"]
    assert printed[0]["rejects"] == facts["bad_lines"]
    assert printed[0]["rows"] == facts["lines"] - facts["bad_lines"]
    assert not other.exists()
    reference = tmp_path / "reference"
    cli("convert", "--service", "alb", "--source", str(source), "--target", str(reference))
    assert row_set(lake) == row_set(reference)
    assert row_set(lake, rejects=True) == row_set(reference, rejects=True)
    assert catalog(lake) == catalog(reference)
