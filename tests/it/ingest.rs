//! SPEC §2 and §5: ingestion of every event type, all-or-nothing validation, duplicates and
//! conflicts, order independence, durability, and the shops endpoints.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Connection;

use crate::helpers::{ev, TestApp};

/// One event of each of the 18 types, for shop `s`.
fn one_of_each(s: &str) -> Vec<Value> {
    let t = "2026-10-01T10:00:00+08:00";
    vec![
        ev(
            "e01",
            "order.created",
            s,
            t,
            json!({"order_id": "o1", "buyer_id": "b1", "amount_cents": 12900, "currency": "CNY", "item_id": "i1"}),
        ),
        ev("e02", "order.paid", s, t, json!({"order_id": "o1"})),
        ev(
            "e03",
            "order.shipped",
            s,
            t,
            json!({"order_id": "o1", "carrier": "SF", "tracking_no": "SF1"}),
        ),
        ev("e04", "order.delivered", s, t, json!({"order_id": "o1"})),
        ev(
            "e05",
            "order.cancelled",
            s,
            t,
            json!({"order_id": "o2", "initiator": "seller"}),
        ),
        ev(
            "e06",
            "order.reviewed",
            s,
            t,
            json!({"order_id": "o1", "buyer_id": "b1", "rating": "positive",
                                                   "dsr": {"description": 5, "service": 4, "logistics": 3}}),
        ),
        ev(
            "e07",
            "refund.requested",
            s,
            t,
            json!({"refund_id": "r1", "order_id": "o1", "reason": "quality", "amount_cents": 100}),
        ),
        ev("e08", "refund.completed", s, t, json!({"refund_id": "r1"})),
        ev("e09", "refund.rejected", s, t, json!({"refund_id": "r2"})),
        ev(
            "e10",
            "chat.message",
            s,
            t,
            json!({"conversation_id": "c1", "sender": "agent", "agent_id": "a1"}),
        ),
        ev(
            "e11",
            "chat.rated",
            s,
            t,
            json!({"conversation_id": "c1", "satisfaction": "satisfied"}),
        ),
        ev(
            "e12",
            "agent.status",
            s,
            t,
            json!({"agent_id": "a1", "status": "online"}),
        ),
        ev(
            "e13",
            "complaint.opened",
            s,
            t,
            json!({"complaint_id": "k1", "category": "service", "order_id": "o1"}),
        ),
        ev(
            "e14",
            "complaint.accepted",
            s,
            t,
            json!({"complaint_id": "k1"}),
        ),
        ev(
            "e15",
            "complaint.followed_up",
            s,
            t,
            json!({"complaint_id": "k1"}),
        ),
        ev(
            "e16",
            "complaint.resolved",
            s,
            t,
            json!({"complaint_id": "k1", "outcome": "resolved", "ruled_against_merchant": true}),
        ),
        ev(
            "e17",
            "complaint.verified",
            s,
            t,
            json!({"complaint_id": "k1", "conduct": "abuse"}),
        ),
        ev(
            "e18",
            "integrity.flagged",
            s,
            t,
            json!({"kind": "fake_reviews", "note": "found by audit"}),
        ),
    ]
}

