//! Against S3's wire protocol (moto): incremental conversion from and to `s3://`, listings
//! narrowed by date folders, and the target lock (held, stale, left by a dead process).

use std::time::Duration;

use agsl::state::TargetLock;
use serde_json::json;

use crate::moto::{FlakyProxy, Moto};
use crate::place::{Expected, Place, alb_objects, put_objects, read_table};
use crate::state::run_json;
use crate::{agsl, stderr};

fn convert_args<'a>(source: &'a Place, target: &'a Place, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "convert",
        "--service",
        "alb",
        "--source",
        &source.url,
        "--target",
        &target.url,
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn s3_to_s3_runs_are_incremental_and_windows_list_only_their_days() {
    let moto = Moto::start();
    moto.create_bucket("logs");
    moto.create_bucket("lake");
    let source = Place::new("s3://logs/prefix");
    let target = Place::new("s3://lake/aws_service_logs/alb_logs");
    let mut expected = Expected::new();
    put_objects(&source, &alb_objects(0, 5, 300, 21), &mut expected);
    // Three days later: keys under .../2024/03/10/ and .../2024/03/11/.
    let later = alb_objects(3 * 288, 4, 300, 22);
    put_objects(&source, &later, &mut expected);

    let window = run_json(&convert_args(
        &source,
        &target,
        &["--since", "2024-03-10", "--dry-run"],
    ));
    let planned: Vec<&str> = window["planned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["url"].as_str().unwrap())
        .collect();
    assert_eq!(planned.len(), later.len(), "{planned:?}");
    assert!(
        planned
            .iter()
            .all(|url| url.starts_with("s3://logs/prefix/AWSLogs/"))
    );

    let first = run_json(&convert_args(&source, &target, &[]));
    assert_eq!(first["objects"], 9);
    read_table(&target).assert_exactly(&expected);

    // New deliveries: the run lists only from two days before the newest key date it saw.
    put_objects(
        &source,
        &alb_objects(3 * 288 + 12, 2, 300, 23),
        &mut expected,
    );
    let second = run_json(&convert_args(&source, &target, &[]));
    assert_eq!(second["objects"], 2, "{second}");
    assert_eq!(second["skipped_objects"], later.len(), "{second}");
    read_table(&target).assert_exactly(&expected);
}

/// The URLs a `--dry-run --json` summary plans to convert.
fn planned_urls(summary: &serde_json::Value) -> std::collections::BTreeSet<String> {
    summary["planned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["url"].as_str().unwrap().to_owned())
        .collect()
}

/// An organization's layout (accounts, then regions, then dates), walked level by level with
/// each level's folders listed concurrently: a window lists exactly its days, in every account
/// and region.
#[test]
fn an_organization_layout_is_walked_concurrently_to_the_window_days() {
    let moto = Moto::start();
    moto.create_bucket("org");
    let source = Place::new("s3://org/o-a1b2c3d4e5");
    let mut wanted = std::collections::BTreeSet::new();
    let days = [alb_objects(0, 2, 20, 51), alb_objects(3 * 288, 2, 20, 52)];
    for account in ["111111111111", "222222222222", "333333333333"] {
        for region in ["us-east-1", "eu-west-1", "ap-south-1"] {
            for (day, objects) in days.iter().enumerate() {
                for object in objects {
                    let key = object
                        .key
                        .replace("123456789012", account)
                        .replace("us-east-1", region);
                    let bytes = agsl::sample::stored(object).unwrap();
                    source.store.put(&key, bytes).unwrap();
                    if day == 1 {
                        wanted.insert(format!("{}/{key}", source.url));
                    }
                }
            }
        }
    }
    let target = Place::new("s3://org/lake");
    let planned = run_json(&convert_args(
        &source,
        &target,
        &["--since", "2024-03-10", "--dry-run"],
    ));
    let listed = planned_urls(&planned);
    assert_eq!(listed, wanted);
    assert_eq!(listed.len(), 3 * 3 * 2);
}

/// VPC Flow Logs' Hive-compatible prefixes (`aws-account-id=…/aws-service=vpcflowlogs/
/// aws-region=…/year=…/month=…/day=…/hour=…/`) are dated by their folders too: a window plans
/// its days only, and reads no other day's objects.
#[test]
fn hive_style_date_folders_narrow_a_window_like_plain_ones() {
    use agsl_formats::Format;
    use agsl_formats::sample::{SamplePlan, objects};
    let moto = Moto::start();
    moto.create_bucket("hive");
    let source = Place::new("s3://hive/flows");
    let first = SamplePlan {
        objects: 4,
        lines_per_object: 20,
        ..SamplePlan::default()
    };
    let mut wanted = std::collections::BTreeSet::new();
    for (day, plan) in [0, 3].into_iter().map(|day| {
        let plan = SamplePlan {
            start_micros: first.start_micros + day * 86_400_000_000,
            seed: 40 + day as u64,
            ..first
        };
        (day, plan)
    }) {
        for object in objects(Format::VpcFlow, plan) {
            // `AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/<file>`, Hive-style, by hour.
            let parts: Vec<&str> = object.key.split('/').collect();
            let [_, account, _, region, year, month, day_folder, file] = parts[..] else {
                panic!("unexpected sample key {}", object.key);
            };
            let key = format!(
                "AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/\
                 year={year}/month={month}/day={day_folder}/hour=23/{file}"
            );
            let bytes = agsl::sample::stored(&object).unwrap();
            source.store.put(&key, bytes).unwrap();
            if day == 3 {
                wanted.insert(format!("{}/{key}", source.url));
            }
        }
    }
    let target = Place::new("s3://hive/lake");
    let args = [
        "convert",
        "--service",
        "vpc_flow",
        "--source",
        &source.url,
        "--target",
        &target.url,
        "--since",
        "2024-03-10",
    ];
    let planned = run_json(&[&args[..], &["--dry-run"]].concat());
    let listed = planned_urls(&planned);
    assert_eq!(listed, wanted);
    assert_eq!(listed.len(), 4);
    // Listed by their date folders, not whole and then filtered: one day folder.
    let verbose = agsl(&[&args[..], &["--dry-run", "-v"]].concat());
    assert!(
        stderr(&verbose).contains("listing the day folders of the window folders=1"),
        "{}",
        stderr(&verbose)
    );
    let converted = run_json(&args);
    assert_eq!(converted["objects"], 4, "{converted}");
}

#[test]
fn a_second_run_on_a_locked_target_fails_fast_and_stale_locks_are_taken_over() {
    let moto = Moto::start();
    moto.create_bucket("locks");
    let source = Place::new("s3://locks/logs");
    let target = Place::new("s3://locks/lake");
    let mut expected = Expected::new();
    put_objects(&source, &alb_objects(0, 2, 100, 31), &mut expected);

    let held = TargetLock::acquire(&target.store, "holding-run", Duration::from_secs(300)).unwrap();
    let started = std::time::Instant::now();
    let refused = agsl(&convert_args(&source, &target, &[]));
    assert_eq!(refused.status.code(), Some(1));
    let error = stderr(&refused);
    assert!(error.contains("is locked by run holding-run"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(30), "fails fast");
    assert!(
        read_table(&target).rows.is_empty(),
        "nothing converted meanwhile"
    );
    drop(held);
    assert!(
        !target.store.exists("_agsl/lock").unwrap(),
        "released on drop"
    );

    // A lock whose heartbeat stopped long ago (its host died) is taken over.
    let abandoned =
        json!({"run": "dead-host", "host": "elsewhere", "pid": 1, "started": 0, "heartbeat": 0});
    target
        .store
        .put("_agsl/lock", abandoned.to_string())
        .unwrap();
    let output = agsl(&convert_args(&source, &target, &["--lock-timeout", "60"]));
    assert!(output.status.success(), "{}", stderr(&output));
    read_table(&target).assert_exactly(&expected);

    // A fresh lock of a process on this host that no longer exists is taken over at once.
    let mut finished = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = finished.id();
    finished.wait().unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let orphan = json!({"run": "killed", "host": host.trim(), "pid": dead_pid, "started": now, "heartbeat": now});
    target.store.put("_agsl/lock", orphan.to_string()).unwrap();
    put_objects(&source, &alb_objects(2, 1, 100, 32), &mut expected);
    let output = agsl(&convert_args(&source, &target, &[]));
    assert!(output.status.success(), "{}", stderr(&output));
    read_table(&target).assert_exactly(&expected);

    // A lock record agsl did not write says nothing about its holder: never taken over.
    target.store.put("_agsl/lock", "not a lock record").unwrap();
    put_objects(&source, &alb_objects(3, 1, 100, 33), &mut Expected::new());
    let refused = agsl(&convert_args(&source, &target, &["--lock-timeout", "1"]));
    assert_eq!(refused.status.code(), Some(1));
    let error = stderr(&refused);
    assert!(
        error.contains("_agsl/lock") && error.contains("damaged"),
        "{error}"
    );
    assert_eq!(
        target.store.get("_agsl/lock").unwrap().as_ref(),
        b"not a lock record"
    );
}

#[test]
fn a_locked_local_target_is_refused_too() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    std::fs::create_dir_all(&source).unwrap();
    let source = Place::new(source.to_str().unwrap());
    let target = Place::new(dir.path().join("target").to_str().unwrap());
    let mut expected = Expected::new();
    put_objects(&source, &alb_objects(0, 1, 50, 41), &mut expected);
    let held =
        TargetLock::acquire(&target.store, "local-holder", Duration::from_secs(300)).unwrap();
    let refused = agsl(&convert_args(&source, &target, &[]));
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("locked by run local-holder"),
        "{}",
        stderr(&refused)
    );
    drop(held);
    let output = agsl(&convert_args(&source, &target, &[]));
    assert!(output.status.success(), "{}", stderr(&output));
    read_table(&target).assert_exactly(&expected);
}

#[test]
fn transient_s3_errors_are_retried() {
    let moto = Moto::start();
    moto.create_bucket("flaky");
    let source = Place::new("s3://flaky/logs");
    let target = Place::new("s3://flaky/lake");
    let mut expected = Expected::new();
    put_objects(&source, &alb_objects(0, 4, 200, 61), &mut expected);
    let proxy = FlakyProxy::start(&moto, 4);
    let output = agsl(&convert_args(
        &source,
        &target,
        &["--endpoint-url", &proxy.endpoint],
    ));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(proxy.injected(), 4, "the proxy answered 503 four times");
    read_table(&target).assert_exactly(&expected);
}

#[test]
fn a_permanent_failure_names_the_location_and_never_prints_credentials() {
    let moto = Moto::start();
    moto.create_bucket("real");
    let secret = "SECRETkeyThatMustNeverBePrinted0123456789";
    // SAFETY: one test per process; set before any thread reads the environment.
    unsafe { std::env::set_var("AWS_SECRET_ACCESS_KEY", secret) };
    let source = Place::new("s3://real/logs");
    put_objects(&source, &alb_objects(0, 1, 50, 71), &mut Expected::new());
    let missing = Place {
        url: "s3://no-such-bucket/lake".into(),
        store: source.store.clone(),
    };
    let output = agsl(&convert_args(&source, &missing, &["-vv"]));
    assert_eq!(output.status.code(), Some(1));
    let error = stderr(&output);
    let last = error.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{last}");
    assert!(last.contains("s3://no-such-bucket/lake"), "{last}");
    assert!(!error.contains(secret), "a credential was printed");
    assert!(!String::from_utf8_lossy(&output.stdout).contains(secret));
}

#[test]
fn flat_date_named_prefixes_are_listed_from_the_window_with_start_after() {
    use agsl_formats::Format;
    use agsl_formats::sample::{SamplePlan, objects};
    let moto = Moto::start();
    // S3 access logs as AWS names them under `logs/`, and under a target prefix that does not
    // end in `/` (`logs/access-logs-`), which stays in each name before its date; one
    // CloudFront distribution's logs, whose names begin with its id, after such a prefix too.
    for (bucket, format, prefix, head) in [
        ("flat", Format::S3Access, "", ""),
        ("prefixed", Format::S3Access, "access-logs-", "access-logs-"),
        ("cdn", Format::Cloudfront, "", "EMLARXS9EXAMPLE."),
        (
            "cdn-prefixed",
            Format::Cloudfront,
            "example.com-",
            "example.com-EMLARXS9EXAMPLE.",
        ),
    ] {
        moto.create_bucket(bucket);
        let source = Place::new(&format!("s3://{bucket}/src"));
        let early_plan = SamplePlan {
            objects: 3,
            lines_per_object: 50,
            ..SamplePlan::default()
        };
        let late_plan = SamplePlan {
            start_micros: early_plan.start_micros + 5 * 86_400_000_000,
            seed: 9,
            ..early_plan
        };
        let named = |object: agsl_formats::sample::SampleObject| {
            let file = object.key.rsplit('/').next().unwrap();
            let key = format!("logs/{prefix}{file}");
            agsl_formats::sample::SampleObject { key, ..object }
        };
        let late: Vec<_> = objects(format, late_plan).map(named).collect();
        for object in objects(format, early_plan)
            .map(named)
            .chain(late.iter().cloned())
        {
            source
                .store
                .put(&object.key, agsl::sample::stored(&object).unwrap())
                .unwrap();
        }

        // S3 itself skips the older keys: `start-after` on the wire, checked at the store level.
        let (folders, listed) = source
            .store
            .list_level_after("logs", Some(&format!("{head}2024-03-10")), None)
            .unwrap();
        assert!(folders.is_empty());
        let keys: Vec<&str> = listed.iter().map(|o| o.key.as_str()).collect();
        let late_keys: Vec<&str> = late.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, late_keys);

        let target = Place::new(&format!("s3://{bucket}/lake"));
        let args = [
            "convert",
            "--service",
            format.keyword(),
            "--source",
            &source.url,
            "--target",
            &target.url,
            "--since",
            "2024-03-12",
        ];
        let planned = run_json(&[&args[..], &["--dry-run"]].concat());
        assert_eq!(planned["objects"], late.len(), "{head}: {planned}");
        let verbose = agsl(&[&args[..], &["--dry-run", "-v"]].concat());
        assert!(
            stderr(&verbose).contains(&format!(
                "listing a date-named level with start-after prefix=\"logs\" after=\"{head}2024-03-11\""
            )),
            "{}",
            stderr(&verbose)
        );
        let converted = run_json(&args);
        assert_eq!(
            converted["rows"],
            late.iter().map(|o| o.facts.good_lines).sum::<u64>()
        );
    }
}

