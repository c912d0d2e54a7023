//! A run's scorecards, assembled and written chunk by chunk. Blocking threads assemble
//! and serialise the next chunks (`scoring::assemble`, then JSON) while Postgres writes
//! the one before, so this last phase of a run costs about the larger of the two, not
//! their sum (at 10 000 shops, making the cards took 1.4 s of one core and writing them
//! 0.5 s; the phase went from 2.1 s to 0.6 s, of which 0.54 s is spent writing).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sqlx::PgConnection;

use crate::policy::Policy;
use crate::scoring::assemble::{assemble, CardHead, IndustryFigures, ShopFigures};
use crate::scoring::card::CsTier;
use crate::store::cards::{self, CardRows, CHUNK};

/// Everything the cards of a run are made of.
pub struct CardInputs {
    /// The targets, in run order: shop id and industry.
    pub shops: Vec<(String, String)>,
    pub figures: HashMap<String, ShopFigures>,
    pub industry: IndustryFigures,
    pub tiers: HashMap<String, CsTier>,
    /// The cards' `computed_at`, formatted once for the run.
    pub computed_at: String,
}

/// Chunks being made at once, on blocking threads, while the writer writes the one
/// before them.
const MAKING: usize = 2;

/// One chunk's share of the inputs: shop id, industry, figures and tier card.
type Job = Vec<(String, String, ShopFigures, Option<CsTier>)>;

/// Assembles every target's card and writes it in `tx`; the number written.
pub async fn assemble_and_write(
    tx: &mut PgConnection,
    policy: &Policy,
    as_of: DateTime<Utc>,
    started_at: DateTime<Utc>,
    inputs: CardInputs,
) -> Result<usize, sqlx::Error> {
    let CardInputs {
        shops,
        mut figures,
        industry,
        mut tiers,
        computed_at,
    } = inputs;
    let jobs: Vec<Job> = (shops.chunks(CHUNK))
        .map(|chunk| {
            (chunk.iter().cloned())
                .map(|(id, ind)| {
                    let f = figures.remove(&id).expect("computed for every target");
                    let t = tiers.remove(&id);
                    (id, ind, f, t)
                })
                .collect()
        })
        .collect();
    let shared = Arc::new((policy.clone(), industry, computed_at));
    // `buffered` starts the next chunks as the writer asks for one: the chunk written
    // and up to `MAKING` being made, in run order.
    let mut made = futures_util::stream::iter(jobs)
        .map(|job| {
            let shared = Arc::clone(&shared);
            tokio::task::spawn_blocking(move || {
                let (policy, industry, computed_at) = &*shared;
                let cards: Vec<_> = (job.into_iter())
                    .map(|(shop_id, industry_name, f, tier)| {
                        let head = CardHead {
                            shop_id: &shop_id,
                            industry: &industry_name,
                            as_of,
                            computed_at,
                        };
                        assemble(policy, head, f, industry, tier)
                    })
                    .collect();
                CardRows::of(&cards)
            })
        })
        .buffered(MAKING + 1);
    let mut written = 0;
    while let Some(rows) = made.next().await {
        let rows = rows.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        cards::write(tx, as_of, started_at, policy, &rows).await?;
        written += rows.len();
    }
    cards::notify(tx).await?;
    Ok(written)
}
