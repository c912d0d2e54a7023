//! Ops ranking: `GET /v1/shops` sorted by a headline figure of each shop's latest
//! scorecard, filtered by score, paged with cursors that keep the order.
//!
//! The snapshots are written straight into `scorecards` with figures chosen by hand
//! (the recompute's own numbers are checked elsewhere); the list reads only those
//! columns.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::TestApp;

/// (shop, as_of, service_score, stars, credit_points, dsr_service).
type Snapshot = (
    &'static str,
    &'static str,
    Option<f64>,
    Option<i16>,
    i64,
    Option<f64>,
);

/// s3 has none; s5 two.
const SNAPSHOTS: [Snapshot; 6] = [
    (
        "s1",
        "2026-11-20T00:00:00Z",
        Some(4.5),
        Some(3),
        100,
        Some(4.8),
    ),
    ("s2", "2026-11-20T00:00:00Z", Some(4.9), Some(5), 50, None),
    (
        "s4",
        "2026-11-20T00:00:00Z",
        Some(4.5),
        Some(4),
        300,
        Some(4.6),
    ),
    (
        "s5",
        "2026-11-01T00:00:00Z",
        Some(1.0),
        Some(2),
        5,
        Some(1.0),
    ),
    ("s5", "2026-11-20T00:00:00Z", Some(3.0), None, 10, Some(4.9)),
    ("s6", "2026-11-20T00:00:00Z", None, Some(1), 0, Some(4.0)),
];

async fn marketplace() -> TestApp {
    let app = TestApp::spawn().await;
    for s in ["s1", "s2", "s3", "s4", "s5", "s6"] {
        app.put_shop(s, if s == "s2" { "food" } else { "apparel" })
            .await;
    }
    for (shop, at, score, stars, points, dsr) in SNAPSHOTS {
        sqlx::query(
            "INSERT INTO scorecards (shop_id, as_of, computed_at, policy_version, body, service_score,
                                     stars, credit_points, credit_level_index, dsr_service)
             VALUES ($1, $2::timestamptz, $2::timestamptz, 'v', '{}', $3, $4, $5, 1, $6)",
        )
        .bind(shop)
        .bind(at)
        .bind(score)
        .bind(stars)
        .bind(points)
        .bind(dsr)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    app
}

/// Every page of `query` (2 shops a page), as the ids in the order served.
async fn all_pages(app: &TestApp, query: &str) -> (Vec<String>, Vec<Value>) {
    let (mut ids, mut items) = (Vec::new(), Vec::new());
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => format!("/v1/shops?limit=2&{query}"),
            Some(c) => format!("/v1/shops?limit=2&{query}&cursor={c}"),
        };
        let (s, b) = app.json(Method::GET, &path, Some(&app.ops), None).await;
        assert_eq!(s, 200, "{path}: {b}");
        for item in b["items"].as_array().unwrap() {
            ids.push(item["shop_id"].as_str().unwrap().to_string());
            items.push(item.clone());
        }
        match b["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return (ids, items),
        }
        assert!(ids.len() <= 6, "{query}: pages never end: {ids:?}");
    }
}

#[tokio::test]
async fn ops_rank_shops_by_each_figure_page_by_page() {
    let app = marketplace().await;
    // Worked out by hand from SNAPSHOTS: ties by shop id, missing figures last.
    let cases = [
        ("sort=service_score", ["s2", "s1", "s4", "s5", "s3", "s6"]),
        (
            "sort=service_score&order=asc",
            ["s5", "s1", "s4", "s2", "s3", "s6"],
        ),
        ("sort=stars", ["s2", "s4", "s1", "s6", "s3", "s5"]),
        ("sort=credit_points", ["s4", "s1", "s2", "s5", "s6", "s3"]),
        (
            "sort=credit_points&order=asc",
            ["s6", "s5", "s2", "s1", "s4", "s3"],
        ),
        ("sort=dsr_service", ["s5", "s1", "s4", "s6", "s2", "s3"]),
        (
            "sort=shop_id&order=desc",
            ["s6", "s5", "s4", "s3", "s2", "s1"],
        ),
        ("order=asc", ["s1", "s2", "s3", "s4", "s5", "s6"]),
    ];
    for (query, expected) in cases {
        let (ids, _) = all_pages(&app, query).await;
        assert_eq!(ids, expected, "{query}");
    }
    let (ids, items) = all_pages(&app, "min_score=4.5").await;
    assert_eq!(ids, ["s1", "s2", "s4"]);
    assert_eq!(items[1]["latest"]["service_score"], 4.9);
    assert_eq!(items[1]["latest"]["stars"], 5);
    assert_eq!(items[1]["latest"]["as_of"], "2026-11-20T08:00:00+08:00");
    let (ids, items) = all_pages(&app, "min_score=3&max_score=4.5&sort=service_score").await;
    assert_eq!(ids, ["s1", "s4", "s5"]);
    assert_eq!(
        items[2]["latest"]["credit_points"], 10,
        "the latest snapshot, not the older one"
    );
    let (ids, items) = all_pages(&app, "industry=apparel&sort=credit_points").await;
    assert_eq!(ids, ["s4", "s1", "s5", "s6", "s3"]);
    assert!(items[4]["latest"].is_null(), "never scored: {}", items[4]);
    assert_eq!(items[4]["industry"], "apparel");
}

#[tokio::test]
async fn a_ranking_query_a_client_got_wrong_is_a_400_saying_why() {
    let app = marketplace().await;
    let (_, page) = app
        .json(
            Method::GET,
            "/v1/shops?limit=2&sort=stars",
            Some(&app.ops),
            None,
        )
        .await;
    let stars_cursor = page["next_cursor"].as_str().unwrap().to_string();
    for (query, says) in [
        (
            "sort=score",
            "sort must be one of shop_id, service_score, stars",
        ),
        ("order=up", "order must be one of asc, desc"),
        ("min_score=high", "min_score must be a number"),
        ("max_score=NaN", "max_score must be a number"),
        (
            &*format!("sort=credit_points&cursor={stars_cursor}"),
            "another sort",
        ),
        (
            &*format!("sort=stars&order=asc&cursor={stars_cursor}"),
            "another sort",
        ),
        ("sort=stars&cursor=e30", "not one this API returned"),
    ] {
        let (s, b) = app
            .json(
                Method::GET,
                &format!("/v1/shops?{query}"),
                Some(&app.ops),
                None,
            )
            .await;
        assert_eq!(s, 400, "{query}: {b}");
        let message = b["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{query}: {message}");
    }
}
