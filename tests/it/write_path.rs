//! The write path at scale: queued orders and conversations folded in bounded chunks,
//! the demo marketplace streamed into the store with the fold keeping pace, and
//! requests that wait for a writer together written as one statement.

use shopscore::demo::{load, LoadOptions, Loaded, Marketplace};
use shopscore::ingest::{fold_queued_by, Folded, GroupWriter, IngestOutcome, WriteError};

use crate::helpers::{ShopEvents, TestApp};

async fn queued(app: &TestApp) -> (i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM orders_to_fold), (SELECT count(*) FROM conversations_to_fold)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// Three batches, each queueing its orders and conversations; a fold in chunks of one
/// entity takes one batch per chunk (a batch is never split, so the first chunk takes
/// both of A's orders), and the rows come out as one fold of everything would make them.
#[tokio::test]
async fn a_fold_in_chunks_takes_whole_batches_and_folds_every_order() {
    let app = TestApp::spawn().await;
    let s = ShopEvents("fold-shop");
    let t = |h: u32| format!("2026-10-01T{h:02}:00:00+08:00");
    app.post_ok(vec![
        s.created("o-1", "b-1", 1000, &t(1)),
        s.created("o-2", "b-2", 2000, &t(2)),
        s.message("m-1", "c-1", "buyer", &t(1)),
    ])
    .await;
    app.post_ok(vec![
        s.paid("o-1", &t(3)),
        s.created("o-3", "b-3", 3000, &t(3)),
    ])
    .await;
    app.post_ok(vec![
        s.shipped("o-2", &t(4)),
        s.message("m-2", "c-1", "agent", &t(2)),
    ])
    .await;
    assert_eq!(queued(&app).await, (3, 2));

    let folded = fold_queued_by(&app.pool, 1).await.unwrap();
    // A: o-1, o-2; B: o-1, o-3; C: o-2. Conversations: c-1 twice.
    assert_eq!(
        folded,
        Folded {
            orders: 5,
            conversations: 2
        }
    );
    assert_eq!(queued(&app).await, (0, 0));
    let rows: Vec<(String, i64, bool, bool)> = sqlx::query_as(
        "SELECT order_id, amount_cents, paid_at IS NOT NULL, shipped_at IS NOT NULL
         FROM orders ORDER BY order_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            ("o-1".into(), 1000, true, false),
            ("o-2".into(), 2000, false, true),
            ("o-3".into(), 3000, false, false),
        ]
    );
    let (first_response,): (chrono::DateTime<chrono::Utc>,) =
        sqlx::query_as("SELECT first_human_at FROM conversations WHERE conversation_id = 'c-1'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        first_response,
        t(2).parse::<chrono::DateTime<chrono::Utc>>().unwrap()
    );
    // Nothing queued: a fold finds nothing to do.
    assert_eq!(
        fold_queued_by(&app.pool, 1).await.unwrap(),
        Folded::default()
    );
}

/// A fold takes what was queued when it started: batches queued after its start wait for
/// the next one (so a fold under a steady stream of ingest ends).
#[tokio::test]
async fn a_fold_leaves_what_is_queued_after_it_starts() {
    let app = TestApp::spawn().await;
    let s = ShopEvents("late-shop");
    let at = "2026-10-01T10:00:00+08:00";
    app.post_ok(vec![s.created("o-1", "b-1", 1000, at)]).await;
    // Holding the fold lock, so the fold has read where the queue ends and waits.
    let mut holder = app.pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(shopscore::db::locks::FOLD)
        .execute(&mut *holder)
        .await
        .unwrap();
    let pool = app.pool.clone();
    let fold = tokio::spawn(async move { fold_queued_by(&pool, 1).await });
    crate::helpers::eventually(10, "the fold waits for its lock", || async {
        crate::helpers::advisory_waiters(&app.pool).await == 1
    })
    .await;
    app.post_ok(vec![s.created("o-2", "b-2", 2000, at)]).await;
    holder.rollback().await.unwrap();
    let folded = fold.await.unwrap().unwrap();
    assert_eq!(folded.orders, 1);
    assert_eq!(queued(&app).await, (1, 0));
}

/// What `shopscore demo` does before its recompute: registers the shops, then streams
/// the marketplace in (ending at its `end`).
async fn register_and_load(app: &TestApp, market: &Marketplace, opts: &LoadOptions) -> Loaded {
    shopscore::demo::register_shops(&app.pool, market.shops)
        .await
        .unwrap();
    load(&app.pool, market, market.end, opts, None)
        .await
        .unwrap()
}

