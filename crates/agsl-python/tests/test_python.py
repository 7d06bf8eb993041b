"""agsl from Python, without Spark: parse, convert and run give what the CLI gives."""

from __future__ import annotations

import gzip
import io
import json
import struct
import subprocess
import sys
import uuid
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import agsl
from conftest import cli, column_digests, generate, parquet_files, table_rows

SERVICES = agsl.services()
# What differs between two runs of the same conversion: timings and CPU seconds, and Parquet
# bytes (which worker thread took which object decides how rows are split into files).
TIMING = {"seconds", "megabytes_per_second", "cpu_seconds", "bytes_out"}


def test_every_service_is_there():
    assert len(SERVICES) == 11 and "alb" in SERVICES and "cloudfront_v2" in SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_parse_gives_the_rows_and_rejects_of_a_conversion(tmp_path, service):
    source = tmp_path / "logs"
    facts = generate(service, source)
    assert facts["bad_lines"] > 0
    rows = rejects = 0
    keys = set()
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        key = str(path.relative_to(source))
        table, bad = agsl.parse(service, path.read_bytes(), key=key)
        assert table.schema == agsl.schema(service)
        assert bad.column_names == ["source_key", "line_number", "reason", "raw_line"]
        keys.update(bad.column("source_key").to_pylist())
        rows += table.num_rows
        rejects += bad.num_rows
    summary = agsl.convert(service, str(source), str(tmp_path / "lake"), catalog="none")
    assert (rows, rejects) == (summary["rows"], summary["rejects"])
    assert rejects == facts["bad_lines"]
    assert all(k and not k.startswith("/") for k in keys), keys


def test_parse_takes_plain_and_gzip_and_keeps_damage_as_a_reject():
    line = (b"2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1600000000 "
            b"1600000060 ACCEPT OK\n")
    plain, _ = agsl.parse("vpc_flow", line * 3)
    packed, _ = agsl.parse("vpc_flow", gzip.compress(line * 3))
    assert plain.num_rows == packed.num_rows == 3
    assert plain.equals(packed)
    damaged = gzip.compress(line * 2000)[:-40]
    rows, rejects = agsl.parse("vpc_flow", damaged, key="cut.gz")
    assert rows.num_rows > 0 and rejects.num_rows == 1
    assert "corrupt compressed data" in rejects.column("reason")[0].as_py()


def _snappy(block: bytes) -> bytes:
    """One raw Snappy block, by Arrow's C++ Snappy (not the Rust decoder agsl reads with)."""
    return pa.compress(block, codec="snappy", asbytes=True)


def _snappy_java(text: bytes) -> bytes:
    """snappy-java's stream format (Firehose's `Snappy`): its header, then 32 KiB blocks."""
    out = bytearray(b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1))
    for at in range(0, len(text), 32 << 10):
        block = _snappy(text[at:at + (32 << 10)])
        out += struct.pack(">i", len(block)) + block
    return bytes(out)


def _hadoop_snappy(text: bytes) -> bytes:
    """Hadoop's block format (Firehose's `HADOOP_SNAPPY`): 256 KiB blocks of 64 KiB chunks."""
    out = bytearray()
    for at in range(0, len(text), 256 << 10):
        block = text[at:at + (256 << 10)]
        out += struct.pack(">i", len(block))
        for piece in range(0, len(block), 64 << 10):
            chunk = _snappy(block[piece:piece + (64 << 10)])
            out += struct.pack(">i", len(chunk)) + chunk
    return bytes(out)


