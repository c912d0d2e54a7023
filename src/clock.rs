//! "Now" as a parameter. Everything that asks what time it is (the scheduler, a
//! recompute's `computed_at`, the accepted `as_of` range) asks a [`Clock`], so that
//! midnight, month-end settlement and catch-up are tested by setting a clock rather
//! than by waiting.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The shared handle everything holds.
pub type SharedClock = Arc<dyn Clock>;

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// A clock that stands still until told otherwise (tests).
#[derive(Debug)]
pub struct FakeClock(Mutex<DateTime<Utc>>);

impl FakeClock {
    pub fn at(t: DateTime<Utc>) -> Arc<FakeClock> {
        Arc::new(FakeClock(Mutex::new(t)))
    }
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = t;
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// `t` in the policy time zone: the same instant, as every time in every response
/// shows it.
pub fn in_zone<Z: chrono::TimeZone>(
    t: DateTime<Z>,
    tz: chrono_tz::Tz,
) -> DateTime<chrono::FixedOffset> {
    t.with_timezone(&tz).fixed_offset()
}
