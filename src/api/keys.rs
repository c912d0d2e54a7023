//! API key management for admins (the secret is shown once, on creation).

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::extract::{KeyPath, Query};
use super::{List, Page};
use crate::app::AppState;
use crate::auth::{self, Caller, KeyInfo, Role};
use crate::domain::{valid_id, ID_MAX};
use crate::error::{ApiError, ErrorBody};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyRequest {
    pub role: Role,
    /// Shops a merchant key may read (required for, and only for, merchants).
    #[serde(default)]
    pub shops: Vec<String>,
    pub name: Option<String>,
    /// RFC 3339; when the key stops working. Absent: never, or, when the server sets a
    /// longest lifetime (`SHOPSCORE_KEY_MAX_DAYS`), that many days from now.
    pub expires_at: Option<String>,
    /// The key's own requests per minute (1–1 000 000); absent: the server's default.
    #[schema(minimum = 1, maximum = 1000000)]
    pub rate_limit_per_minute: Option<u32>,
}

/// `POST /v1/keys/{id}/rotate`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// Hours the old secret keeps working beside the new one (0–720); default 24.
    #[schema(maximum = 720)]
    pub grace_hours: Option<u32>,
}

/// `PATCH /v1/keys/{id}`: what an admin may change of a key.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyUpdate {
    /// The key's own requests per minute (1–1 000 000); null: back to the default.
    #[serde(deserialize_with = "present")]
    #[schema(required = true, minimum = 1, maximum = 1000000)]
    pub rate_limit_per_minute: Option<u32>,
}

/// A field that must be present, but may be null.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Option::<u32>::deserialize(d)
}

const RATE_MAX: u32 = 1_000_000;
const GRACE_MAX_HOURS: u32 = 720;

fn check_rate(n: Option<u32>) -> Result<(), ApiError> {
    match n {
        Some(n) if !(1..=RATE_MAX).contains(&n) => Err(ApiError::field(
            "rate_limit_per_minute",
            format!("must be from 1 to {RATE_MAX}"),
        )),
        _ => Ok(()),
    }
}

/// When a new key expires: as asked (in the future, within the longest lifetime), or
/// the longest lifetime from now, or never.
fn expiry(
    asked: Option<&str>,
    now: DateTime<Utc>,
    max_days: Option<u32>,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let latest = max_days.map(|d| now + chrono::Duration::days(i64::from(d)));
    let Some(text) = asked else {
        return Ok(latest);
    };
    let at = DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::field(
                "expires_at",
                "must be an RFC 3339 timestamp with an offset".into(),
            )
        })?;
    if at <= now {
        return Err(ApiError::field(
            "expires_at",
            "must be in the future".into(),
        ));
    }
    if let (Some(latest), Some(days)) = (latest, max_days) {
        if at > latest {
            return Err(ApiError::field(
                "expires_at",
                format!(
                    "must be at most {days} days from now (this server's longest key lifetime)"
                ),
            ));
        }
    }
    Ok(Some(at))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub info: KeyInfo,
    /// The full `ssk_…` secret: shown this once, stored only hashed.
    pub key: String,
}

/// What is wrong with a new key's role, shops and name: the field and why.
pub fn check_new_key(
    role: Role,
    shops: &[String],
    name: Option<&str>,
) -> Result<(), (&'static str, String)> {
    if role == Role::Merchant && shops.is_empty() {
        return Err(("shops", "a merchant key needs at least one shop".into()));
    }
    if role != Role::Merchant && !shops.is_empty() {
        return Err(("shops", "only merchant keys are bound to shops".into()));
    }
    if let Some(bad) = shops.iter().find(|s| !valid_id(s, ID_MAX)) {
        return Err(("shops", format!("shop id {bad:?} is not valid")));
    }
    if let Some(message) = name.and_then(|n| crate::text::problem(n, super::shops::TEXT_MAX)) {
        return Err(("name", message));
    }
    Ok(())
}

/// Create a key. Role: `admin`.
#[utoipa::path(
    post, path = "/v1/keys", tag = "keys", request_body = NewKeyRequest,
    responses((status = 200, body = CreatedKey), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("api_key" = ["admin"]))
)]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<Json<CreatedKey>, ApiError> {
    caller.require(&[Role::Admin])?;
    let req: NewKeyRequest = super::parse_body("key request", &body)?;
    check_new_key(req.role, &req.shops, req.name.as_deref())
        .map_err(|(field, message)| ApiError::field(field, message))?;
    check_rate(req.rate_limit_per_minute)?;
    let expires_at = expiry(
        req.expires_at.as_deref(),
        state.clock.now(),
        state.key_max_days,
    )?;
    let terms = auth::KeyTerms {
        shops: &req.shops,
        name: req.name.as_deref(),
        expires_at,
        rate_limit_per_minute: req.rate_limit_per_minute,
    };
    let (info, key) = auth::create_key_with(&state.pool, req.role, terms).await?;
    tracing::info!(key_id = %info.id, role = %info.role, "API key created");
    let info = info.local(state.policy.tz);
    Ok(Json(CreatedKey { info, key }))
}

