//! A metric's drill-down (`GET /v1/shops/{shop_id}/metrics/{metric}/items`): the orders
//! behind the order metrics, each with how it counts and why; their totals are the
//! scorecard's figures for the same `as_of`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{seeded_demo, ShopEvents, TestApp};

const AS_OF: &str = "2026-10-10T00:00:00+08:00";

/// Shop A, paid on 1 October (local): `o1` shipped after 24 h, `o2` after 50 h and
/// delivered 36 h later, `o3` never shipped; `o4` paid 10 h before `as_of`.
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
        a.created("o4", "b4", 1000, "2026-10-09T14:00:00+08:00"),
        a.paid("o4", "2026-10-09T14:00:00+08:00"),
    ]
}

async fn app_with_shop_a() -> TestApp {
    let app = TestApp::spawn().await;
    app.put_shop("A", "toys").await;
    app.put_shop("B", "toys").await;
    app.post_ok(shop_a()).await;
    app.recompute(AS_OF).await;
    app
}

fn ids(page: &Value) -> Vec<(&str, &str)> {
    (page["items"].as_array().unwrap().iter())
        .map(|i| (i["id"].as_str().unwrap(), i["counts"].as_str().unwrap()))
        .collect()
}

#[tokio::test]
async fn a_merchant_finds_its_late_orders_and_why() {
    let app = app_with_shop_a().await;
    let key = app.merchant(&["A"]).await;
    let path = "/v1/shops/A/metrics/ship_on_time_rate(48)/items";
    let (status, page) = app.json(Method::GET, path, Some(&key), None).await;
    assert_eq!(status, 200, "{page}");
    // 1 on time of 3 due (o4 is not due: 48 h after its payment is after as_of).
    assert_eq!(page["value"], 1.0 / 3.0);
    assert_eq!(page["n"], 3);
    assert_eq!(
        page["totals"],
        json!({"numerator": 1, "denominator": 2, "term": 0, "excluded": 1})
    );
    assert_eq!(
        ids(&page),
        [
            ("o1", "numerator"),
            ("o2", "denominator"),
            ("o3", "denominator"),
            ("o4", "excluded")
        ]
    );
    let items = page["items"].as_array().unwrap();
    assert_eq!(items[1]["reason"], "shipped 50 h after payment, over 48 h");
    assert_eq!(items[2]["reason"], "not shipped 48 h after payment");
    assert_eq!(
        items[1]["times"],
        json!({"created_at": "2026-10-01T00:00:00+08:00", "paid_at": "2026-10-01T00:00:00+08:00",
               "shipped_at": "2026-10-03T02:00:00+08:00", "delivered_at": "2026-10-04T14:00:00+08:00"})
    );
    // The same figures as the scorecard's.
    let card = app.scorecard("A").await;
    let m = &card["service_score"]["indicators"]["logistics"]["metrics"]["ship_on_time_rate(48)"];
    assert_eq!(
        (m["value"].clone(), m["n"].clone()),
        (page["value"].clone(), page["n"].clone())
    );
    assert_eq!(
        (page["as_of"].as_str(), page["window"]["name"].as_str()),
        (card["as_of"].as_str(), Some("service"))
    );

    // Only the late ones, a page of one at a time.
    let late = format!("{path}?counts=denominator&limit=1");
    let (_, first) = app.json(Method::GET, &late, Some(&key), None).await;
    assert_eq!(ids(&first), [("o2", "denominator")]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let next = format!("{late}&cursor={cursor}");
    let (_, second) = app.json(Method::GET, &next, Some(&key), None).await;
    assert_eq!(ids(&second), [("o3", "denominator")]);
    assert_eq!(second["next_cursor"], Value::Null);
}

#[tokio::test]
async fn averages_list_their_terms_and_windows_follow_the_card() {
    let app = app_with_shop_a().await;
    let ops = app.ops.clone();
    let (status, page) = app
        .json(
            Method::GET,
            "/v1/shops/A/metrics/delivery_hours_avg/items",
            Some(&ops),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        (page["value"].clone(), page["n"].clone()),
        (json!(36.0), json!(1))
    );
    let o2 = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "o2")
        .unwrap();
    assert_eq!(
        (o2["counts"].as_str(), o2["value"].as_f64()),
        (Some("term"), Some(36.0))
    );

    // A month: September has no orders of A.
    let (status, page) = app
        .json(
            Method::GET,
            "/v1/shops/A/metrics/orders/items?window=2026-09",
            Some(&ops),
            None,
        )
        .await;
    assert_eq!(
        (status, page["n"].clone(), page["items"].clone()),
        (200, json!(0), json!([]))
    );
    // An earlier as_of sees fewer events: at 1 October 12:00 only o1..o3 exist, none due.
    let (_, page) = app
        .json(
            Method::GET,
            "/v1/shops/A/metrics/ship_on_time_rate(48)/items?as_of=2026-10-01T12:00:00%2B08:00",
            Some(&ops),
            None,
        )
        .await;
    assert_eq!(page["n"], 0);
    assert_eq!(page["totals"]["excluded"], 3);
}

