//! A target holds one table, or `auto`'s folder per table, and no other target: a run that
//! would mix another service's files into a table, or keep a second ledger over the same files,
//! is refused with one line and exit 2 before it writes anything. On local folders and on S3.

use std::path::Path;

use agsl::sample::write_sample;
use agsl_formats::Format;
use agsl_formats::sample::{SamplePlan, objects};

use crate::moto::Moto;
use crate::place::{Expected, Place, put_objects};
use crate::state::run_json;
use crate::{agsl, assert_one_line_error, convert_args};

/// Sources of ALB and ELB objects, each alone and both together, below `dir`.
struct Sources {
    alb: String,
    elb: String,
    both: String,
}

fn sources(dir: &Path) -> Sources {
    let plan = SamplePlan {
        objects: 3,
        lines_per_object: 100,
        bad_line_every: Some(37),
        ..SamplePlan::default()
    };
    for (format, folder) in [(Format::Alb, "alb"), (Format::Elb, "elb")] {
        write_sample(format, plan.clone(), &dir.join(folder)).unwrap();
        write_sample(format, plan.clone(), &dir.join("both")).unwrap();
    }
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    Sources {
        alb: path("alb"),
        elb: path("elb"),
        both: path("both"),
    }
}

/// Every key below `place` outside its `_agsl/` state, sorted.
fn data_keys(place: &Place) -> Vec<String> {
    let mut keys: Vec<String> = place
        .store
        .list("")
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .filter(|k| !k.starts_with("_agsl/"))
        .collect();
    keys.sort();
    keys
}

/// A one-service target takes that service only: another service, or `auto`, is refused, dry
/// run included, and neither its files nor its catalog change.
fn one_table_per_target(root: &str, sources: &Sources) {
    // A table never holds its own logs.
    let same = agsl(&convert_args("alb", &sources.alb, &sources.alb, &[]));
    assert_one_line_error(&same, 2, "source and target are the same");
    let parent = Path::new(&sources.alb).parent().unwrap().to_str().unwrap();
    let around = agsl(&convert_args("alb", &sources.alb, parent, &[]));
    assert_one_line_error(&around, 2, "is inside the target");
    let target = format!("{root}/alb");
    let first = run_json(&convert_args("alb", &sources.alb, &target, &[]));
    assert!(first["rows"].as_u64().unwrap() > 0, "{first}");
    let place = Place::new(&target);
    let before = data_keys(&place);

    let elb = agsl(&convert_args("elb", &sources.elb, &target, &[]));
    assert_one_line_error(
        &elb,
        2,
        "holds the alb table, not elb's; convert elb into a target of its own",
    );
    let dry = agsl(&convert_args("elb", &sources.elb, &target, &["--dry-run"]));
    assert_one_line_error(&dry, 2, "holds the alb table");
    let verify = agsl(&[
        "verify",
        "--service",
        "elb",
        "--source",
        &sources.elb,
        "--target",
        &target,
    ]);
    assert_one_line_error(&verify, 2, "holds the alb table, not elb's");
    let auto = agsl(&convert_args("auto", &sources.both, &target, &[]));
    assert_one_line_error(&auto, 2, "holds the alb table of --service alb");
    assert_eq!(data_keys(&place), before, "a refused run writes nothing");
    let tables = agsl(&["tables", "--target", &target]);
    let listed = String::from_utf8_lossy(&tables.stdout);
    assert!(
        listed.contains("aws_service_logs.alb ") && !listed.contains("aws_service_logs.elb"),
        "{listed}"
    );

    // Its own service still converts (nothing new here).
    let again = run_json(&convert_args("alb", &sources.alb, &target, &[]));
    assert_eq!(again["objects"], 0, "{again}");
    assert_eq!(again["skipped_objects"], first["objects"], "{again}");
}

