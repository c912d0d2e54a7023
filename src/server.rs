//! `shopscore serve`: the API, the scheduler, the background fold of ingested orders
//! and conversations, and the webhook delivery worker, with graceful shutdown on
//! SIGTERM.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::AppState;
use crate::config::ServeOpts;
use crate::jobs::runtime::Jobs;
use crate::jobs::scheduler::Scheduler;
use crate::policy::Policy;
use crate::router::router;
use crate::webhook::worker::{self, Worker, WorkerOpts};

/// The recompute runtime's connections: a scheduled run's own and its three batches',
/// a requested run waiting for the recompute lock (one at a time, `Jobs::run_one`), and
/// spares for the fold and the scheduler's queries. (The locks of runs are held on
/// connections of their own, outside any pool.)
const JOBS_CONNECTIONS: u32 = 10;

pub async fn serve(
    pool: PgPool,
    policy: Arc<Policy>,
    replica: String,
    opts: ServeOpts,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(opts.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, policy_version = %policy.version, %replica, "shopscore listening");
    // Recomputes (scheduled or requested) run on a runtime of their own, at a lower
    // priority, with their own connections (`jobs::runtime`).
    let jobs_runtime = crate::jobs::runtime::build()?;
    let jobs = Jobs::new(
        jobs_runtime.handle().clone(),
        crate::db::another_pool(&pool, JOBS_CONNECTIONS),
    );
    let mut state = AppState::new(pool.clone(), policy.clone(), &opts.http)
        .with_replica(&replica)
        .with_jobs(jobs.clone());
    let shutdown = CancellationToken::new();
    if let Some(url) = &opts.read_database_url {
        state = state.with_read_pool(crate::db::connect_read(url, 16)?);
        tracing::info!("reads that may lag go to the read pool (DATABASE_READ_URL)");
        tokio::spawn(watch_pools(state.clone(), shutdown.clone()));
    }
    let worker = Worker::new(
        pool.clone(),
        state.clock.clone(),
        WorkerOpts {
            timeout: Duration::from_secs(opts.webhook_timeout),
            disable_after: Duration::from_secs(opts.webhook_disable_after_hours * 3600),
            tz: policy.tz,
            refuse_private: !opts.http.webhook_allow_private,
        },
    );
    let mut subscribers = state.cache_subscribers();
    subscribers.push((worker::CHANNEL, Arc::new(worker::Wake(worker.wake.clone()))));
    let caches = tokio::spawn(crate::cache::listen(
        pool.clone(),
        subscribers,
        shutdown.clone(),
    ));
    let deliveries = tokio::spawn(worker.run(shutdown.clone()));
    let folder = tokio::spawn(
        state
            .ingest
            .writer
            .clone()
            .fold_in_background(shutdown.clone()),
    );
    let scheduler = (!opts.no_scheduler).then(|| {
        let scheduler = Scheduler {
            pool: jobs.pool.clone(),
            policy,
            clock: state.clock.clone(),
            interval: Duration::from_secs(opts.recompute_interval),
            replica,
            keep_all: Duration::from_secs(opts.keep_all_hours * 3600),
        };
        jobs.handle.spawn(scheduler.run(shutdown.clone()))
    });
    tokio::spawn(upkeep(state.clone(), shutdown.clone()));
    let flag = state.shutting_down.clone();
    let token = shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutdown requested: draining requests");
        flag.store(true, Ordering::Relaxed);
        token.cancel();
    });
    axum::serve(listener, router(state, &opts.http))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    // A run in progress stops at its next check and is recorded before we exit.
    if let Some(s) = scheduler {
        let _ = s.await;
    }
    let _ = caches.await;
    let _ = folder.await;
    let _ = deliveries.await;
    // Nothing runs there any more (a requested recompute ended with its request).
    drop(jobs_runtime);
    tracing::info!("stopped");
    Ok(())
}

