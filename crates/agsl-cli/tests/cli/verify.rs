//! `agsl verify`: a converted target is clean; each way of breaking it on purpose (a file
//! deleted, a stray file, a source object deleted or added, a catalog partition removed or
//! added, a row count edited, the target moved) is named, exactly, on its own line, with exit code 1.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{agsl, convert, files_below, sample, stderr};

/// A converted ALB target: `(dir, source, target)`.
fn converted() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("alb"));
    sample(&source);
    let output = convert("alb", &source, &target, &["-q"]);
    assert!(output.status.success(), "{}", stderr(&output));
    (dir, source, target)
}

/// `agsl verify` on the pair: (exit code, stdout lines).
fn verify(source: &Path, target: &Path, extra: &[&str]) -> (i32, Vec<String>) {
    let output = agsl_verify(source, target, extra);
    let lines = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    (output.status.code().unwrap(), lines)
}

/// Runs `agsl verify` on the pair with `extra` arguments.
fn agsl_verify(source: &Path, target: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "verify",
        "--source",
        source.to_str().unwrap(),
        "--target",
        target.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    agsl(&args)
}

/// `agsl verify --json` on the pair: the report.
fn verify_json(source: &Path, target: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let output = agsl_verify(source, target, &args);
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The committed table files, sorted, relative to the target.
fn table_files(target: &Path) -> Vec<String> {
    files_below(target)
        .into_iter()
        .map(|p| {
            p.strip_prefix(target)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|p| p.starts_with("region="))
        .collect()
}

fn local_catalog(target: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(target.join("_agsl/catalog.sqlite")).unwrap()
}

#[test]
fn a_converted_target_is_clean_shallow_and_deep() {
    let (_dir, source, target) = converted();
    assert_eq!(verify(&source, &target, &[]), (0, vec![]));
    assert_eq!(verify(&source, &target, &["--deep"]), (0, vec![]));
    let report = verify_json(&source, &target, &["--deep"]);
    assert_eq!(report["clean"], true);
    assert_eq!(report["objects_listed"], 12);
    assert_eq!(report["objects_converted"], 12);
    // Rows and rejects read back from every file, tables and rejects alike.
    assert_eq!(report["rows_read"], 12 * 300);
}

#[test]
fn a_deleted_file_is_named() {
    let (_dir, source, target) = converted();
    let file = table_files(&target).remove(0);
    std::fs::remove_file(target.join(&file)).unwrap();
    let (code, lines) = verify(&source, &target, &[]);
    assert_eq!(code, 1);
    assert_eq!(lines, [format!("file missing: {file}")]);
}

#[test]
fn a_stray_file_in_a_partition_is_named() {
    let (_dir, source, target) = converted();
    let file = table_files(&target).remove(0);
    let stray = Path::new(&file).with_file_name("part-copied-by-hand.parquet");
    std::fs::copy(target.join(&file), target.join(&stray)).unwrap();
    let size = std::fs::metadata(target.join(&stray)).unwrap().len();
    let (code, lines) = verify(&source, &target, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [format!(
            "stray file: {} ({size} bytes) is in no commit",
            stray.display()
        )]
    );
}

#[test]
fn a_deleted_and_a_new_source_object_are_named() {
    let (_dir, source, target) = converted();
    let objects = files_below(&source);
    std::fs::remove_file(&objects[0]).unwrap();
    let (code, lines) = verify(&source, &target, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [format!(
            "source object gone: file://{} is converted but no longer in the source",
            objects[0].display()
        )]
    );
    // An object delivered after the run: listed, not converted, and why.
    let late = objects[1].with_file_name(
        objects[1]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace("_2024", "_2099"),
    );
    std::fs::copy(&objects[1], &late).unwrap();
    let (_, lines) = verify(&source, &target, &[]);
    assert!(
        lines.contains(&format!(
            "not converted: file://{} (delivered after the last run; the next run converts it)",
            late.display()
        )),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 2, "{lines:?}");
}

#[test]
fn a_removed_and_an_invented_catalog_partition_are_named() {
    let (_dir, source, target) = converted();
    let catalog = local_catalog(&target);
    let values: String = catalog
        .query_row(
            "SELECT partition_values FROM partitions WHERE table_name = 'alb' LIMIT 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    catalog
        .execute(
            "DELETE FROM partitions WHERE table_name = 'alb' AND partition_values = ?1",
            [&values],
        )
        .unwrap();
    let values: Vec<String> = serde_json::from_str(&values).unwrap();
    let partition = format!(
        "region={}/year={}/month={}/day={}",
        values[0], values[1], values[2], values[3]
    );
    let (code, lines) = verify(&source, &target, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [format!(
            "partition not registered: aws_service_logs.alb {partition}"
        )]
    );
    catalog
        .execute(
            "INSERT INTO partitions VALUES ('aws_service_logs', 'alb', ?1, 'file:///nowhere/', 0)",
            [r#"["eu-west-9","2031","01","01"]"#],
        )
        .unwrap();
    let (_, lines) = verify(&source, &target, &[]);
    assert!(
        lines.contains(
            &"partition without data: aws_service_logs.alb region=eu-west-9/year=2031/month=01/day=01 is registered but no committed file is in it"
                .to_owned()
        ),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 2);
}

#[test]
fn a_source_object_rewritten_with_another_size_is_named() {
    let (_dir, source, target) = converted();
    let objects = files_below(&source);
    let before = std::fs::metadata(&objects[0]).unwrap().len();
    std::fs::copy(&objects[1], &objects[0]).unwrap();
    let after = std::fs::metadata(&objects[0]).unwrap().len();
    assert_ne!(before, after);
    let (code, lines) = verify(&source, &target, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [format!(
            "source object changed: file://{} was {before} bytes when converted, is {after} now",
            objects[0].display()
        )]
    );
    // Reported once, as that discrepancy: not also as an object listed but not converted, nor
    // with the warning a conversion run gives.
    let report = verify_json(&source, &target, &[]);
    assert_eq!(report["skipped"], serde_json::json!({}), "{report}");
    assert_eq!(report["discrepancies"].as_array().unwrap().len(), 1);
    let warning = "source object changed since it was converted";
    let checked = agsl_verify(&source, &target, &[]);
    assert!(!stderr(&checked).contains(warning), "{}", stderr(&checked));
    let run = convert("alb", &source, &target, &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(stderr(&run).matches(warning).count(), 1, "{}", stderr(&run));
}

#[test]
fn a_file_of_another_size_is_named() {
    let (_dir, source, target) = converted();
    let file = table_files(&target).remove(0);
    let path = target.join(&file);
    let committed = std::fs::metadata(&path).unwrap().len();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"appended by hand");
    std::fs::write(&path, &bytes).unwrap();
    let (code, lines) = verify(&source, &target, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [format!(
            "file size differs: {file} is {} bytes, committed as {committed}",
            bytes.len()
        )]
    );
}

#[test]
fn rows_of_an_object_the_ledger_does_not_count_as_converted_are_named() {
    let (_dir, source, target) = converted();
    // Take one object out of the first commit's coverage: its rows stay in the files.
    let record = target.join(format!("_agsl/log/{:020}.json", 1));
    let mut commit: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    let url = commit["covered"][0]["url"].as_str().unwrap().to_owned();
    commit["covered"].as_array_mut().unwrap().remove(0);
    std::fs::write(&record, serde_json::to_vec(&commit).unwrap()).unwrap();
    // Files in path order, as verify goes through the ledger.
    let holding: std::collections::BTreeSet<String> = commit["added"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["sources"].get(&url).is_some())
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect();
    assert!(!holding.is_empty());
    let (code, lines) = verify(&source, &target, &[]);
    assert_eq!(code, 1);
    let mut expected = vec![format!(
        "not converted: {url} (the last run ({}) did not convert it)",
        last_run_label(&target)
    )];
    expected.extend(holding.iter().map(|path| {
        format!(
            "rows of an unconverted object: {path} holds rows of {url}, which the ledger does not count as converted"
        )
    }));
    assert_eq!(lines, expected);
}

/// `<run id>, <outcome>` of the target's last run, as verify names it.
fn last_run_label(target: &Path) -> String {
    let output = agsl(&["status", "--json", "--target", target.to_str().unwrap()]);
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    let run = &status["last_run"];
    format!(
        "{}, {}",
        run["run"].as_str().unwrap(),
        run["outcome"].as_str().unwrap()
    )
}

#[test]
fn a_missing_catalog_and_a_missing_table_are_named() {
    let (_dir, source, target) = converted();
    local_catalog(&target)
        .execute(
            "DELETE FROM tables WHERE database = 'aws_service_logs_raw' AND name = 'alb_raw_logs'",
            [],
        )
        .unwrap();
    let (code, lines) = verify(&source, &target, &[]);
    assert_eq!(code, 1);
    assert_eq!(lines, ["table missing: aws_service_logs_raw.alb_raw_logs"]);
    std::fs::remove_file(target.join("_agsl/catalog.sqlite")).unwrap();
    let (code, lines) = verify(&source, &target, &[]);
    assert_eq!(code, 1);
    assert_eq!(lines, ["catalog missing: the target has no local catalog"]);
    // Without a catalog to keep, there is nothing to miss.
    assert_eq!(
        verify(&source, &target, &["--catalog", "none"]),
        (0, vec![])
    );
}

#[test]
fn deep_reads_a_file_overwritten_with_the_same_size_as_unreadable() {
    let (_dir, source, target) = converted();
    let file = table_files(&target).remove(0);
    let path = target.join(&file);
    let size = std::fs::metadata(&path).unwrap().len() as usize;
    std::fs::write(&path, vec![b'x'; size]).unwrap();
    // Same size: only reading it shows the damage.
    assert_eq!(verify(&source, &target, &[]), (0, vec![]));
    let (code, lines) = verify(&source, &target, &["--deep"]);
    assert_eq!(code, 1);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!(
            "row count differs: {file} has 0 rows, the ledger "
        )) && lines[0].ends_with("(the file cannot be read: no Parquet footer)"),
        "{lines:?}"
    );
}

/// Rewrites the first commit record's entry for `path` with `edit`.
fn edit_commit(target: &Path, path: &str, mut edit: impl FnMut(&mut Value)) {
    let record = target.join(format!("_agsl/log/{:020}.json", 1));
    let mut commit: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    let file = commit["added"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["path"] == path)
        .expect("the file is in the first commit");
    edit(file);
    std::fs::write(&record, serde_json::to_vec(&commit).unwrap()).unwrap();
}

#[test]
fn an_edited_row_count_is_named() {
    let (_dir, source, target) = converted();
    let file = table_files(&target).remove(0);
    let mut rows = 0;
    edit_commit(&target, &file, |entry| {
        rows = entry["rows"].as_u64().unwrap();
        entry["rows"] = (rows + 1).into();
    });
    let (code, lines) = verify(&source, &target, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [format!(
            "row count differs: {file} has {rows} rows, the ledger {} (its rows per source object add up to that)",
            rows + 1
        )]
    );
}

#[test]
fn deep_finds_rows_the_ledger_counts_for_another_object() {
    let (_dir, source, target) = converted();
    let file = table_files(&target).remove(0);
    // Move one row from one object to another in the ledger: totals still agree, so only
    // reading the file shows it.
    let mut moved = (String::new(), 0, String::new(), 0);
    edit_commit(&target, &file, |entry| {
        let sources = entry["sources"].as_object_mut().unwrap();
        let urls: Vec<String> = sources.keys().cloned().collect();
        assert!(urls.len() >= 2, "the file holds rows of several objects");
        let (from, to) = (&urls[0], &urls[1]);
        let (a, b) = (
            sources[from].as_u64().unwrap(),
            sources[to].as_u64().unwrap(),
        );
        sources[from] = (a - 1).into();
        sources[to] = (b + 1).into();
        moved = (from.clone(), a, to.clone(), b);
    });
    assert_eq!(verify(&source, &target, &[]), (0, vec![]));
    let (code, lines) = verify(&source, &target, &["--deep"]);
    assert_eq!(code, 1);
    let (from, a, _, _) = moved;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("row count differs: {file} has ")),
        "{lines:?}"
    );
    assert!(
        lines[0].ends_with(&format!("({from}: {a} rows, the ledger {})", a - 1)),
        "{lines:?}"
    );
}

