"""`scripts/bench --spark`: agsl on Spark against the CLI and a seed-style Spark conversion.

On the same generated ALB set (--spark-size, 1GB by default; cached in --dir) and the same two
cores, in one run, --runs times each (medians):
  cli     `agsl convert` (release build) into a fresh target
  spark   `agsl.spark.convert` on Spark `local[2]` (the release wheel from scripts/wheel,
          installed with pyspark 3.5 into target/bench-spark-venv): wall time of the call,
          the SparkSession already up (its start is reported apart); then called again in
          the same session, with Spark's Python workers already up, reported apart
  seed    the seed's way on the same Spark: `spark.read.text` of the objects, one regular
          expression per line (the raw table's, as the seed's Grok pattern: one match whose
          groups are joined and split, not one match per column), columns cast to their
          types, Parquet (zstd) partitioned by region/year/month/day
  read_logs  `agsl.spark.read_logs(...).count()` of the 3,000 CloudTrail objects of
          `scripts/bench --s3`, from disk and from S3 (s3s-fs behind the 30 ms proxy,
          scripts/bench_s3.py), interleaved: the first call of a session, and the median of three
          more in it
Peak RSS of the Spark runs is the sum of the peaks of the driver's process tree (Python, its
JVM, the Python workers alive at the end), read from /proc; the CLI's is GNU time's.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "target" / "bench-spark-venv"

SPARK_RUN = textwrap.dedent(r'''
    import json, os, sys, time
    os.environ["PYSPARK_PYTHON"] = sys.executable
    started = time.perf_counter()
    from pyspark.sql import SparkSession, functions as F
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.driver.memory", "4g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    # A trivial job, so the timed part starts with a warm session.
    spark.range(4).count()
    session_s = time.perf_counter() - started
    mode, source, target = sys.argv[1], sys.argv[2], sys.argv[3]
    started = time.perf_counter()
    warm_s = None
    if mode == "read_logs":
        # `target` is the S3 endpoint (empty: `source` is a folder); argv[4] calls follow the
        # first in this session, with Spark's Python workers up (reused).
        import statistics
        import agsl.spark
        settings = {"endpoint_url": target, "region": "us-east-1"} if target else {}
        count = lambda: agsl.spark.read_logs(spark, "cloudtrail", source, **settings).count()
        rows = count()
        seconds = time.perf_counter() - started
        again = []
        for _ in range(int(sys.argv[4])):
            again_started = time.perf_counter()
            if count() != rows:
                sys.exit("read_logs: another count of the same objects")
            again.append(time.perf_counter() - again_started)
        warm_s = statistics.median(again)
    elif mode == "spark":
        import shutil
        import agsl.spark
        summary = agsl.spark.convert(spark, "alb", source, target, catalog="none")
        rows = summary["rows"]
        seconds = time.perf_counter() - started
        # The same call again in this session, into a fresh target: Spark's Python workers
        # are up now (they are reused), so this shows what their start cost the first call.
        shutil.rmtree(target)
        warm_started = time.perf_counter()
        agsl.spark.convert(spark, "alb", source, target, catalog="none")
        warm_s = time.perf_counter() - warm_started
    else:
        pattern, columns = json.loads(open(sys.argv[4]).read())
        ints = {"client_port", "target_port", "elb_status_code", "target_status_code",
                "matched_rule_priority"}
        longs = {"received_bytes", "sent_bytes"}
        doubles = {"request_processing_time", "target_processing_time",
                   "response_processing_time"}
        times = {"time", "request_creation_time"}
        text = spark.read.text(source + "/AWSLogs/*/elasticloadbalancing/*/*/*/*/*.log.gz")
        joined = "\u0001".join(f"${i + 1}" for i in range(len(columns)))
        fields = F.split(F.regexp_replace("value", pattern, joined), "\u0001")
        parsed = text.select(fields.alias("f"), F.input_file_name().alias("path")) \
                     .where(F.size("f") == len(columns))
        typed = []
        for i, name in enumerate(columns):
            value = F.when(F.col("f")[i] == "", None).otherwise(F.col("f")[i])
            if name in ints:
                value = value.cast("int")
            elif name in longs:
                value = value.cast("long")
            elif name in doubles:
                value = value.cast("double")
            elif name in times:
                value = F.to_timestamp(value)
            typed.append(value.alias(name))
        region = F.regexp_extract("path", r"elasticloadbalancing/([^/]+)/", 1)
        table = parsed.select(*typed, region.alias("region")) \
            .withColumn("year", F.date_format("time", "yyyy")) \
            .withColumn("month", F.date_format("time", "MM")) \
            .withColumn("day", F.date_format("time", "dd"))
        table.write.partitionBy("region", "year", "month", "day") \
            .option("compression", "zstd").mode("overwrite").parquet(target)
        rows = spark.read.parquet(target).count()
        seconds = time.perf_counter() - started

    def tree_peak_mb():
        """Sum of the peak RSS of this process and its descendants (the JVM, Python workers)."""
        children = {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(pid))
        total, todo = 0, [os.getpid()]
        while todo:
            pid = todo.pop()
            try:
                total += next(int(line.split()[1]) for line in open(f"/proc/{pid}/status")
                              if line.startswith("VmHWM:"))
            except (OSError, StopIteration):
                pass
            todo += children.get(pid, [])
        return total / 1024

    print(json.dumps({"seconds": seconds, "warm_s": warm_s, "session_s": session_s,
                      "rows": rows, "tree_rss_mb": tree_peak_mb()}))
''')


def spark_python(wheel):
    """The venv's python with pyspark 3.5 and the release wheel, installed on first use."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet", "pyspark>=3.5,<3.6",
                        "pandas>=2,<3", "pyarrow>=15"], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet", "--force-reinstall",
                    "--no-deps", str(wheel)], check=True)
    return python


