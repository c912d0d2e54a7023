//! Webhook endpoints (issue 25): where grade changes are to be sent. Admins create,
//! change, rotate and delete them; ops read them. The secret is shown once, when made.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::extract::{EndpointPath, Query};
use super::{List, Page};
use crate::app::AppState;
use crate::auth::{Caller, Role};
use crate::domain::{valid_id, ID_MAX};
use crate::error::{ApiError, ErrorBody};
use crate::webhook::endpoints::{self, Changes, Endpoint, EventType, NewEndpoint};
use crate::webhook::target;

/// At most this many shops in one endpoint's filter.
const MAX_SHOPS: usize = 1000;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpointRequest {
    /// `http` or `https`, no credentials, at most 2 048 characters; private and
    /// loopback addresses are refused unless the server allows them
    /// (`--webhook-allow-private`).
    pub url: String,
    /// The event types wanted; empty or absent: every type.
    #[serde(default)]
    pub event_types: Vec<EventType>,
    /// Only these shops' events; empty or absent: every shop. At most 1 000.
    #[serde(default)]
    pub shop_ids: Vec<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointUpdate {
    pub url: Option<String>,
    pub event_types: Option<Vec<EventType>>,
    pub shop_ids: Option<Vec<String>>,
    pub description: Option<String>,
    /// `true` enables it again (clearing why the service disabled it), `false`
    /// pauses it.
    pub enabled: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// The `whsec_…` secret that signs its deliveries (Standard Webhooks): shown this
    /// once.
    pub secret: String,
}

/// Checks what a request sets: the URL, each shop id, the description.
fn check(
    state: &AppState,
    url: Option<&str>,
    shop_ids: Option<&[String]>,
    description: Option<&str>,
) -> Result<(), ApiError> {
    if let Some(problem) = url.and_then(|u| target::problem(u, !state.webhook_allow_private)) {
        return Err(ApiError::field("url", problem));
    }
    let shops = shop_ids.unwrap_or_default();
    if shops.len() > MAX_SHOPS {
        return Err(ApiError::field(
            "shop_ids",
            format!("at most {MAX_SHOPS} shops"),
        ));
    }
    if let Some(i) = shops.iter().position(|s| !valid_id(s, ID_MAX)) {
        return Err(ApiError::field(
            &format!("shop_ids[{i}]"),
            format!("not a shop id (1-{ID_MAX} characters from [A-Za-z0-9._:-])"),
        ));
    }
    if let Some(problem) = description.and_then(|d| crate::text::problem(d, super::shops::TEXT_MAX))
    {
        return Err(ApiError::field("description", problem));
    }
    Ok(())
}

fn no_endpoint() -> ApiError {
    ApiError::NotFound("no such webhook endpoint".into())
}

/// Create a webhook endpoint; the answer carries its secret, shown this once. Role:
/// `admin`.
#[utoipa::path(
    post, path = "/v1/webhooks/endpoints", tag = "webhooks", request_body = NewEndpointRequest,
    responses((status = 200, body = EndpointWithSecret), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = ["admin"]))
)]
pub async fn create_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<Json<EndpointWithSecret>, ApiError> {
    caller.require(&[Role::Admin])?;
    let req: NewEndpointRequest = super::parse_body("webhook endpoint", &body)?;
    check(
        &state,
        Some(&req.url),
        Some(&req.shop_ids),
        req.description.as_deref(),
    )?;
    let new = NewEndpoint {
        url: &req.url,
        event_types: &req.event_types,
        shop_ids: &req.shop_ids,
        description: req.description.as_deref(),
    };
    let (now, tz) = (state.clock.now(), state.policy.tz);
    let (endpoint, secret) = endpoints::create(&state.pool, new, now, tz).await?;
    tracing::info!(endpoint = %endpoint.id, "webhook endpoint created");
    Ok(Json(EndpointWithSecret { endpoint, secret }))
}

