//! Shops: register/update (`PUT`), read one, list (ops).

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;

use crate::clock::in_zone;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::extract::{Query, ShopPath};
use super::{List, Page};
use crate::app::AppState;
use crate::auth::{Caller, Role};
use crate::domain::{valid_id, Industry, ID_MAX};
use crate::error::{ApiError, ErrorBody};
use crate::store::{self, shops::Figure};

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Shop {
    pub shop_id: String,
    pub name: Option<String>,
    pub industry: String,
    pub platform: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub first_event_at: Option<DateTime<FixedOffset>>,
}

impl Shop {
    /// Times in the policy time zone, as every time in every response.
    fn local(mut self, tz: Tz) -> Shop {
        self.created_at = in_zone(self.created_at, tz);
        self.first_event_at = self.first_event_at.map(|t| in_zone(t, tz));
        self
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShopUpdate {
    pub name: Option<String>,
    /// Industry code, 1–64 chars of `[a-z0-9_]`; `unassigned` for unknown.
    pub industry: String,
    pub platform: Option<String>,
}

/// Longest shop name or platform, and key name.
pub const TEXT_MAX: usize = 200;

/// Register a shop or change its name, industry or platform. Role: `ingest`.
#[utoipa::path(
    put, path = "/v1/shops/{shop_id}", tag = "shops",
    params(("shop_id" = String, Path, description = "1-64 chars of [A-Za-z0-9._:-]")),
    request_body = ShopUpdate,
    responses((status = 200, body = Shop), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = ["ingest"]))
)]
pub async fn put_shop(
    State(state): State<AppState>,
    caller: Caller,
    Path(shop_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Shop>, ApiError> {
    caller.require(&[Role::Ingest])?;
    let update: ShopUpdate = super::parse_body("shop", &body)?;
    let mut details = Vec::new();
    if !valid_id(&shop_id, ID_MAX) {
        details.push(
            json!({"field": "shop_id", "message": "must be 1-64 characters from [A-Za-z0-9._:-]"}),
        );
    }
    if Industry::parse(&update.industry).is_none() {
        let message = format!("must be {}", Industry::RULE);
        details.push(json!({"field": "industry", "message": message}));
    }
    for (field, v) in [("name", &update.name), ("platform", &update.platform)] {
        if let Some(message) = v.as_deref().and_then(|v| crate::text::problem(v, TEXT_MAX)) {
            details.push(json!({"field": field, "message": message}));
        }
    }
    if !details.is_empty() {
        return Err(ApiError::Unprocessable {
            message: "invalid shop".into(),
            details,
        });
    }
    let industry = update.industry.as_str();
    let (name, platform) = (update.name.as_deref(), update.platform.as_deref());
    let shop: Shop = store::shops::upsert(&state.pool, &shop_id, name, industry, platform).await?;
    Ok(Json(shop.local(state.policy.tz)))
}

/// One shop. Roles: `ops`, or a `merchant` key bound to it (others get 404).
#[utoipa::path(
    get, path = "/v1/shops/{shop_id}", tag = "shops",
    params(("shop_id" = String, Path)),
    responses((status = 200, body = Shop), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("api_key" = ["ops", "merchant"]))
)]
pub async fn get_shop(
    State(state): State<AppState>,
    caller: Caller,
    ShopPath(shop_id): ShopPath,
) -> Result<Json<Shop>, ApiError> {
    caller.require_shop(&shop_id)?;
    let shop: Option<Shop> = store::shops::one(&state.pool, &shop_id).await?;
    shop.map(|s| Json(s.local(state.policy.tz)))
        .ok_or_else(ApiError::shop_not_found)
}

/// What `GET /v1/shops` sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    ShopId,
    ServiceScore,
    Stars,
    CreditPoints,
    DsrService,
}

