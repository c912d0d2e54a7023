//! Jobs: the recompute runner, calendar periods and the scheduler (SPEC §6).
pub mod periods;
pub mod recompute;
pub mod retention;
pub mod runs;
pub mod scheduler;
