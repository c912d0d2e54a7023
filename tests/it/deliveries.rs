//! Webhook deliveries (issue 25) to a real receiver (a small HTTP server in the test):
//! a recompute's grade change arrives signed, once; a receiver answering 500 gets it on
//! retry; 410 disables the endpoint; a dead receiver gets its endpoint disabled after
//! the span, on a fake clock, and that is itself emitted; two workers never send one
//! attempt twice; Postgres stopped mid-delivery and a replica killed mid-delivery lose
//! nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use shopscore::clock::{Clock, FakeClock};
use shopscore::config::HttpOpts;
use shopscore::policy::Policy;
use shopscore::webhook::endpoints::EventType;
use shopscore::webhook::outbox::{self, Event};
use shopscore::webhook::signature::{decode_secret, verify};
use shopscore::webhook::worker::{Worker, WorkerOpts};
use sqlx::PgPool;

use crate::helpers::{eventually, free_port, reviewed_order, Replica, TestApp};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: String,
}

/// A receiver: answers each request with the next scripted `(status, delay)`, then 200
/// at once; records every request as it arrives.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<(u16, Duration)>>>,
}

impl Receiver {
    pub async fn start(script: Vec<(u16, Duration)>) -> Receiver {
        let got = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let (g, s) = (got.clone(), script.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let (g, s) = (g.clone(), s.clone());
                async move {
                    let h = |name: &str| {
                        (headers.get(name))
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    g.lock().unwrap().push(Received {
                        id: h("webhook-id"),
                        timestamp: h("webhook-timestamp").parse().unwrap_or(0),
                        signature: h("webhook-signature"),
                        body,
                    });
                    let next = s.lock().unwrap().pop_front();
                    let (status, delay) = next.unwrap_or((200, Duration::ZERO));
                    tokio::time::sleep(delay).await;
                    (
                        axum::http::StatusCode::from_u16(status).unwrap(),
                        format!("answer {status}"),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, got, script }
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

fn opts() -> HttpOpts {
    HttpOpts {
        webhook_allow_private: true,
        ..HttpOpts::default()
    }
}

fn worker(pool: &PgPool, clock: Arc<FakeClock>, timeout: Duration) -> Worker {
    worker_with(pool, clock, timeout, false)
}

fn worker_with(
    pool: &PgPool,
    clock: Arc<FakeClock>,
    timeout: Duration,
    refuse_private: bool,
) -> Worker {
    Worker::new(
        pool.clone(),
        clock,
        WorkerOpts {
            timeout,
            disable_after: Duration::from_secs(5 * 24 * 3600),
            tz: chrono_tz::Asia::Shanghai,
            refuse_private,
        },
    )
}

/// Creates an endpoint; its id and secret.
async fn endpoint(app: &TestApp, body: Value) -> (String, String) {
    let (s, made) = app
        .json(
            Method::POST,
            "/v1/webhooks/endpoints",
            Some(&app.admin),
            Some(&body),
        )
        .await;
    assert_eq!(s, 200, "{made}");
    (
        made["id"].as_str().unwrap().to_string(),
        made["secret"].as_str().unwrap().to_string(),
    )
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

const AS_OF_1: &str = "2026-10-10T00:00:00+08:00";
const AS_OF_2: &str = "2026-10-20T00:00:00+08:00";

#[tokio::test]
async fn a_credit_level_change_reaches_the_receiver_signed_once() {
    let app = TestApp::spawn_with(Policy::default_policy(), opts()).await;
    let receiver = Receiver::start(vec![]).await;
    let (ep, secret) = endpoint(
        &app,
        json!({"url": receiver.url, "event_types": ["credit_level.changed"], "shop_ids": ["s1"]}),
    )
    .await;
    // Another shop's change is not this endpoint's.
    let mut events = Vec::new();
    for i in 0..3 {
        events.extend(reviewed_order(
            "s1",
            &format!("a{i}"),
            "2026-10-01T10:00:00+08:00",
        ));
        events.extend(reviewed_order(
            "s2",
            &format!("b{i}"),
            "2026-10-01T10:00:00+08:00",
        ));
    }
    app.post_ok(events).await;
    // The first card of a shop sets its standing: 3 points, level 0, no event.
    app.recompute(AS_OF_1).await;
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM webhook_events").await,
        0
    );
    let mut more = reviewed_order("s1", "a3", "2026-10-12T10:00:00+08:00");
    more.extend(reviewed_order("s2", "b3", "2026-10-12T10:00:00+08:00"));
    app.post_ok(more).await;
    app.recompute(AS_OF_2).await;
    let run_id: i64 = count(&app.pool, "SELECT max(id) FROM job_runs").await;

    // Both shops reached 4 points (level 1); only s1's event is the endpoint's.
    assert_eq!(
        count(
            &app.pool,
            "SELECT count(*) FROM webhook_events WHERE event_type = 'credit_level.changed'"
        )
        .await,
        2
    );
    let clock = FakeClock::at(Utc::now() + chrono::Duration::seconds(1));
    let w = worker(&app.pool, clock.clone(), Duration::from_secs(5));
    assert_eq!(w.pass().await.unwrap(), 1);
    assert_eq!(w.pass().await.unwrap(), 0, "delivered once");
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    let key = decode_secret(&secret).unwrap();
    assert!(verify(
        &key,
        &r.id,
        r.timestamp,
        r.body.as_bytes(),
        &r.signature
    ));
    assert!(!verify(
        &key,
        &r.id,
        r.timestamp + 1,
        r.body.as_bytes(),
        &r.signature
    ));
    assert_eq!(r.timestamp, clock.now().timestamp());
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["id"], r.id.as_str());
    assert_eq!(body["type"], "credit_level.changed");
    assert_eq!(
        body["data"],
        json!({"shop_id": "s1", "as_of": AS_OF_2, "run_id": run_id,
               "before": {"index": 0, "tier": "none", "rank": 0},
               "after": {"index": 1, "tier": "heart", "rank": 1}})
    );

    // Re-running the same as_of emits nothing new; a look-back emits nothing.
    let events_before = count(&app.pool, "SELECT count(*) FROM webhook_events").await;
    app.recompute(AS_OF_2).await;
    app.recompute(AS_OF_1).await;
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM webhook_events").await,
        events_before
    );
    assert_eq!(w.pass().await.unwrap(), 0);

    // Ops see the message delivered, with its one attempt.
    let (s, list) = app
        .json(
            Method::GET,
            &format!("/v1/webhooks/endpoints/{ep}/messages"),
            Some(&app.ops),
            None,
        )
        .await;
    assert_eq!(s, 200, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (&items[0]["id"], &items[0]["status"]),
        (&json!(r.id), &json!("delivered"))
    );
    assert_eq!(items[0]["payload"], body);
    let attempts_path = format!("/v1/webhooks/endpoints/{ep}/messages/{}/attempts", r.id);
    let (s, attempts) = app
        .json(Method::GET, &attempts_path, Some(&app.ops), None)
        .await;
    assert_eq!(s, 200, "{attempts}");
    assert_eq!(attempts.as_array().unwrap().len(), 1);
    assert_eq!(
        (
            &attempts[0]["attempt"],
            &attempts[0]["outcome"],
            &attempts[0]["status_code"],
            &attempts[0]["response"]
        ),
        (
            &json!(1),
            &json!("delivered"),
            &json!(200),
            &json!("answer 200")
        )
    );

    // Resend: the same message again, same id, a second attempt.
    let resend = format!("/v1/webhooks/endpoints/{ep}/messages/{}/resend", r.id);
    let (s, again) = app
        .json(Method::POST, &resend, Some(&app.admin), None)
        .await;
    assert_eq!((s, &again["status"]), (200, &json!("pending")), "{again}");
    let (s, _) = app.json(Method::POST, &resend, Some(&app.ops), None).await;
    assert_eq!(s, 403, "ops read, admins send");
    assert_eq!(w.pass().await.unwrap(), 1);
    let got = receiver.received();
    assert_eq!((got.len(), &got[1].id, &got[1].body), (2, &r.id, &r.body));
    let missing = format!("/v1/webhooks/endpoints/{ep}/messages/msg_none/resend");
    assert_eq!(
        app.json(Method::POST, &missing, Some(&app.admin), None)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn a_receiver_answering_500_gets_it_on_retry_and_410_disables_the_endpoint() {
    let app = TestApp::spawn_with(Policy::default_policy(), opts()).await;
    let receiver = Receiver::start(vec![(500, Duration::ZERO), (503, Duration::ZERO)]).await;
    let (ep, _) = endpoint(&app, json!({"url": receiver.url})).await;
    let t0 = Utc::now();
    let clock = FakeClock::at(t0);
    let w = worker(&app.pool, clock.clone(), Duration::from_secs(5));
    let mut conn = app.pool.acquire().await.unwrap();
    let event = shop_event("s1", 1);
    outbox::insert(&mut conn, std::slice::from_ref(&event), None, None, t0)
        .await
        .unwrap();

    // 500: tried again after 5 s ± 10 %, not before.
    assert_eq!(w.pass().await.unwrap(), 1);
    let due = next_due(&app.pool, &ep).await;
    let wait = (due - t0).num_milliseconds();
    assert!((4500..=5500).contains(&wait), "{wait} ms");
    clock.set(t0 + chrono::Duration::milliseconds(4400));
    assert_eq!(w.pass().await.unwrap(), 0);
    // 503: after 5 min ± 10 %; then 200.
    clock.set(due);
    assert_eq!(w.pass().await.unwrap(), 1);
    let due = next_due(&app.pool, &ep).await;
    let wait = (due - clock.now()).num_seconds();
    assert!((270..=330).contains(&wait), "{wait} s");
    clock.set(due);
    assert_eq!(w.pass().await.unwrap(), 1);
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter().all(|r| r.id == event.id),
        "one webhook-id on every retry"
    );
    let statuses: Vec<(i32, Option<i32>)> = sqlx::query_as(
        "SELECT attempt, status_code FROM webhook_attempts WHERE endpoint_id = $1 ORDER BY id",
    )
    .bind(&ep)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        statuses,
        vec![(1, Some(500)), (2, Some(503)), (3, Some(200))]
    );

    // 410 disables the endpoint at once and the message fails for good; a watcher of
    // endpoint.disabled is told.
    let watcher = Receiver::start(vec![]).await;
    endpoint(
        &app,
        json!({"url": watcher.url, "event_types": ["endpoint.disabled"]}),
    )
    .await;
    receiver
        .script
        .lock()
        .unwrap()
        .push_back((410, Duration::ZERO));
    outbox::insert(&mut conn, &[shop_event("s1", 2)], None, None, clock.now())
        .await
        .unwrap();
    assert_eq!(w.pass().await.unwrap(), 1);
    let (s, got) = app
        .json(
            Method::GET,
            &format!("/v1/webhooks/endpoints/{ep}"),
            Some(&app.ops),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (&got["enabled"], &got["disabled_reason"]),
        (&json!(false), &json!("gone"))
    );
    assert_eq!(
        w.pass().await.unwrap(),
        1,
        "the watcher's endpoint.disabled"
    );
    let told: Value = serde_json::from_str(&watcher.received()[0].body).unwrap();
    assert_eq!(told["type"], "endpoint.disabled");
    assert_eq!(told["data"], json!({"endpoint_id": ep, "reason": "gone"}));
    // A disabled endpoint gets nothing; turned on again and recovered, it gets what
    // failed.
    outbox::insert(&mut conn, &[shop_event("s1", 3)], None, None, clock.now())
        .await
        .unwrap();
    assert_eq!(w.pass().await.unwrap(), 0);
    let (s, _) = app
        .json(
            Method::PATCH,
            &format!("/v1/webhooks/endpoints/{ep}"),
            Some(&app.admin),
            Some(&json!({"enabled": true})),
        )
        .await;
    assert_eq!(s, 200);
    let recover = format!("/v1/webhooks/endpoints/{ep}/recover");
    let (s, bad) = app
        .json(
            Method::POST,
            &recover,
            Some(&app.admin),
            Some(&json!({"since": "yesterday"})),
        )
        .await;
    assert_eq!(
        (s, &bad["error"]["details"][0]["field"]),
        (422, &json!("since"))
    );
    let since = (t0 - chrono::Duration::hours(1)).to_rfc3339();
    let (s, n) = app
        .json(
            Method::POST,
            &recover,
            Some(&app.admin),
            Some(&json!({"since": since})),
        )
        .await;
    // The 410'd message, and the event written while disabled (and the watcher's
    // endpoint.disabled, which this endpoint wants too: every type).
    assert_eq!((s, &n["messages"]), (200, &json!(3)), "{n}");
    assert_eq!(w.pass().await.unwrap(), 3);
}

/// A made-up shop event (the outbox takes any).
fn shop_event(shop: &str, n: u32) -> Event {
    let id = format!("msg_test_{shop}_{n}");
    Event {
        payload: json!({"id": id, "type": "stars.changed", "data": {"shop_id": shop, "n": n}})
            .to_string(),
        id,
        event_type: EventType::StarsChanged,
        shop_id: Some(shop.to_string()),
    }
}

/// An endpoint stored while private targets were allowed, by address or by a name
/// that resolves to loopback, is sent nothing by a worker that refuses them; each
/// attempt says why.
#[tokio::test]
async fn a_worker_refusing_private_targets_sends_nothing_there() {
    let app = TestApp::spawn_with(Policy::default_policy(), opts()).await;
    let receiver = Receiver::start(vec![]).await;
    let (by_address, _) = endpoint(&app, json!({"url": receiver.url})).await;
    let by_name_url = receiver.url.replace("127.0.0.1", "localhost");
    let (by_name, _) = endpoint(&app, json!({"url": by_name_url})).await;
    let clock = FakeClock::at(Utc::now());
    let mut conn = app.pool.acquire().await.unwrap();
    outbox::insert(&mut conn, &[shop_event("s1", 1)], None, None, clock.now())
        .await
        .unwrap();
    let w = worker_with(&app.pool, clock.clone(), Duration::from_secs(5), true);
    assert_eq!(w.pass().await.unwrap(), 2);
    assert!(receiver.received().is_empty());
    for ep in [&by_address, &by_name] {
        let why: String = sqlx::query_scalar(
            "SELECT response FROM webhook_attempts WHERE endpoint_id = $1 AND status_code IS NULL",
        )
        .bind(ep)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert!(
            why.contains("private, loopback or link-local"),
            "{ep}: {why}"
        );
    }
    // Both retried on the schedule; a worker that allows them delivers both.
    clock.set(
        next_due(&app.pool, &by_name)
            .await
            .max(next_due(&app.pool, &by_address).await),
    );
    assert_eq!(
        worker(&app.pool, clock, Duration::from_secs(5))
            .pass()
            .await
            .unwrap(),
        2
    );
    assert_eq!(receiver.received().len(), 2);
}

async fn next_due(pool: &PgPool, endpoint: &str) -> DateTime<Utc> {
    sqlx::query_scalar(
        "SELECT min(next_attempt_at) FROM webhook_messages WHERE endpoint_id = $1 AND status = 'pending'",
    )
    .bind(endpoint)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_dead_receiver_gets_its_endpoint_disabled_after_five_days() {
    let app = TestApp::spawn_with(Policy::default_policy(), opts()).await;
    let dead = format!("http://127.0.0.1:{}/hook", free_port());
    let (ep, _) = endpoint(&app, json!({"url": dead, "event_types": ["stars.changed"]})).await;
    let watcher = Receiver::start(vec![]).await;
    endpoint(
        &app,
        json!({"url": watcher.url, "event_types": ["endpoint.disabled"]}),
    )
    .await;
    let t0 = Utc::now();
    let clock = FakeClock::at(t0);
    let w = worker(&app.pool, clock.clone(), Duration::from_secs(2));
    let mut conn = app.pool.acquire().await.unwrap();
    // A new event every day; the worker runs whenever something is due.
    let mut day = 0;
    let disabled_at = loop {
        let now = clock.now();
        if now >= t0 + chrono::Duration::days(day) {
            outbox::insert(&mut conn, &[shop_event("s1", day as u32)], None, None, now)
                .await
                .unwrap();
            day += 1;
        }
        w.pass().await.unwrap();
        let enabled: bool =
            sqlx::query_scalar("SELECT enabled FROM webhook_endpoints WHERE id = $1")
                .bind(&ep)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        if !enabled {
            break clock.now();
        }
        assert!(day < 12, "still enabled after {day} days");
        let due: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT min(next_attempt_at) FROM webhook_messages WHERE endpoint_id = $1 AND status = 'pending'",
        )
        .bind(&ep)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        let next_event = t0 + chrono::Duration::days(day);
        clock.set(
            due.map_or(next_event, |d| d.min(next_event))
                .max(clock.now()),
        );
    };
    // Failing since the first attempt at t0; disabled at the first failure 5 days on.
    let failing = disabled_at - t0;
    assert!(failing >= chrono::Duration::days(5), "{failing}");
    assert!(failing < chrono::Duration::days(6), "{failing}");
    let (reason, since): (Option<String>, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT disabled_reason, failing_since FROM webhook_endpoints WHERE id = $1",
    )
    .bind(&ep)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(reason.as_deref(), Some("failing"));
    assert_eq!(
        since.map(|s| s.timestamp_micros()),
        Some(t0.timestamp_micros())
    );
    // Every attempt is on record, none answered.
    assert_eq!(
        count(&app.pool, &format!("SELECT count(*) FROM webhook_attempts WHERE endpoint_id = '{ep}' AND status_code IS NOT NULL")).await,
        0
    );
    let response: String =
        sqlx::query_scalar("SELECT response FROM webhook_attempts WHERE endpoint_id = $1 LIMIT 1")
            .bind(&ep)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(response.starts_with("no answer"), "{response}");
    w.pass().await.unwrap();
    let told: Vec<Value> = (watcher.received().iter())
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(told.len(), 1);
    assert_eq!(
        told[0]["data"],
        json!({"endpoint_id": ep, "reason": "failing"})
    );
}

#[tokio::test]
async fn two_workers_never_send_one_attempt_twice() {
    let app = TestApp::spawn_with(Policy::default_policy(), opts()).await;
    let receiver = Receiver::start(vec![]).await;
    endpoint(&app, json!({"url": receiver.url})).await;
    let now = Utc::now();
    let events: Vec<Event> = (0..300)
        .map(|i| shop_event(&format!("s{}", i % 7), i))
        .collect();
    let mut conn = app.pool.acquire().await.unwrap();
    outbox::insert(&mut conn, &events, None, None, now)
        .await
        .unwrap();
    let clock = FakeClock::at(now);
    // Each worker with a pool of its own, as two replicas have.
    let (a, b) = (
        worker(&app.pool, clock.clone(), Duration::from_secs(5)),
        worker(
            &crate::helpers::pool_of(&app.db_url, 4).await,
            clock.clone(),
            Duration::from_secs(5),
        ),
    );
    let drain = |w: Worker| async move {
        let mut sent = 0;
        loop {
            match w.pass().await.unwrap() {
                0 => return sent,
                n => sent += n,
            }
        }
    };
    let (sa, sb) = tokio::join!(drain(a), drain(b));
    assert_eq!(sa + sb, 300);
    assert!(sa > 0 && sb > 0, "both shared the work: {sa} + {sb}");
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in receiver.received() {
        *seen.entry(r.id).or_default() += 1;
    }
    assert_eq!(seen.len(), 300);
    assert!(seen.values().all(|&n| n == 1), "each sent once");
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM webhook_attempts").await,
        300
    );
    assert_eq!(
        count(
            &app.pool,
            "SELECT count(*) FROM webhook_messages WHERE status = 'delivered'"
        )
        .await,
        300
    );
}

#[tokio::test]
async fn a_replica_killed_mid_delivery_loses_nothing() {
    let app = TestApp::spawn_with(Policy::default_policy(), opts()).await;
    // The first attempt hangs until the replica is killed; the next is answered.
    let receiver = Receiver::start(vec![(200, Duration::from_secs(60))]).await;
    let (ep, _) = endpoint(&app, json!({"url": receiver.url})).await;
    // The receiver is on loopback, which a server sends to only when told it may.
    let env = [
        ("SHOPSCORE_WEBHOOK_TIMEOUT", "2"),
        ("SHOPSCORE_WEBHOOK_ALLOW_PRIVATE", "true"),
    ];
    let first = Replica::start_with(&app.db_url, "r1", 3600, free_port(), &env).await;
    let mut conn = app.pool.acquire().await.unwrap();
    let event = shop_event("s1", 1);
    outbox::insert(
        &mut conn,
        std::slice::from_ref(&event),
        None,
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    shopscore::webhook::worker::notify(&mut conn).await.unwrap();
    eventually(10, "the first attempt arrives", || async {
        !receiver.received().is_empty()
    })
    .await;
    first.signal("KILL");
    // Claimed, not recorded: pending until the lease (2 × 2 s) runs out.
    let (status, attempts): (String, i32) =
        sqlx::query_as("SELECT status, attempts FROM webhook_messages WHERE endpoint_id = $1")
            .bind(&ep)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("pending", 1));
    let _second = Replica::start_with(&app.db_url, "r2", 3600, free_port(), &env).await;
    eventually(20, "delivered by the other replica", || async {
        count(
            &app.pool,
            "SELECT count(*) FROM webhook_messages WHERE status = 'delivered'",
        )
        .await
            == 1
    })
    .await;
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|r| r.id == event.id));
}

