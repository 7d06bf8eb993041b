//! Running one store request per item, several at a time: on S3 each request waits a round
//! trip, so moving or uploading a commit's files one after another costs a round trip each.
//! The first error stops the items not started yet and is returned. Reading a target's commit
//! records is the same, one small GET each, except that they are applied in order: each result
//! is handed over in item order while later requests are already in flight.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Calls `each` on every item of `items`, at most `concurrency` at a time (in this thread when
/// 1), and returns the first error.
pub fn for_each_concurrently<T: Sync, E: Send>(
    items: &[T],
    concurrency: usize,
    each: impl Fn(&T) -> Result<(), E> + Sync,
) -> Result<(), E> {
    let threads = concurrency.min(items.len());
    if threads <= 1 {
        return items.iter().try_for_each(each);
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let work = || -> Result<(), E> {
        while !failed.load(Ordering::Relaxed) {
            let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) else {
                break;
            };
            if let Err(error) = each(item) {
                failed.store(true, Ordering::Relaxed);
                return Err(error);
            }
        }
        Ok(())
    };
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
        let mut result = Ok(());
        for worker in workers {
            // A panic in `each` is a bug: carried on to the caller's thread.
            let outcome = worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            if result.is_ok() {
                result = outcome;
            }
        }
        result
    })
}

/// How far [`for_each_in_order`] may fetch ahead of the item it hands over next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookahead {
    /// Items held at most: being fetched, fetched, or being consumed.
    pub items: usize,
    /// Their weight together, at most; the next item to consume is fetched whatever its
    /// weight, alone if need be.
    pub weight: u64,
}

/// Fetches every item of `items`, several at a time, and hands each result to `consume` on
/// this thread in the order of `items`, as soon as it and those before it are there. A fetch
/// starts as soon as one finishes, not once a whole group has (a group waits for its slowest
/// request, and S3's latency has a long tail), and never more than `lookahead` ahead of the
/// item handed over next, so memory stays bounded. Stops at the first error in item order,
/// from a fetch or from `consume`, and returns it; items after it are not handed over.
pub fn for_each_in_order<T: Sync, R: Send, E: Send>(
    items: &[T],
    lookahead: Lookahead,
    weight: impl Fn(&T) -> u64 + Sync,
    fetch: impl Fn(&T) -> Result<R, E> + Sync,
    mut consume: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E> {
    let threads = lookahead.items.min(items.len());
    if threads <= 1 {
        return items.iter().try_for_each(|item| consume(fetch(item)?));
    }
    let window = OrderedWindow::new(items.len());
    std::thread::scope(|scope| {
        // Set to stop the fetchers when this thread leaves, also by a panic in `consume`, which
        // would otherwise leave them waiting for room while the scope waits for them.
        let _stop = StopOnDrop(&window);
        for _ in 0..threads {
            scope.spawn(|| {
                // A panic in `fetch` leaves its result missing: the guard tells the caller's
                // thread, which would otherwise wait for it.
                let _abandon = AbandonOnPanic(&window);
                while let Some(at) = window.start_next(|at| weight(&items[at]), lookahead) {
                    window.finish(at, fetch(&items[at]));
                }
            });
        }
        for (at, item) in items.iter().enumerate() {
            // A fetch panicked: the scope carries its panic on once the fetchers are joined.
            let Some(result) = window.take(at) else { break };
            result.and_then(&mut consume)?;
            // Released only once consumed, so the item being applied counts as held too.
            window.release(at, weight(item));
        }
        Ok(())
    })
}

/// The shared state of [`for_each_in_order`]: which items are started, which are handed over,
/// and the results in between.
struct OrderedWindow<R> {
    state: Mutex<WindowState<R>>,
    changed: Condvar,
}

struct WindowState<R> {
    /// The next item to start fetching, and the first still held (not consumed yet).
    next_start: usize,
    first_held: usize,
    /// Weight of the items held: from `first_held` up to `next_start`.
    weight_held: u64,
    /// Results not handed over yet, by item.
    results: Vec<Option<R>>,
    stopped: bool,
    /// A fetch panicked, so a result may never come.
    abandoned: bool,
}

impl<R> OrderedWindow<R> {
    fn new(items: usize) -> Self {
        Self {
            state: Mutex::new(WindowState {
                next_start: 0,
                first_held: 0,
                weight_held: 0,
                results: std::iter::repeat_with(|| None).take(items).collect(),
                stopped: false,
                abandoned: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, WindowState<R>> {
        // A panic while the lock is held leaves only counters behind; carry on with them.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until the state changes: a result, room made, a stop.
    fn wait<'a>(&self, state: MutexGuard<'a, WindowState<R>>) -> MutexGuard<'a, WindowState<R>> {
        self.changed
            .wait(state)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until the next item fits the lookahead and claims it; `None` once every item is
    /// claimed or the caller stopped.
    fn start_next(&self, weight: impl Fn(usize) -> u64, lookahead: Lookahead) -> Option<usize> {
        let mut state = self.lock();
        loop {
            if state.stopped || state.next_start == state.results.len() {
                return None;
            }
            let at = state.next_start;
            let item_weight = weight(at);
            let alone = at == state.first_held;
            if alone
                || (at < state.first_held + lookahead.items
                    && state.weight_held + item_weight <= lookahead.weight)
            {
                state.next_start += 1;
                state.weight_held += item_weight;
                return Some(at);
            }
            state = self.wait(state);
        }
    }

    fn finish(&self, at: usize, result: R) {
        self.lock().results[at] = Some(result);
        self.changed.notify_all();
    }

    /// Waits for item `at`'s result (the next to hand over) and takes it; `None` when a fetch
    /// panicked (the scope carries that panic on).
    fn take(&self, at: usize) -> Option<R> {
        let mut state = self.lock();
        loop {
            if let Some(result) = state.results[at].take() {
                return Some(result);
            }
            if state.abandoned {
                return None;
            }
            state = self.wait(state);
        }
    }

    /// Makes room once item `at` is consumed.
    fn release(&self, at: usize, weight: u64) {
        let mut state = self.lock();
        state.first_held = at + 1;
        state.weight_held -= weight;
        drop(state);
        self.changed.notify_all();
    }

    fn stop(&self) {
        self.lock().stopped = true;
        self.changed.notify_all();
    }

    fn abandon(&self) {
        let mut state = self.lock();
        state.stopped = true;
        state.abandoned = true;
        drop(state);
        self.changed.notify_all();
    }
}

struct AbandonOnPanic<'a, R>(&'a OrderedWindow<R>);

impl<R> Drop for AbandonOnPanic<'_, R> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.abandon();
        }
    }
}

struct StopOnDrop<'a, R>(&'a OrderedWindow<R>);

