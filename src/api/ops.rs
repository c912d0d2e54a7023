//! Recompute, health, readiness and metrics.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ErrorBody};
use crate::jobs::recompute::{RecomputeError, RecomputeOutcome, Stop};
use crate::jobs::runs::recompute_on_record;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecomputeRequest {
    /// RFC 3339; default: now.
    pub as_of: Option<String>,
    /// Default: every known shop.
    pub shop_ids: Option<Vec<String>>,
}

/// Recompute scorecards synchronously. Role: `ops`.
#[utoipa::path(
    post, path = "/v1/recompute", tag = "ops", request_body = RecomputeRequest,
    responses((status = 200, body = RecomputeOutcome), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, description = "unknown shop ids, or as_of outside 2000-01-01 (local) .. now + 366 days", body = ErrorBody),
              (status = 503, description = "the run exceeded SHOPSCORE_RECOMPUTE_TIMEOUT and was rolled back, or the database is unavailable", body = ErrorBody)),
    security(("api_key" = ["ops"]))
)]
pub async fn post_recompute(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<Json<RecomputeOutcome>, ApiError> {
    caller.require(&[Role::Ops])?;
    let req: RecomputeRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RecomputeRequest::default()
    } else {
        super::parse_body("recompute request", &body)?
    };
    let now = state.clock.now();
    let as_of = match req.as_of.as_deref() {
        Some(s) => super::parse_as_of("as_of", s, now, state.policy.tz)?,
        None => now,
    };
    let stop = Stop::never().within(state.recompute_limit);
    // On the recompute runtime (`jobs::runtime`), off the threads that answer requests.
    let (pool, policy, clock, replica) = (
        state.jobs.pool.clone(),
        state.policy.clone(),
        state.clock.clone(),
        state.replica.clone(),
    );
    let run = state.jobs.run_one(async move {
        let ids = req.shop_ids.as_deref();
        recompute_on_record(&pool, &policy, clock.as_ref(), &replica, as_of, ids, &stop).await
    });
    match run.await {
        Ok(out) => Ok(Json(out)),
        Err(RecomputeError::UnknownShops(ids)) => Err(ApiError::Unprocessable {
            message: "unknown shop ids".into(),
            details: ids.into_iter().map(|id| serde_json::json!({"field": "shop_ids", "shop_id": id, "message": "unknown shop"})).collect(),
        }),
        Err(e @ RecomputeError::TimedOut(_)) => Err(ApiError::Busy(format!(
            "the recompute {e}; recompute fewer shops at a time, or ask the operator to raise SHOPSCORE_RECOMPUTE_TIMEOUT"
        ))),
        Err(RecomputeError::Interrupted) => Err(ApiError::Unavailable),
        Err(RecomputeError::Db(e)) => Err(e.into()),
    }
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "alive")))]
pub async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({"status": "ok"}))
}

/// Readiness: the database answers and shutdown has not begun. The body says which
/// pools answer: `{"status": "ready", "primary": "ok"}`, with a read pool also
/// `"read_pool": "ok"|"unavailable"` and `"replica_lag_seconds"`. When only the read
/// pool answers, the process still serves reads: 200 with `"status": "read_only"`
/// (writes get 503 meanwhile); when neither does, 503.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, description = "ready, or read-only (the body says which)"), (status = 503, description = "not ready", body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    if state.shutting_down.load(Ordering::Relaxed) {
        return Err(ApiError::Unavailable);
    }
    let two = Duration::from_secs(2);
    let ok = |up: bool| if up { "ok" } else { "unavailable" };
    // Both asked at once; the replica's lag only when there is one (`None` otherwise,
    // `Some(None)` when it does not answer).
    let (primary, lag) = tokio::join!(
        tokio::time::timeout(two, crate::db::ping(&state.pool)),
        async {
            if !state.reads_separate {
                return None;
            }
            let lag = tokio::time::timeout(two, crate::db::replica_lag(&state.read_pool)).await;
            Some(lag.ok().and_then(Result::ok))
        }
    );
    let primary = matches!(primary, Ok(Ok(())));
    let mut body = serde_json::json!({"primary": ok(primary)});
    let read = lag.is_some_and(|l| l.is_some());
    if let Some(lag) = lag {
        body["read_pool"] = ok(read).into();
        body["replica_lag_seconds"] = lag.into();
    }
    body["status"] = match (primary, read) {
        (true, _) => "ready",
        (false, true) => "read_only",
        (false, false) => return Err(ApiError::Unavailable),
    }
    .into();
    Ok(Json(body))
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::telemetry::prometheus().render(),
    )
}
