//! HTTP ingest under concurrent producers, against `COPY` of the same rows measured in
//! the same run. Not a timed test: it prints figures, you compare.
//!
//!     cargo bench --bench ingest -- [--events N] [--shops N] [--producers 1,4,8]
//!                                   [--big-batches N] [--batch-sizes 100,1000,5000,10000]
//!                                   [--size-producers 4] [--order-events N] [--direct]
//!                                   [--verbose] [--tiny]
//!
//! What it does, each phase on a fresh database and a fresh `shopscore serve` process
//! (the real binary, `--no-scheduler`, default settings but for the rate limit):
//! 1. generates a marketplace (`demo::generate`) over `--shops` shops, shuffles it, and
//!    cuts it into NDJSON batches of 1 000 events, each spanning many shops;
//! 2. baseline: one `COPY … FROM STDIN` of the same events (the columns of `events`:
//!    ids, type, time, data as jsonb, content hash) into a bare table keyed like
//!    `events`;
//! 3. for each producer count: that many concurrent HTTP clients post the batches;
//!    events/s, the ratio to COPY, p50/p99 latency of a request, any non-200, and the
//!    CPU each event cost Postgres (every `postgres` process, so run it alone on the
//!    database server) and the server process, read from `/proc` around the phase;
//!    the COPY baseline prints Postgres's CPU per row beside it. On two cores, 0.5 ×
//!    COPY leaves an event about four times the CPU COPY spends on a row, in all;
//! 4. memory: 8 producers post maximum-size batches (10 000 events, each with a
//!    2 000-character note, ~24 MiB of NDJSON) and the server's peak RSS (VmHWM) is read;
//! 5. batch sizes: another workload, `--order-events` (200 000) events of few types over
//!    `--shops` shops (each order created, paid, shipped and reviewed, with one buyer
//!    chat message), in time order as a marketplace's stream sends them, posted by 4
//!    producers (`--size-producers`) in batches of each of `--batch-sizes`, each size on a fresh database
//!    and server, against `COPY` of the same rows (median of three) in the same run.
//!    With `--direct`, each size is also written without HTTP, by as many tasks calling
//!    `ingest::write_batch`, and then folded: Postgres's CPU per event for the
//!    statements alone and for the fold (which `serve` runs every 40 000 events).
//!
//! `--tiny` runs every phase on a few thousand events: CI uses it to prove the bench
//! works (`cargo test --bench ingest -- --tiny` reuses the test build).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::{json, Value};
use tokio::sync::Mutex;

mod common;
use common::{drop_database, fresh_database, Server};

struct Args {
    events: usize,
    shops: usize,
    producers: Vec<usize>,
    big_batches: usize,
    big_events: usize,
    batch_sizes: Vec<usize>,
    /// Producers of the batch-size phase.
    size_producers: usize,
    order_events: usize,
    /// Print where each transaction's time went (the server's per-statement histograms).
    verbose: bool,
    /// Batch sizes also written without HTTP (`ingest::write_batch`), then folded.
    direct: bool,
}

fn args() -> Args {
    let mut a = Args {
        events: 120_000,
        shops: 2_000,
        producers: vec![1, 4, 8],
        big_batches: 2,
        big_events: 10_000,
        batch_sizes: vec![100, 1_000, 5_000, 10_000],
        size_producers: 4,
        order_events: 200_000,
        verbose: false,
        direct: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut num = || common::number(&mut it);
        match flag.as_str() {
            "--events" => a.events = num(),
            "--shops" => a.shops = num(),
            "--big-batches" => a.big_batches = num(),
            "--producers" => a.producers = common::numbers(&mut it),
            "--batch-sizes" => a.batch_sizes = common::numbers(&mut it),
            "--size-producers" => a.size_producers = num(),
            "--order-events" => a.order_events = num(),
            "--verbose" => a.verbose = true,
            "--direct" => a.direct = true,
            "--tiny" => {
                a.events = 3_000;
                a.shops = 50;
                a.big_batches = 1;
                a.big_events = 1_000;
                a.batch_sizes = vec![100, 1_000];
                a.order_events = 2_000;
                a.direct = true;
            }
            _ => {} // `--bench`, added by cargo
        }
    }
    a
}

