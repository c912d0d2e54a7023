//! `ApiError` → the JSON error body of SPEC §5. Database errors are mapped once, here:
//! an unreachable database is a 503, anything else a logged 500 whose text never
//! reaches the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[schema(value_type = Vec<Object>)]
    pub details: Vec<Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    BadRequestDetails {
        message: String,
        details: Vec<Value>,
    },
    #[error("missing or invalid API key")]
    Unauthorized,
    /// A key of ours that no longer works, or is mistyped: 401 saying which.
    #[error("{0}")]
    KeyRefused(String),
    #[error("this key's role may not call this endpoint")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict {
        message: String,
        details: Vec<Value>,
    },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{message}")]
    Unprocessable {
        message: String,
        details: Vec<Value>,
    },
    #[error("rate limit exceeded")]
    RateLimited { retry_after_secs: u64 },
    #[error("the database is unavailable; retry later")]
    Unavailable,
    /// Too much work in flight (contention that outlasted the retries, or the ingest
    /// memory budget): 503 with `Retry-After`, the client should simply send again.
    #[error("{0}")]
    Busy(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// 422 for one unusable field of a request: `"<field>: <message>"`, and the field
    /// named in `details`.
    pub fn field(field: &str, message: String) -> ApiError {
        ApiError::Unprocessable {
            message: format!("{field}: {message}"),
            details: vec![serde_json::json!({"field": field, "message": message})],
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::BadRequestDetails { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::KeyRefused(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable | ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn shop_not_found() -> ApiError {
        ApiError::NotFound("shop not found".into())
    }
}

/// The machine-readable code for a status.
pub fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        409 => "conflict",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "validation_failed",
        429 => "rate_limited",
        503 => "unavailable",
        s if s >= 500 => "internal",
        _ => "error",
    }
}

pub fn error_response(status: StatusCode, message: String, details: Vec<Value>) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code_for(status).into(),
            message,
            details,
        },
    };
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = ?e, "internal error");
        }
        let retry = match &self {
            ApiError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            ApiError::Unavailable | ApiError::Busy(_) => Some(1),
            _ => None,
        };
        let message = self.to_string();
        let details = match self {
            ApiError::BadRequestDetails { details, .. }
            | ApiError::Conflict { details, .. }
            | ApiError::Unprocessable { details, .. } => details,
            _ => Vec::new(),
        };
        let mut resp = error_response(status, message, details);
        if let Some(secs) = retry {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        resp
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if crate::db::unreachable(&e) {
            tracing::warn!(error = %e, "database unavailable");
            return ApiError::Unavailable;
        }
        // Text Postgres cannot store (U+0000) that slipped past validation: the
        // client's input, not a fault of ours. 22021: invalid byte sequence (a NUL in
        // a text parameter); 22P05: untranslatable character (\u0000 in jsonb).
        if let sqlx::Error::Database(d) = &e {
            if matches!(d.code().as_deref(), Some("22021" | "22P05")) {
                return ApiError::Unprocessable {
                    message: "text must not contain NUL (U+0000) characters".into(),
                    details: vec![],
                };
            }
        }
        // Deadlock, serialization failure (a lost connection was a 503 above): whatever
        // retries the caller made are spent, and none of it is the client's fault.
        match crate::db::retry::classify(&e) {
            Some(t) => {
                tracing::warn!(error = %e, reason = t.as_str(), "contention outlasted the retries");
                ApiError::Busy("the database is busy with concurrent writes; retry shortly".into())
            }
            None => ApiError::Internal(e.into()),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        match e.downcast::<sqlx::Error>() {
            Ok(db) => db.into(),
            Err(e) => ApiError::Internal(e),
        }
    }
}
