//! Failures talking to AWS speak one clear line: what was tried and what to set, naming the
//! bucket, key and action; the AWS SDK's own warnings only with `-v`.

use std::process::{Command, Output};

use crate::moto::{Moto, RefusingS3};
use crate::stderr;

/// `agsl <args>` with no AWS settings at all but `extra` (no credentials, no profile, no
/// instance metadata).
fn agsl_bare(args: &[&str], extra: &[(&str, &str)]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let target = home.path().join("target");
    let args = args.iter().map(|a| match *a {
        "@TARGET@" => target.to_str().unwrap(),
        other => other,
    });
    let mut command = Command::new(env!("CARGO_BIN_EXE_agsl"));
    command
        .args(args)
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var("PATH").unwrap());
    command.env("AWS_EC2_METADATA_DISABLED", "true");
    for (name, value) in extra {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn one_error_line(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(1), "{}", stderr(output));
    let message = stderr(output);
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 1, "one line, not: {message}");
    assert!(lines[0].starts_with("error: "), "{message}");
    lines[0].to_owned()
}

const CONVERT: [&str; 7] = [
    "convert",
    "--service",
    "alb",
    "--source",
    "s3://logs/prefix",
    "--target",
    "@TARGET@",
];

#[test]
fn no_credentials_is_one_line_naming_what_was_tried() {
    let output = agsl_bare(
        &CONVERT,
        &[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ],
    );
    let line = one_error_line(&output);
    for tried in [
        "environment",
        "profile",
        "SSO",
        "web identity",
        "instance role",
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
    ] {
        assert!(line.contains(tried), "{tried}: {line}");
    }
    assert!(!line.contains("ServiceError") && line.len() < 600, "{line}");
    // Where an instance metadata service refuses (as outside EC2 with IMDSv2 hop limits).
    let imds = RefusingS3::start("403 Forbidden", "Forbidden", "Forbidden");
    let output = agsl_bare(
        &CONVERT,
        &[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_EC2_METADATA_DISABLED", "false"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds.endpoint),
        ],
    );
    assert_eq!(one_error_line(&output), line);
    // With -v the SDK explains itself.
    let mut verbose = CONVERT.to_vec();
    verbose.push("-v");
    let output = agsl_bare(
        &verbose,
        &[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ],
    );
    assert!(stderr(&output).lines().count() > 1, "{}", stderr(&output));
}

const KEYS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", "secret"),
    ("AWS_REGION", "us-east-1"),
];

fn against(s3: &RefusingS3) -> Output {
    let mut env = KEYS.to_vec();
    env.push(("AWS_ENDPOINT_URL", &s3.endpoint));
    agsl_bare(&CONVERT, &env)
}

#[test]
fn access_denied_names_bucket_key_and_action() {
    let s3 = RefusingS3::start("403 Forbidden", "AccessDenied", "Access Denied");
    let line = one_error_line(&against(&s3));
    assert!(line.contains("access denied"), "{line}");
    assert!(line.contains("s3://logs/prefix"), "{line}");
    assert!(line.contains("s3:ListBucket"), "{line}");
    assert!(!line.contains("secret"), "{line}");
}

#[test]
fn keys_in_the_environment_sign_before_a_profile_and_a_profile_signs_without_them() {
    // With keys in the environment agsl asks no other source (the standard chain's order); the
    // rest of the chain still serves when they are absent.
    let s3 = RefusingS3::start("403 Forbidden", "AccessDenied", "Access Denied");
    let profiles = tempfile::tempdir().unwrap();
    let credentials = profiles.path().join("credentials");
    std::fs::write(
        &credentials,
        "[default]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = profile-secret\n",
    )
    .unwrap();
    let from_profile = [
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", s3.endpoint.as_str()),
    ];
    assert!(one_error_line(&agsl_bare(&CONVERT, &from_profile)).contains("access denied"));
    let keys = s3.signing_keys();
    assert!(
        !keys.is_empty() && keys.iter().all(|k| k == "AKIAPROFILE"),
        "{keys:?}"
    );
    let both: Vec<(&str, &str)> = from_profile.iter().chain(&KEYS[..2]).copied().collect();
    assert!(one_error_line(&agsl_bare(&CONVERT, &both)).contains("access denied"));
    let keys = s3.signing_keys();
    assert!(
        !keys.is_empty() && keys.iter().all(|k| k == "AKIAEXAMPLE"),
        "{keys:?}"
    );
}

#[test]
fn an_expired_token_says_so() {
    let s3 = RefusingS3::start(
        "400 Bad Request",
        "ExpiredToken",
        "The provided token has expired.",
    );
    let line = one_error_line(&against(&s3));
    assert!(line.contains("expired"), "{line}");
    assert!(line.contains("refresh"), "{line}");
}

#[test]
fn a_missing_bucket_says_so() {
    let moto = Moto::start();
    moto.create_bucket("other");
    let mut env = KEYS.to_vec();
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    env.push(("AWS_ENDPOINT_URL", &endpoint));
    let line = one_error_line(&agsl_bare(&CONVERT, &env));
    assert!(line.contains("bucket `logs` does not exist"), "{line}");
}

#[test]
fn an_unknown_region_is_a_usage_error() {
    let mut args = CONVERT.to_vec();
    args.extend(["--region", "moon-1"]);
    let output = agsl_bare(&args, &KEYS);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("unknown region `moon-1`"), "{message}");
}
