//! The state every handler shares (`AppState`) and what bounds ingest. Routes, layers
//! and the OpenAPI document are in `router`; metrics in `telemetry`.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;

use crate::auth::Quotas;
use crate::clock::SharedClock;
use crate::config::HttpOpts;
use crate::db::retry::RetryPolicy;
use crate::ingest::budget::BodyBudget;
use crate::policy::Policy;

/// Cheap to clone: everything behind `Arc`s.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// Where reads that may lag go (`DATABASE_READ_URL`, a streaming replica):
    /// scorecards, history, ranking, tiers, drill-down, runs. The primary's pool when
    /// none is configured.
    pub read_pool: PgPool,
    /// Whether `read_pool` is a server of its own.
    pub reads_separate: bool,
    /// Whether the primary answered its last ping (`serve` pings it every second when
    /// a read pool is configured): while it does not, keys are looked up on the read
    /// pool and their use is not recorded.
    pub primary_up: Arc<AtomicBool>,
    pub policy: Arc<Policy>,
    /// Each key's request quota (`auth::quota`).
    pub quotas: Arc<Quotas>,
    /// The longest a new key may live (`SHOPSCORE_KEY_MAX_DAYS`); `None`: no limit.
    pub key_max_days: Option<u32>,
    pub ingest: Arc<IngestLimits>,
    pub shutting_down: Arc<AtomicBool>,
    /// What "now" is (a parameter, so tests can set it).
    pub clock: SharedClock,
    /// This process's name in `job_runs.replica`.
    pub replica: Arc<str>,
    /// Longest a `POST /v1/recompute` may run before it rolls back with 503.
    pub recompute_limit: Duration,
    /// Whether webhook endpoints may be private or loopback addresses.
    pub webhook_allow_private: bool,
    /// Keys verified in the last seconds (`cache::keys`).
    pub keys: Arc<crate::cache::KeyCache>,
    /// Each shop's latest scorecard, ready to send (`cache::latest`).
    pub latest: Arc<crate::cache::LatestCache<crate::etag::Tagged>>,
    /// Where `POST /v1/recompute` runs (`jobs::runtime`): in `serve`, the recompute
    /// runtime and its pool; otherwise the caller's.
    pub jobs: crate::jobs::runtime::Jobs,
}

/// What bounds one `POST /v1/events`: body size, the shared memory budget, and the
/// writer (statements at once, and how often one that failed for a transient reason is
/// run again).
#[derive(Debug)]
pub struct IngestLimits {
    pub max_body: u64,
    pub budget: BodyBudget,
    /// Writes the batches: at most `ingest_writers` statements at once, requests that
    /// wait together written as one (`ingest::group`).
    pub writer: crate::ingest::GroupWriter,
}

impl AppState {
    /// The caches `cache::listen` keeps true, each with its channel.
    pub fn cache_subscribers(&self) -> crate::cache::Subscribers {
        vec![
            (crate::cache::KEYS_CHANNEL, self.keys.clone()),
            (crate::cache::SCORECARDS_CHANNEL, self.latest.clone()),
        ]
    }

    pub fn new(pool: PgPool, policy: Arc<Policy>, http: &HttpOpts) -> AppState {
        let retry = RetryPolicy {
            attempts: http.db_attempts,
            ..RetryPolicy::default()
        };
        let writer =
            crate::ingest::GroupWriter::new(pool.clone(), http.ingest_writers as usize, retry);
        let jobs = crate::jobs::runtime::Jobs::here(pool.clone());
        AppState {
            read_pool: pool.clone(),
            reads_separate: false,
            primary_up: Arc::new(AtomicBool::new(true)),
            pool,
            policy,
            quotas: Arc::new(Quotas::new(
                http.rate_limit_per_minute,
                http.rate_limit_burst,
            )),
            key_max_days: http.key_max_days,
            ingest: Arc::new(IngestLimits {
                max_body: http.max_ingest_mb as u64 * 1024 * 1024,
                budget: BodyBudget::new(
                    http.ingest_budget_mb * 1024 * 1024,
                    Duration::from_secs(http.ingest_wait),
                ),
                writer,
            }),
            shutting_down: Arc::new(AtomicBool::new(false)),
            clock: crate::clock::system(),
            replica: crate::jobs::runs::default_replica().into(),
            recompute_limit: Duration::from_secs(http.recompute_timeout),
            webhook_allow_private: http.webhook_allow_private,
            keys: Arc::default(),
            latest: Arc::default(),
            jobs,
        }
    }

    pub fn with_clock(mut self, clock: SharedClock) -> AppState {
        self.clock = clock;
        self
    }

    /// Sends the lagging reads to `read_pool`.
    pub fn with_read_pool(mut self, read_pool: PgPool) -> AppState {
        self.read_pool = read_pool;
        self.reads_separate = true;
        self
    }

    /// Runs requested recomputes on `jobs` (`serve`: the recompute runtime).
    pub fn with_jobs(mut self, jobs: crate::jobs::runtime::Jobs) -> AppState {
        self.jobs = jobs;
        self
    }

    pub fn with_replica(mut self, replica: &str) -> AppState {
        self.replica = replica.into();
        self
    }
}

impl crate::auth::AuthState for AppState {
    fn pools(&self) -> crate::auth::AuthPools<'_> {
        crate::auth::AuthPools {
            primary: &self.pool,
            read: self.reads_separate.then_some(&self.read_pool),
            primary_up: self.primary_up.load(std::sync::atomic::Ordering::Relaxed),
        }
    }
    fn keys(&self) -> &crate::cache::KeyCache {
        &self.keys
    }
    fn quotas(&self) -> &Quotas {
        &self.quotas
    }
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