/// What keeps memory flat however long `serve` runs: every 5 s, the Prometheus
/// recorder's histograms drained into their summaries (the recorder is built without the
/// exporter's own upkeep task, and until it runs every request's latency sample is kept:
/// the soak bench found RSS growing 15 MiB a minute when nobody scraped `/metrics`);
/// every 10 s, freed heap memory handed back to the system (`release_free_memory`);
/// every minute, quota buckets that have refilled dropped (`auth::quota`).
async fn upkeep(state: AppState, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = every.tick() => {}
        }
        crate::telemetry::prometheus().run_upkeep();
        ticks += 1;
        if ticks % 2 == 0 {
            // Not on an async worker: it takes 8-15 ms under the soak's full load.
            let _ = tokio::task::spawn_blocking(release_free_memory).await;
        }
        if ticks % 12 == 0 {
            let left = state.quotas.trim(std::time::Instant::now());
            metrics::gauge!("shopscore_rate_limit_buckets").set(left as f64);
        }
    }
}

/// Hands the allocator's free pages back to the system. glibc returns freed memory by
/// itself only from the top of a heap; what a recompute's batches or a large ingest
/// request free in the middle stays resident, and over hours RSS drifts up to the
/// fragmented high-water mark of all of them (the soak bench: ~5 MiB a minute under the
/// full load). `malloc_trim` releases every whole free page of every arena; it walks
/// the free lists with each arena locked in turn (8-15 ms under that load,
/// `shopscore_malloc_trim_seconds`). With it, RSS under the soak's full load stays at
/// 96-98 MiB from the fifth minute to the fifteenth (BENCHMARKS.md, "Soak").
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let t = std::time::Instant::now();
        // SAFETY: malloc_trim only returns free memory to the system; any thread may
        // call it at any time.
        unsafe { libc::malloc_trim(0) };
        metrics::histogram!("shopscore_malloc_trim_seconds").record(t.elapsed().as_secs_f64());
    }
}

/// With a read pool: every second, whether the primary answers (keys are looked up on
/// the read pool while it does not) and how far the replica is behind
/// (`shopscore_read_replica_lag_seconds`; -1 while the replica does not answer).
async fn watch_pools(state: AppState, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    let second = Duration::from_secs(1);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = every.tick() => {}
        }
        let up = matches!(
            tokio::time::timeout(second, crate::db::ping(&state.pool)).await,
            Ok(Ok(()))
        );
        if up != state.primary_up.swap(up, Ordering::Relaxed) {
            if up {
                tracing::info!("the primary answers again");
            } else {
                tracing::warn!("the primary does not answer: keys are looked up on the read pool");
            }
        }
        metrics::gauge!("shopscore_primary_up").set(if up { 1.0 } else { 0.0 });
        let lag = match tokio::time::timeout(second, crate::db::replica_lag(&state.read_pool)).await
        {
            Ok(Ok(seconds)) => seconds,
            _ => -1.0,
        };
        metrics::gauge!("shopscore_read_replica_lag_seconds").set(lag);
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    /// This process's resident anonymous memory, in KiB.
    fn rss_anon_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("RssAnon:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn freed_memory_in_the_middle_of_a_heap_goes_back_to_the_system() {
        // On a thread of its own (an arena of its own, as a recompute's batches are):
        // 100 MiB in 64 KiB blocks, every other one freed. None of the freed blocks is
        // at the top of the heap, so glibc keeps them all resident by itself.
        std::thread::spawn(|| {
            let mut blocks: Vec<Vec<u8>> = (0..1600).map(|i| vec![i as u8; 64 * 1024]).collect();
            let mut kept = Vec::new();
            for (i, b) in blocks.drain(..).enumerate() {
                if i % 2 == 0 {
                    kept.push(b);
                }
            }
            let before = rss_anon_kib();
            super::release_free_memory();
            let after = rss_anon_kib();
            // 50 MiB were freed; at least 40 MiB must leave (other tests allocate
            // meanwhile, never that much).
            assert!(
                before.saturating_sub(after) > 40 * 1024,
                "RssAnon {before} KiB -> {after} KiB"
            );
            assert_eq!(kept.len(), 800);
        })
        .join()
        .unwrap();
    }
}
