//! API key management for admins (the secret is shown once, on creation).

use axum::extract::State;
use axum::Json;
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
    let (info, key) =
        auth::create_key(&state.pool, req.role, &req.shops, req.name.as_deref()).await?;
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