/// `demo::load` streams a marketplace through the batch writer, several batches at once,
/// folding as it goes: it stores exactly what the generator makes, and leaves nothing
/// queued for the first recompute.
#[tokio::test]
async fn the_demo_load_stores_every_event_and_leaves_nothing_to_fold() {
    let app = TestApp::spawn().await;
    let end: chrono::DateTime<chrono::Utc> = "2026-10-05T09:30:00Z".parse().unwrap();
    let market = Marketplace {
        shops: 4,
        days: 6,
        orders_per_day: 3,
        seed: 5,
        end,
    };
    let expected = market.events().count();
    let opts = LoadOptions {
        batch: 97,
        writers: 3,
        fold_every: 2,
    };
    let loaded = register_and_load(&app, &market, &opts).await;
    assert_eq!(
        (loaded.events, loaded.accepted, loaded.duplicates),
        (expected, expected, 0)
    );
    assert_eq!(queued(&app).await, (0, 0));
    let (events, orders, distinct_orders): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM orders),
                (SELECT count(DISTINCT (shop_id, order_id)) FROM order_events)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(events as usize, expected);
    assert_eq!(orders, distinct_orders);
    assert!(orders > 0);
    assert!(loaded.folded.orders >= orders as u64, "{loaded:?}");
    let shops: Vec<(String, String)> =
        sqlx::query_as("SELECT shop_id, industry FROM shops ORDER BY shop_id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(shops.len(), 4);
    assert_eq!(shops[1], ("demo-shop-001".into(), "food".into()));
    // Again: every event a duplicate, nothing new.
    let again = load(&app.pool, &market, end, &opts, None).await.unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, expected));
}

/// The events of `items`, validated as the API does.
fn events(items: &[serde_json::Value]) -> Vec<shopscore::ingest::Event> {
    let now = chrono::Utc::now();
    (items.iter().enumerate())
        .map(|(i, v)| shopscore::ingest::validate(i, v, now).expect("valid"))
        .collect()
}

/// Queues `items` behind the held writer slots and waits until it is queued, so the
/// queue's order is the order of the calls.
async fn queue(
    w: &GroupWriter,
    items: Vec<serde_json::Value>,
) -> tokio::task::JoinHandle<Result<IngestOutcome, WriteError>> {
    let before = w.waiting();
    let w2 = w.clone();
    let handle = tokio::spawn(async move { w2.write(events(&items)).await });
    crate::helpers::eventually(5, "the request queued", || async { w.waiting() > before }).await;
    handle
}

fn outcome(accepted: usize, duplicates: usize) -> IngestOutcome {
    IngestOutcome {
        accepted,
        duplicates,
    }
}

async fn stored(pool: &sqlx::PgPool) -> (Vec<String>, i64) {
    let ids = sqlx::query_scalar("SELECT event_id FROM events ORDER BY event_id")
        .fetch_all(pool)
        .await
        .unwrap();
    let marks = sqlx::query_scalar("SELECT count(*) FROM dirty_marks")
        .fetch_one(pool)
        .await
        .unwrap();
    (ids, marks)
}

