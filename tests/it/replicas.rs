//! SPEC §6 with real processes: two `serve` replicas on one database, one killed with
//! SIGKILL in the middle of a run, one stopped with SIGTERM in the middle of a run.
//!
//! To catch a run "in the middle", the test holds the recompute lock: a run is then
//! recorded `running` and waits for the lock (its storing transaction takes it before
//! any shop's data is read) until released.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use reqwest::Client;
use serde_json::Value;
use shopscore::auth::{create_key, Role};
use sqlx::PgPool;

use crate::helpers::{
    advisory_waiters, eventually, fresh_pool, hold_recompute_lock, job_runs, reviewed_order,
    Replica, RunRow,
};

async fn runs(pool: &PgPool) -> Vec<RunRow> {
    job_runs(pool).await
}

async fn keys(pool: &PgPool) -> (String, String) {
    let ingest = create_key(pool, Role::Ingest, &[], None).await.unwrap().1;
    let ops = create_key(pool, Role::Ops, &[], None).await.unwrap().1;
    (ingest, ops)
}

/// A fresh database with an ingest and an ops key, and replicas `a` and `b` on it
/// ticking every `tick_secs`.
async fn two_replicas(tick_secs: u64) -> (PgPool, String, String, Replica, Replica) {
    let (pool, url) = fresh_pool().await;
    let (ingest, ops) = keys(&pool).await;
    let a = Replica::start(&url, "a", tick_secs).await;
    let b = Replica::start(&url, "b", tick_secs).await;
    (pool, ingest, ops, a, b)
}

/// The replica's Prometheus text.
async fn scrape(client: &Client, base: &str) -> String {
    let r = client.get(format!("{base}/metrics")).send().await.unwrap();
    r.text().await.unwrap()
}

async fn post(client: &Client, base: &str, key: &str, events: Vec<Value>) {
    let r = client
        .post(format!("{base}/v1/events"))
        .bearer_auth(key)
        .json(&events)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
}

