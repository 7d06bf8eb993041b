//! agsl targets below a source are not its logs. A target in the same bucket or folder as the
//! logs it converts (`s3://bucket/` as source, `s3://bucket/converted/alb/` as target) is
//! common; its Parquet files, rejects and `_agsl/` state would otherwise be listed as source
//! objects every run, and `--service auto` would take its Parquet files for CloudFront v2's
//! Parquet output and convert them into rejects. A folder holding `_agsl/` is a target, and
//! nothing below it is a source object.

use crate::state::STATE_DIR;

use super::SourceObject;

/// Removes every object below an agsl target (a folder holding `_agsl/`, the source itself
/// included) from `objects`, sorted by key; returns the targets' folders, `""` for the source.
pub(super) fn leave_out_targets(objects: &mut Vec<SourceObject>) -> Vec<String> {
    let mut targets: Vec<String> = objects
        .iter()
        .filter_map(|o| target_of(&o.key))
        .map(str::to_owned)
        .collect();
    targets.sort_unstable();
    targets.dedup();
    // A target inside another is left out with it.
    let mut outermost: Vec<String> = Vec::new();
    for target in targets {
        if !outermost.iter().any(|outer| is_below(&target, outer)) {
            outermost.push(target);
        }
    }
    if !outermost.is_empty() {
        objects.retain(|o| !outermost.iter().any(|target| is_below(&o.key, target)));
    }
    outermost
}

/// Whether `prefix` (a folder) is an agsl target, told from its subfolders' names.
pub(super) fn holds_state(prefix: &str, folders: &[String]) -> bool {
    folders.iter().any(|folder| {
        let folder = folder.trim_end_matches('/');
        folder
            .strip_prefix(prefix.trim_end_matches('/'))
            .map(|rest| rest.trim_start_matches('/'))
            == Some(STATE_DIR)
    })
}

/// The folder of the target whose state `key` is, if it is: the part before `_agsl/`.
fn target_of(key: &str) -> Option<&str> {
    // `STATE_DIR` between slashes, without building it for each of a million keys.
    let rest = |at: usize| key[at..].strip_prefix(STATE_DIR)?.strip_prefix('/');
    if rest(0).is_some() {
        return Some("");
    }
    key.match_indices('/')
        .find(|&(at, _)| rest(at + 1).is_some())
        .map(|(at, _)| &key[..at])
}

/// Whether `key` lies below the folder `folder` (`""`: the source's root).
fn is_below(key: &str, folder: &str) -> bool {
    folder.is_empty()
        || key
            .strip_prefix(folder)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(keys: &[&str]) -> Vec<SourceObject> {
        keys.iter()
            .map(|key| SourceObject {
                key: (*key).to_owned(),
                size: 1,
            })
            .collect()
    }

    fn keys(objects: &[SourceObject]) -> Vec<&str> {
        objects.iter().map(|o| o.key.as_str()).collect()
    }

    #[test]
    fn targets_below_the_source_are_left_out_and_logs_beside_them_kept() {
        let mut listed = objects(&[
            "AWSLogs/1/elasticloadbalancing/us-east-1/2024/03/07/a_app.x.log.gz",
            "converted/alb/_agsl/log/00000001.json",
            "converted/alb/region=us-east-1/year=2024/month=03/day=07/part-1.parquet",
            "converted/alb_v2/region=us-east-1/part-2.parquet",
            "converted/auto/_agsl/lock",
            "converted/auto/alb/_agsl/x",
            "converted/auto/cloudfront_v2/year=2024/part-3.parquet",
        ]);
        let targets = leave_out_targets(&mut listed);
        assert_eq!(targets, ["converted/alb", "converted/auto"]);
        assert_eq!(
            keys(&listed),
            [
                "AWSLogs/1/elasticloadbalancing/us-east-1/2024/03/07/a_app.x.log.gz",
                "converted/alb_v2/region=us-east-1/part-2.parquet",
            ],
            "a folder whose name only begins like a target's is not below it"
        );
    }

    #[test]
    fn a_source_that_is_a_target_has_no_objects() {
        let mut listed = objects(&["_agsl/lock", "region=x/part-1.parquet"]);
        assert_eq!(leave_out_targets(&mut listed), [""]);
        assert!(listed.is_empty());
        let mut logs = objects(&["a_agsl/x", "b/_agsl_old/y"]);
        assert!(leave_out_targets(&mut logs).is_empty());
        assert_eq!(logs.len(), 2);
    }

    #[test]
    fn a_level_holding_state_is_a_target() {
        let folders = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        assert!(holds_state(
            "lake/alb",
            &folders(&["lake/alb/_agsl", "lake/alb/region=x"])
        ));
        assert!(holds_state("", &folders(&["_agsl/"])));
        assert!(!holds_state("lake", &folders(&["lake/alb"])));
    }
}