/// A conversation's row is rewritten from all of its messages at each fold: a buyer
/// message that arrives later but happened earlier moves its start, and a reply before
/// the old first response becomes the first response. A conversation with no buyer
/// message has no row.
#[tokio::test]
async fn a_conversation_is_refolded_from_all_its_messages() {
    use crate::helpers::ShopEvents;
    use chrono::{DateTime, Utc};
    type Row = (
        String,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<String>,
        Option<DateTime<Utc>>,
    );
    async fn fold_and_read(app: &TestApp) -> (u64, Vec<Row>) {
        let folded = shopscore::ingest::fold_queued(&app.pool).await.unwrap();
        let rows = sqlx::query_as(
            "SELECT conversation_id, started_at, first_response_at, first_sender, first_human_at
             FROM conversations ORDER BY conversation_id",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap();
        (folded.conversations, rows)
    }
    let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    let app = TestApp::spawn().await;
    let s = ShopEvents("s");
    app.post_ok(vec![
        s.message("m1", "c1", "buyer", "2026-10-01T10:00:00+08:00"),
        s.message("m2", "c1", "agent", "2026-10-01T10:05:00+08:00"),
    ])
    .await;
    let at_10_05 = Some(t("2026-10-01T10:05:00+08:00"));
    assert_eq!(
        fold_and_read(&app).await,
        (
            1,
            vec![(
                "c1".to_string(),
                t("2026-10-01T10:00:00+08:00"),
                at_10_05,
                Some("agent".to_string()),
                at_10_05
            )]
        )
    );

    app.post_ok(vec![
        s.message("m0", "c1", "buyer", "2026-10-01T09:50:00+08:00"),
        s.message("m3", "c1", "bot", "2026-10-01T09:52:00+08:00"),
        s.message("m4", "c2", "agent", "2026-10-01T11:00:00+08:00"),
    ])
    .await;
    assert_eq!(
        fold_and_read(&app).await,
        (
            1,
            vec![(
                "c1".to_string(),
                t("2026-10-01T09:50:00+08:00"),
                Some(t("2026-10-01T09:52:00+08:00")),
                Some("bot".to_string()),
                at_10_05
            )]
        ),
        "c1 refolded from its four messages; c2 has no buyer message, so no row"
    );
}

#[tokio::test]
async fn every_event_type_is_accepted_and_projected() {
    let app = TestApp::spawn().await;
    let (s, b) = app.post_events(&Value::Array(one_of_each("s-1"))).await;
    assert_eq!((s, &b), (200, &json!({"accepted": 18, "duplicates": 0})));
    // Order events are appended and queued; the fold (at the start of a recompute)
    // writes the order rows.
    assert_eq!(
        shopscore::ingest::fold_queued(&app.pool)
            .await
            .unwrap()
            .orders,
        2
    );
    let counts: std::collections::HashMap<String, i64> =
        app.table_counts().await.into_iter().collect();
    assert_eq!(counts["events"], 18);
    assert_eq!(counts["orders"], 2);
    assert_eq!(counts["order_events"], 5);
    assert_eq!(counts["orders_to_fold"], 0, "the fold took the queue");
    assert_eq!(counts["reviews"], 1);
    assert_eq!(counts["refunds"], 2);
    assert_eq!(counts["chat_messages"], 1);
    assert_eq!(counts["chat_ratings"], 1);
    assert_eq!(counts["agent_status"], 1);
    assert_eq!(counts["complaints"], 1);
    assert_eq!(counts["complaint_followups"], 1);
    assert_eq!(counts["complaint_verifications"], 1);
    assert_eq!(counts["integrity_flags"], 1);
    let order: (i64, String, Option<String>, bool, bool, bool) = sqlx::query_as(
        "SELECT amount_cents, buyer_id, item_id, paid_at IS NOT NULL, shipped_at IS NOT NULL, delivered_at IS NOT NULL
         FROM orders WHERE shop_id = 's-1' AND order_id = 'o1'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        order,
        (12900, "b1".into(), Some("i1".into()), true, true, true)
    );
    let complaint: (bool, bool, bool, String, bool, String) = sqlx::query_as(
        "SELECT opened_at IS NOT NULL, accepted_at IS NOT NULL, first_followup_at IS NOT NULL, outcome, ruled_against, conduct
         FROM complaints WHERE shop_id = 's-1'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        complaint,
        (true, true, true, "resolved".into(), true, "abuse".into())
    );
    // The shop was created on its first event, with industry `unassigned`.
    let (s, shop) = app
        .json(Method::GET, "/v1/shops/s-1", Some(&app.ops), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(shop["industry"], "unassigned");
    // Times in the policy time zone, like the scorecards'.
    assert_eq!(shop["first_event_at"], "2026-10-01T10:00:00+08:00");
    assert!(
        shop["created_at"].as_str().unwrap().ends_with("+08:00"),
        "{shop}"
    );
}

#[tokio::test]
async fn bad_input_gets_its_4xx_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.post_events(&Value::Array(one_of_each("s-1"))).await;
    let before = app.table_counts().await;
    let good = ev(
        "new-1",
        "order.paid",
        "s-1",
        "2026-10-02T10:00:00+08:00",
        json!({"order_id": "o9"}),
    );
    let future = (chrono::Utc::now() + chrono::Duration::hours(25)).to_rfc3339();
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "missing field",
            ev(
                "x1",
                "order.created",
                "s-1",
                "2026-10-01T10:00:00Z",
                json!({"order_id": "o", "buyer_id": "b"}),
            ),
            422,
            "data.amount_cents",
        ),
        (
            "wrong type",
            ev(
                "x2",
                "order.created",
                "s-1",
                "2026-10-01T10:00:00Z",
                json!({"order_id": "o", "buyer_id": "b", "amount_cents": "12"}),
            ),
            422,
            "data.amount_cents",
        ),
        (
            "negative amount",
            ev(
                "x3",
                "order.created",
                "s-1",
                "2026-10-01T10:00:00Z",
                json!({"order_id": "o", "buyer_id": "b", "amount_cents": -1}),
            ),
            422,
            "data.amount_cents",
        ),
        (
            "unknown type",
            ev(
                "x4",
                "order.teleported",
                "s-1",
                "2026-10-01T10:00:00Z",
                json!({}),
            ),
            422,
            "type",
        ),
        (
            "bad enum",
            ev(
                "x5",
                "order.cancelled",
                "s-1",
                "2026-10-01T10:00:00Z",
                json!({"order_id": "o", "initiator": "cat"}),
            ),
            422,
            "data.initiator",
        ),
        (
            "bad id characters",
            ev(
                "x 6",
                "order.paid",
                "s-1",
                "2026-10-01T10:00:00Z",
                json!({"order_id": "o"}),
            ),
            422,
            "event_id",
        ),
        (
            "bad shop id",
            ev(
                "x7",
                "order.paid",
                "s/1",
                "2026-10-01T10:00:00Z",
                json!({"order_id": "o"}),
            ),
            422,
            "shop_id",
        ),
        (
            "no offset",
            ev(
                "x8",
                "order.paid",
                "s-1",
                "2026-10-01T10:00:00",
                json!({"order_id": "o"}),
            ),
            422,
            "occurred_at",
        ),
        (
            "future timestamp",
            ev("x9", "order.paid", "s-1", &future, json!({"order_id": "o"})),
            422,
            "occurred_at",
        ),
        (
            "dsr out of range",
            ev(
                "x10",
                "order.reviewed",
                "s-1",
                "2026-10-01T10:00:00Z",
                json!({"order_id": "o", "buyer_id": "b", "rating": "positive", "dsr": {"description": 6, "service": 5, "logistics": 5}}),
            ),
            422,
            "data.dsr",
        ),
        (
            "agent without id",
            ev(
                "x11",
                "chat.message",
                "s-1",
                "2026-10-01T10:00:00Z",
                json!({"conversation_id": "c", "sender": "agent"}),
            ),
            422,
            "data.agent_id",
        ),
        (
            "unknown data field",
            ev(
                "x12",
                "order.paid",
                "s-1",
                "2026-10-01T10:00:00Z",
                json!({"order_id": "o", "paid_by": "x"}),
            ),
            422,
            "data.paid_by",
        ),
    ];
    for (name, bad, status, field) in cases {
        // The bad event rides with a good one: neither may land.
        let (s, body) = app.post_events(&json!([good.clone(), bad])).await;
        assert_eq!(s, status, "{name}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed", "{name}");
        let details = body["error"]["details"].as_array().unwrap();
        assert!(
            details
                .iter()
                .any(|d| d["index"] == 1 && d["field"] == field),
            "{name}: {body}"
        );
        assert!(
            details.iter().all(|d| d["index"] == 1),
            "{name}: only the bad item is listed: {body}"
        );
        assert_eq!(
            app.table_counts().await,
            before,
            "{name} changed the database"
        );
    }

    // Malformed JSON, wrong shapes, media types, oversize batches and bodies.
    let raw = |body: &'static str, ctype: &'static str| {
        app.client
            .post(format!("{}/v1/events", app.base))
            .bearer_auth(&app.ingest)
            .header("content-type", ctype)
            .body(body)
            .send()
    };
    for (body, ctype, status, code) in [
        ("{\"event_id\": ", "application/json", 400, "bad_request"),
        ("42", "application/json", 400, "bad_request"),
        ("[]", "application/json", 400, "bad_request"),
        ("<xml/>", "application/xml", 415, "unsupported_media_type"),
        (
            "{\"a\":1}\nnot json\n",
            "application/x-ndjson",
            400,
            "bad_request",
        ),
    ] {
        let r = raw(body, ctype).await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{body}");
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"]["code"], code, "{body}");
    }
    let many: Vec<Value> = (0..10_001)
        .map(|i| {
            ev(
                &format!("m{i}"),
                "order.paid",
                "s-1",
                "2026-10-01T10:00:00Z",
                json!({"order_id": "o"}),
            )
        })
        .collect();
    let (s, b) = app.post_events(&Value::Array(many)).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    let huge = format!("[\"{}\"]", "x".repeat(40 * 1024 * 1024));
    let r = app
        .client
        .post(format!("{}/v1/events", app.base))
        .bearer_auth(&app.ingest)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "payload_too_large"
    );
    assert_eq!(app.table_counts().await, before);
}

