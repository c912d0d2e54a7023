//! A metric's drill-down: the entities behind a figure of the scorecard, each with how
//! it counts and why (`metric::items`).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::extract::{Query, ShopMetricPath};
use super::{card_as_of, encode_cursor, parse_as_of, Page};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::etag;
use crate::metric;
use crate::metric::catalogue::Family;
use crate::metric::catalogue::Metric;
use crate::metric::eval::measure;
use crate::metric::items::{self, Counts, Item, Kind};
use crate::metric::loader::Loader;
use crate::metric::Scope;
use crate::policy::Policy;
use crate::scoring::periods::Periods;
use crate::store;
use crate::time::{format_time, Month};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ItemsQuery {
    /// RFC 3339; default: the `as_of` of the shop's latest scorecard, so that the items
    /// add up to the figures it shows.
    #[param(format = DateTime)]
    pub as_of: Option<String>,
    /// `service` (default: the service score's rolling window), a programme's name
    /// (its period as the scorecard shows it, e.g. `holiday_peak`), or a month
    /// `YYYY-MM` (evaluated at its end, or at `as_of` if earlier).
    pub window: Option<String>,
    /// Only the items that count this way (the totals still count every item).
    pub counts: Option<Counts>,
}

/// One entity behind the metric.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MetricItem {
    /// What the item is: an order, a refund, a conversation, …
    pub kind: Kind,
    /// Its id (an order's, a conversation's; for a day, the date; for a verification or a
    /// flag, the event's).
    pub id: String,
    pub counts: Counts,
    /// Why it counts as it does.
    pub reason: String,
    /// An average's term, in the metric's unit; null for counts and rates.
    pub value: Option<f64>,
    /// The times that decided it, by name (`created_at`, `paid_at`, `shipped_at`, …),
    /// as far as they are known at the evaluation instant.
    #[schema(value_type = Object)]
    pub times: IndexMap<&'static str, String>,
}

/// How many items count each way, over the whole window (not only this page).
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Totals {
    pub numerator: u64,
    pub denominator: u64,
    pub term: u64,
    pub excluded: u64,
}

/// The window whose entities are listed: those of `[from, to)`, evaluated at
/// `evaluated_at` (SPEC §1).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Window {
    /// `service`, the programme's name, or the month.
    pub name: String,
    pub from: String,
    pub to: String,
    pub evaluated_at: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MetricItems {
    pub shop_id: String,
    pub metric: String,
    pub as_of: String,
    pub window: Window,
    /// The metric's value and basis in this window: what the scorecard shows for it.
    pub value: Option<f64>,
    pub n: u64,
    pub totals: Totals,
    pub items: Vec<MetricItem>,
    pub next_cursor: Option<String>,
}

