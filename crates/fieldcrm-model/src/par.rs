//! Work spread over the cores: per-document steps that are independent of each other
//! (judging a received document, decoding a cached snapshot, building one, computing a
//! file's claim).

/// `f` applied to every item, in order, on up to one scoped thread per core, each taking
/// one contiguous chunk of at least `min_chunk` items (small inputs stay on this thread).
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    min_chunk: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = items.len().div_ceil(threads).max(min_chunk.max(1));
    if items.len() <= chunk {
        return items.iter().map(&f).collect();
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            // A panic in `f` is a bug: surface it as it would be without threads.
            out.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        out
    })
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
}
