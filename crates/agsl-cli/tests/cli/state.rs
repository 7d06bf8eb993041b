//! Incremental runs, backfill windows, reprocessing, dry runs and job config files, on local
//! folders (the same code paths serve S3; see `s3.rs` and `kill.rs`).

use std::path::Path;

use agsl_formats::sample::SampleObject;
use serde_json::Value;

use crate::place::{Expected, Place, alb_objects, put_objects, read_table};
use crate::{agsl, stderr};

/// Runs `agsl <args> --json` and returns the summary (the last JSON line of stdout).
pub fn run_json(args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let output = agsl(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    serde_json::from_str(stdout.lines().last().expect("a JSON line")).unwrap()
}

/// The arguments of `agsl convert --service alb` from `source` into `target`, then `extra`.
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

fn convert_json(source: &Place, target: &Place, extra: &[&str]) -> Value {
    run_json(&convert_args(source, target, extra))
}

fn places(dir: &Path) -> (Place, Place) {
    let source = dir.join("source");
    std::fs::create_dir_all(&source).unwrap();
    (
        Place::new(source.to_str().unwrap()),
        Place::new(dir.join("target").to_str().unwrap()),
    )
}

/// Good lines of `objects` whose partition is on `day` (`day=08`).
fn good_lines_on(objects: &[SampleObject], day: &str) -> u64 {
    objects
        .iter()
        .flat_map(|o| &o.facts.rows_per_partition)
        .filter(|(partition, _)| partition.ends_with(day))
        .map(|(_, n)| n)
        .sum()
}

#[test]
fn incremental_runs_convert_only_new_objects() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = places(dir.path());
    let mut expected = Expected::new();
    put_objects(&source, &alb_objects(0, 6, 400, 1), &mut expected);

    let first = convert_json(&source, &target, &[]);
    assert_eq!(first["objects"], 6);
    read_table(&target).assert_exactly(&expected);

    put_objects(&source, &alb_objects(6, 3, 400, 2), &mut expected);
    let second = convert_json(&source, &target, &[]);
    assert_eq!(second["objects"], 3, "{second}");
    assert_eq!(
        second["skipped_reasons"]["already converted"], 6,
        "{second}"
    );
    read_table(&target).assert_exactly(&expected);

    let idle = convert_json(&source, &target, &[]);
    assert_eq!(idle["objects"], 0);
    assert_eq!(idle["rows"], 0);
    assert_eq!(idle["commits"], 0);
    assert_eq!(idle["skipped_reasons"]["already converted"], 9);
    read_table(&target).assert_exactly(&expected);
}

#[test]
fn a_damaged_checkpoint_is_passed_over_and_written_again_and_every_line_stays_once() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = places(dir.path());
    let mut expected = Expected::new();
    put_objects(&source, &alb_objects(0, 20, 50, 1), &mut expected);
    // One commit per object: the checkpoint is written at commit 16.
    let first = convert_json(&source, &target, &["--commit-size", "1"]);
    assert_eq!(first["objects"], 20);
    let checkpoints = dir.path().join("target/_agsl/checkpoint");
    let damaged = checkpoints.join("00000000000000000016.json.zst");
    assert!(damaged.exists());
    std::fs::write(&damaged, b"damaged").unwrap();
    // `verify` names it; the rest of the state still adds up.
    let verify = |expect_clean: bool| {
        let output = agsl(&[
            "verify",
            "--source",
            &source.url,
            "--target",
            &target.url,
            "--json",
        ]);
        assert_eq!(output.status.success(), expect_clean, "{}", stderr(&output));
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        report["discrepancies"].as_array().unwrap().clone()
    };
    let found = verify(false);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["kind"], "checkpoint_damaged");
    assert!(
        found[0]["key"]
            .as_str()
            .unwrap()
            .ends_with("00000000000000000016.json.zst"),
        "{found:?}"
    );

    put_objects(&source, &alb_objects(20, 2, 50, 2), &mut expected);
    let output = agsl(&convert_args(
        &source,
        &target,
        &["--commit-size", "1", "--json"],
    ));
    assert!(output.status.success(), "{}", stderr(&output));
    let second: Value = serde_json::from_str(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(second["objects"], 2, "{second}");
    assert_eq!(
        second["skipped_reasons"]["already converted"], 20,
        "{second}"
    );
    assert!(
        stderr(&output).contains("passing over a damaged checkpoint"),
        "{}",
        stderr(&output)
    );
    read_table(&target).assert_exactly(&expected);
    // A sound checkpoint now stands after the damaged one, and reads take it.
    let mut names: Vec<String> = std::fs::read_dir(&checkpoints)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    let status = run_json(&["status", "--target", &target.url]);
    let newest: u64 = names[1].split('.').next().unwrap().parse().unwrap();
    assert!(newest > 16, "{names:?}");
    assert_eq!(status["state"]["checkpoint"], newest, "{status}");
    assert_eq!(verify(true), [] as [Value; 0]);
}

