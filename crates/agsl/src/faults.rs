//! Fault points for the tests. `AGSL_CRASH_AT=<point>[:<n>]` aborts the process (like
//! `kill -9`, no cleanup) the n-th time (default first) it reaches `<point>`;
//! `AGSL_FAIL_AT=<point>[:<n>]` makes the n-th visit of `<point>` fail with an I/O error: a
//! read, as a store that keeps failing after its retries would, or a write, as a full disk
//! would. Unset, a point costs one relaxed load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// One fault plan from the environment: the point's name and on which visit it fires.
struct Fault {
    plan: OnceLock<Option<(String, u64)>>,
    reached: AtomicU64,
    variable: &'static str,
}

impl Fault {
    const fn new(variable: &'static str) -> Self {
        Self {
            plan: OnceLock::new(),
            reached: AtomicU64::new(0),
            variable,
        }
    }

    /// Whether this visit of `name` is the one the plan names.
    fn fires(&self, name: &str) -> bool {
        let plan = self.plan.get_or_init(|| {
            let value = std::env::var(self.variable).ok()?;
            let (point, n) = value.split_once(':').unwrap_or((&value, "1"));
            Some((point.to_owned(), n.parse().unwrap_or(1)))
        });
        matches!(plan, Some((point, n)) if point == name
            && self.reached.fetch_add(1, Ordering::Relaxed) + 1 == *n)
    }
}

static CRASH: Fault = Fault::new("AGSL_CRASH_AT");
static FAIL: Fault = Fault::new("AGSL_FAIL_AT");

pub(crate) fn crash_point(name: &str) {
    if CRASH.fires(name) {
        eprintln!("AGSL_CRASH_AT: crashing at {name}");
        std::process::abort();
    }
}

/// An I/O error when `AGSL_FAIL_AT` names this visit of the read at `name`.
pub(crate) fn fail_read(name: &str) -> std::io::Result<()> {
    injected(name, "read")
}

/// An I/O error when `AGSL_FAIL_AT` names this visit of the write at `name`.
pub(crate) fn fail_write(name: &str) -> std::io::Result<()> {
    injected(name, "write")
}

fn injected(name: &str, what: &str) -> std::io::Result<()> {
    if FAIL.fires(name) {
        return Err(std::io::Error::other(format!(
            "AGSL_FAIL_AT: injected {what} failure at {name}"
        )));
    }
    Ok(())
}
