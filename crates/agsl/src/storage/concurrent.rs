//! Running one store request per item, several at a time: on S3 each request waits a round
//! trip, so moving or uploading a commit's files one after another costs a round trip each.
//! The first error stops the items not started yet and is returned.

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
}
