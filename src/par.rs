//! Work spread over the thread pool: the one place that decides the order jobs start in.

use rayon::prelude::*;

/// The order in which [`largest_first`] starts its work: largest first, ties in input order.
pub fn start_order(sizes: &[u64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    order
}

/// Run `f` on every index of `sizes` on the pool, largest first (longest-processing-time order: a large
/// job met last would run alone on one core while the others have nothing left), each index taken by
/// the next free thread in that order (`par_bridge` pulls in order). Equal sizes keep their input order
/// (the sort is stable), so all-zero sizes mean "front to back" — a zip read best in order. The results
/// come back in index order, whatever order the work ran in.
pub fn largest_first<R: Send>(sizes: &[u64], f: impl Fn(usize) -> R + Sync + Send) -> Vec<R> {
    let mut done: Vec<(usize, R)> = start_order(sizes)
        .into_iter()
        .par_bridge()
        .map(|i| (i, f(i)))
        .collect();
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn results_in_index_order_and_started_largest_first() {
        let sizes = [3u64, 10, 1, 10, 7];
        let started = Mutex::new(Vec::new());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let out = pool.install(|| {
            largest_first(&sizes, |i| {
                started.lock().unwrap().push(i);
                i * 2
            })
        });
        assert_eq!(out, vec![0, 2, 4, 6, 8]);
        // One thread: the start order is the order taken — largest first, ties in input order.
        assert_eq!(*started.lock().unwrap(), vec![1, 3, 4, 0, 2]);
    }
}
