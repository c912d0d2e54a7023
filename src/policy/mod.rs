//! The policy file (SPEC: every number marked *(policy)*): schema, loading, validation.
//!
//! The TOML is read into `raw` types (`raw.rs`), then compiled section by section into
//! [`Policy`] (`compile.rs`), whose metric strings are parsed into metrics once, at
//! start, so a typo fails the boot with a message naming the field instead of failing
//! a recompute later.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use chrono_tz::Tz;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::metric::catalogue::RefundSla;

pub const DEFAULT_POLICY: &str = include_str!("../../policy/default.toml");

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("policy is not valid TOML for shopscore: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("policy: {0}")]
    Invalid(String),
}

mod compile;
mod raw;

/// The indicators scoring reads by name (SPEC §4.4, §4.6); a policy must have them.
pub mod indicator {
    pub const PRODUCT: &str = "product";
    pub const CONSULTATION: &str = "consultation";
    pub const AFTER_SALES: &str = "after_sales";
    pub const LOGISTICS: &str = "logistics";
}

/// The indicators scoring reads by name, and what reads them.
pub const INDICATORS_READ_BY_NAME: [(&str, &str); 4] = [
    (indicator::PRODUCT, "the star dimension `quality`"),
    (
        indicator::CONSULTATION,
        "the star dimension `response` and the tier gate",
    ),
    (indicator::AFTER_SALES, "the star dimension `ability`"),
    (indicator::LOGISTICS, "the star dimension `performance`"),
];

pub use raw::{BestWorst, Grade, Level, Scale};

/// A rule's comparison, written as SPEC §4.5 writes it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub enum Op {
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "=")]
    Eq,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Le => "<=",
            Op::Eq => "=",
        }
    }
    /// SPEC §1: a value within `eps` of its threshold meets it.
    pub fn holds(self, value: f64, threshold: f64, eps: f64) -> bool {
        match self {
            Op::Ge => value >= threshold - eps,
            Op::Le => value <= threshold + eps,
            Op::Eq => (value - threshold).abs() <= eps,
        }
    }
}

/// A metric as the policy writes it (`name`, the key shown in scorecards) and parsed.
pub use crate::metric::catalogue::NamedMetric;

#[derive(Debug, Clone)]
pub struct IndicatorMetric {
    pub named: NamedMetric,
    pub best: f64,
    pub worst: f64,
}

#[derive(Debug, Clone)]
pub struct Indicator {
    pub name: String,
    pub weight: f64,
    pub metrics: Vec<IndicatorMetric>,
}

#[derive(Debug, Clone)]
pub struct ServiceScorePolicy {
    pub window_days: u32,
    pub pass_mark: f64,
    pub indicators: Vec<Indicator>,
    pub overrides: BTreeMap<String, BTreeMap<String, BestWorst>>,
}

impl ServiceScorePolicy {
    /// `best`/`worst` for a metric in an industry, after per-industry overrides.
    pub fn bounds(&self, industry: &str, m: &IndicatorMetric) -> (f64, f64) {
        match self
            .overrides
            .get(industry)
            .and_then(|o| o.get(&m.named.name))
        {
            Some(bw) => (bw.best, bw.worst),
            None => (m.best, m.worst),
        }
    }
    /// Every indicator metric, in policy order.
    pub fn metrics(&self) -> impl Iterator<Item = &NamedMetric> {
        self.indicators
            .iter()
            .flat_map(|i| i.metrics.iter().map(|m| &m.named))
    }
    pub fn indicator(&self, name: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.name == name)
    }
}

#[derive(Debug, Clone)]
pub struct CreditPolicy {
    pub floor_cents: i64,
    pub same_item_days: u32,
    pub monthly_cap: i64,
    pub rate_window_days: u32,
    pub levels: Vec<Level>,
}