/// The entities behind one metric of a shop: for each, its id, the times that decided
/// it, and whether it counts in the numerator, in the denominator only, as a term of an
/// average, or not at all (and why). Items are in id order (byte order, then `kind`),
/// keyset-paged. Every metric of the catalogue lists its items: orders, refunds,
/// conversations, complaints; presence lists each whole local day (id: the date) with
/// its staffed hours; reviews and satisfaction ratings each counted one; the tallies
/// each thing counted. For most metrics `n` = numerator + denominator items; for the
/// rates of one kind over another (`quality_refund_rate`, `complaint_rate`,
/// `ruling_rate`) the orders are the denominator (`n`) and the refunds or complaints
/// the numerator counts are listed beside them. Roles: `ops`, or a `merchant` key
/// bound to the shop.
#[utoipa::path(
    get, path = "/v1/shops/{shop_id}/metrics/{metric}/items", tag = "scorecards",
    params(("shop_id" = String, Path), ("metric" = String, Path, description = "as the policy writes it, e.g. `ship_on_time_rate(48)`"), ItemsQuery, Page),
    responses((status = 200, body = MetricItems), (status = 304, description = "If-None-Match named the current ETag"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "no such shop, no such metric, or no scorecard yet (without `as_of`)", body = ErrorBody),
              (status = 422, description = "an unknown window, an `as_of` out of range, or a metric whose items are not listed yet", body = ErrorBody)),
    security(("api_key" = ["ops", "merchant"]))
)]
pub async fn get_metric_items(
    State(state): State<AppState>,
    caller: Caller,
    ShopMetricPath(shop_id, name): ShopMetricPath,
    Query(q): Query<ItemsQuery>,
    Query(page): Query<Page>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require_shop(&shop_id)?;
    let limit = page.limit()?;
    // The last item's (id, kind); a cursor without a kind continues after every item of
    // its id.
    let after: Option<(String, &str)> = page.after()?.map(|c| match c.rsplit_once('/') {
        Some((id, kind)) => (id.to_string(), Kind::parse(kind).map_or("~", Kind::as_str)),
        None => (c, "~"),
    });
    let policy = &state.policy;
    let tz = policy.tz;
    let asked = (q.as_of.as_deref())
        .map(|s| parse_as_of("as_of", s, state.clock.now(), tz))
        .transpose()?;
    // A shop whose latest card this process holds is known, and the card says its
    // `as_of` (`cache::latest`): no statement needed for either.
    let cached = state
        .latest
        .get(&shop_id)
        .and_then(|c| card_as_of(c.body()));
    let (known, latest) = match cached {
        Some(as_of) => (true, Some(as_of)),
        None => store::cards::known_and_latest_as_of(&state.read_pool, &shop_id).await?,
    };
    if !known {
        return Err(ApiError::shop_not_found());
    }
    let as_of = asked
        .or(latest)
        .ok_or_else(|| ApiError::NotFound("no scorecard for this shop yet: give as_of".into()))?;
    let window = q.window.as_deref().unwrap_or("service");
    let (scope, metric) = resolve(policy, as_of, window, &name)?;
    let Some(metric) = metric else {
        return Err(ApiError::NotFound(format!(
            "no such metric: {name:?} (write it as the policy does, e.g. ship_on_time_rate(48))"
        )));
    };

    let mut loader = Loader::new(&state.read_pool, vec![shop_id.to_string()]);
    let data = loader.get(scope, [&metric]).await?.shop(&shop_id);
    // Reviews and ratings are loaded as counts per rating: their items have a query of
    // their own.
    let listed = match metric.families() {
        [Family::Reviews] => items::reviews(
            &metric,
            &metric::review_items(&state.read_pool, &shop_id, scope).await?,
        ),
        [Family::Ratings] => items::ratings(
            &metric,
            &metric::rating_items(&state.read_pool, &shop_id, scope).await?,
        ),
        [Family::Verified | Family::Verifications | Family::Integrity] => {
            (metric::tally_items(&state.read_pool, &metric, &shop_id, scope).await?)
                .map(|rows| items::tallied(&metric, &rows))
        }
        _ => items::items(&metric, data, scope, tz),
    };
    let Some(all) = listed else {
        return Err(ApiError::Unprocessable {
            message: "this metric's items are not listed yet".into(),
            details: vec![
                json!({"field": "metric", "message": "items are listed for every metric but the rates of one kind of entity over another: quality_refund_rate, complaint_rate, ruling_rate"}),
            ],
        });
    };
    let measured = measure(&metric, data, scope, tz);
    let mut totals = Totals::default();
    for i in &all {
        match i.counts {
            Counts::Numerator => totals.numerator += 1,
            Counts::Denominator => totals.denominator += 1,
            Counts::Term => totals.term += 1,
            Counts::Excluded => totals.excluded += 1,
        }
    }
    let mut chosen: Vec<&Item> = (all.iter())
        .filter(|i| q.counts.is_none_or(|c| i.counts == c))
        .filter(|i| {
            after
                .as_ref()
                .is_none_or(|(id, kind)| i.key() > (id.as_bytes(), kind))
        })
        .take(limit as usize + 1)
        .collect();
    let next_cursor = (chosen.len() > limit as usize).then(|| {
        chosen.truncate(limit as usize);
        let last = chosen.last().expect("limit is at least 1");
        // Ids never hold a `/` (SPEC §2): the cursor is the last item's key.
        encode_cursor(&format!("{}/{}", last.id, last.kind.as_str()))
    });
    let body = MetricItems {
        shop_id: shop_id.to_string(),
        metric: name,
        as_of: format_time(as_of, tz),
        window: Window {
            name: window.to_string(),
            from: format_time(scope.lo, tz),
            to: format_time(scope.hi, tz),
            evaluated_at: format_time(scope.e, tz),
        },
        value: measured.value,
        n: measured.n,
        totals,
        items: chosen.into_iter().map(|i| out(i, tz)).collect(),
        next_cursor,
    };
    Ok(etag::respond(&headers, &body))
}

/// The window's scope at `as_of`, and the metric named `name` as that window scores
/// it (a programme's rule with its own refund SLAs; the service score's metric), or as
/// the catalogue parses it with the policy's SLAs; `None` for no such metric.
fn resolve(
    policy: &Policy,
    as_of: DateTime<Utc>,
    window: &str,
    name: &str,
) -> Result<(Scope, Option<Metric>), ApiError> {
    let periods = Periods::new(policy, as_of);
    let parsed = || Metric::parse(name, &policy.refund_sla).ok();
    if window == "service" {
        let scored = policy.service.metrics().find(|m| m.name == name);
        return Ok((
            periods.service,
            scored.map(|m| m.metric.clone()).or_else(parsed),
        ));
    }
    if let Some(i) = policy.programs.iter().position(|p| p.name == window) {
        let rule = policy.programs[i]
            .rules
            .iter()
            .find(|r| r.named.name == name);
        let metric = rule.map(|r| r.named.metric.clone()).or_else(parsed);
        return Ok((periods.programs[i].scope, metric));
    }
    if let Some(m) = Month::parse(window) {
        let (start, end) = (m.start(policy.tz), m.end(policy.tz));
        return Ok((Scope::period(start, end, end.min(as_of)), parsed()));
    }
    let programmes: Vec<&str> = policy.programs.iter().map(|p| p.name.as_str()).collect();
    Err(ApiError::Unprocessable {
        message: "no such window".into(),
        details: vec![json!({"field": "window", "message": format!(
            "must be `service`, a programme ({}) or a month YYYY-MM", programmes.join(", "))})],
    })
}

fn out(i: &Item, tz: chrono_tz::Tz) -> MetricItem {
    MetricItem {
        kind: i.kind,
        id: i.id.clone(),
        counts: i.counts,
        reason: i.reason.clone(),
        value: i.value,
        times: i
            .times
            .iter()
            .map(|(k, t)| (*k, format_time(*t, tz)))
            .collect(),
    }
}
