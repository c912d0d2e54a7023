//! Scorecard reads: the latest snapshot, history, and industry benchmarks.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json as SqlJson;

use super::extract::{IndustryPath, Query, ShopPath};
use super::{parse_as_of, parse_bound, List, Page};
use crate::app::AppState;
use crate::auth::Caller;
use crate::domain::Tier;
use crate::error::{ApiError, ErrorBody};
use crate::etag;
use crate::scoring::card::Scorecard;
use crate::store;
use crate::time::format_time;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AsOf {
    /// RFC 3339: the latest scorecard computed with `as_of` at or before this instant.
    #[param(format = DateTime)]
    pub as_of: Option<String>,
}

/// A shop's scorecard. Roles: `ops`, or a `merchant` key bound to the shop.
#[utoipa::path(
    get, path = "/v1/shops/{shop_id}/scorecard", tag = "scorecards",
    params(("shop_id" = String, Path), AsOf),
    responses((status = 200, body = Scorecard), (status = 304, description = "If-None-Match named the current ETag"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, description = "no such shop, or no scorecard yet", body = ErrorBody),
              (status = 422, description = "as_of outside 2000-01-01 (local) .. now + 366 days", body = ErrorBody)),
    security(("api_key" = ["ops", "merchant"]))
)]
pub async fn get_scorecard(
    State(state): State<AppState>,
    caller: Caller,
    ShopPath(shop_id): ShopPath,
    Query(q): Query<AsOf>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require_shop(&shop_id)?;
    let at = q
        .as_of
        .as_deref()
        .map(|s| parse_as_of("as_of", s, state.clock.now(), state.policy.tz))
        .transpose()?;
    // The latest card, from memory when this process has read it since the last
    // recompute (`cache::latest`).
    if at.is_none() {
        if let Some(card) = state.latest.get(&shop_id) {
            metrics::counter!("shopscore_scorecard_reads_total", "from" => "memory").increment(1);
            return Ok(card.respond(&headers));
        }
    }
    let seen = state.latest.generation();
    // The stored JSON text goes out as it is: no parse and re-serialise.
    let body = store::cards::body(&state.read_pool, &shop_id, at).await?;
    metrics::counter!("shopscore_scorecard_reads_total", "from" => "database").increment(1);
    let card = body
        .map(|b| etag::Tagged::new(b.into_bytes()))
        .ok_or_else(|| ApiError::NotFound("no scorecard for this shop".into()))?;
    // A card read from a replica may be older than the recompute whose NOTIFY this
    // process has heard; kept in memory it would outlive the replica's catching up, so
    // only the primary's cards are kept (with a replica, it carries these reads).
    if at.is_none() && !state.reads_separate {
        state.latest.put(&shop_id, seen, card.clone());
    }
    Ok(card.respond(&headers))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DsrScores {
    pub description: Option<f64>,
    pub service: Option<f64>,
    pub logistics: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryItem {
    pub as_of: String,
    pub service_score: Option<f64>,
    pub stars: Option<i16>,
    pub credit_points: i64,
    pub credit_level_index: i16,
    pub dsr: DsrScores,
    pub cs_tier: Option<Tier>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct Range {
    /// RFC 3339, or a date (`YYYY-MM-DD`: its local midnight); inclusive.
    pub from: Option<String>,
    /// RFC 3339, or a date (`YYYY-MM-DD`: its local midnight); inclusive.
    pub to: Option<String>,
}

/// One snapshot's headline figures, as `get_history` reads them.
#[derive(sqlx::FromRow)]
struct HistoryRow {
    as_of: DateTime<Utc>,
    service_score: Option<f64>,
    stars: Option<i16>,
    credit_points: i64,
    credit_level_index: i16,
    dsr_description: Option<f64>,
    dsr_service: Option<f64>,
    dsr_logistics: Option<f64>,
    cs_tier: Option<Tier>,
}

/// Score time series, one item per snapshot, oldest first. Roles: `ops`, or the shop's `merchant`.
#[utoipa::path(
    get, path = "/v1/shops/{shop_id}/history", tag = "scorecards",
    params(("shop_id" = String, Path), Range, Page),
    responses((status = 200, body = List<HistoryItem>), (status = 304, description = "If-None-Match named the current ETag"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, description = "from or to outside 2000-01-01 (local) .. now + 366 days", body = ErrorBody)),
    security(("api_key" = ["ops", "merchant"]))
)]
pub async fn get_history(
    State(state): State<AppState>,
    caller: Caller,
    ShopPath(shop_id): ShopPath,
    Query(range): Query<Range>,
    Query(page): Query<Page>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require_shop(&shop_id)?;
    let from = range
        .from
        .as_deref()
        .map(|s| parse_bound("from", s, state.clock.now(), state.policy.tz))
        .transpose()?;
    let to = range
        .to
        .as_deref()
        .map(|s| parse_bound("to", s, state.clock.now(), state.policy.tz))
        .transpose()?;
    let after = page
        .after()?
        .map(|c| {
            c.parse::<i64>()
                .ok()
                .and_then(DateTime::<Utc>::from_timestamp_micros)
        })
        .map(|t| t.ok_or_else(|| ApiError::BadRequest("bad cursor".into())))
        .transpose()?;
    let limit = page.limit()?;
    if !store::shops::exists(&state.read_pool, &shop_id).await? {
        return Err(ApiError::shop_not_found());
    }
    let rows: Vec<HistoryRow> =
        store::cards::history(&state.read_pool, &shop_id, (from, to), after, limit + 1).await?;
    let tz = state.policy.tz;
    let mut keys = Vec::new();
    let items: Vec<HistoryItem> = rows
        .into_iter()
        .map(|r| {
            keys.push(r.as_of.timestamp_micros().to_string());
            HistoryItem {
                as_of: format_time(r.as_of, tz),
                service_score: r.service_score,
                stars: r.stars,
                credit_points: r.credit_points,
                credit_level_index: r.credit_level_index,
                dsr: DsrScores {
                    description: r.dsr_description,
                    service: r.dsr_service,
                    logistics: r.dsr_logistics,
                },
                cs_tier: r.cs_tier,
            }
        })
        .collect();
    let list = List::page(items, limit, |_| String::new());
    let next_cursor = list
        .next_cursor
        .as_ref()
        .map(|_| super::encode_cursor(&keys[limit as usize - 1]));
    Ok(etag::respond(
        &headers,
        &List {
            items: list.items,
            next_cursor,
        },
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Spread {
    pub avg: Option<f64>,
    pub p10: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Central {
    pub avg: Option<f64>,
    pub p50: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DsrBenchmarks {
    pub description: Central,
    pub service: Central,
    pub logistics: Central,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Benchmarks {
    pub industry: String,
    /// The latest `as_of` among the figures aggregated; null when the industry has none.
    pub as_of: Option<String>,
    pub shops: i64,
    pub service_score: Spread,
    pub dsr: DsrBenchmarks,
    #[schema(value_type = Object)]
    pub indicators: BTreeMap<String, Central>,
}

/// Percentile with linear interpolation between closest ranks (as `percentile_cont`).
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

fn central(mut v: Vec<f64>) -> Central {
    v.sort_by(f64::total_cmp);
    Central {
        avg: crate::scoring::service::mean(&v),
        p50: percentile(&v, 0.5),
    }
}

/// A shop's current figures, as benchmarks read them (no shop id).
#[derive(sqlx::FromRow)]
struct FigureRow {
    as_of: DateTime<Utc>,
    service_score: Option<f64>,
    indicators: SqlJson<BTreeMap<String, Option<f64>>>,
    dsr_description: Option<f64>,
    dsr_service: Option<f64>,
    dsr_logistics: Option<f64>,
}

/// Industry averages and percentiles over each shop's latest figures: aggregates only,
/// never a shop id. Roles: `ops`, `merchant`.
#[utoipa::path(
    get, path = "/v1/industries/{industry}/benchmarks", tag = "scorecards",
    params(("industry" = String, Path)),
    responses((status = 200, body = Benchmarks), (status = 304, description = "If-None-Match named the current ETag"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = ["ops", "merchant"]))
)]
pub async fn get_benchmarks(
    State(state): State<AppState>,
    caller: Caller,
    IndustryPath(industry): IndustryPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(&[crate::auth::Role::Ops, crate::auth::Role::Merchant])?;
    let rows: Vec<FigureRow> = store::figures::of_industry(&state.read_pool, &industry).await?;
    let as_of = rows
        .iter()
        .map(|r| r.as_of)
        .max()
        .map(|t| format_time(t, state.policy.tz));
    let mut scores: Vec<f64> = rows.iter().filter_map(|r| r.service_score).collect();
    scores.sort_by(f64::total_cmp);
    let mut indicators: BTreeMap<String, Vec<f64>> = state
        .policy
        .service
        .indicators
        .iter()
        .map(|i| (i.name.clone(), Vec::new()))
        .collect();
    for r in &rows {
        for (k, v) in &r.indicators.0 {
            if let (Some(list), Some(v)) = (indicators.get_mut(k), v) {
                list.push(*v);
            }
        }
    }
    let dsr = |f: fn(&FigureRow) -> Option<f64>| central(rows.iter().filter_map(f).collect());
    Ok(etag::respond(
        &headers,
        &Benchmarks {
            industry: industry.as_str().to_string(),
            as_of,
            shops: rows.len() as i64,
            service_score: Spread {
                avg: crate::scoring::service::mean(&scores),
                p10: percentile(&scores, 0.1),
                p50: percentile(&scores, 0.5),
                p90: percentile(&scores, 0.9),
            },
            dsr: DsrBenchmarks {
                description: dsr(|r| r.dsr_description),
                service: dsr(|r| r.dsr_service),
                logistics: dsr(|r| r.dsr_logistics),
            },
            indicators: indicators
                .into_iter()
                .map(|(k, v)| (k, central(v)))
                .collect(),
        },
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(super::percentile(&v, 0.5), Some(3.0));
        assert_eq!(super::percentile(&v, 0.1), Some(1.4));
        assert_eq!(super::percentile(&[], 0.5), None);
    }
}
