//! SPEC §4.5: compliance programme rules, penalties and statuses. Pure.

use std::collections::HashMap;

use super::card::{LateOrder, RuleResult};
use crate::metric::eval::Measured;
use crate::policy::{Program, Rule};

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
pub fn escalated_status(p: &Program, consecutive: u32) -> String {
    if consecutive == 0 {
        return "pass".into();
    }
    p.escalation
        .iter()
        .rev()
        .find(|(after, _)| consecutive >= *after)
        .map_or("fail".into(), |(_, s)| s.clone())
}

#[cfg(test)]
mod tests {
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
        assert_eq!(escalated_status(cs, 0), "pass");
        assert_eq!(escalated_status(cs, 1), "fail");
        assert_eq!(escalated_status(cs, 2), "warning");
        assert_eq!(escalated_status(cs, 3), "blocked");
        assert_eq!(escalated_status(cs, 7), "blocked");
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