/// List webhook endpoints (never their secrets), in id order. Role: `ops`.
#[utoipa::path(
    get, path = "/v1/webhooks/endpoints", tag = "webhooks", params(Page),
    responses((status = 200, body = List<Endpoint>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("api_key" = ["ops"]))
)]
pub async fn list_endpoints(
    State(state): State<AppState>,
    caller: Caller,
    Query(page): Query<Page>,
) -> Result<Json<List<Endpoint>>, ApiError> {
    caller.require(&[Role::Ops])?;
    let limit = page.limit()?;
    let after = page.after()?;
    let rows = endpoints::list(&state.pool, after.as_deref(), limit + 1, state.policy.tz).await?;
    Ok(Json(List::page(rows, limit, |e| e.id.clone())))
}

/// One webhook endpoint (never its secret). Role: `ops`.
#[utoipa::path(
    get, path = "/v1/webhooks/endpoints/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = Endpoint), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("api_key" = ["ops"]))
)]
pub async fn get_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    EndpointPath(id): EndpointPath,
) -> Result<Json<Endpoint>, ApiError> {
    caller.require(&[Role::Ops])?;
    let e = endpoints::get(&state.pool, &id, state.policy.tz).await?;
    Ok(Json(e.ok_or_else(no_endpoint)?))
}

/// Change a webhook endpoint: each field given replaces the stored one. Role: `admin`.
#[utoipa::path(
    patch, path = "/v1/webhooks/endpoints/{id}", tag = "webhooks", params(("id" = String, Path)),
    request_body = EndpointUpdate,
    responses((status = 200, body = Endpoint), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = ["admin"]))
)]
pub async fn update_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    EndpointPath(id): EndpointPath,
    body: axum::body::Bytes,
) -> Result<Json<Endpoint>, ApiError> {
    caller.require(&[Role::Admin])?;
    let req: EndpointUpdate = super::parse_body("webhook endpoint update", &body)?;
    check(
        &state,
        req.url.as_deref(),
        req.shop_ids.as_deref(),
        req.description.as_deref(),
    )?;
    let changes = Changes {
        url: req.url.as_deref(),
        event_types: req.event_types.as_deref(),
        shop_ids: req.shop_ids.as_deref(),
        description: req.description.as_deref(),
        enabled: req.enabled,
    };
    let (now, tz) = (state.clock.now(), state.policy.tz);
    let e = endpoints::update(&state.pool, &id, changes, now, tz).await?;
    Ok(Json(e.ok_or_else(no_endpoint)?))
}

/// Delete a webhook endpoint. Role: `admin`.
#[utoipa::path(
    delete, path = "/v1/webhooks/endpoints/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = Endpoint), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("api_key" = ["admin"]))
)]
pub async fn delete_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    EndpointPath(id): EndpointPath,
) -> Result<Json<Endpoint>, ApiError> {
    caller.require(&[Role::Admin])?;
    let e = endpoints::delete(&state.pool, &id, state.policy.tz).await?;
    let e = e.ok_or_else(no_endpoint)?;
    tracing::info!(endpoint = %e.id, "webhook endpoint deleted");
    Ok(Json(e))
}

/// A new secret for a webhook endpoint, shown this once; the old one keeps signing
/// beside it for 24 hours (`previous_secret_until`), so receivers can switch without
/// losing a delivery. Role: `admin`.
#[utoipa::path(
    post, path = "/v1/webhooks/endpoints/{id}/rotate-secret", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = EndpointWithSecret), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("api_key" = ["admin"]))
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    EndpointPath(id): EndpointPath,
) -> Result<Json<EndpointWithSecret>, ApiError> {
    caller.require(&[Role::Admin])?;
    let (now, tz) = (state.clock.now(), state.policy.tz);
    let (endpoint, secret) = endpoints::rotate(&state.pool, &id, now, tz)
        .await?
        .ok_or_else(no_endpoint)?;
    tracing::info!(endpoint = %endpoint.id, "webhook endpoint secret rotated");
    Ok(Json(EndpointWithSecret { endpoint, secret }))
}
