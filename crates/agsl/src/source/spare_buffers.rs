//! Large buffers kept from one object for the next. An object inflated whole needs a buffer of
//! its decompressed size (megabytes); allocating it fresh for every object costs a page fault
//! per 4 KiB, which measured as much system time as the whole-buffer inflater saved.
//!
//! Invariant: at most [`KEPT`] buffers are kept, and only ones of at least [`MIN_KEPT_BYTES`],
//! so what this holds is bounded by `KEPT` times the largest object inflated whole.

use std::sync::Mutex;

/// Buffers kept at most: enough for the workers of a typical run to find one each.
const KEPT: usize = 4;
/// Smaller buffers are cheap to allocate and are not kept.
const MIN_KEPT_BYTES: usize = 1 << 20;

static SPARE: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// An empty buffer, with the capacity of one used before when there is one.
pub fn take() -> Vec<u8> {
    let mut spare = SPARE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut buffer = spare.pop().unwrap_or_default();
    buffer.clear();
    buffer
}

/// Keeps `buffer` for a later [`take`], if it is large and fewer than [`KEPT`] are kept.
pub fn keep(buffer: Vec<u8>) {
    if buffer.capacity() < MIN_KEPT_BYTES {
        return;
    }
    let mut spare = SPARE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if spare.len() < KEPT {
        spare.push(buffer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_buffers_come_back_small_ones_do_not_and_the_count_is_bounded() {
        keep(Vec::with_capacity(16));
        for _ in 0..KEPT + 3 {
            keep(vec![1u8; MIN_KEPT_BYTES]);
        }
        let taken: Vec<Vec<u8>> = (0..KEPT + 3).map(|_| take()).collect();
        // Other tests may share the pool, so count only what this test can tell apart.
        let reused = taken
            .iter()
            .filter(|b| b.capacity() >= MIN_KEPT_BYTES)
            .count();
        assert!(reused <= KEPT, "{reused} buffers kept");
        assert!(reused >= 1);
        assert!(taken.iter().all(|b| b.is_empty()));
    }
}
