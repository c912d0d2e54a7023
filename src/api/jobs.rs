//! `GET /v1/jobs`: the record of scheduled and ops-requested runs (SPEC §6), for ops.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;

use super::extract::Query;
use super::{List, Page};
use crate::app::AppState;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ErrorBody};
use crate::jobs::runs::{self, JobKind, JobRun, Outcome};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct JobFilter {
    /// `dirty`, `daily` or `recompute`.
    #[param(inline, value_type = Option<JobKind>)]
    pub kind: Option<String>,
    /// `running`, `succeeded` or `failed`.
    #[param(inline, value_type = Option<Outcome>)]
    pub outcome: Option<String>,
}

/// One of `allowed`, by its name, or a 400 listing them.
fn one_of<T: Copy>(
    field: &str,
    value: Option<&str>,
    allowed: &[T],
    name: fn(T) -> &'static str,
) -> Result<Option<T>, ApiError> {
    let Some(v) = value else { return Ok(None) };
    allowed
        .iter()
        .copied()
        .find(|a| name(*a) == v)
        .map(Some)
        .ok_or_else(|| {
            let names: Vec<&str> = allowed.iter().map(|a| name(*a)).collect();
            ApiError::BadRequest(format!("{field} must be one of {}", names.join(", ")))
        })
}

/// Runs, newest first. Role: `ops`.
#[utoipa::path(
    get, path = "/v1/jobs", tag = "ops",
    params(JobFilter, Page),
    responses((status = 200, body = List<JobRun>), (status = 400, description = "a bad filter, limit or cursor", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = ["ops"]))
)]
pub async fn list_jobs(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<JobFilter>,
    Query(page): Query<Page>,
) -> Result<Json<List<JobRun>>, ApiError> {
    caller.require(&[Role::Ops])?;
    let kind = one_of("kind", f.kind.as_deref(), JobKind::ALL, JobKind::as_str)?;
    let outcome = one_of(
        "outcome",
        f.outcome.as_deref(),
        Outcome::ALL,
        Outcome::as_str,
    )?;
    let before = page
        .after()?
        .map(|c| c.parse::<i64>())
        .transpose()
        .map_err(|_| ApiError::BadRequest("cursor is not one this API returned".into()))?;
    let limit = page.limit()?;
    let rows = runs::list(
        &state.read_pool,
        state.policy.tz,
        kind,
        outcome,
        before,
        limit,
    )
    .await?;
    Ok(Json(List::page(rows, limit, |r| r.id.to_string())))
}
