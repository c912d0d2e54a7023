//! The production shape for a bounded time (issue 27): one `shopscore serve` with its
//! scheduler ticking, on a demo marketplace, under producers, polling dashboards and a
//! freshness probe at once. Not a timed test: it prints, you compare.
//!
//!     cargo bench --bench soak -- [--seconds 300] [--shops 1000] [--days 30]
//!                                 [--tick 10] [--producers 4] [--events-per-second 1000]
//!                                 [--readers 16] [--reads-per-second 400] [--tiny]
//!
//! - the demo marketplace (seed 1, ending now) loaded and recomputed as `shopscore demo`
//!   does, then `serve` with `SHOPSCORE_RECOMPUTE_INTERVAL=tick`;
//! - producers post batches of 50 order events for random shops, at a steady rate in
//!   all, with `occurred_at` now (every batch a 200, or counted);
//! - readers poll random shops' scorecards as dashboards do, each keeping the ETag it
//!   last saw per shop and sending `If-None-Match` (200 or 304);
//! - a freshness probe, one at a time: a reviewed order for a shop of its own, and the
//!   time from the ingest's 200 to the first scorecard that counts the review (the
//!   scheduler's tick recomputes the dirty shop);
//! - baseline in the same run: `/healthz` polled at 10/s beside the readers (what the
//!   machine's load alone costs a request);
//! - the server's RSS every 10 s.
//!
//! It prints requests and errors by kind (a 5xx is an error; so is anything but
//! 200/304 for a read and 200 for a batch), read p50/p99 against the `/healthz`
//! baseline, freshness p50/p99/max against `tick + 10 s`, and RSS over time, with the
//! growth after the warm-up (the first fifth of the run) and between the medians of the
//! third and the last quarter (single samples spike). Targets on the development
//! machine: zero 5xx, read p99 ≤ 50 ms, freshness p99 ≤ tick + 10 s, RSS flat.
//! `--tiny` (20 shops, 5 days, 20 s, tick 2 s) proves it runs: CI
//! (`cargo test --bench soak -- --tiny`).

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{drop_database, fresh_database, number, Server};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use shopscore::auth::{create_key, Role};

const DB: &str = "shopscore_bench_soak";

struct Args {
    seconds: u64,
    shops: usize,
    days: i64,
    tick: u64,
    producers: usize,
    events_per_second: usize,
    readers: usize,
    reads_per_second: usize,
}

fn args() -> Args {
    let mut a = Args {
        seconds: 300,
        shops: 1000,
        days: 30,
        tick: 10,
        producers: 4,
        events_per_second: 1000,
        readers: 16,
        reads_per_second: 400,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--seconds" => a.seconds = number(&mut it) as u64,
            "--shops" => a.shops = number(&mut it),
            "--days" => a.days = number(&mut it) as i64,
            "--tick" => a.tick = number(&mut it) as u64,
            "--producers" => a.producers = number(&mut it),
            "--events-per-second" => a.events_per_second = number(&mut it),
            "--readers" => a.readers = number(&mut it),
            "--reads-per-second" => a.reads_per_second = number(&mut it),
            "--tiny" => {
                a = Args {
                    seconds: 20,
                    shops: 20,
                    days: 5,
                    tick: 2,
                    producers: 2,
                    events_per_second: 200,
                    readers: 4,
                    reads_per_second: 100,
                }
            }
            // `cargo bench` passes `--bench`; the test harness may pass filters.
            _ => {}
        }
    }
    a
}

/// What the run saw, shared by its tasks.
#[derive(Default)]
struct Tally {
    reads: Vec<Duration>,
    not_modified: usize,
    baseline: Vec<Duration>,
    batches: usize,
    events: usize,
    freshness: Vec<Duration>,
    /// (what, status or error) of every answer that was not what it should be.
    errors: Vec<(String, String)>,
    server_errors: usize,
}

