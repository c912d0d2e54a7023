//! The recompute runner: metrics for a set of shops as of an instant, scored by the pure
//! core, stored as scorecard snapshots (SPEC §5 `POST /v1/recompute`, §6).
//!
//! Shape of a run, all of its writes in one transaction that first takes the recompute
//! lock:
//! 1. per batch of shops (`jobs::batches`, three at once), every scope (the rolling
//!    windows, the closed periods of stars, programmes and tiers) loads the metric
//!    families it needs with one query each (`metric::loader`), and `figures`,
//!    `programs` and `tiers` compute from them; as each batch completes, its rolling
//!    figures go to `shop_figures` (and, whole, to the run's `store::held`) and its
//!    tier inputs of the latest complete month to `cs_tiers`;
//! 2. the whole month is re-ranked (`store::tiers`), and industry averages are taken
//!    over `shop_figures` (`store::figures`);
//! 3. scorecards are assembled (`scoring::assemble`) from the held figures and written
//!    chunk by chunk (`jobs::cards`), and the dirty marks read at the start cleared.

use std::collections::HashSet;
use std::time::Instant;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::PgPool;

use super::batches;
use super::cards::{self, CardRun};
pub use super::stop::{RecomputeError, Stop};
use crate::db::locks;
use crate::policy::Policy;
use crate::scoring::periods::Periods;
use crate::store;
use crate::time::format_time;
use crate::webhook::outbox::Emission;
use crate::webhook::standing::score_thresholds;

pub use crate::store::shops::unknown as unknown_shops;

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RecomputeOutcome {
    pub as_of: String,
    pub shops_scored: usize,
    pub duration_ms: u64,
}

/// Recomputes `shop_ids` (all known shops when `None`) as of `as_of`, at the instant
/// `now` (the scorecards' `computed_at`, and what is "current", see the look-back in
/// `store::figures`). `run_id`: the run on record, named by the webhook events the run
/// emits.
pub async fn recompute(
    pool: &PgPool,
    policy: &Policy,
    now: DateTime<Utc>,
    as_of: DateTime<Utc>,
    shop_ids: Option<&[String]>,
    run_id: Option<i64>,
    stop: &Stop,
) -> Result<RecomputeOutcome, RecomputeError> {
    // Snapshots are keyed by `as_of` in Postgres, which keeps microseconds.
    let (as_of, started_at, started) =
        (as_of.trunc_subsecs(6), now.trunc_subsecs(6), Instant::now());
    let tz = policy.tz;
    let marks = store::marks::present(pool).await?;
    // Orders and conversations are folded on demand (`ingest::fold`): every batch whose
    // mark was just read is in the fold.
    crate::ingest::fold_queued(pool).await?;
    let all = store::shops::all(pool).await?;
    let targets = store::shops::select(&all, shop_ids).map_err(RecomputeError::UnknownShops)?;

    // The tier month, and which shops need tier inputs: the targets, plus any shop with
    // events before the month's end that has no row for it yet (first run of a month).
    let periods = Periods::new(policy, as_of);
    let tier_month = periods.tier.month;
    let have_rows = store::shops::with_tier_row(pool, tier_month).await?;
    let tier_extra = store::shops::needing_tier_row(&all, &targets, &have_rows, tier_month.end(tz));

    // One transaction stores the whole run: each batch's figures and tier inputs as it
    // completes, then the month's ranks and the cards. Figures later than `as_of` are
    // set aside first (a look-back, `store::figures`).
    let mut tx = pool.begin().await?;
    locks::for_transaction(&mut tx, locks::RECOMPUTE).await?;
    let target_list: Vec<&str> = targets.iter().map(|s| s.shop_id.as_str()).collect();
    let kept = store::figures::set_aside_later(&mut tx, &target_list, as_of).await?;
    store::held::create(&mut tx).await?;

    let phase = Instant::now();
    let run = batches::Run {
        pool: pool.clone(),
        policy: policy.clone(),
        periods,
        stop: stop.clone(),
    };
    batches::compute(run, &mut tx, &targets, &tier_extra).await?;
    record_phase("compute", phase);

    let phase = Instant::now();
    store::tiers::rerank(&mut tx, policy, tier_month).await?;
    let industries: Vec<String> = targets
        .iter()
        .map(|s| s.industry.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let industry = store::figures::industries(&mut tx, &industries, None).await?;
    if !kept.is_empty() {
        store::figures::restore_later(&mut tx).await?;
    }

    let card_run = CardRun {
        policy: policy.clone(),
        as_of,
        started_at,
        computed_at: format_time(started_at, tz),
        industry,
        tier_month,
        emission: Emission {
            as_of,
            run_id,
            at: started_at,
            tz,
            thresholds: score_thresholds(policy),
        },
    };
    let written = cards::assemble_and_write(&mut tx, card_run).await?;
    // A look-back scores the past, not the events behind a mark: the shops whose
    // current figures were set aside keep their marks.
    let scored: Vec<&str> = target_list
        .iter()
        .copied()
        .filter(|id| !kept.contains(*id))
        .collect();
    store::marks::clear(&mut tx, &marks, &scored).await?;
    // The last point at which giving up costs nothing: dropping `tx` rolls back.
    stop.check()?;
    tx.commit().await?;
    record_phase("store", phase);
    metrics::counter!("shopscore_shops_scored_total").increment(written as u64);
    Ok(RecomputeOutcome {
        as_of: format_time(as_of, tz),
        shops_scored: written,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

/// `shopscore_recompute_phase_seconds{phase}`, and a debug line with the same figure.
fn record_phase(phase: &'static str, started: Instant) {
    let seconds = started.elapsed().as_secs_f64();
    metrics::histogram!("shopscore_recompute_phase_seconds", "phase" => phase).record(seconds);
    tracing::debug!(phase, seconds, "recompute phase done");
}