#[tokio::test]
async fn duplicates_are_counted_and_conflicts_store_nothing() {
    let app = TestApp::spawn().await;
    let e = ev(
        "e1",
        "order.created",
        "s-1",
        "2026-10-01T10:00:00+08:00",
        json!({"order_id": "o1", "buyer_id": "b1", "amount_cents": 500}),
    );
    assert_eq!(
        app.post_events(&e).await,
        (200, json!({"accepted": 1, "duplicates": 0}))
    );
    // Same content: key order, spacing and the offset of the same instant do not matter.
    let raw = r#"{"shop_id":"s-1","data":{"amount_cents":500,"buyer_id":"b1","order_id":"o1"},"occurred_at":"2026-10-01T02:00:00Z","type":"order.created","event_id":"e1"}"#;
    let r = app
        .client
        .post(format!("{}/v1/events", app.base))
        .bearer_auth(&app.ingest)
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"accepted": 0, "duplicates": 1})
    );
    // Repeated inside one request.
    let e2 = ev(
        "e2",
        "order.paid",
        "s-1",
        "2026-10-01T10:05:00+08:00",
        json!({"order_id": "o1"}),
    );
    assert_eq!(
        app.post_events(&json!([e2, e2, e])).await,
        (200, json!({"accepted": 1, "duplicates": 2}))
    );
    // Same key, other content (an explicit optional field counts as different): 409, and
    // the valid new event of the same request is not stored either.
    let before = app.table_counts().await;
    let changed = ev(
        "e1",
        "order.created",
        "s-1",
        "2026-10-01T10:00:00+08:00",
        json!({"order_id": "o1", "buyer_id": "b1", "amount_cents": 500, "item_id": "i1"}),
    );
    let fresh = ev(
        "e3",
        "order.paid",
        "s-1",
        "2026-10-01T10:06:00+08:00",
        json!({"order_id": "o3"}),
    );
    let (s, b) = app.post_events(&json!([fresh, changed])).await;
    assert_eq!(s, 409, "{b}");
    assert_eq!(b["error"]["details"][0]["index"], 1);
    assert_eq!(app.table_counts().await, before);
    // The same event id in another shop is another event.
    let other = ev(
        "e1",
        "order.paid",
        "s-2",
        "2026-10-01T10:00:00+08:00",
        json!({"order_id": "o1"}),
    );
    assert_eq!(app.post_events(&other).await.0, 200);
}

