//! The run's steps on their own, as a Spark driver calls them: units handed out as JSON,
//! converted by two attempts each in "other processes", one attempt's output committed.

use agsl::sample::write_sample;
use agsl::sink::REJECTS_DIR;
use agsl::source::Source;
use agsl::state::STAGING_DIR;
use agsl::{ConvertJob, Driver, Format, Progress, UnitOutput, WorkUnit, convert, convert_unit};
use agsl_formats::sample::SamplePlan;
use arrow_array::RecordBatch;

use crate::{files_named, read_file, read_table};

#[test]
fn units_converted_twice_are_committed_once() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let target = dir.path().join("table");
    let plan = SamplePlan {
        objects: 12,
        lines_per_object: 300,
        bad_line_every: Some(53),
        ..SamplePlan::default()
    };
    let written = write_sample(Format::Alb, plan, &source).unwrap();
    let mut job = ConvertJob::new(Format::Alb, &source, &target);
    // Small commits: several units.
    job.commit_bytes = written.stored_bytes / 4;
    let progress = Progress::default();
    let mut driver = Driver::start(&job, &progress).unwrap();
    let mut units = Vec::new();
    while let Some(unit) = driver.next_unit() {
        units.push(serde_json::to_string(&unit).unwrap());
    }
    assert!(units.len() >= 3, "{} units", units.len());

    // Each unit converted twice, as by two task attempts of an executor that knows only the
    // job and the unit's JSON; the first attempt's output is dropped (its task "failed").
    let executor_job = job.clone();
    let store = agsl::storage::Store::open(&executor_job.target, &executor_job.storage).unwrap();
    let executor_source = Source::open(&executor_job.source, &executor_job.storage).unwrap();
    let mut accepted = Vec::new();
    for text in &units {
        let unit: WorkUnit = serde_json::from_str(text).unwrap();
        for attempt in ["a0", "a1"] {
            let output = convert_unit(
                &executor_job,
                &executor_source,
                &store,
                &unit,
                Some(attempt),
                &Progress::default(),
            )
            .unwrap();
            if attempt == "a1" {
                accepted.push(serde_json::to_string(&output).unwrap());
            }
        }
    }
    // Nothing is visible before the commits.
    assert!(read_table(&target).is_empty());
    let first: UnitOutput = serde_json::from_str(&accepted[0]).unwrap();
    for text in &accepted {
        driver.commit(serde_json::from_str(text).unwrap()).unwrap();
    }
    // A unit is committed once: its output again is refused.
    let again = driver.commit(first).unwrap_err();
    assert!(again.to_string().contains("committed already"), "{again}");
    let summary = driver.finish().unwrap();

    assert_eq!(summary.objects, 12);
    assert_eq!(summary.rows, written.facts.good_lines);
    assert_eq!(summary.rejects, written.facts.bad_lines);
    assert_eq!(summary.commits as usize, units.len());
    let rows: usize = read_table(&target).iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows as u64, written.facts.good_lines, "each row once");
    let rejects = files_named(&target.join(REJECTS_DIR), &|n| n.ends_with(".parquet"));
    let reject_rows: usize = rejects
        .iter()
        .flat_map(|path| read_file(path))
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(
        reject_rows as u64, written.facts.bad_lines,
        "each reject once"
    );
    // The losing attempts' staging folders are gone.
    let staging = target.join(STAGING_DIR);
    assert!(!staging.exists() || files_named(&staging, &|_| true).is_empty());

    // The CLI's run afterwards finds nothing new: the target is one, whoever wrote it.
    let rerun = convert(&job, &Progress::default()).unwrap();
    assert_eq!((rerun.objects, rerun.skipped_objects), (0, 12));
}

#[test]
fn a_driver_refuses_outputs_it_did_not_hand_out() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let target = dir.path().join("table");
    write_sample(
        Format::VpcFlow,
        SamplePlan {
            objects: 2,
            lines_per_object: 10,
            ..SamplePlan::default()
        },
        &source,
    )
    .unwrap();
    let job = ConvertJob::new(Format::VpcFlow, &source, &target);
    let mut driver = Driver::start(&job, &Progress::default()).unwrap();
    let unit = driver.next_unit().unwrap();
    let mut stranger = UnitOutput::default();
    stranger.unit = format!("{}-other", unit.name);
    assert!(driver.commit(stranger).is_err());
    // A unit handed out and never committed is planned again by the next run.
    let summary = driver.finish().unwrap();
    assert_eq!(summary.objects, 0);
    let rerun = convert(&job, &Progress::default()).unwrap();
    assert_eq!(rerun.objects, 2);
}

/// A local file that grows between the listing and its read (a log still being copied in) is
/// not converted in part: the unit fails naming it, nothing is committed, and the next run
/// converts every object whole, each line once.
#[test]
fn a_file_grown_after_the_listing_fails_its_unit_and_is_converted_whole_next_run() {
    use std::io::{Read, Write};

    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let target = dir.path().join("table");
    let written = write_sample(
        Format::Alb,
        SamplePlan {
            objects: 3,
            lines_per_object: 40,
            ..SamplePlan::default()
        },
        &source,
    )
    .unwrap();
    let job = ConvertJob::new(Format::Alb, &source, &target);
    let mut driver = Driver::start(&job, &Progress::default()).unwrap();
    let unit = driver.next_unit().unwrap();
    assert!(
        driver.next_unit().is_none(),
        "one unit holds the three objects"
    );

    // One more gzip member on the second object: its first line again.
    let mut objects = files_named(&source, &|n| n.ends_with(".log.gz"));
    objects.sort();
    let grown = &objects[1];
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(grown).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let first_line = text.lines().next().unwrap();
    let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    writeln!(member, "{first_line}").unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(grown)
        .unwrap();
    file.write_all(&member.finish().unwrap()).unwrap();
    drop(file);

    let error = convert_unit(
        &job,
        driver.source(),
        driver.target(),
        &unit,
        None,
        &Progress::default(),
    )
    .unwrap_err();
    let message = error.to_string();
    let name = grown.file_name().unwrap().to_str().unwrap();
    assert!(
        message.contains("changed while this run read it"),
        "{message}"
    );
    assert!(message.contains(name), "names the object: {message}");
    driver.fail(&error);
    assert!(read_table(&target).is_empty(), "nothing committed");

    let rerun = convert(&job, &Progress::default()).unwrap();
    assert_eq!(rerun.objects, 3);
    let rows: usize = read_table(&target).iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows as u64, written.facts.good_lines + 1, "each line once");
}
