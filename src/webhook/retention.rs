//! What the webhook tables keep: delivered messages (and their attempts) for
//! `KEEP_DAYS`, then the daily run prunes them, and the events no message refers to
//! any more. Messages that failed for good are kept until their endpoint is deleted,
//! so that a `recover` can still send them.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

/// Days a delivered message stays listed with its attempts.
pub const KEEP_DAYS: i64 = 30;

/// Prunes what is older than `KEEP_DAYS` before `now`; (messages, events) deleted.
pub async fn prune(pool: &PgPool, now: DateTime<Utc>) -> Result<(u64, u64), sqlx::Error> {
    let before = now - Duration::days(KEEP_DAYS);
    let messages = sqlx::query(include_str!("sql/prune_delivered.sql"))
        .bind(before)
        .execute(pool)
        .await?
        .rows_affected();
    let events = sqlx::query(include_str!("sql/prune_events.sql"))
        .bind(before)
        .execute(pool)
        .await?
        .rows_affected();
    Ok((messages, events))
}