#[test]
fn a_read_failure_while_detecting_fails_the_run_and_the_next_run_converts_the_object() {
    let moto = Moto::start();
    moto.create_bucket("mixed");
    moto.create_bucket("lake");
    // Keys that name no service: `--service auto` reads each object's first line.
    let objects = alb_objects(0, 3, 200, 31);
    let source = Place::new("s3://mixed/exports");
    for (i, object) in objects.iter().enumerate() {
        let bytes = agsl::sample::stored(object).unwrap();
        source.store.put(&format!("export-{i}"), bytes).unwrap();
    }
    let target = Place::new("s3://lake/tables");
    let args = [
        "convert",
        "--service",
        "auto",
        "--source",
        &source.url,
        "--target",
        &target.url,
        "--json",
    ];

    // The second object's read fails (as a store failing after its retries would).
    let failed = std::process::Command::new(env!("CARGO_BIN_EXE_agsl"))
        .args(args)
        .env("AGSL_FAIL_AT", "detect-read:2")
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    let message = stderr(&failed);
    // Objects are recognised concurrently: the second read may be any object's.
    assert!(
        (0..objects.len()).any(|i| message.contains(&format!("export-{i}"))),
        "names the object: {message}"
    );
    assert!(message.contains("injected read failure"), "{message}");
    assert!(
        target
            .store
            .list("")
            .unwrap()
            .iter()
            .all(|o| o.key.starts_with("_agsl/")),
        "nothing but state is written by a run that failed while planning"
    );

    // Nothing was skipped or recorded for it: the next run converts every object.
    let summary = run_json(&args[..args.len() - 1]);
    assert_eq!(summary["objects"], 3, "{summary}");
    assert_eq!(summary["skipped_objects"], 0, "{summary}");
    let good: u64 = objects.iter().map(|o| o.facts.good_lines).sum();
    let bad: u64 = objects.iter().map(|o| o.facts.bad_lines).sum();
    assert_eq!(summary["rows"], good, "{summary}");
    assert_eq!(summary["rejects"], bad, "{summary}");
}

