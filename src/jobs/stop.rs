//! When a recompute gives up and rolls back.

use std::time::Instant;

use super::recompute::RecomputeError;

/// When a run gives up and rolls back: shutdown began, or its time limit passed. It
/// is checked between batches of shops and before the commit, so a run stops within
/// one batch's work of being told to.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    shutdown: Option<tokio_util::sync::CancellationToken>,
    limit: Option<(std::time::Duration, Instant)>,
}

impl Stop {
    /// Runs to the end.
    pub fn never() -> Stop {
        Stop::default()
    }
    pub fn on(shutdown: tokio_util::sync::CancellationToken) -> Stop {
        Stop {
            shutdown: Some(shutdown),
            limit: None,
        }
    }
    /// Gives up `limit` from now.
    pub fn within(mut self, limit: std::time::Duration) -> Stop {
        self.limit = Some((limit, Instant::now() + limit));
        self
    }
    pub fn check(&self) -> Result<(), RecomputeError> {
        if self.shutdown.as_ref().is_some_and(|t| t.is_cancelled()) {
            return Err(RecomputeError::Interrupted);
        }
        match self.limit {
            Some((limit, deadline)) if Instant::now() >= deadline => {
                Err(RecomputeError::TimedOut(limit.as_secs()))
            }
            _ => Ok(()),
        }
    }
}