/// On S3 with the Glue catalog (both on moto): clean, then a deleted file and a deleted Glue
/// partition are named.
#[test]
fn an_s3_target_with_a_glue_catalog_is_verified() {
    use crate::moto::Moto;
    use crate::place::{Expected, Place, alb_objects, put_objects};

    let moto = Moto::start();
    moto.create_bucket("logs");
    moto.create_bucket("lake");
    let source = Place::new("s3://logs/prefix");
    let target = Place::new("s3://lake/alb");
    let mut expected = Expected::new();
    put_objects(&source, &alb_objects(0, 8, 200, 5), &mut expected);
    let output = agsl(&[
        "convert",
        "--service",
        "alb",
        "--source",
        &source.url,
        "--target",
        &target.url,
        "--catalog",
        "glue",
        "-q",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "verify",
            "--source",
            &source.url,
            "--target",
            &target.url,
            "--catalog",
            "glue",
        ];
        args.extend_from_slice(extra);
        let output = agsl(&args);
        let lines: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        (output.status.code().unwrap(), lines)
    };
    assert_eq!(verify(&["--deep"]), (0, vec![]));

    let status = agsl(&[
        "status",
        "--json",
        "--target",
        &target.url,
        "--source",
        &source.url,
    ]);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    let good: u64 = expected.values().map(|(good, _)| good).sum();
    assert_eq!(status["tables"][0]["rows"], good, "{status}");
    assert_eq!(status["tables"][0]["lag"]["pending_objects"], 0, "{status}");

    let file = target
        .store
        .list("")
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .find(|k| k.starts_with("region="))
        .unwrap();
    target.store.delete(&file).unwrap();
    const DELETE_PARTITION: &str = r#"
import sys, boto3
glue = boto3.client("glue", endpoint_url=sys.argv[1], region_name="us-east-1")
page = glue.get_partitions(DatabaseName="aws_service_logs", TableName="alb")
values = page["Partitions"][0]["Values"]
glue.delete_partition(DatabaseName="aws_service_logs", TableName="alb", PartitionValues=values)
print("region=%s/year=%s/month=%s/day=%s" % tuple(values), end="")
"#;
    let partition = String::from_utf8(moto.boto3(DELETE_PARTITION, &[])).unwrap();
    let (code, lines) = verify(&[]);
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [
            format!("file missing: {file}"),
            format!("partition not registered: aws_service_logs.alb {partition}"),
        ]
    );
}

