//! SPEC §6: every `interval`, recompute the shops that received events since their last
//! scorecard; at every local midnight, recompute all shops (which, on the 1st, settles
//! the month just ended). One replica runs a job at a time: the job holds a Postgres
//! advisory lock on one dedicated connection for its whole run, and a replica that does
//! not get it skips the tick. A failed run is simply retried at the next tick.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use sqlx::PgPool;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::recompute::recompute;
use crate::policy::Policy;

const SCHEDULER_LOCK: i64 = 0x5_5c04_e001;

pub async fn run(
    pool: PgPool,
    policy: Arc<Policy>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_full: Option<NaiveDate> = Some(Utc::now().with_timezone(&policy.tz).date_naive());
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let today = Utc::now().with_timezone(&policy.tz).date_naive();
        let full = last_full != Some(today);
        match tick(&pool, &policy, full).await {
            Ok(Some(n)) => {
                if full {
                    last_full = Some(today);
                }
                if n > 0 {
                    tracing::info!(shops = n, full, "scheduled recompute done");
                }
            }
            Ok(None) => tracing::debug!("another replica holds the scheduler lock"),
            Err(e) => {
                ::metrics::counter!("shopscore_job_failures_total", "job" => "recompute")
                    .increment(1);
                tracing::warn!(error = %e, "scheduled recompute failed; retrying next tick");
            }
        }
    }
}

/// One tick: `Ok(None)` when another replica is running a job.
async fn tick(pool: &PgPool, policy: &Policy, full: bool) -> anyhow::Result<Option<usize>> {
    let mut conn = pool.acquire().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(SCHEDULER_LOCK)
        .fetch_one(&mut *conn)
        .await?;
    if !locked {
        return Ok(None);
    }
    let started = std::time::Instant::now();
    let result = async {
        let shops: Option<Vec<String>> = if full {
            None
        } else {
            Some(
                sqlx::query_scalar(
                    "SELECT DISTINCT unnest(shop_ids) AS shop_id FROM dirty_marks ORDER BY 1",
                )
                .fetch_all(pool)
                .await?,
            )
        };
        if shops.as_ref().is_some_and(Vec::is_empty) {
            return Ok(0);
        }
        let out = recompute(pool, policy, Utc::now(), shops.as_deref()).await?;
        anyhow::Ok(out.shops_scored)
    }
    .await;
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(SCHEDULER_LOCK)
        .execute(&mut *conn)
        .await;
    let job = if full { "full" } else { "dirty" };
    ::metrics::histogram!("shopscore_job_seconds", "job" => job)
        .record(started.elapsed().as_secs_f64());
    result.map(Some)
}
