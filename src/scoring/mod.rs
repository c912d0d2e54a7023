//! The pure scoring core (DESIGN principle 1): functions from metric values, counted
//! reviews and policy to scores. No database, no clock, no async.
pub mod assemble;
pub mod card;
pub mod credit;
pub mod hints;
pub mod periods;
pub mod programs;
#[cfg(test)]
mod props;
pub mod service;
pub mod stars;
pub mod target;
pub mod tiers;
pub mod whatif;