/// A stream with several events per entity, including same-kind repeats and ties.
pub(crate) fn stream() -> Vec<Value> {
    let mut out = Vec::new();
    for o in 0..20 {
        let s = if o % 2 == 0 { "s-a" } else { "s-b" };
        let id = |k: &str| format!("{k}-{o}");
        let day = 1 + o % 9;
        let t = |h: u32| format!("2026-10-{day:02}T{h:02}:00:00+08:00");
        out.push(ev(
            &id("c1"),
            "order.created",
            s,
            &t(8),
            json!({"order_id": format!("o{o}"), "buyer_id": "b1", "amount_cents": 1000 + o}),
        ));
        out.push(ev(
            &id("c2"),
            "order.created",
            s,
            &t(8),
            json!({"order_id": format!("o{o}"), "buyer_id": "b2", "amount_cents": 1}),
        ));
        out.push(ev(
            &id("s1"),
            "order.shipped",
            s,
            &t(12),
            json!({"order_id": format!("o{o}")}),
        ));
        out.push(ev(
            &id("s2"),
            "order.shipped",
            s,
            &t(10),
            json!({"order_id": format!("o{o}")}),
        ));
        out.push(ev(
            &id("x1"),
            "order.cancelled",
            s,
            &t(20),
            json!({"order_id": format!("o{o}"), "initiator": "buyer"}),
        ));
        out.push(ev(
            &id("x2"),
            "order.cancelled",
            s,
            &t(20),
            json!({"order_id": format!("o{o}"), "initiator": "seller"}),
        ));
        out.push(ev(
            &id("r1"),
            "order.reviewed",
            s,
            &t(21),
            json!({"order_id": format!("o{o}"), "buyer_id": "b1", "rating": "negative"}),
        ));
        out.push(ev(&id("r2"), "order.reviewed", s, &t(22), json!({"order_id": format!("o{o}"), "buyer_id": "b1", "rating": "positive",
                                                              "dsr": {"description": 5, "service": 5, "logistics": 5}})));
        out.push(ev(
            &id("k1"),
            "complaint.resolved",
            s,
            &t(23),
            json!({"complaint_id": format!("k{o}"), "outcome": "irregular"}),
        ));
        out.push(ev(
            &id("k2"),
            "complaint.opened",
            s,
            &t(9),
            json!({"complaint_id": format!("k{o}"), "category": "quality"}),
        ));
        out.push(ev(
            &id("f1"),
            "refund.completed",
            s,
            &t(15),
            json!({"refund_id": format!("r{o}")}),
        ));
        out.push(ev(
            &id("f2"),
            "refund.rejected",
            s,
            &t(14),
            json!({"refund_id": format!("r{o}")}),
        ));
        out.push(ev(&id("f3"), "refund.requested", s, &t(13), json!({"refund_id": format!("r{o}"), "order_id": format!("o{o}"), "reason": "other", "amount_cents": 5})));
    }
    out
}

