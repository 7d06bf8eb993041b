//! Objects S3 keeps archived (moved to Glacier by a lifecycle rule, as log buckets often are):
//! a run fails on them naming the way out, or with `--skip-archived` converts the rest and
//! leaves them unrecorded, so that once restored they convert in the days it names.

use regex::Regex;

use crate::moto::Moto;
use crate::place::{Expected, Place, alb_objects, put_objects, read_table};
use crate::state::run_json;
use crate::{agsl, convert_args, stderr};

/// Moves `keys` of `bucket` to the GLACIER storage class, as a lifecycle rule does.
const ARCHIVE: &str = r#"
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
bucket = sys.argv[2]
for key in sys.argv[3:]:
    s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key},
                   StorageClass="GLACIER", MetadataDirective="COPY")
"#;

/// Restores archived `keys` of `bucket` for a day.
const RESTORE: &str = r#"
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
bucket = sys.argv[2]
for key in sys.argv[3:]:
    s3.restore_object(Bucket=bucket, Key=key, RestoreRequest={"Days": 1})
"#;

#[test]
fn archived_objects_fail_the_run_or_are_skipped_unrecorded_until_restored() {
    let moto = Moto::start();
    moto.create_bucket("logs");
    moto.create_bucket("lake");
    let source = Place::new("s3://logs/alb");
    let target = Place::new("s3://lake/alb_logs");
    // Old deliveries (archived by now), one large enough to be streamed, and recent ones
    // five days later.
    let (mut old, mut recent) = (Expected::new(), Expected::new());
    let small = alb_objects(0, 3, 200, 31);
    put_objects(&source, &small, &mut old);
    let mut large = alb_objects(12, 1, 30_000, 33);
    large[0].compressed = false;
    assert!(
        large[0].body.len() > 16 << 20,
        "streamed, not fetched whole"
    );
    put_objects(&source, &large, &mut old);
    put_objects(&source, &alb_objects(5 * 288, 2, 200, 32), &mut recent);
    let archived: Vec<String> = [&small[0], &small[1], &large[0]]
        .iter()
        .map(|object| format!("alb/{}", object.key))
        .collect();
    let mut archive_args = vec!["logs"];
    archive_args.extend(archived.iter().map(String::as_str));
    moto.boto3(ARCHIVE, &archive_args);

    let args = convert_args("alb", &source.url, &target.url, &[]);
    let refused = agsl(&args);
    assert!(!refused.status.success());
    let message = stderr(&refused);
    assert!(
        message.contains("is archived") && message.contains("--skip-archived"),
        "{message}"
    );

    let args = convert_args("alb", &source.url, &target.url, &["--skip-archived"]);
    let skipping = agsl(&[args.as_slice(), &["--json"]].concat());
    assert!(skipping.status.success(), "{}", stderr(&skipping));
    let summary: serde_json::Value =
        serde_json::from_slice(skipping.stdout.rsplit(|b| *b == b'\n').nth(1).unwrap()).unwrap();
    assert_eq!(summary["objects"], 3, "{summary}");
    assert_eq!(summary["skipped_objects"], 3, "{summary}");
    assert_eq!(
        summary["skipped_reasons"]["archived in S3, not restored"], 3,
        "{summary}"
    );
    let mut converted = recent.clone();
    for (key, lines) in &old {
        if !archived.contains(&format!("alb/{key}")) {
            converted.insert(key.clone(), *lines);
        }
    }
    read_table(&target).assert_exactly(&converted);

    // The warning names the days to convert again once the objects are restored.
    let warning = stderr(&skipping);
    let days = Regex::new(r"--since (\S+) --until (\S+)\)")
        .unwrap()
        .captures(&warning)
        .unwrap_or_else(|| panic!("no days in: {warning}"));
    let (since, until) = (days[1].to_owned(), days[2].to_owned());

    let mut restore_args = vec!["logs"];
    restore_args.extend(archived.iter().map(String::as_str));
    moto.boto3(RESTORE, &restore_args);
    // An incremental run lists only the days after the last run's newest: it finds nothing.
    let incremental = run_json(&convert_args("alb", &source.url, &target.url, &[]));
    assert_eq!(incremental["objects"], 0, "{incremental}");
    let named = run_json(&convert_args(
        "alb",
        &source.url,
        &target.url,
        &["--since", &since, "--until", &until],
    ));
    assert_eq!(named["objects"], 3, "{named}");
    let mut everything = recent;
    everything.extend(old);
    read_table(&target).assert_exactly(&everything);
}
