//! SPEC §6: every `interval`, recompute the shops with events since their last
//! scorecard; once per local day, recompute every shop (on the 1st this settles the
//! month just ended, since a run always ranks the month before its `as_of`).
//!
//! Every replica ticks; a tick does something only while it holds the scheduler's
//! advisory lock, on a connection of its own, so runs never overlap. What has run is
//! read from `job_runs` (see [`super::runs`]), never kept in memory, so a replica
//! started after midnight, or after a failed daily run, runs the day's at its first
//! tick. One tick does one thing, in this order:
//! 1. take over a run whose replica died (its row `running`, its lock free) and finish
//!    it; an abandoned ops recompute is only recorded as failed;
//! 2. run today's `daily` if it has not succeeded;
//! 3. run `dirty` for the shops named by dirty marks, once per slot (the start of the
//!    interval the tick falls in, so two replicas ticking in one interval run it once).
//!    A tick with no marks records nothing.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use sqlx::PgPool;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::recompute::{recompute, Stop};
use super::runs::{self, Claim, JobKind, NewRun, Started};
use crate::clock::SharedClock;
use crate::db::locks;
use crate::policy::Policy;

pub struct Scheduler {
    pub pool: PgPool,
    pub policy: Arc<Policy>,
    pub clock: SharedClock,
    /// Between dirty runs (`SHOPSCORE_RECOMPUTE_INTERVAL`).
    pub interval: Duration,
    pub replica: String,
    /// Every snapshot younger than this is kept; older ones, one per shop and local
    /// day (`retention`).
    pub keep_all: Duration,
}

/// What one tick did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tick {
    /// Another replica holds the scheduler lock.
    Busy,
    /// Nothing to run.
    Idle,
    /// One run, recorded with this id; `Err` holds why it failed.
    Ran {
        kind: JobKind,
        slot: String,
        id: i64,
        result: Result<usize, String>,
    },
    /// Ops recomputes found abandoned and recorded as failed.
    GaveUp(usize),
}

