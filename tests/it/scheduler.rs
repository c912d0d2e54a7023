//! SPEC §6 with a fake clock: the daily run at midnight and on the 1st, catch-up after
//! a missed midnight, dirty runs per slot, failed runs run again, and two schedulers
//! racing for the same day. Ticks are driven by hand; nothing waits for a clock.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use shopscore::clock::{Clock, FakeClock};
use shopscore::jobs::runs::JobKind;
use shopscore::jobs::scheduler::{Scheduler, Tick};
use shopscore::policy::Policy;
use tokio_util::sync::CancellationToken;

use crate::helpers::{job_runs, RunRow, TestApp};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn scheduler(app: &TestApp, clock: &Arc<FakeClock>, replica: &str) -> Scheduler {
    Scheduler {
        pool: app.pool.clone(),
        policy: Arc::new(Policy::default_policy()),
        clock: clock.clone(),
        interval: Duration::from_secs(60),
        replica: replica.into(),
        keep_all: Duration::from_secs(48 * 3600),
    }
}

/// An order and its positive review, `day` of October 2026.
fn reviewed_order(shop: &str, id: &str, day: u32) -> Vec<Value> {
    crate::helpers::reviewed_order(shop, id, &format!("2026-10-{day:02}T10:00:00+08:00"))
}

async fn tick(s: &Scheduler) -> Tick {
    s.tick(&CancellationToken::new()).await.unwrap()
}

/// (kind, slot, outcome, shops_scored, replica) of every run, oldest first.
async fn runs(app: &TestApp) -> Vec<RunRow> {
    job_runs(&app.pool).await
}

fn ran(t: &Tick) -> (JobKind, &str, usize) {
    match t {
        Tick::Ran {
            kind,
            slot,
            result: Ok(n),
            ..
        } => (*kind, slot.as_str(), *n),
        other => panic!("expected a successful run, got {other:?}"),
    }
}

