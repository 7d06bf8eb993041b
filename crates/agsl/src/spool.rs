//! The local spool: files that are written here first, then uploaded (the table files of runs
//! that write to S3, checkpoints), or downloaded here to be read as a stream (checkpoints).
//! Folders carry the process id, so a run can delete the folders of runs that were killed
//! (their process is gone) without touching those of live runs.

use std::path::PathBuf;

const PREFIX: &str = "agsl-spool-";

/// The spool folder of this process for a commit named `name`.
pub(crate) fn folder(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{PREFIX}{}-{name}", std::process::id()))
}

/// Deletes spool folders whose process no longer runs (Linux; elsewhere nothing is deleted).
pub(crate) fn remove_abandoned() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !crate::state::process_alive(pid) {
            tracing::debug!(folder = %entry.path().display(), "removing an abandoned spool");
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