impl<R> Drop for StopOnDrop<'_, R> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_once_and_the_first_error() {
        let seen = Mutex::new(Vec::new());
        let items: Vec<u32> = (0..100).collect();
        for_each_concurrently(&items, 8, |i| {
            seen.lock().unwrap().push(*i);
            Ok::<(), String>(())
        })
        .unwrap();
        let mut seen = seen.into_inner().unwrap();
        seen.sort_unstable();
        assert_eq!(seen, items);
        let failed = for_each_concurrently(&items, 8, |i| {
            if *i == 42 {
                Err(format!("item {i}"))
            } else {
                Ok(())
            }
        });
        assert_eq!(failed, Err("item 42".to_owned()));
        let serial = for_each_concurrently(&items, 1, |i| if *i == 3 { Err(*i) } else { Ok(()) });
        assert_eq!(serial, Err(3));
    }

    /// Tracks what [`for_each_in_order`] holds: items started and not handed over, and their
    /// weight, checked against the lookahead at every start.
    #[derive(Default)]
    struct Held {
        items: AtomicUsize,
        weight: std::sync::atomic::AtomicU64,
        most_items: AtomicUsize,
    }

    #[test]
    fn results_are_handed_over_in_order_within_the_lookahead() {
        let items: Vec<u64> = (0..300).collect();
        for lookahead_items in [1, 3, 16] {
            let lookahead = Lookahead {
                items: lookahead_items,
                weight: 40,
            };
            let held = Held::default();
            let mut handed = Vec::new();
            for_each_in_order(
                &items,
                lookahead,
                |i| i % 10,
                |i| {
                    let items_now = held.items.fetch_add(1, Ordering::SeqCst) + 1;
                    let weight_now = held.weight.fetch_add(i % 10, Ordering::SeqCst) + i % 10;
                    held.most_items.fetch_max(items_now, Ordering::SeqCst);
                    assert!(items_now <= lookahead_items, "{items_now} items held");
                    assert!(
                        weight_now <= 40 || items_now == 1,
                        "weight {weight_now} held by {items_now} items"
                    );
                    // Later items finish first, so order by completion would differ.
                    std::thread::sleep(std::time::Duration::from_micros((300 - i) * 3));
                    Ok::<u64, String>(i * i)
                },
                |square| {
                    let root = square.isqrt();
                    held.items.fetch_sub(1, Ordering::SeqCst);
                    held.weight.fetch_sub(root % 10, Ordering::SeqCst);
                    handed.push(square);
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(handed, items.iter().map(|i| i * i).collect::<Vec<_>>());
            let most = held.most_items.load(Ordering::SeqCst);
            assert!(
                most > 1 || lookahead_items == 1,
                "fetched one at a time with a lookahead of {lookahead_items}"
            );
        }
    }

    #[test]
    fn an_item_heavier_than_the_lookahead_is_fetched_alone() {
        let weights = [1, 500, 1, 1, 500, 500, 1];
        let held = AtomicUsize::new(0);
        let mut handed = Vec::new();
        let lookahead = Lookahead {
            items: 4,
            weight: 100,
        };
        for_each_in_order(
            &weights,
            lookahead,
            |w| *w,
            |w| {
                let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                assert!(*w < 100 || now == 1, "a heavy item fetched beside {now}");
                std::thread::sleep(std::time::Duration::from_millis(1));
                Ok::<u64, ()>(*w)
            },
            |w| {
                held.fetch_sub(1, Ordering::SeqCst);
                handed.push(w);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(handed, weights);
    }

    #[test]
    fn the_first_error_in_item_order_stops_the_hand_over() {
        let items: Vec<u64> = (0..100).collect();
        let lookahead = Lookahead {
            items: 8,
            weight: u64::MAX,
        };
        for concurrency_items in [1, 8] {
            let lookahead = Lookahead {
                items: concurrency_items,
                ..lookahead
            };
            let mut handed = Vec::new();
            // Item 30 fails slowly, item 31 at once: the error of item 30 is the one returned.
            let failed = for_each_in_order(
                &items,
                lookahead,
                |_| 1,
                |i| match i {
                    30 => {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        Err(format!("fetching {i}"))
                    }
                    31 => Err(format!("fetching {i}")),
                    _ => Ok(*i),
                },
                |i| {
                    handed.push(i);
                    Ok(())
                },
            );
            assert_eq!(failed, Err("fetching 30".to_owned()));
            assert_eq!(handed, (0..30).collect::<Vec<_>>());
            let mut handed = 0;
            let refused = for_each_in_order(
                &items,
                lookahead,
                |_| 1,
                |i| Ok(*i),
                |i| {
                    handed += 1;
                    if i == 50 {
                        Err(format!("applying {i}"))
                    } else {
                        Ok(())
                    }
                },
            );
            assert_eq!(refused, Err("applying 50".to_owned()));
            assert_eq!(handed, 51);
        }
        let none = for_each_in_order(
            &[] as &[u64],
            lookahead,
            |_| 1,
            |i| Ok::<u64, ()>(*i),
            |_| unreachable!("nothing to hand over"),
        );
        assert_eq!(none, Ok(()));
    }

    #[test]
    fn a_panic_while_fetching_or_handing_over_reaches_the_caller_instead_of_hanging() {
        let items: Vec<u64> = (0..1000).collect();
        let lookahead = Lookahead {
            items: 4,
            weight: u64::MAX,
        };
        let in_consume = std::panic::catch_unwind(|| {
            for_each_in_order(
                &items,
                lookahead,
                |_| 1,
                |i| Ok::<u64, ()>(*i),
                |i| {
                    assert_ne!(i, 10, "a bug while applying");
                    Ok(())
                },
            )
        });
        assert!(in_consume.is_err(), "the panic is carried to the caller");
        let in_fetch = std::panic::catch_unwind(|| {
            for_each_in_order(
                &items,
                lookahead,
                |_| 1,
                |i| {
                    assert_ne!(*i, 10, "a bug while fetching");
                    Ok::<u64, ()>(*i)
                },
                |_| Ok(()),
            )
        });
        assert!(in_fetch.is_err(), "the panic is carried to the caller");
    }
}
