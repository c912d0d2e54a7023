//! The what-if (`POST /v1/shops/{shop_id}/simulate`): a shop's latest card recomputed
//! with metric values set and entities left out, by the recompute's rules, stored
//! nowhere.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{seeded_demo, ShopEvents, TestApp};

const AS_OF: &str = "2026-10-10T00:00:00+08:00";

/// Shop A (toys), paid on 1 October (local): `o1` shipped after 24 h, `o2` after 50 h
/// and delivered 36 h later, `o3` never shipped.
fn shop_a() -> Vec<Value> {
    let a = ShopEvents("A");
    vec![
        a.created("o1", "b1", 1000, "2026-10-01T00:00:00+08:00"),
        a.paid("o1", "2026-10-01T00:00:00+08:00"),
        a.shipped("o1", "2026-10-02T00:00:00+08:00"),
        a.created("o2", "b2", 1000, "2026-10-01T00:00:00+08:00"),
        a.paid("o2", "2026-10-01T00:00:00+08:00"),
        a.shipped("o2", "2026-10-03T02:00:00+08:00"),
        a.delivered("o2", "2026-10-04T14:00:00+08:00"),
        a.created("o3", "b3", 1000, "2026-10-01T00:00:00+08:00"),
        a.paid("o3", "2026-10-01T00:00:00+08:00"),
    ]
}

/// The card without `computed_at`, the one field a simulation sets anew.
fn figures(card: &Value) -> Value {
    let mut c = card.clone();
    c.as_object_mut().unwrap().remove("computed_at");
    c
}

async fn snapshots(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM scorecards")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_merchant_sees_what_a_faster_shipping_would_do() {
    let app = TestApp::spawn().await;
    app.put_shop("A", "toys").await;
    app.post_ok(shop_a()).await;
    app.recompute(AS_OF).await;
    let card = app.scorecard("A").await;
    // The card, by hand: product 5 (no refunds of 3 orders; no reviews), logistics
    // (0 + 5) / 2 (1 of 3 shipped within 48 h, below the worst 0.8; delivery 36 h,
    // better than the best 48 h), disputes 5 (no complaints): (5 + 2.5 + 5) / 3.
    let ss = &card["service_score"];
    assert_eq!(ss["indicators"]["logistics"]["score"], 2.5);
    assert_eq!(ss["score"], 12.5 / 3.0);
    let key = app.merchant(&["A"]).await;
    let path = "/v1/shops/A/simulate";

    // No changes: the latest card, and nothing differs.
    let (status, sim) = app
        .json(Method::POST, path, Some(&key), Some(&json!({})))
        .await;
    assert_eq!(status, 200, "{sim}");
    assert_eq!(
        (&sim["simulated"], &sim["as_of"], &sim["changes"]),
        (&json!(true), &card["as_of"], &json!([]))
    );
    assert_eq!(figures(&sim["card"]), figures(&card));

    // Shipping 90 % on time scores 5 × (0.9 − 0.8) / 0.2 = 2.5: logistics (2.5 + 5) / 2
    // = 3.75, the score (5 + 3.75 + 5) / 3; the basis stays the 3 due orders.
    let body = json!({"values": {"ship_on_time_rate(48)": 0.9}});
    let (status, sim) = app.json(Method::POST, path, Some(&key), Some(&body)).await;
    assert_eq!(status, 200, "{sim}");
    let m = &sim["card"]["service_score"]["indicators"]["logistics"]["metrics"]
        ["ship_on_time_rate(48)"];
    assert_eq!(
        (&m["value"], &m["n"], &m["passes"]),
        (&json!(0.9), &json!(3), &json!(false))
    );
    assert!((m["score"].as_f64().unwrap() - 2.5).abs() < 1e-12, "{m}");
    let score = sim["card"]["service_score"]["score"].as_f64().unwrap();
    assert!((score - 13.75 / 3.0).abs() < 1e-12, "{score}");
    let changed: Vec<&str> = (sim["changes"].as_array().unwrap().iter())
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert!(changed.contains(&"service_score.score"), "{changed:?}");
    assert!(
        changed.contains(&"service_score.indicators.logistics.metrics.ship_on_time_rate(48).value")
    );
    let c = (sim["changes"].as_array().unwrap().iter())
        .find(|c| c["path"] == "service_score.score")
        .unwrap();
    assert_eq!(
        (&c["current"], &c["simulated"]),
        (&ss["score"], &json!(score))
    );

    // Leaving out the late o2 and the unshipped o3: 1 of 1 on time (5); no delivery
    // left to average, so logistics is 5 alone; 0 refunds of 1 order: all 5.
    let body = json!({"exclude": ["o2", "o3"]});
    let (status, sim) = app.json(Method::POST, path, Some(&key), Some(&body)).await;
    assert_eq!(status, 200, "{sim}");
    let logistics = &sim["card"]["service_score"]["indicators"]["logistics"];
    assert_eq!(logistics["metrics"]["ship_on_time_rate(48)"]["n"], 1);
    assert_eq!(
        logistics["metrics"]["delivery_hours_avg"]["value"],
        Value::Null
    );
    assert_eq!(sim["card"]["service_score"]["score"], 5.0);
    assert_eq!(sim["card"]["service_score"]["industry_avg"], 5.0);

    // Nothing stored, nothing current moved.
    assert_eq!(app.scorecard("A").await, card);
    assert_eq!(snapshots(&app).await, 1);
}