impl Tally {
    fn error(&mut self, what: &str, status: Option<u16>, text: String) {
        if status.is_none_or(|s| s >= 500) {
            self.server_errors += 1;
        }
        self.errors.push((what.to_string(), text));
    }
}

fn pct(xs: &[Duration], q: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v: Vec<f64> = xs.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    v.sort_by(f64::total_cmp);
    v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
}

fn shop(i: usize) -> String {
    format!("demo-shop-{i:03}")
}

/// Runs `f` every `period` until `end`.
async fn paced<F, Fut>(period: Duration, end: Instant, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while Instant::now() < end {
        every.tick().await;
        f().await;
    }
}

async fn producer(
    base: String,
    key: String,
    shops: usize,
    period: Duration,
    end: Instant,
    p: usize,
    tally: Arc<Mutex<Tally>>,
) {
    let client = reqwest::Client::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(p as u64);
    let mut n = 0usize;
    paced(period, end, || {
        n += 1;
        let now = chrono::Utc::now().to_rfc3339();
        let events: Vec<Value> = (0..50)
            .map(|i| {
                let order = format!("soak-p{p}-{n}-{i}");
                json!({"event_id": format!("{order}-c"), "type": "order.created",
                       "shop_id": shop(rng.gen_range(0..shops)), "occurred_at": now,
                       "data": {"order_id": order, "buyer_id": format!("soak-buyer-{i}"), "amount_cents": 1999}})
            })
            .collect();
        let client = &client;
        let (base, key, tally) = (&base, &key, &tally);
        async move {
            let r = client
                .post(format!("{base}/v1/events"))
                .bearer_auth(key)
                .json(&events)
                .send()
                .await;
            let mut t = tally.lock().unwrap();
            match r {
                Ok(r) if r.status() == 200 => {
                    t.batches += 1;
                    t.events += 50;
                }
                Ok(r) => t.error("ingest", Some(r.status().as_u16()), r.status().to_string()),
                Err(e) => t.error("ingest", None, e.to_string()),
            }
        }
    })
    .await;
}

async fn reader(
    base: String,
    key: String,
    shops: usize,
    period: Duration,
    end: Instant,
    r: usize,
    tally: Arc<Mutex<Tally>>,
) {
    let client = reqwest::Client::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1000 + r as u64);
    let tags: Arc<Mutex<HashMap<usize, String>>> = Arc::default();
    paced(period, end, || {
        let i = rng.gen_range(0..shops);
        let (client, base, key, tally, tags) = (&client, &base, &key, &tally, tags.clone());
        async move {
            let mut req = client
                .get(format!("{base}/v1/shops/{}/scorecard", shop(i)))
                .bearer_auth(key);
            if let Some(tag) = tags.lock().unwrap().get(&i) {
                req = req.header("if-none-match", tag);
            }
            let t0 = Instant::now();
            let answer = req.send().await;
            let took = t0.elapsed();
            let mut t = tally.lock().unwrap();
            match answer {
                Ok(a) if a.status() == 200 || a.status() == 304 => {
                    t.reads.push(took);
                    if a.status() == 304 {
                        t.not_modified += 1;
                    } else if let Some(tag) = a.headers().get("etag").and_then(|v| v.to_str().ok())
                    {
                        tags.lock().unwrap().insert(i, tag.to_string());
                    }
                }
                Ok(a) => t.error("read", Some(a.status().as_u16()), a.status().to_string()),
                Err(e) => t.error("read", None, e.to_string()),
            }
        }
    })
    .await;
}

