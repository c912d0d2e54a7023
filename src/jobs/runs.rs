//! Runs on record (SPEC §6, table `job_runs`): every scheduled run and every recompute
//! asked for by ops is a row, from `running` to `succeeded` or `failed`.
//!
//! Who may run what is decided in Postgres, never in a process's memory:
//! - a scheduled run claims its `(kind, slot)`, unique, so a slot runs once across
//!   replicas (a `failed` slot may be claimed again);
//! - while a run is `running`, a connection of its own holds the advisory lock
//!   of its id (`db::locks::run`). That connection is not pooled: when the process dies, the
//!   connection closes and Postgres releases the lock, so a `running` row whose lock
//!   can be taken was abandoned, and the scheduler takes it over ([`abandoned`]).

use std::time::Instant;

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection, PgPool};

use super::recompute::{recompute, unknown_shops, RecomputeError, RecomputeOutcome, Stop};
use crate::clock::Clock;
use crate::db::locks;
use crate::policy::Policy;
use crate::time::format_time;

crate::domain::vocabulary! {
    /// What a run was for.
    JobKind {
        /// The shops with events since their last scorecard (every interval).
        Dirty = "dirty",
        /// Every shop, once per local day (on the 1st, this settles the month just ended).
        Daily = "daily",
        /// Asked for by ops (`POST /v1/recompute`, `shopscore recompute`).
        Recompute = "recompute",
    }
}

crate::domain::vocabulary! {
    /// Where a run stands.
    Outcome { Running = "running", Succeeded = "succeeded", Failed = "failed" }
}

/// A connection outside the pool, for holding session advisory locks: it is closed,
/// and its locks released, when dropped, on every path (error, panic, task abort).
pub async fn dedicated(pool: &PgPool) -> Result<PgConnection, sqlx::Error> {
    PgConnection::connect_with(&pool.connect_options()).await
}

/// A run in progress: its row, and the connection holding its lock.
#[derive(Debug)]
pub struct Claim {
    pub id: i64,
    pub kind: JobKind,
    pub slot: Option<String>,
    pub as_of: DateTime<Utc>,
    started: Instant,
    conn: PgConnection,
}

/// What to record about one run.
pub struct NewRun<'a> {
    pub kind: JobKind,
    pub slot: Option<&'a str>,
    pub as_of: DateTime<Utc>,
    pub replica: &'a str,
    pub now: DateTime<Utc>,
}

/// What became of a claim.
#[derive(Debug)]
pub enum Started {
    Claimed(Claim),
    /// The slot exists and has not failed (it ran, or is running): the connection,
    /// back, for whatever the caller does next.
    Taken(PgConnection),
}

impl Claim {
    /// Records a new run (or re-claims a `failed` slot) and takes its lock on `conn`,
    /// in one transaction, so that nobody sees the row `running` without its lock held.
    pub async fn start(mut conn: PgConnection, run: NewRun<'_>) -> Result<Started, sqlx::Error> {
        let mut tx = conn.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(include_str!("sql/job_runs_claim.sql"))
            .bind(run.kind)
            .bind(run.slot)
            .bind(run.as_of)
            .bind(run.replica)
            .bind(run.now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(id) = id else {
            tx.rollback().await?;
            return Ok(Started::Taken(conn));
        };
        locks::run(&mut tx, id).await?;
        tx.commit().await?;
        Ok(Started::Claimed(Claim {
            id,
            kind: run.kind,
            slot: run.slot.map(str::to_string),
            as_of: run.as_of,
            started: Instant::now(),
            conn,
        }))
    }

    /// Records how the run ended and releases its locks. If this
    /// write fails, the row stays `running` with no lock, and is taken over later.
    pub async fn finish(
        mut self,
        now: DateTime<Utc>,
        result: &Result<RecomputeOutcome, RecomputeError>,
    ) -> Result<(), sqlx::Error> {
        let elapsed = self.started.elapsed();
        let (outcome, shops, error) = match result {
            Ok(out) => (Outcome::Succeeded, Some(out.shops_scored as i32), None),
            Err(e) => (Outcome::Failed, None, Some(e.to_string())),
        };
        sqlx::query(include_str!("sql/job_runs_finish.sql"))
            .bind(self.id)
            .bind(outcome)
            .bind(now)
            .bind(elapsed.as_millis() as i64)
            .bind(shops)
            .bind(&error)
            .execute(&mut self.conn)
            .await?;
        // Release the locks now rather than when Postgres notices the closed connection:
        // the scheduler's next tick must not find its own last run's lock still held. (If
        // this fails, closing the connection releases them as before.)
        let _ = locks::release_all(&mut self.conn).await;
        let kind = self.kind.as_str();
        metrics::counter!("shopscore_job_runs_total", "kind" => kind, "outcome" => outcome.as_str())
            .increment(1);
        metrics::histogram!("shopscore_job_duration_seconds", "kind" => kind)
            .record(elapsed.as_secs_f64());
        let slot = self.slot.as_deref().unwrap_or("-");
        match &error {
            None => tracing::info!(
                kind,
                slot,
                run = self.id,
                shops = shops.unwrap_or(0),
                duration_ms = elapsed.as_millis() as u64,
                "run succeeded"
            ),
            Some(e) => {
                tracing::warn!(kind, slot, run = self.id, duration_ms = elapsed.as_millis() as u64,
                error = %e, "run failed")
            }
        }
        Ok(())
    }
}

/// A `running` row whose lock this connection could take: its process died.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Abandoned {
    pub id: i64,
    pub kind: JobKind,
    pub slot: Option<String>,
    pub replica: String,
}

