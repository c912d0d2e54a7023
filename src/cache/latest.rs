//! The latest scorecard of each shop, kept in memory so that a dashboard's poll does
//! not reach Postgres (SPEC §7 asks one node to serve 10 000 shops' dashboards).
//!
//! A shop's latest scorecard changes only when a recompute commits, so:
//! - a recompute sends `NOTIFY shopscore_scorecards` in its storing transaction, and
//!   every `serve` process empties this cache when it hears it (`cache::listen`), a
//!   few milliseconds after the commit;
//! - a read that missed the cache fills it only if no clear happened since the read
//!   began ([`Generation`]): a read that raced a recompute's commit may have seen the
//!   old card, and must not put it back after the notification emptied the cache;
//! - if the listening connection is lost, the cache is emptied (notifications may have
//!   been missed), and every entry expires after [`LatestCache::TTL`] whatever happens,
//!   which bounds how stale a card can be if the listener silently stops hearing.
//!
//! Only "the latest" is cached; a read with `?as_of=` goes to Postgres.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many clears had happened when a read began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

#[derive(Debug)]
struct Inner<V> {
    generation: u64,
    entries: HashMap<String, (V, Instant)>,
}

/// Per shop, the latest value read (`V`: the response body, ready to send).
#[derive(Debug)]
pub struct LatestCache<V> {
    inner: Mutex<Inner<V>>,
}

impl<V> Default for LatestCache<V> {
    fn default() -> Self {
        LatestCache {
            inner: Mutex::new(Inner {
                generation: 0,
                entries: HashMap::new(),
            }),
        }
    }
}

impl<V: Clone> LatestCache<V> {
    /// How long an entry is trusted without hearing from Postgres.
    pub const TTL: Duration = Duration::from_secs(30);
    /// Entries kept at most: every shop of SPEC §7's 10 000 (~4 KB each). A full cache
    /// drops one entry for each new one.
    pub const MAX: usize = 10_000;

    /// The state; a panic while it was held leaves nothing half-done, so poison is ignored.
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, shop_id: &str) -> Option<V> {
        self.inner()
            .entries
            .get(shop_id)
            .filter(|(_, at)| at.elapsed() < Self::TTL)
            .map(|(v, _)| v.clone())
    }

    /// Take this before reading what [`put`](Self::put) will store.
    pub fn generation(&self) -> Generation {
        Generation(self.inner().generation)
    }

    /// Stores `value`, read after `seen` was taken, unless the cache was cleared since.
    pub fn put(&self, shop_id: &str, seen: Generation, value: V) {
        let mut inner = self.inner();
        if inner.generation != seen.0 {
            return;
        }
        if inner.entries.len() >= Self::MAX && !inner.entries.contains_key(shop_id) {
            let victim = inner.entries.keys().next().cloned();
            if let Some(victim) = victim {
                inner.entries.remove(&victim);
            }
        }
        inner
            .entries
            .insert(shop_id.to_string(), (value, Instant::now()));
    }

    pub fn clear(&self) {
        let mut inner = self.inner();
        inner.generation += 1;
        inner.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.inner().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_raced_a_clear_is_not_stored() {
        let cache = LatestCache::<u32>::default();
        let seen = cache.generation();
        cache.put("a", seen, 1);
        assert_eq!(cache.get("a"), Some(1));
        let before = cache.generation();
        cache.clear(); // a recompute committed while the read was in flight
        cache.put("a", before, 2);
        assert_eq!(cache.get("a"), None, "the old card must not come back");
        cache.put("a", cache.generation(), 3);
        assert_eq!(cache.get("a"), Some(3));
    }

    #[test]
    fn entries_expire_and_the_cache_is_bounded() {
        let cache = LatestCache::<u32>::default();
        let g = cache.generation();
        cache
            .inner()
            .entries
            .insert("old".into(), (1, Instant::now() - LatestCache::<u32>::TTL));
        assert_eq!(cache.get("old"), None, "older than the TTL");
        for i in 0..LatestCache::<u32>::MAX + 5 {
            cache.put(&format!("s{i}"), g, 0);
        }
        assert_eq!(cache.len(), LatestCache::<u32>::MAX);
        assert_eq!(
            cache.get(&format!("s{}", LatestCache::<u32>::MAX + 4)),
            Some(0)
        );
    }
}
