//! A batch's tier rows for month M (SPEC §4.6): its rows of M, evaluated at M's end, and
//! of M+1 up to `as_of`, which can cancel a tier; `scoring::tiers` decides.

use crate::domain::ShopInfo;
use crate::metric::loader::Loader;
use crate::policy::Policy;
use crate::scoring::periods::TierPeriod;
use crate::scoring::tiers::{self, TierRow, CANCEL_METRICS, TIER_METRICS};

/// The tier rows of the batch's shops active in M.
pub async fn tier_inputs(
    loader: &mut Loader<'_>,
    policy: &Policy,
    period: &TierPeriod,
    batch: &[&ShopInfo],
) -> Result<Vec<TierRow>, sqlx::Error> {
    let scope = period.scope;
    let service = policy.service.metrics().map(|n| &n.metric);
    let d = loader.get(scope, service.chain(&TIER_METRICS)).await?;
    let mut rows: Vec<TierRow> = (batch.iter())
        .filter(|s| s.active_before(scope.hi, scope.e))
        .map(|s| tiers::tier_row(s, d.shop(&s.shop_id), scope, policy))
        .collect();
    let d = loader.get(period.cancel, &CANCEL_METRICS).await?;
    for r in &mut rows {
        r.cancel_reason = tiers::cancel_reason(d.shop(&r.input.shop_id));
    }
    Ok(rows)
}