#[tokio::test]
async fn the_tallies_list_what_they_count() {
    let app = app_with_shop_a().await;
    let a = ShopEvents("A");
    let opened = json!({"complaint_id": "k1", "category": "quality"});
    let verified = json!({"complaint_id": "k1", "conduct": "abuse"});
    app.post_ok(vec![
        a.ev(
            "k1-o",
            "complaint.opened",
            "2026-10-02T10:00:00+08:00",
            opened,
        ),
        a.ev(
            "k1-v",
            "complaint.verified",
            "2026-10-03T10:00:00+08:00",
            verified,
        ),
        a.ev(
            "f1",
            "integrity.flagged",
            "2026-10-04T10:00:00+08:00",
            json!({"kind": "fake_reviews"}),
        ),
    ])
    .await;
    let ops = app.ops.clone();
    let page = |metric: &'static str| {
        let (app, ops) = (&app, ops.clone());
        async move {
            let path = format!("/v1/shops/A/metrics/{metric}/items?window=2026-10&as_of=2026-10-10T00:00:00%2B08:00");
            let (status, page) = app.json(Method::GET, &path, Some(&ops), None).await;
            assert_eq!(status, 200, "{metric}: {page}");
            page
        }
    };
    let flags = page("integrity_flags").await;
    assert_eq!(
        (flags["value"].clone(), flags["n"].clone()),
        (json!(1.0), json!(1))
    );
    assert_eq!(flags["items"][0]["id"], "f1");
    assert_eq!(flags["items"][0]["reason"], "flagged fake_reviews");
    let verifications = page("conduct_verifications").await;
    assert_eq!(verifications["items"][0]["id"], "k1-v");
    assert_eq!(
        verifications["items"][0]["reason"],
        "verifies complaint k1 (abuse)"
    );
    let verified = page("verified_conduct_complaints").await;
    assert_eq!(ids(&verified), [("k1", "numerator")]);
    assert_eq!(verified["totals"]["numerator"], 1);
}

#[tokio::test]
async fn bad_requests_get_a_clear_answer_and_other_shops_stay_hidden() {
    let app = app_with_shop_a().await;
    let key = app.merchant(&["A"]).await;
    let get = |path: &'static str, key: String| {
        let app = &app;
        async move { app.json(Method::GET, path, Some(&key), None).await }
    };
    // Another shop's items: 404, as for a shop that does not exist.
    let (status, _) = get("/v1/shops/B/metrics/orders/items", key.clone()).await;
    assert_eq!(status, 404);
    let (status, body) = get("/v1/shops/A/metrics/no_such_metric/items", key.clone()).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no such metric"));
    let (status, body) = get(
        "/v1/shops/A/metrics/orders/items?window=weekly",
        key.clone(),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["details"][0]["field"], "window");
    let (status, _) = get("/v1/shops/A/metrics/orders/items?limit=0", key.clone()).await;
    assert_eq!(status, 400);
    let (status, _) = get("/v1/shops/A/metrics/orders/items?counts=most", key.clone()).await;
    assert_eq!(status, 400);
    let (status, _) = get("/v1/shops/A/metrics/orders%00/items", key.clone()).await;
    assert_eq!(status, 404);
    // A deadline no policy means (and that would overflow an instant): no such metric.
    let (status, _) = get(
        "/v1/shops/A/metrics/ship_on_time_rate(1e300)/items",
        key.clone(),
    )
    .await;
    assert_eq!(status, 404);
    // A shop without a scorecard needs as_of.
    let ops = app.ops.clone();
    app.put_shop("C", "toys").await;
    let (status, _) = get("/v1/shops/C/metrics/orders/items", ops).await;
    assert_eq!(status, 404);

    // The ETag of a page answers 304 when nothing changed.
    let url = format!("{}/v1/shops/A/metrics/orders/items", app.base);
    let r = app.client.get(&url).bearer_auth(&key).send().await.unwrap();
    let tag = r.headers()["etag"].to_str().unwrap().to_string();
    let r = (app.client.get(&url).bearer_auth(&key))
        .header("if-none-match", tag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 304);
}