/// Objects fetched ahead of the workers: a failed GET (after the store's retries) fails the
/// run naming the object, commits nothing of its batch, and the next run converts it all.
#[test]
fn a_failed_fetch_fails_the_run_naming_the_object_and_the_next_run_converts_it() {
    let moto = Moto::start();
    moto.create_bucket("logs");
    moto.create_bucket("lake");
    let source = Place::new("s3://logs/prefix");
    let target = Place::new("s3://lake/alb");
    let mut expected = Expected::new();
    let objects = alb_objects(0, 6, 150, 41);
    put_objects(&source, &objects, &mut expected);
    let args = convert_args(&source, &target, &["--fetch-concurrency", "4"]);
    let failed = std::process::Command::new(env!("CARGO_BIN_EXE_agsl"))
        .args(&args)
        .env("AGSL_FAIL_AT", "fetch:3")
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    let message = stderr(&failed);
    let mut keys: Vec<&String> = expected.keys().collect();
    keys.sort();
    assert!(
        message.contains(keys[2].as_str()),
        "names the third object: {message}"
    );
    assert!(message.contains("injected read failure"), "{message}");
    assert!(
        read_table(&target).files.is_empty(),
        "nothing of the failed batch is published"
    );
    let summary = run_json(&args);
    assert_eq!(summary["objects"], 6, "{summary}");
    read_table(&target).assert_exactly(&expected);
}