#[test]
fn incremental_runs_list_from_shortly_before_the_last_listing() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = places(dir.path());
    let mut expected = Expected::new();
    put_objects(&source, &alb_objects(0, 3, 100, 51), &mut expected);
    // Keys dated 2024-03-10 and later.
    put_objects(&source, &alb_objects(3 * 288, 3, 100, 52), &mut expected);
    assert_eq!(convert_json(&source, &target, &[])["objects"], 6);

    // A late object dated 2024-03-07 is more than two days before the last listing: an
    // incremental run does not list it, `--full-listing` does.
    let mut late = Expected::new();
    put_objects(&source, &alb_objects(1, 1, 100, 53), &mut late);
    let incremental = convert_json(&source, &target, &[]);
    assert_eq!(incremental["objects"], 0, "{incremental}");
    // Only the recent days were listed: the three objects of 2024-03-10, not those of the 7th.
    assert_eq!(incremental["skipped_objects"], 3, "{incremental}");
    let full = convert_json(&source, &target, &["--full-listing"]);
    assert_eq!(full["objects"], 1, "{full}");
    expected.extend(late);
    read_table(&target).assert_exactly(&expected);
}

#[test]
fn a_backfill_window_and_the_runs_after_it_add_up_to_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = places(dir.path());
    let mut expected = Expected::new();
    // 23:50 on 2024-03-07 to 00:10 on 2024-03-08: keys and records on both days.
    let objects = alb_objects(4, 12, 300, 3);
    put_objects(&source, &objects, &mut expected);
    assert!(good_lines_on(&objects, "day=07") > 0 && good_lines_on(&objects, "day=08") > 0);

    let march_8 = convert_json(&source, &target, &["--since", "2024-03-08"]);
    let table = read_table(&target);
    assert!(
        table.partitions.iter().all(|p| p.ends_with("day=08")),
        "{:?}",
        table.partitions
    );
    assert_eq!(table.total_rows(), good_lines_on(&objects, "day=08"));
    assert_eq!(march_8["rows"], table.total_rows());
    assert!(march_8["excluded"].as_u64().unwrap() > 0, "{march_8}");

    // Objects keyed on the 8th hold records of the 7th: only those are added now.
    let march_7 = convert_json(
        &source,
        &target,
        &["--since", "2024-03-07", "--until", "2024-03-08T00:00:00Z"],
    );
    assert_eq!(
        march_7["rows"],
        good_lines_on(&objects, "day=07"),
        "{march_7}"
    );
    let table = read_table(&target);
    assert_eq!(table.duplicate_rows, 0);
    assert_eq!(
        table.total_rows(),
        objects.iter().map(|o| o.facts.good_lines).sum::<u64>()
    );

    // An unbounded run finds nothing left but nothing is lost either.
    let rest = convert_json(&source, &target, &[]);
    assert_eq!(rest["rows"], 0, "{rest}");
    read_table(&target).assert_exactly(&expected);
}

#[test]
fn reprocessing_replaces_a_window_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = places(dir.path());
    let mut expected = Expected::new();
    let objects = alb_objects(4, 10, 300, 4);
    put_objects(&source, &objects, &mut expected);
    assert!(good_lines_on(&objects, "day=07") > 0 && good_lines_on(&objects, "day=08") > 0);
    convert_json(&source, &target, &[]);
    let before = read_table(&target);
    before.assert_exactly(&expected);

    let window = convert_json(&source, &target, &["--reprocess", "--since", "2024-03-08"]);
    assert!(window["replaced_files"].as_u64().unwrap() > 0, "{window}");
    assert_eq!(
        window["rows"],
        good_lines_on(&objects, "day=08"),
        "{window}"
    );
    let after = read_table(&target);
    after.assert_exactly(&expected);
    assert_eq!(after.partitions, before.partitions);
    assert_ne!(
        after.files, before.files,
        "the window's files were replaced"
    );

    let everything = convert_json(&source, &target, &["--reprocess"]);
    assert_eq!(everything["objects"], 10);
    assert_eq!(
        everything["rejects"],
        expected.values().map(|(_, bad)| bad).sum::<u64>()
    );
    read_table(&target).assert_exactly(&expected);
}

