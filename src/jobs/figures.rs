//! A batch's rolling figures: credit, DSR, the service score over its window, the
//! five-star months and the programmes (SPEC §4.1–4.5), from the metric rows the
//! batch's loader reads.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use indexmap::IndexMap;

use super::programs::program;
use crate::metric::eval::Measured;
use crate::metric::loader::{measure_all, Loader};
use crate::metric::rows::{col, each_row, time, time_opt};
use crate::metric::{self, evaluate, Scope};
use crate::policy::{NamedMetric, Policy};
use crate::scoring::assemble::ShopFigures;
use crate::scoring::card;
use crate::scoring::{credit, service};
use crate::store::shops::ShopInfo;
use crate::time::{eval_instant, Month};

/// A shop's counted reviews as credit reads them, and their counts in the rate window.
#[derive(Default)]
struct CreditReviews {
    counted: Vec<credit::CountedReview>,
    rate_window: card::ReviewCounts,
}

/// A shop's capped DSR sums, as `metric/sql/dsr.sql` reads them.
#[derive(sqlx::FromRow)]
struct DsrRow {
    shop_id: String,
    count: i64,
    description: i64,
    service: i64,
    logistics: i64,
}

/// Credit, DSR, the rolling service score, the five-star months and the programmes.
pub async fn shop_figures(
    loader: &mut Loader<'_>,
    policy: &Policy,
    as_of: DateTime<Utc>,
    batch: &[&ShopInfo],
) -> Result<HashMap<String, ShopFigures>, sqlx::Error> {
    let tz = policy.tz;
    let eps = policy.epsilon;
    let pool = loader.pool;
    let ids = loader.shops.clone();

    // Credit: every counted review as of `as_of`.
    let t = Instant::now();
    // Streamed, each row read by position into its shop's reviews (`metric::rows`).
    let query = sqlx::query(include_str!("../metric/sql/credit.sql"))
        // Prepared once per connection: its generic plan is its custom plan (`EXPLAIN`
        // under `plan_cache_mode = force_generic_plan`), without 3–5 ms of planning.
        .persistent(true)
        .bind(&ids)
        .bind(as_of);
    // The positive rate and review counts over the credit rate window: each order's
    // counted review (its latest, as credit reads them) whose time is in the window.
    // (The same as the `Reviews` family in that scope, without a query of its own.)
    let rate_scope = Scope::rolling(as_of, policy.credit.rate_window_days);
    let mut credited: HashMap<String, CreditReviews> = HashMap::new();
    each_row(query, pool, &mut credited, |row, shop| {
        // shop, order, buyer, rating, time, and the order's date, amount and item
        let r = credit::CountedReview {
            order_id: col(row, 1)?,
            buyer_id: col(row, 2)?,
            rating: col(row, 3)?,
            reviewed_at: time(row, 4)?,
            created_at: time_opt(row, 5)?,
            amount_cents: col(row, 6)?,
            item_id: col(row, 7)?,
        };
        if rate_scope.lo <= r.reviewed_at && r.reviewed_at < rate_scope.hi {
            let c = &mut shop.rate_window;
            match r.rating {
                1 => c.positive += 1,
                0 => c.neutral += 1,
                -1 => c.negative += 1,
                _ => {}
            }
        }
        shop.counted.push(r);
        Ok(())
    })
    .await?;

    // The service window is evaluated at `as_of` too, so its counted reviews are
    // credit's in that window: no `Reviews` query for it.
    let svc_scope = Scope::rolling(as_of, policy.service.window_days);
    loader.provide_reviews(
        svc_scope,
        credited.iter().flat_map(|(shop, c)| {
            (c.counted.iter())
                .filter(|r| svc_scope.lo <= r.reviewed_at && r.reviewed_at < svc_scope.hi)
                .map(|r| (shop.as_str(), r.rating))
        }),
    );

    metric::record_query_time("Credit", t);
    let t = Instant::now();
    // DSR over its window, with the per-buyer monthly cap.
    let dsr_from = as_of - Duration::days(i64::from(policy.dsr_window_days));
    // The local months a capped review in the window can fall in, and the one after.
    let month_starts: Vec<DateTime<Utc>> = (Month::of(dsr_from, tz).0..=Month::of(as_of, tz).0 + 1)
        .map(|m| Month(m).start(tz))
        .collect();
    let rows: Vec<DsrRow> = sqlx::query_as(include_str!("../metric/sql/dsr.sql"))
        .persistent(true) // as credit's: the generic plan is the custom one
        .bind(&ids)
        .bind(as_of)
        .bind(dsr_from)
        .bind(&month_starts)
        .bind(i64::from(policy.dsr_monthly_cap))
        .fetch_all(pool)
        .await?;
    let dsr: HashMap<String, (i64, [i64; 3])> = rows
        .into_iter()
        .map(|r| {
            (
                r.shop_id,
                (r.count, [r.description, r.service, r.logistics]),
            )
        })
        .collect();

    metric::record_query_time("Dsr", t);
    // The rolling service score.
    let svc_metrics: Vec<&NamedMetric> = policy.service.metrics().collect();
    let svc_values: HashMap<String, HashMap<String, Measured>> = {
        let d = loader
            .get(svc_scope, svc_metrics.iter().map(|n| &n.metric))
            .await?;
        ids.iter()
            .map(|id| {
                (
                    id.clone(),
                    measure_all(svc_metrics.iter().copied(), d.shop(id), svc_scope, tz),
                )
            })
            .collect()
    };

    // Five stars: the metric in each of the last complete months, as closed periods.
    let mut five_ok: HashMap<String, bool> = ids.iter().map(|id| (id.clone(), true)).collect();
    let mut month = Month::of(as_of, tz);
    for _ in 0..policy.stars.five_star_months {
        month = month.prev();
        let (s, e) = (month.start(tz), month.end(tz));
        let scope = Scope::period(s, e, eval_instant(as_of, e, 0));
        let m = &policy.stars.five_star_metric;
        let d = loader.get(scope, [&m.metric]).await?;
        for id in &ids {
            let ok = evaluate(&m.metric, d.shop(id), scope, tz)
                .is_some_and(|v| v >= policy.stars.five_star_threshold - eps);
            if !ok {
                five_ok.insert(id.clone(), false);
            }
        }
    }

    // Programmes.
    let mut progs: HashMap<String, IndexMap<String, Option<card::Program>>> = HashMap::new();
    for p in &policy.programs {
        let results = program(loader, policy, p, as_of, batch).await?;
        for (id, r) in results {
            progs.entry(id).or_default().insert(p.name.clone(), r);
        }
    }

    let mut out = HashMap::new();
    for info in batch {
        let id = &info.shop_id;
        let CreditReviews {
            counted,
            rate_window: rc,
        } = credited.remove(id).unwrap_or_default();
        let points = credit::points(&counted, &policy.credit, tz);
        let (level, next_level_points) = credit::level(points, &policy.credit.levels);
        let total = rc.positive + rc.neutral + rc.negative;
        let credit = card::Credit {
            points,
            level,
            next_level_points,
            positive_rate: (total > 0).then(|| rc.positive as f64 / total as f64),
            reviews_180d: rc,
        };
        let dsr = match dsr.get(id) {
            Some((n, sums)) if *n > 0 => sums.map(|s| (Some(s as f64 / *n as f64), *n)),
            _ => [(None, 0); 3],
        };
        let service = service::service_score(&svc_values[id], &info.industry, &policy.service, eps);
        // `program` answers for every shop of the batch, so each programme is present.
        let programs = progs.remove(id).unwrap_or_default();
        out.insert(
            id.clone(),
            ShopFigures {
                credit,
                dsr,
                service,
                five_star_ok: five_ok[id],
                programs,
            },
        );
    }
    Ok(out)
}
