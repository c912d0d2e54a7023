//! SPEC §4.1–4.3 and §5: the scorecard over HTTP: hand-worked numbers, windows, determinism, order
//! independence, history, benchmarks and the command line.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{ShopEvents, TestApp};

pub const AS_OF: &str = "2026-11-01T00:00:00+08:00";

/// Shop A in `toys`, worked by hand below.
pub fn shop_a() -> Vec<Value> {
    let a = ShopEvents("A");
    let day = |d: u32, time: &str| format!("2026-10-{d:02}T{time}+08:00");
    let mut e = Vec::new();
    // Four orders in the 30-day window (Oct 2 00:00 excluded .. Nov 1 00:00 included).
    for (id, d) in [("o1", 5), ("o2", 6), ("o3", 7), ("o4", 8)] {
        e.push(a.created(id, &format!("b-{id}"), 5000, &day(d, "10:00:00")));
        e.push(a.paid(id, &day(d, "10:00:00")));
    }
    // o1, o2 shipped within 48 h; o3 after 50 h; o4 never (due: paid + 48 h <= as_of) -> 2/4 = 0.5
    e.push(a.shipped("o1", &day(6, "10:00:00")));
    e.push(a.shipped("o2", &day(8, "10:00:00")));
    e.push(a.shipped("o3", &day(9, "12:00:00")));
    // Delivered 72 h after shipping (o1) and 96 h (o2): mean 84 h -> 5*(120-84)/72 = 2.5
    e.push(a.delivered("o1", &day(9, "10:00:00")));
    e.push(a.delivered("o2", &day(12, "10:00:00")));
    // An order created exactly 30 days before as_of is outside the window.
    e.push(a.created("edge", "b", 9, &day(2, "00:00:00")));
    // One conversation, human reply after 50 s; rated satisfied -> 1.0.
    e.push(a.message("m1", "c1", "buyer", &day(10, "10:00:00")));
    e.push(a.message("m2", "c1", "agent", &day(10, "10:00:50")));
    let rated = json!({"conversation_id": "c1", "satisfaction": "satisfied"});
    e.push(a.ev("m3", "chat.rated", &day(10, "10:05:00"), rated));
    // Reviews: o1 positive with DSR (5,4,3); o2 negative.
    let dsr = json!({"description": 5, "service": 4, "logistics": 3});
    let positive = json!({"order_id": "o1", "buyer_id": "b-o1", "rating": "positive", "dsr": dsr});
    e.push(a.ev("r1", "order.reviewed", &day(12, "10:00:00"), positive));
    let negative = json!({"order_id": "o2", "buyer_id": "b-o2", "rating": "negative"});
    e.push(a.ev("r2", "order.reviewed", &day(13, "10:00:00"), negative));
    e
}