/// List keys (never their secrets), oldest first. Role: `admin`.
#[utoipa::path(
    get, path = "/v1/keys", tag = "keys", params(Page),
    responses((status = 200, body = List<KeyInfo>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = ["admin"]))
)]
pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
    Query(page): Query<Page>,
) -> Result<Json<List<KeyInfo>>, ApiError> {
    caller.require(&[Role::Admin])?;
    let limit = page.limit()?;
    // The cursor is the last key's creation time (microseconds) and id.
    let after = page
        .after()?
        .map(|c| {
            c.split_once('.')
                .and_then(|(t, id)| Some((t.parse::<i64>().ok()?, id.to_string())))
                .and_then(|(t, id)| Some((chrono::DateTime::from_timestamp_micros(t)?, id)))
                .ok_or_else(|| ApiError::BadRequest("cursor is not one this API returned".into()))
        })
        .transpose()?;
    let rows: Vec<KeyInfo> = auth::list_keys(&state.pool, after, limit + 1)
        .await?
        .into_iter()
        .map(|k| k.local(state.policy.tz))
        .collect();
    Ok(Json(List::page(rows, limit, |k| {
        format!("{}.{}", k.created_at.timestamp_micros(), k.id)
    })))
}

/// Revoke a key. Role: `admin`.
#[utoipa::path(
    delete, path = "/v1/keys/{id}", tag = "keys", params(("id" = String, Path)),
    responses((status = 200, body = KeyInfo), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("api_key" = ["admin"]))
)]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    KeyPath(id): KeyPath,
) -> Result<Json<KeyInfo>, ApiError> {
    caller.require(&[Role::Admin])?;
    let info = auth::revoke_key(&state.pool, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such key".into()))?;
    // The other replicas hear of it by NOTIFY; this one need not wait for that.
    state.keys.forget(&info.id);
    tracing::info!(key_id = %info.id, "API key revoked");
    Ok(Json(info.local(state.policy.tz)))
}

/// Rotate a key's secret: the answer holds the new one (shown this once); the old one
/// keeps working for `grace_hours` (default 24), then gets 401 saying it was rotated
/// out. The key keeps its id, role, shops, expiry and limit. Role: `admin`.
#[utoipa::path(
    post, path = "/v1/keys/{id}/rotate", tag = "keys", params(("id" = String, Path)),
    request_body(content = Option<RotateRequest>, description = "optional; `{}` or no body: 24 h of grace"),
    responses((status = 200, body = CreatedKey), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "no such key, or it is revoked", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = ["admin"]))
)]
pub async fn rotate_key(
    State(state): State<AppState>,
    caller: Caller,
    KeyPath(id): KeyPath,
    body: axum::body::Bytes,
) -> Result<Json<CreatedKey>, ApiError> {
    caller.require(&[Role::Admin])?;
    let bare = std::str::from_utf8(&body).map(str::trim);
    let req: RotateRequest = if matches!(bare, Ok("" | "null")) {
        RotateRequest::default()
    } else {
        super::parse_body("rotation", &body)?
    };
    let hours = req.grace_hours.unwrap_or(24);
    if hours > GRACE_MAX_HOURS {
        return Err(ApiError::field(
            "grace_hours",
            format!("must be from 0 to {GRACE_MAX_HOURS}"),
        ));
    }
    let grace = chrono::Duration::hours(i64::from(hours));
    let (info, key) = auth::rotate_key(&state.pool, &id, state.clock.now(), grace)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such key, or it is revoked".into()))?;
    state.keys.forget(&info.id);
    tracing::info!(key_id = %info.id, grace_hours = hours, "API key rotated");
    let info = info.local(state.policy.tz);
    Ok(Json(CreatedKey { info, key }))
}

/// Change a key's own request limit (`null`: back to the server's default). Every
/// replica applies it within seconds. Role: `admin`.
#[utoipa::path(
    patch, path = "/v1/keys/{id}", tag = "keys", params(("id" = String, Path)), request_body = KeyUpdate,
    responses((status = 200, body = KeyInfo), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = ["admin"]))
)]
pub async fn update_key(
    State(state): State<AppState>,
    caller: Caller,
    KeyPath(id): KeyPath,
    body: axum::body::Bytes,
) -> Result<Json<KeyInfo>, ApiError> {
    caller.require(&[Role::Admin])?;
    let req: KeyUpdate = super::parse_body("key update", &body)?;
    check_rate(req.rate_limit_per_minute)?;
    let info = auth::set_rate_limit(&state.pool, &id, req.rate_limit_per_minute)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such key".into()))?;
    state.keys.forget(&info.id);
    tracing::info!(key_id = %info.id, limit = ?req.rate_limit_per_minute, "API key limit changed");
    Ok(Json(info.local(state.policy.tz)))
}
