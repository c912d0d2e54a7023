//! A memory budget for ingest: the bytes of request bodies being parsed and written at
//! once, over all requests. Without it, N producers posting maximum-size batches take
//! N times that memory, and a container with a memory limit is killed.
//!
//! A request reserves its declared `Content-Length` (or the largest allowed body when
//! it declares none) *before* reading the body, all at once, so two requests can never
//! each hold half the budget while waiting for the rest. It waits up to `wait` for room,
//! then gives up with 503 and `Retry-After`. What a reservation covers is the body and
//! the validated events made from it (about the body's size again, see `body.rs`),
//! until the transaction has committed.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Permits are KiB, so that budgets up to 4 TiB fit the semaphore's `u32` requests.
const UNIT: u64 = 1024;

#[derive(Debug)]
pub struct BodyBudget {
    permits: Arc<Semaphore>,
    total_units: u32,
    wait: Duration,
}

/// Room held in the budget; released on drop.
#[derive(Debug)]
pub struct Reservation {
    _permit: OwnedSemaphorePermit,
}

impl BodyBudget {
    pub fn new(total_bytes: u64, wait: Duration) -> BodyBudget {
        let total_units = (total_bytes / UNIT).clamp(1, u64::from(u32::MAX >> 1)) as u32;
        BodyBudget {
            permits: Arc::new(Semaphore::new(total_units as usize)),
            total_units,
            wait,
        }
    }

    /// Reserves room for a body of `bytes` (capped at the whole budget, so that one
    /// body larger than the budget still runs, alone). `None` when no room was made
    /// within the wait.
    pub async fn reserve(&self, bytes: u64) -> Option<Reservation> {
        let units = bytes.div_ceil(UNIT).clamp(1, u64::from(self.total_units)) as u32;
        let acquire = self.permits.clone().acquire_many_owned(units);
        match tokio::time::timeout(self.wait, acquire).await {
            Ok(Ok(permit)) => Some(Reservation { _permit: permit }),
            _ => None,
        }
    }

    /// Bytes reserved right now.
    pub fn in_use(&self) -> u64 {
        (u64::from(self.total_units) - self.permits.available_permits() as u64) * UNIT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_room_then_gives_up() {
        let b = BodyBudget::new(10 * 1024, Duration::from_millis(50));
        let first = b.reserve(6 * 1024).await.expect("room");
        assert_eq!(b.in_use(), 6 * 1024);
        // 6 + 6 > 10: waits, then gives up.
        assert!(b.reserve(6 * 1024).await.is_none());
        // Small enough to fit beside it.
        let second = b.reserve(3000).await.expect("room");
        assert_eq!(b.in_use(), 9 * 1024);
        drop(first);
        drop(second);
        assert_eq!(b.in_use(), 0);
        // Larger than the whole budget: capped, so it runs alone.
        let big = b.reserve(1 << 30).await.expect("alone");
        assert_eq!(b.in_use(), 10 * 1024);
        drop(big);
    }

    #[tokio::test]
    async fn a_waiting_request_gets_in_when_room_is_freed() {
        let b = Arc::new(BodyBudget::new(4096, Duration::from_secs(5)));
        let held = b.reserve(4096).await.unwrap();
        let waiter = {
            let b = b.clone();
            tokio::spawn(async move { b.reserve(2048).await.is_some() })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(held);
        assert!(waiter.await.unwrap());
    }
}
