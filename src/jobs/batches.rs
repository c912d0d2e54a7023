//! The compute stage of a run: the shops in batches, each batch's metric rows loaded
//! and turned into figures and tier inputs. Batches are independent of each other, so
//! `CONCURRENT` of them run at once, each as a task of its own: while one batch scores
//! its rows on one core, another's queries keep Postgres busy (in one task, a batch
//! scoring its rows would hold up the other's next query). Each batch's figures and
//! tier inputs are written into the run's transaction as soon as it completes, while
//! later batches compute, rather than all at the end, when nothing else would run
//! beside them. The targets' figures are then held in the run's transaction for the
//! cards (`store::held`), not in memory: a run holds a few batches, whatever its size.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::{PgConnection, PgPool};
use tokio::task::JoinSet;

use super::stop::{RecomputeError, Stop};
use super::{figures, tiers};
use crate::domain::ShopInfo;
use crate::metric::loader::Loader;
use crate::policy::Policy;
use crate::scoring::assemble::ShopFigures;
use crate::scoring::periods::Periods;
use crate::scoring::tiers::TierRow;
use crate::store;

/// Shops per batch: bounds the memory of the batches computed at once, and keeps each
/// family query's `ANY($1)` list moderate (sizes measured in BENCHMARKS.md).
pub const BATCH: usize = 250;
/// Batches computed at once (each holds one pooled connection at a time).
const CONCURRENT: usize = 3;

/// What every batch of one run shares.
pub struct Run {
    pub pool: PgPool,
    pub policy: Policy,
    pub periods: Periods,
    pub stop: Stop,
}

/// Figures for `targets` and tier inputs for them and `tier_extra`, each batch's written
/// in `tx` (`shop_figures`, `cs_tiers`; the month is not re-ranked here) as it
/// completes, and the figures held for the cards (`store::held`, whose table `tx` has).
/// A failing batch fails the run; the batches still running are then aborted (the
/// `JoinSet` is dropped).
pub async fn compute(
    run: Run,
    tx: &mut PgConnection,
    targets: &[&ShopInfo],
    tier_extra: &[&ShopInfo],
) -> Result<(), RecomputeError> {
    let run = Arc::new(run);
    let owned = |shops: &[&ShopInfo]| shops.iter().map(|s| (*s).clone()).collect::<Vec<_>>();
    let mut pending = (targets.chunks(BATCH).map(|b| (owned(b), true)))
        .chain(tier_extra.chunks(BATCH).map(|b| (owned(b), false)));
    let mut running = JoinSet::new();
    loop {
        while running.len() < CONCURRENT {
            let Some((shops, scored)) = pending.next() else {
                break;
            };
            running.spawn(batch(Arc::clone(&run), shops, scored));
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let done = done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
        if !done.figures.is_empty() {
            let shops: Vec<&ShopInfo> = done.shops.iter().collect();
            store::figures::store(tx, run.periods.as_of, &shops, &done.figures).await?;
            store::held::hold(tx, &done.shops, &done.held).await?;
        }
        store::tiers::write_inputs(tx, &run.policy, run.periods.tier.month, &done.tier_rows)
            .await?;
    }
    Ok(())
}

/// What one batch computed.
struct Done {
    shops: Vec<ShopInfo>,
    figures: HashMap<String, ShopFigures>,
    /// The figures as `store::held` keeps them, one per shop.
    held: Vec<String>,
    tier_rows: Vec<TierRow>,
}

/// One batch: its figures (when `scored`: targets of the run) and tier inputs (always).
async fn batch(run: Arc<Run>, shops: Vec<ShopInfo>, scored: bool) -> Result<Done, RecomputeError> {
    run.stop.check()?;
    let infos: Vec<&ShopInfo> = shops.iter().collect();
    let ids = infos.iter().map(|s| s.shop_id.clone()).collect();
    let mut loader = Loader::new(&run.pool, ids);
    let policy = &run.policy;
    let figures = match scored {
        true => figures::shop_figures(&mut loader, policy, &run.periods, &infos).await?,
        false => HashMap::new(),
    };
    let tier_rows = tiers::tier_inputs(&mut loader, policy, &run.periods.tier, &infos).await?;
    let held = match scored {
        true => store::held::serialise(&shops, &figures),
        false => Vec::new(),
    };
    Ok(Done {
        shops,
        figures,
        held,
        tier_rows,
    })
}
