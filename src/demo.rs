//! `shopscore demo`: a small synthetic marketplace (deterministic), ingested through the
//! same validation and writer as the API, then recomputed as of now.

use chrono::{Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::ingest::{validate, write_batch};
use crate::jobs::recompute::{recompute, RecomputeOutcome, Stop};
use crate::policy::Policy;

/// Events for `shops` shops over the last `days` days, seeded so every run is alike.
pub fn generate(shops: usize, days: i64, orders_per_day: usize, seed: u64) -> Vec<Value> {
    let mut rng = StdRng::seed_from_u64(seed);
    let now = Utc::now();
    let start = now - Duration::days(days);
    let mut out = Vec::new();
    let mut n = 0u64;
    let mut ev =
        |shop: &str, kind: &str, at: chrono::DateTime<Utc>, data: Value, out: &mut Vec<Value>| {
            n += 1;
            out.push(
                json!({"event_id": format!("demo-{n}"), "type": kind, "shop_id": shop,
                        "occurred_at": at.to_rfc3339(), "data": data}),
            );
        };
    for s in 0..shops {
        let shop = format!("demo-shop-{s:03}");
        let quality: f64 = rng.gen_range(0.6..1.0);
        for d in 0..days {
            let day = start + Duration::days(d);
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
                let at = day + Duration::minutes(rng.gen_range(0..1440));
                if at > now {
                    continue;
                }
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
                if ship < now {
                    ev(
                        &shop,
                        "order.shipped",
                        ship,
                        json!({"order_id": order}),
                        &mut out,
                    );
                    let deliver = ship + Duration::hours(rng.gen_range(24..100));
                    if deliver < now {
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
                    }
                }
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
            .is_some_and(|t| t <= now)
    });
    out
}

pub async fn run(pool: &PgPool, policy: &Policy) -> anyhow::Result<RecomputeOutcome> {
    let industries = ["apparel", "food", "electronics"];
    for s in 0..12 {
        sqlx::query("INSERT INTO shops (shop_id, name, industry) VALUES ($1, $2, $3) ON CONFLICT (shop_id) DO NOTHING")
            .bind(format!("demo-shop-{s:03}"))
            .bind(format!("Demo shop {s}"))
            .bind(industries[s % 3])
            .execute(pool)
            .await?;
    }
    let now = Utc::now();
    let items = generate(12, 60, 8, 7);
    for chunk in items.chunks(5000) {
        let events: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(i, v)| {
                validate(i, v, now).map_err(|e| anyhow::anyhow!("demo event invalid: {e:?}"))
            })
            .collect::<Result<_, _>>()?;
        write_batch(pool, &events, &crate::db::retry::RetryPolicy::default())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(recompute(pool, policy, now, now, None, &Stop::never()).await?)
}
