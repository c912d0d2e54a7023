//! The what-if (issue 24): one shop's card at its latest card's `as_of`, recomputed
//! with a caller's metric values and entities left out, by the recompute's own loaders
//! and rules (`figures`, `programs`, `tiers`, `scoring::assemble`). Stored nowhere.
//!
//! What the changes reach: every window the card is computed over (the service window,
//! the five-star months, each programme's period, the tier month and the span that
//! can cancel its tier); not the earlier months a programme's failure chain walks,
//! which say how long failures have lasted, nor credit and DSR, which are computed
//! from reviews and ratings, not from the catalogue's metrics. The industry comparison
//! is taken over the other shops' current figures, with the shop's own replaced; the
//! tier is ranked among the month's other stored rows of its industry. With no changes
//! that is the current card, as long as no partial run has since moved the others.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{figures, tiers};
use crate::domain::ShopInfo;
use crate::metric::adjust::Adjustments;
use crate::metric::loader::Loader;
use crate::policy::Policy;
use crate::scoring::assemble::{assemble, CardHead};
use crate::scoring::card::Scorecard;
use crate::scoring::periods::Periods;
use crate::scoring::whatif;
use crate::store;
use crate::store::figures::Swap;

/// The card `shop` would have at `as_of` with `adjust`, computed at `computed_at`.
pub async fn simulate(
    pool: &PgPool,
    policy: &Policy,
    shop: &ShopInfo,
    as_of: DateTime<Utc>,
    computed_at: &str,
    adjust: Adjustments,
) -> Result<Scorecard, sqlx::Error> {
    let periods = Periods::new(policy, as_of);
    let id = shop.shop_id.as_str();
    let mut loader = Loader::new(pool, vec![id.to_string()]).adjusted(adjust);
    let figures = figures::shop_figures(&mut loader, policy, &periods, &[shop])
        .await?
        .remove(id)
        .expect("every shop of the batch has figures");
    let row = tiers::tier_inputs(&mut loader, policy, &periods.tier, &[shop])
        .await?
        .pop();
    let month = periods.tier.month;
    let cs_tier = match row {
        Some(row) => {
            let others = store::tiers::eligible_others(pool, month, &shop.industry, id).await?;
            Some(whatif::tier_card(month.label(), &row, &others, policy))
        }
        None => None,
    };
    let swap = Swap {
        shop_id: id,
        figures: &figures,
    };
    let mut conn = pool.acquire().await?;
    let industry =
        store::figures::industries(&mut conn, std::slice::from_ref(&shop.industry), Some(swap))
            .await?;
    drop(conn);
    let head = CardHead {
        shop_id: id,
        industry: &shop.industry,
        as_of,
        computed_at,
    };
    Ok(assemble(policy, head, figures, &industry, cs_tier))
}
