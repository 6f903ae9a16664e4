//! Process-wide LRU cache of decoded v2 time frames (docs/BEHAVIOUR.md §1.14).
//!
//! Many metric frames share one time frame, and repeated queries over the
//! same sealed partition re-read the same ones, so decoded timestamp vectors
//! are kept, bounded both in slots (`metrics.time_cache_slots`) and in bytes
//! (32 MiB). The key includes file size and modification time, so a rebuilt
//! file never serves stale timestamps.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::SystemTime;

/// Default slot count (`metrics.time_cache_slots`).
pub const DEFAULT_SLOTS: usize = 256;
/// Byte cap over all cached timestamp vectors.
pub const DEFAULT_MAX_BYTES: usize = 32 << 20;

/// Identifies one decoded time frame of one version of one file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// File path as opened.
    pub path: Arc<Path>,
    /// File size at open.
    pub size: u64,
    /// Modification time at open (when the platform reports one).
    pub mtime: Option<SystemTime>,
    /// Time frame id.
    pub id: u16,
}

#[derive(Debug)]
struct Slot {
    ts: Arc<[i64]>,
    tick: u64,
}

#[derive(Debug)]
struct Inner {
    slots: usize,
    max_bytes: usize,
    bytes: usize,
    tick: u64,
    map: HashMap<CacheKey, Slot>,
    /// Last-use tick → key, oldest first.
    lru: BTreeMap<u64, CacheKey>,
}

impl Inner {
    fn evict_to(&mut self, slots: usize, bytes: usize) {
        while self.map.len() > slots || self.bytes > bytes {
            let Some((_, key)) = self.lru.pop_first() else {
                break;
            };
            if let Some(s) = self.map.remove(&key) {
                self.bytes -= size_of_ts(&s.ts);
            }
        }
    }
}

fn size_of_ts(ts: &[i64]) -> usize {
    std::mem::size_of_val(ts)
}

/// Bounded LRU of decoded time frames, safe to share between threads.
#[derive(Debug)]
pub struct TimeFrameCache {
    inner: Mutex<Inner>,
}

impl TimeFrameCache {
    /// An empty cache with `slots` entries and `max_bytes` total.
    pub fn new(slots: usize, max_bytes: usize) -> Self {
        TimeFrameCache {
            inner: Mutex::new(Inner {
                slots,
                max_bytes,
                bytes: 0,
                tick: 0,
                map: HashMap::new(),
                lru: BTreeMap::new(),
            }),
        }
    }

    /// A poisoned lock only means another thread panicked mid-update of a
    /// cache; the maps are still consistent enough to keep using.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached timestamps for `key`, marking them recently used.
    pub fn get(&self, key: &CacheKey) -> Option<Arc<[i64]>> {
        let mut g = self.lock();
        g.tick += 1;
        let tick = g.tick;
        let slot = g.map.get_mut(key)?;
        let old = std::mem::replace(&mut slot.tick, tick);
        let ts = slot.ts.clone();
        if let Some(k) = g.lru.remove(&old) {
            g.lru.insert(tick, k);
        }
        Some(ts)
    }

    /// Caches `ts` under `key`, evicting least-recently-used entries to stay
    /// within both limits. A vector larger than the byte cap is not kept.
    pub fn insert(&self, key: CacheKey, ts: Arc<[i64]>) {
        let mut g = self.lock();
        let size = size_of_ts(&ts);
        if g.slots == 0 || size > g.max_bytes {
            return;
        }
        g.tick += 1;
        let tick = g.tick;
        if let Some(old) = g.map.remove(&key) {
            g.bytes -= size_of_ts(&old.ts);
            g.lru.remove(&old.tick);
        }
        let (slots, max_bytes) = (g.slots - 1, g.max_bytes - size);
        g.evict_to(slots, max_bytes);
        g.bytes += size;
        g.lru.insert(tick, key.clone());
        g.map.insert(key, Slot { ts, tick });
    }

    /// Changes the slot capacity (`metrics.time_cache_slots`), evicting as
    /// needed; 0 disables caching.
    pub fn set_capacity(&self, slots: usize) {
        let mut g = self.lock();
        g.slots = slots;
        let max = g.max_bytes;
        g.evict_to(slots, max);
    }

    /// Slot capacity.
    pub fn capacity(&self) -> usize {
        self.lock().slots
    }

