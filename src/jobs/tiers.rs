//! A batch's tier inputs for month M (SPEC §4.6), evaluated at M's end, and whether a
//! tier is cancelled by what happened in M+1 up to `as_of`.

use chrono::{DateTime, Duration, Utc};

use crate::domain::TierReason;
use crate::metric::loader::{measure_all, Loader};
use crate::metric::{evaluate, Metric, Scope};
use crate::policy::{NamedMetric, Policy};
use crate::scoring::service;
use crate::scoring::tiers::{self, TierRow};
use crate::store::shops::ShopInfo;
use crate::time::Month;

/// Tier inputs of month M (evaluated at its end) and cancellation in M+1 up to `as_of`.
pub async fn tier_inputs(
    loader: &mut Loader<'_>,
    policy: &Policy,
    as_of: DateTime<Utc>,
    month: Month,
    batch: &[&ShopInfo],
) -> Result<Vec<TierRow>, sqlx::Error> {
    let tz = policy.tz;
    let eps = policy.epsilon;
    let (start, end) = (month.start(tz), month.end(tz));
    let scope = Scope::period(start, end, end);
    let svc: Vec<&NamedMetric> = policy.service.metrics().collect();
    let base = [
        Metric::Orders,
        Metric::IntegrityFlags,
        Metric::SatisfactionRatings,
        Metric::SatisfactionRate,
    ];
    let d = loader
        .get(scope, svc.iter().map(|n| &n.metric).chain(base.iter()))
        .await?;
    let mut rows = Vec::new();
    for info in batch.iter().filter(|s| s.active_before(end, end)) {
        let sd = d.shop(&info.shop_id);
        let v = |m: &Metric| evaluate(m, sd, scope, tz);
        let ss = service::service_score(
            &measure_all(svc.iter().copied(), sd, scope, tz),
            &info.industry,
            &policy.service,
            eps,
        );
        let input = tiers::TierInput {
            shop_id: info.shop_id.clone(),
            industry: info.industry.clone(),
            orders: v(&Metric::Orders).unwrap_or(0.0) as i64,
            integrity_flags: v(&Metric::IntegrityFlags).unwrap_or(0.0) as i64,
            ratings: v(&Metric::SatisfactionRatings).unwrap_or(0.0) as i64,
            satisfaction_rate: v(&Metric::SatisfactionRate),
            service_score: ss.score,
            consultation: ss.indicators.get("consultation").and_then(|i| i.score),
        };
        let exclusion = tiers::eligibility(&input, &policy.cs_tier, eps);
        let scale = policy.cs_tier.scale_for(input.orders).to_string();
        rows.push(TierRow {
            input,
            scale,
            exclusion,
            cancel_reason: None,
        });
    }
    // Cancellation: a verified conduct complaint or an integrity flag in M+1 up to as_of.
    let after = Scope::period(end, as_of + Duration::microseconds(1), as_of);
    let d = loader
        .get(
            after,
            [&Metric::ConductVerifications, &Metric::IntegrityFlags],
        )
        .await?;
    for r in &mut rows {
        let sd = d.shop(&r.input.shop_id);
        r.cancel_reason = if sd.integrity > 0 {
            Some(TierReason::IntegrityFlag)
        } else if sd.verifications > 0 {
            Some(TierReason::VerifiedComplaint)
        } else {
            None
        };
    }
    Ok(rows)
}
