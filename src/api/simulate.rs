//! The what-if: a shop's card recomputed with metric values a caller sets and entities
//! it leaves out (`jobs::simulate`). Stored nowhere.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::card_as_of;
use super::extract::ShopPath;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::jobs::simulate::simulate;
use crate::scoring::card::Scorecard;
use crate::scoring::whatif::{self, Change};
use crate::store;
use crate::time::format_time;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    /// Metric values to use instead of what the shop's events give, by the name the
    /// policy writes (`human_response_seconds_avg`, `ship_on_time_rate(48)`): shares
    /// in [0, 1], durations in the metric's unit, counts whole. At most 64.
    #[serde(default)]
    #[schema(value_type = Object, example = json!({"human_response_seconds_avg": 20.0}))]
    pub values: BTreeMap<String, f64>,
    /// Ids of orders, refunds, conversations or complaints to leave out, as the
    /// drill-down lists them. At most 500.
    #[serde(default)]
    pub exclude: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Simulation {
    pub shop_id: String,
    /// The latest scorecard's `as_of`: the instant simulated.
    pub as_of: String,
    /// Always true: this card is stored nowhere and changes nothing current.
    pub simulated: bool,
    /// The figures that differ from the latest scorecard's, in key order.
    pub changes: Vec<Change>,
    /// The whole card as it would be (`computed_at`: when it was simulated).
    pub card: Scorecard,
}

/// What a shop's latest scorecard would say with some metric values set (`values`)
/// and some orders, refunds, conversations or complaints left out (`exclude`):
/// service score, stars, programme statuses, the tier and its gates, hints — computed
/// by the same rules as a recompute at the card's `as_of`, stored nowhere. The changes
/// reach every window the card is computed over (the service window, the five-star
/// months, programme periods, the tier month); not the earlier months that say how
/// long a programme has been failing, nor credit and DSR (reviews and ratings, not
/// metrics). The shop is compared with the other shops' current figures and ranked
/// among the month's other tier rows. With neither, it is the latest card. Roles:
/// `ops`, or a `merchant` key bound to the shop.
#[utoipa::path(
    post, path = "/v1/shops/{shop_id}/simulate", tag = "scorecards",
    params(("shop_id" = String, Path)), request_body = SimulateRequest,
    responses((status = 200, body = Simulation),
              (status = 400, description = "malformed JSON", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "no such shop, or no scorecard yet", body = ErrorBody),
              (status = 413, description = "a body over 64 KiB", body = ErrorBody),
              (status = 422, description = "each value or id that cannot be used, by field (`values.<name>`, `exclude[i]`)", body = ErrorBody)),
    security(("api_key" = ["ops", "merchant"]))
)]
pub async fn post_simulate(
    State(state): State<AppState>,
    caller: Caller,
    ShopPath(shop_id): ShopPath,
    body: axum::body::Bytes,
) -> Result<Json<Simulation>, ApiError> {
    caller.require_shop(&shop_id)?;
    let policy = &state.policy;
    let req: SimulateRequest = super::parse_body("simulation", &body)?;
    let adjust = whatif::adjustments(policy, &req.values, &req.exclude).map_err(|problems| {
        let first = &problems[0];
        ApiError::Unprocessable {
            message: format!("invalid simulation: {}: {}", first.field, first.message),
            details: (problems.iter())
                .map(|p| json!({"field": p.field, "message": p.message}))
                .collect(),
        }
    })?;
    let shop = store::shops::info(&state.pool, &shop_id)
        .await?
        .ok_or_else(ApiError::shop_not_found)?;
    let current: Vec<u8> = match state.latest.get(&shop_id) {
        Some(card) => card.body().to_vec(),
        None => store::cards::body(&state.pool, &shop_id, None)
            .await?
            .map(String::into_bytes)
            .ok_or_else(|| {
                ApiError::NotFound(
                    "no scorecard for this shop yet: a simulation starts from one".into(),
                )
            })?,
    };
    let as_of = card_as_of(&current)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a stored card without as_of")))?;
    let computed_at = format_time(state.clock.now(), policy.tz);
    let card = simulate(&state.pool, policy, &shop, as_of, &computed_at, adjust).await?;
    let before: serde_json::Value = serde_json::from_slice(&current)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("a stored card is not JSON: {e}")))?;
    let after = serde_json::to_value(&card).expect("a card serialises");
    Ok(Json(Simulation {
        shop_id: shop_id.to_string(),
        as_of: card.as_of.clone(),
        simulated: true,
        changes: whatif::changes(&before, &after),
        card,
    }))
}