#[test]
fn an_object_rewritten_after_its_conversion_is_reported_until_reprocessed() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = places(dir.path());
    let mut expected = Expected::new();
    put_objects(&source, &alb_objects(0, 3, 200, 61), &mut expected);
    convert_json(&source, &target, &[]);
    read_table(&target).assert_exactly(&expected);

    // The same key written again, longer: a log copied while it was still being written.
    let longer = alb_objects(0, 1, 300, 61).remove(0);
    assert!(expected.contains_key(&longer.key), "the same key again");
    source
        .store
        .put(&longer.key, agsl::sample::stored(&longer).unwrap())
        .unwrap();
    let before = read_table(&target);
    for run in 0..2 {
        let plain = convert_json(&source, &target, &[]);
        assert_eq!(plain["objects"], 0, "{plain}");
        assert_eq!(
            plain["skipped_reasons"]["changed since converted"], 1,
            "run {run}: {plain}"
        );
        assert_eq!(plain["skipped_reasons"]["already converted"], 2, "{plain}");
        let after = read_table(&target);
        assert_eq!(
            after.rows, before.rows,
            "nothing written over the earlier rows"
        );
        assert_eq!(after.rejects, before.rejects);
    }

    let facts = &longer.facts;
    expected.insert(longer.key.clone(), (facts.good_lines, facts.bad_lines));
    let reprocessed = convert_json(&source, &target, &["--reprocess"]);
    assert_eq!(reprocessed["objects"], 3, "{reprocessed}");
    read_table(&target).assert_exactly(&expected);
    let idle = convert_json(&source, &target, &[]);
    assert_eq!(idle["skipped_reasons"]["already converted"], 3, "{idle}");
    assert!(
        idle["skipped_reasons"]["changed since converted"].is_null(),
        "{idle}"
    );
}

#[test]
fn a_rewritten_object_converted_for_part_of_its_time_is_kept_whole_until_reprocessed() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = places(dir.path());
    let mut expected = Expected::new();
    put_objects(&source, &alb_objects(4, 4, 200, 71), &mut expected);
    convert_json(&source, &target, &["--until", "2024-03-08"]);
    let longer = alb_objects(4, 1, 300, 71).remove(0);
    assert!(expected.contains_key(&longer.key), "the same key again");
    source
        .store
        .put(&longer.key, agsl::sample::stored(&longer).unwrap())
        .unwrap();
    let earlier = read_table(&target).rows.get(&longer.key).copied();

    // Neither the rest of its time nor a reprocessing of only that rest touches it: either
    // would leave rows of two contents side by side, or take back rows it does not replace.
    for extra in [&[][..], &["--reprocess", "--since", "2024-03-08"][..]] {
        let run = convert_json(&source, &target, extra);
        assert_eq!(
            run["skipped_reasons"]["changed since converted"], 1,
            "{extra:?}: {run}"
        );
        let table = read_table(&target);
        assert_eq!(table.rows.get(&longer.key).copied(), earlier, "{extra:?}");
        assert_eq!(table.duplicate_rows, 0);
    }

    let facts = &longer.facts;
    expected.insert(longer.key.clone(), (facts.good_lines, facts.bad_lines));
    convert_json(&source, &target, &["--reprocess"]);
    read_table(&target).assert_exactly(&expected);
}