impl SortKey {
    /// The headline figure this key sorts by (none: by shop id).
    fn figure(self) -> Option<Figure> {
        match self {
            SortKey::ShopId => None,
            SortKey::ServiceScore => Some(Figure::ServiceScore),
            SortKey::Stars => Some(Figure::Stars),
            SortKey::CreditPoints => Some(Figure::CreditPoints),
            SortKey::DsrService => Some(Figure::DsrService),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    Asc,
    Desc,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ShopFilter {
    /// Only shops of this industry.
    pub industry: Option<String>,
    /// Sort key (default `shop_id`). Shops never scored, or without the figure, come
    /// last in either order; ties go by `shop_id`.
    #[param(value_type = Option<SortKey>)]
    pub sort: Option<String>,
    /// `asc` or `desc`; default `asc` for `shop_id`, `desc` for a figure (best first).
    #[param(value_type = Option<SortOrder>)]
    pub order: Option<String>,
    /// Only shops whose latest service score is at least this.
    #[param(value_type = Option<f64>)]
    pub min_score: Option<String>,
    /// Only shops whose latest service score is at most this.
    #[param(value_type = Option<f64>)]
    pub max_score: Option<String>,
}

/// A shop in the list, with the headline figures of its latest scorecard (`null`
/// before its first).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShopListItem {
    #[serde(flatten)]
    pub shop: Shop,
    pub latest: Option<super::scorecards::HistoryItem>,
}

/// Where a sorted page ends: the sort it belongs to and the last row's sort key.
#[derive(Debug, Serialize, Deserialize)]
struct SortCursor {
    sort: SortKey,
    order: SortOrder,
    /// The figure is missing (such rows sort last).
    missing: bool,
    /// The figure, negated when descending, so every page continues upwards.
    key: f64,
    shop_id: String,
}

/// A query value naming one of an enum's (snake_case) variants; else a 400 listing them.
fn choice<T: serde::de::DeserializeOwned>(
    field: &str,
    v: Option<&str>,
    choices: &str,
) -> Result<Option<T>, ApiError> {
    v.map(|v| {
        serde_json::from_value(serde_json::Value::String(v.into()))
            .map_err(|_| ApiError::BadRequest(format!("{field} must be one of {choices}")))
    })
    .transpose()
}

fn number(field: &str, v: Option<&str>) -> Result<Option<f64>, ApiError> {
    v.map(|v| {
        v.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| ApiError::BadRequest(format!("{field} must be a number")))
    })
    .transpose()
}

#[derive(sqlx::FromRow)]
struct ListRow {
    shop_id: String,
    name: Option<String>,
    industry: String,
    platform: Option<String>,
    created_at: DateTime<FixedOffset>,
    first_event_at: Option<DateTime<FixedOffset>>,
    as_of: Option<DateTime<chrono::Utc>>,
    service_score: Option<f64>,
    stars: Option<i16>,
    credit_points: Option<i64>,
    credit_level_index: Option<i16>,
    dsr_description: Option<f64>,
    dsr_service: Option<f64>,
    dsr_logistics: Option<f64>,
    cs_tier: Option<crate::domain::Tier>,
    missing: bool,
    key: f64,
}

impl ListRow {
    fn item(self, tz: Tz) -> ShopListItem {
        use super::scorecards::{DsrScores, HistoryItem};
        let latest = self.as_of.map(|as_of| HistoryItem {
            as_of: crate::time::format_time(as_of, tz),
            service_score: self.service_score,
            stars: self.stars,
            credit_points: self.credit_points.unwrap_or(0),
            credit_level_index: self.credit_level_index.unwrap_or(0),
            dsr: DsrScores {
                description: self.dsr_description,
                service: self.dsr_service,
                logistics: self.dsr_logistics,
            },
            cs_tier: self.cs_tier,
        });
        let shop = Shop {
            shop_id: self.shop_id,
            name: self.name,
            industry: self.industry,
            platform: self.platform,
            created_at: self.created_at,
            first_event_at: self.first_event_at,
        };
        ShopListItem {
            shop: shop.local(tz),
            latest,
        }
    }
}

/// Shops with the headline figures of their latest scorecard, sorted and filtered for
/// ranking. Roles: `ops` (every shop), or a `merchant` key (the shops it is bound to,
/// in the same shape: a merchant dashboard lists its own shops here).
#[utoipa::path(
    get, path = "/v1/shops", tag = "shops",
    params(ShopFilter, Page),
    responses((status = 200, body = List<ShopListItem>), (status = 400, description = "unknown sort or order, a bound that is not a number, or a cursor of another sort", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = ["ops", "merchant"]))
)]
pub async fn list_shops(
    State(state): State<AppState>,
    caller: Caller,
    Query(filter): Query<ShopFilter>,
    Query(page): Query<Page>,
) -> Result<Json<List<ShopListItem>>, ApiError> {
    caller.require(&[Role::Ops, Role::Merchant])?;
    // A merchant's list is its own shops; ops (and admin) see every shop.
    let own: Option<&[String]> = (caller.role == Role::Merchant).then_some(&caller.shops);
    let limit = page.limit()?;
    let sort = choice(
        "sort",
        filter.sort.as_deref(),
        "shop_id, service_score, stars, credit_points, dsr_service",
    )?
    .unwrap_or(SortKey::ShopId);
    let order = choice("order", filter.order.as_deref(), "asc, desc")?.unwrap_or(match sort {
        SortKey::ShopId => SortOrder::Asc,
        _ => SortOrder::Desc,
    });
    let min = number("min_score", filter.min_score.as_deref())?;
    let max = number("max_score", filter.max_score.as_deref())?;
    let cursor: Option<SortCursor> = match (page.after()?, sort) {
        (None, _) => None,
        (Some(id), SortKey::ShopId) => Some(SortCursor {
            sort,
            order,
            missing: false,
            key: 0.0,
            shop_id: id,
        }),
        (Some(raw), _) => {
            let c: SortCursor = serde_json::from_str(&raw)
                .map_err(|_| ApiError::BadRequest("cursor is not one this API returned".into()))?;
            if (c.sort, c.order) != (sort, order) {
                return Err(ApiError::BadRequest(
                    "cursor belongs to another sort or order".into(),
                ));
            }
            Some(c)
        }
    };
    // Pages continue from the last row's (missing, key, shop_id) upwards: `key` is the
    // figure, negated for `desc`; sorting by shop id needs only the id.
    let by = store::shops::Ranking {
        industry: filter.industry.as_deref(),
        min_score: min,
        max_score: max,
        only: own,
        figure: sort.figure(),
        descending: order == SortOrder::Desc,
    };
    let after = cursor.map(|c| (c.missing, c.key, c.shop_id));
    let mut rows: Vec<ListRow> =
        store::shops::ranked(&state.read_pool, by, after, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = rows.last().filter(|_| more).map(|last| {
        super::encode_cursor(&match sort {
            SortKey::ShopId => last.shop_id.clone(),
            _ => serde_json::to_string(&SortCursor {
                sort,
                order,
                missing: last.missing,
                key: last.key,
                shop_id: last.shop_id.clone(),
            })
            .expect("cursors serialise"),
        })
    });
    let tz = state.policy.tz;
    Ok(Json(List {
        items: rows.into_iter().map(|r| r.item(tz)).collect(),
        next_cursor,
    }))
}