def raw_regex(binary, data, directory):
    """The ALB raw table's regular expression and columns, from `agsl ddl`."""
    ddl = subprocess.run([str(binary), "ddl", "--service", "alb", "--source", str(data),
                          "--target", str(directory / "ddl-target")],
                         capture_output=True, text=True, check=True).stdout
    raw = ddl[ddl.index("alb_raw_logs"):]
    columns = [line.strip().split("`")[1] for line in raw[:raw.index(")\nPARTITIONED")].splitlines()[1:]]
    pattern = raw.split("'input.regex' = '", 1)[1].split("'\n", 1)[0].replace("\\\\", "\\")
    spec = directory / "alb-regex.json"
    spec.write_text(json.dumps([pattern, columns]))
    return spec


def run(binary, directory, runs, size, run_timed, generate):
    wheel = subprocess.run([str(ROOT / "scripts" / "wheel")], capture_output=True, text=True,
                           check=True).stdout.strip().splitlines()[-1]
    python = spark_python(wheel)
    data = generate("alb", size, directory)
    regex = raw_regex(binary, data, directory)
    script = directory / "spark_run.py"
    script.write_text(SPARK_RUN)
    target = directory / "out"
    times = {"cli": [], "spark": [], "seed": []}
    warm = []
    rss = {"cli": [], "spark": [], "seed": []}
    session, rows, bytes_in = [], {}, None
    for _ in range(runs):
        shutil.rmtree(target, ignore_errors=True)
        seconds, peak, stdout = run_timed([str(binary), "-q", "--json", "convert", "--service",
                                           "alb", "--source", str(data), "--target", str(target),
                                           "--catalog", "none"])
        summary = json.loads(stdout)
        times["cli"].append(seconds)
        rss["cli"].append(peak)
        rows["cli"], bytes_in = summary["rows"], summary["bytes_in"]
        for mode in ("spark", "seed"):
            shutil.rmtree(target, ignore_errors=True)
            _, peak, stdout = run_timed([str(python), str(script), mode, str(data), str(target),
                                         str(regex)])
            result = json.loads(stdout.strip().splitlines()[-1])
            times[mode].append(result["seconds"])
            if result["warm_s"] is not None:
                warm.append(result["warm_s"])
            rss[mode].append(max(peak, result["tree_rss_mb"]))
            session.append(result["session_s"])
            rows[mode] = result["rows"]
    shutil.rmtree(target, ignore_errors=True)
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {
        "size": size, "mb": bytes_in / 1e6, "rows": rows, "runs": runs,
        "seconds": medians, "rss": {k: statistics.median(v) for k, v in rss.items()},
        "session_s": statistics.median(session), "spark_warm": statistics.median(warm),
        "read_logs": read_logs_rows(binary, python, script, directory, runs, run_timed),
    }


