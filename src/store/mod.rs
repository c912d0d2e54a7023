//! Storage of what a recompute reads and writes besides raw metric rows: the shops,
//! the dirty marks, the rolling figures industry comparisons read, the month's tier
//! rows, and the scorecard snapshots. Its SQL is in `store/sql/`; rows are read into
//! `FromRow` structs. No scoring rule lives here: what to store comes from `scoring`.

pub mod cards;
pub mod figures;
pub mod held;
pub mod marks;
pub mod shops;
pub mod tiers;