impl Scheduler {
    /// Ticks every `interval` until `shutdown`; a run in progress then stops at its
    /// next check, rolls back, and is recorded as failed, for the next tick (of any
    /// replica) to run again.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticker.tick() => {}
            }
            match self.tick(&shutdown).await {
                Ok(Tick::Busy) => tracing::debug!("another replica holds the scheduler lock"),
                Ok(_) => {}
                Err(e) => {
                    metrics::counter!("shopscore_scheduler_errors_total").increment(1);
                    tracing::warn!(error = %e, "scheduler tick failed; trying again next tick");
                }
            }
        }
        tracing::info!("scheduler stopped");
    }

    /// One tick (see the module comment).
    pub async fn tick(&self, shutdown: &CancellationToken) -> Result<Tick, sqlx::Error> {
        let now = self.clock.now();
        self.report_lag(now).await?;
        let mut conn = runs::dedicated(&self.pool).await?;
        if !locks::try_for_session(&mut conn, locks::SCHEDULER).await? {
            return Ok(Tick::Busy);
        }
        // `conn` holds the scheduler lock until it is dropped at the end of this tick,
        // and with it the lock of whichever run this tick does.
        let stop = Stop::on(shutdown.clone());
        let mut gave_up = 0;
        for run in runs::abandoned(&mut conn).await? {
            if run.kind == JobKind::Recompute {
                run.give_up(&mut conn, now).await?;
                gave_up += 1;
                continue;
            }
            let shops = match run.kind {
                JobKind::Daily => None,
                _ => Some(self.dirty_shops(now).await?),
            };
            let claim = run.take_over(conn, now, &self.replica, now).await?;
            return self.execute(claim, shops, &stop).await;
        }
        if gave_up > 0 {
            return Ok(Tick::GaveUp(gave_up));
        }

        let today = now.with_timezone(&self.policy.tz).date_naive().to_string();
        let daily = NewRun {
            kind: JobKind::Daily,
            slot: Some(&today),
            as_of: now,
            replica: &self.replica,
            now,
        };
        // `start` takes a connection; the lock connection goes with the claim.
        let conn = match Claim::start(conn, daily).await? {
            Started::Claimed(claim) => return self.execute(claim, None, &stop).await,
            Started::Taken(conn) => conn,
        };

        let shops = self.dirty_shops(now).await?;
        if shops.is_empty() {
            return Ok(Tick::Idle);
        }
        let slot = self.slot(now);
        let dirty = NewRun {
            kind: JobKind::Dirty,
            slot: Some(&slot),
            as_of: now,
            replica: &self.replica,
            now,
        };
        match Claim::start(conn, dirty).await? {
            Started::Claimed(claim) => self.execute(claim, Some(shops), &stop).await,
            // This interval's slot already ran: the marks wait for the next one.
            Started::Taken(_) => Ok(Tick::Idle),
        }
    }

    /// Runs a claimed slot and records how it ended.
    async fn execute(
        &self,
        claim: Claim,
        shops: Option<Vec<String>>,
        stop: &Stop,
    ) -> Result<Tick, sqlx::Error> {
        let result = recompute(
            &self.pool,
            &self.policy,
            self.clock.now(),
            claim.as_of,
            shops.as_deref(),
            Some(claim.id),
            stop,
        )
        .await;
        let (kind, slot, id) = (claim.kind, claim.slot.clone().unwrap_or_default(), claim.id);
        claim.finish(self.clock.now(), &result).await?;
        if kind == JobKind::Daily && result.is_ok() {
            self.prune().await;
        }
        Ok(Tick::Ran {
            kind,
            slot,
            id,
            result: result.map(|o| o.shops_scored).map_err(|e| e.to_string()),
        })
    }

    /// After a successful daily run: the retention policy. A failure is logged and
    /// tried again by the next day's run; the run itself stands.
    async fn prune(&self) {
        let now = self.clock.now();
        let keep_from =
            now - chrono::Duration::from_std(self.keep_all).unwrap_or(chrono::Duration::MAX);
        let pruned = async {
            let snapshots =
                super::retention::prune_snapshots(&self.pool, self.policy.tz, keep_from).await?;
            let runs = super::retention::prune_runs(&self.pool, now).await?;
            let webhooks = crate::webhook::retention::prune(&self.pool, now).await?;
            Ok::<_, sqlx::Error>((snapshots, runs, webhooks))
        };
        match pruned.await {
            Ok((snapshots, runs, (messages, events))) => {
                tracing::info!(
                    snapshots,
                    runs,
                    webhook_messages = messages,
                    webhook_events = events,
                    "retention: pruned"
                )
            }
            Err(e) => {
                tracing::warn!(error = %e, "retention pruning failed; the next daily run tries again")
            }
        }
    }

    /// Every shop some dirty mark names, except shops whose current figures are later
    /// than `now` (ops recomputed them ahead of the clock): a run at `now` would be a
    /// look-back for them, which changes nothing current and keeps their marks, so they
    /// wait until the clock passes their figures.
    async fn dirty_shops(&self, now: DateTime<Utc>) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(include_str!("sql/dirty_shops.sql"))
            .bind(now)
            .fetch_all(&self.pool)
            .await
    }

    /// The dirty slot of `now`: the start of its interval, counted from the Unix epoch
    /// (with the default 60 s, the minute), as local RFC 3339.
    pub fn slot(&self, now: DateTime<Utc>) -> String {
        let step = self.interval.as_secs().max(1) as i64;
        let start = now.timestamp().div_euclid(step) * step;
        Utc.timestamp_opt(start, 0)
            .single()
            .expect("a whole second within chrono's range")
            .with_timezone(&self.policy.tz)
            .to_rfc3339_opts(SecondsFormat::Secs, false)
    }

    /// `shopscore_scoring_lag_seconds`: the age of the oldest event not yet scored (the
    /// oldest dirty mark), 0 when every event is. Every replica reports it.
    async fn report_lag(&self, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        let oldest: Option<DateTime<Utc>> = sqlx::query_scalar(include_str!("sql/oldest_mark.sql"))
            .fetch_one(&self.pool)
            .await?;
        let lag = oldest.map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
        metrics::gauge!("shopscore_scoring_lag_seconds").set(lag);
        Ok(())
    }
}