/// An object larger than the stream threshold is streamed to the parser as it arrives, and
/// converted exactly.
#[test]
fn a_large_object_is_streamed_to_the_parser_and_converted_exactly() {
    let moto = Moto::start();
    moto.create_bucket("logs");
    moto.create_bucket("lake");
    let source = Place::new("s3://logs/prefix");
    let target = Place::new("s3://lake/alb");
    let mut expected = Expected::new();
    // Stored as plain text (gzip is recognised by its bytes, not the name), so the object is
    // large without a slow compression in the debug build.
    for object in alb_objects(0, 1, 40_000, 43) {
        let size = object.body.len() as u64;
        assert!(size > agsl::source::STREAM_THRESHOLD, "{size} bytes");
        source.store.put(&object.key, object.body.clone()).unwrap();
        expected.insert(
            object.key.clone(),
            (object.facts.good_lines, object.facts.bad_lines),
        );
    }
    let summary = run_json(&convert_args(&source, &target, &[]));
    assert_eq!(summary["objects"], 1, "{summary}");
    read_table(&target).assert_exactly(&expected);
}

/// Every object of `bucket` is encrypted with `kind` (and `key`); returns their names.
fn assert_encrypted(moto: &Moto, bucket: &str, kind: &str, key: Option<&str>) -> Vec<String> {
    let objects = moto.encryption(bucket);
    for (name, (encryption, key_id)) in &objects {
        assert_eq!(encryption.as_deref(), Some(kind), "s3://{bucket}/{name}");
        assert_eq!(key_id.as_deref(), key, "s3://{bucket}/{name}");
    }
    objects.into_keys().collect()
}

