//! The delivery worker, one in every `serve` replica. Each pass claims due messages
//! (`sql/messages_claim.sql`: `FOR UPDATE SKIP LOCKED`, a lease per attempt), sends
//! them at once, each signed (Standard Webhooks headers) with a timeout, and records
//! every attempt with what it means: delivered, tried again on the schedule
//! (`schedule`), or the endpoint disabled (410; failing for the configured span, which
//! also emits `endpoint.disabled`).
//!
//! Nothing is lost: a message leaves `pending` only when an attempt is recorded as
//! delivered, or failed for good. A worker killed mid-attempt, or cut off from Postgres
//! before it could record the answer, leaves the message claimed until the lease runs
//! out, then any replica sends it again (so at least once; `webhook-id` lets receivers
//! drop the copy).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::outbox;
use super::schedule::{self, Outcome};
use super::signature;
use crate::clock::SharedClock;

/// The channel the outbox and the resend operations announce new messages on.
pub const CHANNEL: &str = "shopscore_webhooks";

/// How much of an answer's body an attempt keeps.
const RESPONSE_KEEP: usize = 1024;
/// Messages one pass claims (and sends at once).
const BATCH: i64 = 32;
/// How often a worker looks for due messages when nothing wakes it (retries fall due
/// without a notification).
const POLL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct WorkerOpts {
    /// Longest one attempt may take (connect, send, answer).
    pub timeout: Duration,
    /// An endpoint whose every attempt has failed for this long is disabled.
    pub disable_after: Duration,
    pub tz: chrono_tz::Tz,
    /// Send nothing to a private, loopback or link-local address, whether the URL
    /// names it or its host name resolves to it (`resolve::PublicOnly`).
    pub refuse_private: bool,
}

impl WorkerOpts {
    /// How long a claimed message is left to its worker: twice the timeout, so that
    /// an attempt and its recording finish well within it.
    fn lease(&self) -> Duration {
        self.timeout * 2
    }
}

pub struct Worker {
    pub pool: PgPool,
    pub clock: SharedClock,
    pub opts: WorkerOpts,
    client: reqwest::Client,
    /// Woken by `CHANNEL` (see `Wake`).
    pub wake: Arc<Notify>,
}

/// A claimed message: one attempt to make.
#[derive(sqlx::FromRow)]
struct Claimed {
    endpoint_id: String,
    event_id: String,
    attempts: i32,
    round_start: i32,
    payload: String,
    created_at: DateTime<Utc>,
    url: String,
    secret: String,
    previous_secret: Option<String>,
    previous_until: Option<DateTime<Utc>>,
}

/// What one attempt got.
struct Answer {
    status: Option<u16>,
    retry_after: Option<Duration>,
    /// The first KiB of the body, or why there was no answer.
    response: String,
}

impl Worker {
    pub fn new(pool: PgPool, clock: SharedClock, opts: WorkerOpts) -> Worker {
        let mut client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("shopscore-webhooks/", env!("CARGO_PKG_VERSION")));
        if opts.refuse_private {
            client = client.dns_resolver(Arc::new(super::resolve::PublicOnly));
        }
        let client = client
            .build()
            .expect("an HTTP client with default settings");
        Worker {
            pool,
            clock,
            opts,
            client,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Delivers until `stop`: a pass whenever woken or every second, passes back to
    /// back while they find work. An attempt under way when `stop` comes is finished
    /// and recorded.
    pub async fn run(self, stop: CancellationToken) {
        let mut depth_at = Instant::now() - Duration::from_secs(60);
        while !stop.is_cancelled() {
            let sent = match self.pass().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook delivery pass failed; trying again");
                    0
                }
            };
            if depth_at.elapsed() >= Duration::from_secs(5) {
                depth_at = Instant::now();
                if let Ok(n) = self.queue_depth().await {
                    metrics::gauge!("shopscore_webhook_queue_depth").set(n as f64);
                }
            }
            if sent == 0 {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
        }
    }

    /// Messages waiting to be delivered.
    pub async fn queue_depth(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(include_str!("sql/messages_pending.sql"))
            .fetch_one(&self.pool)
            .await
    }

    /// One pass: claims the due messages (up to a batch), sends them all at once and
    /// records each; the number of attempts made.
    pub async fn pass(&self) -> Result<usize, sqlx::Error> {
        let now = self.clock.now();
        let claimed: Vec<Claimed> = sqlx::query_as(include_str!("sql/messages_claim.sql"))
            .bind(now)
            .bind(BATCH)
            .bind(self.opts.lease().as_secs_f64())
            .fetch_all(&self.pool)
            .await?;
        let n = claimed.len();
        let results =
            futures_util::future::join_all(claimed.into_iter().map(|c| self.deliver(c))).await;
        // Every attempt was made; the first error recording one is the pass's.
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        Ok(n)
    }