/// Group commit: three requests wait while every writer slot is busy; the two that
/// hold together are written as one statement (one dirty mark, one `grouped`), each
/// answered with its own counts; the one that repeats an id with other content is
/// answered with its conflict and stores nothing.
#[tokio::test]
async fn requests_waiting_together_are_written_as_one_statement() {
    let (pool, _db) = crate::helpers::fresh_pool().await;
    let w = GroupWriter::new(pool.clone(), 1, Default::default());
    let (a, b) = (ShopEvents("g-a"), ShopEvents("g-b"));
    let t = "2026-10-01T10:00:00+08:00";
    let held = w.hold_all().await;
    let first = queue(&w, vec![a.created("a1", "x", 100, t), a.paid("a1", t)]).await;
    let second = queue(
        &w,
        vec![
            b.created("b1", "y", 100, t),
            b.paid("b1", t),
            b.created("b1", "y", 100, t),
        ],
    )
    .await;
    let clash = queue(
        &w,
        vec![a.created("a9", "x", 100, t), a.created("a9", "z", 100, t)],
    )
    .await;
    assert_eq!(w.waiting(), 3);
    drop(held);

    assert_eq!(first.await.unwrap().unwrap(), outcome(2, 0));
    assert_eq!(second.await.unwrap().unwrap(), outcome(2, 1));
    match clash.await.unwrap() {
        Err(WriteError::Conflict(c)) => assert_eq!((c.len(), c[0].index), (1, 1)),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(w.grouped(), 1);
    let ids = ["a1-c", "a1-p", "b1-c", "b1-p"].map(String::from).to_vec();
    assert_eq!(stored(&pool).await, (ids, 1));
}

/// Requests that cannot go together are each written alone, in the order they came,
/// with the answers `write_batch` gives: a resend of a stored event is a duplicate, a
/// stored id with other content a conflict, and the same key in two waiting requests is
/// stored once (the later request finds it stored).
#[tokio::test]
async fn requests_that_clash_are_written_one_by_one() {
    let (pool, _db) = crate::helpers::fresh_pool().await;
    let w = GroupWriter::new(pool.clone(), 1, Default::default());
    let s = ShopEvents("g-s");
    let t = "2026-10-01T10:00:00+08:00";
    assert_eq!(
        w.write(events(&[s.created("x", "b", 100, t)]))
            .await
            .unwrap(),
        outcome(1, 0)
    );

    let held = w.hold_all().await;
    let fresh = queue(
        &w,
        vec![s.created("n1", "b", 100, t), s.created("n2", "b", 100, t)],
    )
    .await;
    let resend = queue(&w, vec![s.created("x", "b", 100, t), s.paid("x", t)]).await;
    let other = queue(&w, vec![s.created("x", "other-buyer", 100, t)]).await;
    let again = queue(&w, vec![s.created("n1", "b", 100, t)]).await;
    drop(held);

    assert_eq!(fresh.await.unwrap().unwrap(), outcome(2, 0));
    assert_eq!(resend.await.unwrap().unwrap(), outcome(1, 1));
    match other.await.unwrap() {
        Err(WriteError::Conflict(c)) => assert_eq!((c.len(), c[0].index), (1, 0)),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(again.await.unwrap().unwrap(), outcome(0, 1));
    assert_eq!(w.grouped(), 0);
    let ids = ["n1-c", "n2-c", "x-c", "x-p"].map(String::from).to_vec();
    // One mark for the first write, then one per request written alone (the conflict
    // stored nothing; the duplicate-only request wrote no mark).
    let marks = stored(&pool).await.1;
    assert_eq!(stored(&pool).await.0, ids);
    assert_eq!(marks, 3);
}

/// A backfill through the API's writer is folded in the background as it arrives: below
/// the threshold nothing is folded; once that many events are stored, the queued orders
/// are folded without any recompute.
#[tokio::test]
async fn the_writer_folds_in_the_background_after_enough_events() {
    let (pool, _db) = crate::helpers::fresh_pool().await;
    let w = GroupWriter::with_fold_after(pool.clone(), 2, 4);
    let stop = tokio_util::sync::CancellationToken::new();
    let folder = tokio::spawn(w.clone().fold_in_background(stop.clone()));
    let s = ShopEvents("bg-shop");
    let t = |h: u32| format!("2026-10-01T{h:02}:00:00+08:00");
    let first = vec![
        s.created("o-1", "b-1", 1000, &t(1)),
        s.paid("o-1", &t(2)),
        s.created("o-2", "b-2", 500, &t(3)),
    ];
    assert_eq!(w.write(events(&first)).await.unwrap(), outcome(3, 0));
    let counts = |pool: sqlx::PgPool| async move {
        let c: (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM orders_to_fold), (SELECT count(*) FROM orders)",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        c
    };
    // 3 of 4 events: no fold was asked for.
    assert_eq!(counts(pool.clone()).await, (1, 0));

    assert_eq!(
        w.write(events(&[s.shipped("o-1", &t(4))])).await.unwrap(),
        outcome(1, 0)
    );
    crate::helpers::eventually(10, "the background fold", || {
        let pool = pool.clone();
        async move { counts(pool).await == (0, 2) }
    })
    .await;
    let rows: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT order_id, paid_at IS NOT NULL, shipped_at IS NOT NULL FROM orders ORDER BY order_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [("o-1".into(), true, true), ("o-2".into(), false, false)]
    );
    stop.cancel();
    folder.await.unwrap();
}

/// A run of more shops than one chunk of cards (1 000) holds its figures in the run's
/// transaction and reads them back chunk by chunk: every shop gets exactly one card,
/// and a card is the one a run of that shop alone makes (same `as_of`, so the same
/// industry figures), computed time aside.
#[tokio::test]
async fn a_run_of_many_chunks_makes_the_cards_a_run_of_one_shop_makes() {
    let app = TestApp::spawn().await;
    let end: chrono::DateTime<chrono::Utc> = "2026-10-05T09:30:00Z".parse().unwrap();
    let market = Marketplace {
        shops: 1_100,
        days: 1,
        orders_per_day: 1,
        seed: 3,
        end,
    };
    register_and_load(&app, &market, &Default::default()).await;
    let as_of = "2026-10-05T18:00:00+08:00";
    let run = app.recompute(as_of).await;
    assert_eq!(run["shops_scored"], 1_100, "{run}");
    let (cards, shops): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT shop_id) FROM scorecards WHERE as_of = $1::timestamptz",
    )
    .bind(as_of)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((cards, shops), (1_100, 1_100));

    let mut cards = Vec::new();
    for shop in ["demo-shop-000", "demo-shop-777", "demo-shop-1099"] {
        let whole = app.scorecard(shop).await;
        let (status, alone) = app
            .json(
                axum::http::Method::POST,
                "/v1/recompute",
                Some(&app.ops),
                Some(&serde_json::json!({"as_of": as_of, "shop_ids": [shop]})),
            )
            .await;
        assert_eq!(status, 200, "{alone}");
        let mut alone = app.scorecard(shop).await;
        alone["computed_at"] = whole["computed_at"].clone();
        assert_eq!(alone, whole, "{shop}");
        cards.push(whole);
    }
    // Real figures, not empty cards: each shop has orders, so credit and DSR counts.
    assert!(cards
        .iter()
        .all(|c| c["shop_id"].is_string() && c["credit"].is_object()));
}