/// The abandoned runs, oldest first, each now locked by `conn` (which must be a fresh
/// connection: session locks are re-entrant, so a connection holding a run's lock
/// itself would see its own run as abandoned).
pub async fn abandoned(conn: &mut PgConnection) -> Result<Vec<Abandoned>, sqlx::Error> {
    let running: Vec<Abandoned> = sqlx::query_as(include_str!("sql/job_runs_running.sql"))
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::new();
    for run in running {
        if locks::try_run(conn, run.id).await? {
            out.push(run);
        }
    }
    Ok(out)
}

impl Abandoned {
    /// Takes the run over on `conn` (which holds its lock since [`abandoned`]): the row
    /// becomes this replica's, with a new `as_of`, and runs again.
    pub async fn take_over(
        self,
        mut conn: PgConnection,
        as_of: DateTime<Utc>,
        replica: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, sqlx::Error> {
        sqlx::query(include_str!("sql/job_runs_take_over.sql"))
            .bind(self.id)
            .bind(as_of)
            .bind(replica)
            .bind(now)
            .execute(&mut conn)
            .await?;
        tracing::warn!(run = self.id, kind = self.kind.as_str(), slot = self.slot.as_deref().unwrap_or("-"),
            from = %self.replica, "taking over a run its replica abandoned");
        Ok(Claim {
            id: self.id,
            kind: self.kind,
            slot: self.slot,
            as_of,
            started: Instant::now(),
            conn,
        })
    }

    /// Records the run as failed without running it again (an ops recompute: the
    /// client that asked has had its answer).
    pub async fn give_up(
        &self,
        conn: &mut PgConnection,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(include_str!("sql/job_runs_give_up.sql"))
            .bind(self.id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        locks::release_run(conn, self.id).await?;
        metrics::counter!("shopscore_job_runs_total", "kind" => self.kind.as_str(), "outcome" => "failed")
            .increment(1);
        Ok(())
    }
}

/// One run, as `GET /v1/jobs` lists it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct JobRun {
    pub id: i64,
    pub kind: JobKind,
    /// `dirty`: the start of the scheduler interval its tick fell in; `daily`: the local
    /// date; null for a `recompute` asked for by ops.
    pub slot: Option<String>,
    pub as_of: String,
    /// The process that ran it (`SHOPSCORE_REPLICA`, default host:pid).
    pub replica: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub shops_scored: Option<i32>,
    pub outcome: Outcome,
    /// Why it failed; null otherwise.
    pub error: Option<String>,
}

/// Runs newest first, after the run `before` (a cursor), optionally of one kind and
/// outcome; `limit + 1` rows so the caller can tell whether there is a next page.
pub async fn list(
    pool: &PgPool,
    tz: chrono_tz::Tz,
    kind: Option<JobKind>,
    outcome: Option<Outcome>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<JobRun>, sqlx::Error> {
    let rows: Vec<RunRow> = sqlx::query_as(include_str!("sql/job_runs_list.sql"))
        .bind(kind)
        .bind(outcome)
        .bind(before)
        .bind(limit + 1)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| JobRun {
            id: r.id,
            kind: r.kind,
            slot: r.slot,
            as_of: format_time(r.as_of, tz),
            replica: r.replica,
            started_at: format_time(r.started_at, tz),
            finished_at: r.finished_at.map(|t| format_time(t, tz)),
            duration_ms: r.duration_ms,
            shops_scored: r.shops_scored,
            outcome: r.outcome,
            error: r.error,
        })
        .collect())
}

/// A `job_runs` row as listed.
#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    kind: JobKind,
    slot: Option<String>,
    as_of: DateTime<Utc>,
    replica: String,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    duration_ms: Option<i64>,
    shops_scored: Option<i32>,
    outcome: Outcome,
    error: Option<String>,
}

/// This process's name in `job_runs.replica`: `host:pid`.
pub fn default_replica() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// A recompute asked for by ops (`POST /v1/recompute`, `shopscore recompute`), on
/// record as a `recompute` run. Unknown shop ids are the caller's mistake, answered
/// before anything is recorded.
pub async fn recompute_on_record(
    pool: &PgPool,
    policy: &Policy,
    clock: &dyn Clock,
    replica: &str,
    as_of: DateTime<Utc>,
    shop_ids: Option<&[String]>,
    stop: &Stop,
) -> Result<RecomputeOutcome, RecomputeError> {
    if let Some(ids) = shop_ids {
        let unknown = unknown_shops(pool, ids).await?;
        if !unknown.is_empty() {
            return Err(RecomputeError::UnknownShops(unknown));
        }
    }
    let run = NewRun {
        kind: JobKind::Recompute,
        slot: None,
        as_of,
        replica,
        now: clock.now(),
    };
    let Started::Claimed(claim) = Claim::start(dedicated(pool).await?, run).await? else {
        unreachable!("a run without a slot conflicts with none")
    };
    let result = recompute(
        pool,
        policy,
        clock.now(),
        as_of,
        shop_ids,
        Some(claim.id),
        stop,
    )
    .await;
    if let Err(e) = claim.finish(clock.now(), &result).await {
        tracing::warn!(error = %e, "could not record the end of a recompute; the scheduler will mark it abandoned");
    }
    result
}
