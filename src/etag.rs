//! Conditional reads for polling dashboards: scorecard, history and benchmarks answer
//! with an `ETag` (a hash of the body) and `Cache-Control: private, no-cache` (a cache
//! may keep the answer but must ask again); a request whose `If-None-Match` names the
//! current tag gets `304 Not Modified` without a body.

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// A JSON body with its tag, ready to send any number of times (cheap to clone).
#[derive(Debug, Clone)]
pub struct Tagged {
    body: Bytes,
    tag: HeaderValue,
}

impl Tagged {
    /// The body as sent.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    pub fn new(body: Vec<u8>) -> Tagged {
        let tag = format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..12]));
        Tagged {
            body: body.into(),
            tag: HeaderValue::from_str(&tag).expect("hex in quotes is a valid header"),
        }
    }

    /// The body as a JSON response, or 304 when the client already has it.
    pub fn respond(&self, request: &HeaderMap) -> Response {
        self.respond_as(request, "application/json")
    }

    /// The body as a response of `content_type`, or 304 when the client already has it.
    pub fn respond_as(&self, request: &HeaderMap, content_type: &'static str) -> Response {
        let cache = HeaderValue::from_static("private, no-cache");
        let tag = self.tag.to_str().expect("built from ASCII");
        if matches(request, tag) {
            return (
                StatusCode::NOT_MODIFIED,
                [
                    (header::ETAG, self.tag.clone()),
                    (header::CACHE_CONTROL, cache),
                ],
            )
                .into_response();
        }
        (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (header::ETAG, self.tag.clone()),
                (header::CACHE_CONTROL, cache),
            ],
            self.body.clone(),
        )
            .into_response()
    }
}

/// `body` (JSON) as a response, or 304 when the client already has it.
pub fn json_response(request: &HeaderMap, body: Vec<u8>) -> Response {
    Tagged::new(body).respond(request)
}

/// Whether `If-None-Match` lists `tag` (or is `*`); weak tags compare by their value.
fn matches(request: &HeaderMap, tag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == tag)
}

/// A serialisable value as a conditional JSON response.
pub fn respond<T: serde::Serialize>(request: &HeaderMap, value: &T) -> Response {
    json_response(
        request,
        serde_json::to_vec(value).expect("responses serialise"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_and_weak_tags() {
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"a\", W/\"b\""),
        );
        assert!(matches(&h, "\"b\""));
        assert!(matches(&h, "\"a\""));
        assert!(!matches(&h, "\"c\""));
        assert!(!matches(&HeaderMap::new(), "\"a\""));
    }
}
