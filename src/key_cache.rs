//! Verified API keys, kept in memory for a few seconds so that an authenticated read
//! costs one query (its data), not two (the key, then the data).
//!
//! Revocation must still take effect at once, on every replica:
//! - revoking a key sends `NOTIFY shopscore_keys, '<id>'` in the revoking transaction,
//!   and every `serve` process listens on that channel and drops the id when it hears
//!   it (the process that revoked also drops it directly);
//! - if the listening connection is lost, notifications may have been missed, so the
//!   whole cache is dropped and the listener reconnects;
//! - and every entry expires after [`KeyCache::TTL`] whatever happens, which bounds how
//!   long a revoked key can work if the listener is down.
//!
//! Only keys that verified are cached (a wrong secret or an unknown id is looked up
//! each time), and the cached secret hash is compared again on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::auth::Role;

/// The channel revocations are announced on.
pub const CHANNEL: &str = "shopscore_keys";

/// A verified key as stored.
#[derive(Debug, Clone)]
pub struct CachedKey {
    pub role: Role,
    pub shops: Vec<String>,
    pub secret_hash: Vec<u8>,
    /// `api_keys.last_used_at` as this process last knew or wrote it.
    pub last_used_at: Option<DateTime<Utc>>,
    fetched: Instant,
}

impl CachedKey {
    pub fn new(
        role: Role,
        shops: Vec<String>,
        secret_hash: Vec<u8>,
        last_used_at: Option<DateTime<Utc>>,
    ) -> CachedKey {
        CachedKey {
            role,
            shops,
            secret_hash,
            last_used_at,
            fetched: Instant::now(),
        }
    }
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

    pub fn get(&self, id: &str) -> Option<CachedKey> {
        self.entries()
            .get(id)
            .filter(|k| k.fetched.elapsed() < Self::TTL)
            .cloned()
    }

    pub fn put(&self, id: &str, key: CachedKey) {
        let mut entries = self.entries();
        if entries.len() >= Self::MAX {
            entries.retain(|_, k| k.fetched.elapsed() < Self::TTL);
            if entries.len() >= Self::MAX {
                entries.clear();
            }
        }
        entries.insert(id.to_string(), key);
    }

    pub fn forget(&self, id: &str) {
        self.entries().remove(id);
    }

    pub fn clear(&self) {
        self.entries().clear();
    }
}

/// Listens for revocations until `stop` is cancelled: each one drops its key; a lost
/// connection drops them all, then the listener reconnects (after a second, so a
/// database that is down is not hammered).
pub async fn listen(pool: PgPool, cache: Arc<KeyCache>, stop: CancellationToken) {
    while !stop.is_cancelled() {
        match listen_once(&pool, &cache, &stop).await {
            Ok(()) => return,
            Err(e) => {
                cache.clear();
                tracing::warn!(error = %e, "key revocation listener lost; cache cleared, reconnecting");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

async fn listen_once(
    pool: &PgPool,
    cache: &KeyCache,
    stop: &CancellationToken,
) -> Result<(), sqlx::Error> {
    // A connection of its own (a pool of one, which the listener reconnects through),
    // not one of the request pool's.
    let own = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(pool.connect_options().as_ref().clone())
        .await?;
    let mut listener = PgListener::connect_with(&own).await?;
    listener.listen(CHANNEL).await?;
    // Anything revoked before this point was missed: start empty.
    cache.clear();
    loop {
        let next = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            n = listener.try_recv() => n?,
        };
        match next {
            Some(n) => cache.forget(n.payload()),
            // The connection was lost (try_recv reconnects on the next call):
            // notifications sent meanwhile are gone.
            None => {
                cache.clear();
                tracing::warn!("key revocation listener reconnecting; cache cleared");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CachedKey {
        CachedKey::new(Role::Ops, vec![], vec![1, 2, 3], None)
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
        let mut old = key();
        old.fetched = Instant::now() - KeyCache::TTL;
        cache.put("c", old);
        assert!(cache.get("c").is_none(), "older than the TTL");
        cache.clear();
        assert!(cache.get("b").is_none());
    }
}