async fn card_count(app: &TestApp, shop: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM scorecards WHERE shop_id = $1")
        .bind(shop)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Starts `POST /v1/recompute` (all shops) while the test holds a lock the run needs
/// (`hold_recompute_lock`, `hold_figures_row`), and returns once the run waits for it.
async fn recompute_held(app: &TestApp) -> tokio::task::JoinHandle<reqwest::Response> {
    let (client, base, ops) = (app.client.clone(), app.base.clone(), app.ops.clone());
    let run = tokio::spawn(async move {
        client
            .post(format!("{base}/v1/recompute"))
            .bearer_auth(ops)
            .send()
            .await
            .unwrap()
    });
    crate::helpers::eventually(10, "the recompute waits for the held lock", || async {
        crate::helpers::lock_waiters(&app.pool).await > 0
    })
    .await;
    run
}

/// The first tick of a deployment runs the day's full recompute (a replica started
/// after midnight must not skip it); later ticks that day run only dirty shops, once
/// per slot, and record nothing when nothing is dirty.
#[tokio::test]
async fn dirty_runs_score_only_shops_with_new_events_once_per_slot() {
    let app = TestApp::spawn().await;
    app.put_shop("quiet", "toys").await;
    app.post_ok(reviewed_order("A", "o1", 5)).await;
    let clock = FakeClock::at(at("2026-11-10T09:30:00+08:00"));
    let s = scheduler(&app, &clock, "r1");

    assert_eq!(ran(&tick(&s).await), (JobKind::Daily, "2026-11-10", 2));
    assert_eq!(tick(&s).await, Tick::Idle, "nothing dirty, daily done");

    clock.set(at("2026-11-10T09:31:10+08:00"));
    app.post_ok(reviewed_order("A", "o2", 6)).await;
    assert_eq!(
        ran(&tick(&s).await),
        (JobKind::Dirty, "2026-11-10T09:31:00+08:00", 1)
    );
    // Same slot, new events: they wait for the next slot.
    clock.set(at("2026-11-10T09:31:50+08:00"));
    app.post_ok(reviewed_order("A", "o3", 7)).await;
    assert_eq!(tick(&s).await, Tick::Idle);
    clock.set(at("2026-11-10T09:32:00+08:00"));
    assert_eq!(
        ran(&tick(&s).await),
        (JobKind::Dirty, "2026-11-10T09:32:00+08:00", 1)
    );
    assert_eq!(
        (card_count(&app, "quiet").await, card_count(&app, "A").await),
        (1, 3)
    );
    let c = app.scorecard("A").await;
    assert_eq!(c["credit"]["reviews_180d"]["positive"], 3);
    assert_eq!(c["as_of"], "2026-11-10T09:32:00+08:00");
    let kinds: Vec<String> = runs(&app).await.into_iter().map(|r| r.kind).collect();
    assert_eq!(kinds, ["daily", "dirty", "dirty"]);
}

/// Midnight in the policy's time zone starts a new day's run; a day whose midnight
/// passed with no replica up runs at the first tick after, as of that tick.
#[tokio::test]
async fn the_daily_run_happens_once_per_local_day_and_catches_up() {
    let app = TestApp::spawn().await;
    app.put_shop("s", "toys").await;
    let clock = FakeClock::at(at("2026-11-10T23:59:30+08:00"));
    let s = scheduler(&app, &clock, "r1");
    assert_eq!(ran(&tick(&s).await).1, "2026-11-10");
    clock.set(at("2026-11-10T23:59:59+08:00"));
    assert_eq!(tick(&s).await, Tick::Idle);
    // 16:00 UTC is midnight in Shanghai.
    clock.set(at("2026-11-10T16:00:01Z"));
    assert_eq!(ran(&tick(&s).await).1, "2026-11-11");
    // Nobody up on the 12th and 13th: the 14th's first tick runs.
    clock.set(at("2026-11-14T15:00:00+08:00"));
    assert_eq!(ran(&tick(&s).await).1, "2026-11-14");
    assert_eq!(tick(&s).await, Tick::Idle);
    let slots: Vec<Option<String>> = runs(&app).await.into_iter().map(|r| r.slot).collect();
    assert_eq!(
        slots,
        [Some("2026-11-10"), Some("2026-11-11"), Some("2026-11-14")].map(|s| s.map(String::from))
    );
    let c = app.scorecard("s").await;
    assert_eq!(c["as_of"], "2026-11-14T15:00:00+08:00");
}

/// The daily run on the 1st settles the month just ended: before it, the month has no
/// tier rows; after it, the shop's card carries that month's tier.
#[tokio::test]
async fn the_first_of_the_month_settles_the_month_just_ended() {
    let app = TestApp::spawn().await;
    app.post_ok(reviewed_order("A", "o1", 5)).await;
    let clock = FakeClock::at(at("2026-10-31T23:00:00+08:00"));
    let s = scheduler(&app, &clock, "r1");
    let october = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM cs_tiers WHERE month = '2026-10'")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    assert_eq!(ran(&tick(&s).await).1, "2026-10-31");
    assert_eq!(october().await, 0);
    clock.set(at("2026-11-01T00:00:10+08:00"));
    assert_eq!(ran(&tick(&s).await).1, "2026-11-01");
    assert_eq!(october().await, 1);
    let c = app.scorecard("A").await;
    assert_eq!(c["cs_tier"]["month"], "2026-10");
    let (s, tiers) = app
        .json(Method::GET, "/v1/cs-tiers", Some(&app.ops), None)
        .await;
    assert_eq!(
        (s, tiers["items"][0]["month"].clone()),
        (200, json!("2026-10"))
    );
}

/// A run stopped by shutdown rolls back and is recorded as failed; the next tick runs
/// the same slot again, in the same row.
#[tokio::test]
async fn a_run_stopped_by_shutdown_is_recorded_failed_and_run_again() {
    let app = TestApp::spawn().await;
    app.post_ok(reviewed_order("A", "o1", 5)).await;
    let clock = FakeClock::at(at("2026-11-10T09:30:00+08:00"));
    let s = scheduler(&app, &clock, "r1");
    let stopped = CancellationToken::new();
    stopped.cancel();
    match s.tick(&stopped).await.unwrap() {
        Tick::Ran {
            kind: JobKind::Daily,
            result: Err(e),
            ..
        } => assert!(e.contains("interrupted by shutdown"), "{e}"),
        other => panic!("expected an interrupted daily run, got {other:?}"),
    }
    assert_eq!(card_count(&app, "A").await, 0, "rolled back");
    let (failed, error): (String, Option<String>) =
        sqlx::query_as("SELECT outcome, error FROM job_runs")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(failed, "failed");
    assert!(error.unwrap().contains("interrupted"));

    clock.set(at("2026-11-10T09:31:00+08:00"));
    assert_eq!(ran(&tick(&s).await), (JobKind::Daily, "2026-11-10", 1));
    let all = runs(&app).await;
    assert_eq!(all.len(), 1, "the same row, run again: {all:?}");
    assert_eq!(all[0].outcome, "succeeded");
    assert_eq!(card_count(&app, "A").await, 1);
    let dirty: i64 = sqlx::query_scalar("SELECT count(*) FROM dirty_marks")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(dirty, 0);
}

/// Two schedulers (two replicas) ticking at the same instants: each day runs once.
#[tokio::test]
async fn two_schedulers_racing_never_run_a_day_twice() {
    let app = TestApp::spawn().await;
    for i in 0..20 {
        app.put_shop(&format!("s{i}"), "toys").await;
    }
    let clock = FakeClock::at(at("2026-11-01T00:00:01+08:00"));
    let (a, b) = (scheduler(&app, &clock, "a"), scheduler(&app, &clock, "b"));
    for day in 1..=6 {
        clock.set(at(&format!("2026-11-{day:02}T00:00:01+08:00")));
        let (x, y) = tokio::join!(tick(&a), tick(&b));
        let runs = [&x, &y]
            .iter()
            .filter(|t| matches!(t, Tick::Ran { .. }))
            .count();
        assert_eq!(runs, 1, "day {day}: {x:?} / {y:?}");
        for t in [&x, &y] {
            assert!(
                matches!(t, Tick::Ran { .. } | Tick::Busy | Tick::Idle),
                "{t:?}"
            );
        }
    }
    let all = runs(&app).await;
    assert_eq!(all.len(), 6);
    assert!(all
        .iter()
        .all(|r| r.kind == "daily" && r.outcome == "succeeded" && r.shops_scored == Some(20)));
}

/// An ops recompute is on record too; `GET /v1/jobs` lists runs newest first, filters
/// and pages them, and refuses bad filters with a 400 written for the client.
#[tokio::test]
async fn get_jobs_lists_runs_newest_first() {
    let app = TestApp::spawn().await;
    app.put_shop("s", "toys").await;
    let clock = FakeClock::at(at("2026-11-10T09:30:00+08:00"));
    let s = scheduler(&app, &clock, "r1");
    tick(&s).await;
    app.recompute("2026-11-01T00:00:00+08:00").await;
    let (st, unknown) = app
        .json(
            Method::POST,
            "/v1/recompute",
            Some(&app.ops),
            Some(&json!({"shop_ids": ["nope"]})),
        )
        .await;
    assert_eq!(st, 422, "{unknown}");

    let (st, page) = app
        .json(Method::GET, "/v1/jobs", Some(&app.ops), None)
        .await;
    assert_eq!(st, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "a rejected request is not a run: {page}");
    let newest = &items[0];
    assert_eq!(newest["kind"], "recompute");
    assert_eq!(newest["slot"], Value::Null);
    assert_eq!(newest["as_of"], "2026-11-01T00:00:00+08:00");
    assert_eq!(newest["outcome"], "succeeded");
    assert_eq!(newest["shops_scored"], 1);
    assert!(newest["duration_ms"].as_i64().unwrap() >= 0);
    assert!(newest["finished_at"].is_string());
    assert_eq!(newest["error"], Value::Null);
    let daily = &items[1];
    assert_eq!(
        (
            &daily["kind"],
            &daily["slot"],
            &daily["replica"],
            &daily["started_at"],
            &daily["as_of"]
        ),
        (
            &json!("daily"),
            &json!("2026-11-10"),
            &json!("r1"),
            &json!("2026-11-10T09:30:00+08:00"),
            &json!("2026-11-10T09:30:00+08:00")
        )
    );

    let (_, first) = app
        .json(Method::GET, "/v1/jobs?limit=1", Some(&app.ops), None)
        .await;
    assert_eq!(first["items"][0]["kind"], "recompute");
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = app
        .json(
            Method::GET,
            &format!("/v1/jobs?limit=1&cursor={cursor}"),
            Some(&app.ops),
            None,
        )
        .await;
    assert_eq!(second["items"][0]["kind"], "daily");
    assert_eq!(second["next_cursor"], Value::Null);

    let (_, daily_only) = app
        .json(
            Method::GET,
            "/v1/jobs?kind=daily&outcome=succeeded",
            Some(&app.ops),
            None,
        )
        .await;
    assert_eq!(daily_only["items"].as_array().unwrap().len(), 1);
    let (_, none) = app
        .json(Method::GET, "/v1/jobs?outcome=failed", Some(&app.ops), None)
        .await;
    assert_eq!(none["items"], json!([]));

    let (st, bad) = app
        .json(Method::GET, "/v1/jobs?kind=weekly", Some(&app.ops), None)
        .await;
    assert_eq!(st, 400);
    assert_eq!(
        bad["error"]["message"],
        "kind must be one of dirty, daily, recompute"
    );
    let (st, _) = app
        .json(Method::GET, "/v1/jobs?cursor=%%%", Some(&app.ops), None)
        .await;
    assert_eq!(st, 400);
    let merchant = app.merchant(&["s"]).await;
    for key in [&app.ingest, &merchant] {
        let (st, _) = app.json(Method::GET, "/v1/jobs", Some(key), None).await;
        assert_eq!(st, 403);
    }
    let (st, _) = app.json(Method::GET, "/v1/jobs", None, None).await;
    assert_eq!(st, 401);
}

/// An event committed while a run is in progress (after the run read its shop's data,
/// before it committed) keeps its dirty mark, and the next run scores it.
#[tokio::test]
async fn an_event_committed_during_a_run_is_scored_by_the_next_run() {
    use crate::helpers::{hold_figures_row, reviewed_order};
    let app = TestApp::spawn().await;
    let hour_ago = || (Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    app.post_ok(reviewed_order("X", "o1", &hour_ago())).await;
    let clock = FakeClock::at(Utc::now());
    let s = scheduler(&app, &clock, "r1");
    assert_eq!(ran(&tick(&s).await).0, JobKind::Daily);

    // The run reads X's data, then waits to write X's figures.
    let held = hold_figures_row(&app.pool, "X").await;
    let run = recompute_held(&app).await;
    app.post_ok(reviewed_order("X", "o2", &hour_ago())).await;
    held.commit().await.unwrap();
    assert_eq!(run.await.unwrap().status(), 200);
    let c = app.scorecard("X").await;
    assert_eq!(
        c["credit"]["reviews_180d"]["positive"], 1,
        "the run read X before o2"
    );
    let marked: Vec<Vec<String>> = sqlx::query_scalar("SELECT shop_ids FROM dirty_marks")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(marked, [["X"]], "o2's mark survived the run");

    clock.set(Utc::now());
    assert_eq!(
        ran(&tick(&s).await),
        (JobKind::Dirty, s.slot(clock.now()).as_str(), 1)
    );
    let c = app.scorecard("X").await;
    assert_eq!(c["credit"]["reviews_180d"]["positive"], 2);
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM dirty_marks")
            .fetch_one(&app.pool)
            .await
            .unwrap(),
        0
    );
}

/// `POST /v1/recompute` past `SHOPSCORE_RECOMPUTE_TIMEOUT`: 503 with Retry-After, the
/// run rolled back (no card) and on record as failed.
#[tokio::test]
async fn a_recompute_past_its_limit_rolls_back_with_503() {
    use crate::helpers::hold_recompute_lock;
    let http = shopscore::config::HttpOpts {
        recompute_timeout: 1,
        ..Default::default()
    };
    let app = TestApp::spawn_with(Policy::default_policy(), http).await;
    app.put_shop("s", "toys").await;
    let held = hold_recompute_lock(&app.pool).await;
    let run = recompute_held(&app).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    held.commit().await.unwrap();
    let r = run.await.unwrap();
    let (status, retry) = (r.status().as_u16(), r.headers().get("retry-after").cloned());
    let body: Value = r.json().await.unwrap();
    let retry = retry.map(|v| v.to_str().unwrap().to_string());
    assert_eq!((status, retry.as_deref()), (503, Some("1")), "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("longer than its limit of 1 s"),
        "{message}"
    );
    assert_eq!(card_count(&app, "s").await, 0);
    let (_, jobs) = app
        .json(Method::GET, "/v1/jobs", Some(&app.ops), None)
        .await;
    assert_eq!(jobs["items"][0]["outcome"], "failed");
}

/// Retention: after the daily run, snapshots older than 48 h are pruned to the last of
/// each shop's local day; the last 48 h keep every snapshot.
#[tokio::test]
async fn the_daily_run_prunes_snapshots_to_one_per_day_past_48_hours() {
    let app = TestApp::spawn().await;
    app.put_shop("s", "toys").await;
    for t in [
        "2026-10-11T10:00:00+08:00",
        "2026-10-11T15:00:00+08:00",
        "2026-10-11T20:00:00+08:00",
        "2026-10-12T09:00:00+08:00",
        "2026-10-12T23:00:00+08:00",
        "2026-10-14T13:00:00+08:00",
        "2026-10-15T09:00:00+08:00",
        "2026-10-15T11:00:00+08:00",
    ] {
        app.recompute(t).await;
    }
    let clock = FakeClock::at(at("2026-10-15T12:00:00+08:00"));
    assert_eq!(
        ran(&tick(&scheduler(&app, &clock, "r1")).await).0,
        JobKind::Daily
    );
    let kept: Vec<DateTime<Utc>> =
        sqlx::query_scalar("SELECT as_of FROM scorecards WHERE shop_id = 's' ORDER BY as_of")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let want: Vec<DateTime<Utc>> = [
        "2026-10-11T20:00:00+08:00",
        "2026-10-12T23:00:00+08:00",
        "2026-10-14T13:00:00+08:00",
        "2026-10-15T09:00:00+08:00",
        "2026-10-15T11:00:00+08:00",
        "2026-10-15T12:00:00+08:00",
    ]
    .iter()
    .map(|t| at(t))
    .collect();
    assert_eq!(kept, want);
}
