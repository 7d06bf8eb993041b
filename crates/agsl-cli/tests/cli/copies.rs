//! A delivery is converted once, whatever URL it is listed under: copies of AWS deliveries (the
//! same key from `AWSLogs/` on, or the same file name AWS gives one delivery alone, and size)
//! in a replica made the source, or in a backup folder inside it, are skipped with a reason,
//! and every line is in the table once.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{agsl, convert, files_below, read_table, sample, stderr, table_sources};

/// Copies every file below `from` to the same place below `to`; returns the originals, sorted.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Vec<PathBuf> {
    let objects = files_below(from);
    for object in &objects {
        let copy = to.join(object.strip_prefix(from).unwrap());
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy(object, &copy).unwrap();
    }
    objects
}

fn convert_json(source: &Path, target: &Path) -> Value {
    let output = convert("alb", source, target, &["-q", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn table_rows(target: &Path) -> usize {
    read_table(target).iter().map(|b| b.num_rows()).sum()
}

#[test]
fn a_replica_made_the_source_converts_only_what_is_new() {
    let dir = tempfile::tempdir().unwrap();
    let (source, replica, target) = (
        dir.path().join("logs"),
        dir.path().join("replica"),
        dir.path().join("alb"),
    );
    let written = sample(&source);
    let first = convert_json(&source, &target);
    assert_eq!(first["objects"], 12);
    let rows = table_rows(&target);
    assert_eq!(rows as u64, written.facts.good_lines);

    let objects = copy_tree(&source, &replica);
    // One new delivery arrives in the replica only.
    let newer = dir.path().join("newer");
    let plan = agsl_formats::sample::SamplePlan {
        objects: 1,
        lines_per_object: 7,
        start_micros: agsl_formats::sample::SamplePlan::default().start_micros + 86_400_000_000,
        ..agsl_formats::sample::SamplePlan::default()
    };
    agsl::sample::write_sample(agsl_formats::Format::Alb, plan, &newer).unwrap();
    copy_tree(&newer, &replica);

    let output = convert("alb", &replica, &target, &["--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let second: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(second["objects"], 1, "{second}");
    assert_eq!(second["rows"], 7);
    assert_eq!(
        second["skipped_reasons"]["copy of a converted object"],
        objects.len() as u64,
        "{second}"
    );
    assert_eq!(table_rows(&target), rows + 7);
    // The run says what it skipped and where the original is.
    let first_copy = replica.join(objects[0].strip_prefix(&source).unwrap());
    let relative = first_copy.strip_prefix(&replica).unwrap().to_str().unwrap();
    let warning = stderr(&output);
    assert!(
        warning.contains("objects are copies of AWS deliveries")
            && warning.contains(&format!("objects=12 key=\"{relative}\""))
            && warning.contains(&format!("file://{}", objects[0].display())),
        "{warning}"
    );

    // Each side verifies clean; the replica's copies are counted as skipped, not missing.
    for side in [&source, &replica] {
        let output = agsl(&[
            "verify",
            "--json",
            "--source",
            side.to_str().unwrap(),
            "--target",
            target.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let idle = convert_json(&replica, &target);
    assert_eq!(idle["objects"], 0);
    assert_eq!(idle["skipped_reasons"]["copy of a converted object"], 12);
}

#[test]
fn a_backup_folder_inside_the_source_is_converted_once() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("alb"));
    let written = sample(&source);
    // `AWSLogs/…` is listed before `backup/AWSLogs/…`: the originals are converted, the
    // backup's copies skipped.
    let objects = copy_tree(&source.join("AWSLogs"), &source.join("backup/AWSLogs"));
    let summary = convert_json(&source, &target);
    assert_eq!(summary["objects"], objects.len() as u64, "{summary}");
    assert_eq!(
        summary["skipped_reasons"]["copy of a converted object"],
        objects.len() as u64
    );
    assert_eq!(table_rows(&target) as u64, written.facts.good_lines);
    let sources = table_sources(&target);
    assert_eq!(sources.len(), objects.len());
    assert!(
        sources.iter().all(|url| !url.contains("/backup/")),
        "{sources:?}"
    );
}

#[test]
fn a_copy_of_another_size_is_another_object() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("logs"), dir.path().join("alb"));
    let written = sample(&source);
    let objects = files_below(&source);
    // The same lines compressed again: the same key, another size. Nothing says it is the
    // same delivery, so it is converted (and `verify` cannot name it either).
    let copy = source
        .join("other")
        .join(objects[0].strip_prefix(&source).unwrap());
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    let text = {
        use std::io::Read;
        let mut text = Vec::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(&objects[0]).unwrap())
            .read_to_end(&mut text)
            .unwrap();
        text
    };
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&copy).unwrap(),
        flate2::Compression::best(),
    );
    std::io::Write::write_all(&mut encoder, &text).unwrap();
    encoder.finish().unwrap();
    assert_ne!(
        std::fs::metadata(&copy).unwrap().len(),
        std::fs::metadata(&objects[0]).unwrap().len()
    );
    let summary = convert_json(&source, &target);
    assert_eq!(summary["objects"], 13, "{summary}");
    assert!(
        summary["skipped_reasons"]
            .get("copy of a converted object")
            .is_none()
    );
    assert!(table_rows(&target) as u64 > written.facts.good_lines);
}

/// Rows of a local table per `_source_key` URL.
fn rows_by_source(target: &Path) -> std::collections::BTreeMap<String, usize> {
    let mut rows = std::collections::BTreeMap::new();
    for batch in read_table(target) {
        let column = batch.column_by_name("_source_key").unwrap();
        for url in arrow_array::cast::AsArray::as_string::<i32>(column).iter() {
            *rows.entry(url.unwrap().to_owned()).or_default() += 1;
        }
    }
    rows
}

#[test]
fn deliveries_outside_awslogs_are_told_by_the_names_aws_gives_them() {
    // S3 server access logs and CloudFront deliver into a prefix of the user's choosing, with
    // no `AWSLogs/` folder: a time stamp and a random id in the file name name the delivery.
    for format in [
        agsl_formats::Format::S3Access,
        agsl_formats::Format::Cloudfront,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (source, replica, target) = (
            dir.path().join("logs"),
            dir.path().join("replica"),
            dir.path().join("table"),
        );
        let plan = agsl_formats::sample::SamplePlan {
            objects: 6,
            lines_per_object: 40,
            ..agsl_formats::sample::SamplePlan::default()
        };
        agsl::sample::write_sample(format, plan, &source).unwrap();
        let service = format.keyword();
        let output = convert(service, &source, &target, &["-q", "--json"]);
        assert!(output.status.success(), "{}", stderr(&output));
        let first: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(first["objects"], 6, "{service}: {first}");
        let rows = table_rows(&target);

        // The replica holds the same deliveries, and one file twice under a name of the
        // user's: such names say nothing of a delivery, so both are converted.
        let objects = copy_tree(&source, &replica);
        for folder in ["hand/a", "hand/b"] {
            std::fs::create_dir_all(replica.join(folder)).unwrap();
            std::fs::copy(&objects[0], replica.join(folder).join("collected.log")).unwrap();
        }
        let output = convert(service, &replica, &target, &["--json"]);
        assert!(output.status.success(), "{}", stderr(&output));
        let second: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(second["objects"], 2, "{service}: {second}");
        assert_eq!(
            second["skipped_reasons"]["copy of a converted object"], 6,
            "{service}: {second}"
        );
        let by_source = rows_by_source(&target);
        let original = by_source[&format!("file://{}", objects[0].display())];
        assert_eq!(table_rows(&target), rows + 2 * original, "{service}");
        assert!(
            by_source
                .keys()
                .filter(|url| url.contains("/replica/"))
                .all(|url| url.ends_with("/collected.log")),
            "{service}: {by_source:?}"
        );
    }
}
