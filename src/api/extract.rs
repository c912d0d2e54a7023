//! Request extractors whose every rejection is written for the client (the framework's
//! own say "Failed to deserialize query string: …"), and that check text before it
//! reaches SQL (`crate::text`).

use std::collections::HashSet;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::domain::{valid_id, Industry, ShopId, ID_MAX};
use crate::error::ApiError;

/// Longest query parameter value.
const QUERY_VALUE_MAX: usize = 256;

/// Query parameters: each at most once, each value acceptable text (else 422 naming
/// it). The target types hold strings and parse their own numbers and dates, so that
/// each can say what it expected.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or("");
        let unreadable = || ApiError::BadRequest("the query string is not form-encoded".into());
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(raw).map_err(|_| unreadable())?;
        let mut seen = HashSet::new();
        let mut details = Vec::new();
        for (name, value) in &pairs {
            if !seen.insert(name.as_str()) {
                return Err(ApiError::BadRequest(format!(
                    "query parameter {name:?} is given more than once"
                )));
            }
            if let Some(message) = crate::text::problem(value, QUERY_VALUE_MAX) {
                details.push(json!({"field": name, "message": message}));
            }
        }
        if !details.is_empty() {
            return Err(ApiError::Unprocessable {
                message: "invalid query parameters".into(),
                details,
            });
        }
        serde_urlencoded::from_str(raw)
            .map(Query)
            .map_err(|_| unreadable())
    }
}

/// The one `{…}` segment of a path, or `not_found` when the route's segment cannot be
/// read (bad percent-encoding).
async fn segment<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
    not_found: fn() -> ApiError,
) -> Result<String, ApiError> {
    axum::extract::Path::<String>::from_request_parts(parts, state)
        .await
        .map(|p| p.0)
        .map_err(|_| not_found())
}

/// A `{shop_id}` path segment. An id that no shop can have (SPEC §2's id rule) is a
/// 404 like any unknown shop, never a database error.
#[derive(Debug)]
pub struct ShopPath(pub ShopId);

impl<S: Send + Sync> FromRequestParts<S> for ShopPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let id = segment(parts, state, ApiError::shop_not_found).await?;
        ShopId::parse(&id)
            .map(ShopPath)
            .ok_or_else(ApiError::shop_not_found)
    }
}

/// The `{shop_id}` and `{metric}` segments of a metric's drill-down. The metric is its
/// text as the policy writes it (`ship_on_time_rate(48)`); text no metric can have is
/// a 404 like an unknown metric.
#[derive(Debug)]
pub struct ShopMetricPath(pub ShopId, pub String);

/// The longest metric text a policy can write is far shorter.
const METRIC_MAX: usize = 128;

impl<S: Send + Sync> FromRequestParts<S> for ShopMetricPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let (shop, metric) =
            axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
                .await
                .map(|p| p.0)
                .map_err(|_| ApiError::shop_not_found())?;
        let shop = ShopId::parse(&shop).ok_or_else(ApiError::shop_not_found)?;
        if crate::text::problem(&metric, METRIC_MAX).is_some() {
            return Err(ApiError::NotFound("no such metric".into()));
        }
        Ok(ShopMetricPath(shop, metric))
    }
}

/// An `{industry}` path segment: a code outside `[a-z0-9_]{1,64}` names no industry.
#[derive(Debug)]
pub struct IndustryPath(pub Industry);

fn no_industry() -> ApiError {
    ApiError::NotFound(
        "no such industry (industry codes are 1-64 characters from [a-z0-9_])".into(),
    )
}

impl<S: Send + Sync> FromRequestParts<S> for IndustryPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let code = segment(parts, state, no_industry).await?;
        Industry::parse(&code)
            .map(IndustryPath)
            .ok_or_else(no_industry)
    }
}

/// A `{id}` path segment naming an API key.
#[derive(Debug)]
pub struct KeyPath(pub String);

fn no_key() -> ApiError {
    ApiError::NotFound("no such key".into())
}

impl<S: Send + Sync> FromRequestParts<S> for KeyPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let id = segment(parts, state, no_key).await?;
        if !valid_id(&id, ID_MAX) {
            return Err(no_key());
        }
        Ok(KeyPath(id))
    }
}

/// A `{id}` path segment naming a webhook endpoint.
#[derive(Debug)]
pub struct EndpointPath(pub String);

fn no_endpoint() -> ApiError {
    ApiError::NotFound("no such webhook endpoint".into())
}

impl<S: Send + Sync> FromRequestParts<S> for EndpointPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let id = segment(parts, state, no_endpoint).await?;
        if !valid_id(&id, ID_MAX) {
            return Err(no_endpoint());
        }
        Ok(EndpointPath(id))
    }
}

/// The `{id}` and `{msg_id}` segments naming one message of a webhook endpoint.
#[derive(Debug)]
pub struct MessagePath(pub String, pub String);

impl<S: Send + Sync> FromRequestParts<S> for MessagePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let (endpoint, message) =
            axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
                .await
                .map(|p| p.0)
                .map_err(|_| no_endpoint())?;
        if !valid_id(&endpoint, ID_MAX) {
            return Err(no_endpoint());
        }
        if !valid_id(&message, ID_MAX) {
            return Err(ApiError::NotFound("no such message".into()));
        }
        Ok(MessagePath(endpoint, message))
    }
}