#[derive(Debug, Clone)]
pub struct StarsPolicy {
    pub grades: Vec<Grade>,
    pub bands: Vec<f64>,
    pub five_star_metric: NamedMetric,
    pub five_star_threshold: f64,
    pub five_star_months: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsTierPolicy {
    pub excluded_industries: HashSet<String>,
    pub min_ratings: i64,
    pub service_score_gate: f64,
    pub consultation_gate: f64,
    pub scales: Vec<Scale>,
    pub gold_pct: f64,
    pub silver_cumulative_pct: f64,
    pub black_enabled: bool,
    pub black_pct: f64,
}

impl CsTierPolicy {
    pub fn scale_for(&self, orders: i64) -> &str {
        self.scales
            .iter()
            .find(|s| s.below.is_none_or(|b| orders < b))
            .map(|s| s.name.as_str())
            .expect("validated: the last scale is unbounded")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum PeriodKind {
    Month,
    /// A yearly local date range `[start, end)`, as (month, day) pairs.
    Campaign {
        start: (u32, u32),
        end: (u32, u32),
    },
    Rolling {
        days: u32,
    },
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub named: NamedMetric,
    pub op: Op,
    pub threshold: f64,
}

#[derive(Debug, Clone)]
pub struct Penalty {
    /// A `late_shipments(h)` metric: the orders it lists are charged.
    pub late_orders_of: NamedMetric,
    pub percent: u32,
    pub cap_cents: i64,
}

/// A programme's status once `after` consecutive months have failed (SPEC §4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub after: u32,
    pub status: crate::domain::ProgramStatus,
}

#[derive(Debug, Clone)]
pub struct Program {
    pub name: String,
    pub period: PeriodKind,
    pub settle_seconds: i64,
    pub exempt_first_months: Option<u32>,
    /// Sorted by `after`, ascending.
    pub escalation: Vec<Escalation>,
    pub rules: Vec<Rule>,
    pub penalty: Option<Penalty>,
}

impl Program {
    /// Programmes with escalation report `consecutive_failures`; others report `null`.
    pub fn tracks_failures(&self) -> bool {
        !self.escalation.is_empty()
    }
}

/// The language hints are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Language {
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    ZhCn,
}

/// A metric's or a programme's name for people, in each shipped language. In a metric's
/// label `{1}`, `{2}` stand for its parameters as the policy writes them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub en: String,
    pub zh: String,
}

/// `[hints]`: the words hints use. Without the section, English and names as written.
#[derive(Debug, Clone)]
pub struct HintsPolicy {
    pub language: Language,
    pub labels: BTreeMap<String, Label>,
}

impl HintsPolicy {
    /// `ship_on_time_rate(48)` or `cs_daily` in words: its label with the parameters
    /// filled in, or the text itself when the policy labels nothing.
    pub fn label(&self, text: &str) -> String {
        let (name, params) = crate::metric::catalogue::split_name(text);
        let Some(label) = self.labels.get(name) else {
            return text.to_string();
        };
        let mut words = match self.language {
            Language::En => label.en.clone(),
            Language::ZhCn => label.zh.clone(),
        };
        for (i, p) in params.iter().enumerate() {
            words = words.replace(&format!("{{{}}}", i + 1), p);
        }
        words
    }
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub version: String,
    /// The policy file as JSON, for `GET /v1/policy`.
    pub document: serde_json::Value,
    pub tz: Tz,
    pub epsilon: f64,
    pub credit: CreditPolicy,
    pub dsr_window_days: u32,
    pub dsr_monthly_cap: u32,
    pub refund_sla: RefundSla,
    pub service: ServiceScorePolicy,
    pub stars: StarsPolicy,
    pub cs_tier: CsTierPolicy,
    pub programs: Vec<Program>,
    pub hints: HintsPolicy,
}