    async fn deliver(&self, c: Claimed) -> Result<(), sqlx::Error> {
        let started_at = self.clock.now();
        let clock_started = Instant::now();
        let answer = self.send(&c, started_at).await;
        let duration_ms = clock_started.elapsed().as_millis().min(i32::MAX as u128) as i32;
        let now = self.clock.now();
        let outcome = Outcome::of(answer.status);
        let (status, next) = match outcome {
            Outcome::Delivered => ("delivered", None),
            Outcome::Gone => ("failed", None),
            Outcome::Failed => {
                let failed = u32::try_from(c.attempts - c.round_start).unwrap_or(u32::MAX);
                let jitter = rand::thread_rng().gen::<f64>();
                match schedule::next_wait(failed, jitter, answer.retry_after) {
                    Some(wait) => ("pending", Some(now + wait)),
                    None => ("failed", None),
                }
            }
        };
        sqlx::query(include_str!("sql/attempt_record.sql"))
            .bind(&c.endpoint_id)
            .bind(&c.event_id)
            .bind(c.attempts)
            .bind(started_at)
            .bind(duration_ms)
            .bind(outcome.as_str())
            .bind(answer.status.map(i32::from))
            .bind(&answer.response)
            .bind(status)
            .bind(next)
            .bind(now)
            .execute(&self.pool)
            .await?;
        metrics::counter!("shopscore_webhook_attempts_total", "outcome" => outcome.as_str())
            .increment(1);
        match outcome {
            Outcome::Delivered => {
                let lag = (now - c.created_at).to_std().unwrap_or_default();
                metrics::histogram!("shopscore_webhook_delivery_lag_seconds")
                    .record(lag.as_secs_f64());
                sqlx::query(include_str!("sql/endpoint_succeeded.sql"))
                    .bind(&c.endpoint_id)
                    .execute(&self.pool)
                    .await?;
            }
            Outcome::Gone => self.disable(&c.endpoint_id, "gone", now).await?,
            Outcome::Failed => {
                let (since, enabled): (DateTime<Utc>, bool) =
                    sqlx::query_as(include_str!("sql/endpoint_failed.sql"))
                        .bind(&c.endpoint_id)
                        .bind(started_at)
                        .fetch_one(&self.pool)
                        .await?;
                let failing = (now - since).to_std().unwrap_or_default();
                if enabled && failing >= self.opts.disable_after {
                    self.disable(&c.endpoint_id, "failing", now).await?;
                }
            }
        }
        Ok(())
    }

    /// One signed POST of the message, bounded by the timeout.
    async fn send(&self, c: &Claimed, now: DateTime<Utc>) -> Answer {
        // An address in the URL itself (stored while private targets were allowed)
        // is never resolved, so it is checked here.
        if let Some(p) = (self.opts.refuse_private)
            .then(|| super::target::problem(&c.url, true))
            .flatten()
        {
            return Answer {
                status: None,
                retry_after: None,
                response: format!("not sent: the URL {p}"),
            };
        }
        let mut keys = Vec::with_capacity(2);
        keys.extend(signature::decode_secret(&c.secret).ok());
        if let (Some(old), Some(until)) = (&c.previous_secret, c.previous_until) {
            if now < until {
                keys.extend(signature::decode_secret(old).ok());
            }
        }
        let timestamp = now.timestamp();
        let signed = signature::header(&keys, &c.event_id, timestamp, c.payload.as_bytes());
        let request = (self.client.post(&c.url))
            .timeout(self.opts.timeout)
            .header("content-type", "application/json")
            .header("webhook-id", &c.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signed)
            .body(c.payload.clone());
        let timed_out = || format!("no answer within {} s", self.opts.timeout.as_secs_f64());
        let reply = tokio::time::timeout(self.opts.timeout, async {
            let mut resp = request.send().await?;
            let status = resp.status().as_u16();
            let retry_after = (resp.headers().get("retry-after"))
                .and_then(|v| v.to_str().ok())
                .and_then(|v| schedule::retry_after(v, now));
            let mut body = Vec::new();
            while body.len() < RESPONSE_KEEP {
                match resp.chunk().await? {
                    Some(chunk) => body.extend_from_slice(&chunk),
                    None => break,
                }
            }
            body.truncate(RESPONSE_KEEP);
            Ok::<_, reqwest::Error>((status, retry_after, body))
        })
        .await;
        match reply {
            Ok(Ok((status, retry_after, body))) => Answer {
                status: Some(status),
                retry_after,
                response: String::from_utf8_lossy(&body).replace('\0', ""),
            },
            Ok(Err(e)) => Answer {
                status: None,
                retry_after: None,
                response: if e.is_timeout() {
                    timed_out()
                } else {
                    format!("no answer: {}", error_chain(&e))
                },
            },
            Err(_) => Answer {
                status: None,
                retry_after: None,
                response: timed_out(),
            },
        }
    }

    /// Disables the endpoint, saying why, and emits `endpoint.disabled` (in one
    /// transaction: once, by whichever worker got there first).
    async fn disable(
        &self,
        endpoint_id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let disabled: Option<String> = sqlx::query_scalar(include_str!("sql/endpoint_disable.sql"))
            .bind(endpoint_id)
            .bind(reason)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        if disabled.is_some() {
            let event = outbox::endpoint_disabled(endpoint_id, reason, now, self.opts.tz);
            outbox::insert(&mut tx, &[event], None, None, now).await?;
            notify(&mut tx).await?;
            tracing::warn!(endpoint = endpoint_id, reason, "webhook endpoint disabled");
        }
        tx.commit().await
    }
}

/// The error and its sources in one line (`reqwest` puts the useful part in a source:
/// "connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Wakes every replica's worker when the transaction commits.
pub async fn notify(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(include_str!("sql/webhooks_notify.sql"))
        .bind(CHANNEL)
        .execute(conn)
        .await?;
    Ok(())
}

/// What `cache::listen` calls when `CHANNEL` is heard (or may have been missed).
pub struct Wake(pub Arc<Notify>);

impl crate::cache::Invalidated for Wake {
    fn heard(&self, _: &str) {
        self.0.notify_one();
    }
    fn clear_all(&self) {
        self.0.notify_one();
    }
}
