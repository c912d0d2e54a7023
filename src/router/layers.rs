//! Middleware every route passes through: the error body for what the framework
//! rejects, and unknown query parameters refused by name.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::spec::openapi;
use crate::auth::StandingSlot;
use crate::error::{error_response, ApiError};

/// Writes a key's quota standing on the answer to its request: `X-RateLimit-Limit`
/// (requests per minute), `X-RateLimit-Remaining` (requests it may send now) and
/// `X-RateLimit-Reset` (seconds until its quota is full again). The `Caller` extractor
/// leaves the standing in the slot this puts in the request; requests without a key
/// (health, metrics, the spec, the console's files) carry none.
pub async fn rate_limit_headers(mut req: Request, next: Next) -> Response {
    let slot = StandingSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut resp = next.run(req).await;
    let standing = *slot.0.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = standing {
        let h = resp.headers_mut();
        for (name, value) in [
            ("x-ratelimit-limit", u64::from(s.limit)),
            ("x-ratelimit-remaining", u64::from(s.remaining)),
            ("x-ratelimit-reset", s.reset_secs),
        ] {
            h.insert(header::HeaderName::from_static(name), value.into());
        }
    }
    resp
}

/// Gives every error the JSON body of SPEC §5, including the plain-text ones that
/// axum's extractors and tower layers produce (405, 413, 408, bad JSON, bad query…).
pub async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() < 400 || is_json {
        return resp;
    }
    // A response the framework made (a rejection, a timeout, a wrong method): its
    // text is written for Rust programmers, so the client gets one written for it.
    let (parts, _) = resp.into_parts();
    let message = match status.as_u16() {
        400 => "the request could not be read".to_string(),
        404 => "no such route".to_string(),
        405 => "this method is not allowed on this path; the Allow header lists those that are"
            .to_string(),
        413 => "the body is larger than this operation accepts".to_string(),
        415 => "unsupported Content-Type; send application/json".to_string(),
        422 => "the request body does not have the expected shape".to_string(),
        503 => "the request took longer than the server allows; retry shortly".to_string(),
        _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    // Extractor rejections of a body are 400/415/422 in axum; keep their status.
    let mut out = error_response(status, message, vec![]);
    for (k, v) in parts.headers.iter() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}

/// The query parameters each operation takes, from the OpenAPI document: a parameter
/// an operation does not take is a 400 naming it (a typo such as `?industy=` would
/// otherwise be ignored silently and answer with an unfiltered list).
fn query_parameters() -> &'static HashMap<(String, String), Vec<String>> {
    static MAP: OnceLock<HashMap<(String, String), Vec<String>>> = OnceLock::new();
    MAP.get_or_init(|| {
        let doc = serde_json::to_value(openapi()).expect("the document serialises");
        let mut map = HashMap::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                let names = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "query")
                    .filter_map(|p| p["name"].as_str().map(String::from))
                    .collect();
                map.insert((method.to_uppercase(), path.clone()), names);
            }
        }
        map
    })
}

pub async fn known_query_parameters(req: Request, next: Next) -> Response {
    let (Some(route), Some(query)) = (req.extensions().get::<MatchedPath>(), req.uri().query())
    else {
        return next.run(req).await;
    };
    // Probes and scrapers (`/healthz`, `/metrics`, …) may add what they like.
    if !route.as_str().starts_with("/v1") {
        return next.run(req).await;
    }
    let Some(known) =
        query_parameters().get(&(req.method().to_string(), route.as_str().to_string()))
    else {
        return next.run(req).await;
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let mut unknown: Vec<&str> = pairs
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !known.iter().any(|n| n == k))
        .collect();
    if unknown.is_empty() {
        return next.run(req).await;
    }
    unknown.sort_unstable();
    unknown.dedup();
    let takes = if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    };
    ApiError::BadRequest(format!(
        "unknown query parameter(s): {}; this operation takes: {takes}",
        unknown.join(", ")
    ))
    .into_response()
}