async fn positives(client: &Client, base: &str, key: &str, shop: &str) -> Option<i64> {
    let r = client
        .get(format!("{base}/v1/shops/{shop}/scorecard"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    if r.status() != 200 {
        return None;
    }
    let c: Value = r.json().await.unwrap();
    c["credit"]["reviews_180d"]["positive"].as_i64()
}

fn an_hour_ago() -> String {
    (Utc::now() - Duration::hours(1)).to_rfc3339()
}

/// Two replicas ticking every second while events are posted to both: every event
/// shows in its shop's scorecard within a few ticks, every run succeeds, and today has
/// exactly one daily run.
#[tokio::test]
async fn two_replicas_score_every_event_and_run_each_slot_once() {
    let (pool, ingest, ops, a, b) = two_replicas(1).await;
    let client = Client::new();
    let shops = ["s1", "s2", "s3", "s4", "s5"];
    let mut posted: BTreeMap<&str, i64> = BTreeMap::new();
    let at = an_hour_ago();
    for i in 0..60 {
        let shop = shops[i % shops.len()];
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        post(
            &client,
            base,
            &ingest,
            reviewed_order(shop, &format!("o{i}"), &at),
        )
        .await;
        *posted.entry(shop).or_default() += 1;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for (shop, n) in &posted {
        eventually(10, &format!("{shop} shows its {n} reviews"), || async {
            positives(&client, &b.base, &ops, shop).await == Some(*n)
        })
        .await;
    }
    // A tick may be mid-run as the last review shows: let it end, then every run that
    // ended must have succeeded.
    eventually(10, "no run in progress", || async {
        runs(&pool).await.iter().all(|r| r.outcome != "running")
    })
    .await;
    let all = runs(&pool).await;
    assert!(all.iter().all(|r| r.outcome == "succeeded"), "{all:?}");
    let today = Utc::now()
        .with_timezone(&shopscore::policy::Policy::default_policy().tz)
        .date_naive()
        .to_string();
    let daily: Vec<&RunRow> = all.iter().filter(|r| r.kind == "daily").collect();
    assert_eq!(daily.len(), 1, "{all:?}");
    assert_eq!(daily[0].slot.as_deref(), Some(today.as_str()));
    let mut slots: Vec<(&str, &str)> = all
        .iter()
        .map(|r| (r.kind.as_str(), r.slot.as_deref().unwrap()))
        .collect();
    let n = slots.len();
    slots.dedup();
    assert_eq!(slots.len(), n, "a slot ran twice: {all:?}");
    assert!(all.iter().any(|r| r.kind == "dirty"), "{all:?}");
    // Each replica reports the scoring lag; the runs are counted where they ran.
    let mut scraped = String::new();
    for base in [&a.base, &b.base] {
        let text = scrape(&client, base).await;
        assert!(
            text.contains("shopscore_scoring_lag_seconds"),
            "{base}: no lag gauge"
        );
        scraped.push_str(&text);
    }
    assert!(
        scraped.contains("shopscore_job_runs_total{kind=\"daily\",outcome=\"succeeded\"} 1"),
        "{scraped}"
    );
    assert!(
        scraped.contains("shopscore_job_duration_seconds"),
        "no run durations"
    );
    let dirty: i64 = sqlx::query_scalar("SELECT count(*) FROM dirty_marks")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(dirty, 0);
}

/// A replica killed with SIGKILL in the middle of the daily run: the other replica
/// takes the run over (same row, its name) and completes it.
#[tokio::test]
async fn a_run_abandoned_by_sigkill_is_taken_over_and_completed() {
    let (pool, url) = fresh_pool().await;
    let (ingest, ops) = keys(&pool).await;
    let held = hold_recompute_lock(&pool).await;
    let a = Replica::start(&url, "a", 1).await;
    let client = Client::new();
    post(
        &client,
        &a.base,
        &ingest,
        reviewed_order("s1", "o1", &an_hour_ago()),
    )
    .await;
    eventually(10, "a's daily run waits for the recompute lock", || async {
        let r = runs(&pool).await;
        r.len() == 1
            && r[0].replica == "a"
            && r[0].outcome == "running"
            && advisory_waiters(&pool).await > 0
    })
    .await;
    let id = runs(&pool).await[0].id;
    a.signal("KILL");

    let b = Replica::start(&url, "b", 1).await;
    eventually(10, "b takes the run over", || async {
        let r = runs(&pool).await;
        r.len() == 1 && r[0].replica == "b" && r[0].outcome == "running"
    })
    .await;
    held.commit().await.unwrap();
    eventually(10, "b completes it", || async {
        runs(&pool).await[0].outcome == "succeeded"
    })
    .await;
    let r = runs(&pool).await;
    assert_eq!(
        (r.len(), r[0].id, r[0].kind.as_str(), r[0].replica.as_str()),
        (1, id, "daily", "b")
    );
    assert_eq!(positives(&client, &b.base, &ops, "s1").await, Some(1));
}

/// SIGTERM while a run is in progress: the run stops before its commit, rolls back,
/// is recorded as failed, and the process exits 0.
#[tokio::test]
async fn sigterm_mid_run_rolls_back_and_records_the_run() {
    let (pool, url) = fresh_pool().await;
    let (ingest, _) = keys(&pool).await;
    let held = hold_recompute_lock(&pool).await;
    let mut a = Replica::start(&url, "a", 1).await;
    let client = Client::new();
    post(
        &client,
        &a.base,
        &ingest,
        reviewed_order("s1", "o1", &an_hour_ago()),
    )
    .await;
    eventually(10, "the daily run waits for the recompute lock", || async {
        advisory_waiters(&pool).await > 0
    })
    .await;
    a.signal("TERM");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    held.commit().await.unwrap();
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), a.child.wait())
        .await
        .expect("exits")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let (outcome, error): (String, Option<String>) =
        sqlx::query_as("SELECT outcome, error FROM job_runs")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(outcome, "failed");
    assert!(error.unwrap().contains("interrupted by shutdown"));
    let cards: i64 = sqlx::query_scalar("SELECT count(*) FROM scorecards")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(cards, 0, "rolled back");
}

/// Keys are cached for seconds after they verify, yet a revoked key stops working on
/// every replica at once: the revoking replica forgets it, the others hear a NOTIFY
/// (from the API or the CLI). Checked well inside the cache's TTL.
#[tokio::test]
async fn a_revoked_key_stops_working_on_every_replica_at_once() {
    use shopscore::cache::KeyCache;
    let (pool, url) = fresh_pool().await;
    let (_, admin) = create_key(&pool, Role::Admin, &[], None).await.unwrap();
    let (first, first_key) = create_key(&pool, Role::Ops, &[], None).await.unwrap();
    let (second, second_key) = create_key(&pool, Role::Ops, &[], None).await.unwrap();
    let a = Replica::start(&url, "a", 3600).await;
    let b = Replica::start(&url, "b", 3600).await;
    let client = Client::new();
    let me = |base: String, key: String| {
        let client = client.clone();
        async move {
            client
                .get(format!("{base}/v1/me"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Both keys verified (and cached) on both replicas.
    for base in [&a.base, &b.base] {
        assert_eq!(me(base.clone(), first_key.clone()).await, 200);
        assert_eq!(me(base.clone(), second_key.clone()).await, 200);
    }
    let within = KeyCache::TTL / 3;
    // Revoked through replica a's API.
    let started = std::time::Instant::now();
    let r = client
        .delete(format!("{}/v1/keys/{}", a.base, first.id))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(me(a.base.clone(), first_key.clone()).await, 401);
    eventually(
        within.as_secs(),
        "replica b refuses the key revoked on a",
        || {
            let status = me(b.base.clone(), first_key.clone());
            async move { status.await == 401 }
        },
    )
    .await;
    assert!(started.elapsed() < within, "{:?}", started.elapsed());
    // Revoked with the CLI: both replicas hear of it.
    let started = std::time::Instant::now();
    crate::helpers::shopscore(&url, &["keys", "revoke", &second.id], &[]);
    for base in [&a.base, &b.base] {
        eventually(
            within.as_secs(),
            "every replica refuses the key revoked by the CLI",
            || {
                let status = me(base.clone(), second_key.clone());
                async move { status.await == 401 }
            },
        )
        .await;
    }
    assert!(started.elapsed() < within, "{:?}", started.elapsed());
}

/// Each replica keeps the latest scorecards it has read, yet a recompute on another
/// replica shows at once: its commit's NOTIFY empties every replica's cache. Checked
/// well inside the cache's TTL, after b has served the old card from memory.
#[tokio::test]
async fn a_cached_scorecard_changes_on_every_replica_when_another_recomputes() {
    use shopscore::cache::LatestCache;
    let (_pool, ingest, ops, a, b) = two_replicas(3600).await;
    let client = Client::new();
    let recompute_on_a = || async {
        let r = client
            .post(format!("{}/v1/recompute", a.base))
            .bearer_auth(&ops)
            .json(&serde_json::json!({"shop_ids": ["s-cache"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    };
    post(
        &client,
        &a.base,
        &ingest,
        reviewed_order("s-cache", "o1", &an_hour_ago()),
    )
    .await;
    recompute_on_a().await;
    for _ in 0..3 {
        assert_eq!(positives(&client, &b.base, &ops, "s-cache").await, Some(1));
    }
    let scraped = scrape(&client, &b.base).await;
    assert!(
        scraped.contains("shopscore_scorecard_reads_total{from=\"memory\"} 2"),
        "b served the repeated reads from memory: {scraped}"
    );
    post(
        &client,
        &a.base,
        &ingest,
        reviewed_order("s-cache", "o2", &an_hour_ago()),
    )
    .await;
    let within = LatestCache::<()>::TTL / 3;
    let started = std::time::Instant::now();
    recompute_on_a().await;
    eventually(
        within.as_secs(),
        "replica b serves the card a just stored",
        || async { positives(&client, &b.base, &ops, "s-cache").await == Some(2) },
    )
    .await;
    assert!(started.elapsed() < within, "{:?}", started.elapsed());
}
