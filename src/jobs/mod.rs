//! Jobs: the recompute runner, the scheduler and the record of runs (SPEC §6).
pub mod recompute;
pub mod retention;
pub mod runs;
pub mod scheduler;