#[tokio::test]
async fn bad_simulations_are_refused_by_field_and_other_shops_stay_hidden() {
    let app = TestApp::spawn().await;
    app.put_shop("A", "toys").await;
    app.put_shop("B", "toys").await;
    app.post_ok(shop_a()).await;
    let key = app.merchant(&["A"]).await;
    let path = "/v1/shops/A/simulate";
    // No card yet.
    let (status, body) = app
        .json(Method::POST, path, Some(&key), Some(&json!({})))
        .await;
    assert_eq!(status, 404, "{body}");
    app.recompute(AS_OF).await;

    let many: Vec<String> = (0..501).map(|i| format!("o{i}")).collect();
    let cases = [
        (json!({"values": {"ship_fast": 1.0}}), "values.ship_fast"),
        (
            json!({"values": {"ship_on_time_rate(72)": 1.5}}),
            "values.ship_on_time_rate(72)",
        ),
        (json!({"values": {"orders": 2.5}}), "values.orders"),
        (
            json!({"values": {"human_response_seconds_avg": -1}}),
            "values.human_response_seconds_avg",
        ),
        (
            json!({"values": {"ship_on_time_rate(48)\u{0}": 0.5}}),
            "values.ship_on_time_rate(48)\u{0}",
        ),
        (json!({"exclude": ["o1", "o\u{0}2"]}), "exclude[1]"),
        (json!({"exclude": many}), "exclude"),
        (json!({"values": {"orders": "three"}}), "values.orders"),
        (json!({"excludes": ["o1"]}), "."),
        (json!([]), "."),
    ];
    for (body, field) in cases {
        let (status, err) = app.json(Method::POST, path, Some(&key), Some(&body)).await;
        assert_eq!(status, 422, "{body}: {err}");
        let fields: Vec<&str> = (err["error"]["details"].as_array().unwrap().iter())
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&field) || (field == "." && !fields.is_empty()),
            "{body}: {err}"
        );
    }
    // Malformed JSON is a 400; another merchant's shop the unknown-shop 404; an
    // ingest key may not simulate.
    let r = app
        .client
        .post(format!("{}{path}", app.base))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body("{\"values\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let (status, _) = app
        .json(
            Method::POST,
            "/v1/shops/B/simulate",
            Some(&key),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .json(Method::POST, path, Some(&app.ingest), Some(&json!({})))
        .await;
    assert_eq!(status, 403);
    assert_eq!(snapshots(&app).await, 2); // A's and B's, from the one run
}

/// With no changes, every demo shop's simulation is its latest card: credit, DSR, the
/// service score and its industry comparison, stars, programmes, tier and hints.
#[tokio::test]
async fn on_the_demo_no_changes_give_every_card() {
    let app = TestApp::spawn().await;
    seeded_demo(&app, 6, 60).await;
    let shops: Vec<String> = sqlx::query_scalar("SELECT shop_id FROM shops ORDER BY shop_id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let mut tiers = 0;
    for shop in &shops {
        let card = app.scorecard(shop).await;
        let path = format!("/v1/shops/{shop}/simulate");
        let (status, sim) = app
            .json(
                Method::POST,
                &path,
                Some(&app.ops),
                Some(&json!({"values": {}, "exclude": []})),
            )
            .await;
        assert_eq!(status, 200, "{sim}");
        assert_eq!(sim["changes"], json!([]), "{shop}");
        assert_eq!(figures(&sim["card"]), figures(&card), "{shop}");
        tiers += usize::from(!card["cs_tier"].is_null());
    }
    assert!(tiers > 0, "the demo has tier cards to compare");

    // Every service metric at its best, every rating satisfied and a million of them:
    // the tier month's gates pass and the shop ranks first in its cohort: gold.
    let best = json!({"values": {
        "quality_refund_rate": 0.0, "negative_review_rate": 0.0, "ship_on_time_rate(48)": 1.0,
        "delivery_hours_avg": 48.0, "human_response_seconds_avg": 15.0, "satisfaction_rate": 1.0,
        "refund_hours_avg": 12.0, "refund_sla_rate": 1.0, "complaint_rate": 0.0, "ruling_rate": 0.0,
        "satisfaction_ratings": 1_000_000, "integrity_flags": 0}});
    let mut golds = 0;
    for shop in &shops {
        let card = app.scorecard(shop).await;
        if card["cs_tier"].is_null() {
            continue;
        }
        let path = format!("/v1/shops/{shop}/simulate");
        let (status, sim) = app
            .json(Method::POST, &path, Some(&app.ops), Some(&best))
            .await;
        assert_eq!(status, 200, "{sim}");
        let tier = &sim["card"]["cs_tier"];
        assert_eq!(sim["card"]["service_score"]["score"], 5.0, "{shop}");
        assert_eq!(
            (&tier["tier"], &tier["rank"]),
            (&json!("gold"), &json!(1)),
            "{shop}: {tier}"
        );
        assert!(
            ["active", "cancelled"].contains(&tier["status"].as_str().unwrap()),
            "{tier}"
        );
        assert_eq!(tier["ratings"], 1_000_000);
        golds += 1;
    }
    assert_eq!(golds, tiers);
}
