//! Compiles the raw policy into [`Policy`](super::Policy), one function per section,
//! each checking what its section must hold and naming the field when it does not.

use std::collections::{BTreeMap, HashSet};

use super::raw;
use super::*;
use crate::metric::catalogue::{Metric, RefundSla};

pub(super) fn invalid(msg: impl Into<String>) -> PolicyError {
    PolicyError::Invalid(msg.into())
}

pub(super) fn compile_sla(sla: &raw::Sla, at: &str) -> Result<RefundSla, PolicyError> {
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
        let Some(known) = crate::domain::RefundReason::parse(reason) else {
            return Err(invalid(format!("{at}: unknown refund reason {reason:?}")));
        };
        per_reason.push((known, secs(*h, reason)?));
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

/// `[credit]`: levels strictly ascending from a positive minimum, positive numbers.
pub(super) fn credit(c: &raw::Credit) -> Result<CreditPolicy, PolicyError> {
    if c.levels.is_empty()
        || c.levels.windows(2).any(|w| w[0].min >= w[1].min)
        || c.levels[0].min <= 0
    {
        return Err(invalid(
            "credit.levels must be non-empty, positive and strictly ascending",
        ));
    }
    if c.monthly_cap < 0 || c.floor_cents < 0 || c.same_item_days == 0 || c.rate_window_days == 0 {
        return Err(invalid("credit numbers must be positive"));
    }
    Ok(CreditPolicy {
        floor_cents: c.floor_cents,
        same_item_days: c.same_item_days,
        monthly_cap: c.monthly_cap,
        rate_window_days: c.rate_window_days,
        levels: c.levels.clone(),
    })
}

/// `[service_score]`: named, positively weighted indicators of metrics whose best and
/// worst differ; overrides only of indicator metrics.
pub(super) fn service_score(
    s: &raw::ServiceScore,
    refund_sla: &RefundSla,
) -> Result<ServiceScorePolicy, PolicyError> {
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
                named: named(&m.metric, refund_sla, &at)?,
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
    Ok(ServiceScorePolicy {
        window_days: s.window_days,
        pass_mark: s.pass_mark,
        indicators,
        overrides: s.overrides.clone(),
    })
}

/// `[stars]`: four ascending bands and a five-star metric.
pub(super) fn stars(st: &raw::Stars, refund_sla: &RefundSla) -> Result<StarsPolicy, PolicyError> {
    if st.bands.len() != 4 || st.bands.windows(2).any(|w| w[0] >= w[1]) {
        return Err(invalid("stars.bands must be 4 ascending numbers"));
    }
    Ok(StarsPolicy {
        grades: st.grades.clone(),
        bands: st.bands.clone(),
        five_star_metric: named(&st.five_star_metric, refund_sla, "stars.five_star_metric")?,
        five_star_threshold: st.five_star_threshold,
        five_star_months: st.five_star_months,
    })
}

/// `[cs_tier]`: scale bands whose last alone is unbounded, shares within 0..1.
pub(super) fn cs_tier(t: &CsTierPolicy) -> Result<CsTierPolicy, PolicyError> {
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
    Ok(t.clone())
}

/// `[[programs]]`: unique id names, valid periods, rules and penalties; escalation and
/// exemption only for monthly programmes.
pub(super) fn programs(
    raw_programs: &[raw::Program],
    refund_sla: &RefundSla,
) -> Result<Vec<Program>, PolicyError> {
    let mut programs = Vec::new();
    let mut program_names = HashSet::new();
    for p in raw_programs {
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
                other => return Err(invalid(format!("{at}: op {other:?} must be >=, <= or ="))),
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
                let n = named(&pen.late_orders_of, refund_sla, &at)?;
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
        let mut escalation: Vec<super::Escalation> = (p.escalation.iter())
            .map(|e| super::Escalation {
                after: e.after,
                status: crate::domain::ProgramStatus::parse(&e.status),
            })
            .collect();
        escalation.sort_by(|a, b| (a.after, a.status.as_str()).cmp(&(b.after, b.status.as_str())));
        if escalation.iter().any(|e| e.after < 2) {
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

    Ok(programs)
}

/// The indicators scoring reads by name (SPEC §4.4's star dimensions, §4.6's tier gate):
/// a policy without one would leave that dimension `unrated` or the gate failing
/// for every shop, silently, so it does not load.
pub(super) fn indicators_read_by_name(service: &ServiceScorePolicy) -> Result<(), PolicyError> {
    for (name, reader) in INDICATORS_READ_BY_NAME {
        if service.indicator(name).is_none() {
            return Err(invalid(format!(
                "service_score needs an indicator named {name:?} ({reader})"
            )));
        }
    }
    Ok(())
}

/// `[hints]`: every label names a metric of the catalogue or a programme, and every
/// metric a hint can name (indicator metrics, programme rules) and every programme has
/// one, so that no hint falls back to a raw name unnoticed.
pub(super) fn hints(
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