/// What N producers posting `bodies` measured.
struct Run {
    seconds: f64,
    latencies: Vec<Duration>,
    failures: Vec<String>,
}

impl Run {
    fn percentile(&self, p: f64) -> Duration {
        let mut v = self.latencies.clone();
        v.sort();
        let i = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
        v[i]
    }
}

async fn post_all(server: &Server, bodies: &[Bytes], producers: usize) -> Run {
    let queue = Arc::new(Mutex::new(bodies.iter().rev().cloned().collect::<Vec<_>>()));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..producers {
        let (queue, client) = (queue.clone(), client.clone());
        let url = format!("{}/v1/events", server.base);
        let key = server.key.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = Vec::new();
            loop {
                let Some(body) = queue.lock().await.pop() else {
                    break;
                };
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .bearer_auth(&key)
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(t.elapsed());
                    }
                    Ok(r) => failures.push(format!(
                        "{}: {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    )),
                    Err(e) => failures.push(e.to_string()),
                }
            }
            (latencies, failures)
        }));
    }
    let mut run = Run {
        seconds: 0.0,
        latencies: Vec::new(),
        failures: Vec::new(),
    };
    for t in tasks {
        let (l, f) = t.await.expect("producer");
        run.latencies.extend(l);
        run.failures.extend(f);
    }
    run.seconds = started.elapsed().as_secs_f64();
    run
}

/// `COPY` of the events into a bare table keyed like `events`, `chunk` rows per COPY
/// (each its own transaction): the baseline. Events/s, and Postgres's CPU per row (µs).
async fn copy_baseline(
    db: &str,
    events: &[shopscore::ingest::Event],
    chunk: usize,
) -> anyhow::Result<(f64, f64)> {
    let pool = fresh_database(db).await?;
    common::create_copy_table(&pool).await?;
    let chunks: Vec<Vec<u8>> = (events.chunks(chunk))
        .map(|c| {
            let mut csv = Vec::with_capacity(c.len() * 256);
            c.iter().for_each(|e| common::csv_row(e, &mut csv));
            csv
        })
        .collect();
    let mut conn = pool.acquire().await?;
    let cpu = common::cpu_seconds(None);
    let t = Instant::now();
    let mut rows = 0;
    for csv in chunks {
        let mut copy = conn.copy_in_raw(common::COPY_IN).await?;
        copy.send(csv).await?;
        rows += copy.finish().await?;
    }
    let secs = t.elapsed().as_secs_f64();
    let cpu = (common::cpu_seconds(None) - cpu) * 1e6 / events.len() as f64;
    assert_eq!(rows as usize, events.len());
    drop(conn);
    pool.close().await;
    Ok((events.len() as f64 / secs, cpu))
}

/// The baseline: three COPYs of all of `events`, as COPY is noisy from run to run
/// (checkpoints, the disk). Their rates in ascending order (the middle one is the
/// baseline), and the middle run's Postgres CPU per row (µs).
async fn copy_median_of_three(
    db: &str,
    events: &[shopscore::ingest::Event],
) -> anyhow::Result<([f64; 3], f64)> {
    let mut copies = Vec::new();
    for _ in 0..3 {
        copies.push(copy_baseline(db, events, events.len()).await?);
    }
    copies.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(([copies[0].0, copies[1].0, copies[2].0], copies[1].1))
}

