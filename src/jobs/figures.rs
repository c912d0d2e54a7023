//! A batch's rolling figures: credit, DSR, the service score over its window, the
//! five-star months and the programmes (SPEC §4.1–4.5). This loads the metric rows each
//! needs through the batch's loader; `scoring` decides.

use std::collections::HashMap;
use std::time::Instant;

use super::programs;
use crate::domain::ShopInfo;
use crate::metric::loader::Loader;
use crate::metric::rows::{col, each_row, time, time_opt};
use crate::metric::{self, evaluate};
use crate::policy::Policy;
use crate::scoring::assemble::ShopFigures;
use crate::scoring::periods::Periods;
use crate::scoring::{card, credit, service, stars};

/// A shop's capped DSR sums, as `sql/dsr.sql` reads them.
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
    periods: &Periods,
    batch: &[&ShopInfo],
) -> Result<HashMap<String, ShopFigures>, sqlx::Error> {
    let (tz, eps, as_of) = (policy.tz, policy.epsilon, periods.as_of);
    let pool = loader.pool;
    let ids = loader.shops.clone();

    // Credit: every counted review as of `as_of`, streamed, each row read by position
    // into its shop's reviews (`metric::rows`).
    let t = Instant::now();
    let query = sqlx::query(include_str!("sql/credit.sql"))
        // Prepared once per connection: its generic plan is its custom plan (`EXPLAIN`
        // under `plan_cache_mode = force_generic_plan`), so planning is paid once.
        .persistent(true)
        .bind(&ids)
        .bind(as_of);
    let mut counted: HashMap<String, Vec<credit::CountedReview>> = HashMap::new();
    each_row(query, pool, &mut counted, |row, shop| {
        // shop, order, buyer, rating, time, and the order's date, amount and item
        shop.push(credit::CountedReview {
            order_id: col(row, 1)?,
            buyer_id: col(row, 2)?,
            rating: col(row, 3)?,
            reviewed_at: time(row, 4)?,
            created_at: time_opt(row, 5)?,
            amount_cents: col(row, 6)?,
            item_id: col(row, 7)?,
        });
        Ok(())
    })
    .await?;
    // The service window is evaluated at `as_of` too, so its counted reviews are
    // credit's in that window: no `Reviews` query for it.
    let svc = periods.service;
    loader.provide_reviews(
        svc,
        counted.iter().flat_map(|(shop, reviews)| {
            (reviews.iter())
                .filter(|r| svc.contains(r.reviewed_at))
                .map(|r| (shop.as_str(), r.rating))
        }),
    );
    metric::record_query_time("Credit", t);

    // DSR over its window, with the per-buyer monthly cap.
    let t = Instant::now();
    let rows: Vec<DsrRow> = sqlx::query_as(include_str!("sql/dsr.sql"))
        .persistent(true) // as credit's: the generic plan is the custom one
        .bind(&ids)
        .bind(as_of)
        .bind(periods.dsr.from)
        .bind(&periods.dsr.month_starts)
        .bind(i64::from(policy.dsr_monthly_cap))
        .fetch_all(pool)
        .await?;
    let dsr: HashMap<String, DsrRow> = rows.into_iter().map(|r| (r.shop_id.clone(), r)).collect();
    metric::record_query_time("Dsr", t);

    // The rolling service score's rows.
    let svc_data = loader
        .get(svc, policy.service.metrics().map(|n| &n.metric))
        .await?;
    let mut service_scores: HashMap<&str, card::ServiceScore> = (batch.iter())
        .map(|s| {
            let score = service::score_in(svc_data.shop(&s.shop_id), svc, &s.industry, policy);
            (s.shop_id.as_str(), score)
        })
        .collect();

    // Five stars: the metric met in each of the last complete months.
    let mut five_ok: HashMap<&str, bool> = ids.iter().map(|id| (id.as_str(), true)).collect();
    let m = &policy.stars.five_star_metric.metric;
    for &scope in &periods.five_star_months {
        let d = loader.get(scope, [m]).await?;
        for (id, ok) in five_ok.iter_mut() {
            let value = evaluate(m, d.shop(id), scope, tz);
            *ok &= stars::five_star_month_met(value, &policy.stars, eps);
        }
    }

    // Programmes.
    let mut progs = programs::every(loader, policy, &periods.programs, batch).await?;

    let mut out = HashMap::new();
    for info in batch {
        let id = info.shop_id.as_str();
        let reviews = counted.remove(id).unwrap_or_default();
        let dsr = dsr.get(id).map_or([(None, 0); 3], |r| {
            service::dsr_averages(r.count, [r.description, r.service, r.logistics])
        });
        let figures = ShopFigures {
            credit: credit::credit(&reviews, periods.credit_rate, &policy.credit, tz),
            dsr,
            service: service_scores.remove(id).expect("scored above"),
            five_star_ok: five_ok[id],
            // `program` answers for every shop of the batch, so each programme is present.
            programs: progs.remove(id).unwrap_or_default(),
        };
        out.insert(info.shop_id.clone(), figures);
    }
    Ok(out)
}