#[tokio::test]
async fn scorecard_numbers_match_the_hand_worked_example() {
    let app = TestApp::spawn().await;
    app.put_shop("A", "toys").await;
    app.put_shop("B", "toys").await; // no events: credit 0, everything else null
    assert_eq!(app.post_events(&Value::Array(shop_a())).await.0, 200);
    let out = app.recompute(AS_OF).await;
    assert_eq!(out["shops_scored"], 2);
    let c = app.scorecard("A").await;
    let m =
        |ind: &str, metric: &str| c["service_score"]["indicators"][ind]["metrics"][metric].clone();
    // product: no refunds over 4 orders -> 0 -> 5; negative 1/2 -> 5*clamp((0.05-0.5)/0.05) = 0
    assert_eq!(
        m("product", "quality_refund_rate"),
        // Its target scores the pass mark, 3: 0.02 − 3 × 0.02 ÷ 5 = 0.008, at most.
        json!({"value": 0.0, "n": 4, "score": 5.0, "passes": true,
               "target_value": 0.008, "target_condition": "<=", "distance": 0.0})
    );
    assert_eq!(
        m("product", "negative_review_rate"),
        // 0.05 − 3 × 0.05 ÷ 5 = 0.02 (0.019999999999999997 in binary), 0.48 away.
        json!({"value": 0.5, "n": 2, "score": 0.0, "passes": false,
               "target_value": 0.019999999999999997, "target_condition": "<=", "distance": 0.48})
    );
    // logistics: on time 0.5 -> 0; delivery 84 h -> 2.5
    assert_eq!(m("logistics", "ship_on_time_rate(48)")["value"], 0.5);
    assert_eq!(
        m("logistics", "delivery_hours_avg"),
        // 120 − 3 × 72 ÷ 5 = 76.8 h at most: 7.2 h over (7.200000000000003 in binary).
        json!({"value": 84.0, "n": 2, "score": 2.5, "passes": false,
               "target_value": 76.8, "target_condition": "<=", "distance": 7.200000000000003})
    );
    // consultation: 50 s -> 5*(120-50)/105; satisfaction 1.0 -> 5
    let resp = 5.0 * 70.0 / 105.0;
    assert!(
        (m("consultation", "human_response_seconds_avg")["score"]
            .as_f64()
            .unwrap()
            - resp)
            .abs()
            < 1e-9
    );
    // The basis of each figure: 4 due orders (o4 overdue), one conversation; each
    // indicator says how many metrics it averaged (after_sales: none, so null).
    assert_eq!(m("logistics", "ship_on_time_rate(48)")["n"], 4);
    assert_eq!(m("consultation", "human_response_seconds_avg")["n"], 1);
    assert_eq!(m("consultation", "satisfaction_rate")["n"], 1);
    assert_eq!(m("after_sales", "refund_hours_avg")["n"], 0);
    assert_eq!(m("disputes", "complaint_rate")["n"], 4);
    let averaged: Vec<(&str, u64)> = c["service_score"]["indicators"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), v["metrics_averaged"].as_u64().unwrap()))
        .collect();
    // (by name: this client's JSON map sorts keys)
    assert_eq!(
        averaged,
        [
            ("after_sales", 0),
            ("consultation", 2),
            ("disputes", 2),
            ("logistics", 2),
            ("product", 2)
        ]
    );
    // after_sales: no refunds -> null indicator; disputes: 0/4 -> 5
    assert_eq!(
        c["service_score"]["indicators"]["after_sales"]["score"],
        Value::Null
    );
    let indicators = [2.5, 1.25, (resp + 5.0) / 2.0, 5.0];
    let score = indicators.iter().sum::<f64>() / 4.0;
    assert!(
        (c["service_score"]["score"].as_f64().unwrap() - score).abs() < 1e-9,
        "{}",
        c["service_score"]
    );
    assert_eq!(
        c["service_score"]["industry_avg"]
            .as_f64()
            .map(|v| (v - score).abs() < 1e-9),
        Some(true)
    );
    assert_eq!(c["service_score"]["beats_pct"], Value::Null); // B has no score
                                                              // credit: +1 -1 over two buyers = 0; positive rate 1/2
    assert_eq!(c["credit"]["points"], 0);
    assert_eq!(c["credit"]["positive_rate"], 0.5);
    assert_eq!(
        c["credit"]["reviews_180d"],
        json!({"positive": 1, "neutral": 0, "negative": 1})
    );
    // DSR: one rating (5, 4, 3); the industry average is this shop's.
    assert_eq!(
        c["dsr"]["service"],
        json!({"score": 4.0, "count": 1, "industry_avg": 4.0, "vs_industry_pct": 0.0})
    );
    // stars: score ~2.96 -> 1 star; dimensions from indicators and DSR service 4.0.
    assert_eq!(c["star_level"]["stars"], if score < 3.0 { 1 } else { 2 });
    assert_eq!(c["star_level"]["dimensions"]["attitude"], "fair");
    assert_eq!(c["star_level"]["dimensions"]["ability"], "unrated");
    // hints: failing metrics, largest gain first.
    let hints = c["hints"].as_array().unwrap();
    assert_eq!(hints[0]["metric"], "negative_review_rate");
    assert!(hints
        .iter()
        .all(|h| h["target"].is_number() && h["message"].is_string()));
    // Every section present; the empty shop has credit 0 and nulls.
    for key in [
        "shop_id",
        "industry",
        "as_of",
        "computed_at",
        "policy_version",
        "credit",
        "dsr",
        "service_score",
        "star_level",
        "programs",
        "cs_tier",
        "hints",
    ] {
        assert!(c.get(key).is_some(), "{key}");
    }
    let b = app.scorecard("B").await;
    assert_eq!(b["credit"]["points"], 0);
    assert_eq!(b["service_score"]["score"], Value::Null);
    assert_eq!(b["dsr"]["description"]["score"], Value::Null);
    assert_eq!(
        b["programs"],
        json!({"cs_daily": null, "holiday_peak": null})
    );
    assert_eq!(b["cs_tier"], Value::Null);
}