/// The sums of `shopscore_ingest_step_seconds` by step (the one statement that writes a
/// batch, and its commit), from `/metrics`.
async fn print_statement_times(server: &Server) {
    let Ok(r) = reqwest::get(format!("{}/metrics", server.base)).await else {
        return;
    };
    let text = r.text().await.unwrap_or_default();
    let mut rows: Vec<(String, f64)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("shopscore_ingest_step_seconds_sum{step=\""))
        .filter_map(|l| {
            let (table, rest) = l.split_once("\"}")?;
            Some((table.to_string(), rest.trim().parse().ok()?))
        })
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let total: f64 = rows.iter().map(|r| r.1).sum();
    let parts: Vec<String> = rows.iter().map(|(t, s)| format!("{t} {s:.2}")).collect();
    println!(
        "    step seconds (sum over requests, {total:.2} in all): {}",
        parts.join(", ")
    );
}

fn ndjson(items: &[Value]) -> Bytes {
    let mut out = Vec::new();
    for v in items {
        serde_json::to_writer(&mut out, v).expect("serialises");
        out.push(b'\n');
    }
    out.into()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args();
    let db = "shopscore_bench_ingest";

    // The marketplace, shuffled so that a batch spans many shops.
    let days = 3;
    // The demo writes about 2 + 4 × orders events per shop and day.
    let per_shop_day = a.events.div_ceil(a.shops * days as usize);
    let per_day = per_shop_day.saturating_sub(2).div_ceil(4) + 1;
    let mut items = shopscore::demo::generate(a.shops, days, per_day, 11, chrono::Utc::now());
    items.shuffle(&mut rand::rngs::StdRng::seed_from_u64(11));
    items.truncate(a.events);
    let now = chrono::Utc::now();
    let events: Vec<_> = items
        .iter()
        .enumerate()
        .map(|(i, v)| shopscore::ingest::validate(i, v, now).expect("valid"))
        .collect();
    let bodies: Vec<Bytes> = items.chunks(1000).map(ndjson).collect();
    let shops_per_batch = items[..1000.min(items.len())]
        .iter()
        .map(|v| v["shop_id"].as_str().unwrap_or(""))
        .collect::<std::collections::HashSet<_>>()
        .len();
    println!(
        "{} events over {} shops in {} NDJSON batches of 1 000 (the first spans {shops_per_batch} shops)",
        items.len(),
        a.shops,
        bodies.len()
    );

    let (copies, copy_cpu) = copy_median_of_three(db, &events).await?;
    let copy = copies[1];
    println!(
        "baseline: COPY into a bare keyed table: {copy:.0} events/s (median of {:.0}, {:.0}, {:.0}); \
         Postgres CPU {copy_cpu:.1} µs per row",
        copies[0], copies[1], copies[2]
    );
    // For reference, not the ratio's base: one producer's COPY with a commit per batch.
    let (batched, _) = copy_baseline(db, &events, 1000).await?;
    println!("  (COPY of 1 000 rows per transaction, one after another: {batched:.0} events/s)");
    println!();
    println!("| producers | events/s | × COPY | p50 | p99 | non-200 | CPU per event: Postgres / server |");
    println!("|---|---|---|---|---|---|---|");
    for &p in &a.producers {
        phase(
            db,
            &bodies,
            p,
            items.len(),
            copy,
            &format!("{p}"),
            a.verbose,
        )
        .await?;
    }

    if a.big_batches > 0 {
        memory(&a, db).await?;
    }
    if !a.batch_sizes.is_empty() {
        batch_sizes(&a, db).await?;
    }
    drop_database(db).await?;
    Ok(())
}

