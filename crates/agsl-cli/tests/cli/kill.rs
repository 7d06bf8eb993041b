//! The kill test: the binary is killed at random moments (SIGKILL) and at every commit phase
//! (`AGSL_CRASH_AT` aborts at a named point), over and over while new objects keep arriving,
//! then run to completion. Every good line must then be in the table exactly once, every bad
//! line once in the rejects, nothing staged left behind, and the next run must convert only
//! objects added after it. `AGSL_KILL_ITERATIONS` (default 20) sets the number of kills,
//! `AGSL_KILL_SEED` the random moments.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::moto::Moto;
use crate::place::{Expected, Place, alb_objects, put_objects, read_table_and_rejects};
use crate::state::run_json;

/// Where a run can be cut short on purpose, besides random moments: after writing a batch,
/// before and after appending its commit, between moving two files, after a checkpoint.
const CRASH_POINTS: [&str; 5] = [
    "batch-written",
    "before-commit",
    "after-commit",
    "published-file",
    "after-checkpoint",
];

/// A small xorshift generator: reproducible kill moments from a seed.
struct Moments(u64);

impl Moments {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Kills happen at a random moment within the expected length of a run, learnt from the last
/// run that finished before its kill (so the test adapts to the machine and the store).
fn kill_and_rerun(source: &Place, target: &Place, rejects: Option<&Place>) {
    let iterations = setting("AGSL_KILL_ITERATIONS", 20);
    let seed = setting("AGSL_KILL_SEED", 0x5eed);
    let mut moments = Moments(seed | 1);
    let mut expected = Expected::new();
    put_objects(source, &alb_objects(0, 12, 2000, 11), &mut expected);
    let mut next_interval = 4;
    let mut interrupted = 0;
    let mut run_length_ms = 1000;
    let args = |extra: &[&str]| {
        let mut args = vec![
            "convert",
            "--service",
            "alb",
            "--source",
            &source.url,
            "--target",
            &target.url,
            "--commit-size",
            "150KB",
            "--quiet",
        ];
        if let Some(rejects) = rejects {
            args.extend(["--rejects", &rejects.url]);
        }
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    for iteration in 0..iterations {
        let mut command = Command::new(env!("CARGO_BIN_EXE_agsl"));
        command
            .args(args(&[]))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let status = if iteration % 3 == 2 {
            let point = CRASH_POINTS[(iteration / 3) as usize % CRASH_POINTS.len()];
            let nth = 1 + moments.next(3);
            command.env("AGSL_CRASH_AT", format!("{point}:{nth}"));
            command.status().unwrap()
        } else {
            let kill_at = Duration::from_millis(moments.next(run_length_ms.max(20)));
            let started = Instant::now();
            let mut child = command.spawn().unwrap();
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    run_length_ms = started.elapsed().as_millis() as u64;
                    break status;
                }
                if started.elapsed() >= kill_at {
                    let _ = child.kill();
                    break child.wait().unwrap();
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        };
        interrupted += u64::from(!status.success());
        // New objects keep arriving, so every run has work to be cut short in.
        let arriving = alb_objects(next_interval, 3, 2000, 100 + iteration);
        put_objects(source, &arriving, &mut expected);
        next_interval += 1;
    }
    eprintln!("{interrupted} of {iterations} runs were cut short (seed {seed})");
    assert!(
        interrupted * 2 >= iterations,
        "most runs must really be interrupted for the test to mean something"
    );

    let finish = run_json(&args(&[]).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(finish["commits"].as_u64().is_some());
    let table = read_table_and_rejects(target, rejects);
    table.assert_exactly(&expected);
    assert!(
        target.store.list("_agsl/staging").unwrap().is_empty(),
        "staged files are committed or cleaned up"
    );

    let converted = expected.len();
    put_objects(
        source,
        &alb_objects(next_interval, 3, 500, 999),
        &mut expected,
    );
    let newest = run_json(&args(&[]).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(newest["objects"], 3, "{newest}");
    assert_eq!(newest["skipped_reasons"]["already converted"], converted);
    read_table_and_rejects(target, rejects).assert_exactly(&expected);
}

#[test]
fn killed_runs_on_local_folders_convert_every_line_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    std::fs::create_dir_all(&source).unwrap();
    let source = Place::new(source.to_str().unwrap());
    let target = Place::new(dir.path().join("target").to_str().unwrap());
    kill_and_rerun(&source, &target, None);
}

/// On S3, the rejects go to a bucket of their own: their move there is part of each commit.
#[test]
fn killed_runs_on_s3_convert_every_line_exactly_once() {
    let moto = Moto::start();
    moto.create_bucket("kill");
    moto.create_bucket("kill-rejects");
    let source = Place::new("s3://kill/logs");
    let target = Place::new("s3://kill/lake/alb_logs");
    let rejects = Place::new("s3://kill-rejects/alb");
    kill_and_rerun(&source, &target, Some(&rejects));
}
