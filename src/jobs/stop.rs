//! When a recompute gives up and rolls back, and how a run fails.

use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum RecomputeError {
    #[error("unknown shops: {0:?}")]
    UnknownShops(Vec<String>),
    #[error("interrupted by shutdown and rolled back; the next run does it again")]
    Interrupted,
    #[error("ran longer than its limit of {0} s and was rolled back")]
    TimedOut(u64),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

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
