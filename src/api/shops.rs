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
use crate::error::{ApiError, ErrorBody};
use crate::ingest::event::{valid_id, ID_MAX};

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

/// A shop's columns; its first event time comes from the view `shop_first_event`
/// (migration 0003). Usable in `SELECT … FROM shops` and `RETURNING`.
const COLUMNS: &str = "shop_id, name, industry, platform, created_at,
    (SELECT f.first_event_at FROM shop_first_event f WHERE f.shop_id = shops.shop_id) AS first_event_at";

/// Longest shop name or platform, and key name.
pub const TEXT_MAX: usize = 200;

/// Industry codes: lower-case words joined by underscores, like SPEC's list.
pub fn valid_industry(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

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
    if !valid_industry(&update.industry) {
        details.push(
            json!({"field": "industry", "message": "must be 1-64 characters from [a-z0-9_]"}),
        );
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
    // The shop's card changes with its industry: mark it for the next dirty run.
    let shop: Shop = sqlx::query_as(&format!(
        "WITH upsert AS (
             INSERT INTO shops (shop_id, name, industry, platform) VALUES ($1, $2, $3, $4)
             ON CONFLICT (shop_id) DO UPDATE SET name = excluded.name, industry = excluded.industry,
                 platform = excluded.platform
             RETURNING {COLUMNS}),
         mark AS (INSERT INTO dirty_marks (shop_ids) SELECT ARRAY[shop_id] FROM upsert)
         SELECT * FROM upsert"
    ))
    .bind(&shop_id)
    .bind(&update.name)
    .bind(&update.industry)
    .bind(&update.platform)
    .fetch_one(&state.pool)
    .await?;
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
    let shop: Option<Shop> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM shops WHERE shop_id = $1"))
            .bind(&shop_id)
            .fetch_optional(&state.pool)
            .await?;
    shop.map(|s| Json(s.local(state.policy.tz)))
        .ok_or_else(ApiError::shop_not_found)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ShopFilter {
    /// Only shops of this industry.
    pub industry: Option<String>,
}

/// All shops, by `shop_id`. Role: `ops` (SPEC §5; a merchant finds its shops in
/// `GET /v1/me`).
#[utoipa::path(
    get, path = "/v1/shops", tag = "shops",
    params(ShopFilter, Page),
    responses((status = 200, body = List<Shop>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("api_key" = ["ops"]))
)]
pub async fn list_shops(
    State(state): State<AppState>,
    caller: Caller,
    Query(filter): Query<ShopFilter>,
    Query(page): Query<Page>,
) -> Result<Json<List<Shop>>, ApiError> {
    caller.require(&[Role::Ops])?;
    let limit = page.limit()?;
    let rows: Vec<Shop> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM shops WHERE ($1::text IS NULL OR industry = $1) AND ($2::text IS NULL OR shop_id > $2)
         ORDER BY shop_id LIMIT $3"
    ))
    .bind(&filter.industry)
    .bind(page.after()?)
    .bind(limit + 1)
    .fetch_all(&state.pool)
    .await?;
    let rows = rows.into_iter().map(|s| s.local(state.policy.tz)).collect();
    Ok(Json(List::page(rows, limit, |s| s.shop_id.clone())))
}
