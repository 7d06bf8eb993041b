"""`scripts/bench --s3`: conversion from S3 through real request latency, against disk.

moto answers one request at a time, so it cannot show concurrency. This runs s3s-fs (a
concurrent S3-compatible server from crates.io, installed into target/tools on first use)
on 127.0.0.1, behind a proxy that delays every request by --latency-ms (30): the `agsl`
crate's example `latency_proxy` (Rust, threads; the default) or, with --s3-proxy python,
scripts/latency_proxy.py, which does the same on asyncio at twice the CPU. Sets generated
once (cached in --dir) and copied into the server's folder:
  cloudtrail   3,000 CloudTrail objects of 20 records (a few KB each, gzip)
  s3_access    3,000 S3 server access log objects of 50 lines (plain text)
  alb          300 MB of ALB logs in objects of about 5 MB uncompressed (gzip)
  alb_one      the same 300 MB as one object (47 MB gzip), streamed while parsed
               (only with --s3-sets naming it)
  cloudfront_auto  1,000 legacy CloudFront objects in their flat prefix, converted with
               --service auto, which reads each object's head to recognise it (legacy and v2
               logging name objects alike) (only with --s3-sets naming it)
  state        a target's state, not a conversion: 4,500 CloudTrail objects converted once on
               disk, one per commit, which leaves 886 commit records after the last checkpoint
               (the 3,615th commit); copied into the server, and read by `agsl status` from
               disk and from S3 (only with --s3-sets naming it)
Each set is converted from disk and from S3 through the proxy into a fresh local target
(--runs times, the cases of a set interleaved so that both see the same machine; medians):
objects/s, MB/s of uncompressed input and peak RSS. A row with --fetch-concurrency 2 (one
run) shows the old behaviour: one blocking GET per worker.
Keys stay short: s3s-fs names its metadata files after the base64 of the key.

The server and the proxy run on the same cores as agsl, which real S3 does not: each row also
reports agsl's CPU seconds (user + system) and the CPU seconds the server and the proxy spent
during the run, so a gap between S3 and disk can be told apart from the harness's own work.
Objects are copied into the server's folder with their ETag recorded beside them, as a PUT
would leave them; without it s3s-fs reads and hashes the whole object (MD5) at every GET.
"""

import base64
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "target" / "tools"
S3S = TOOLS / "bin" / "s3s-fs"
SETS = {
    # name: (service, generate arguments, objects kept)
    "cloudtrail": ("cloudtrail", ["--lines-per-object", "20", "--size", "200MB"], 3000),
    "s3_access": ("s3_access", ["--lines-per-object", "50", "--size", "90MB"], 3000),
    "alb": ("alb", ["--lines-per-object", "8000", "--size", "300MB"], None),
    "alb_one": ("alb", ["--lines-per-object", "500000", "--size", "300MB"], None),
    # Legacy CloudFront in its flat prefix, converted with `--service auto`: v2 logging names
    # objects alike, so every object's head is read to recognise it before it is converted.
    "cloudfront_auto": ("cloudfront", ["--lines-per-object", "100", "--size", "60MB"], 1000),
    # The objects of the `state` set's target, one commit each.
    "state": ("cloudtrail", ["--lines-per-object", "20", "--size", "200MB"], 4500),
}
# Sets converted with another service than the one generated.
CONVERT_AS = {"cloudfront_auto": "auto"}
# Sets whose target's state is read back (`agsl status`) instead of converting them.
STATE_SETS = {"state"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port):
    deadline = time.time() + 30
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    sys.exit(f"error: nothing listens on 127.0.0.1:{port}")


def s3s_fs():
    if not S3S.exists():
        subprocess.run(
            ["cargo", "install", "s3s-fs", "--version", "^0.14", "--features", "binary",
             "--root", str(TOOLS)],
            check=True,
        )
    return S3S


def cpu_seconds(pid):
    """User + system CPU seconds of process `pid` (all its threads) so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def copy_in(data, server_root, bucket):
    """Copies a set's objects into `bucket` of the server's folder, each with the internal
    record a PUT would have written beside it (its ETag, the MD5 of its bytes): s3s-fs serves
    a GET of an object without one by first reading and hashing the whole object, CPU that S3
    does not spend on the client's cores."""
    encode = lambda text: base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    shutil.rmtree(server_root / bucket, ignore_errors=True)
    shutil.copytree(data, server_root / bucket, ignore=shutil.ignore_patterns(".*"))
    for info in server_root.glob(f".bucket-{encode(bucket)}.object-*.internal.json"):
        info.unlink()
    unrecorded = 0
    for path in (server_root / bucket).rglob("*"):
        if path.is_file():
            key = path.relative_to(server_root / bucket).as_posix()
            e_tag = hashlib.md5(path.read_bytes()).hexdigest()
            info = server_root / f".bucket-{encode(bucket)}.object-{encode(key)}.internal.json"
            try:
                info.write_text(json.dumps({"e_tag": e_tag}))
            except OSError:
                # A name over the file system's limit: s3s-fs hashes this object at each GET.
                unrecorded += 1
    if unrecorded:
        print(f"warning: {bucket}: {unrecorded} objects' keys are too long to record their ETag",
              file=sys.stderr)