def _zip(text: bytes) -> bytes:
    """A ZIP archive of one deflated entry named by a UUID, as Firehose's `ZIP` writes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(str(uuid.uuid4()), text)
    return out.getvalue()


def test_firehoses_compressions_convert_as_gzip_does(tmp_path):
    """WAF through Firehose, compressed each way a Firehose stream can be (written here by
    Python's zipfile and Arrow's Snappy, not by agsl): the same rows, rejects and partitions as
    the gzip objects, told by the objects' first bytes."""
    generated = tmp_path / "generated"
    facts = generate("waf", generated, size="1MB", lines=400, bad_every=37)
    texts = [gzip.decompress(p.read_bytes()) for p in sorted(generated.rglob("*.log.gz"))]
    assert len(texts) > 2 and facts["bad_lines"] > 0
    packers = {"gz": gzip.compress, "zip": _zip, "snappy": _snappy_java,
               "hsnappy": _hadoop_snappy}
    tables = {}
    for name, pack in packers.items():
        source = tmp_path / name / "2024" / "03" / "07" / "23"
        source.mkdir(parents=True)
        # Firehose gives both Snappy variants the `.snappy` extension.
        extension = "snappy" if name == "hsnappy" else name
        for i, text in enumerate(texts):
            key = f"aws-waf-logs-shop-1-2024-03-07-23-{i:02d}-00-{uuid.uuid4()}.{extension}"
            (source / key).write_bytes(pack(text))
        target = tmp_path / f"lake-{name}"
        summary = agsl.convert("waf", str(tmp_path / name), str(target), catalog="none")
        assert summary["skipped_objects"] == 0, name
        assert (summary["rows"], summary["rejects"]) == (facts["lines"] - facts["bad_lines"], facts["bad_lines"]), name
        rows = table_rows(target)
        assert all(r["_source_key"].endswith(f".{extension}") for r in rows), name
        for row in rows:
            del row["_source_key"]
        columns = sorted(rows[0])
        tables[name] = column_digests(rows, columns)
        rejected = table_rows(target, rejects=True)
        assert {r["reason"] for r in rejected} == {r["reason"] for r in table_rows(
            tmp_path / "lake-gz", rejects=True)}, name
    assert all(digests == tables["gz"] for digests in tables.values())


def test_damaged_firehose_objects_keep_what_came_before_the_damage_and_say_why():
    line = b'{"timestamp":1709852400000,"action":"ALLOW"}\n'
    cut_zip = _zip(line * 5000)[:-300]
    rows, rejects = agsl.parse("waf", cut_zip, key="cut.zip")
    assert rejects.num_rows == 1, "the damage is one reject naming it"
    assert "ZIP" in rejects.column("reason")[0].as_py()
    snappy = _snappy_java(line * 5000)
    rows, rejects = agsl.parse("waf", snappy[:-100], key="cut.snappy")
    assert 0 < rows.num_rows < 5000 and rejects.num_rows == 1
    assert "snappy" in rejects.column("reason")[0].as_py()


