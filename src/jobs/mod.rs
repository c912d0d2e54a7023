//! Jobs: the recompute runner, the scheduler and the record of runs (SPEC §6).
pub mod batches;
pub mod cards;
pub mod figures;
pub mod programs;
pub mod projection;
pub mod recompute;
pub mod retention;
pub mod runs;
pub mod runtime;
pub mod scheduler;
pub mod simulate;
pub mod stop;
pub mod tiers;
