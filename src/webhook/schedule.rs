//! When a failed delivery is tried again, and what a receiver's answer means.
//!
//! The schedule (after svix's and Stripe's, stretched to about three days): the first
//! attempt at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 20 h:
//! ten attempts over 71 h 35 min. Each wait is spread by ±10 % so that the retries of
//! many messages that failed together do not arrive together. A `Retry-After` longer
//! than the wait is honoured, up to a day.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The wait before each retry: `RETRY_WAITS[n]` after the `n + 1`-th failed attempt.
pub const RETRY_WAITS: [Duration; 9] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(14 * 3600),
    Duration::from_secs(20 * 3600),
    Duration::from_secs(20 * 3600),
];

/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// How far a wait is spread either way.
const JITTER: f64 = 0.1;

/// What one attempt's answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: delivered.
    Delivered,
    /// 410 Gone: the receiver asks never to be sent to again; the endpoint is disabled.
    Gone,
    /// Anything else (another status, a timeout, a refused connection): try again.
    Failed,
}

impl Outcome {
    /// The outcome of an answer with `status` (`None`: no answer at all).
    pub fn of(status: Option<u16>) -> Outcome {
        match status {
            Some(200..=299) => Outcome::Delivered,
            Some(410) => Outcome::Gone,
            _ => Outcome::Failed,
        }
    }

    /// Its label in `shopscore_webhook_attempts_total{outcome}`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Gone => "gone",
            Outcome::Failed => "failed",
        }
    }
}

/// The wait after `failed` attempts have failed (1 after the first), or `None` when the
/// message has had all its attempts. `jitter` is uniform in [0, 1) (the caller's
/// randomness, so this stays a function); `retry_after`, the receiver's ask.
pub fn next_wait(failed: u32, jitter: f64, retry_after: Option<Duration>) -> Option<Duration> {
    let base = *RETRY_WAITS.get(usize::try_from(failed).ok()?.checked_sub(1)?)?;
    let spread = 1.0 + JITTER * (2.0 * jitter.clamp(0.0, 1.0) - 1.0);
    let wait = base.mul_f64(spread);
    Some(match retry_after {
        Some(asked) => wait.max(asked.min(MAX_RETRY_AFTER)),
        None => wait,
    })
}

/// A `Retry-After` header's wait from `now`: delay-seconds, or an HTTP date.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    (at - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_spans_about_three_days() {
        let total: Duration = RETRY_WAITS.iter().sum();
        assert_eq!(total, Duration::from_secs(71 * 3600 + 35 * 60 + 5));
        // Without jitter (0.5 is the middle), each wait as listed; after the tenth
        // attempt, none.
        assert_eq!(next_wait(0, 0.5, None), None);
        assert_eq!(next_wait(1, 0.5, None), Some(Duration::from_secs(5)));
        assert_eq!(
            next_wait(9, 0.5, None),
            Some(Duration::from_secs(20 * 3600))
        );
        assert_eq!(next_wait(10, 0.5, None), None);
        // The spread: ±10 %.
        assert_eq!(next_wait(2, 0.0, None), Some(Duration::from_secs(270)));
        assert_eq!(next_wait(2, 1.0, None), Some(Duration::from_secs(330)));
    }

    #[test]
    fn retry_after_lengthens_a_wait_up_to_a_day() {
        let s = Duration::from_secs;
        assert_eq!(next_wait(1, 0.5, Some(s(120))), Some(s(120)));
        assert_eq!(next_wait(2, 0.5, Some(s(120))), Some(s(300)));
        assert_eq!(next_wait(1, 0.5, Some(s(10 * 86_400))), Some(s(86_400)));
        let now: DateTime<Utc> = "2026-12-05T10:00:00Z".parse().unwrap();
        assert_eq!(retry_after(" 90 ", now), Some(s(90)));
        assert_eq!(
            retry_after("Sat, 05 Dec 2026 10:02:00 GMT", now),
            Some(s(120))
        );
        assert_eq!(retry_after("Sat, 05 Dec 2026 09:00:00 GMT", now), None);
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn answers_mean_what_they_say() {
        assert_eq!(Outcome::of(Some(204)), Outcome::Delivered);
        assert_eq!(Outcome::of(Some(410)), Outcome::Gone);
        for s in [Some(301), Some(404), Some(429), Some(500), None] {
            assert_eq!(Outcome::of(s), Outcome::Failed, "{s:?}");
        }
    }
}
