//! `shopscore demo`: a synthetic marketplace (deterministic for its options), ingested
//! through the same validation and writer as the API, then recomputed as of its end.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::ingest::{validate, write_batch};
use crate::jobs::recompute::{recompute, RecomputeOutcome, Stop};
use crate::policy::Policy;

/// Events for `shops` shops over the `days` days before `end` (and `end`'s own day up
/// to `end`). Each day of each shop is drawn from its own seed `(seed, shop, date)`,
/// and its ids name the date, so the same events come out whatever `end` is: a later
/// `end` adds the days (and the later events of orders) it reaches, and repeats the
/// rest exactly, which a store counts as duplicates.
pub fn generate(
    shops: usize,
    days: i64,
    orders_per_day: usize,
    seed: u64,
    end: DateTime<Utc>,
) -> Vec<Value> {
    let first = (end - Duration::days(days)).date_naive();
    let mut out = Vec::new();
    for s in 0..shops {
        let shop = format!("demo-shop-{s:03}");
        let quality: f64 = StdRng::seed_from_u64(mix(seed, s as u64, 0)).gen_range(0.6..1.0);
        for date in first.iter_days().take_while(|d| *d <= end.date_naive()) {
            let day = date.and_time(NaiveTime::MIN).and_utc();
            let d = date.format("%Y%m%d");
            let mut rng = StdRng::seed_from_u64(mix(seed, s as u64, day.timestamp() as u64));
            let prefix = format!("demo-{seed}-{s:03}-{d}");
            let mut k = 0u64;
            let mut ev =
                |shop: &str, kind: &str, at: DateTime<Utc>, data: Value, out: &mut Vec<Value>| {
                    k += 1;
                    out.push(
                        json!({"event_id": format!("{prefix}-{k}"), "type": kind, "shop_id": shop,
                                "occurred_at": at.to_rfc3339(), "data": data}),
                    );
                };
            ev(
                &shop,
                "agent.status",
                day + Duration::hours(8),
                json!({"agent_id": "a1", "status": "online"}),
                &mut out,
            );
            ev(
                &shop,
                "agent.status",
                day + Duration::hours(8 + rng.gen_range(6..16)),
                json!({"agent_id": "a1", "status": "offline"}),
                &mut out,
            );
            for o in 0..orders_per_day {
                // Every draw is made whatever `end` is (events after it are dropped at the
                // end), so a day's events do not depend on where it was cut.
                let at = day + Duration::minutes(rng.gen_range(0..1440));
                let order = format!("o-{d}-{o}");
                let buyer = format!("b-{}", rng.gen_range(0..200));
                ev(
                    &shop,
                    "order.created",
                    at,
                    json!({"order_id": order, "buyer_id": buyer, "amount_cents": rng.gen_range(500..50_000),
                                                      "item_id": format!("i-{}", rng.gen_range(0..20))}),
                    &mut out,
                );
                ev(
                    &shop,
                    "order.paid",
                    at + Duration::minutes(2),
                    json!({"order_id": order}),
                    &mut out,
                );
                let ship = at + Duration::hours(rng.gen_range(2..(40.0 / quality) as i64));
                ev(
                    &shop,
                    "order.shipped",
                    ship,
                    json!({"order_id": order}),
                    &mut out,
                );
                let deliver = ship + Duration::hours(rng.gen_range(24..100));
                ev(
                    &shop,
                    "order.delivered",
                    deliver,
                    json!({"order_id": order}),
                    &mut out,
                );
                let rating = if rng.gen_bool(quality) {
                    "positive"
                } else if rng.gen_bool(0.5) {
                    "neutral"
                } else {
                    "negative"
                };
                let score = if rating == "positive" { 5 } else { 3 };
                ev(
                    &shop,
                    "order.reviewed",
                    deliver + Duration::hours(5),
                    json!({"order_id": order, "buyer_id": buyer, "rating": rating,
                    "dsr": {"description": score, "service": score, "logistics": score}}),
                    &mut out,
                );
                if rng.gen_bool(0.3) {
                    let conv = format!("c-{d}-{o}");
                    ev(
                        &shop,
                        "chat.message",
                        at - Duration::minutes(5),
                        json!({"conversation_id": conv, "sender": "buyer"}),
                        &mut out,
                    );
                    ev(
                        &shop,
                        "chat.message",
                        at - Duration::minutes(5) + Duration::seconds(rng.gen_range(5..200)),
                        json!({"conversation_id": conv, "sender": "agent", "agent_id": "a1"}),
                        &mut out,
                    );
                    let sat = if rng.gen_bool(quality) {
                        "very_satisfied"
                    } else {
                        "unsatisfied"
                    };
                    ev(
                        &shop,
                        "chat.rated",
                        at,
                        json!({"conversation_id": conv, "satisfaction": sat}),
                        &mut out,
                    );
                }
                if rng.gen_bool(0.03) {
                    let r = format!("r-{d}-{o}");
                    ev(
                        &shop,
                        "refund.requested",
                        at + Duration::hours(1),
                        json!({"refund_id": r, "order_id": order, "reason": "quality", "amount_cents": 500}),
                        &mut out,
                    );
                    ev(
                        &shop,
                        "refund.completed",
                        at + Duration::hours(rng.gen_range(2..60)),
                        json!({"refund_id": r}),
                        &mut out,
                    );
                }
            }
        }
    }
    out.retain(|e| {
        e["occurred_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| t <= end)
    });
    out
}

/// A seed for one part of the marketplace (splitmix64 of the parts).
fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut z = seed
        .wrapping_add(a.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(b.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What `shopscore demo` generates.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub shops: usize,
    pub days: i64,
    pub seed: u64,
    /// The last instant generated; the recompute is as of it too.
    pub end: DateTime<Utc>,
}

/// What a demo run loaded.
#[derive(Debug)]
pub struct DemoSummary {
    pub events: usize,
    pub accepted: usize,
    pub duplicates: usize,
    pub recompute: RecomputeOutcome,
}

/// Orders per shop per day in the demo marketplace.
const ORDERS_PER_DAY: usize = 8;

/// Registers the demo shops, ingests the marketplace through the API's validation and
/// writer (so a second run with the same options stores nothing new), and recomputes
/// every shop as of `end`. `now` is the clock that validation checks times against.
pub async fn run(
    pool: &PgPool,
    policy: &Policy,
    opts: &DemoOptions,
    now: DateTime<Utc>,
) -> anyhow::Result<DemoSummary> {
    let industries = ["apparel", "food", "electronics"];
    for s in 0..opts.shops {
        sqlx::query("INSERT INTO shops (shop_id, name, industry) VALUES ($1, $2, $3) ON CONFLICT (shop_id) DO NOTHING")
            .bind(format!("demo-shop-{s:03}"))
            .bind(format!("Demo shop {s}"))
            .bind(industries[s % 3])
            .execute(pool)
            .await?;
    }
    let items = generate(opts.shops, opts.days, ORDERS_PER_DAY, opts.seed, opts.end);
    let (mut accepted, mut duplicates) = (0, 0);
    for chunk in items.chunks(5000) {
        let events: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(i, v)| {
                validate(i, v, now).map_err(|e| anyhow::anyhow!("demo event invalid: {e:?}"))
            })
            .collect::<Result<_, _>>()?;
        let out = write_batch(pool, &events, &crate::db::retry::RetryPolicy::default()).await?;
        accepted += out.accepted;
        duplicates += out.duplicates;
    }
    let recompute = recompute(pool, policy, now, opts.end, None, &Stop::never()).await?;
    Ok(DemoSummary {
        events: items.len(),
        accepted,
        duplicates,
        recompute,
    })
}