impl Policy {
    pub fn load(path: Option<&Path>) -> Result<Policy, PolicyError> {
        match path {
            None => Policy::parse(DEFAULT_POLICY),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| PolicyError::Read {
                    path: p.display().to_string(),
                    source,
                })?;
                Policy::parse(&text)
            }
        }
    }

    pub fn default_policy() -> Policy {
        Policy::parse(DEFAULT_POLICY).expect("the built-in policy is valid")
    }

    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let raw: raw::Policy = toml::from_str(text)?;
        let version = hex::encode(&Sha256::digest(text.as_bytes())[..8]);
        let tz: Tz = raw
            .timezone
            .parse()
            .map_err(|_| compile::invalid(format!("unknown time zone {:?}", raw.timezone)))?;
        if !(raw.epsilon >= 0.0 && raw.epsilon < 0.01) {
            return Err(compile::invalid("epsilon must be in [0, 0.01)"));
        }
        let refund_sla = compile::compile_sla(&raw.refund_sla, "refund_sla")?;
        let service = compile::service_score(&raw.service_score, &refund_sla)?;
        compile::indicators_read_by_name(&service)?;
        let programs = compile::programs(&raw.programs, &refund_sla)?;
        Ok(Policy {
            version,
            document: toml::from_str(text)?,
            tz,
            epsilon: raw.epsilon,
            credit: compile::credit(&raw.credit)?,
            dsr_window_days: raw.dsr.window_days,
            dsr_monthly_cap: raw.dsr.monthly_cap,
            stars: compile::stars(&raw.stars, &refund_sla)?,
            cs_tier: compile::cs_tier(&raw.cs_tier)?,
            hints: compile::hints(raw.hints, &service, &programs)?,
            refund_sla,
            service,
            programs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_loads_with_spec_numbers() {
        let p = Policy::default_policy();
        assert_eq!(p.tz, chrono_tz::Asia::Shanghai);
        assert_eq!(p.credit.levels.len(), 20);
        assert_eq!(p.credit.levels[19].min, 10_000_001);
        assert_eq!(p.programs.len(), 2);
        assert_eq!(p.programs[1].rules.len(), 10);
        assert_eq!(p.programs[1].settle_seconds, 120 * 3600);
        assert_eq!(p.cs_tier.scale_for(999), "small");
        assert_eq!(p.cs_tier.scale_for(1000), "medium");
        assert_eq!(p.cs_tier.scale_for(10_000), "large");
        assert_eq!(p.version.len(), 16);
    }

    #[test]
    fn bad_policies_fail_with_a_clear_message() {
        let bad_metric =
            DEFAULT_POLICY.replace("\"human_reply_rate(180)\"", "\"human_reply_rate(soon)\"");
        let e = Policy::parse(&bad_metric).unwrap_err().to_string();
        assert!(e.contains("programs.cs_daily"), "{e}");
        let unlabelled = DEFAULT_POLICY.replace("\nruling_rate = {", "\n# ruling_rate = {");
        let e = Policy::parse(&unlabelled).unwrap_err().to_string();
        assert!(e.contains("\"ruling_rate\" has no label"), "{e}");
        let typo = DEFAULT_POLICY.replace("\nruling_rate = {", "\nruling_rat = {");
        let e = Policy::parse(&typo).unwrap_err().to_string();
        assert!(
            e.contains("\"ruling_rat\" is neither a metric nor a programme"),
            "{e}"
        );
        let no_section = &DEFAULT_POLICY[..DEFAULT_POLICY.find("[hints]").unwrap()];
        let p = Policy::parse(no_section).unwrap();
        assert_eq!(
            p.hints.label("ship_on_time_rate(48)"),
            "ship_on_time_rate(48)"
        );
        assert_eq!(
            Policy::default_policy()
                .hints
                .label("online_hours_avg(09:00,24:00)"),
            "average hours staffed between 09:00 and 24:00"
        );
        // An indicator the star dimensions read, renamed: named at load, not `unrated`
        // on every card.
        let renamed = DEFAULT_POLICY.replace("name = \"after_sales\"", "name = \"aftercare\"");
        let e = Policy::parse(&renamed).unwrap_err().to_string();
        assert!(
            e.contains("needs an indicator named \"after_sales\" (the star dimension `ability`)"),
            "{e}"
        );
        let bad_tz = DEFAULT_POLICY.replace("Asia/Shanghai", "Mars/Olympus");
        assert!(Policy::parse(&bad_tz)
            .unwrap_err()
            .to_string()
            .contains("time zone"));
    }
}
