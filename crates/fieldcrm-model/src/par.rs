//! Work spread over the cores: per-document steps that are independent of each other
//! (judging a received document, decoding a cached snapshot, building one, computing a
//! file's claim).

/// `f` applied to every item, in order, on every core: the items are cut into blocks of
/// `min_chunk` (small inputs stay on this thread), and each thread, this one included,
/// takes the next block not yet taken until none is left. One slow item (a Sales
/// document of 100,000 claims among a message's customer files) then holds up only its
/// own block, not a whole half of the items.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    min_chunk: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let block = min_chunk.max(1);
    if threads <= 1 || items.len() <= block {
        return items.iter().map(&f).collect();
    }
    let blocks: Vec<&[T]> = items.chunks(block).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(b) = blocks.get(i) else {
                break;
            };
            done.push((i, b.iter().map(&f).collect::<Vec<R>>()));
        }
        done
    };
    let mut parts = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads.min(blocks.len()))
            .map(|_| scope.spawn(work))
            .collect();
        let mut parts = work();
        for h in helpers {
            // A panic in `f` is a bug: surface it as it would be without threads.
            parts.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        parts
    });
    // Back in the items' order.
    parts.sort_unstable_by_key(|(i, _)| *i);
    let mut out = Vec::with_capacity(items.len());
    for (_, p) in parts {
        out.extend(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::par_map;

    #[test]
    fn keeps_order_at_any_size() {
        for n in [0usize, 1, 7, 300, 10_001] {
            let items: Vec<usize> = (0..n).collect();
            let out = par_map(&items, 16, |i| i * 2);
            assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>(), "{n}");
        }
    }

    /// One slow item holds up only its own block: the other threads take the rest.
    #[test]
    fn a_slow_item_does_not_hold_up_the_others() {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        if threads < 2 {
            return;
        }
        let items: Vec<usize> = (0..64).collect();
        let out = par_map(&items, 1, |&i| {
            if i == 0 {
                std::thread::sleep(std::time::Duration::from_millis(300));
            } else {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            (i, std::thread::current().id())
        });
        assert_eq!(out.iter().map(|(i, _)| *i).collect::<Vec<_>>(), items);
        // The thread that took the slow item took nothing else while it slept (the
        // others were done first); with halves, it would have had 31 more.
        let slow = out[0].1;
        let with_slow = out.iter().filter(|(_, t)| *t == slow).count();
        assert!(with_slow < 8, "{with_slow} items on the slow item's thread");
    }
}