/// An `auto` target takes `auto` runs only, and no target may sit inside another or hold one
/// in a folder: each would keep its own ledger of the same files. The refused run leaves no
/// state in the other target.
fn no_target_inside_another(root: &str, sources: &Sources) {
    let auto = format!("{root}/auto");
    let first = run_json(&convert_args("auto", &sources.both, &auto, &[]));
    assert!(first["rows"].as_u64().unwrap() > 0, "{first}");

    let alone = agsl(&convert_args("alb", &sources.alb, &auto, &[]));
    assert_one_line_error(
        &alone,
        2,
        &format!(
            "holds the tables of --service auto (e.g. `{}/`)",
            Format::Alb.table_name()
        ),
    );
    let inner = format!("{auto}/{}", Format::Alb.table_name());
    for extra in [&[][..], &["--dry-run"]] {
        let inside = agsl(&convert_args("alb", &sources.alb, &inner, extra));
        assert_one_line_error(&inside, 2, &format!("is inside the agsl target `{auto}`"));
    }
    let auto_place = Place::new(&auto);
    let table_state = format!("{}/_agsl", Format::Alb.table_name());
    assert!(
        auto_place.store.list(&table_state).unwrap().is_empty(),
        "no state was left in the auto target's table"
    );
    let again = run_json(&convert_args("auto", &sources.both, &auto, &[]));
    assert_eq!(again["objects"], 0, "{again}");

    // Made the other way round: a target first, then a run around it.
    let outer = format!("{root}/outer");
    run_json(&convert_args(
        "alb",
        &sources.alb,
        &format!("{outer}/alb"),
        &[],
    ));
    let around = agsl(&convert_args("auto", &sources.both, &outer, &[]));
    assert_one_line_error(
        &around,
        2,
        &format!("holds the agsl target `{outer}/alb` in a folder"),
    );
    let outer_place = Place::new(&outer);
    assert!(outer_place.store.list("_agsl").unwrap().is_empty());
    assert_eq!(
        data_keys(&outer_place)
            .iter()
            .filter(|k| !k.starts_with("alb/"))
            .count(),
        0
    );
}

/// Targets in the folder or bucket of the logs they convert: their Parquet, rejects and state
/// are never listed as logs (`auto` would take the Parquet for CloudFront v2's), by the first
/// run's whole listing or by the later runs' walk of the date folders.
fn targets_below_the_source_are_not_its_logs(root: &str) {
    let plan = SamplePlan {
        objects: 3,
        lines_per_object: 100,
        bad_line_every: Some(37),
        ..SamplePlan::default()
    };
    let logs = Place::new(root);
    let mut expected = Expected::new();
    for format in [Format::Alb, Format::Elb] {
        let written: Vec<_> = objects(format, plan.clone()).collect();
        put_objects(&logs, &written, &mut expected);
    }
    let (good, bad): (u64, u64) = expected
        .values()
        .fold((0, 0), |(g, b), (good, bad)| (g + good, b + bad));
    let auto = format!("{root}/converted/auto");
    let alb = format!("{root}/converted/alb");
    for run in 0..2 {
        let summary = run_json(&convert_args("auto", root, &auto, &[]));
        let services: Vec<&str> = (summary["services"].as_array().into_iter().flatten())
            .map(|s| s["service"].as_str().unwrap())
            .collect();
        if run == 0 {
            assert_eq!(services, ["alb", "elb"], "{summary}");
            assert_eq!(summary["rows"], good, "{summary}");
            assert_eq!(summary["rejects"], bad, "{summary}");
        } else {
            assert!(services.is_empty(), "{summary}");
            assert_eq!(summary["objects"], 0, "{summary}");
        }
        assert_eq!(summary["skipped_objects"], 6 * run, "{summary}");
        let one = run_json(&convert_args("alb", root, &alb, &[]));
        assert_eq!(one["objects"], if run == 0 { 3 } else { 0 }, "{one}");
        // The ELB objects, and once converted the ALB ones: never a target's file.
        assert_eq!(
            one["skipped_objects"],
            if run == 0 { 3 } else { 6 },
            "{one}"
        );
    }
}

#[test]
fn local_targets_hold_one_table_and_no_other_target() {
    let dir = tempfile::tempdir().unwrap();
    let sources = sources(&dir.path().join("logs"));
    let root = dir.path().join("lake");
    one_table_per_target(root.to_str().unwrap(), &sources);
    no_target_inside_another(root.to_str().unwrap(), &sources);
    let logs = dir.path().join("bucket");
    std::fs::create_dir_all(&logs).unwrap();
    targets_below_the_source_are_not_its_logs(logs.to_str().unwrap());
}

#[test]
fn s3_targets_hold_one_table_and_no_other_target() {
    let moto = Moto::start();
    moto.create_bucket("lake");
    let dir = tempfile::tempdir().unwrap();
    let sources = sources(&dir.path().join("logs"));
    one_table_per_target("s3://lake/tables", &sources);
    no_target_inside_another("s3://lake/tables", &sources);
    moto.create_bucket("logs");
    targets_below_the_source_are_not_its_logs("s3://logs");
}