async fn baseline(base: String, end: Instant, tally: Arc<Mutex<Tally>>) {
    let client = reqwest::Client::new();
    paced(Duration::from_millis(100), end, || {
        let (client, base, tally) = (&client, &base, &tally);
        async move {
            let t0 = Instant::now();
            let ok = client
                .get(format!("{base}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            let took = t0.elapsed();
            let mut t = tally.lock().unwrap();
            if ok {
                t.baseline.push(took);
            } else {
                t.error("healthz", None, "not 200".into());
            }
        }
    })
    .await;
}

/// One reviewed order at a time for a shop of its own; the time from its 200 to the
/// first card counting the review.
async fn probe(
    base: String,
    ingest: String,
    ops: String,
    tick: u64,
    end: Instant,
    tally: Arc<Mutex<Tally>>,
) {
    let client = reqwest::Client::new();
    let shop = "soak-probe";
    let give_up = Duration::from_secs(3 * tick + 30);
    let mut n = 0;
    // Probes start until the end (the last may run past it, up to `give_up`).
    while Instant::now() < end {
        n += 1;
        let id = format!("probe-{n}");
        let at = chrono::Utc::now().to_rfc3339();
        let created = json!({"event_id": format!("{id}-c"), "type": "order.created", "shop_id": shop,
            "occurred_at": at, "data": {"order_id": id, "buyer_id": format!("probe-buyer-{n}"), "amount_cents": 5000}});
        let reviewed = json!({"event_id": format!("{id}-r"), "type": "order.reviewed", "shop_id": shop,
            "occurred_at": at, "data": {"order_id": id, "buyer_id": format!("probe-buyer-{n}"), "rating": "positive"}});
        let posted = client
            .post(format!("{base}/v1/events"))
            .bearer_auth(&ingest)
            .json(&json!([created, reviewed]))
            .send()
            .await;
        if !posted.as_ref().is_ok_and(|r| r.status() == 200) {
            let status = posted.as_ref().ok().map(|r| r.status().as_u16());
            tally
                .lock()
                .unwrap()
                .error("probe ingest", status, format!("{status:?}"));
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        let t0 = Instant::now();
        loop {
            let card = client
                .get(format!("{base}/v1/shops/{shop}/scorecard"))
                .bearer_auth(&ops)
                .send()
                .await;
            let positive = match card {
                Ok(r) if r.status() == 200 => r
                    .json::<Value>()
                    .await
                    .ok()
                    .and_then(|c| c["credit"]["reviews_180d"]["positive"].as_i64()),
                _ => None,
            };
            if positive.is_some_and(|p| p >= n) {
                tally.lock().unwrap().freshness.push(t0.elapsed());
                break;
            }
            if t0.elapsed() > give_up {
                tally.lock().unwrap().error(
                    "freshness",
                    Some(0),
                    format!("probe {n} not seen in {give_up:?}"),
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args();
    println!(
        "## soak: {} shops × {} days, {} s, scheduler tick {} s, {} producers ({} events/s in all), \
         {} readers ({} reads/s in all)",
        a.shops, a.days, a.seconds, a.tick, a.producers, a.events_per_second, a.readers, a.reads_per_second
    );
    let pool = fresh_database(DB).await?;
    let now = chrono::Utc::now();
    let policy = shopscore::policy::Policy::default_policy();
    let opts = shopscore::demo::DemoOptions {
        shops: a.shops,
        days: a.days,
        seed: 1,
        end: now,
    };
    let t = Instant::now();
    let loaded = shopscore::demo::run(&pool, &policy, &opts, now, None).await?;
    println!(
        "demo loaded and recomputed: {} events in {:.1} s",
        loaded.events,
        t.elapsed().as_secs_f64()
    );
    let (_, ops) = create_key(&pool, Role::Ops, &[], Some("soak ops")).await?;
    pool.close().await;
    let tick = a.tick.to_string();
    let server = Server::start(
        DB,
        Role::Ingest,
        &[],
        &[("SHOPSCORE_RECOMPUTE_INTERVAL", &tick)],
    )
    .await?;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let start = Instant::now();
    let end = start + Duration::from_secs(a.seconds);
    let mut tasks = Vec::new();
    // Each producer posts batches of 50 at its share of the rate.
    let batches_per_second = (a.events_per_second as f64 / 50.0).max(0.1);
    let period = Duration::from_secs_f64(a.producers as f64 / batches_per_second);
    for p in 0..a.producers {
        tasks.push(tokio::spawn(producer(
            server.base.clone(),
            server.key.clone(),
            a.shops,
            period,
            end,
            p,
            tally.clone(),
        )));
    }
    let period = Duration::from_secs_f64(a.readers as f64 / a.reads_per_second.max(1) as f64);
    for r in 0..a.readers {
        tasks.push(tokio::spawn(reader(
            server.base.clone(),
            ops.clone(),
            a.shops,
            period,
            end,
            r,
            tally.clone(),
        )));
    }
    tasks.push(tokio::spawn(baseline(
        server.base.clone(),
        end,
        tally.clone(),
    )));
    tasks.push(tokio::spawn(probe(
        server.base.clone(),
        server.key.clone(),
        ops.clone(),
        a.tick,
        end,
        tally.clone(),
    )));
    // RSS every 10 s (every 2 s in a short run).
    let every = Duration::from_secs(if a.seconds >= 60 { 10 } else { 2 });
    let mut rss = Vec::new();
    while Instant::now() < end {
        tokio::time::sleep(every.min(end.saturating_duration_since(Instant::now()))).await;
        rss.push((start.elapsed().as_secs(), server.rss_mib().1));
    }
    for t in tasks {
        t.await?;
    }
    let (peak, _) = server.rss_mib();
    server.stop().await;
    drop_database(DB).await?;

    let t = tally.lock().unwrap();
    let secs = a.seconds as f64;
    println!(
        "ingest: {} batches, {} events ({:.0} events/s); reads: {} ({:.0}/s, {:.0} % answered 304)",
        t.batches,
        t.events,
        t.events as f64 / secs,
        t.reads.len(),
        t.reads.len() as f64 / secs,
        100.0 * t.not_modified as f64 / t.reads.len().max(1) as f64
    );
    println!(
        "errors: {} ({} server errors or no answer){}",
        t.errors.len(),
        t.server_errors,
        t.errors
            .iter()
            .take(3)
            .map(|(w, e)| format!("; {w}: {e}"))
            .collect::<String>()
    );
    println!(
        "read latency: p50 {:.2} ms, p99 {:.2} ms (target ≤ 50 ms); baseline /healthz under the same load: p50 {:.2} ms, p99 {:.2} ms",
        pct(&t.reads, 0.5),
        pct(&t.reads, 0.99),
        pct(&t.baseline, 0.5),
        pct(&t.baseline, 0.99)
    );
    println!(
        "freshness (an event's 200 → a card counting it), {} probes: p50 {:.1} s, p99 {:.1} s, max {:.1} s (target ≤ tick + 10 s = {} s)",
        t.freshness.len(),
        pct(&t.freshness, 0.5) / 1000.0,
        pct(&t.freshness, 0.99) / 1000.0,
        pct(&t.freshness, 1.0) / 1000.0,
        a.tick + 10
    );
    let series: Vec<String> = rss.iter().map(|(s, m)| format!("{s}s {m:.0}")).collect();
    println!("RSS MiB over time: {}", series.join(", "));
    let warm = rss.get(rss.len() / 5).map_or(f64::NAN, |x| x.1);
    let last = rss.last().map_or(f64::NAN, |x| x.1);
    println!(
        "RSS after the warm-up (first fifth) {warm:.0} MiB, at the end {last:.0} MiB ({:+.0} MiB); peak {peak:.0} MiB",
        last - warm
    );
    // Single samples spike (a recompute's batch in flight): medians of the third and
    // the last quarter say whether the level still moves.
    let quarter = |q: usize| {
        let n = rss.len();
        let mut v: Vec<f64> = rss[n * q / 4..n * (q + 1) / 4]
            .iter()
            .map(|x| x.1)
            .collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let (third, fourth) = (quarter(2), quarter(3));
    println!(
        "RSS median of the third quarter {third:.0} MiB, of the last {fourth:.0} MiB ({:+.0} MiB)",
        fourth - third
    );
    Ok(())
}
