//! What is kept (SPEC §6, §7): every snapshot for a recent window (`--keep-all-hours`,
//! default 48), then one per shop per local day, the last of the day. The daily run
//! prunes the rest, 500 shops per statement so no transaction grows with the table.
//! Runs on record that are not daily ones are kept 30 days.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;

/// Shops whose snapshots one statement prunes.
const SHOPS_PER_BATCH: i64 = 500;
/// Days a `dirty` or `recompute` run stays on record.
const RUN_DAYS: i64 = 30;

/// Deletes every snapshot older than `keep_from` that is not the last of its shop's
/// local day. Returns how many went.
pub async fn prune_snapshots(
    pool: &PgPool,
    tz: Tz,
    keep_from: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let mut after = String::new();
    let mut pruned = 0;
    loop {
        let (last, n): (Option<String>, i64) =
            sqlx::query_as(include_str!("sql/prune_snapshots.sql"))
                .bind(keep_from)
                .bind(tz.name())
                .bind(&after)
                .bind(SHOPS_PER_BATCH)
                .fetch_one(pool)
                .await?;
        pruned += n as u64;
        match last {
            Some(l) => after = l,
            None => break,
        }
    }
    metrics::counter!("shopscore_snapshots_pruned_total").increment(pruned);
    Ok(pruned)
}

/// Deletes `dirty` and `recompute` runs that ended more than 30 days before `now`.
pub async fn prune_runs(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(include_str!("sql/prune_runs.sql"))
        .bind(now - Duration::days(RUN_DAYS))
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
