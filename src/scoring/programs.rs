//! SPEC §4.5: compliance programme rules, penalties and statuses. Pure.

use std::collections::HashMap;

use super::card::{LateOrder, RuleResult};
use crate::domain::ProgramStatus;
use crate::metric::eval::Measured;
use crate::policy::{Program, Rule};
use crate::time::Month;

/// Evaluates the rules in policy order. A null metric reports `pass: null` and does not
/// fail. Returns the results and whether any rule failed.
pub fn evaluate_rules(
    rules: &[Rule],
    values: &HashMap<String, Measured>,
    eps: f64,
) -> (Vec<RuleResult>, bool) {
    let mut failed = false;
    let results = rules
        .iter()
        .map(|r| {
            let measured = values.get(&r.named.name).copied().unwrap_or_default();
            let value = measured.value;
            let pass = value.map(|v| r.op.holds(v, r.threshold, eps));
            failed |= pass == Some(false);
            RuleResult {
                metric: r.named.name.clone(),
                op: r.op.as_str().into(),
                threshold: r.threshold,
                value,
                pass,
            }
        })
        .collect();
    (results, failed)
}

/// `percent` of the amount, rounded down to whole cents, at most `cap`.
pub fn penalty_cents(amount_cents: i64, percent: u32, cap: i64) -> i64 {
    (amount_cents.max(0) * i64::from(percent) / 100).min(cap)
}

/// Late orders sorted by `order_id` with their penalties, and the total.
pub fn penalties(late: &[(String, i64)], percent: u32, cap: i64) -> (i64, Vec<LateOrder>) {
    let mut out: Vec<LateOrder> = late
        .iter()
        .map(|(id, amount)| LateOrder {
            order_id: id.clone(),
            penalty_cents: penalty_cents(*amount, percent, cap),
        })
        .collect();
    out.sort_by(|a, b| a.order_id.as_bytes().cmp(b.order_id.as_bytes()));
    (out.iter().map(|l| l.penalty_cents).sum(), out)
}

/// Status of a monthly programme with escalation: `consecutive` failing months ending
/// with this one (0 when this one passed or is exempt).
pub fn escalated_status(p: &Program, consecutive: u32) -> ProgramStatus {
    if consecutive == 0 {
        return ProgramStatus::Pass;
    }
    p.escalation
        .iter()
        .rev()
        .find(|(after, _)| consecutive >= *after)
        .map_or(ProgramStatus::Fail, |(_, s)| ProgramStatus::parse(s))
}

/// SPEC §4.5: a programme's status before escalation: a campaign not yet settled is
/// `in_progress`; a new shop's month is `exempt` (its rules still shown); then `fail`
/// or `pass`.
pub fn status(in_progress: bool, exempt: bool, failed: bool) -> ProgramStatus {
    match (in_progress, exempt, failed) {
        (true, _, _) => ProgramStatus::InProgress,
        (false, true, _) => ProgramStatus::Exempt,
        (false, false, true) => ProgramStatus::Fail,
        (false, false, false) => ProgramStatus::Pass,
    }
}

/// A new shop's last exempt month under `exempt_first_months` = n: the month of its first
/// event counts as the first, so the last is that month + n − 1.
pub fn last_exempt_month(
    exempt_first_months: Option<u32>,
    first_event: Option<Month>,
) -> Option<Month> {
    match (exempt_first_months, first_event) {
        (Some(n), Some(first)) if n > 0 => Some(Month(first.0 + n as i32 - 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn status_and_exemption() {
        assert_eq!(status(true, true, true), ProgramStatus::InProgress);
        assert_eq!(status(false, true, true), ProgramStatus::Exempt);
        assert_eq!(status(false, false, true), ProgramStatus::Fail);
        assert_eq!(status(false, false, false), ProgramStatus::Pass);
        // First event in 2026-08, three months: August, September, October.
        let aug = Month::new(2026, 8);
        assert_eq!(
            last_exempt_month(Some(3), Some(aug)),
            Some(Month::new(2026, 10))
        );
        // December + 2 crosses the year.
        assert_eq!(
            last_exempt_month(Some(3), Some(Month::new(2026, 12))),
            Some(Month::new(2027, 2))
        );
        assert_eq!(last_exempt_month(Some(0), Some(aug)), None);
        assert_eq!(last_exempt_month(None, Some(aug)), None);
        assert_eq!(last_exempt_month(Some(3), None), None);
    }
    use super::*;
    use crate::policy::Policy;

    #[test]
    fn holiday_penalties_round_down_and_cap() {
        let (total, list) = penalties(
            &[
                ("o9".into(), 300_000),
                ("o1".into(), 10_000),
                ("o2".into(), 101),
            ],
            30,
            50_000,
        );
        assert_eq!(
            list.iter()
                .map(|l| (l.order_id.as_str(), l.penalty_cents))
                .collect::<Vec<_>>(),
            [("o1", 3_000), ("o2", 30), ("o9", 50_000)]
        );
        assert_eq!(total, 53_030);
    }

    #[test]
    fn escalation() {
        let p = Policy::default_policy();
        let cs = &p.programs[0];
        assert_eq!(escalated_status(cs, 0).as_str(), "pass");
        assert_eq!(escalated_status(cs, 1).as_str(), "fail");
        assert_eq!(escalated_status(cs, 2).as_str(), "warning");
        assert_eq!(escalated_status(cs, 3).as_str(), "blocked");
        assert_eq!(escalated_status(cs, 7).as_str(), "blocked");
    }

    #[test]
    fn null_rules_do_not_fail() {
        let p = Policy::default_policy();
        let cs = &p.programs[0];
        let mut v = HashMap::new();
        v.insert(
            "online_hours_avg(09:00,24:00)".to_string(),
            Some(8.999_999_999_9),
        );
        v.insert("human_reply_rate(180)".to_string(), None);
        let (rules, failed) =
            evaluate_rules(&cs.rules, &crate::scoring::service::measured(&v), 1e-9);
        assert!(!failed);
        assert_eq!(rules[0].pass, Some(true));
        assert_eq!(rules[1].pass, None);
    }
}
