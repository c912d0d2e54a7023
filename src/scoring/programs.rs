//! SPEC §4.5: compliance programme rules, penalties and statuses. Pure.

use std::collections::HashMap;

use chrono_tz::Tz;
use indexmap::IndexMap;

use super::card::{self, LateOrder, RuleResult};
use super::periods::ProgramPeriod;
use super::target;
use crate::domain::{ProgramStatus, ShopInfo};
use crate::metric::eval::{late_orders, measure_all, Measured};
use crate::metric::{Metric, Scope, ShopData};
use crate::policy::{Program, Rule};
use crate::time::Month;

/// A programme's rules for one shop in one scope.
pub struct Rules {
    pub results: Vec<RuleResult>,
    /// Each rule metric's basis `n`, by its policy name.
    pub basis: IndexMap<String, u64>,
    pub failed: bool,
}

/// Measures and evaluates `p`'s rules on one shop's rows in `scope`.
pub fn rules_in(p: &Program, d: &ShopData, scope: Scope, tz: Tz, eps: f64) -> Rules {
    let values = measure_all(p.rules.iter().map(|r| &r.named), d, scope, tz);
    let basis = (p.rules.iter())
        .map(|r| (r.named.name.clone(), values[&r.named.name].n))
        .collect();
    let (results, failed) = evaluate_rules(&p.rules, &values, eps);
    Rules {
        results,
        basis,
        failed,
    }
}

/// One shop's programme for its period (SPEC §4.5), before any failure chain.
pub struct ShopProgram {
    pub card: card::Program,
    /// The period failed, is not exempt, and the programme escalates: the months
    /// before it decide how long the chain of failures is (`chain_reaches`,
    /// `escalate`).
    pub chain_starts: bool,
}

/// `p` for one shop in `period` from its rows there: `None` when the shop had no event
/// before the period's end that its evaluation sees (it is not in the programme yet).
pub fn shop_program(
    p: &Program,
    period: &ProgramPeriod,
    shop: &ShopInfo,
    d: &ShopData,
    tz: Tz,
    eps: f64,
) -> Option<ShopProgram> {
    let scope = period.scope;
    if !shop.active_before(scope.hi, scope.e) {
        return None;
    }
    let rules = rules_in(p, d, scope, tz, eps);
    let exempt = period.month.is_some_and(|m| exempt_in(p, shop, m, tz));
    let status = status(period.in_progress, exempt, rules.failed);
    let (penalty_cents, late_orders) = match &p.penalty {
        Some(pen) => {
            let Metric::LateShipments(hours) = pen.late_orders_of.metric else {
                unreachable!("the policy's penalty metric is late_shipments (checked at load)")
            };
            let late: Vec<(String, i64)> = late_orders(d, hours, scope.e)
                .into_iter()
                .map(|o| (o.order_id.clone(), o.amount_cents.unwrap_or(0)))
                .collect();
            let (total, list) = penalties(&late, pen.percent, pen.cap_cents);
            (Some(total), Some(list))
        }
        None => (None, None),
    };
    Some(ShopProgram {
        chain_starts: rules.failed && !exempt && p.tracks_failures(),
        card: card::Program {
            period: period.label.clone(),
            exempt_until: (status == ProgramStatus::Exempt)
                .then(|| last_exempt(p, shop, tz).map(Month::label))
                .flatten(),
            status,
            rules: rules.results,
            basis: rules.basis,
            consecutive_failures: p.tracks_failures().then_some(0),
            penalty_cents,
            late_orders,
        },
    })
}

/// Whether an earlier month `m` (evaluated as `scope`) can continue a shop's chain of
/// failing months before its rules are read: the shop was active in it and not exempt.
/// A chain stops at the first month that passes, is exempt, or precedes the shop.
pub fn chain_reaches(p: &Program, shop: &ShopInfo, m: Month, scope: Scope, tz: Tz) -> bool {
    shop.active_before(scope.hi, scope.e) && !exempt_in(p, shop, m, tz)
}

/// Records a chain of `n` failing months (the period's own included) on its card.
pub fn escalate(card: &mut card::Program, p: &Program, n: u32) {
    card.consecutive_failures = Some(n);
    card.status = escalated_status(p, n);
}

/// The shop's last exempt month under `p` (SPEC §4.5: a new shop's first months).
fn last_exempt(p: &Program, shop: &ShopInfo, tz: Tz) -> Option<Month> {
    let first = shop.first_event_at.map(|t| Month::of(t, tz));
    last_exempt_month(p.exempt_first_months, first)
}

