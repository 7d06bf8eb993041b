//! The CPU time of a conversion's three stages: decompressing (the read-ahead threads),
//! parsing (the workers) and encoding Parquet (the writer threads). A run is CPU-bound on
//! every core it has, so where its CPU goes per byte says which stage to look at, without a
//! profiler. Each thread reads its own CPU clock, so the figures belong to this run alone
//! even when other work shares the process; they add up over workers, units and Spark tasks.
//! Where no per-thread clock exists they are zero. The I/O threads that fetch from S3 are in
//! none of the three.

use std::cell::Cell;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// CPU seconds spent in each stage of a conversion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StageCpu {
    /// Read-ahead threads: inflating gzip, reading ZIP entries, Snappy blocks.
    pub decompress: f64,
    /// The workers: splitting lines, typing fields, building Arrow batches, writing rejects.
    pub parse: f64,
    /// Writer threads: Parquet encoding and compression.
    pub encode: f64,
}

impl StageCpu {
    pub fn add(&mut self, other: &StageCpu) {
        self.decompress += other.decompress;
        self.parse += other.parse;
        self.encode += other.encode;
    }
}

/// The CPU time the calling thread has used since it started.
pub(crate) fn thread_cpu() -> Duration {
    #[cfg(unix)]
    {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid, writable timespec, and the clock id is a constant the
        // platform defines.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } == 0 {
            return Duration::new(
                u64::try_from(now.tv_sec).unwrap_or(0),
                u32::try_from(now.tv_nsec).unwrap_or(0),
            );
        }
    }
    Duration::ZERO
}

thread_local! {
    /// CPU time of helper threads whose work this thread consumed (see [`charge_helper`]).
    static HELPERS: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// Charges a finished helper thread's CPU time to the thread that consumed its work (a
/// read-ahead thread's, when its reader is dropped), so the worker can report it.
pub(crate) fn charge_helper(used: Duration) {
    HELPERS.with(|helpers| helpers.set(helpers.get() + used));
}

/// The helper CPU time charged to this thread since the last call, and starts again at zero.
pub(crate) fn take_helpers() -> Duration {
    HELPERS.with(|helpers| helpers.replace(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_thread_clock_counts_its_own_work_and_not_its_sleep() {
        let before = thread_cpu();
        // Works until the clock shows 30 ms (a stopped clock gives up after ten seconds).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut x = 0u64;
        while thread_cpu() - before < Duration::from_millis(30)
            && std::time::Instant::now() < deadline
        {
            for _ in 0..10_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        }
        let worked = thread_cpu() - before;
        assert!(worked >= Duration::from_millis(30), "{worked:?}");
        std::thread::sleep(Duration::from_millis(60));
        let slept = thread_cpu() - before - worked;
        assert!(slept < Duration::from_millis(20), "{slept:?}");
    }

    #[test]
    fn helpers_are_charged_to_the_thread_that_takes_them_once() {
        take_helpers();
        charge_helper(Duration::from_millis(3));
        charge_helper(Duration::from_millis(4));
        std::thread::spawn(|| charge_helper(Duration::from_secs(1)))
            .join()
            .unwrap();
        assert_eq!(take_helpers(), Duration::from_millis(7));
        assert_eq!(take_helpers(), Duration::ZERO);
    }
}
