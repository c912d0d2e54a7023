//! The scorecard of SPEC §5: every section present, unknown values `null`.

use crate::domain::{ProgramStatus, Tier, TierReason, TierStatus};
use crate::metric::catalogue::Unit;
use crate::policy::Op;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Scorecard {
    pub shop_id: String,
    pub industry: String,
    pub as_of: String,
    pub computed_at: String,
    pub policy_version: String,
    pub credit: Credit,
    pub dsr: Dsr,
    pub service_score: ServiceScore,
    pub star_level: Option<StarLevel>,
    /// One entry per policy programme; `null` for a shop with no event before the period's end.
    #[schema(value_type = Object)]
    pub programs: IndexMap<String, Option<Program>>,
    pub cs_tier: Option<CsTier>,
    pub hints: Vec<Hint>,
}

/// A credit level: `index` 0 (tier `none`) to 20.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LevelOut {
    pub index: u32,
    pub tier: String,
    pub rank: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Credit {
    pub points: i64,
    pub level: LevelOut,
    pub next_level_points: Option<i64>,
    pub positive_rate: Option<f64>,
    pub reviews_180d: ReviewCounts,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct ReviewCounts {
    pub positive: i64,
    pub neutral: i64,
    pub negative: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Dsr {
    pub window_days: u32,
    pub description: DsrDimension,
    pub service: DsrDimension,
    pub logistics: DsrDimension,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct DsrDimension {
    pub score: Option<f64>,
    pub count: i64,
    pub industry_avg: Option<f64>,
    pub vs_industry_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ServiceScore {
    pub window_days: u32,
    pub score: Option<f64>,
    pub industry_avg: Option<f64>,
    pub beats_pct: Option<f64>,
    #[schema(value_type = Object)]
    pub indicators: IndexMap<String, Indicator>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Indicator {
    pub score: Option<f64>,
    /// How many of its metrics the score averages (those not null).
    pub metrics_averaged: u32,
    #[schema(value_type = Object)]
    pub metrics: IndexMap<String, MetricScore>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MetricScore {
    pub value: Option<f64>,
    /// The basis: how many things the value was computed over (a rate's denominator, a
    /// mean's terms, the population a count looks at, the whole days of an hours
    /// average); 0 with a null value from a zero denominator.
    pub n: u64,
    pub score: Option<f64>,
    pub passes: Option<bool>,
    /// The value whose score is the pass mark (`scoring::target`).
    pub target_value: f64,
    /// How `value` must compare with `target_value` to pass.
    pub target_condition: Op,
    /// How far `value` is from `target_value` in its unit: 0 when it passes; null with
    /// a null value.
    pub distance: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StarLevel {
    pub stars: Option<u8>,
    pub dimensions: StarDimensions,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StarDimensions {
    pub quality: String,
    pub response: String,
    pub ability: String,
    pub performance: String,
    pub attitude: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Program {
    pub period: String,
    /// `pass`, `fail`, `exempt`, `in_progress`, or an escalation status of the policy.
    #[schema(value_type = String)]
    pub status: ProgramStatus,
    /// With status `exempt`: the last month of the shop's exemption (`YYYY-MM`; SPEC
    /// §4.5: a new shop's first calendar months, the month of its first event counting).
    pub exempt_until: Option<String>,
    pub rules: Vec<RuleResult>,
    /// Each rule metric's basis, as `n` of an indicator metric (kept beside `rules`,
    /// whose objects SPEC §4.5 fixes as `{metric, op, threshold, value, pass}`).
    #[schema(value_type = Object)]
    pub basis: IndexMap<String, u64>,
    pub consecutive_failures: Option<u32>,
    pub penalty_cents: Option<i64>,
    pub late_orders: Option<Vec<LateOrder>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RuleResult {
    pub metric: String,
    pub op: Op,
    pub threshold: f64,
    pub value: Option<f64>,
    pub pass: Option<bool>,
    /// The rule's threshold, under the name every target in the card has.
    pub target_value: f64,
    /// The rule's operator, likewise.
    pub target_condition: Op,
    /// How far `value` is from `target_value` in its unit: 0 when the rule holds; null
    /// with a null value.
    pub distance: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LateOrder {
    pub order_id: String,
    pub penalty_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CsTier {
    pub month: String,
    pub tier: Tier,
    pub status: TierStatus,
    pub reason: Option<TierReason>,
    /// With `reason` `too_few_ratings` or `gate_failed`: what the shop lacked.
    pub shortfall: Option<Shortfall>,
    pub satisfaction_rate: Option<f64>,
    pub ratings: i64,
    pub rank: Option<u32>,
    pub cohort: Cohort,
    pub security_warning: bool,
}

/// An ineligible shop's figure against the threshold it missed
/// (`{"figure": "ratings", "have": 83.0, "need": 100.0}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Shortfall {
    /// `ratings`, `service_score` or `consultation` (the first gate that failed).
    pub figure: String,
    /// The shop's value; null when it has none (no score).
    pub have: Option<f64>,
    pub need: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Cohort {
    pub industry: String,
    pub scale: String,
    pub size: u32,
}

/// What to fix first: failing metrics and failing programme rules, largest gain first
/// (SPEC §4.7; the words and the order: `scoring::hints`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Hint {
    /// The indicator (`product`, `consultation`, …) or the programme name.
    pub area: String,
    pub metric: String,
    /// The metric in words, in the policy's language (`[hints.labels]`).
    pub label: String,
    pub value: Option<f64>,
    /// `ratio` (a share: 0.25 is 25 %), `seconds`, `hours` or `count`.
    pub unit: Unit,
    /// Whether a smaller value is better (a refund rate) or a larger one (an on-time rate).
    pub lower_is_better: bool,
    /// Where it passes: the value that scores the pass mark; a rule's threshold.
    pub pass_at: f64,
    /// The metric's `best` (it scores 5 there); a rule's threshold.
    pub target: f64,
    /// How far `value` is from `target`, in the direction that improves it (≥ 0).
    pub gap: Option<f64>,
    /// Service-score points the shop would gain by reaching the target (0 for rules).
    pub gain: f64,
    /// The hint as a sentence, in the policy's language.
    pub message: String,
}