/// A run killed after its commit record but before its files are moved: verify names the
/// unpublished commit, status counts the killed run, and the next run leaves it all clean.
#[test]
fn a_killed_run_is_named_until_the_next_run_finishes_it() {
    use crate::place::{Expected, Place, alb_objects, put_objects};

    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("alb"));
    let place = Place::new(source.to_str().unwrap());
    let mut expected = Expected::new();
    put_objects(&place, &alb_objects(0, 3, 100, 1), &mut expected);
    // Commits 1 (the objects) and 2 (how far the listing got).
    let output = convert("alb", &source, &target, &["-q"]);
    assert!(output.status.success(), "{}", stderr(&output));
    put_objects(&place, &alb_objects(3, 2, 100, 2), &mut expected);
    let killed = std::process::Command::new(env!("CARGO_BIN_EXE_agsl"))
        .args(["convert", "--service", "alb", "-q", "--source"])
        .arg(&source)
        .arg("--target")
        .arg(&target)
        .env("AGSL_CRASH_AT", "after-commit")
        .output()
        .unwrap();
    assert!(!killed.status.success());

    let (code, lines) = verify(&source, &target, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        lines[0],
        "commit 3 is not published: its files are still staged (the next run moves them into place)"
    );
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.starts_with("partition not registered:")),
        "nothing else: {lines:?}"
    );
    let status = |target: &Path| -> Value {
        let output = agsl(&["status", "--json", "--target", target.to_str().unwrap()]);
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let before = status(&target);
    assert_eq!(before["unpublished_commits"], 1);
    assert_eq!(before["last_run"]["outcome"], "running");

    let output = convert("alb", &source, &target, &["-q"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(verify(&source, &target, &["--deep"]), (0, vec![]));
    let after = status(&target);
    assert_eq!(after["unpublished_commits"], 0);
    assert_eq!(after["runs_recent"], 3);
    assert_eq!(after["failed_runs_recent"], 1, "the killed run: {after}");
    let good: u64 = expected.values().map(|(good, _)| good).sum();
    assert_eq!(after["tables"][0]["rows"], good);
}

/// The converted table's location and its partitions' locations in the local catalog.
fn catalog_locations(target: &Path) -> (String, Vec<String>) {
    let catalog = local_catalog(target);
    let table = catalog
        .query_row(
            "SELECT location FROM tables WHERE name = 'alb'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let partitions = catalog
        .prepare("SELECT location FROM partitions WHERE table_name = 'alb' ORDER BY location")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    (table, partitions)
}

#[test]
fn a_moved_target_is_named_and_the_next_run_repoints_its_partitions() {
    let (dir, source, target) = converted();
    let (old_table, old_partitions) = catalog_locations(&target);
    assert!(!old_partitions.is_empty());
    let moved = dir.path().join("moved");
    std::fs::rename(&target, &moved).unwrap();
    let new_table = old_table.replace("/alb/", "/moved/");
    assert_ne!(new_table, old_table);

    let (code, lines) = verify(&source, &moved, &[]);
    assert_eq!(code, 1, "{lines:?}");
    assert_eq!(
        lines[0],
        format!(
            "table elsewhere: aws_service_logs.alb reads {old_table}, its data is at {new_table} (the next run repoints it)"
        )
    );
    let elsewhere = |lines: &[String]| {
        lines
            .iter()
            .filter(|l| l.starts_with("partition elsewhere: aws_service_logs.alb region="))
            .count()
    };
    assert_eq!(elsewhere(&lines), old_partitions.len(), "{lines:?}");
    assert_eq!(lines.len(), 1 + old_partitions.len(), "{lines:?}");

    // A run before partitions were repointed moved the table alone: that half is healed too.
    local_catalog(&moved)
        .execute(
            "UPDATE tables SET location = ?1 WHERE name = 'alb'",
            [&new_table],
        )
        .unwrap();
    let (code, lines) = verify(&source, &moved, &[]);
    assert_eq!(code, 1, "{lines:?}");
    assert_eq!(elsewhere(&lines), lines.len(), "{lines:?}");

    let output = convert("alb", &source, &moved, &["-q", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["objects"], 0);
    assert_eq!(
        summary["catalog"]["partitions_moved"],
        old_partitions.len() as u64
    );
    let (table, partitions) = catalog_locations(&moved);
    assert_eq!(table, new_table);
    let expected: Vec<String> = old_partitions
        .iter()
        .map(|p| p.replace("/alb/", "/moved/"))
        .collect();
    assert_eq!(partitions, expected);
    assert_eq!(verify(&source, &moved, &[]), (0, vec![]));

    let again = convert("alb", &source, &moved, &["-q", "--json"]);
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["catalog"]["partitions_moved"], 0);
}

#[test]
fn a_target_fed_from_two_sources_is_clean_against_each() {
    let (dir, source, target) = converted();
    // A second source (another account's bucket, say) with objects of its own into the same
    // target: the raw table now reads that source, and each source verifies on its own.
    let other = dir.path().join("other");
    let plan = agsl_formats::sample::SamplePlan {
        objects: 3,
        lines_per_object: 10,
        seed: 7,
        ..agsl_formats::sample::SamplePlan::default()
    };
    agsl::sample::write_sample(agsl_formats::Format::Alb, plan, &other).unwrap();
    let output = convert("alb", &other, &target, &["-q"]);
    assert!(output.status.success(), "{}", stderr(&output));
    for (source, objects) in [(&source, 12), (&other, 3)] {
        assert_eq!(verify(source, &target, &[]), (0, vec![]));
        let report = verify_json(source, &target, &[]);
        assert_eq!(report["objects_listed"], objects, "{report}");
        assert_eq!(report["objects_converted"], objects, "{report}");
    }
    // Half of one source's objects gone: the count says so.
    let objects = files_below(&other);
    std::fs::remove_file(&objects[0]).unwrap();
    let report = verify_json(&other, &target, &[]);
    assert_eq!(report["objects_listed"], 2, "{report}");
    assert_eq!(report["objects_converted"], 2, "{report}");
}

#[test]
fn the_same_deliveries_converted_from_a_copy_are_named() {
    let (dir, source, target) = converted();
    let replica = dir.path().join("replica");
    let objects = super::copies::copy_tree(&source, &replica);
    // Runs skip copies now; a target converted before they did may hold some. Made here by
    // hiding the originals' sizes from the run that converts the replica.
    let record = target.join(format!("_agsl/log/{:020}.json", 1));
    let original = std::fs::read(&record).unwrap();
    let mut commit: Value = serde_json::from_slice(&original).unwrap();
    for covered in commit["covered"].as_array_mut().unwrap() {
        covered["size"] = (covered["size"].as_u64().unwrap() + 1).into();
    }
    std::fs::write(&record, serde_json::to_vec(&commit).unwrap()).unwrap();
    let output = convert("alb", &replica, &target, &["-q"]);
    assert!(output.status.success(), "{}", stderr(&output));
    std::fs::write(&record, original).unwrap();
    for side in [&source, &replica] {
        let (code, lines) = verify(side, &target, &[]);
        assert_eq!(code, 1);
        assert_eq!(lines.len(), objects.len(), "{lines:?}");
        for (line, object) in lines.iter().zip(&objects) {
            let copy = replica.join(object.strip_prefix(&source).unwrap());
            assert_eq!(
                *line,
                format!(
                    "converted twice: file://{} and file://{} are one AWS delivery (the same key from AWSLogs/ on, or the same file name AWS gave it, and size); its rows are in the table once for each",
                    object.display(),
                    copy.display()
                )
            );
        }
    }
    let report = verify_json(&source, &target, &[]);
    assert_eq!(report["discrepancies"][0]["kind"], "converted_twice");
}
