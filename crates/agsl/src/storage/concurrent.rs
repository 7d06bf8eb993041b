//! Running one store request per item, several at a time: on S3 each request waits a round
//! trip, so moving or uploading a commit's files one after another costs a round trip each.
//! The first error stops the items not started yet and is returned. Reading a target's commit
//! records is the same: one small GET each.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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

/// Calls `each` on every item of `items`, at most `concurrency` at a time, and returns what
/// each gave in the order of `items`, or the first error.
pub fn map_concurrently<T: Sync, R: Send + Sync, E: Send>(
    items: &[T],
    concurrency: usize,
    each: impl Fn(&T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    let slots: Vec<OnceLock<R>> = items.iter().map(|_| OnceLock::new()).collect();
    let indexed: Vec<(&T, &OnceLock<R>)> = items.iter().zip(&slots).collect();
    for_each_concurrently(&indexed, concurrency, |(item, slot)| {
        let _ = slot.set(each(item)?);
        Ok(())
    })?;
    Ok(slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .expect("for_each_concurrently returned Ok, so every item was mapped")
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

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

    #[test]
    fn results_come_back_in_the_order_of_the_items() {
        let items: Vec<u64> = (0..200).collect();
        for concurrency in [1, 3, 16] {
            let squares = map_concurrently(&items, concurrency, |i| {
                // Later items finish first, so order by completion would be reversed.
                std::thread::sleep(std::time::Duration::from_micros(200 - i));
                Ok::<u64, String>(i * i)
            })
            .unwrap();
            assert_eq!(squares, items.iter().map(|i| i * i).collect::<Vec<_>>());
        }
        let failed = map_concurrently(&items, 4, |i| if *i == 7 { Err(*i) } else { Ok(*i) });
        assert_eq!(failed, Err(7));
        let none = map_concurrently(&[] as &[u64], 4, |i| Ok::<u64, ()>(*i)).unwrap();
        assert!(none.is_empty());
    }
}
