//! What a `serve` process keeps in memory to answer without Postgres, and the one
//! listener that keeps it true across replicas.
//!
//! Each cache is told of changes by `NOTIFY` on its own channel, sent inside the
//! transaction that makes the change (so it arrives only if that commits):
//! - `keys`: verified API keys; `shopscore_keys` names a revoked key;
//! - `latest`: each shop's latest scorecard; `shopscore_scorecards` says a recompute
//!   stored new ones.
//!
//! One connection of its own listens on both. When it is lost, notifications may have
//! been missed, so every cache is emptied before it listens again, and each cache's
//! entries also expire after a TTL of their own.

pub mod keys;
pub mod latest;

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

pub use keys::KeyCache;
pub use latest::LatestCache;

/// The channel revocations are announced on (payload: the key's id).
pub const KEYS_CHANNEL: &str = "shopscore_keys";
/// The channel a recompute announces new scorecards on (no payload).
pub const SCORECARDS_CHANNEL: &str = "shopscore_scorecards";

/// A cache that a channel's notifications invalidate.
pub trait Invalidated: Send + Sync {
    /// A notification arrived on the cache's channel.
    fn heard(&self, payload: &str);
    /// Notifications may have been missed: forget everything.
    fn clear_all(&self);
}

impl Invalidated for KeyCache {
    fn heard(&self, key_id: &str) {
        self.forget(key_id);
    }
    fn clear_all(&self) {
        self.clear();
    }
}

impl<V: Clone + Send> Invalidated for LatestCache<V> {
    fn heard(&self, _: &str) {
        self.clear();
    }
    fn clear_all(&self) {
        self.clear();
    }
}

/// Channel and cache pairs.
pub type Subscribers = Vec<(&'static str, Arc<dyn Invalidated>)>;

/// Listens until `stop` is cancelled. A lost connection empties every cache, then the
/// listener reconnects (after a second, so a database that is down is not hammered).
pub async fn listen(pool: PgPool, subscribers: Subscribers, stop: CancellationToken) {
    while !stop.is_cancelled() {
        match listen_once(&pool, &subscribers, &stop).await {
            Ok(()) => return,
            Err(e) => {
                clear_all(&subscribers);
                tracing::warn!(error = %e, "cache listener lost; caches cleared, reconnecting");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

fn clear_all(subscribers: &Subscribers) {
    for (_, cache) in subscribers {
        cache.clear_all();
    }
}

async fn listen_once(
    pool: &PgPool,
    subscribers: &Subscribers,
    stop: &CancellationToken,
) -> Result<(), sqlx::Error> {
    // A connection of its own (a pool of one, which the listener reconnects through),
    // not one of the request pool's.
    let own = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(pool.connect_options().as_ref().clone())
        .await?;
    let mut listener = PgListener::connect_with(&own).await?;
    listener
        .listen_all(subscribers.iter().map(|(channel, _)| *channel))
        .await?;
    // Anything announced before this point was missed: start empty.
    clear_all(subscribers);
    loop {
        let next = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            n = listener.try_recv() => n?,
        };
        match next {
            Some(n) => subscribers
                .iter()
                .filter(|(channel, _)| *channel == n.channel())
                .for_each(|(_, cache)| cache.heard(n.payload())),
            // The connection was lost (try_recv reconnects on the next call):
            // notifications sent meanwhile are gone.
            None => {
                clear_all(subscribers);
                tracing::warn!("cache listener reconnecting; caches cleared");
            }
        }
    }
}
