//! Where the open periods are heading: a shop's programmes and tier eligibility as if
//! their periods closed at `as_of` (`jobs::projection`). Never stored, never current.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::extract::{Query, ShopPath};
use super::parse_as_of;
use crate::app::AppState;
use crate::auth::Caller;
use crate::domain::{TierReason, TierStatus};
use crate::error::{ApiError, ErrorBody};
use crate::etag;
use crate::jobs::projection::project;
use crate::scoring::card;
use crate::scoring::tiers::{Exclusion, TierRow};
use crate::store;
use crate::time::format_time;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ProjectionQuery {
    /// RFC 3339; default: now. The instant the open periods are taken to close at.
    #[param(format = DateTime)]
    pub as_of: Option<String>,
}

/// The month's tier eligibility on the data so far, before any ranking: the tier itself
/// depends on the whole cohort at the month's end.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectedTier {
    pub month: String,
    /// `eligible`, `ineligible` or `disqualified`: what the month's checks say so far.
    pub status: TierStatus,
    /// Why not eligible (SPEC §4.6's first failing check); null when eligible.
    pub reason: Option<TierReason>,
    pub satisfaction_rate: Option<f64>,
    pub ratings: i64,
    pub orders: i64,
    /// The cohort's scale band by the month's orders so far.
    pub scale: String,
    /// The gates: the month's service score and `consultation` indicator so far.
    pub service_score: Option<f64>,
    pub consultation: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Projection {
    pub shop_id: String,
    pub as_of: String,
    /// Always true: these figures are of periods still open, as if they closed at
    /// `as_of`; the scorecard keeps what is current.
    pub projected: bool,
    /// Each programme's open period (a monthly programme's month of `as_of`, the latest
    /// campaign, the rolling window) evaluated on the data so far, as the scorecard
    /// shows a programme, but never `in_progress`: `pass`, `fail` (or escalated) or
    /// `exempt`; null for a shop with no event before the period's end.
    #[schema(value_type = Object)]
    pub programs: IndexMap<String, Option<card::Program>>,
    /// The month of `as_of`; null for a shop with no event in it yet.
    pub cs_tier: Option<ProjectedTier>,
}

/// Where a shop's open periods are heading: each programme's current period and the
/// current month's tier eligibility, evaluated with the data so far as if the period
/// closed at `as_of` (default now). Computed by the same rules as a recompute; stored
/// nowhere, and it changes nothing current. Roles: `ops`, or a `merchant` key bound to
/// the shop.
#[utoipa::path(
    get, path = "/v1/shops/{shop_id}/projection", tag = "scorecards",
    params(("shop_id" = String, Path), ProjectionQuery),
    responses((status = 200, body = Projection), (status = 304, description = "If-None-Match named the current ETag"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "no such shop", body = ErrorBody),
              (status = 422, description = "as_of outside 2000-01-01 (local) .. now + 366 days", body = ErrorBody)),
    security(("api_key" = ["ops", "merchant"]))
)]
pub async fn get_projection(
    State(state): State<AppState>,
    caller: Caller,
    ShopPath(shop_id): ShopPath,
    Query(q): Query<ProjectionQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require_shop(&shop_id)?;
    let (policy, now) = (&state.policy, state.clock.now());
    let as_of = match q.as_of.as_deref() {
        Some(s) => parse_as_of("as_of", s, now, policy.tz)?,
        None => now,
    };
    let shop = store::shops::info(&state.pool, &shop_id)
        .await?
        .ok_or_else(ApiError::shop_not_found)?;
    let p = project(&state.pool, policy, &shop, as_of).await?;
    let body = Projection {
        shop_id: shop_id.to_string(),
        as_of: format_time(as_of, policy.tz),
        projected: true,
        programs: p.programs,
        cs_tier: p.tier.map(|t| tier_out(p.periods.tier_month.label(), t)),
    };
    Ok(etag::respond(&headers, &body))
}

fn tier_out(month: String, t: TierRow) -> ProjectedTier {
    let status = match t.exclusion {
        None => TierStatus::Eligible,
        Some(Exclusion::IntegrityFlag) => TierStatus::Disqualified,
        Some(_) => TierStatus::Ineligible,
    };
    ProjectedTier {
        month,
        status,
        reason: t.exclusion.map(Exclusion::reason),
        satisfaction_rate: t.input.satisfaction_rate,
        ratings: t.input.ratings,
        orders: t.input.orders,
        scale: t.scale,
        service_score: t.input.service_score,
        consultation: t.input.consultation,
    }
}
