//! What became of an endpoint's messages (ops), and sending them again (admin): one
//! message, or everything since a time.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::extract::{EndpointPath, MessagePath, Query};
use super::{List, Page};
use crate::app::AppState;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ErrorBody};
use crate::webhook::endpoints;
use crate::webhook::messages::{self, AttemptOut, Message};

fn no_endpoint() -> ApiError {
    ApiError::NotFound("no such webhook endpoint".into())
}

fn no_message() -> ApiError {
    ApiError::NotFound("no such message for this endpoint".into())
}

/// `?status=&limit=&cursor=` of an endpoint's messages.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct MessagesQuery {
    /// `pending`, `delivered` or `failed`; absent: all.
    pub status: Option<String>,
    /// 1–500, default 100.
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// 404 unless the endpoint exists.
async fn endpoint_exists(state: &AppState, id: &str) -> Result<(), ApiError> {
    match endpoints::get(&state.pool, id, state.policy.tz).await? {
        Some(_) => Ok(()),
        None => Err(no_endpoint()),
    }
}

/// An endpoint's messages, newest first, each with the event it carries and where its
/// delivery stands. Role: `ops`.
#[utoipa::path(
    get, path = "/v1/webhooks/endpoints/{id}/messages", tag = "webhooks",
    params(("id" = String, Path), MessagesQuery),
    responses((status = 200, body = List<Message>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = ["ops"]))
)]
pub async fn list_messages(
    State(state): State<AppState>,
    caller: Caller,
    EndpointPath(id): EndpointPath,
    Query(q): Query<MessagesQuery>,
) -> Result<Json<List<Message>>, ApiError> {
    caller.require(&[Role::Ops])?;
    let page = Page {
        limit: q.limit,
        cursor: q.cursor,
    };
    let limit = page.limit()?;
    let after = page.after()?.map(|c| decode_after(&c)).transpose()?;
    if let Some(s) = q.status.as_deref() {
        if !["pending", "delivered", "failed"].contains(&s) {
            return Err(ApiError::field(
                "status",
                "must be pending, delivered or failed".into(),
            ));
        }
    }
    endpoint_exists(&state, &id).await?;
    let tz = state.policy.tz;
    let rows = messages::list(
        &state.pool,
        &id,
        after.as_ref(),
        q.status.as_deref(),
        limit + 1,
        tz,
    )
    .await?;
    Ok(Json(List::page(rows, limit, |m| {
        format!("{}|{}", m.created_at.timestamp_micros(), m.id)
    })))
}

/// A cursor's `created_at` (microseconds) and message id.
fn decode_after(c: &str) -> Result<messages::After, ApiError> {
    let bad = || ApiError::BadRequest("cursor is not one this API returned".into());
    let (micros, id) = c.split_once('|').ok_or_else(bad)?;
    let at = micros
        .parse()
        .ok()
        .and_then(DateTime::<Utc>::from_timestamp_micros)
        .ok_or_else(bad)?;
    Ok((at, id.to_string()))
}

/// One message's attempts, in the order they were made: when, how long, the outcome,
/// the receiver's status and the first KiB of its answer. Role: `ops`.
#[utoipa::path(
    get, path = "/v1/webhooks/endpoints/{id}/messages/{msg_id}/attempts", tag = "webhooks",
    params(("id" = String, Path), ("msg_id" = String, Path)),
    responses((status = 200, body = Vec<AttemptOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("api_key" = ["ops"]))
)]
pub async fn list_attempts(
    State(state): State<AppState>,
    caller: Caller,
    MessagePath(id, msg): MessagePath,
) -> Result<Json<Vec<AttemptOut>>, ApiError> {
    caller.require(&[Role::Ops])?;
    let tz = state.policy.tz;
    if messages::get(&state.pool, &id, &msg, tz).await?.is_none() {
        endpoint_exists(&state, &id).await?;
        return Err(no_message());
    }
    Ok(Json(messages::attempts(&state.pool, &id, &msg, tz).await?))
}

/// Send one message again now, whatever became of it, in a new round of the retry
/// schedule; the same `webhook-id`. Role: `admin`.
#[utoipa::path(
    post, path = "/v1/webhooks/endpoints/{id}/messages/{msg_id}/resend", tag = "webhooks",
    params(("id" = String, Path), ("msg_id" = String, Path)),
    responses((status = 200, body = Message), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("api_key" = ["admin"]))
)]
pub async fn resend_message(
    State(state): State<AppState>,
    caller: Caller,
    MessagePath(id, msg): MessagePath,
) -> Result<Json<Message>, ApiError> {
    caller.require(&[Role::Admin])?;
    let tz = state.policy.tz;
    if !messages::resend(&state.pool, &id, &msg, state.clock.now()).await? {
        endpoint_exists(&state, &id).await?;
        return Err(no_message());
    }
    let m = messages::get(&state.pool, &id, &msg, tz).await?;
    Ok(Json(m.ok_or_else(no_message)?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverRequest {
    /// RFC 3339 with an offset: events since this instant.
    pub since: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Recovered {
    /// Messages now due: the failed ones sent again and the events the endpoint had no
    /// message for.
    pub messages: i64,
}

/// Send again everything since a time that the endpoint wants and has not had: its
/// messages that failed for good, and the events written while it was paused or
/// disabled (or before it existed, if `since` is earlier). Delivered and pending
/// messages are left as they are. Role: `admin`.
#[utoipa::path(
    post, path = "/v1/webhooks/endpoints/{id}/recover", tag = "webhooks",
    params(("id" = String, Path)), request_body = RecoverRequest,
    responses((status = 200, body = Recovered), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = ["admin"]))
)]
pub async fn recover(
    State(state): State<AppState>,
    caller: Caller,
    EndpointPath(id): EndpointPath,
    body: axum::body::Bytes,
) -> Result<Json<Recovered>, ApiError> {
    caller.require(&[Role::Admin])?;
    let req: RecoverRequest = super::parse_body("recover request", &body)?;
    let (now, tz) = (state.clock.now(), state.policy.tz);
    let unusable = |message: String| ApiError::field("since", message);
    let since = DateTime::parse_from_rfc3339(&req.since)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| unusable("must be an RFC 3339 timestamp with an offset".into()))?;
    crate::time::check_as_of(since, now, tz).map_err(unusable)?;
    endpoint_exists(&state, &id).await?;
    let n = messages::recover(&state.pool, &id, since, now).await?;
    tracing::info!(endpoint = %id, messages = n, "webhook messages recovered");
    Ok(Json(Recovered { messages: n }))
}
