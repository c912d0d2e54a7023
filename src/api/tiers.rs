//! `GET /v1/cs-tiers`: the gold customer-service team tiers of a month, for ops.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::extract::Query;
use super::{List, Page};
use crate::app::AppState;
use crate::auth::{Caller, Role};
use crate::domain::{Tier, TierStatus};
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
    if let Some(t) = &f.tier {
        if Tier::parse(t).is_none() {
            return Err(ApiError::BadRequest(format!(
                "tier must be one of {}",
                Tier::NAMES.join(", ")
            )));
        }
    }
    let month: Option<String> = match f.month {
        Some(m) => Some(check_month(m)?),
        None => store::tiers::latest_month(&state.read_pool).await?,
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
            store::tiers::list(&state.read_pool, filter, page.after()?, limit + 1).await?
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct BoardFilter {
    /// `YYYY-MM`, the month the tiers were earned; default: the latest month computed.
    pub month: Option<String>,
}

/// How many shops of one cohort hold one tier with one status.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BoardCell {
    pub industry: String,
    /// The cohort's scale band (`policy.cs_tier` scale bands).
    pub scale: String,
    pub tier: Tier,
    pub status: TierStatus,
    pub shops: i64,
}

/// A month's tier board: every shop of the month counted by cohort, tier and status.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TierBoard {
    /// The month counted: `?month=`, or the latest month computed; null when none is.
    pub month: Option<String>,
    /// Only the combinations that occur, ordered by industry, scale, tier, status; the
    /// cells sum to the month's shops.
    pub cells: Vec<BoardCell>,
}

/// The tier board of a month: shops per industry, scale band, tier and status (what
/// the ops console's board shows). Role: `ops`.
#[utoipa::path(
    get, path = "/v1/cs-tiers/board", tag = "tiers",
    params(BoardFilter),
    responses((status = 200, body = TierBoard), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("api_key" = ["ops"]))
)]
pub async fn get_board(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<BoardFilter>,
) -> Result<Json<TierBoard>, ApiError> {
    caller.require(&[Role::Ops])?;
    let month = match f.month {
        Some(m) => Some(check_month(m)?),
        None => store::tiers::latest_month(&state.read_pool).await?,
    };
    let cells = match &month {
        Some(m) => store::tiers::board(&state.read_pool, m).await?,
        None => Vec::new(),
    };
    let cells = cells
        .into_iter()
        .map(|r| BoardCell {
            industry: r.industry,
            scale: r.scale,
            tier: r.tier,
            status: r.status,
            shops: r.shops,
        })
        .collect();
    Ok(Json(TierBoard { month, cells }))
}

fn check_month(m: String) -> Result<String, ApiError> {
    Month::parse(&m).ok_or_else(|| ApiError::BadRequest("month must be YYYY-MM".into()))?;
    Ok(m)
}
