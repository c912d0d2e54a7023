//! Verified API keys, kept in memory for a few seconds so that an authenticated read
//! costs one query (its data), not two (the key, then the data).
//!
//! Revocation must still take effect at once, on every replica:
//! - revoking a key sends `NOTIFY shopscore_keys, '<id>'` in the revoking transaction,
//!   and every `serve` process listens on that channel (`cache::listen`) and drops the
//!   id when it hears it (the process that revoked also drops it directly);
//! - if the listening connection is lost, notifications may have been missed, so the
//!   whole cache is dropped and the listener reconnects;
//! - and every entry expires after [`KeyCache::TTL`] whatever happens, which bounds how
//!   long a revoked key can work if the listener is down.
//!
//! Only keys that verified are cached (a wrong secret or an unknown id is looked up
//! each time), and the cached secret hash is compared again on every request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::StoredKey;

/// A verified key as stored, and when it was read.
#[derive(Debug, Clone)]
struct CachedKey {
    key: StoredKey,
    fetched: Instant,
}

#[derive(Debug, Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, CachedKey>>,
}

impl KeyCache {
    /// How long an entry is trusted without hearing from Postgres.
    pub const TTL: Duration = Duration::from_secs(5);
    /// Entries kept at most (a full cache is emptied, not grown).
    const MAX: usize = 10_000;

    /// The map; a panic while it was held leaves nothing half-done, so poison is ignored.
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedKey>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, id: &str) -> Option<StoredKey> {
        self.entries()
            .get(id)
            .filter(|k| k.fetched.elapsed() < Self::TTL)
            .map(|k| k.key.clone())
    }

    /// Keeps `key`; one already held keeps its age (rewriting it does not extend it).
    pub fn put(&self, id: &str, key: StoredKey) {
        let mut entries = self.entries();
        let fetched = entries
            .get(id)
            .map(|k| k.fetched)
            .filter(|t| t.elapsed() < Self::TTL)
            .unwrap_or_else(Instant::now);
        if entries.len() >= Self::MAX {
            entries.retain(|_, k| k.fetched.elapsed() < Self::TTL);
            if entries.len() >= Self::MAX {
                entries.clear();
            }
        }
        entries.insert(id.to_string(), CachedKey { key, fetched });
    }

    pub fn forget(&self, id: &str) {
        self.entries().remove(id);
    }

    pub fn clear(&self) {
        self.entries().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> StoredKey {
        StoredKey::sample(&[1, 2, 3])
    }

    #[test]
    fn entries_are_forgotten_and_expire() {
        let cache = KeyCache::default();
        cache.put("a", key());
        cache.put("b", key());
        assert!(cache.get("a").is_some());
        cache.forget("a");
        assert!(cache.get("a").is_none());
        assert!(cache.get("b").is_some());
        cache.entries().insert(
            "c".into(),
            CachedKey {
                key: key(),
                fetched: Instant::now() - KeyCache::TTL,
            },
        );
        assert!(cache.get("c").is_none(), "older than the TTL");
        cache.clear();
        assert!(cache.get("b").is_none());
    }
}
