//! The policy file's schema, as TOML says it: read with serde, checked and compiled by
//! `compile`. Unknown keys are errors everywhere (`deny_unknown_fields`), so that a typo
//! is not silently a default.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{CsTierPolicy, Label, Language};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub timezone: String,
    #[serde(default = "default_epsilon")]
    pub epsilon: f64,
    pub credit: Credit,
    pub dsr: Dsr,
    pub refund_sla: Sla,
    pub service_score: ServiceScore,
    pub stars: Stars,
    pub cs_tier: CsTierPolicy,
    #[serde(default)]
    pub programs: Vec<Program>,
    pub hints: Option<Hints>,
}
fn default_epsilon() -> f64 {
    1e-9
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credit {
    pub floor_cents: i64,
    pub same_item_days: u32,
    pub monthly_cap: i64,
    pub rate_window_days: u32,
    pub levels: Vec<Level>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub min: i64,
    pub tier: String,
    pub rank: u8,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dsr {
    pub window_days: u32,
    pub monthly_cap: u32,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Sla {
    #[serde(default)]
    pub hours: BTreeMap<String, f64>,
    pub other_hours: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceScore {
    pub window_days: u32,
    pub pass_mark: f64,
    pub indicators: Vec<Indicator>,
    #[serde(default)]
    pub overrides: BTreeMap<String, BTreeMap<String, BestWorst>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    pub name: String,
    pub weight: f64,
    pub metrics: Vec<IndicatorMetric>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorMetric {
    pub metric: String,
    pub best: f64,
    pub worst: f64,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct BestWorst {
    pub best: f64,
    pub worst: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stars {
    pub grades: Vec<Grade>,
    pub bands: Vec<f64>,
    pub five_star_metric: String,
    pub five_star_threshold: f64,
    pub five_star_months: u32,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Grade {
    pub grade: String,
    pub min: f64,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    pub name: String,
    pub below: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub name: String,
    pub period: Period,
    #[serde(default)]
    pub settle_hours: f64,
    pub exempt_first_months: Option<u32>,
    #[serde(default)]
    pub escalation: Vec<Escalation>,
    pub rules: Vec<Rule>,
    pub penalty: Option<Penalty>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum Period {
    Month,
    Campaign { start: String, end: String },
    Rolling { days: u32 },
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    pub after: u32,
    pub status: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub metric: String,
    pub op: String,
    pub threshold: f64,
    pub refund_sla: Option<Sla>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hints {
    pub language: Language,
    pub labels: BTreeMap<String, Label>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Penalty {
    pub late_orders_of: String,
    pub percent: u32,
    pub cap_cents: i64,
}
