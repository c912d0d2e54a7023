//! The projection (issue 24): one shop's open periods evaluated as if they closed at
//! `as_of`, with the data so far: each programme's, and the month's tier eligibility.
//! Computed by the same loaders and the same pure rules as a run; stored nowhere.

use indexmap::IndexMap;
use sqlx::PgPool;

use super::{programs, tiers};
use crate::domain::ShopInfo;
use crate::metric::loader::Loader;
use crate::metric::Scope;
use crate::policy::Policy;
use crate::scoring::card;
use crate::scoring::periods::{Projected, TierPeriod};
use crate::scoring::tiers::TierRow;

/// What the open periods of one shop would give if they closed at `as_of`.
#[derive(Debug)]
pub struct Projection {
    pub periods: Projected,
    /// Each programme, in policy order (`None`: the shop has no event before the
    /// period's end, as on the card).
    pub programs: IndexMap<String, Option<card::Program>>,
    /// The month's tier row (`None`: no event in the month yet), before ranking.
    pub tier: Option<TierRow>,
}

pub async fn project(
    pool: &PgPool,
    policy: &Policy,
    shop: &ShopInfo,
    as_of: chrono::DateTime<chrono::Utc>,
) -> Result<Projection, sqlx::Error> {
    let periods = Projected::new(policy, as_of);
    let mut loader = Loader::new(pool, vec![shop.shop_id.clone()]);
    let mut every = programs::every(&mut loader, policy, &periods.programs, &[shop]).await?;
    let out = every.remove(&shop.shop_id).unwrap_or_default();
    // Nothing of the month after cancels a month that has not closed.
    let none_yet = as_of + chrono::Duration::microseconds(1);
    let tier = TierPeriod {
        month: periods.tier_month,
        scope: periods.tier_scope,
        cancel: Scope::period(none_yet, none_yet, as_of),
    };
    let mut rows = tiers::tier_inputs(&mut loader, policy, &tier, &[shop]).await?;
    Ok(Projection {
        periods,
        programs: out,
        tier: rows.pop(),
    })
}
