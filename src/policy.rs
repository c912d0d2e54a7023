//! The policy file (SPEC: every number marked *(policy)*): schema, loading, validation.
//!
//! The TOML is read into `raw` types, then compiled into [`Policy`], whose metric
//! strings are parsed into [`Metric`]s once, at start, so a typo fails the boot with a
//! message naming the field instead of failing a recompute later.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use chrono_tz::Tz;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::metric::catalogue::{Metric, RefundSla};

pub const DEFAULT_POLICY: &str = include_str!("../policy/default.toml");

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

mod raw {
    use super::*;

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
        pub cs_tier: super::CsTierPolicy,
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
        pub language: super::Language,
        pub labels: BTreeMap<String, super::Label>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Penalty {
        pub late_orders_of: String,
        pub percent: u32,
        pub cap_cents: i64,
    }
}

pub use raw::{BestWorst, Grade, Level, Scale};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
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

#[derive(Debug, Clone)]
pub struct Program {
    pub name: String,
    pub period: PeriodKind,
    pub settle_seconds: i64,
    pub exempt_first_months: Option<u32>,
    /// Sorted by `after`, ascending.
    pub escalation: Vec<(u32, String)>,
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

fn invalid(msg: impl Into<String>) -> PolicyError {
    PolicyError::Invalid(msg.into())
}

fn compile_sla(sla: &raw::Sla, at: &str) -> Result<RefundSla, PolicyError> {
    let secs = |h: f64, what: &str| -> Result<i64, PolicyError> {
        if h.is_finite() && h >= 0.0 {
            Ok((h * 3600.0).round() as i64)
        } else {
            Err(invalid(format!(
                "{at}: {what} must be a non-negative number of hours"
            )))
        }
    };
    let mut per_reason = Vec::new();
    for (reason, h) in &sla.hours {
        if !crate::domain::REFUND_REASONS.contains(&reason.as_str()) {
            return Err(invalid(format!("{at}: unknown refund reason {reason:?}")));
        }
        per_reason.push((reason.clone(), secs(*h, reason)?));
    }
    let other = sla
        .other_hours
        .map(|h| secs(h, "other_hours"))
        .transpose()?;
    Ok(RefundSla { per_reason, other })
}

fn named(text: &str, sla: &RefundSla, at: &str) -> Result<NamedMetric, PolicyError> {
    if text.contains(char::is_whitespace) {
        return Err(invalid(format!(
            "{at}: metric {text:?} must be written without spaces"
        )));
    }
    let metric = Metric::parse(text, sla).map_err(|e| invalid(format!("{at}: {e}")))?;
    Ok(NamedMetric {
        name: text.to_string(),
        metric,
    })
}

fn month_day(s: &str, at: &str) -> Result<(u32, u32), PolicyError> {
    let bad = || invalid(format!("{at}: {s:?} must be MM-DD"));
    let (m, d) = s.split_once('-').ok_or_else(bad)?;
    let (m, d): (u32, u32) = (m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
    chrono::NaiveDate::from_ymd_opt(2000, m, d).ok_or_else(bad)?;
    Ok((m, d))
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
            .map_err(|_| invalid(format!("unknown time zone {:?}", raw.timezone)))?;
        if !(raw.epsilon >= 0.0 && raw.epsilon < 0.01) {
            return Err(invalid("epsilon must be in [0, 0.01)"));
        }

        let c = &raw.credit;
        if c.levels.is_empty()
            || c.levels.windows(2).any(|w| w[0].min >= w[1].min)
            || c.levels[0].min <= 0
        {
            return Err(invalid(
                "credit.levels must be non-empty, positive and strictly ascending",
            ));
        }
        if c.monthly_cap < 0
            || c.floor_cents < 0
            || c.same_item_days == 0
            || c.rate_window_days == 0
        {
            return Err(invalid("credit numbers must be positive"));
        }
        let refund_sla = compile_sla(&raw.refund_sla, "refund_sla")?;

        let s = &raw.service_score;
        if s.indicators.is_empty() {
            return Err(invalid("service_score.indicators must not be empty"));
        }
        let mut indicators = Vec::new();
        let mut names = HashSet::new();
        for ind in &s.indicators {
            if !names.insert(ind.name.clone()) {
                return Err(invalid(format!(
                    "service_score: indicator {:?} appears twice",
                    ind.name
                )));
            }
            if !(ind.weight.is_finite() && ind.weight > 0.0) {
                return Err(invalid(format!(
                    "service_score.{}: weight must be positive",
                    ind.name
                )));
            }
            let mut metrics = Vec::new();
            for m in &ind.metrics {
                let at = format!("service_score.{}", ind.name);
                if m.best == m.worst || !m.best.is_finite() || !m.worst.is_finite() {
                    return Err(invalid(format!("{at}: {} needs best != worst", m.metric)));
                }
                metrics.push(IndicatorMetric {
                    named: named(&m.metric, &refund_sla, &at)?,
                    best: m.best,
                    worst: m.worst,
                });
            }
            indicators.push(Indicator {
                name: ind.name.clone(),
                weight: ind.weight,
                metrics,
            });
        }
        for (industry, o) in &s.overrides {
            for (metric, bw) in o {
                if !indicators
                    .iter()
                    .flat_map(|i| &i.metrics)
                    .any(|m| &m.named.name == metric)
                {
                    return Err(invalid(format!(
                        "service_score.overrides.{industry}: {metric:?} is not an indicator metric"
                    )));
                }
                if bw.best == bw.worst {
                    return Err(invalid(format!(
                        "service_score.overrides.{industry}.{metric}: best == worst"
                    )));
                }
            }
        }
        let service = ServiceScorePolicy {
            window_days: s.window_days,
            pass_mark: s.pass_mark,
            indicators,
            overrides: s.overrides.clone(),
        };

        let st = &raw.stars;
        if st.bands.len() != 4 || st.bands.windows(2).any(|w| w[0] >= w[1]) {
            return Err(invalid("stars.bands must be 4 ascending numbers"));
        }
        let stars = StarsPolicy {
            grades: st.grades.clone(),
            bands: st.bands.clone(),
            five_star_metric: named(&st.five_star_metric, &refund_sla, "stars.five_star_metric")?,
            five_star_threshold: st.five_star_threshold,
            five_star_months: st.five_star_months,
        };

        let t = &raw.cs_tier;
        if t.scales.is_empty()
            || t.scales.last().is_some_and(|s| s.below.is_some())
            || t.scales[..t.scales.len() - 1]
                .iter()
                .any(|s| s.below.is_none())
        {
            return Err(invalid(
                "cs_tier.scales: every band but the last needs `below`; the last must not have it",
            ));
        }
        for p in [t.gold_pct, t.silver_cumulative_pct, t.black_pct] {
            if !(0.0..=1.0).contains(&p) {
                return Err(invalid("cs_tier percentages must be within 0..1"));
            }
        }
        if t.silver_cumulative_pct < t.gold_pct {
            return Err(invalid(
                "cs_tier.silver_cumulative_pct must be at least gold_pct",
            ));
        }
        let cs_tier = t.clone();
        if service.indicator("consultation").is_none() {
            return Err(invalid(
                "service_score needs a `consultation` indicator (the tier gate)",
            ));
        }

        let mut programs = Vec::new();
        let mut program_names = HashSet::new();
        for p in &raw.programs {
            let at = format!("programs.{}", p.name);
            if !crate::domain::valid_id(&p.name, 64) || !program_names.insert(p.name.clone()) {
                return Err(invalid(format!("{at}: names must be unique ids")));
            }
            let period = match &p.period {
                raw::Period::Month => PeriodKind::Month,
                raw::Period::Campaign { start, end } => {
                    let (s, e) = (month_day(start, &at)?, month_day(end, &at)?);
                    if s >= e {
                        return Err(invalid(format!(
                            "{at}: campaign must end after it starts within a year"
                        )));
                    }
                    PeriodKind::Campaign { start: s, end: e }
                }
                raw::Period::Rolling { days } if *days > 0 => PeriodKind::Rolling { days: *days },
                raw::Period::Rolling { .. } => {
                    return Err(invalid(format!("{at}: rolling days must be > 0")))
                }
            };
            if !(p.settle_hours.is_finite() && p.settle_hours >= 0.0) {
                return Err(invalid(format!("{at}: settle_hours must be >= 0")));
            }
            let mut rules = Vec::new();
            for r in &p.rules {
                let sla = match &r.refund_sla {
                    Some(s) => compile_sla(s, &at)?,
                    None => refund_sla.clone(),
                };
                let op = match r.op.as_str() {
                    ">=" => Op::Ge,
                    "<=" => Op::Le,
                    "=" => Op::Eq,
                    other => {
                        return Err(invalid(format!("{at}: op {other:?} must be >=, <= or =")))
                    }
                };
                rules.push(Rule {
                    named: named(&r.metric, &sla, &at)?,
                    op,
                    threshold: r.threshold,
                });
            }
            let penalty = match &p.penalty {
                None => None,
                Some(pen) => {
                    let n = named(&pen.late_orders_of, &refund_sla, &at)?;
                    if !matches!(n.metric, Metric::LateShipments(_)) {
                        return Err(invalid(format!(
                            "{at}: penalty.late_orders_of must be late_shipments(h)"
                        )));
                    }
                    if pen.percent > 100 || pen.cap_cents < 0 {
                        return Err(invalid(format!(
                            "{at}: penalty percent must be 0-100 and cap >= 0"
                        )));
                    }
                    Some(Penalty {
                        late_orders_of: n,
                        percent: pen.percent,
                        cap_cents: pen.cap_cents,
                    })
                }
            };
            let mut escalation: Vec<(u32, String)> = p
                .escalation
                .iter()
                .map(|e| (e.after, e.status.clone()))
                .collect();
            escalation.sort();
            if escalation.iter().any(|(a, _)| *a < 2) {
                return Err(invalid(format!(
                    "{at}: escalation.after must be >= 2 (one failure is `fail`)"
                )));
            }
            if p.exempt_first_months.is_some() && period != PeriodKind::Month {
                return Err(invalid(format!(
                    "{at}: exempt_first_months needs a monthly period"
                )));
            }
            if !escalation.is_empty() && period != PeriodKind::Month {
                return Err(invalid(format!("{at}: escalation needs a monthly period")));
            }
            programs.push(Program {
                name: p.name.clone(),
                period,
                settle_seconds: (p.settle_hours * 3600.0).round() as i64,
                exempt_first_months: p.exempt_first_months,
                escalation,
                rules,
                penalty,
            });
        }

        let hints = compile_hints(raw.hints, &service, &programs)?;
        Ok(Policy {
            version,
            document: toml::from_str(text)?,
            tz,
            epsilon: raw.epsilon,
            credit: CreditPolicy {
                floor_cents: c.floor_cents,
                same_item_days: c.same_item_days,
                monthly_cap: c.monthly_cap,
                rate_window_days: c.rate_window_days,
                levels: c.levels.clone(),
            },
            dsr_window_days: raw.dsr.window_days,
            dsr_monthly_cap: raw.dsr.monthly_cap,
            refund_sla,
            service,
            stars,
            cs_tier,
            hints,
            programs,
        })
    }
}

/// `[hints]`: every label names a metric of the catalogue or a programme, and every
/// metric a hint can name (indicator metrics, programme rules) and every programme has
/// one, so that no hint falls back to a raw name unnoticed.
fn compile_hints(
    raw: Option<raw::Hints>,
    service: &ServiceScorePolicy,
    programs: &[Program],
) -> Result<HintsPolicy, PolicyError> {
    let Some(raw) = raw else {
        return Ok(HintsPolicy {
            language: Language::En,
            labels: BTreeMap::new(),
        });
    };
    for name in raw.labels.keys() {
        let known = crate::metric::catalogue::NAMES.contains(&name.as_str())
            || programs.iter().any(|p| &p.name == name);
        if !known {
            return Err(invalid(format!(
                "hints.labels: {name:?} is neither a metric nor a programme"
            )));
        }
    }
    let named = service
        .metrics()
        .map(|m| m.name.as_str())
        .chain(programs.iter().flat_map(|p| {
            std::iter::once(p.name.as_str()).chain(p.rules.iter().map(|r| r.named.name.as_str()))
        }));
    for text in named {
        let (name, _) = crate::metric::catalogue::split_name(text);
        if !raw.labels.contains_key(name) {
            return Err(invalid(format!(
                "hints.labels: {name:?} has no label (hints name it)"
            )));
        }
    }
    Ok(HintsPolicy {
        language: raw.language,
        labels: raw.labels,
    })
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
        let bad_tz = DEFAULT_POLICY.replace("Asia/Shanghai", "Mars/Olympus");
        assert!(Policy::parse(&bad_tz)
            .unwrap_err()
            .to_string()
            .contains("time zone"));
    }
}
