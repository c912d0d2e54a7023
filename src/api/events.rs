//! `POST /v1/events`: one event, a JSON array, or NDJSON; all-or-nothing.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::app::AppState;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ErrorBody};
use crate::ingest::body::{Batch, BodyError, NdjsonParser, MAX_BATCH};
use crate::ingest::{self, IngestOutcome, WriteError};
use http_body_util::BodyExt;

/// The two body formats.
#[derive(Clone, Copy, PartialEq)]
enum Format {
    Json,
    Ndjson,
}

fn format_of(headers: &HeaderMap) -> Result<Format, ApiError> {
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
    match mime.as_str() {
        "application/x-ndjson" | "application/jsonl" | "application/json-seq" => Ok(Format::Ndjson),
        "application/json" | "" => Ok(Format::Json),
        other => Err(ApiError::UnsupportedMediaType(format!(
            "content type {other:?} is not application/json or application/x-ndjson"
        ))),
    }
}

fn too_large(max: u64) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "the body is larger than {} MiB; send fewer events per request",
        max / (1024 * 1024)
    ))
}

/// Reads the body as it arrives: NDJSON is parsed line by line, JSON is collected and
/// then walked element by element (`ingest::body`). Never more than `max` bytes.
/// `now` bounds how far in the future an event may claim to have happened.
async fn read_batch(
    body: Body,
    format: Format,
    max: u64,
    now: DateTime<Utc>,
) -> Result<Batch, ApiError> {
    let mut body = body;
    let mut seen: u64 = 0;
    let mut ndjson = (format == Format::Ndjson).then(|| NdjsonParser::new(now));
    let mut json = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| {
            ApiError::BadRequest("the request body could not be read to its end".into())
        })?;
        let Ok(chunk) = frame.into_data() else {
            continue; // trailers
        };
        seen += chunk.len() as u64;
        if seen > max {
            return Err(too_large(max));
        }
        match &mut ndjson {
            Some(p) => p.feed(&chunk),
            None => json.extend_from_slice(&chunk),
        }
    }
    let parsed = match ndjson {
        Some(p) => p.finish(),
        None => ingest::body::parse_json(&json, now),
    };
    parsed.map_err(|e| match e {
        BodyError::Malformed { message, details } if details.is_empty() => {
            ApiError::BadRequest(message)
        }
        BodyError::Malformed { message, details } => {
            ApiError::BadRequestDetails { message, details }
        }
        BodyError::Empty => ApiError::BadRequest("no events in the body".into()),
        BodyError::TooMany(n) => {
            ApiError::PayloadTooLarge(format!("at most {MAX_BATCH} events per request, got {n}"))
        }
    })
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
        (status = 429, description = "this key's rate limit; see Retry-After", body = ErrorBody),
        (status = 503, description = "the database is unreachable, contention outlasted the server's own retries, \
            or the ingest memory budget stayed full: nothing was stored; send again after Retry-After", body = ErrorBody),
    ),
    security(("api_key" = ["ingest"]))
)]
pub async fn post_events(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IngestOutcome>, ApiError> {
    caller.require(&[Role::Ingest])?;
    let format = format_of(&headers)?;
    let limits = &state.ingest;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body) {
        return Err(too_large(limits.max_body));
    }
    // Held until the batch is committed: the body, its events and the statement
    // buffers all live within it.
    let _room = limits
        .budget
        .reserve(declared.unwrap_or(limits.max_body))
        .await
        .ok_or_else(|| {
            metrics::counter!("shopscore_ingest_budget_exhausted_total").increment(1);
            ApiError::Busy("too many events are being ingested at once; retry shortly".into())
        })?;
    let Batch { events, invalid } =
        read_batch(body, format, limits.max_body, state.clock.now()).await?;
    if !invalid.is_empty() {
        let n = invalid
            .iter()
            .map(|e| e.index)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        return Err(ApiError::Unprocessable {
            message: format!("{n} invalid event(s); nothing was stored"),
            details: invalid
                .into_iter()
                .map(|e| serde_json::to_value(e).expect("serialisable"))
                .collect(),
        });
    }
    let started = std::time::Instant::now();
    match limits.writer.write(events).await {
        Ok(outcome) => {
            metrics::counter!("shopscore_events_accepted_total").increment(outcome.accepted as u64);
            metrics::counter!("shopscore_events_duplicate_total").increment(outcome.duplicates as u64);
            metrics::histogram!("shopscore_ingest_batch_seconds").record(started.elapsed().as_secs_f64());
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
