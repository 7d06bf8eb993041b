"""The AWS Glue job script `agsl glue-job deploy` uploads: runs the jobs of an agsl config
file with Spark, through the agsl wheel that `--additional-python-modules` installed.

Arguments (set by the deploy command as the job's default arguments, overridable per run):
  --agsl-config s3://bucket/prefix/NAME.toml   the config file
  --agsl-jobs   a,b                            the jobs to run (default: all)
"""

import json
import sys
import tempfile
from urllib.parse import urlparse


def argument(name, default=None):
    flag = "--" + name
    for index, value in enumerate(sys.argv):
        if value == flag and index + 1 < len(sys.argv):
            return sys.argv[index + 1]
        if value.startswith(flag + "="):
            return value[len(flag) + 1:]
    return default


def main():
    import boto3
    from pyspark.sql import SparkSession

    import agsl.spark

    config_url = argument("agsl-config")
    if not config_url:
        raise SystemExit("--agsl-config s3://... is required")
    jobs = [j for j in (argument("agsl-jobs", "") or "").split(",") if j]
    location = urlparse(config_url)
    body = boto3.client("s3").get_object(Bucket=location.netloc, Key=location.path.lstrip("/"))
    with tempfile.NamedTemporaryFile("wb", suffix=".toml", delete=False) as config:
        config.write(body["Body"].read())
    spark = SparkSession.builder.getOrCreate()
    summaries = agsl.spark.run(spark, config.name, jobs or None)
    for name, summary in summaries.items():
        print(json.dumps({"job": name, **summary}))


if __name__ == "__main__":
    main()