def prepare(name, directory, binary):
    service, arguments, keep = SETS[name]
    data = directory / f"s3-{name}"
    marker = data / ".complete"
    if not marker.exists():
        shutil.rmtree(data, ignore_errors=True)
        subprocess.run([str(binary), "-q", "generate", "--service", service, "--target", str(data)] + arguments,
                       check=True)
        objects = sorted(p for p in data.rglob("*") if p.is_file())
        # s3s-fs names a metadata file after the base64 of each key: shorten the ALB load
        # balancer's name so every key stays well under its limit.
        for path in objects:
            if "my-loadbalancer." in path.name:
                path.rename(path.with_name(path.name.replace("my-loadbalancer.50dc6c495c0c9188", "lb.1")))
        objects = sorted(p for p in data.rglob("*") if p.is_file())
        if keep is not None:
            if len(objects) < keep:
                sys.exit(f"error: {name}: generated {len(objects)} objects, fewer than {keep}")
            for extra in objects[keep:]:
                extra.unlink()
        marker.write_text("")
    return service, data


def convert(binary, service, source, target, extra, env, server_root=None, harness=()):
    """One timed `agsl convert`; `--target-url URL` in `extra` converts into that S3 target
    (its bucket folder under `server_root` is emptied first) instead of `target`. Returns the
    wall seconds, peak RSS (MB), agsl's CPU seconds, the CPU seconds the `harness` processes
    (pids) spent meanwhile, and the run's summary."""
    extra = list(extra)
    if "--target-url" in extra:
        at = extra.index("--target-url")
        target = extra[at + 1]
        del extra[at:at + 2]
        bucket = target.removeprefix("s3://").split("/", 1)[0]
        shutil.rmtree(server_root / bucket, ignore_errors=True)
        (server_root / bucket).mkdir()
    else:
        shutil.rmtree(target, ignore_errors=True)
    *measured, summary = timed_run(
        [str(binary), "-q", "--json", "convert", "--service", service, "--source", source,
         "--target", str(target), "--catalog", "none"] + extra, env, harness, f"convert from {source}")
    return (*measured, json.loads(summary))


