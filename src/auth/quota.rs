//! Per-key request quotas: a token bucket per key, each with its own rate.
//!
//! A key may send `limit` requests at once and then `limit` per minute (tokens refill
//! continuously); a key's limit is its own (`api_keys.rate_limit_per_minute`, set by
//! an admin) or the configured default. Every answer to a key says where it stands:
//! `X-RateLimit-Limit` (requests per minute), `X-RateLimit-Remaining` (requests it may
//! send now) and `X-RateLimit-Reset` (seconds until its bucket is full again); a
//! request past the limit gets 429 with `Retry-After` (seconds until one request is
//! allowed).
//!
//! The buckets live in this process: with several `serve` replicas behind a load
//! balancer, a key may send up to its limit to each (README, "Quotas"). A bucket that
//! has refilled is the same as no bucket, so [`Quotas::trim`] (run every minute by
//! `serve`) drops those, and memory follows the keys active in the last minute or
//! so, not every key ever seen.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// Independent maps, so that requests of different keys rarely wait on one lock.
const SHARDS: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Requests the key may still send, as of `at`.
    tokens: f64,
    at: Instant,
}

/// Where a key stands after one request: the `X-RateLimit-*` figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub allowed: bool,
    /// Requests per minute (and at once).
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full.
    pub reset_secs: u64,
    /// When refused: seconds until one request is allowed (at least 1).
    pub retry_after_secs: u64,
}

#[derive(Debug)]
pub struct Quotas {
    shards: Vec<Mutex<HashMap<String, Bucket>>>,
    hasher: RandomState,
    /// Requests per minute of a key without its own limit.
    pub default_per_minute: u32,
    /// How many a key without its own limit may send at once (default: its rate).
    default_burst: u32,
}

impl Quotas {
    pub fn new(default_per_minute: u32, burst: Option<u32>) -> Quotas {
        let default_per_minute = default_per_minute.max(1);
        Quotas {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
            default_per_minute,
            default_burst: burst.filter(|b| *b > 0).unwrap_or(default_per_minute),
        }
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, HashMap<String, Bucket>> {
        let i = self.hasher.hash_one(key) as usize % SHARDS;
        // A panic while a shard was held leaves no half-written bucket.
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes one request from `key`'s bucket (its own limit, or the default).
    pub fn check(&self, key: &str, own_limit: Option<u32>, now: Instant) -> Standing {
        let (limit, capacity) = match own_limit.filter(|n| *n > 0) {
            Some(n) => (n, n),
            None => (self.default_per_minute, self.default_burst),
        };
        let rate = f64::from(limit) / 60.0; // tokens per second
        let capacity = f64::from(capacity);
        let mut shard = self.shard(key);
        let bucket = shard.entry(key.to_string()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        // A lowered limit takes effect at once: never more than the capacity.
        let tokens = (bucket.tokens + elapsed * rate).min(capacity);
        let allowed = tokens >= 1.0;
        let left = if allowed { tokens - 1.0 } else { tokens };
        *bucket = Bucket {
            tokens: left,
            at: now,
        };
        let secs = |need: f64| (need.max(0.0) / rate).ceil() as u64;
        Standing {
            allowed,
            limit,
            remaining: left.floor() as u32,
            reset_secs: secs(capacity - left),
            retry_after_secs: if allowed { 0 } else { secs(1.0 - left).max(1) },
        }
    }

    /// Drops every bucket that is full again by `now` (the same as having none), then
    /// gives the maps' spare room back; returns how many buckets are left.
    pub fn trim(&self, now: Instant) -> usize {
        let full_after = self.full_after_secs();
        let mut left = 0;
        for shard in &self.shards {
            let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
            map.retain(|_, b| now.saturating_duration_since(b.at).as_secs_f64() < full_after);
            map.shrink_to_fit();
            left += map.len();
        }
        left
    }

    /// Seconds after its last request by which any bucket is full, whatever its limit
    /// (which a bucket does not store): one of its own limit `L` holds at least 0 and
    /// gains `L` a minute, so is full within 60 s; one of the default limit lacks at
    /// most the burst, refilled at the default rate.
    fn full_after_secs(&self) -> f64 {
        (60.0 * f64::from(self.default_burst) / f64::from(self.default_per_minute)).max(60.0)
    }

    /// Buckets held now (for the metric and tests).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_key_spends_its_burst_then_its_rate() {
        let q = Quotas::new(60, None); // one a second
        let t0 = Instant::now();
        for i in 0..60 {
            let s = q.check("k", None, t0);
            assert!(s.allowed, "request {i}");
            assert_eq!((s.limit, s.remaining), (60, 59 - i));
        }
        let refused = q.check("k", None, t0);
        assert!(!refused.allowed);
        assert_eq!((refused.remaining, refused.retry_after_secs), (0, 1));
        assert_eq!(refused.reset_secs, 60, "empty: a minute to fill");
        // 2.5 s later: two requests' worth.
        let later = t0 + Duration::from_millis(2500);
        assert!(q.check("k", None, later).allowed);
        assert!(q.check("k", None, later).allowed);
        assert!(!q.check("k", None, later).allowed);
        // Another key is untouched.
        assert_eq!(q.check("other", None, later).remaining, 59);
    }

    #[test]
    fn a_key_of_its_own_limit() {
        let q = Quotas::new(6000, None);
        let t0 = Instant::now();
        let s = q.check("slow", Some(2), t0);
        assert_eq!(
            (s.allowed, s.limit, s.remaining, s.reset_secs),
            (true, 2, 1, 30)
        );
        assert!(q.check("slow", Some(2), t0).allowed);
        let s = q.check("slow", Some(2), t0);
        assert_eq!((s.allowed, s.retry_after_secs), (false, 30));
        // Lowered from the default while it had tokens: capped at once.
        assert!(q.check("k", None, t0).allowed);
        let s = q.check("k", Some(3), t0);
        assert_eq!((s.allowed, s.remaining), (true, 2));
    }

    #[test]
    fn trimming_keeps_memory_to_the_keys_active_lately() {
        let q = Quotas::new(600, None);
        let t0 = Instant::now();
        for round in 0..3u64 {
            let at = t0 + Duration::from_secs(120 * round);
            for i in 0..100_000 {
                assert!(q.check(&format!("key-{round}-{i}"), None, at).allowed);
            }
            assert_eq!(
                q.len(),
                100_000,
                "round {round}: last round's keys were trimmed"
            );
            // Within the minute, every bucket may still be short of full: all kept.
            assert_eq!(q.trim(at + Duration::from_secs(30)), 100_000);
            // A minute on, each has refilled: all dropped, and the room given back.
            assert_eq!(q.trim(at + Duration::from_secs(61)), 0);
            let room: usize = q.shards.iter().map(|s| s.lock().unwrap().capacity()).sum();
            assert!(room < 1_000, "{room} slots kept after trimming");
        }
        // A key refused and then trimmed starts again with a full bucket, as it would
        // have after waiting.
        let q = Quotas::new(1, None);
        assert!(q.check("k", None, t0).allowed);
        assert!(!q.check("k", None, t0).allowed);
        assert_eq!(q.trim(t0 + Duration::from_secs(61)), 0);
        assert!(q.check("k", None, t0 + Duration::from_secs(61)).allowed);
    }
}