/// Every order metric the demo's scorecards show, in every window they show it: the
/// items add up to the card's value and basis.
#[tokio::test]
async fn on_the_demo_the_items_add_up_to_every_order_figure_of_every_card() {
    let app = TestApp::spawn().await;
    seeded_demo(&app, 6, 60).await;
    let shops: Vec<String> = sqlx::query_scalar("SELECT shop_id FROM shops ORDER BY shop_id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let mut checked = 0;
    let mut listed_metrics = std::collections::BTreeSet::new();
    for shop in &shops {
        let card = app.scorecard(shop).await;
        // (window, metric, value, n) of every order metric the card shows.
        let mut figures: Vec<(String, String, Value, Value)> = Vec::new();
        for ind in card["service_score"]["indicators"]
            .as_object()
            .unwrap()
            .values()
        {
            for (name, m) in ind["metrics"].as_object().unwrap() {
                figures.push((
                    "service".into(),
                    name.clone(),
                    m["value"].clone(),
                    m["n"].clone(),
                ));
            }
        }
        for (programme, p) in card["programs"].as_object().unwrap() {
            if p.is_null() {
                continue;
            }
            for r in p["rules"].as_array().unwrap() {
                let name = r["metric"].as_str().unwrap().to_string();
                let n = p["basis"][&name].clone();
                figures.push((programme.clone(), name, r["value"].clone(), n));
            }
        }
        for (window, metric, value, n) in figures {
            let path = format!("/v1/shops/{shop}/metrics/{metric}/items?window={window}&limit=500");
            let (status, page) = app.json(Method::GET, &path, Some(&app.ops), None).await;
            if status == 422 && page["error"]["details"][0]["field"] == "metric" {
                continue; // not an order metric
            }
            assert_eq!(status, 200, "{path}: {page}");
            assert_eq!((&page["value"], &page["n"]), (&value, &n), "{path}");
            let t = &page["totals"];
            let listed = page["items"].as_array().unwrap().len() as u64;
            let all = ["numerator", "denominator", "term", "excluded"];
            let total: u64 = all.iter().map(|k| t[k].as_u64().unwrap()).sum();
            assert_eq!(listed, total.min(500), "{path}");
            let n = n.as_u64().unwrap();
            let count = |k: &str| t[k].as_u64().unwrap();
            let (num, den, term) = (count("numerator"), count("denominator"), count("term"));
            let base = metric.split('(').next().unwrap();
            match base {
                "delivery_hours_avg"
                | "refund_hours_avg"
                | "human_response_seconds_avg"
                | "online_hours_avg"
                | "coverage_rate" => {
                    assert_eq!(term, n, "{path}");
                    // The terms' mean is the value (every item is on this page).
                    let terms: Vec<f64> = (page["items"].as_array().unwrap().iter())
                        .filter_map(|i| i["value"].as_f64())
                        .collect();
                    if n > 0 && listed == total {
                        let mean = terms.iter().sum::<f64>() / terms.len() as f64;
                        assert!((mean - value.as_f64().unwrap()).abs() < 1e-9, "{path}");
                    }
                }
                "max_daily_offline_message_rate" => assert_eq!(num + den, n, "{path}"),
                // One kind over another: the orders are the denominator, the refunds or
                // complaints the numerator counts are listed beside them.
                "quality_refund_rate" | "complaint_rate" | "ruling_rate" => {
                    assert_eq!(den, n, "{path}");
                    if n > 0 {
                        let rate = value.as_f64().unwrap();
                        assert!((num as f64 / n as f64 - rate).abs() < 1e-12, "{path}");
                    }
                }
                "orders"
                | "conversations"
                | "complaints"
                | "bot_first_responses"
                | "irregular_closures"
                | "late_shipments" => {
                    assert_eq!((num + den, Some(num as f64)), (n, value.as_f64()), "{path}")
                }
                _ => {
                    assert_eq!(num + den, n, "{path}");
                    if n > 0 {
                        let rate = value.as_f64().unwrap();
                        assert!((num as f64 / n as f64 - rate).abs() < 1e-12, "{path}");
                    }
                }
            }
            listed_metrics.insert(metric.clone());
            checked += 1;
        }
    }
    // Every metric of the card: the service score's and both programmes' rules.
    let listed: Vec<&str> = listed_metrics.iter().map(String::as_str).collect();
    assert_eq!(
        listed,
        [
            "bot_first_responses",
            "complaint_closure_rate(120)",
            "complaint_rate",
            "complaint_reception_rate(24)",
            "coverage_rate(09:00,18:00)",
            "delivery_hours_avg",
            "human_reply_rate(180)",
            "human_reply_rate(45)",
            "human_response_seconds_avg",
            "max_daily_offline_message_rate",
            "negative_review_rate",
            "offline_message_rate",
            "online_hours_avg(00:00,24:00)",
            "online_hours_avg(09:00,24:00)",
            "quality_refund_rate",
            "refund_hours_avg",
            "refund_sla_rate",
            "ruling_rate",
            "satisfaction_rate",
            "ship_on_time_rate(48)",
            "ship_on_time_rate(72)",
        ]
    );
    assert!(
        checked >= 10 * shops.len(),
        "only {checked} figures checked"
    );
}
