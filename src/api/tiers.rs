//! `GET /v1/cs-tiers`: the gold customer-service team tiers of a month, for ops.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::extract::Query;
use super::{List, Page};
use crate::app::AppState;
use crate::auth::{Caller, Role};
use crate::domain::Tier;
use crate::error::{ApiError, ErrorBody};
use crate::scoring::card::CsTier;
use crate::store::{self, tiers::TierPage};
use crate::time::Month;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TierFilter {
    /// `YYYY-MM`, the month the tier was earned; default: the latest month computed.
    pub month: Option<String>,
    pub industry: Option<String>,
    /// `gold`, `silver`, `black` or `none`.
    #[param(inline, value_type = Option<Tier>)]
    pub tier: Option<String>,
}

/// One shop's tier of the month: SPEC §5's cs-tier item, the scorecard's `cs_tier`
/// (with its `security_warning`) after the shop's id.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TierItem {
    pub shop_id: String,
    #[serde(flatten)]
    pub tier: CsTier,
}

/// A page of one month's tiers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TierList {
    /// The month listed: `?month=`, or the latest month computed; null when none is.
    pub month: Option<String>,
    pub items: Vec<TierItem>,
    pub next_cursor: Option<String>,
}

/// Tiers of a month, ordered by shop id. Role: `ops`.
#[utoipa::path(
    get, path = "/v1/cs-tiers", tag = "tiers",
    params(TierFilter, Page),
    responses((status = 200, body = TierList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("api_key" = ["ops"]))
)]
pub async fn list_tiers(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<TierFilter>,
    Query(page): Query<Page>,
) -> Result<Json<TierList>, ApiError> {
    caller.require(&[Role::Ops])?;
    if let Some(m) = &f.month {
        Month::parse(m).ok_or_else(|| ApiError::BadRequest("month must be YYYY-MM".into()))?;
    }
    if let Some(t) = &f.tier {
        if Tier::parse(t).is_none() {
            return Err(ApiError::BadRequest(format!(
                "tier must be one of {}",
                Tier::NAMES.join(", ")
            )));
        }
    }
    let month: Option<String> = match f.month {
        Some(m) => Some(m),
        None => store::tiers::latest_month(&state.pool).await?,
    };
    let limit = page.limit()?;
    // Pages are keyed by shop id, the one unique column within a month.
    let rows = match &month {
        Some(month) => {
            let filter = TierPage {
                month,
                industry: f.industry.as_deref(),
                tier: f.tier.as_deref(),
            };
            store::tiers::list(&state.pool, filter, page.after()?, limit + 1).await?
        }
        // No tier rows at all yet.
        None => Vec::new(),
    };
    let items = rows
        .into_iter()
        .map(|r| TierItem {
            shop_id: r.shop_id.clone(),
            tier: r.into_card(),
        })
        .collect();
    let page = List::page(items, limit, |t| t.shop_id.clone());
    Ok(Json(TierList {
        month,
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}
