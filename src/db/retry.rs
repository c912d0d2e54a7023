//! Transient database failures and retrying them (SPEC §7 "contention is not an error").
//!
//! A request whose whole effect is one transaction, and which is idempotent (ingest is:
//! the same events again are duplicates), can simply be run again when Postgres aborts
//! it for reasons that have nothing to do with the request: a deadlock, a serialization
//! failure, or a connection that was lost before the commit. [`with_retry`] does that
//! with bounded, jittered exponential backoff; when the attempts run out the error is
//! still transient and `ApiError` turns it into 503 with `Retry-After`, never 500.
//!
//! A connection lost *during* `COMMIT` leaves the outcome unknown. Retrying is still
//! safe for ingest: if the first attempt committed, the retry finds every event stored
//! with the same content and reports them as duplicates.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

/// Why an error is worth another attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transient {
    /// 40P01: Postgres broke a lock cycle by aborting this transaction.
    Deadlock,
    /// 40001: a serializable or repeatable-read transaction lost a race.
    Serialization,
    /// The connection broke (class 08, admin/crash shutdown 57P01–57P03, or an I/O
    /// error) before the transaction committed.
    ConnectionLost,
}

impl Transient {
    pub fn as_str(self) -> &'static str {
        match self {
            Transient::Deadlock => "deadlock",
            Transient::Serialization => "serialization",
            Transient::ConnectionLost => "connection_lost",
        }
    }
}

/// Classifies a SQLSTATE: `Some` for the codes a retry can cure.
pub fn classify_sqlstate(code: &str) -> Option<Transient> {
    match code {
        "40P01" => Some(Transient::Deadlock),
        "40001" => Some(Transient::Serialization),
        // connection_exception and its subclasses; the server going away.
        c if c.starts_with("08") => Some(Transient::ConnectionLost),
        "57P01" | "57P02" | "57P03" => Some(Transient::ConnectionLost),
        _ => None,
    }
}

/// Classifies a sqlx error. Pool timeouts and a closed pool are *not* retried here: the
/// pool already waited for a connection, and a closed pool means shutdown. They map to
/// 503 on their own (see `error.rs`).
pub fn classify(e: &sqlx::Error) -> Option<Transient> {
    match e {
        sqlx::Error::Database(d) => d.code().as_deref().and_then(classify_sqlstate),
        sqlx::Error::Io(_) => Some(Transient::ConnectionLost),
        _ => None,
    }
}

/// How many times, and how patiently, to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// The first backoff's upper bound; it doubles per retry up to `cap`.
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(20),
            cap: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// "Full jitter" backoff before retry number `retry` (1-based): uniform in
    /// `[0, min(cap, base * 2^(retry-1))]`, so colliding transactions spread out.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1 << retry.saturating_sub(1).min(16))
            .min(self.cap);
        let ms = ceiling.as_millis() as u64;
        Duration::from_millis(rand::thread_rng().gen_range(0..=ms))
    }
}

/// An error that may carry a transient database failure.
pub trait MaybeTransient {
    fn transient(&self) -> Option<Transient>;
}

impl MaybeTransient for sqlx::Error {
    fn transient(&self) -> Option<Transient> {
        classify(self)
    }
}

/// Runs `op` until it succeeds, fails for good, or `policy.attempts` are spent. Each
/// retry is counted in `shopscore_db_retries_total{op, reason}` and logged at warn (in
/// the request's span, which carries its request id).
pub async fn with_retry<T, E, F, Fut>(
    policy: &RetryPolicy,
    op: &'static str,
    mut f: F,
) -> Result<T, E>
where
    E: MaybeTransient + std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match f().await {
            Err(e) if attempt < policy.attempts => {
                let Some(reason) = e.transient() else {
                    return Err(e);
                };
                let wait = policy.backoff(attempt);
                metrics::counter!("shopscore_db_retries_total", "op" => op, "reason" => reason.as_str())
                    .increment(1);
                tracing::warn!(op, attempt, reason = reason.as_str(), error = %e, backoff_ms = wait.as_millis() as u64,
                               "transient database error; retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_that_a_retry_cures() {
        assert_eq!(classify_sqlstate("40P01"), Some(Transient::Deadlock));
        assert_eq!(classify_sqlstate("40001"), Some(Transient::Serialization));
        for c in [
            "08000", "08003", "08006", "08001", "57P01", "57P02", "57P03",
        ] {
            assert_eq!(classify_sqlstate(c), Some(Transient::ConnectionLost), "{c}");
        }
        // A client's mistake or a real fault is never retried.
        for c in [
            "23505", "22P02", "42P01", "22021", "53100", "XX000", "40002", "57014",
        ] {
            assert_eq!(classify_sqlstate(c), None, "{c}");
        }
    }

    #[test]
    fn sqlx_errors() {
        let io = sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        ));
        assert_eq!(classify(&io), Some(Transient::ConnectionLost));
        assert_eq!(classify(&sqlx::Error::PoolTimedOut), None);
        assert_eq!(classify(&sqlx::Error::PoolClosed), None);
        assert_eq!(classify(&sqlx::Error::RowNotFound), None);
    }

    #[test]
    fn backoff_is_bounded_and_grows() {
        let p = RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(35),
        };
        for _ in 0..200 {
            assert!(p.backoff(1) <= Duration::from_millis(10));
            assert!(p.backoff(2) <= Duration::from_millis(20));
            assert!(p.backoff(3) <= Duration::from_millis(35));
            assert!(p.backoff(30) <= Duration::from_millis(35));
        }
    }

    struct Flaky(Option<Transient>);
    impl std::fmt::Display for Flaky {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }
    impl MaybeTransient for Flaky {
        fn transient(&self) -> Option<Transient> {
            self.0
        }
    }

    #[tokio::test]
    async fn retries_transient_errors_only_and_stops_at_the_bound() {
        let p = RetryPolicy {
            attempts: 3,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(1),
        };
        // Transient twice, then success: three calls.
        let mut calls = 0;
        let r: Result<u8, Flaky> = with_retry(&p, "t", || {
            calls += 1;
            let n = calls;
            async move {
                if n < 3 {
                    Err(Flaky(Some(Transient::Deadlock)))
                } else {
                    Ok(7)
                }
            }
        })
        .await;
        assert_eq!((r.ok(), calls), (Some(7), 3));
        // Always transient: gives up after `attempts`, returning the transient error.
        let mut calls = 0;
        let r: Result<u8, Flaky> = with_retry(&p, "t", || {
            calls += 1;
            async { Err(Flaky(Some(Transient::ConnectionLost))) }
        })
        .await;
        assert_eq!(
            (r.err().and_then(|e| e.0), calls),
            (Some(Transient::ConnectionLost), 3)
        );
        // Not transient: one call.
        let mut calls = 0;
        let r: Result<u8, Flaky> = with_retry(&p, "t", || {
            calls += 1;
            async { Err(Flaky(None)) }
        })
        .await;
        assert_eq!((r.is_err(), calls), (true, 1));
    }
}
