//! SPEC §7 scale: recompute, dashboard reads and snapshot storage, each figure printed
//! beside a baseline measured in the same run. Not a timed test: it prints, you compare.
//!
//!     cargo bench --bench scale -- [--shops 1000,10000] [--days 30] [--orders 2]
//!                                  [--read-seconds 10] [--keep] [--tiny]
//!
//! For each shop count, on a fresh database:
//! 1. streams the demo marketplace (seed 1, ending now) into the store as `shopscore
//!    demo` does (`demo::load`: the batch writer `POST /v1/events` uses, 5 000 events
//!    per transaction, two at once, the queued orders and conversations folded as it
//!    goes), then `VACUUM ANALYZE` (what autovacuum does in production); baseline for
//!    the load: the same stream, generated and validated alike, in one `COPY` into a
//!    bare keyed table of another database;
//! 2. baseline: one `GROUP BY shop_id, type` scan of every raw event (run twice; the
//!    second, warm, is the base: the recomputes read warm tables too);
//! 3. folds what the load left queued (nothing: the figure proves it), then `ANALYZE`s
//!    the folded tables;
//! 4. starts the real `shopscore serve --no-scheduler` and times two full recomputes
//!    (`POST /v1/recompute`), with the server's peak RSS and where the time went;
//! 5. incremental: new events for 1 % and then 10 % of the shops, and a recompute of
//!    those shops (what a scheduler tick does with its dirty shops);
//! 6. reads: `wrk` (2 threads, 32 connections) on `/healthz`, then on the scorecards of
//!    random shops, then on a drill-down page of random shops (the on-time rate's
//!    orders), then on a what-if of random shops (32 connections, then one client
//!    alone), same server (skipped, with a note, when `wrk` is not installed);
//! 7. webhooks: an endpoint at a local receiver answering 200 at once; every shop's
//!    last told tier rewritten (none for a shop with one, gold for a shop without) so
//!    that a full recompute finds one `tier.changed` per shop (as a month's re-ranking
//!    that moves many tiers would); the recompute's time beside the plain one of step 4, deliveries per
//!    second beside the same number of plain POSTs to the receiver (32 at once), and
//!    the delivery lag p50/p99 from the event (the run's start, what
//!    `shopscore_webhook_delivery_lag_seconds` counts) and from the recompute's answer;
//! 8. storage: bytes per stored scorecard snapshot, and so per shop and day under the
//!    retention policy.
//!
//! `--keep` leaves the last database (`shopscore_bench_scale`) for profiling;
//! `--tiny` runs every step on 20 shops and 5 days: CI uses it to prove the bench works
//! (`cargo test --bench scale -- --tiny` reuses the test build).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;
use shopscore::auth::Role;
use shopscore::ingest::{validate, write_batch, Event};

mod common;
use common::{drop_database, fresh_database, Server};

const DB: &str = "shopscore_bench_scale";

struct Args {
    shops: Vec<usize>,
    days: i64,
    orders: usize,
    read_seconds: u32,
    keep: bool,
}