pub(crate) async fn projections(app: &TestApp) -> Vec<String> {
    // Orders and conversations are folded when a recompute starts; fold them here.
    shopscore::ingest::fold_queued(&app.pool).await.unwrap();
    let mut out = Vec::new();
    for (t, key) in [
        ("orders", "shop_id, order_id"),
        ("reviews", "shop_id, order_id, event_id"),
        ("refunds", "shop_id, refund_id"),
        ("complaints", "shop_id, complaint_id"),
        ("shops", "shop_id"),
    ] {
        let cols = if t == "shops" {
            "shop_id, industry, (SELECT first_event_at FROM shop_first_event f WHERE f.shop_id = shops.shop_id)"
                .to_string()
        } else {
            "*".to_string()
        };
        let rows: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT row_to_json(x)::text FROM (SELECT {cols} FROM {t} ORDER BY {key}) x"
        ))
        .fetch_all(&app.pool)
        .await
        .unwrap();
        out.extend(rows);
    }
    out
}

#[tokio::test]
async fn a_shuffled_stream_gives_the_same_projections() {
    let ordered = TestApp::spawn().await;
    assert_eq!(ordered.post_events(&Value::Array(stream())).await.0, 200);
    let shuffled = TestApp::spawn().await;
    let mut events = stream();
    events.shuffle(&mut rand::rngs::StdRng::seed_from_u64(42));
    for chunk in events.chunks(7) {
        assert_eq!(
            shuffled.post_events(&Value::Array(chunk.to_vec())).await.0,
            200
        );
    }
    let (a, b) = (projections(&ordered).await, projections(&shuffled).await);
    assert!(!a.is_empty());
    assert_eq!(a, b);
    // Earliest wins: the earlier shipment and, at a tie, the smaller event id.
    let (shipped, initiator, buyer): (String, String, String) = sqlx::query_as(
        "SELECT to_char(shipped_at AT TIME ZONE 'Asia/Shanghai', 'HH24'), cancel_initiator, buyer_id FROM orders WHERE shop_id = 's-a' AND order_id = 'o0'",
    ).fetch_one(&shuffled.pool).await.unwrap();
    assert_eq!(
        (shipped.as_str(), initiator.as_str(), buyer.as_str()),
        ("10", "buyer", "b1")
    );
    // Rebuilding from the raw events gives the same projections again.
    let n = shopscore::ingest::project::rebuild(&shuffled.pool)
        .await
        .unwrap();
    assert_eq!(n, stream().len());
    assert_eq!(projections(&shuffled).await, a);
}

