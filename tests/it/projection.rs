//! The projection (`GET /v1/shops/{shop_id}/projection`): the open periods evaluated as
//! if they closed at `as_of`, by the same rules as a recompute, changing nothing current.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{ShopEvents, TestApp};

const AS_OF: &str = "2026-12-05T10:00:00+08:00";

/// Shop A: first event in August (so August to October are its exempt months); in
/// November no agent online at all; in December an agent online 09:00–11:00 on the 1st
/// only, and one conversation answered by a human after 60 s.
fn shop_a() -> Vec<Value> {
    let a = ShopEvents("A");
    let status = |id: &str, at: &str, s: &str| {
        a.ev(
            id,
            "agent.status",
            at,
            json!({"agent_id": "a1", "status": s}),
        )
    };
    vec![
        a.created("o1", "b1", 1000, "2026-08-01T10:00:00+08:00"),
        status("s1", "2026-12-01T09:00:00+08:00", "online"),
        status("s2", "2026-12-01T11:00:00+08:00", "offline"),
        a.message("m1", "c1", "buyer", "2026-12-02T10:00:00+08:00"),
        a.message("m2", "c1", "agent", "2026-12-02T10:01:00+08:00"),
    ]
}

#[tokio::test]
async fn the_open_month_closes_at_as_of_and_nothing_current_changes() {
    let app = TestApp::spawn().await;
    app.put_shop("A", "toys").await;
    app.post_ok(shop_a()).await;
    app.recompute(AS_OF).await;
    let before = app.scorecard("A").await;
    // The card: November, failed (no agent online: 0 h a day), after the exempt October.
    let cs = &before["programs"]["cs_daily"];
    assert_eq!(
        (cs["period"].as_str(), cs["status"].as_str()),
        (Some("2026-11"), Some("fail"))
    );
    assert_eq!(cs["consecutive_failures"], 1);

    let key = app.merchant(&["A"]).await;
    let path = format!("/v1/shops/A/projection?as_of={}", AS_OF.replace('+', "%2B"));
    let (status, p) = app.json(Method::GET, &path, Some(&key), None).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["projected"], true);
    assert_eq!(p["as_of"], AS_OF);
    // December so far, as if it closed now: 4 whole days, 2 h online on the 1st and none
    // after, 0.5 h a day against 9: a fail; the human replied within 180 s: 1.0 ≥ 0.5.
    // With November's fail, two in a row: `warning`.
    let cs = &p["programs"]["cs_daily"];
    assert_eq!(cs["period"], "2026-12");
    assert_eq!(cs["rules"][0]["value"], 0.5);
    assert_eq!(cs["rules"][0]["distance"], 8.5);
    assert_eq!(cs["rules"][1]["value"], 1.0);
    assert_eq!(
        (cs["status"].as_str(), cs["consecutive_failures"].as_u64()),
        (Some("warning"), Some(2))
    );
    // The holiday campaign settled in October: as the card has it.
    assert_eq!(
        p["programs"]["holiday_peak"],
        before["programs"]["holiday_peak"]
    );
    // December's tier checks so far: one conversation, no ratings: too few.
    assert_eq!(
        p["cs_tier"],
        json!({"month": "2026-12", "status": "ineligible", "reason": "too_few_ratings",
               "satisfaction_rate": null, "ratings": 0, "orders": 0, "scale": "small",
               "service_score": p["cs_tier"]["service_score"], "consultation": p["cs_tier"]["consultation"]})
    );

    // Nothing current moved: the same card, no new snapshot.
    assert_eq!(app.scorecard("A").await, before);
    let snapshots: i64 = sqlx::query_scalar("SELECT count(*) FROM scorecards")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(snapshots, 1);

    // Another merchant's shop is the unknown-shop 404; a bad as_of a 422.
    app.put_shop("B", "toys").await;
    let (status, _) = app
        .json(Method::GET, "/v1/shops/B/projection", Some(&key), None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .json(
            Method::GET,
            "/v1/shops/A/projection?as_of=1999-01-01T00:00:00Z",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 422);
}