def timed_run(command, env, harness, what):
    """Runs `command` under GNU time: its wall seconds, peak RSS (MB), CPU seconds, the CPU
    seconds the `harness` processes (pids) spent meanwhile, and its standard output."""
    timed = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", "/tmp/agsl-bench-s3-time"]
    harness_before = sum(cpu_seconds(pid) for pid in harness)
    started = time.perf_counter()
    result = subprocess.run(timed + command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    seconds = time.perf_counter() - started
    harness_cpu = sum(cpu_seconds(pid) for pid in harness) - harness_before
    if result.returncode != 0:
        sys.exit(f"error: {what} failed:\n{result.stderr}")
    _, user, system, rss_kb = Path("/tmp/agsl-bench-s3-time").read_text().split()[-4:]
    return seconds, int(rss_kb) / 1024, float(user) + float(system), harness_cpu, result.stdout


def state_target(binary, directory, name):
    """The target of a `STATE_SETS` set: its objects converted on disk one per commit, once
    (cached in `directory`), so that many commit records follow the last checkpoint."""
    service, data = prepare(name, directory, binary)
    target = directory / f"s3-{name}-target"
    marker = directory / f".s3-{name}-target-complete"
    if not marker.exists():
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run([str(binary), "-q", "convert", "--service", service, "--source", str(data),
                        "--target", str(target), "--catalog", "none", "--commit-size", "1"], check=True)
        marker.write_text("")
    return target


def records_after_checkpoint(target):
    """How many commit records a read of `target`'s state takes after its last checkpoint."""
    sequence = lambda path: int(path.name.split(".")[0])
    # Compressed (`.json.zst`) since 2026-12-06; plain JSON before.
    checkpoints = [sequence(p) for p in (target / "_agsl" / "checkpoint").glob("*.json*")]
    last = max(checkpoints, default=-1)
    return sum(1 for p in (target / "_agsl" / "log").glob("*.json") if sequence(p) > last)


def status(binary, target, extra, env, harness=()):
    """One timed `agsl status` of `target`: wall seconds, peak RSS (MB), agsl's CPU seconds and
    the CPU seconds the `harness` processes spent meanwhile."""
    *measured, _ = timed_run([str(binary), "-q", "status", "--target", str(target)] + extra, env, harness,
                             f"status of {target}")
    return tuple(measured)


def read_state(binary, directory, runs, latency_ms, name, server_root, proxied, env, harness):
    """The `state` set: `agsl status` of one target from disk and from S3, interleaved."""
    target = state_target(binary, directory, name)
    bucket = f"b-{name}"
    copy_in(target, server_root, bucket)
    records = records_after_checkpoint(target)
    cases = [
        ("disk", target, []),
        ("S3 +%d ms" % latency_ms, f"s3://{bucket}/", ["--endpoint-url", proxied]),
    ]
    measured = {label: [] for label, _, _ in cases}
    for _ in range(runs):
        for label, where, extra in cases:
            measured[label].append(status(binary, where, extra, env, harness))
    results = []
    for label, _, _ in cases:
        timings, peaks, cpus, harness_cpus = zip(*measured[label])
        results.append({
            "set": name, "from": label, "records": records, "seconds": statistics.median(timings),
            "rss": statistics.median(peaks), "cpu": statistics.median(cpus),
            "harness_cpu": statistics.median(harness_cpus),
        })
        print(f"{name:10} {label:22} {records} records after the checkpoint: "
              f"{results[-1]['seconds']:.2f} s {results[-1]['rss']:6.0f} MB", file=sys.stderr)
    return results


def proxy_command(proxy_kind, listen, upstream, latency_ms):
    """The latency proxy's command line: the Rust example (built first) or the Python one."""
    if proxy_kind == "python":
        return [sys.executable, str(ROOT / "scripts" / "latency_proxy.py"), str(listen), str(upstream),
                str(latency_ms)]
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "-p", "agsl", "--example",
                    "latency_proxy"], cwd=ROOT, check=True)
    return [str(ROOT / "target" / "release" / "examples" / "latency_proxy"), str(listen), str(upstream),
            str(latency_ms)]