/// Delivered messages are kept 30 days, then pruned with their attempts, and so are the
/// events no message refers to; a message that failed for good stays for `recover`.
#[tokio::test]
async fn delivered_messages_are_pruned_after_thirty_days() {
    let app = TestApp::spawn_with(Policy::default_policy(), opts()).await;
    let receiver = Receiver::start(vec![]).await;
    endpoint(&app, json!({"url": receiver.url, "shop_ids": ["s1"]})).await;
    let now = Utc::now();
    let old = now - chrono::Duration::days(31);
    let recent = now - chrono::Duration::days(29);
    let mut conn = app.pool.acquire().await.unwrap();
    for (event, at) in [
        (shop_event("s1", 1), old),    // delivered 31 days ago: pruned
        (shop_event("s1", 2), old),    // failed for good: kept
        (shop_event("s1", 3), recent), // delivered 29 days ago: kept
        (shop_event("s9", 4), old),    // no endpoint wanted it: pruned
    ] {
        outbox::insert(&mut conn, std::slice::from_ref(&event), None, None, at)
            .await
            .unwrap();
    }
    // Delivered by a worker on a clock at the time of each.
    for at in [old, recent] {
        let w = worker(&app.pool, FakeClock::at(at), Duration::from_secs(5));
        while w.pass().await.unwrap() > 0 {}
    }
    sqlx::query(
        "UPDATE webhook_messages SET status = 'failed', delivered_at = NULL \
         WHERE event_id = 'msg_test_s1_2'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM webhook_attempts").await,
        3
    );

    let pruned = shopscore::webhook::retention::prune(&app.pool, now)
        .await
        .unwrap();
    assert_eq!(pruned, (1, 2), "(messages, events)");
    let left: Vec<String> = sqlx::query_scalar("SELECT id FROM webhook_events ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, ["msg_test_s1_2", "msg_test_s1_3"]);
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM webhook_attempts").await,
        2,
        "the pruned message's attempt went with it"
    );
}