def test_read_objects_joins_consecutive_small_objects_into_bounded_batches(tmp_path):
    # read_logs' executor side: one Arrow batch per small object costs Spark more than parsing
    # it, so consecutive objects share batches, never above the parser's own batch size.
    source = tmp_path / "logs"
    facts = generate("alb", source, size="2MB", lines=500, bad_every=None)
    spec = agsl.job_spec(service="alb", source=str(source))
    listed = [(key, size) for _, key, size in agsl._native.list_objects(spec)]
    assert len(listed) >= 6
    big = b"".join(p.read_bytes() for p in sorted(source.rglob("*.log.gz"))[:6])
    most = max(b.num_rows for b in agsl.parse("alb", big)[0].to_batches())
    assert most < 3000, "the parser's batches are smaller than six objects"
    target = agsl.schema("alb").append(pa.field("_source_key", pa.string(), nullable=False))
    keys, sizes = [k for k, _ in listed], [s for _, s in listed]
    batches = list(agsl._native.read_objects(spec, "alb", keys, sizes, target))
    assert sum(b.num_rows for b in batches) == facts["lines"]
    assert all(b.schema == target and 0 < b.num_rows <= most for b in batches)
    per_batch = (most // 500) * 500
    assert [b.num_rows for b in batches[:-1]] == [per_batch] * (len(batches) - 1)
    order = []
    for batch in batches:
        for url in batch.column("_source_key").to_pylist():
            if not order or order[-1] != url:
                order.append(url)
    assert [url.rsplit("/", 1)[1] for url in order] == [k.rsplit("/", 1)[1] for k in keys]


def test_read_objects_skips_archived_objects_only_when_asked(tmp_path, moto):
    """read_logs' executor side on S3: an object a lifecycle rule moved to Glacier fails the
    read, naming it; with skip_archived the other objects' rows come back without it."""
    import boto3

    source = tmp_path / "logs"
    facts = generate("alb", source, size="300KB", lines=100, bad_every=None)
    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1")
    s3.create_bucket(Bucket="archive-test")
    paths = sorted(source.rglob("*.log.gz"))
    for path in paths:
        s3.upload_file(str(path), "archive-test", str(path.relative_to(source)))
    archived = str(paths[0].relative_to(source))
    s3.copy_object(Bucket="archive-test", Key=archived, StorageClass="GLACIER",
                   CopySource={"Bucket": "archive-test", "Key": archived})
    target = agsl.schema("alb").append(pa.field("_source_key", pa.string(), nullable=False))

    def read(**settings):
        spec = agsl.job_spec(service="alb", source="s3://archive-test/", endpoint_url=moto,
                             region="us-east-1", **settings)
        listed = [(key, size) for _, key, size in agsl._native.list_objects(spec)]
        keys, sizes = [k for k, _ in listed], [s for _, s in listed]
        return list(agsl._native.read_objects(spec, "alb", keys, sizes, target))

    with pytest.raises(agsl.AgslError, match="archived"):
        read()
    batches = read(skip_archived=True)
    urls = {url for b in batches for url in b.column("_source_key").to_pylist()}
    assert sum(b.num_rows for b in batches) == facts["lines"] - 100
    assert len(urls) == len(paths) - 1 and not any(u.endswith(archived) for u in urls)


READ_AND_MEASURE = """
import resource, sys
import pyarrow as pa
import agsl
spec = agsl.job_spec(service="cloudtrail", source=sys.argv[1])
listed = [(key, size) for _, key, size in agsl._native.list_objects(spec)]
target = agsl.schema("cloudtrail").append(pa.field("_source_key", pa.string(), nullable=False))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
keys, sizes = [k for k, _ in listed], [s for _, s in listed]
rows = sum(b.num_rows for b in agsl._native.read_objects(spec, "cloudtrail", keys, sizes, target))
print(len(listed), rows, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_read_objects_holds_joined_small_objects_in_memory_of_their_size(tmp_path):
    # A parser's batch keeps the room of a whole batch however few rows an object had (some
    # 5 MB for CloudTrail); held for joining without being copied to their size, 400 such
    # objects took 250 MB more, against about 35 MB copied.
    source = tmp_path / "logs"
    facts = generate("cloudtrail", source, size="8MB", lines=20, bad_every=None)
    measured = subprocess.run([sys.executable, "-c", READ_AND_MEASURE, str(source)], check=True,
                              capture_output=True, text=True).stdout.split()
    objects, rows, grown_mb = map(int, measured)
    assert objects >= 350 and rows == facts["lines"]
    assert grown_mb < 120, f"peak RSS grew {grown_mb} MB reading {objects} small objects"


@pytest.mark.parametrize("service", SERVICES)
def test_every_number_and_time_column_has_statistics_pyarrow_reads(tmp_path, service):
    """Min/max of typed columns let Athena, Spark and DuckDB skip row groups (slow requests by
    their processing times, a window by its event times). An independent reader must see them:
    parquet 60 marks Float64 statistics with an order pyarrow and DuckDB do not read."""
    source = tmp_path / "logs"
    generate(service, source, bad_every=None)
    agsl.convert(service, str(source), str(tmp_path / "lake"), catalog="none")
    typed = [f.name for f in agsl.schema(service)
             if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
             or pa.types.is_timestamp(f.type)]
    assert typed, service
    checked = set()
    for path in parquet_files(tmp_path / "lake"):
        metadata = pq.ParquetFile(path).metadata
        names = [metadata.schema.column(i).path for i in range(metadata.num_columns)]
        for group in range(metadata.num_row_groups):
            for name in typed:
                column = metadata.row_group(group).column(names.index(name))
                statistics = column.statistics
                assert statistics is not None, f"{service}: {name} in {path.name}"
                if statistics.null_count == column.num_values:
                    continue  # no value to bound (a column every row leaves NULL)
                assert statistics.has_min_max, f"{service}: {name} in {path.name}"
                checked.add(name)
    assert checked, service


def test_convert_returns_the_cli_summary_and_table(tmp_path):
    source = tmp_path / "logs"
    generate("alb", source, size="1MB", lines=200)
    ours = agsl.convert("alb", str(source), str(tmp_path / "py"), commit_size="20KB")
    theirs = cli("convert", "--service", "alb", "--source", str(source),
                 "--target", str(tmp_path / "cli"), "--commit-size", "20KB")
    assert {k: v for k, v in ours.items() if k not in TIMING} == \
        {k: v for k, v in theirs.items() if k not in TIMING}
    assert ours["commits"] > 1
    py_rows = sorted(json.dumps(r, sort_keys=True, default=str) for r in table_rows(tmp_path / "py"))
    cli_rows = sorted(json.dumps(r, sort_keys=True, default=str) for r in table_rows(tmp_path / "cli"))
    assert py_rows == cli_rows and len(py_rows) == ours["rows"]
    # Run again: nothing new, exactly as the CLI.
    again = agsl.convert("alb", str(source), str(tmp_path / "py"))
    assert again["objects"] == 0 and again["skipped_objects"] == ours["objects"]


def test_run_converts_the_jobs_of_a_config(tmp_path):
    for service in ("alb", "vpc_flow"):
        generate(service, tmp_path / service, size="200KB")
    config = tmp_path / "agsl.toml"
    config.write_text(
        "[defaults]\ncatalog = \"none\"\n"
        f"[alb_prod]\nservice = \"alb\"\nsource = \"{tmp_path / 'alb'}\"\ntarget = \"{tmp_path / 'lake/alb'}\"\n"
        f"[flows]\nservice = \"vpc_flow\"\nsource = \"{tmp_path / 'vpc_flow'}\"\ntarget = \"{tmp_path / 'lake/flows'}\"\n"
    )
    summaries = agsl.run(config)
    assert sorted(summaries) == ["alb_prod", "flows"]
    assert summaries["flows"]["service"] == "vpc_flow" and summaries["flows"]["rows"] > 0
    assert parquet_files(tmp_path / "lake/alb")
    only = agsl.run(str(config), jobs=["flows"])
    assert list(only) == ["flows"] and only["flows"]["objects"] == 0


def test_bad_settings_raise_value_errors_naming_them(tmp_path):
    with pytest.raises(ValueError, match="unknown service `albb`"):
        agsl.parse("albb", b"")
    with pytest.raises(ValueError, match="zstd_level"):
        agsl.convert("alb", str(tmp_path), str(tmp_path / "t"), zstd_level=99)
    with pytest.raises(ValueError, match="unknown field `colour`"):
        agsl.convert("alb", str(tmp_path), str(tmp_path / "t"), colour="blue")
    with pytest.raises(ValueError, match="since"):
        agsl.convert("alb", str(tmp_path), str(tmp_path / "t"), since="yesterday")
    with pytest.raises(agsl.AgslError, match="does not exist"):
        agsl.convert("alb", str(tmp_path / "missing"), str(tmp_path / "t"))


def test_a_target_that_holds_another_table_is_a_value_error(tmp_path):
    for service in ("alb", "vpc_flow"):
        generate(service, tmp_path / service, size="50KB")
    target = str(tmp_path / "lake")
    rows = agsl.convert("alb", str(tmp_path / "alb"), target)["rows"]
    with pytest.raises(ValueError, match="holds the alb table, not vpc_flow's; convert vpc_flow into"):
        agsl.convert("vpc_flow", str(tmp_path / "vpc_flow"), target)
    with pytest.raises(ValueError, match="is inside the agsl target"):
        agsl.convert("vpc_flow", str(tmp_path / "vpc_flow"), target + "/flows")
    assert len(table_rows(tmp_path / "lake")) == rows