#: The request latency of the read_logs rows from S3, as `scripts/bench --s3`'s default.
LATENCY_MS = 30


def read_logs_rows(binary, python, script, directory, runs, run_timed):
    """`read_logs(...).count()` of the `--s3` CloudTrail set from disk and from S3 through the
    latency proxy, `runs` Spark sessions each, interleaved: medians of the first call, of the
    calls after it, and of the sessions' peak RSS."""
    import bench_s3

    _, data = bench_s3.prepare("cloudtrail", directory, binary)
    objects = sum(1 for p in data.rglob("*") if p.is_file() and not p.name.startswith("."))
    mb = sum(p.stat().st_size for p in data.rglob("*") if p.is_file()) / 1e6
    with bench_s3.Harness(directory, LATENCY_MS) as harness:
        bucket = "b-cloudtrail"
        bench_s3.copy_in(data, harness.root, bucket)
        cases = [("disk", str(data), ""),
                 (f"S3 +{LATENCY_MS} ms", f"s3://{bucket}/", harness.endpoint)]
        measured = {label: [] for label, _, _ in cases}
        for _ in range(runs):
            for label, source, endpoint in cases:
                _, peak, stdout = run_timed([str(python), str(script), "read_logs", source, endpoint, "3"],
                                            env=harness.env)
                result = json.loads(stdout.strip().splitlines()[-1])
                measured[label].append((result["seconds"], result["warm_s"], max(peak, result["tree_rss_mb"]),
                                        result["rows"]))
    rows = []
    for label, _, _ in cases:
        first, again, peaks, counts = zip(*measured[label])
        if len(set(counts)) != 1:
            sys.exit(f"error: read_logs from {label} counted {sorted(set(counts))} rows in different runs")
        rows.append({"from": label, "objects": objects, "stored_mb": mb, "rows": counts[0],
                     "first_s": statistics.median(first), "again_s": statistics.median(again),
                     "rss": statistics.median(peaks)})
    return rows


def print_table(result):
    s, mb = result["seconds"], result["mb"]
    print(f"ALB {result['size']} ({mb:,.0f} MB uncompressed), Spark local[2], medians of {result['runs']}; "
          f"SparkSession start {result['session_s']:.1f} s (not in the times)")
    print()
    print("| run | wall time | MB/s | rows | peak RSS | against the CLI | agsl on Spark against it |")
    print("|---|---|---|---|---|---|---|")
    names = {"cli": "agsl convert (CLI)", "spark": "agsl.spark.convert", "seed": "seed-style Spark (regex per line)"}
    for mode in ("cli", "spark", "seed"):
        print(f"| {names[mode]} | {s[mode]:.2f} s | {mb / s[mode]:.1f} | {result['rows'][mode]:,} | "
              f"{result['rss'][mode]:.0f} MB | {s[mode] / s['cli']:.2f}x | {s[mode] / s['spark']:.2f}x |")
    warm = result["spark_warm"]
    print()
    print(f"agsl.spark.convert called again in the same session (Spark's Python workers already "
          f"up): {warm:.2f} s, {warm / s['cli']:.2f}x the CLI; the seed-style run is "
          f"{s['seed'] / warm:.2f}x that.")
    rows = result["read_logs"]
    disk = next(r for r in rows if r["from"] == "disk")
    print()
    print(f"`agsl.spark.read_logs(spark, \"cloudtrail\", ...).count()` of {disk['objects']:,} objects "
          f"({disk['stored_mb']:.0f} MB gzip), Spark local[2], medians of {result['runs']} sessions; "
          f"the first call of a session starts Spark's Python workers")
    print()
    print("| from | rows | first call | objects/s | again in the session | objects/s | peak RSS | against disk (again) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['from']} | {r['rows']:,} | {r['first_s']:.2f} s | {r['objects'] / r['first_s']:,.0f} | "
              f"{r['again_s']:.2f} s | {r['objects'] / r['again_s']:,.0f} | {r['rss']:.0f} MB | "
              f"{r['again_s'] / disk['again_s']:.2f}x |")