#[tokio::test]
async fn a_200_means_committed_and_ndjson_works() {
    let app = TestApp::spawn().await;
    let lines: String = one_of_each("s-9")
        .iter()
        .map(|e| format!("{e}\n"))
        .collect();
    let r = app
        .client
        .post(format!("{}/v1/events", app.base))
        .bearer_auth(&app.ingest)
        .header("content-type", "application/x-ndjson")
        .body(lines)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // A fresh connection, outside the server's pool, sees every row.
    let mut c = sqlx::PgConnection::connect(&app.db_url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE shop_id = 's-9'")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(n, 18);
}

#[tokio::test]
async fn shops_register_read_and_page() {
    let app = TestApp::spawn().await;
    let (s, b) = app
        .json(
            Method::PUT,
            "/v1/shops/shop-1",
            Some(&app.ingest),
            Some(&json!({"name": "One", "industry": "apparel", "platform": "tmall"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (
            b["shop_id"].as_str(),
            b["industry"].as_str(),
            b["first_event_at"].is_null()
        ),
        (Some("shop-1"), Some("apparel"), true)
    );
    // Every 422 names its field: a bad value, a missing field, an unknown one, a type.
    for (body, field) in [
        (json!({"industry": "Bad Industry"}), "industry"),
        (json!({"name": "x"}), "industry"),
        (json!({"industry": "toys", "colour": "red"}), "colour"),
        (json!({"industry": 5}), "industry"),
    ] {
        let (s, b) = app
            .json(
                Method::PUT,
                "/v1/shops/shop-1",
                Some(&app.ingest),
                Some(&body),
            )
            .await;
        assert_eq!(s, 422, "{body}: {b}");
        assert_eq!(b["error"]["details"][0]["field"], field, "{body}: {b}");
    }
    let r = app
        .client
        .put(format!("{}/v1/shops/shop-1", app.base))
        .bearer_auth(&app.ingest)
        .header("content-type", "application/json")
        .body("{\"industry\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400, "malformed JSON is a 400");
    for i in 2..=5 {
        app.put_shop(
            &format!("shop-{i}"),
            if i % 2 == 0 { "food" } else { "apparel" },
        )
        .await;
    }
    let (_, page1) = app
        .json(Method::GET, "/v1/shops?limit=2", Some(&app.ops), None)
        .await;
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = app
        .json(
            Method::GET,
            &format!("/v1/shops?limit=2&cursor={cursor}"),
            Some(&app.ops),
            None,
        )
        .await;
    assert_eq!(page2["items"][0]["shop_id"], "shop-3");
    let (_, food) = app
        .json(Method::GET, "/v1/shops?industry=food", Some(&app.ops), None)
        .await;
    let ids: Vec<&str> = food["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["shop_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        (ids, food["next_cursor"].is_null()),
        (vec!["shop-2", "shop-4"], true)
    );
    for q in ["limit=0", "limit=501", "cursor=%%%"] {
        let (s, b) = app
            .json(Method::GET, &format!("/v1/shops?{q}"), Some(&app.ops), None)
            .await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (400, Some("bad_request")),
            "{q}"
        );
    }
}

#[tokio::test]
async fn health_unknown_routes_and_methods_answer_with_the_error_body() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.json(Method::GET, "/healthz", None, None).await,
        (200, json!({"status": "ok"}))
    );
    assert_eq!(
        app.json(Method::GET, "/readyz", None, None).await,
        (200, json!({"status": "ready", "primary": "ok"}))
    );
    let (s, b) = app
        .json(Method::GET, "/v1/nowhere", Some(&app.ops), None)
        .await;
    assert_eq!((s, b["error"]["code"].as_str()), (404, Some("not_found")));
    let (s, b) = app
        .json(Method::PATCH, "/v1/events", Some(&app.ingest), None)
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    let r = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("shopscore_http_requests_total"));
    let r = app.call(Method::GET, "/healthz", None, None).await;
    assert!(r.headers().get("x-request-id").is_some());
    // `shopscore healthcheck` (the container's health check) agrees with /readyz.
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let wait = std::time::Duration::from_secs(2);
    assert!(shopscore::healthcheck::ready(addr, wait).await);
    // When the database goes away, readiness says so (and comes back with it).
    app.pool.close().await;
    assert_eq!(app.json(Method::GET, "/readyz", None, None).await.0, 503);
    assert!(!shopscore::healthcheck::ready(addr, wait).await);
}

/// Two requests racing with the same key and different content: exactly one lands, the
/// other is a 409 (the insert waits on the other transaction's key, then compares).
#[tokio::test]
async fn concurrent_conflicting_requests_store_exactly_one() {
    let app = TestApp::spawn().await;
    for round in 0..10 {
        let id = format!("race-{round}");
        let a = ev(
            &id,
            "order.paid",
            "s-1",
            "2026-10-01T10:00:00+08:00",
            json!({"order_id": format!("a{round}")}),
        );
        let b = ev(
            &id,
            "order.paid",
            "s-1",
            "2026-10-01T10:00:00+08:00",
            json!({"order_id": format!("b{round}")}),
        );
        let (ra, rb) = tokio::join!(app.post_events(&a), app.post_events(&b));
        let mut statuses = [ra.0, rb.0];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "round {round}: {ra:?} {rb:?}");
    }
    shopscore::ingest::fold_queued(&app.pool).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 10, "one order per round, never both");
}