#[test]
fn every_object_written_to_s3_is_encrypted_as_asked() {
    let moto = Moto::start();
    for bucket in ["logs", "lake-kms", "rejects-kms", "lake-s3"] {
        moto.create_bucket(bucket);
    }
    let source = Place::new("s3://logs/prefix");
    put_objects(&source, &alb_objects(0, 4, 300, 41), &mut Expected::new());
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    // SSE-KMS with a key: table files, state, the local catalog and rejects elsewhere.
    let target = Place::new("s3://lake-kms/alb");
    let kms = run_json(&convert_args(
        &source,
        &target,
        &[
            "--rejects",
            "s3://rejects-kms/alb",
            "--sse",
            "aws:kms",
            "--sse-kms-key-id",
            key,
        ],
    ));
    assert!(kms["rejects"].as_u64().unwrap() > 0, "{kms}");
    let names = assert_encrypted(&moto, "lake-kms", "aws:kms", Some(key));
    for kind in [".parquet", "_agsl/log/", "_agsl/catalog.sqlite"] {
        assert!(
            names.iter().any(|n| n.contains(kind)),
            "no {kind} among {names:?}"
        );
    }
    let rejects = assert_encrypted(&moto, "rejects-kms", "aws:kms", Some(key));
    assert!(
        rejects.iter().any(|n| n.ends_with(".parquet")),
        "{rejects:?}"
    );

    // SSE-S3, from a job config.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agsl.toml");
    std::fs::write(
        &config,
        format!(
            "[alb]\nservice = \"alb\"\nsource = \"{}\"\ntarget = \"s3://lake-s3/alb\"\nsse = \"AES256\"\n",
            source.url
        ),
    )
    .unwrap();
    run_json(&["run", "--config", config.to_str().unwrap()]);
    let names = assert_encrypted(&moto, "lake-s3", "AES256", None);
    assert!(names.iter().any(|n| n.ends_with(".parquet")), "{names:?}");
}