fn args() -> Args {
    let mut a = Args {
        shops: vec![1_000, 10_000],
        days: 30,
        orders: 2,
        read_seconds: 10,
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut num = || common::number(&mut it);
        match flag.as_str() {
            "--days" => a.days = num() as i64,
            "--orders" => a.orders = num(),
            "--read-seconds" => a.read_seconds = num() as u32,
            "--keep" => a.keep = true,
            "--shops" => a.shops = common::numbers(&mut it),
            "--tiny" => {
                a.shops = vec![20];
                a.days = 5;
                a.read_seconds = 1;
            }
            _ => {} // `--bench`, added by cargo
        }
    }
    a
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// A full recompute (`shop_ids` none) or one of some shops, through the API: seconds.
async fn recompute(server: &Server, shop_ids: Option<&[String]>) -> anyhow::Result<f64> {
    let body = match shop_ids {
        Some(ids) => json!({ "shop_ids": ids }),
        None => json!({}),
    };
    let t = Instant::now();
    let r = reqwest::Client::new()
        .post(format!("{}/v1/recompute", server.base))
        .bearer_auth(&server.key)
        .timeout(Duration::from_secs(3600))
        .json(&body)
        .send()
        .await?;
    let status = r.status();
    let text = r.text().await?;
    anyhow::ensure!(status.is_success(), "recompute: {status}: {text}");
    Ok(secs(t.elapsed()))
}

/// The sums of a histogram's `_sum` series by label, from the server's `/metrics`.
async fn sums(server: &Server, histogram: &str) -> Vec<(String, f64)> {
    let text = match reqwest::get(format!("{}/metrics", server.base)).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => return vec![],
    };
    let prefix = format!("{histogram}_sum{{");
    let mut out: Vec<(String, f64)> = text
        .lines()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .filter_map(|l| {
            let (label, value) = l.split_once('}')?;
            let name = label.split('"').nth(1)?.to_string();
            Some((name, value.trim().parse().ok()?))
        })
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

fn minus(after: &[(String, f64)], before: &[(String, f64)]) -> String {
    let before: HashMap<&str, f64> = before.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let mut d: Vec<(String, f64)> = after
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v - before.get(k.as_str()).copied().unwrap_or(0.0),
            )
        })
        .collect();
    d.sort_by(|a, b| b.1.total_cmp(&a.1));
    d.iter()
        .map(|(k, v)| format!("{k} {v:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What `wrk` reported: requests/s, p50 and p99 in ms, non-2xx responses.
struct Wrk {
    rate: f64,
    p50: f64,
    p99: f64,
    non_2xx: u64,
}

fn ms(s: &str) -> f64 {
    let (num, unit) = s.split_at(s.find(|c: char| c.is_alphabetic()).unwrap_or(s.len()));
    let n: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "s" => n * 1000.0,
        _ => n,
    }
}

/// `wrk` with 2 threads and 32 connections (one thread and one connection with
/// `single`: one client's latency, no queueing).
fn wrk(url: &str, script: Option<&std::path::Path>, seconds: u32) -> anyhow::Result<Wrk> {
    wrk_with(url, script, seconds, false)
}

fn wrk_with(
    url: &str,
    script: Option<&std::path::Path>,
    seconds: u32,
    single: bool,
) -> anyhow::Result<Wrk> {
    let mut cmd = std::process::Command::new("wrk");
    let (threads, conns) = if single {
        ("-t1", "-c1")
    } else {
        ("-t2", "-c32")
    };
    cmd.args([threads, conns, &format!("-d{seconds}s"), "--latency"]);
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    let out = cmd.arg(url).output()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    anyhow::ensure!(out.status.success(), "wrk: {text}");
    Ok(Wrk {
        rate: field("Requests/sec:").parse().unwrap_or(f64::NAN),
        p50: ms(&field("50%")),
        p99: ms(&field("99%")),
        non_2xx: field("Non-2xx or 3xx responses:").parse().unwrap_or(0),
    })
}

/// New events for `shops`: an order and its positive review an hour ago, each.
fn new_reviews(shops: &[String], round: usize, now: chrono::DateTime<chrono::Utc>) -> Vec<Event> {
    let at = (now - chrono::Duration::hours(1)).to_rfc3339();
    let mut out = Vec::new();
    for shop in shops {
        let id = format!("bench-{round}-{shop}");
        let order = json!({"order_id": id, "buyer_id": format!("b-{id}"), "amount_cents": 5000});
        let review = json!({"order_id": id, "buyer_id": format!("b-{id}"), "rating": "positive"});
        for (suffix, kind, data) in [
            ("c", "order.created", order),
            ("r", "order.reviewed", review),
        ] {
            let v = json!({"event_id": format!("{id}-{suffix}"), "type": kind, "shop_id": shop,
                           "occurred_at": at, "data": data});
            out.push(validate(out.len(), &v, now).expect("valid"));
        }
    }
    out
}

async fn one_size(a: &Args, shops: usize) -> anyhow::Result<()> {
    println!(
        "## {shops} shops, {} days, {} orders per shop and day",
        a.days, a.orders
    );
    let pool = fresh_database(DB).await?;
    let now = chrono::Utc::now();
    // What `shopscore demo` does: shops registered, the marketplace streamed through
    // the batch writer with the queues folded as it goes.
    let market = shopscore::demo::Marketplace {
        shops,
        days: a.days,
        orders_per_day: a.orders,
        seed: 1,
        end: now,
    };
    let t = Instant::now();
    shopscore::demo::register_shops(&pool, shops).await?;
    let loaded = shopscore::demo::load(&pool, &market, now, &Default::default(), None).await?;
    let n = loaded.events;
    let load_time = t.elapsed();
    println!(
        "generated and loaded as `shopscore demo` does: {n} events in {:.1} s ({:.0} events/s; \
         {} orders and {} conversations folded on the way)",
        secs(t.elapsed()),
        n as f64 / secs(t.elapsed()),
        loaded.folded.orders,
        loaded.folded.conversations
    );
    // The same stream, generated and validated the same way, into a bare keyed table by
    // one COPY: what the load costs beyond storing the rows.
    let (copied, copy_rate) = common::copy_market(&format!("{DB}_copy"), &market, now).await?;
    anyhow::ensure!(copied as usize == n, "COPY wrote {copied} of {n} events");
    println!(
        "baseline: the same events generated, validated and COPied into a bare keyed table: \
         {copy_rate:.0} events/s; the load is {:.2} × that",
        n as f64 / secs(load_time) / copy_rate
    );
    let t = Instant::now();
    sqlx::query("VACUUM ANALYZE").execute(&pool).await?;
    println!("VACUUM ANALYZE: {:.1} s", secs(t.elapsed()));

    let mut scan = 0.0;
    for _ in 0..2 {
        let t = Instant::now();
        let groups: Vec<(i64,)> =
            sqlx::query_as("SELECT count(*) FROM events GROUP BY shop_id, type")
                .fetch_all(&pool)
                .await?;
        scan = secs(t.elapsed());
        anyhow::ensure!(!groups.is_empty());
    }
    println!("baseline: one GROUP BY scan of the {n} raw events: {scan:.2} s (warm)");

    // The load folded as it wrote: what is left for the first recompute (none).
    let t = Instant::now();
    let folded = shopscore::ingest::fold_queued(&pool).await?;
    let fold = secs(t.elapsed());
    println!(
        "fold left after the load ({} orders, {} conversations): {fold:.2} s",
        folded.orders, folded.conversations
    );
    // What autovacuum does after a load this size: the folded tables were empty when
    // the load's ANALYZE ran, and without statistics the planner reads every order for
    // each batch's credit query (7 × slower at 10 000 shops).
    sqlx::query("ANALYZE orders, conversations")
        .execute(&pool)
        .await?;

    let server = Server::on(DB, Role::Ops).await?;
    let (_, idle) = server.rss_mib();
    let mut full = Vec::new();
    let before = sums(&server, "shopscore_metric_query_seconds").await;
    for _ in 0..2 {
        full.push(recompute(&server, None).await?);
    }
    let (peak, after) = server.rss_mib();
    let families = minus(
        &sums(&server, "shopscore_metric_query_seconds").await,
        &before,
    );
    let phases = sums(&server, "shopscore_recompute_phase_seconds").await;
    println!(
        "full recompute: {:.2} s, again {:.2} s ({:.2} ms/shop; {:.1} × the scan); \
         server peak RSS {peak:.0} MiB (idle {idle:.0}, after {after:.0})",
        full[0],
        full[1],
        full[1] * 1e3 / shops as f64,
        full[1] / scan
    );
    println!("  query seconds by family, both runs: {families}");
    println!(
        "  phase seconds, both runs: {}",
        phases
            .iter()
            .map(|(k, v)| format!("{k} {v:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let ids: Vec<String> = sqlx::query_scalar("SELECT shop_id FROM shops ORDER BY shop_id")
        .fetch_all(&pool)
        .await?;
    for (round, pct) in [(1, 1), (2, 10)] {
        let dirty: Vec<String> = ids.iter().step_by(100 / pct).cloned().collect();
        write_batch(&pool, &new_reviews(&dirty, round, now), &Default::default())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let took = recompute(&server, Some(&dirty)).await?;
        println!(
            "incremental: {pct} % dirty ({} shops): {took:.2} s ({:.3} × the full recompute)",
            dirty.len(),
            took / full[1]
        );
    }

    if std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_ok()
    {
        let list = ids
            .iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(",");
        // A `wrk` script asking for `/v1/shops/<a random shop><suffix>` (a POST of
        // `body` when there is one).
        let script_with = |name: &str,
                           suffix: &str,
                           body: Option<&str>|
         -> anyhow::Result<std::path::PathBuf> {
            let (method, body, ctype) = match body {
                Some(b) => (
                    "POST",
                    format!("{b:?}"),
                    ", [\"Content-Type\"] = \"application/json\"",
                ),
                None => ("GET", "nil".to_string(), ""),
            };
            let lua = std::env::temp_dir()
                .join(format!("shopscore-bench-{name}-{}.lua", std::process::id()));
            std::fs::write(
                &lua,
                format!(
                    "local shops = {{{list}}}\n\
                     request = function()\n  \
                       local path = \"/v1/shops/\" .. shops[math.random(#shops)] .. \"{suffix}\"\n  \
                       return wrk.format(\"{method}\", path, {{[\"Authorization\"] = \"Bearer {}\"{ctype}}}, {body})\n\
                     end\n",
                    server.key
                ),
            )?;
            Ok(lua)
        };
        let script = |name: &str, suffix: &str| script_with(name, suffix, None);
        let health = wrk(&format!("{}/healthz", server.base), None, a.read_seconds)?;
        let cards_lua = script("cards", "/scorecard")?;
        let cards = wrk(&server.base, Some(&cards_lua), a.read_seconds)?;
        // A drill-down page: every order of the service window (up to 100) with how it
        // counts for the on-time rate, loaded and classified on each request.
        let items_lua = script("items", "/metrics/ship_on_time_rate(48)/items?limit=100")?;
        let items = wrk(&server.base, Some(&items_lua), a.read_seconds)?;
        // A what-if: the shop's card recomputed with one metric set, on each request.
        let sim_lua = script_with(
            "simulate",
            "/simulate",
            Some(r#"{"values": {"human_response_seconds_avg": 20}}"#),
        )?;
        let sim = wrk(&server.base, Some(&sim_lua), a.read_seconds)?;
        let sim_one = wrk_with(&server.base, Some(&sim_lua), a.read_seconds, true)?;
        let _ = std::fs::remove_file(&cards_lua);
        let _ = std::fs::remove_file(&items_lua);
        let _ = std::fs::remove_file(&sim_lua);
        println!(
            "reads (wrk, 2 threads, 32 connections, {} s each): /healthz {:.0} req/s (p50 {:.2} ms, p99 {:.2} ms); \
             scorecards of random shops {:.0} req/s (p50 {:.2} ms, p99 {:.2} ms, non-2xx {}): {:.2} × /healthz",
            a.read_seconds,
            health.rate,
            health.p50,
            health.p99,
            cards.rate,
            cards.p50,
            cards.p99,
            cards.non_2xx,
            cards.rate / health.rate
        );
        println!(
            "drill-down pages (ship_on_time_rate(48) items, limit 100) of random shops: {:.0} req/s \
             (p50 {:.2} ms, p99 {:.2} ms, non-2xx {}): {:.2} × /healthz",
            items.rate,
            items.p50,
            items.p99,
            items.non_2xx,
            items.rate / health.rate
        );
        println!(
            "simulations (POST …/simulate, one metric set) of random shops: {:.0} req/s \
             (p50 {:.2} ms, p99 {:.2} ms, non-2xx {}): {:.2} × /healthz; one client alone: \
             {:.0} req/s (p50 {:.2} ms, p99 {:.2} ms, non-2xx {})",
            sim.rate,
            sim.p50,
            sim.p99,
            sim.non_2xx,
            sim.rate / health.rate,
            sim_one.rate,
            sim_one.p50,
            sim_one.p99,
            sim_one.non_2xx
        );
    } else {
        println!("reads: skipped, wrk is not installed (apt-get install wrk)");
    }
    webhooks(&server, &pool, full[1]).await?;
    server.stop().await;

    let (snapshots, bytes): (i64, i64) =
        sqlx::query_as("SELECT count(*), pg_total_relation_size('scorecards') FROM scorecards")
            .fetch_one(&pool)
            .await?;
    let per = bytes as f64 / snapshots.max(1) as f64;
    println!(
        "storage: {snapshots} snapshots in {:.1} MiB (table, TOAST and indexes): {per:.0} bytes each; \
         under the retention policy a shop keeps one per local day after 48 h: {per:.0} bytes per shop per day \
         ({:.1} MiB per day for {shops} shops), plus, in the 48 h window, one per scheduler tick that found it dirty",
        bytes as f64 / 1048576.0,
        per * shops as f64 / 1048576.0
    );
    pool.close().await;
    println!();
    Ok(())
}

/// A receiver answering 200 at once, noting when each delivery came and its body's
/// `timestamp` (the event's).
struct Receiver {
    url: String,
    got: std::sync::Arc<std::sync::Mutex<Vec<Delivery>>>,
}

/// When a delivery came, and its body's `timestamp`.
type Delivery = (chrono::DateTime<chrono::Utc>, String);

async fn receiver() -> anyhow::Result<Receiver> {
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let g = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let g = g.clone();
            async move {
                let at = chrono::Utc::now();
                let stamp = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["timestamp"].as_str().map(str::to_string))
                    .unwrap_or_default();
                g.lock().unwrap().push((at, stamp));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Receiver { url, got })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Step 7: deliveries of a full recompute that changes many tiers.
async fn webhooks(
    server: &Server,
    pool: &sqlx::PgPool,
    plain_recompute: f64,
) -> anyhow::Result<()> {
    use shopscore::webhook::endpoints::{create, NewEndpoint};
    let rx = receiver().await?;
    // Baseline: plain POSTs of a webhook-sized body to the same receiver, 32 at once.
    let body = r#"{"id":"msg_0","type":"tier.changed","timestamp":"","data":{}}"#;
    let client = reqwest::Client::new();
    let n_plain = 4_000;
    let t = Instant::now();
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n_plain {
        let (c, url, permit) = (
            client.clone(),
            rx.url.clone(),
            sem.clone().acquire_owned().await?,
        );
        tasks.spawn(async move {
            let _permit = permit;
            c.post(url)
                .body(body)
                .send()
                .await
                .map(|r| r.status().is_success())
        });
    }
    while let Some(r) = tasks.join_next().await {
        anyhow::ensure!(r??, "the receiver refused a plain POST");
    }
    let plain_rate = n_plain as f64 / secs(t.elapsed());
    rx.got.lock().unwrap().clear();

    create(
        pool,
        NewEndpoint {
            url: &rx.url,
            event_types: &[],
            shop_ids: &[],
            description: Some("bench"),
        },
        chrono::Utc::now(),
        chrono_tz::Asia::Shanghai,
    )
    .await?;
    let rewritten = sqlx::query(
        "UPDATE webhook_standings SET standing = jsonb_set(standing::jsonb, '{tier}', \
           CASE WHEN standing::jsonb -> 'tier' = 'null'::jsonb \
                THEN '{\"month\": \"2000-01\", \"tier\": \"gold\", \"status\": \"active\", \"reason\": null}' \
                ELSE 'null' END::jsonb)::text",
    )
    .execute(pool)
    .await?
    .rows_affected();
    let started = chrono::Utc::now();
    let took = recompute(server, None).await?;
    let answered = chrono::Utc::now();
    let (events, by_type): (i64, Option<String>) = sqlx::query_as(
        "SELECT sum(n)::bigint, string_agg(event_type || ' ' || n, ', ' ORDER BY n DESC) \
         FROM (SELECT event_type, count(*) AS n FROM webhook_events WHERE created_at >= $1 \
               GROUP BY 1) t",
    )
    .bind(started)
    .fetch_one(pool)
    .await
    .map(|(n, s): (Option<i64>, Option<String>)| (n.unwrap_or(0), s))?;
    // What the receiver is owed: the messages of this endpoint (events of the earlier
    // steps were written before it existed and are nobody's).
    let owed: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_messages")
        .fetch_one(pool)
        .await?;
    let deadline = Instant::now() + Duration::from_secs(1200);
    while (rx.got.lock().unwrap().len() as i64) < owed && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let failed: Option<String> = sqlx::query_scalar(
            "SELECT response FROM webhook_attempts WHERE outcome <> 'delivered' LIMIT 1",
        )
        .fetch_optional(pool)
        .await?;
        if let Some(why) = failed {
            anyhow::bail!("a webhook attempt failed: {why}");
        }
    }
    let got = rx.got.lock().unwrap().clone();
    anyhow::ensure!(
        got.len() as i64 >= owed,
        "{} of {owed} webhooks delivered in 20 min",
        got.len()
    );
    let first = got.iter().map(|g| g.0).min().unwrap_or(answered);
    let last = got.iter().map(|g| g.0).max().unwrap_or(answered);
    let span = (last - first).num_microseconds().unwrap_or(0) as f64 / 1e6;
    let mut from_event: Vec<f64> = (got.iter())
        .filter_map(|(at, stamp)| {
            let t = chrono::DateTime::parse_from_rfc3339(stamp).ok()?;
            Some((*at - t.with_timezone(&chrono::Utc)).num_milliseconds() as f64 / 1e3)
        })
        .collect();
    let mut from_answer: Vec<f64> = (got.iter())
        .map(|(at, _)| (*at - answered).num_milliseconds().max(0) as f64 / 1e3)
        .collect();
    from_event.sort_by(f64::total_cmp);
    from_answer.sort_by(f64::total_cmp);
    println!(
        "webhooks: {rewritten} shops' told tier rewritten; the full recompute took {took:.2} s \
         ({:.2} × the one without events) and wrote {events} events ({})",
        took / plain_recompute,
        by_type.unwrap_or_default()
    );
    println!(
        "  delivered {} in {span:.2} s: {:.0} deliveries/s; baseline: {n_plain} plain POSTs to the \
         same receiver, 32 at once: {plain_rate:.0}/s ({:.2} × that)",
        got.len(),
        got.len() as f64 / span.max(1e-3),
        got.len() as f64 / span.max(1e-3) / plain_rate
    );
    println!(
        "  lag from the event (the run's start): p50 {:.2} s, p99 {:.2} s; from the recompute's \
         answer: p50 {:.2} s, p99 {:.2} s",
        percentile(&from_event, 0.5),
        percentile(&from_event, 0.99),
        percentile(&from_answer, 0.5),
        percentile(&from_answer, 0.99)
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args();
    for &shops in &a.shops {
        one_size(&a, shops).await?;
    }
    if !a.keep {
        drop_database(DB).await?;
    }
    Ok(())
}
