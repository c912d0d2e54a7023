//! Every advisory lock shopscore takes, in one place, so that no two share a key.
//!
//! The three service-wide locks are one `bigint` each; a run's lock is the pair
//! `(RUN_CLASS, id)`, so it can never equal one of them (Postgres keeps the one-key and
//! two-key forms apart). Keys are part of the protocol between replicas: changing one
//! lets an old and a new replica run side by side during a deploy.

use sqlx::PgConnection;

/// Serialises recomputes (API, CLI and scheduler) across replicas.
pub const RECOMPUTE: i64 = 0x5_5c04_e000;
/// Held by the replica whose scheduler ticks; the others skip their tick.
pub const SCHEDULER: i64 = 0x5_5c04_e001;
/// Keeps folds one at a time: two at once could let the one with the older snapshot
/// write its row last.
pub const FOLD: i64 = 0x5_5c04_e002;
// Two locks sharing a key would exclude each other's holders: a build error.
const _: () = assert!(RECOMPUTE != SCHEDULER && SCHEDULER != FOLD && FOLD != RECOMPUTE);
/// First key of a run's lock (the second is the run's id, [`run_key`]).
pub const RUN_CLASS: i32 = 0x55c0_0001;

/// Takes `key` until the transaction on `conn` ends (waiting for it).
pub async fn for_transaction(conn: &mut PgConnection, key: i64) -> Result<(), sqlx::Error> {
    sqlx::query(include_str!("sql/lock_xact.sql"))
        .bind(key)
        .execute(conn)
        .await
        .map(drop)
}

/// Takes `key` for the session of `conn` if nobody holds it.
pub async fn try_for_session(conn: &mut PgConnection, key: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(include_str!("sql/lock_try.sql"))
        .bind(key)
        .fetch_one(conn)
        .await
}

/// Takes run `id`'s lock for the session of `conn` (waiting for it).
pub async fn run(conn: &mut PgConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(include_str!("sql/run_lock.sql"))
        .bind(RUN_CLASS)
        .bind(run_key(id))
        .execute(conn)
        .await
        .map(drop)
}

/// Takes run `id`'s lock for the session of `conn` if nobody holds it.
pub async fn try_run(conn: &mut PgConnection, id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(include_str!("sql/run_lock_try.sql"))
        .bind(RUN_CLASS)
        .bind(run_key(id))
        .fetch_one(conn)
        .await
}

/// Releases run `id`'s lock held by the session of `conn`.
pub async fn release_run(conn: &mut PgConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(include_str!("sql/run_unlock.sql"))
        .bind(RUN_CLASS)
        .bind(run_key(id))
        .execute(conn)
        .await
        .map(drop)
}

/// Releases every session lock `conn` holds.
pub async fn release_all(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(include_str!("sql/unlock_all.sql"))
        .execute(conn)
        .await
        .map(drop)
}

/// The second key of a run's lock: ids wrap into `int4` (billions of runs apart).
pub fn run_key(id: i64) -> i32 {
    (id % i64::from(i32::MAX)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_keys_wrap_into_int4() {
        assert_eq!(run_key(1), 1);
        assert_eq!(run_key(i64::from(i32::MAX)), 0);
        assert_eq!(run_key(i64::from(i32::MAX) + 5), 5);
    }
}