class Harness:
    """s3s-fs serving `root` behind the latency proxy, for as long as the `with` block runs:
    `endpoint` is the proxy's URL, `env` the environment an S3 client needs for it, `pids` the
    server's and the proxy's processes (whose CPU is the harness's, not agsl's)."""

    def __init__(self, directory, latency_ms, proxy_kind="rust"):
        self.root = directory / "s3s-root"
        self.latency_ms, self.proxy_kind = latency_ms, proxy_kind

    def __enter__(self):
        self.root.mkdir(parents=True, exist_ok=True)
        server_port, proxy_port = free_port(), free_port()
        self.server = subprocess.Popen(
            [str(s3s_fs()), "--host", "127.0.0.1", "--port", str(server_port), "--access-key", "bench",
             "--secret-key", "benchsecret", str(self.root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.proxy = subprocess.Popen(proxy_command(self.proxy_kind, proxy_port, server_port, self.latency_ms))
        try:
            wait_for(server_port)
            wait_for(proxy_port)
        except BaseException:
            self.__exit__()
            raise
        self.endpoint = f"http://127.0.0.1:{proxy_port}"
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="benchsecret",
                        AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
        self.env.pop("AWS_PROFILE", None)
        self.pids = (self.server.pid, self.proxy.pid)
        return self

    def __exit__(self, *_):
        self.proxy.kill()
        self.server.kill()


def run(binary, directory, runs, latency_ms, names, to_s3=False, proxy_kind="rust"):
    results = []
    with Harness(directory, latency_ms, proxy_kind) as harness:
        server_root, proxied, env = harness.root, harness.endpoint, harness.env
        for name in names:
            if name in STATE_SETS:
                results += read_state(binary, directory, runs, latency_ms, name, server_root, proxied,
                                      env, harness.pids)
                continue
            service, data = prepare(name, directory, binary)
            service = CONVERT_AS.get(name, service)
            # Short: s3s-fs's file names hold the base64 of the bucket and of the key.
            bucket = f"b-{name.replace('_', '-')}"
            # s3s-fs serves a folder per bucket and a file per key: the objects are copied in
            # (its PUT refuses large bodies), which is what an upload would leave there.
            copy_in(data, server_root, bucket)
            target = directory / "s3-out"
            cases = [
                ("disk", str(data), []),
                ("S3 +%d ms" % latency_ms, f"s3://{bucket}/", ["--endpoint-url", proxied]),
                ("S3 +%d ms, fetch 2" % latency_ms, f"s3://{bucket}/",
                 ["--endpoint-url", proxied, "--fetch-concurrency", "2"]),
            ]
            if to_s3:
                # From disk into an S3 target: staging uploads, commits and publishing (a copy
                # and a delete per file) through the same latency.
                (server_root / "bench-target").mkdir(exist_ok=True)
                cases.append(("disk to S3 +%d ms" % latency_ms, str(data),
                              ["--endpoint-url", proxied, "--target-url", "s3://bench-target/t"]))
            measured = {label: [] for label, _, _ in cases}
            for attempt in range(runs):
                for label, source, extra in cases:
                    # The old behaviour is slow and only a reference: one run.
                    if "fetch 2" in label and attempt > 0:
                        continue
                    measured[label].append(convert(binary, service, source, target, extra, env,
                                                   server_root, harness=harness.pids))
            for label, _, _ in cases:
                timings, peaks, cpus, harness_cpus, summaries = zip(*measured[label])
                summary = summaries[-1]
                seconds = statistics.median(timings)
                results.append({
                    "set": name, "from": label, "objects": summary["objects"],
                    "mb": summary["bytes_in"] / 1e6, "stored_mb": summary["source_bytes"] / 1e6,
                    "seconds": seconds, "objects_per_s": summary["objects"] / seconds,
                    "mb_per_s": summary["bytes_in"] / 1e6 / seconds, "rss": statistics.median(peaks),
                    "rows": summary["rows"], "files": summary["files"], "commits": summary["commits"],
                    "cpu": statistics.median(cpus), "harness_cpu": statistics.median(harness_cpus),
                })
                print(f"{name:10} {label:22} {results[-1]['objects_per_s']:8.0f} objects/s "
                      f"{results[-1]['mb_per_s']:7.1f} MB/s {results[-1]['rss']:6.0f} MB "
                      f"cpu {results[-1]['cpu']:.2f} s, server+proxy {results[-1]['harness_cpu']:.2f} s",
                      file=sys.stderr)
            shutil.rmtree(target, ignore_errors=True)
    return results


def print_table(results, runs, latency_ms, proxy_kind="rust"):
    states = [r for r in results if r["set"] in STATE_SETS]
    results = [r for r in results if r["set"] not in STATE_SETS]
    if states:
        print_state_table(states, runs, latency_ms)
    if not results:
        return
    print(f"\n### From S3 through {latency_ms} ms of latency ({proxy_kind} proxy), against disk "
          f"(medians of {runs}, interleaved)\n")
    print("| set | from | objects | MB in (stored) | files (commits) | seconds | objects/s | MB/s | peak RSS "
          "| agsl CPU s | server + proxy CPU s | vs disk |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    disk = {r["set"]: r["seconds"] for r in results if r["from"] == "disk"}
    for r in results:
        ratio = r["seconds"] / disk[r["set"]]
        print(f"| {r['set']} | {r['from']} | {r['objects']:,} | {r['mb']:.0f} ({r['stored_mb']:.0f}) | "
              f"{r['files']:,} ({r['commits']}) | {r['seconds']:.2f} | {r['objects_per_s']:,.0f} | {r['mb_per_s']:.1f} | {r['rss']:.0f} MB | "
              f"{r['cpu']:.2f} | {r['harness_cpu']:.2f} | {ratio:.2f}x |")


def print_state_table(results, runs, latency_ms):
    print(f"\n### A target's state read by `agsl status`, from S3 through {latency_ms} ms of latency "
          f"against disk (medians of {runs}, interleaved)\n")
    print("| from | records after the checkpoint | seconds | one at a time would wait | peak RSS "
          "| agsl CPU s | server + proxy CPU s | vs disk |")
    print("|---|---|---|---|---|---|---|---|")
    disk = {r["set"]: r["seconds"] for r in results if r["from"] == "disk"}
    for r in results:
        waits = "" if r["from"] == "disk" else f"{r['records'] * latency_ms / 1000:.1f} s"
        print(f"| {r['from']} | {r['records']:,} | {r['seconds']:.2f} | {waits} | {r['rss']:.0f} MB | "
              f"{r['cpu']:.2f} | {r['harness_cpu']:.2f} | {r['seconds'] / disk[r['set']]:.2f}x |")
