//! A run's scorecards, assembled and written chunk by chunk. Each chunk of held figures
//! (`store::held`) is read with its tier cards, then a blocking thread assembles and
//! serialises it (`scoring::assemble`, then JSON) while Postgres writes the chunk
//! before, so this last phase of a run costs about the larger of the two, not their
//! sum, and holds a few chunks at a time.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tokio::task::JoinHandle;

use crate::policy::Policy;
use crate::scoring::assemble::{assemble, CardHead, IndustryFigures};
use crate::store::cards::{self, CardRows};
use crate::store::{held, tiers};
use crate::time::Month;
use crate::webhook::outbox::{self, Emission};
use crate::webhook::standing::Standing;

/// What every card of a run shares.
pub struct CardRun {
    pub policy: Policy,
    pub as_of: DateTime<Utc>,
    /// The instant the run started: the cards' `computed_at`.
    pub started_at: DateTime<Utc>,
    /// `started_at` formatted once for the run.
    pub computed_at: String,
    pub industry: IndustryFigures,
    /// The month whose tier rows the cards show.
    pub tier_month: Month,
    /// The grade changes the cards make go to the webhook outbox (`webhook::outbox`).
    pub emission: Emission,
}

/// A chunk's rows to write and the standings its cards tell the outbox.
type Made = (CardRows, Vec<(String, Standing)>);

/// Chunks being made at once, on blocking threads, while the writer writes the one
/// before them.
const MAKING: usize = 2;

/// Assembles the card of every shop held in `tx` and writes it there, with the webhook
/// events the cards make; the number of cards written.
pub async fn assemble_and_write(tx: &mut PgConnection, run: CardRun) -> Result<usize, sqlx::Error> {
    let run = Arc::new(run);
    held::open(tx).await?;
    let mut making: VecDeque<JoinHandle<Made>> = VecDeque::new();
    let mut read_all = false;
    let mut written = 0;
    loop {
        // Keep the next chunks being made while this one is written.
        while !read_all && making.len() <= MAKING {
            let chunk = held::next(tx).await?;
            if chunk.is_empty() {
                read_all = true;
                break;
            }
            let ids: Vec<&str> = chunk.iter().map(|h| h.shop_id.as_str()).collect();
            let mut tier_cards = tiers::cards(tx, run.tier_month, &ids).await?;
            let run = Arc::clone(&run);
            making.push_back(tokio::task::spawn_blocking(move || {
                let cards: Vec<_> = (chunk.iter())
                    .map(|h| {
                        let head = CardHead {
                            shop_id: &h.shop_id,
                            industry: &h.industry,
                            as_of: run.as_of,
                            computed_at: &run.computed_at,
                        };
                        let tier = tier_cards.remove(&h.shop_id);
                        assemble(&run.policy, head, h.figures(), &run.industry, tier)
                    })
                    .collect();
                let standings = (cards.iter())
                    .map(|c| (c.shop_id.clone(), Standing::of(c)))
                    .collect();
                (CardRows::of(&cards), standings)
            }));
        }
        let Some(next) = making.pop_front() else {
            break;
        };
        let (rows, standings) = next
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        cards::write(tx, run.as_of, run.started_at, &run.policy, &rows).await?;
        let events = outbox::record(tx, &run.emission, &standings).await?;
        metrics::counter!("shopscore_webhook_events_total").increment(events as u64);
        written += rows.len();
    }
    cards::notify(tx).await?;
    Ok(written)
}