    /// Cached entries.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of cached timestamps.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Drops every entry of the file at `path` (any size, mtime or id): a
    /// rewritten file may keep its size and, within one timestamp tick, its
    /// mtime, so the writer purges explicitly instead of trusting the key.
    pub fn remove_path(&self, path: &Path) {
        let mut g = self.lock();
        let keys: Vec<CacheKey> = g.map.keys().filter(|k| &*k.path == path).cloned().collect();
        for k in keys {
            if let Some(s) = g.map.remove(&k) {
                g.bytes -= size_of_ts(&s.ts);
                g.lru.remove(&s.tick);
            }
        }
    }

    /// Drops every entry.
    pub fn clear(&self) {
        let mut g = self.lock();
        g.map.clear();
        g.lru.clear();
        g.bytes = 0;
    }
}

/// The process-wide cache used by [`super::MetricFile`] (256 slots, 32 MiB
/// until [`TimeFrameCache::set_capacity`] is called).
pub fn global_cache() -> &'static TimeFrameCache {
    static CACHE: OnceLock<TimeFrameCache> = OnceLock::new();
    CACHE.get_or_init(|| TimeFrameCache::new(DEFAULT_SLOTS, DEFAULT_MAX_BYTES))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u16) -> CacheKey {
        CacheKey {
            path: Arc::from(Path::new("/x/metric-2026-01-01.dat")),
            size: 100,
            mtime: None,
            id,
        }
    }

    fn ts(n: usize) -> Arc<[i64]> {
        (0..n as i64).collect()
    }

    #[test]
    fn lru_by_slots() {
        let c = TimeFrameCache::new(2, 1 << 20);
        c.insert(key(1), ts(1));
        c.insert(key(2), ts(2));
        assert_eq!(c.get(&key(1)).map(|t| t.len()), Some(1)); // 1 is now newest
        c.insert(key(3), ts(3));
        assert!(c.get(&key(2)).is_none());
        assert_eq!(c.get(&key(1)).map(|t| t.len()), Some(1));
        assert_eq!(c.get(&key(3)).map(|t| t.len()), Some(3));
        assert_eq!(c.len(), 2);
        assert_eq!(c.bytes(), 32);
    }

    #[test]
    fn lru_by_bytes_and_oversized() {
        let c = TimeFrameCache::new(10, 80);
        c.insert(key(1), ts(5)); // 40 bytes
        c.insert(key(2), ts(5)); // 80
        c.insert(key(3), ts(2)); // evicts 1 → 56
        assert!(c.get(&key(1)).is_none());
        assert_eq!(c.bytes(), 56);
        c.insert(key(4), ts(11)); // 88 > cap: not kept
        assert!(c.get(&key(4)).is_none());
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn key_distinguishes_size_and_mtime() {
        let c = TimeFrameCache::new(4, 1 << 20);
        c.insert(key(1), ts(1));
        let mut k = key(1);
        k.size = 101;
        assert!(c.get(&k).is_none());
        let mut k = key(1);
        k.mtime = Some(SystemTime::UNIX_EPOCH);
        assert!(c.get(&k).is_none());
    }

    #[test]
    fn set_capacity_evicts_and_zero_disables() {
        let c = TimeFrameCache::new(3, 1 << 20);
        for i in 1..=3 {
            c.insert(key(i), ts(1));
        }
        c.set_capacity(1);
        assert_eq!(c.len(), 1);
        assert!(c.get(&key(3)).is_some());
        c.set_capacity(0);
        assert_eq!(c.len(), 0);
        c.insert(key(5), ts(1));
        assert_eq!(c.len(), 0);
        assert_eq!(c.capacity(), 0);
        c.set_capacity(2);
        c.insert(key(6), ts(1));
        c.insert(key(6), ts(2));
        assert_eq!(c.len(), 1);
        assert_eq!(c.bytes(), 16);
        c.insert(key(7), ts(1));
        let mut other = key(8);
        other.path = Arc::from(Path::new("/y"));
        c.insert(other.clone(), ts(1));
        c.remove_path(Path::new("/x/metric-2026-01-01.dat"));
        assert_eq!(c.len(), 1);
        assert!(c.get(&other).is_some());
        assert_eq!(c.bytes(), 8);
        c.clear();
        assert!(c.is_empty());
    }
}