/// `shopscore demo` can run again: the same options store nothing new, and a later end
/// repeats every event it had (duplicates, not conflicts) and adds the rest.
#[tokio::test]
async fn the_demo_marketplace_loads_again_as_duplicates() {
    use shopscore::demo::{run, DemoOptions};
    let app = TestApp::spawn().await;
    let policy = shopscore::policy::Policy::default_policy();
    let end: chrono::DateTime<chrono::Utc> = "2026-11-20T09:30:00Z".parse().unwrap();
    let now: chrono::DateTime<chrono::Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
    let opts = DemoOptions {
        shops: 3,
        days: 5,
        seed: 7,
        end,
    };
    let first = run(&app.pool, &policy, &opts, now, None).await.unwrap();
    assert!(first.events > 100, "{first:?}");
    assert_eq!((first.accepted, first.duplicates), (first.events, 0));
    assert_eq!(first.recompute.shops_scored, 3);
    let again = run(&app.pool, &policy, &opts, now, None).await.unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, first.events));
    // A day later, from the same first day: the first run's events come out again
    // exactly, plus the new ones (the rest of Nov 20, Nov 21, and the later steps of
    // earlier orders).
    let later = DemoOptions {
        end: end + chrono::Duration::days(1),
        days: opts.days + 1,
        ..opts
    };
    let more = run(&app.pool, &policy, &later, now, None).await.unwrap();
    assert_eq!(more.duplicates, first.events);
    assert_eq!(more.accepted, more.events - first.events);
    assert!(more.accepted > 0);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored as usize, more.events);
    // Nothing after `end` is generated.
    let last: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT max(occurred_at) FROM events")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(last <= later.end, "{last}");
}