#[tokio::test]
async fn recompute_is_deterministic_and_independent_of_arrival_order() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn().await;
    let mut events = shop_a();
    assert_eq!(a.post_events(&Value::Array(events.clone())).await.0, 200);
    events.shuffle(&mut rand::rngs::StdRng::seed_from_u64(7));
    for chunk in events.chunks(3) {
        assert_eq!(b.post_events(&Value::Array(chunk.to_vec())).await.0, 200);
    }
    // Sending everything again changes nothing.
    assert_eq!(
        b.post_events(&Value::Array(events.clone())).await.1["duplicates"],
        events.len()
    );
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("computed_at");
        v
    };
    a.recompute(AS_OF).await;
    let first = strip(a.scorecard("A").await);
    a.recompute(AS_OF).await;
    assert_eq!(strip(a.scorecard("A").await), first);
    b.recompute(AS_OF).await;
    assert_eq!(strip(b.scorecard("A").await), first);
}

#[tokio::test]
async fn snapshots_history_and_benchmarks() {
    let app = TestApp::spawn().await;
    app.put_shop("A", "toys").await;
    assert_eq!(
        app.json(Method::GET, "/v1/shops/A/scorecard", Some(&app.ops), None)
            .await
            .0,
        404
    );
    assert_eq!(app.post_events(&Value::Array(shop_a())).await.0, 200);
    app.recompute("2026-10-20T00:00:00+08:00").await;
    app.recompute(AS_OF).await;
    let (s, early) = app
        .json(
            Method::GET,
            "/v1/shops/A/scorecard?as_of=2026-10-25T00:00:00%2B08:00",
            Some(&app.ops),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(early["as_of"], "2026-10-20T00:00:00+08:00");
    let (s, _) = app
        .json(
            Method::GET,
            "/v1/shops/A/scorecard?as_of=2026-10-01T00:00:00%2B08:00",
            Some(&app.ops),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, b) = app
        .json(
            Method::GET,
            "/v1/shops/A/scorecard?as_of=yesterday",
            Some(&app.ops),
            None,
        )
        .await;
    assert_eq!((s, b["error"]["code"].as_str()), (400, Some("bad_request")));
    let (_, h) = app
        .json(Method::GET, "/v1/shops/A/history", Some(&app.ops), None)
        .await;
    let items = h["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["as_of"], "2026-10-20T00:00:00+08:00");
    assert_eq!(items[1]["credit_points"], 0);
    assert_eq!(items[1]["dsr"]["description"], 5.0);
    let (_, h) = app
        .json(
            Method::GET,
            "/v1/shops/A/history?from=2026-10-21T00:00:00%2B08:00&limit=1",
            Some(&app.ops),
            None,
        )
        .await;
    assert_eq!(
        (
            h["items"].as_array().unwrap().len(),
            h["next_cursor"].is_null()
        ),
        (1, true)
    );
    // A date alone is its local midnight.
    let (_, by_date) = app
        .json(
            Method::GET,
            "/v1/shops/A/history?from=2026-10-21&limit=1",
            Some(&app.ops),
            None,
        )
        .await;
    assert_eq!(by_date, h);
    let (_, bench) = app
        .json(
            Method::GET,
            "/v1/industries/toys/benchmarks",
            Some(&app.ops),
            None,
        )
        .await;
    assert_eq!(bench["shops"], 1);
    assert_eq!(bench["dsr"]["logistics"], json!({"avg": 3.0, "p50": 3.0}));
    assert_eq!(
        bench["indicators"]["disputes"],
        json!({"avg": 5.0, "p50": 5.0})
    );
    // Recomputing unknown shops is a client error and writes nothing.
    let (s, b) = app
        .json(
            Method::POST,
            "/v1/recompute",
            Some(&app.ops),
            Some(&json!({"shop_ids": ["ghost"]})),
        )
        .await;
    assert_eq!(
        (s, b["error"]["details"][0]["shop_id"].as_str()),
        (422, Some("ghost"))
    );
    let (s, _) = app
        .json(
            Method::POST,
            "/v1/recompute",
            Some(&app.ops),
            Some(&json!({"as_of": "soon"})),
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn the_recompute_command_matches_the_endpoint() {
    let app = TestApp::spawn().await;
    assert_eq!(app.post_events(&Value::Array(shop_a())).await.0, 200);
    let (out, _) = crate::helpers::shopscore(
        &app.db_url,
        &["recompute", "--as-of", AS_OF, "--shop", "A"],
        &[],
    );
    let printed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(printed["shops_scored"], 1);
    let c = app.scorecard("A").await;
    assert_eq!(c["as_of"], AS_OF);
    assert_eq!(c["credit"]["reviews_180d"]["negative"], 1);
}

/// SPEC §1, a look-back: after a full run at T2, a full run at an earlier T1 stores its
/// snapshots but changes nothing current: benchmarks stay T2's, the latest card stays
/// T2's, and a one-shop run at T2 then equals the full run at T2 field by field.
async fn benchmarks(app: &TestApp) -> Value {
    let path = "/v1/industries/unassigned/benchmarks";
    app.json(Method::GET, path, Some(&app.ops), None).await.1
}

async fn card_without_computed_at(app: &TestApp, shop: &str) -> Value {
    let mut c = app.scorecard(shop).await;
    c.as_object_mut().unwrap().remove("computed_at");
    c
}

#[tokio::test]
async fn a_look_back_changes_nothing_current() {
    let app = TestApp::spawn().await;
    let events = shopscore::demo::generate(12, 20, 3, 5, chrono::Utc::now());
    for chunk in events.chunks(2000) {
        assert_eq!(app.post_events(&Value::Array(chunk.to_vec())).await.0, 200);
    }
    let now = chrono::Utc::now();
    let t2 = now.to_rfc3339();
    let t1 = (now - chrono::Duration::days(7)).to_rfc3339();
    app.recompute(&t2).await;
    let (bench_t2, card_t2) = (
        benchmarks(&app).await,
        card_without_computed_at(&app, "demo-shop-003").await,
    );
    assert_eq!(bench_t2["shops"], 12);
    app.recompute(&t1).await;
    assert_eq!(
        benchmarks(&app).await,
        bench_t2,
        "benchmarks moved back to T1"
    );
    assert_eq!(
        card_without_computed_at(&app, "demo-shop-003").await,
        card_t2,
        "the latest card is still T2's"
    );
    // The T1 snapshots exist for ?as_of=.
    let q = format!(
        "/v1/shops/demo-shop-003/scorecard?as_of={}",
        t1.replace('+', "%2B")
    );
    let (s, old) = app.json(Method::GET, &q, Some(&app.ops), None).await;
    assert_eq!(
        (
            s,
            old["as_of"]
                .as_str()
                .map(|a| a < card_t2["as_of"].as_str().unwrap())
        ),
        (200, Some(true))
    );
    let (s, b) = app
        .json(
            Method::POST,
            "/v1/recompute",
            Some(&app.ops),
            Some(&json!({"as_of": t2, "shop_ids": ["demo-shop-003"]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        card_without_computed_at(&app, "demo-shop-003").await,
        card_t2,
        "a one-shop run at T2 equals the full run at T2"
    );
}

/// A run ahead of the clock (an `as_of` later than now, within SPEC's range) is what
/// is current: a later run at an earlier instant, the scheduler's included, is a
/// look-back and changes nothing; the scheduler leaves such shops' dirty marks until
/// the clock has passed their figures, and then scores them.
#[tokio::test]
async fn a_run_ahead_of_the_clock_is_current_until_the_clock_passes_it() {
    use shopscore::clock::FakeClock;
    use shopscore::jobs::scheduler::{Scheduler, Tick};
    let app = TestApp::spawn().await;
    let events = shopscore::demo::generate(6, 20, 3, 5, chrono::Utc::now());
    for chunk in events.chunks(2000) {
        assert_eq!(app.post_events(&Value::Array(chunk.to_vec())).await.0, 200);
    }
    let now = chrono::Utc::now();
    let ahead = now + chrono::Duration::days(62);
    let out = app.recompute(&ahead.to_rfc3339()).await;
    let (bench, card) = (
        benchmarks(&app).await,
        card_without_computed_at(&app, "demo-shop-003").await,
    );
    assert_eq!(
        card["as_of"], out["as_of"],
        "the run ahead is the latest card"
    );
    assert_eq!(bench["as_of"], out["as_of"]);

    let late = crate::helpers::reviewed_order("demo-shop-003", "late", &now.to_rfc3339());
    assert_eq!(app.post_events(&Value::Array(late)).await.0, 200);
    let clock = FakeClock::at(now + chrono::Duration::minutes(1));
    let scheduler = Scheduler {
        pool: app.pool.clone(),
        policy: std::sync::Arc::new(shopscore::policy::Policy::default_policy()),
        clock: clock.clone(),
        interval: std::time::Duration::from_secs(60),
        replica: "r1".into(),
        keep_all: std::time::Duration::from_secs(48 * 3600),
    };
    let stop = tokio_util::sync::CancellationToken::new();
    // Today's daily run: a look-back for every shop.
    assert!(matches!(
        scheduler.tick(&stop).await.unwrap(),
        Tick::Ran { result: Ok(6), .. }
    ));
    assert_eq!(
        scheduler.tick(&stop).await.unwrap(),
        Tick::Idle,
        "the marked shop waits"
    );
    assert_eq!(benchmarks(&app).await, bench);
    assert_eq!(card_without_computed_at(&app, "demo-shop-003").await, card);
    let marked: Vec<Vec<String>> = sqlx::query_scalar("SELECT shop_ids FROM dirty_marks")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(marked, [["demo-shop-003"]]);

    // Past the figures: the day's run scores everything, the late review included.
    clock.set(ahead + chrono::Duration::hours(1));
    assert!(matches!(
        scheduler.tick(&stop).await.unwrap(),
        Tick::Ran { result: Ok(6), .. }
    ));
    let c = app.scorecard("demo-shop-003").await;
    assert_eq!(
        c["credit"]["reviews_180d"]["positive"].as_i64(),
        card["credit"]["reviews_180d"]["positive"]
            .as_i64()
            .map(|n| n + 1)
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM dirty_marks")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

/// Dashboards poll: scorecard, history and benchmarks carry an ETag and
/// `Cache-Control: private, no-cache`; `If-None-Match` with the current tag is a 304
/// without a body, and a new snapshot changes the tag.
#[tokio::test]
async fn polling_reads_get_304_until_something_changes() {
    let app = TestApp::spawn().await;
    app.put_shop("A", "toys").await;
    assert_eq!(app.post_events(&Value::Array(shop_a())).await.0, 200);
    app.recompute("2026-10-20T00:00:00+08:00").await;
    let paths = [
        "/v1/shops/A/scorecard",
        "/v1/shops/A/history",
        "/v1/industries/toys/benchmarks",
    ];
    let mut tags = Vec::new();
    for path in paths {
        let r = app.call(Method::GET, path, Some(&app.ops), None).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["cache-control"], "private, no-cache");
        let tag = r.headers()["etag"].to_str().unwrap().to_string();
        let again = app
            .client
            .get(format!("{}{path}", app.base))
            .bearer_auth(&app.ops)
            .header("if-none-match", &tag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()["etag"].to_str().unwrap(), tag);
        assert!(again.bytes().await.unwrap().is_empty());
        tags.push(tag);
    }
    app.recompute(AS_OF).await;
    for (path, old) in paths.iter().zip(&tags) {
        let r = app
            .client
            .get(format!("{}{path}", app.base))
            .bearer_auth(&app.ops)
            .header("if-none-match", old)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}: a new snapshot is a new tag");
        assert_ne!(r.headers()["etag"].to_str().unwrap(), old);
    }
}

/// The scorecard goes out as the recompute serialised it: identity first, the fields
/// in the order the API documents, and each float as the same digits that `history`
/// and the shop list print for it.
#[tokio::test]
async fn a_scorecard_reads_identity_first_with_the_same_floats_everywhere() {
    let app = TestApp::spawn().await;
    app.put_shop("A", "toys").await;
    assert_eq!(app.post_events(&Value::Array(shop_a())).await.0, 200);
    app.recompute(AS_OF).await;
    let text = app
        .call(Method::GET, "/v1/shops/A/scorecard", Some(&app.ops), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        text.starts_with(r#"{"shop_id":"A","industry":"toys","as_of":"#),
        "{text}"
    );
    let card: Value = serde_json::from_str(&text).unwrap();
    let score = card["service_score"]["score"].clone();
    assert!(score.is_f64(), "{card}");
    // Digits as printed, not as parsed: the shortest form that reads back the same f64.
    let digits = serde_json::to_string(&score).unwrap();
    assert!(
        text.contains(&format!(r#""score":{digits},"industry_avg""#)),
        "{digits}: {text}"
    );
    for path in ["/v1/shops/A/history", "/v1/shops"] {
        let raw = app
            .call(Method::GET, path, Some(&app.ops), None)
            .await
            .text()
            .await
            .unwrap();
        assert!(
            raw.contains(&format!(r#""service_score":{digits},"#)),
            "{path}: {digits}: {raw}"
        );
    }
}

/// DSR's cap of 3 per buyer and *local* calendar month (SPEC §4.2), at the edges the
/// query has to get right: a month's end in the policy's zone (+08:00) rather than UTC's,
/// and the window's first month, whose reviews before the window still take places in
/// that month's cap while an earlier month's do not. Counted reviews rate 5, the ones
/// the cap or the window leaves out rate 1, so the count and a mean of 5.0 say which.
#[tokio::test]
async fn the_dsr_cap_counts_local_months_and_the_window_edge() {
    let app = TestApp::spawn().await;
    app.put_shop("D", "toys").await;
    // as_of 2026-11-20 00:00 +08:00; the 180-day window opens 2026-05-24 00:00 +08:00.
    let as_of = "2026-11-20T00:00:00+08:00";
    let d = ShopEvents("D");
    let review = |order: &str, buyer: &str, at: &str, value: i64| {
        let dsr = json!({"description": value, "service": value, "logistics": value});
        let data = json!({"order_id": order, "buyer_id": buyer, "rating": "positive", "dsr": dsr});
        d.ev(&format!("{order}-r"), "order.reviewed", at, data)
    };
    let events = vec![
        // b1: three in local October, the third at 23:30 on the 31st (15:30 UTC), and
        // one at 00:30 on November 1 (still October 31 in UTC): November's first. 4 count.
        review("o11", "b1", "2026-10-10T12:00:00+08:00", 5),
        review("o12", "b1", "2026-10-20T12:00:00+08:00", 5),
        review("o13", "b1", "2026-10-31T23:30:00+08:00", 5),
        review("o14", "b1", "2026-11-01T00:30:00+08:00", 5),
        // b2: two in May before the window take May's first places, so of the two in
        // the window only the first (May's third) counts. 1 counts.
        review("o21", "b2", "2026-05-20T12:00:00+08:00", 1),
        review("o22", "b2", "2026-05-22T12:00:00+08:00", 1),
        review("o23", "b2", "2026-05-25T12:00:00+08:00", 5),
        review("o24", "b2", "2026-05-26T12:00:00+08:00", 1),
        // b3: one on April 30 (local) belongs to April, not to May's cap. 3 count.
        review("o31", "b3", "2026-04-30T23:00:00+08:00", 1),
        review("o32", "b3", "2026-05-25T12:00:00+08:00", 5),
        review("o33", "b3", "2026-05-26T12:00:00+08:00", 5),
        review("o34", "b3", "2026-05-27T12:00:00+08:00", 5),
    ];
    assert_eq!(app.post_events(&Value::Array(events)).await.0, 200);
    app.recompute(as_of).await;
    let c = app.scorecard("D").await;
    for dim in ["description", "service", "logistics"] {
        assert_eq!(c["dsr"][dim]["count"], 8, "{dim}");
        assert_eq!(c["dsr"][dim]["score"], 5.0, "{dim}");
    }
}
