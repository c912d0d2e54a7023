//! `shopscore demo`: a synthetic marketplace (deterministic for its options), streamed
//! through the same validation and writer as the API, then recomputed as of its end.

mod load;
mod market;

pub use load::{load, register_shops, LoadOptions, Loaded};
pub use market::{generate, Marketplace};

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::jobs::recompute::{recompute, RecomputeOutcome, Stop};
use crate::policy::Policy;

/// The industries demo shops are spread over (none on the gold-tier excluded list).
pub const INDUSTRIES: [&str; 8] = [
    "apparel",
    "food",
    "electronics",
    "beauty",
    "home",
    "sports",
    "toys",
    "books",
];

/// A demo shop's id and industry.
pub fn shop(s: usize) -> (String, &'static str) {
    (
        format!("demo-shop-{s:03}"),
        INDUSTRIES[s % INDUSTRIES.len()],
    )
}

/// What `shopscore demo` generates.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub shops: usize,
    pub days: i64,
    pub seed: u64,
    /// The last instant generated; the recompute is as of it too.
    pub end: DateTime<Utc>,
}

/// What a demo run loaded.
#[derive(Debug)]
pub struct DemoSummary {
    pub events: usize,
    pub accepted: usize,
    pub duplicates: usize,
    pub recompute: RecomputeOutcome,
}

/// Orders per shop per day in the demo marketplace.
pub const ORDERS_PER_DAY: usize = 8;

/// Registers the demo shops, streams the marketplace through the API's validation and
/// writer (so a second run with the same options stores nothing new), and recomputes
/// every shop as of `end`. `now` is the clock that validation checks times against.
pub async fn run(
    pool: &PgPool,
    policy: &Policy,
    opts: &DemoOptions,
    now: DateTime<Utc>,
    progress: Option<&indicatif::ProgressBar>,
) -> anyhow::Result<DemoSummary> {
    let market = Marketplace {
        shops: opts.shops,
        days: opts.days,
        orders_per_day: ORDERS_PER_DAY,
        seed: opts.seed,
        end: opts.end,
    };
    register_shops(pool, opts.shops).await?;
    let loaded = load(pool, &market, now, &LoadOptions::default(), progress).await?;
    if loaded.accepted > 0 {
        // Planner statistics for what was just loaded: autovacuum would gather them
        // later, but the recompute runs now, and on tables it believes empty it picks
        // nested loops (EXPLAIN ANALYZE in BENCHMARKS.md). ANALYZE samples, so it stays
        // cheap at size.
        sqlx::query(include_str!("sql/analyze.sql"))
            .execute(pool)
            .await?;
    }
    let recompute = recompute(pool, policy, now, opts.end, None, None, &Stop::never()).await?;
    Ok(DemoSummary {
        events: loaded.events,
        accepted: loaded.accepted,
        duplicates: loaded.duplicates,
        recompute,
    })
}