#[test]
fn a_kms_key_without_kms_encryption_is_refused() {
    for args in [
        &["--sse-kms-key-id", "k"][..],
        &["--sse", "AES256", "--sse-kms-key-id", "k"][..],
        &["--sse", "aws:kmss"][..],
    ] {
        let mut all = vec![
            "convert",
            "--service",
            "alb",
            "--source",
            ".",
            "--target",
            "s3://b/t",
        ];
        all.extend_from_slice(args);
        let output = agsl(&all);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let message = stderr(&output);
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.contains("--sse"), "{message}");
    }
}

/// One bucket holding every log type agsl knows, in AWS's key layouts: `--service auto` sorts
/// it into one table per service, each with exactly the rows and rejects its objects hold
/// (CloudFront's flat-prefix objects are told apart by their heads, read from S3).
#[test]
fn auto_sorts_a_bucket_holding_every_log_type() {
    use agsl_formats::Format;
    use agsl_formats::sample::{SamplePlan, objects};

    let moto = Moto::start();
    moto.create_bucket("everything");
    moto.create_bucket("lake");
    let source = Place::new("s3://everything/logs");
    let target = Place::new("s3://lake/tables");
    let mut expected = std::collections::BTreeMap::new();
    for format in Format::ALL {
        let plan = SamplePlan {
            objects: 2,
            lines_per_object: 60,
            bad_line_every: Some(23),
            ..SamplePlan::default()
        };
        let (mut good, mut bad) = (0, 0);
        for object in objects(format, plan) {
            let bytes = agsl::sample::stored(&object).unwrap();
            source.store.put(&object.key, bytes).unwrap();
            good += object.facts.good_lines;
            bad += object.facts.bad_lines;
        }
        expected.insert(format.keyword().to_owned(), (good, bad));
    }
    let summary = run_json(&[
        "convert",
        "--service",
        "auto",
        "--source",
        &source.url,
        "--target",
        &target.url,
    ]);
    assert_eq!(summary["skipped_objects"], 0, "{summary}");
    let found: std::collections::BTreeMap<String, (u64, u64)> = summary["services"]
        .as_array()
        .expect("one summary per service")
        .iter()
        .map(|s| {
            (
                s["service"].as_str().unwrap().to_owned(),
                (s["rows"].as_u64().unwrap(), s["rejects"].as_u64().unwrap()),
            )
        })
        .collect();
    assert_eq!(found, expected);
}

/// Keys as S3 holds them: a prefix with `%`, `#`, `~`, `[` or a space is read under its own
/// key, never a percent-encoded other one. The objects are put by boto3, so agsl's own way of
/// naming keys cannot hide a mismatch from the test.
#[test]
fn keys_with_characters_paths_would_encode_are_read_as_listed() {
    const PUT: &str = r#"
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
s3.create_bucket(Bucket="odd")
for body, key in zip(sys.argv[2::2], sys.argv[3::2]):
    with open(body, "rb") as data:
        s3.put_object(Bucket="odd", Key=key, Body=data.read())
"#;
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let prefixes = ["100%/", "a#b/", "~old/", "[x] y/"];
    // One delivery of its own under each prefix (the same one under all would be copies).
    let objects = alb_objects(0, prefixes.len(), 300, 31);
    let mut keys = Vec::new();
    let mut args = Vec::new();
    for (i, (prefix, object)) in prefixes.iter().zip(&objects).enumerate() {
        let body = dir.path().join(format!("body{i}"));
        std::fs::write(&body, agsl::sample::stored(object).unwrap()).unwrap();
        keys.push(format!("{prefix}{}", object.key));
        args.push(body.to_str().unwrap().to_owned());
        args.push(keys[i].clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    moto.boto3(PUT, &args);
    let target = dir.path().join("alb");
    let summary = run_json(&[
        "convert",
        "--service",
        "alb",
        "--source",
        "s3://odd",
        "--target",
        target.to_str().unwrap(),
    ]);
    assert_eq!(summary["objects"], keys.len(), "{summary}");
    assert_eq!(
        summary["rows"],
        objects.iter().map(|o| o.facts.good_lines).sum::<u64>(),
        "{summary}"
    );
    let expected: std::collections::BTreeSet<String> =
        keys.iter().map(|k| format!("s3://odd/{k}")).collect();
    assert_eq!(crate::table_sources(&target), expected);
}
