//! `POST /v1/events`: one event, a JSON array, or NDJSON; all-or-nothing.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::Json;
use chrono::Utc;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ErrorBody};
use crate::ingest::{self, IngestOutcome, WriteError};

/// The most events one request may carry.
pub const MAX_BATCH: usize = 10_000;

fn parse_items(headers: &HeaderMap, body: &[u8]) -> Result<Vec<Value>, ApiError> {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let mime = ctype
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let items = match mime.as_str() {
        "application/x-ndjson" | "application/jsonl" | "application/json-seq" => {
            let text = std::str::from_utf8(body)
                .map_err(|_| ApiError::BadRequest("body is not UTF-8".into()))?;
            let mut items = Vec::new();
            let mut bad = Vec::new();
            for (line_no, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(line) {
                    Ok(v) => items.push(v),
                    Err(e) => bad.push(json!({"index": items.len() + bad.len(), "line": line_no + 1, "field": "", "message": e.to_string()})),
                }
            }
            if !bad.is_empty() {
                return Err(ApiError::BadRequestDetails {
                    message: "malformed NDJSON".into(),
                    details: bad,
                });
            }
            items
        }
        "application/json" | "" => match serde_json::from_slice::<Value>(body) {
            Ok(Value::Array(items)) => items,
            Ok(v @ Value::Object(_)) => vec![v],
            Ok(_) => {
                return Err(ApiError::BadRequest(
                    "body must be an event object or an array of events".into(),
                ))
            }
            Err(e) => return Err(ApiError::BadRequest(format!("malformed JSON: {e}"))),
        },
        other => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "content type {other:?} is not application/json or application/x-ndjson"
            )))
        }
    };
    if items.len() > MAX_BATCH {
        return Err(ApiError::PayloadTooLarge(format!(
            "at most {MAX_BATCH} events per request, got {}",
            items.len()
        )));
    }
    if items.is_empty() {
        return Err(ApiError::BadRequest("no events in the body".into()));
    }
    Ok(items)
}

/// Ingest events.
///
/// One event object, a JSON array of up to 10 000, or NDJSON
/// (`Content-Type: application/x-ndjson`). All-or-nothing: one invalid event and
/// nothing is stored (422 lists every invalid item); a stored `event_id` with other
/// content is a 409. Role: `ingest`.
#[utoipa::path(
    post, path = "/v1/events", tag = "events",
    request_body(content = Object, content_type = "application/json",
                 description = "an event, an array of events, or (as application/x-ndjson) one event per line"),
    responses(
        (status = 200, description = "stored (committed)", body = IngestOutcome),
        (status = 400, description = "malformed body", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "an event_id already stored with other content", body = ErrorBody),
        (status = 413, description = "more than 10 000 events, or body too large", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "invalid events: details [{index, field, message}]", body = ErrorBody),
    ),
    security(("api_key" = ["ingest"]))
)]
pub async fn post_events(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<IngestOutcome>, ApiError> {
    caller.require(&[Role::Ingest])?;
    let items = parse_items(&headers, &body)?;
    let now = Utc::now();
    let mut events = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match ingest::validate(i, item, now) {
            Ok(e) => events.push(e),
            Err(errs) => errors.extend(errs),
        }
    }
    if !errors.is_empty() {
        let n = errors
            .iter()
            .map(|e| e.index)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        return Err(ApiError::Unprocessable {
            message: format!("{n} invalid event(s); nothing was stored"),
            details: errors
                .into_iter()
                .map(|e| serde_json::to_value(e).expect("serialisable"))
                .collect(),
        });
    }
    let started = std::time::Instant::now();
    match ingest::write_batch(&state.pool, &events).await {
        Ok(outcome) => {
            ::metrics::counter!("shopscore_events_accepted_total").increment(outcome.accepted as u64);
            ::metrics::counter!("shopscore_events_duplicate_total").increment(outcome.duplicates as u64);
            ::metrics::histogram!("shopscore_ingest_batch_seconds").record(started.elapsed().as_secs_f64());
            Ok(Json(outcome))
        }
        Err(WriteError::Conflict(conflicts)) => Err(ApiError::Conflict {
            message: "an event_id is already used with different content; nothing was stored".into(),
            details: conflicts
                .into_iter()
                .map(|c| json!({"index": c.index, "field": "event_id", "shop_id": c.shop_id, "event_id": c.event_id,
                                "message": "already stored with different content"}))
                .collect(),
        }),
        Err(WriteError::Db(e)) => Err(e.into()),
    }
}