/// Memory: 8 producers posting the largest batches the API takes.
async fn memory(a: &Args, db: &str) -> anyhow::Result<()> {
    let note = "n".repeat(2000);
    let big: Vec<Bytes> = (0..8 * a.big_batches)
        .map(|b| {
            let items: Vec<Value> = (0..a.big_events)
                .map(|i| {
                    json!({"event_id": format!("big-{b}-{i}"), "type": "integrity.flagged",
                           "shop_id": format!("big-shop-{}", i % a.shops),
                           "occurred_at": "2026-10-01T10:00:00+08:00",
                           "data": {"kind": "other", "note": note}})
                })
                .collect();
            ndjson(&items)
        })
        .collect();
    let server = Server::fresh(db).await?;
    let (_, idle) = server.rss_mib();
    let run = post_all(&server, &big, 8).await;
    let (peak, after) = server.rss_mib();
    println!();
    println!(
        "memory: 8 producers, {} batches of {} events ({:.1} MiB each): peak RSS {peak:.0} MiB \
         (idle {idle:.0} MiB, after {after:.0} MiB); {:.0} events/s; non-200: {}",
        big.len(),
        a.big_events,
        big[0].len() as f64 / (1024.0 * 1024.0),
        (big.len() * a.big_events) as f64 / run.seconds,
        run.failures.len()
    );
    for f in run.failures.iter().take(3) {
        println!("    failure: {f}");
    }
    server.stop().await;
    Ok(())
}

/// The few-types workload: every order of `n / 5` created, paid, shipped and reviewed,
/// with one buyer chat message, over `shops` shops and the ten days before `now`, in
/// time order (batches then hold the events of many shops and orders, and an order's
/// events fall in several batches, as from a live stream).
fn order_stream(n: usize, shops: usize, now: chrono::DateTime<chrono::Utc>) -> Vec<Value> {
    let (m, h) = (chrono::Duration::minutes, chrono::Duration::hours);
    let orders = n.div_ceil(5);
    let start = now - chrono::Duration::days(10);
    let span = (h(24 * 6).num_seconds() as usize / orders.max(1)).max(1) as i64;
    let mut out: Vec<(chrono::DateTime<chrono::Utc>, Value)> = Vec::with_capacity(orders * 5);
    for o in 0..orders {
        let shop = format!("bs-shop-{:04}", o % shops);
        let order = format!("o-{o}");
        let at = start + chrono::Duration::seconds(o as i64 * span);
        let buyer = format!("b-{}", o % 997);
        for (i, (kind, when, data)) in [
            ("chat.message", at - m(5), json!({"conversation_id": format!("c-{o}"), "sender": "buyer"})),
            ("order.created", at, json!({"order_id": order, "buyer_id": buyer, "amount_cents": 1000 + o % 5000})),
            ("order.paid", at + m(2), json!({"order_id": order})),
            ("order.shipped", at + h(20), json!({"order_id": order, "carrier": "SF"})),
            ("order.reviewed", at + h(70), json!({"order_id": order, "buyer_id": buyer, "rating": "positive",
                                                  "dsr": {"description": 5, "service": 5, "logistics": 4}})),
        ]
        .into_iter()
        .enumerate()
        {
            out.push((
                when,
                json!({"event_id": format!("bs-{o}-{i}"), "type": kind, "shop_id": shop,
                       "occurred_at": when.to_rfc3339(), "data": data}),
            ));
        }
    }
    out.sort_by_key(|(t, _)| *t);
    out.truncate(n);
    out.into_iter().map(|(_, v)| v).collect()
}

/// Batch sizes: the few-types workload posted by `--size-producers` producers in batches of each size,
/// against COPY of the same rows.
async fn batch_sizes(a: &Args, db: &str) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let items = order_stream(a.order_events, a.shops, now);
    let events: Vec<_> = items
        .iter()
        .enumerate()
        .map(|(i, v)| shopscore::ingest::validate(i, v, now).expect("valid"))
        .collect();
    let (copies, copy_cpu) = copy_median_of_three(db, &events).await?;
    let copy = copies[1];
    println!();
    println!(
        "batch sizes: {} events of 5 types (orders created, paid, shipped, reviewed; one chat \
         message each) over {} shops, in time order, {} producers; baseline COPY {copy:.0} events/s \
         (median of {:.0}, {:.0}, {:.0}), Postgres CPU {copy_cpu:.1} µs per row",
        items.len(),
        a.shops,
        a.size_producers,
        copies[0],
        copies[1],
        copies[2]
    );
    println!();
    println!(
        "| events per batch | batches | events/s | × COPY | p50 | p99 | non-200 | CPU per event: Postgres / server |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for &size in &a.batch_sizes {
        if a.direct {
            direct(db, &events, size, a.size_producers).await?;
        }
        let bodies: Vec<Bytes> = items.chunks(size.max(1)).map(ndjson).collect();
        let label = format!("{size} | {}", bodies.len());
        phase(
            db,
            &bodies,
            a.size_producers,
            items.len(),
            copy,
            &label,
            a.verbose,
        )
        .await?;
    }
    Ok(())
}

