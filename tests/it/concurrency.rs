//! SPEC §5 ingest under many concurrent producers. Every response is a 200 (or, when
//! the server's own retries are spent, a 503 with Retry-After), never a 500; nothing is
//! stored twice or half; transient failures are retried inside the server.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};
use shopscore::config::HttpOpts;
use shopscore::policy::Policy;
use sqlx::{Connection, PgConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;

use crate::helpers::{ev, TestApp};
use crate::ingest::{projections, stream};

/// A marketplace with several shops and every kind of entity: the demo generator's
/// orders, reviews, refunds and chats, plus the ingest tests' stream with same-kind
/// repeats, ties and complaints.
fn marketplace() -> Vec<Value> {
    let mut events = shopscore::demo::generate(24, 12, 3, 7, chrono::Utc::now());
    events.extend(stream());
    events
}

/// The cards of every shop, without the one field that differs between two runs.
async fn cards(app: &TestApp) -> Vec<Value> {
    let shops: Vec<String> = sqlx::query_scalar("SELECT shop_id FROM shops ORDER BY shop_id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let mut out = Vec::new();
    for s in shops {
        let mut card = app.scorecard(&s).await;
        card.as_object_mut().unwrap().remove("computed_at");
        out.push(card);
    }
    out
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn eight_producers_with_overlaps_and_resends_store_every_event_once() {
    let events = marketplace();
    let unique = events.len();
    assert!(unique > 3000, "a real mix: {unique} events");

    // The reference: one producer, in order.
    let single = TestApp::spawn().await;
    for chunk in events.chunks(1000) {
        let (s, b) = single.post_events(&Value::Array(chunk.to_vec())).await;
        assert_eq!(s, 200, "{b}");
    }

    // Eight producers: the events shuffled into batches of 20-150 that span many shops,
    // each batch also carrying a few events of another batch (overlap), and one batch
    // in five queued twice in a row so that both copies are in flight together.
    let app = Arc::new(TestApp::spawn_full(Policy::default_policy(), HttpOpts::default(), 8).await);
    let mut rng = rand::rngs::StdRng::seed_from_u64(8);
    let mut shuffled = events.clone();
    shuffled.shuffle(&mut rng);
    let mut batches: Vec<Vec<Value>> = Vec::new();
    let mut rest = &shuffled[..];
    while !rest.is_empty() {
        let n = rng.gen_range(20..150).min(rest.len());
        batches.push(rest[..n].to_vec());
        rest = &rest[n..];
    }
    let mut queue: Vec<Vec<Value>> = Vec::new();
    for i in 0..batches.len() {
        // Overlap with a neighbour, which is in flight at the same time.
        let mut b = batches[i].clone();
        let other = &batches[(i + 1) % batches.len()];
        b.extend(other.iter().take(rng.gen_range(1..20)).cloned());
        b.shuffle(&mut rng);
        if rng.gen_bool(0.2) {
            let mut again = b.clone();
            again.shuffle(&mut rng);
            queue.push(again);
        }
        queue.push(b);
    }
    let posted: usize = queue.iter().map(Vec::len).sum();
    let requests = queue.len();
    let queue = Arc::new(Mutex::new(queue));
    let mut producers = Vec::new();
    for p in 0..8 {
        let (app, queue) = (app.clone(), queue.clone());
        producers.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            loop {
                let Some(batch) = queue.lock().await.pop() else {
                    break;
                };
                // Half the producers speak NDJSON.
                let r = if p % 2 == 0 {
                    app.post_events(&Value::Array(batch)).await
                } else {
                    let body: String = batch.iter().map(|e| format!("{e}\n")).collect();
                    let r = app
                        .client
                        .post(format!("{}/v1/events", app.base))
                        .bearer_auth(&app.ingest)
                        .header("content-type", "application/x-ndjson")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    let s = r.status().as_u16();
                    (s, r.json::<Value>().await.unwrap_or(Value::Null))
                };
                answers.push(r);
            }
            answers
        }));
    }
    let mut answers = Vec::new();
    for p in producers {
        answers.extend(p.await.unwrap());
    }
    assert_eq!(answers.len(), requests);
    let failures: Vec<_> = answers.iter().filter(|(s, _)| *s != 200).collect();
    assert!(
        failures.is_empty(),
        "{} of {requests} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    let accepted: u64 = answers
        .iter()
        .map(|(_, b)| b["accepted"].as_u64().unwrap())
        .sum();
    let duplicates: u64 = answers
        .iter()
        .map(|(_, b)| b["duplicates"].as_u64().unwrap())
        .sum();
    assert_eq!(
        accepted as usize, unique,
        "every event accepted exactly once"
    );
    assert_eq!(
        (accepted + duplicates) as usize,
        posted,
        "every posted event counted once"
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM events").await as usize,
        unique
    );

    // The same projections and, after a recompute at one instant, the same cards.
    assert_eq!(projections(&app).await, projections(&single).await);
    let as_of = chrono::Utc::now().to_rfc3339();
    single.recompute(&as_of).await;
    app.recompute(&as_of).await;
    let (a, b) = (cards(&single).await, cards(&app).await);
    assert_eq!(a.len(), 26);
    assert_eq!(a, b);
}

/// Two requests at once over the same 400 orders of 40 shops, one in the reverse order
/// of the other, each round: with no retries allowed, any deadlock would surface as a
/// 503. Locks are taken in key order, so none happens.
#[tokio::test]
async fn mirrored_batches_never_deadlock() {
    let http = HttpOpts {
        db_attempts: 1,
        ..HttpOpts::default()
    };
    let app = Arc::new(TestApp::spawn_full(Policy::default_policy(), http, 8).await);
    for round in 0..6 {
        let mut forward = Vec::new();
        for o in 0..400 {
            let shop = format!("m-{}", o % 40);
            let data = json!({"order_id": format!("o{o}")});
            let kinds = ["order.paid", "order.shipped", "order.delivered"];
            for (k, kind) in kinds.iter().enumerate() {
                let at = format!("2026-10-0{}T1{k}:00:00+08:00", 1 + round % 5);
                forward.push(ev(
                    &format!("r{round}-{o}-{k}"),
                    kind,
                    &shop,
                    &at,
                    data.clone(),
                ));
            }
        }
        let mut backward = forward.clone();
        backward.reverse();
        // The backward copy shares every key: each event lands once, the rest are duplicates.
        let (a, b) = {
            let (x, y) = (app.clone(), app.clone());
            tokio::join!(
                async move { x.post_events(&Value::Array(forward)).await },
                async move { y.post_events(&Value::Array(backward)).await }
            )
        };
        assert_eq!((a.0, b.0), (200, 200), "round {round}: {a:?} {b:?}");
        let total = a.1["accepted"].as_u64().unwrap() + b.1["accepted"].as_u64().unwrap();
        assert_eq!(total, 1200, "round {round}");
    }
}

/// The server's backend for the app's database that is waiting on a lock.
async fn wait_for_blocked_backend(probe: &mut PgConnection, db: &str) -> i32 {
    for _ in 0..500 {
        let pid: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity
             WHERE datname = $1 AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
        )
        .bind(db)
        .fetch_optional(&mut *probe)
        .await
        .unwrap();
        if let Some(pid) = pid {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the ingest request never blocked");
}

fn db_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

async fn retries(app: &TestApp, reason: &str) -> f64 {
    let (_, text) = {
        let r = app.call(Method::GET, "/metrics", None, None).await;
        (r.status(), r.text().await.unwrap())
    };
    text.lines()
        .filter(|l| {
            l.starts_with("shopscore_db_retries_total")
                && l.contains(&format!("reason=\"{reason}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Terminates the connection of the request that waits on a lock (as a failover or an
/// administrator would).
async fn terminate_blocked_backend(app: &TestApp) {
    let mut probe = PgConnection::connect(&app.db_url).await.unwrap();
    let pid = wait_for_blocked_backend(&mut probe, db_name(&app.db_url)).await;
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&mut probe)
        .await
        .unwrap();
}

/// The request answered 200 with its one event accepted, and the server counted a
/// retry for `reason`.
async fn landed_after_a_retry(
    app: &TestApp,
    (status, body): (u16, Value),
    reason: &str,
    before: f64,
) {
    assert_eq!(
        (status, body.clone()),
        (200, json!({"accepted": 1, "duplicates": 0})),
        "{body}"
    );
    assert!(
        retries(app, reason).await >= before + 1.0,
        "no {reason} retry counted"
    );
}

fn paid(id: &str) -> Value {
    ev(
        id,
        "order.paid",
        "s-1",
        "2026-10-02T10:00:00+08:00",
        json!({"order_id": "o-1"}),
    )
}

/// Refund r-1 of shop s-1 completed: an ingest that updates r-1's row.
fn completed(id: &str) -> Value {
    ev(
        id,
        "refund.completed",
        "s-1",
        "2026-10-02T10:00:00+08:00",
        json!({"refund_id": "r-1"}),
    )
}

/// Sets up shop s-1 with refund r-1, and a second connection that holds r-1's row lock,
/// so that an ingest touching r-1 blocks inside its transaction. (Refunds are updated
/// in place by ingest; orders are not, since their events are appended and folded.)
async fn lock_refund(app: &TestApp) -> PgConnection {
    let requested = ev(
        "rq-1",
        "refund.requested",
        "s-1",
        "2026-10-01T10:00:00+08:00",
        json!({"refund_id": "r-1", "order_id": "o-1", "reason": "quality", "amount_cents": 100}),
    );
    assert_eq!(app.post_events(&requested).await.0, 200);
    hold_rows(
        app,
        "SELECT 1 FROM refunds WHERE shop_id = 's-1' AND refund_id = 'r-1' FOR UPDATE",
    )
    .await
}

/// A connection of its own with a transaction open that has locked the rows `select`
/// (a `SELECT … FOR UPDATE`) names, until it commits or rolls back.
async fn hold_rows(app: &TestApp, select: &str) -> PgConnection {
    let mut blocker = PgConnection::connect(&app.db_url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query(select).execute(&mut blocker).await.unwrap();
    blocker
}

/// Batches that share an order do not wait for each other: ingest appends order events
/// and never locks an order row. A transaction holding o-1's row does not hold up an
/// ingest of o-1's next event; the fold (when a recompute starts) brings the row up to
/// date once the lock is gone.
#[tokio::test]
async fn an_ingest_never_waits_on_an_order_row() {
    let app = TestApp::spawn().await;
    let created = ev(
        "c-1",
        "order.created",
        "s-1",
        "2026-10-01T10:00:00+08:00",
        json!({"order_id": "o-1", "buyer_id": "b-1", "amount_cents": 100}),
    );
    assert_eq!(app.post_events(&created).await.0, 200);
    shopscore::ingest::fold_queued(&app.pool).await.unwrap();
    let mut blocker = hold_rows(
        &app,
        "SELECT 1 FROM orders WHERE shop_id = 's-1' AND order_id = 'o-1' FOR UPDATE",
    )
    .await;
    let answer = tokio::time::timeout(Duration::from_secs(5), app.post_events(&paid("p-0"))).await;
    assert_eq!(
        answer.expect("the ingest waited on the order row"),
        (200, json!({"accepted": 1, "duplicates": 0}))
    );
    sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
    assert_eq!(
        shopscore::ingest::fold_queued(&app.pool)
            .await
            .unwrap()
            .orders,
        1
    );
    let row: (Option<String>, String, bool) = sqlx::query_as(
        "SELECT to_char(paid_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24'), buyer_id, created_at IS NOT NULL
         FROM orders WHERE order_id = 'o-1'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(row, (Some("10-02 10".into()), "b-1".into(), true));
    // Nothing left to fold.
    assert_eq!(
        shopscore::ingest::fold_queued(&app.pool)
            .await
            .unwrap()
            .orders,
        0
    );
}

/// A real deadlock between an ingest request and another transaction: Postgres aborts
/// the request's transaction (40P01); the server retries it and answers 200.
#[tokio::test]
async fn a_deadlocked_ingest_is_retried_and_lands_once() {
    let app = Arc::new(TestApp::spawn().await);
    let before = retries(&app, "deadlock").await;
    let mut blocker = lock_refund(&app).await;
    // The blocker must not be the one Postgres picks: it checks for cycles much later.
    sqlx::query("SET deadlock_timeout = '60s'")
        .execute(&mut blocker)
        .await
        .unwrap();
    let request = {
        let app = app.clone();
        tokio::spawn(async move { app.post_events(&completed("p-1")).await })
    };
    // The request has inserted event p-1 and waits for r-1. Now the blocker inserts the
    // same event key, waiting for the request: a cycle, broken by aborting the request.
    let mut probe = PgConnection::connect(&app.db_url).await.unwrap();
    wait_for_blocked_backend(&mut probe, db_name(&app.db_url)).await;
    let insert = sqlx::query(
        "INSERT INTO events (shop_id, event_id, type, occurred_at, data, content_hash)
         VALUES ('s-1', 'p-1', 'refund.completed', now(), '{\"refund_id\": \"other\"}', '\\x00')
         ON CONFLICT DO NOTHING",
    )
    .execute(&mut blocker)
    .await;
    assert!(insert.is_ok(), "{insert:?}");
    // The blocker's insert went through once the request's attempt was aborted; undo it
    // all and let the retry proceed.
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    landed_after_a_retry(&app, request.await.unwrap(), "deadlock", before).await;
    let stored: Vec<(String, Value)> =
        sqlx::query_as("SELECT event_id, data FROM events WHERE event_id = 'p-1'")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        stored,
        vec![("p-1".to_string(), json!({"refund_id": "r-1"}))]
    );
    let completed_at: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT completed_at FROM refunds WHERE refund_id = 'r-1'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(completed_at.is_some());
}

/// The request's connection is terminated while its transaction waits: the server
/// retries on a new connection and answers 200; the event is stored once.
#[tokio::test]
async fn a_connection_lost_mid_request_is_retried() {
    let app = Arc::new(TestApp::spawn().await);
    let before = retries(&app, "connection_lost").await;
    let mut blocker = lock_refund(&app).await;
    let request = {
        let app = app.clone();
        tokio::spawn(async move { app.post_events(&completed("p-2")).await })
    };
    terminate_blocked_backend(&app).await;
    // Let the retry start (and block again), then release the lock.
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
    landed_after_a_retry(&app, request.await.unwrap(), "connection_lost", before).await;
    assert_eq!(
        count(&app, "SELECT count(*) FROM events WHERE event_id = 'p-2'").await,
        1
    );
}

/// With no attempts left, a lost connection is a 503 with Retry-After, never a 500,
/// and nothing of the batch is stored.
#[tokio::test]
async fn retries_exhausted_is_a_503_and_stores_nothing() {
    let http = HttpOpts {
        db_attempts: 1,
        ..HttpOpts::default()
    };
    let app = Arc::new(TestApp::spawn_with(Policy::default_policy(), http).await);
    let mut blocker = lock_refund(&app).await;
    let before = app.table_counts().await;
    let request = {
        let app = app.clone();
        tokio::spawn(async move {
            let batch = json!([
                completed("p-3"),
                ev(
                    "n-1",
                    "order.created",
                    "s-2",
                    "2026-10-01T10:00:00+08:00",
                    json!({"order_id": "o-9", "buyer_id": "b", "amount_cents": 1})
                )
            ]);
            let r = app
                .call(Method::POST, "/v1/events", Some(&app.ingest), Some(&batch))
                .await;
            let retry_after = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            (
                r.status().as_u16(),
                retry_after,
                r.json::<Value>().await.unwrap(),
            )
        })
    };
    terminate_blocked_backend(&app).await;
    let (status, retry_after, body) = request.await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(body["error"]["code"], "unavailable");
    sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
    assert_eq!(app.table_counts().await, before, "nothing half-stored");
}

/// Sends the head of a request and part of its body, and keeps the connection open:
/// the server has reserved the declared length in its ingest budget.
async fn hold_a_request(app: &TestApp, declared: usize, start: &[u8]) -> tokio::net::TcpStream {
    let addr = app.base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\n\
         content-type: application/x-ndjson\r\ncontent-length: {declared}\r\n\r\n",
        app.ingest
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(start).await.unwrap();
    s
}

/// The memory budget: while bodies worth the whole budget are being read, another
/// request waits, then gets 503 with Retry-After; once they are done, it gets in.
#[tokio::test]
async fn the_ingest_budget_turns_excess_requests_away_with_503() {
    let http = HttpOpts {
        ingest_budget_mb: 1,
        ingest_wait: 1,
        ..HttpOpts::default()
    };
    let app = TestApp::spawn_with(Policy::default_policy(), http).await;
    let held = hold_a_request(&app, 1024 * 1024, b"{").await;
    // Let the server read the head and reserve.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let started = std::time::Instant::now();
    let r = app
        .call(
            Method::POST,
            "/v1/events",
            Some(&app.ingest),
            Some(&paid("p-4")),
        )
        .await;
    assert_eq!(r.status().as_u16(), 503);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "it waited for room first"
    );
    assert_eq!(r.headers()["retry-after"], "1");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
    assert!(body["error"]["message"].as_str().unwrap().contains("retry"));
    // The held request ends (the client goes away): its room is freed.
    drop(held);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (s, b) = app.post_events(&paid("p-4")).await;
    assert_eq!((s, b), (200, json!({"accepted": 1, "duplicates": 0})));
}

/// A producer that finishes its held body gets its answer: the budget waits, it does
/// not drop requests that have room.
#[tokio::test]
async fn a_request_waiting_for_room_gets_in_when_room_frees() {
    let http = HttpOpts {
        ingest_budget_mb: 1,
        ingest_wait: 10,
        ..HttpOpts::default()
    };
    let app = Arc::new(TestApp::spawn_with(Policy::default_policy(), http).await);
    let body = format!("{}\n", paid("p-5"));
    let (start, rest) = body.as_bytes().split_at(5);
    let mut held = hold_a_request(&app, 1024 * 1024, start).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let waiting = {
        let app = app.clone();
        tokio::spawn(async move { app.post_events(&paid("p-6")).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "no room yet");
    // Finish the held body: the rest of its first line, then padding to the length.
    let pad = 1024 * 1024 - body.len();
    held.write_all(rest).await.unwrap();
    held.write_all(&vec![b'\n'; pad]).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = held.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let (s, b) = waiting.await.unwrap();
    assert_eq!((s, b), (200, json!({"accepted": 1, "duplicates": 0})));
    let ids: HashSet<String> = sqlx::query_scalar("SELECT event_id FROM events")
        .fetch_all(&app.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(ids, ["p-5", "p-6"].into_iter().map(String::from).collect());
}

/// A batch appends one mark naming its shops; a recompute of some of them takes just
/// those out of the marks it read, and a mark with no shop left is removed.
#[tokio::test]
async fn a_partial_recompute_clears_only_its_shops_from_the_marks() {
    let app = TestApp::spawn().await;
    let batch = json!([
        paid("p-7"),
        ev(
            "q-1",
            "order.paid",
            "s-2",
            "2026-10-02T10:00:00+08:00",
            json!({"order_id": "o-2"})
        )
    ]);
    assert_eq!(app.post_events(&batch).await.0, 200);
    let marks = || async {
        sqlx::query_scalar::<_, Vec<String>>("SELECT shop_ids FROM dirty_marks ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap()
    };
    let mut first = marks().await;
    first[0].sort();
    assert_eq!(first, vec![vec!["s-1".to_string(), "s-2".to_string()]]);
    let (s, b) = app
        .json(
            Method::POST,
            "/v1/recompute",
            Some(&app.ops),
            Some(&json!({"as_of": "2026-10-05T00:00:00+08:00", "shop_ids": ["s-1"]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(marks().await, vec![vec!["s-2".to_string()]]);
    app.recompute("2026-10-05T00:00:00+08:00").await;
    assert!(marks().await.is_empty());
}

/// Text is checked before it reaches SQL (`crate::text`): a NUL or another control
/// character in a body field or query parameter is a 422 naming the field, a path id
/// that cannot exist is a 404, and nothing is stored. Repeated and malformed query
/// parameters are a 400 written for the client.
#[tokio::test]
async fn hostile_text_gets_a_4xx_naming_the_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let before = app.table_counts().await;
    let flagged = ev(
        "n-1",
        "integrity.flagged",
        "s-1",
        "2026-10-01T10:00:00+08:00",
        json!({"kind": "other", "note": "a\u{0}b"}),
    );
    let field = |b: &Value| b["error"]["details"][0]["field"].as_str().map(String::from);
    let (s, b) = app.post_events(&flagged).await;
    assert_eq!((s, field(&b)), (422, Some("data.note".into())), "{b}");
    let bodies = [
        (
            Method::PUT,
            "/v1/shops/s-1",
            &app.ingest,
            json!({"name": "a\u{0}b", "industry": "apparel"}),
            "name",
        ),
        (
            Method::PUT,
            "/v1/shops/s-1",
            &app.ingest,
            json!({"platform": "a\u{1b}[31m", "industry": "apparel"}),
            "platform",
        ),
        (
            Method::PUT,
            "/v1/shops/s%001",
            &app.ingest,
            json!({"industry": "apparel"}),
            "shop_id",
        ),
        (
            Method::POST,
            "/v1/keys",
            &app.admin,
            json!({"role": "ops", "name": "a\u{0}b"}),
            "name",
        ),
        (
            Method::POST,
            "/v1/keys",
            &app.admin,
            json!({"role": "ops", "name": "k".repeat(201)}),
            "name",
        ),
    ];
    for (method, path, key, body, want) in bodies {
        let (s, b) = app.json(method.clone(), path, Some(key), Some(&body)).await;
        assert_eq!(
            (s, field(&b)),
            (422, Some(want.to_string())),
            "{method} {path}: {b}"
        );
    }
    for path in [
        "/v1/shops?industry=a%00b",
        "/v1/cs-tiers?industry=a%00b",
        "/v1/jobs?kind=a%07",
    ] {
        let (s, b) = app.json(Method::GET, path, Some(&app.admin), None).await;
        assert_eq!(s, 422, "{path}: {b}");
        assert_eq!(
            b["error"]["details"][0]["message"]
                .as_str()
                .map(|m| m.starts_with("must not contain")),
            Some(true),
            "{b}"
        );
    }
    let merchant = app.merchant(&["s-1"]).await;
    for (path, key) in [
        ("/v1/shops/a%00b", &app.admin),
        ("/v1/shops/a%00b/scorecard", &app.admin),
        ("/v1/shops/a%00b/history", &app.admin),
        ("/v1/shops/%ff%fe", &app.admin),
        ("/v1/industries/a%00b/benchmarks", &merchant),
        ("/v1/industries/Toys/benchmarks", &app.ops),
    ] {
        let (s, b) = app.json(Method::GET, path, Some(key), None).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{path}: {b}"
        );
    }
    let (s, _) = app
        .json(Method::DELETE, "/v1/keys/a%00b", Some(&app.admin), None)
        .await;
    assert_eq!(s, 404);
    for (path, message) in [
        (
            "/v1/keys?limit=abc",
            "limit must be a whole number from 1 to 500",
        ),
        (
            "/v1/keys?limit=1&limit=2",
            "query parameter \"limit\" is given more than once",
        ),
        (
            "/v1/shops?cursor=%%%",
            "cursor is not one this API returned",
        ),
    ] {
        let (s, b) = app.json(Method::GET, path, Some(&app.admin), None).await;
        assert_eq!(
            (s, b["error"]["message"].as_str()),
            (400, Some(message)),
            "{path}: {b}"
        );
    }
    // Framework rejections come back with messages written for the client.
    let r = app
        .call(Method::PATCH, "/v1/shops/s-1", Some(&app.admin), None)
        .await;
    assert_eq!(r.status(), 405);
    assert!(r.headers().get("allow").is_some());
    let b: Value = r.json().await.unwrap();
    assert_eq!(
        b["error"]["message"],
        "this method is not allowed on this path; the Allow header lists those that are"
    );
    let big = json!({"industry": "apparel", "name": "x".repeat(70 * 1024)});
    let (s, b) = app
        .json(Method::PUT, "/v1/shops/s-1", Some(&app.ingest), Some(&big))
        .await;
    assert_eq!(
        (s, b["error"]["message"].as_str()),
        (413, Some("the body is larger than this operation accepts"))
    );
    assert_eq!(app.table_counts().await, before);
}

/// SPEC §1: `as_of` outside 2000-01-01 (local) .. now + 366 days is a 422 naming the
/// field, and a recompute so refused writes nothing.
#[tokio::test]
async fn as_of_out_of_range_is_a_422_and_writes_nothing() {
    let app = TestApp::spawn().await;
    assert_eq!(app.post_events(&paid("p-9")).await.0, 200);
    for as_of in [
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
        "1999-12-31T15:59:59Z",
    ] {
        let (s, b) = app
            .json(
                Method::POST,
                "/v1/recompute",
                Some(&app.ops),
                Some(&json!({"as_of": as_of})),
            )
            .await;
        assert_eq!(
            (s, b["error"]["details"][0]["field"].as_str()),
            (422, Some("as_of")),
            "{as_of}: {b}"
        );
        let (s, _) = app
            .json(
                Method::GET,
                &format!(
                    "/v1/shops/s-1/scorecard?as_of={}",
                    as_of.replace('+', "%2B")
                ),
                Some(&app.ops),
                None,
            )
            .await;
        assert_eq!(s, 422, "?as_of={as_of}");
    }
    let (s, b) = app
        .json(
            Method::GET,
            "/v1/shops/s-1/history?from=1990-01-01T00:00:00Z",
            Some(&app.ops),
            None,
        )
        .await;
    assert_eq!(
        (s, b["error"]["details"][0]["field"].as_str()),
        (422, Some("from"))
    );
    assert_eq!(count(&app, "SELECT count(*) FROM scorecards").await, 0);
    // The first accepted instant: local midnight of 2000-01-01.
    app.recompute("2000-01-01T00:00:00+08:00").await;
}
