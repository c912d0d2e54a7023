//! The compute stage of a run: the shops in batches, each batch's metric rows loaded
//! and turned into figures and tier inputs. Batches are independent until the store
//! stage, so `CONCURRENT` of them run at once, each as a task of its own: while one
//! batch scores its rows on one core, another's queries keep Postgres busy. (In one
//! task, a batch scoring its rows held up the other's next query: a 10 000-shop run had
//! no query running for a third of its compute stage.)

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::task::JoinSet;

use super::recompute::{RecomputeError, Stop};
use super::{figures, tiers};
use crate::metric::loader::Loader;
use crate::policy::Policy;
use crate::scoring::assemble::ShopFigures;
use crate::scoring::tiers::TierRow;
use crate::store::shops::ShopInfo;
use crate::time::Month;

/// Shops per batch: bounds memory and keeps each family query's `ANY($1)` list moderate.
pub const BATCH: usize = 500;
/// Batches computed at once (each holds one pooled connection at a time).
const CONCURRENT: usize = 3;

/// What the compute stage hands to the store stage.
#[derive(Default)]
pub struct Computed {
    pub figures: HashMap<String, ShopFigures>,
    pub tier_rows: Vec<TierRow>,
}

/// What every batch of one run shares.
struct Run {
    pool: PgPool,
    policy: Policy,
    as_of: DateTime<Utc>,
    tier_month: Month,
    stop: Stop,
}

/// Figures for `targets` and tier inputs for them and `tier_extra`. A failing batch
/// fails the run; the batches still running are then aborted (the `JoinSet` is dropped).
pub async fn compute(
    pool: &PgPool,
    policy: &Policy,
    as_of: DateTime<Utc>,
    tier_month: Month,
    stop: &Stop,
    targets: &[&ShopInfo],
    tier_extra: &[&ShopInfo],
) -> Result<Computed, RecomputeError> {
    let run = Arc::new(Run {
        pool: pool.clone(),
        policy: policy.clone(),
        as_of,
        tier_month,
        stop: stop.clone(),
    });
    let owned = |shops: &[&ShopInfo]| shops.iter().map(|s| (*s).clone()).collect::<Vec<_>>();
    let mut pending = (targets.chunks(BATCH).map(|b| (owned(b), true)))
        .chain(tier_extra.chunks(BATCH).map(|b| (owned(b), false)));
    let mut running = JoinSet::new();
    let mut out = Computed::default();
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
        let (f, t) = done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
        out.figures.extend(f);
        out.tier_rows.extend(t);
    }
    Ok(out)
}

/// One batch: its figures (when `scored`: targets of the run) and tier inputs (always).
async fn batch(
    run: Arc<Run>,
    shops: Vec<ShopInfo>,
    scored: bool,
) -> Result<(HashMap<String, ShopFigures>, Vec<TierRow>), RecomputeError> {
    run.stop.check()?;
    let shops: Vec<&ShopInfo> = shops.iter().collect();
    let ids = shops.iter().map(|s| s.shop_id.clone()).collect();
    let mut loader = Loader::new(&run.pool, ids);
    let policy = &run.policy;
    let figures = match scored {
        true => figures::shop_figures(&mut loader, policy, run.as_of, &shops).await?,
        false => HashMap::new(),
    };
    let tiers = tiers::tier_inputs(&mut loader, policy, run.as_of, run.tier_month, &shops).await?;
    Ok((figures, tiers))
}
