//! Crash points for the kill tests: `AGSL_CRASH_AT=<point>[:<n>]` aborts the process (like
//! `kill -9`, no cleanup) the n-th time (default first) it reaches `<point>`. Unset, a crash
//! point costs one relaxed atomic load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

static PLAN: OnceLock<Option<(String, u64)>> = OnceLock::new();
static REACHED: AtomicU64 = AtomicU64::new(0);

pub(crate) fn crash_point(name: &str) {
    let plan = PLAN.get_or_init(|| {
        let value = std::env::var("AGSL_CRASH_AT").ok()?;
        let (point, n) = value.split_once(':').unwrap_or((&value, "1"));
        Some((point.to_owned(), n.parse().unwrap_or(1)))
    });
    if let Some((point, n)) = plan
        && point == name
        && REACHED.fetch_add(1, Ordering::Relaxed) + 1 == *n
    {
        eprintln!("AGSL_CRASH_AT: crashing at {name}");
        std::process::abort();
    }
}
