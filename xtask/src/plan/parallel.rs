//! Planning many images at once: their drafts do not depend on each other, so they are made on every
//! core, in order. Still pure: the same inputs give the same drafts, in the same order.

use std::num::NonZeroUsize;
use std::thread;

/// Below this many items, one thread is cheaper than starting others.
const SERIAL_BELOW: usize = 8;

/// `f` of every item, in the items' order, on as many threads as the machine has cores.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = thread::available_parallelism().map_or(1, NonZeroUsize::get).min(items.len() / SERIAL_BELOW).max(1);
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    thread::scope(|scope| {
        let workers: Vec<_> =
            items.chunks(chunk).map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>())).collect();
        workers.into_iter().flat_map(|worker| worker.join().expect("a planning thread panicked")).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_once_in_order() {
        for len in [0, 1, SERIAL_BELOW - 1, SERIAL_BELOW, 3 * SERIAL_BELOW + 1, 1000] {
            let items: Vec<usize> = (0..len).collect();
            let mapped = map(&items, |item| item * 2);
            assert_eq!(mapped, items.iter().map(|item| item * 2).collect::<Vec<_>>(), "{len} items");
        }
    }
}