/// Whether month `m` is one of the shop's exempt months under `p`.
fn exempt_in(p: &Program, shop: &ShopInfo, m: Month, tz: Tz) -> bool {
    last_exempt(p, shop, tz).is_some_and(|last| m.0 <= last.0)
}

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
                op: r.op,
                threshold: r.threshold,
                value,
                pass,
                target_value: r.threshold,
                target_condition: r.op,
                distance: target::distance(value, r.threshold, pass),
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
        .find(|e| consecutive >= e.after)
        .map_or(ProgramStatus::Fail, |e| e.status.clone())
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
    use crate::policy::{Op, Policy};

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
        // Met within the tolerance: nothing left to go; a null value has no distance.
        assert_eq!(rules[0].distance, Some(0.0));
        assert_eq!((rules[1].target_value, rules[1].distance), (0.5, None));
    }

    #[test]
    fn a_failing_rule_shows_its_target_and_how_far_it_is() {
        let p = Policy::default_policy();
        let cs = &p.programs[0];
        let mut v = HashMap::new();
        v.insert("online_hours_avg(09:00,24:00)".to_string(), Some(7.5));
        v.insert("human_reply_rate(180)".to_string(), Some(0.75));
        let (rules, failed) =
            evaluate_rules(&cs.rules, &crate::scoring::service::measured(&v), 1e-9);
        assert!(failed);
        // 9 h online on average is the rule: 1.5 h short.
        let r = &rules[0];
        assert_eq!((r.target_value, r.target_condition), (9.0, Op::Ge));
        assert_eq!((r.pass, r.distance), (Some(false), Some(1.5)));
        assert_eq!((rules[1].pass, rules[1].distance), (Some(true), Some(0.0)));
    }

    fn shop(first: &str) -> ShopInfo {
        ShopInfo {
            shop_id: "s1".into(),
            industry: "apparel".into(),
            first_event_at: Some(
                chrono::DateTime::parse_from_rfc3339(first)
                    .unwrap()
                    .to_utc(),
            ),
        }
    }

    #[test]
    fn a_shop_program_from_its_period_and_first_event() {
        let p = Policy::default_policy();
        let cs = &p.programs[0];
        let as_of = chrono::DateTime::parse_from_rfc3339("2026-12-02T00:00:00+08:00")
            .unwrap()
            .to_utc();
        let periods = crate::scoring::periods::Periods::new(&p, as_of);
        let november = &periods.programs[0];
        // No staffed hours at all: 0 h a day against 9 fails; no chats, no reply rate.
        let none = ShopData::default();
        let old = shop("2026-06-15T10:00:00+08:00");
        let sp = shop_program(cs, november, &old, &none, p.tz, p.epsilon).unwrap();
        assert_eq!(sp.card.status, ProgramStatus::Fail);
        assert_eq!(sp.card.period, "2026-11");
        assert_eq!(sp.card.rules[0].value, Some(0.0));
        assert_eq!(sp.card.rules[1].pass, None);
        assert_eq!(sp.card.basis["online_hours_avg(09:00,24:00)"], 30);
        assert_eq!(sp.card.consecutive_failures, Some(0));
        assert!(sp.chain_starts);
        // First event in October: October, November, December are exempt.
        let new = shop("2026-10-20T10:00:00+08:00");
        let sp = shop_program(cs, november, &new, &none, p.tz, p.epsilon).unwrap();
        assert_eq!(sp.card.status, ProgramStatus::Exempt);
        assert_eq!(sp.card.exempt_until.as_deref(), Some("2026-12"));
        assert!(!sp.chain_starts);
        // First event after November: not in November's programme.
        let later = shop("2026-12-01T00:00:00+08:00");
        assert!(shop_program(cs, november, &later, &none, p.tz, p.epsilon).is_none());
        // The chain of the June shop: exempt through August, so September is the
        // earliest month that can fail.
        let month = |m: u32| Month::new(2026, m);
        let reaches = |m: u32| chain_reaches(cs, &old, month(m), november.earlier(month(m)), p.tz);
        assert!(reaches(10) && reaches(9));
        assert!(!reaches(8) && !reaches(5));
        let mut card = sp.card;
        escalate(&mut card, cs, 3);
        assert_eq!(
            (card.consecutive_failures, card.status.as_str()),
            (Some(3), "blocked")
        );
    }
}