/// `--direct`: the batches of `size` written straight through `ingest::write_batch` by
/// `writers` tasks on a fresh database (no HTTP, no server), then one fold of all they
/// queued: what the statement itself and the fold cost Postgres, apart from the
/// server's share and the HTTP round trips. Prints a table row of its own.
async fn direct(
    db: &str,
    events: &[shopscore::ingest::Event],
    size: usize,
    writers: usize,
) -> anyhow::Result<()> {
    let pool = fresh_database(db).await?;
    let batches: Vec<Vec<shopscore::ingest::Event>> =
        events.chunks(size.max(1)).map(<[_]>::to_vec).collect();
    let queue = Arc::new(Mutex::new(batches.into_iter()));
    let retry = shopscore::db::retry::RetryPolicy::default();
    let cpu = common::cpu_seconds(None);
    let t = Instant::now();
    let tasks: Vec<_> = (0..writers.max(1))
        .map(|_| {
            let (queue, pool) = (queue.clone(), pool.clone());
            tokio::spawn(async move {
                loop {
                    let Some(batch) = queue.lock().await.next() else {
                        return Ok::<(), shopscore::ingest::WriteError>(());
                    };
                    shopscore::ingest::write_batch(&pool, &batch, &retry).await?;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let (seconds, written) = (t.elapsed().as_secs_f64(), common::cpu_seconds(None));
    let folded = shopscore::ingest::fold_queued(&pool).await?;
    let per_event = |cpu: f64| cpu * 1e6 / events.len() as f64;
    println!(
        "| {size}, direct ({writers} writers, no HTTP) | | {:.0} | | | | | {:.1} µs; \
         then the fold ({} orders, {} conversations): {:.1} µs |",
        events.len() as f64 / seconds,
        per_event(written - cpu),
        folded.orders,
        folded.conversations,
        per_event(common::cpu_seconds(None) - written),
    );
    pool.close().await;
    Ok(())
}

/// One phase on a fresh database and server: `producers` post `bodies` (`events` in
/// all); prints a table row that starts with `label`: events/s, the ratio to `copy`,
/// p50 and p99 of a request, non-200s (and the first three failures).
async fn phase(
    db: &str,
    bodies: &[Bytes],
    producers: usize,
    events: usize,
    copy: f64,
    label: &str,
    verbose: bool,
) -> anyhow::Result<()> {
    let server = Server::fresh(db).await?;
    let pid = server.child.id();
    let (pg, own) = (common::cpu_seconds(None), common::cpu_seconds(pid));
    let run = post_all(&server, bodies, producers).await;
    let per_event = |before: f64, after: f64| (after - before) * 1e6 / events as f64;
    let (pg, own) = (
        per_event(pg, common::cpu_seconds(None)),
        per_event(own, common::cpu_seconds(pid)),
    );
    let rate = events as f64 / run.seconds;
    println!(
        "| {label} | {rate:.0} | {:.2} | {:.0} ms | {:.0} ms | {} | {pg:.1} / {own:.1} µs |",
        rate / copy,
        run.percentile(0.5).as_secs_f64() * 1e3,
        run.percentile(0.99).as_secs_f64() * 1e3,
        run.failures.len()
    );
    for f in run.failures.iter().take(3) {
        println!("    failure: {f}");
    }
    if verbose {
        print_statement_times(&server).await;
    }
    server.stop().await;
    Ok(())
}