#[test]
fn dry_run_lists_what_would_be_converted_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = places(dir.path());
    let mut expected = Expected::new();
    put_objects(&source, &alb_objects(0, 4, 100, 5), &mut expected);

    let plan = convert_json(&source, &target, &["--dry-run"]);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["objects"], 4);
    let planned = plan["planned"].as_array().unwrap();
    assert_eq!(planned.len(), 4);
    for (entry, key) in planned.iter().zip(expected.keys()) {
        assert!(
            entry["url"].as_str().unwrap().ends_with(key.as_str()),
            "{entry}"
        );
        assert!(entry["size"].as_u64().unwrap() > 0);
    }
    assert!(
        target.store.list("").unwrap().is_empty(),
        "a dry run writes nothing"
    );

    let output = agsl(&[
        "convert",
        "--service",
        "alb",
        "--source",
        &source.url,
        "--target",
        &target.url,
        "--dry-run",
    ]);
    let listing = String::from_utf8(output.stdout.clone()).unwrap();
    assert_eq!(listing.lines().count(), 4, "{listing}");
    assert!(stderr(&output).contains("dry run: would convert 4 objects"));

    convert_json(&source, &target, &[]);
    let nothing = convert_json(&source, &target, &["--dry-run"]);
    assert_eq!(nothing["objects"], 0);
    assert_eq!(nothing["skipped_reasons"]["already converted"], 4);
}

#[test]
fn a_config_file_drives_several_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let (first_source, first_target) = places(&dir.path().join("first"));
    let (second_source, second_target) = places(&dir.path().join("second"));
    let (mut first, mut second) = (Expected::new(), Expected::new());
    put_objects(&first_source, &alb_objects(0, 3, 100, 6), &mut first);
    put_objects(&second_source, &alb_objects(0, 5, 100, 7), &mut second);
    let config = dir.path().join("agsl.toml");
    std::fs::write(
        &config,
        format!(
            "[defaults]\nservice = \"alb\"\ntarget_file_size = \"64MiB\"\n\n\
             [first]\nsource = \"{}\"\ntarget = \"{}\"\n\n\
             [second]\nsource = \"{}\"\ntarget = \"{}\"\nsince = \"2024-03-01\"\n",
            first_source.url, first_target.url, second_source.url, second_target.url
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();

    let output = agsl(&["run", "--config", config, "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let summaries: Vec<Value> = String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(summaries.len(), 2);
    assert_eq!(summaries[0]["job"], "first");
    assert_eq!(summaries[0]["objects"], 3);
    assert_eq!(summaries[1]["job"], "second");
    assert_eq!(summaries[1]["objects"], 5);
    assert!(stderr(&output).contains("job first: alb: 3 objects"));
    read_table(&first_target).assert_exactly(&first);
    read_table(&second_target).assert_exactly(&second);

    let named = run_json(&["run", "--config", config, "second"]);
    assert_eq!(named["job"], "second");
    assert_eq!(named["objects"], 0);

    // Status and verify take the same jobs: one object each, every job clean.
    let output = agsl(&["status", "--config", config, "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let statuses: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(statuses.len(), 2);
    assert_eq!(statuses[1]["job"], "second");
    assert_eq!(statuses[1]["tables"][0]["objects"], 5);
    assert_eq!(statuses[1]["runs_recent"], 2, "the run and the no-op run");
    assert_eq!(statuses[1]["tables"][0]["lag"]["pending_objects"], 0);
    let output = agsl(&["verify", "--config", config, "--deep"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("job second: verify clean: 5 of 5 source objects"));

    let unknown = agsl(&["run", "--config", config, "third"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("no job named `third`"),
        "{}",
        stderr(&unknown)
    );

    let typo = dir.path().join("typo.toml");
    std::fs::write(
        &typo,
        "[defaults]\nservice = \"alb\"\n\n[job]\nsource = \"/logs\"\ntarget = \"/lake\"\nzstd_levle = 3\n",
    )
    .unwrap();
    let output = agsl(&["run", "--config", typo.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let error = stderr(&output);
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(
        error.contains("unknown field `zstd_levle`") && error.contains("line 7"),
        "{error}"
    );
}

#[test]
fn the_example_config_in_the_repository_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../agsl.example.toml");
    let jobs = agsl::config::load(&path, &[]).unwrap();
    assert!(jobs.len() >= 2);
    let job = |name: &str| &jobs.iter().find(|j| j.name == name).unwrap().job;
    assert_eq!(
        job("alb").rejects,
        Some(agsl::Location::parse("s3://my-quarantine/agsl/alb").unwrap())
    );
    assert_eq!(
        job("cloudtrail_2026").partitioning,
        agsl::PartitionLayout::Account
    );
}
