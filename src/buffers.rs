//! Large byte buffers handed from one page to the next.
//!
//! Every page of a pack allocates the same few large buffers — the decoded pixels (26 MB for an A4 colour
//! page at 300 dpi), the compressed strips and the TIFF master (~12 MB each), the access image (6.5 MB) —
//! and frees them a fraction of a second later. Left to glibc, those blocks went back to the kernel and
//! came back as fresh zero pages (page faults were ~4 % of a pack's CPU time, and the memset of the
//! decoder's zeroed buffer another 1 %), or stayed in a thread's arena depending on which thread freed
//! them last, so the peak RSS of the same run spread from 218 to 338 MiB. Here a freed buffer is kept
//! (up to [`KEEP_BYTES`] in all) and the next request of about its size takes it back: its pages stay
//! resident and no longer fault, and what is resident is what the pages in flight need.
//!
//! One pool for the process: the buffers are plain `Vec<u8>`s, so a buffer that is never given back is
//! simply freed by its owner. Only buffers of at least [`MIN_KEPT`] bytes are kept (smaller ones the
//! allocator reuses well by itself).

use std::sync::Mutex;

/// The most capacity kept for reuse, in all: two pages in flight need about 115 MB, the reorder of masters
/// before the zip up to 64 MiB more.
pub const KEEP_BYTES: usize = 192 << 20;

/// Smaller buffers are left to the allocator.
pub const MIN_KEPT: usize = 64 << 10;

/// Capacities are rounded up to this, so that requests of nearly the same size (the strips of a page,
/// masters of pages that compress a little differently) find each other's buffers.
const GRAIN: usize = 64 << 10;

struct Free {
    bufs: Vec<Vec<u8>>,
    bytes: usize,
}

/// Buffers kept for reuse, up to `keep` bytes of capacity in all.
pub struct Pool {
    free: Mutex<Free>,
    keep: usize,
}

/// The process's pool, used through [`take`], [`take_zeroed`] and [`give`].
static POOL: Pool = Pool::new(KEEP_BYTES);

impl Pool {
    pub const fn new(keep: usize) -> Self {
        Pool {
            free: Mutex::new(Free {
                bufs: Vec::new(),
                bytes: 0,
            }),
            keep,
        }
    }

    fn free(&self) -> std::sync::MutexGuard<'_, Free> {
        // A panic elsewhere while the lock was held leaves a list that is still a valid list.
        self.free.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An empty buffer with room for at least `capacity` bytes: the smallest kept buffer that fits and is
    /// at most twice as large (a strip never takes a page's pixel buffer), else a new one.
    pub fn take(&self, capacity: usize) -> Vec<u8> {
        if capacity < MIN_KEPT {
            return Vec::with_capacity(capacity);
        }
        let mut f = self.free();
        let best = f
            .bufs
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= capacity && b.capacity() / 2 <= capacity)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        if let Some(i) = best {
            let b = f.bufs.swap_remove(i);
            f.bytes -= b.capacity();
            return b;
        }
        drop(f);
        Vec::with_capacity(capacity.div_ceil(GRAIN) * GRAIN)
    }

    /// `len` zero bytes, in a buffer from [`Pool::take`]. Zeroed even when reused: a decoder that stops
    /// early must not leave another page's pixels behind.
    pub fn take_zeroed(&self, len: usize) -> Vec<u8> {
        let mut v = self.take(len);
        v.resize(len, 0);
        v
    }

    /// Give a buffer back for reuse. Kept when it is large enough to matter and the pool has room;
    /// otherwise freed here.
    pub fn give(&self, mut v: Vec<u8>) {
        let cap = v.capacity();
        if cap < MIN_KEPT {
            return;
        }
        v.clear();
        let mut f = self.free();
        if f.bytes + cap <= self.keep {
            f.bytes += cap;
            f.bufs.push(v);
        }
    }

    /// Free every kept buffer: a run's pages are done, and what comes after (writing the package's
    /// metadata) should not find the pages' memory taken.
    pub fn release(&self) {
        let mut f = self.free();
        f.bufs = Vec::new();
        f.bytes = 0;
    }

    /// The capacity kept now.
    pub fn kept_bytes(&self) -> usize {
        self.free().bytes
    }
}

/// [`Pool::take`] from the process's pool.
pub fn take(capacity: usize) -> Vec<u8> {
    POOL.take(capacity)
}

/// [`Pool::take_zeroed`] from the process's pool.
pub fn take_zeroed(len: usize) -> Vec<u8> {
    POOL.take_zeroed(len)
}

/// [`Pool::give`] to the process's pool.
pub fn give(v: Vec<u8>) {
    POOL.give(v)
}

/// [`Pool::release`] of the process's pool.
pub fn release() {
    POOL.release()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_by_size_and_bounded() {
        // A pool of its own: the process's pool is shared with the tests that run beside this one.
        let pool = Pool::new(64 << 20);
        // Small buffers are not kept.
        let small = pool.take(100);
        assert!(small.capacity() >= 100);
        pool.give(small);
        // A large one comes back as the next request of about its size, empty.
        let mut a = pool.take_zeroed(3 << 20);
        assert_eq!(a.len(), 3 << 20);
        assert!(a.iter().all(|&b| b == 0));
        a[5] = 7;
        let ptr = a.as_ptr();
        pool.give(a);
        let b = pool.take(3 << 20);
        assert!(b.is_empty());
        assert_eq!(b.as_ptr(), ptr, "the kept buffer is handed out again");
        pool.give(b);
        // Reused and zeroed: nothing of the previous contents shows.
        let z = pool.take_zeroed((3 << 20) - 10);
        assert!(z.iter().all(|&b| b == 0));
        pool.give(z);
        // A much smaller request does not take it.
        let s = pool.take(1 << 20);
        assert_ne!(s.as_ptr(), ptr);
        assert!(s.capacity() < 3 << 20);
        drop(s);
        // The total kept never exceeds the bound.
        let many: Vec<Vec<u8>> = (0..((64 << 20) / (16 << 20)) + 4)
            .map(|_| Vec::with_capacity(16 << 20))
            .collect();
        for v in many {
            pool.give(v);
        }
        assert!(pool.kept_bytes() <= 64 << 20);
        pool.release();
        assert_eq!(pool.kept_bytes(), 0);
    }
}
