//! Targets: the value each service-score metric and each programme rule must reach, and
//! how far a shop is from it, so that no client re-derives thresholds from the policy.
//!
//! A rule's target is its threshold and operator. A service-score metric's target is
//! the value whose score is the policy's pass mark (SPEC §4.3: `passes` when the score
//! ≥ the mark): on the line from `worst` (score 0) to `best` (score 5), and reached
//! from above (`<=`) when lower is better, from below (`>=`) when higher is. Like every
//! figure of the card (SPEC §1), targets and distances are unrounded.

use crate::policy::Op;

/// What a value must satisfy: `value <condition> target`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    pub value: f64,
    pub condition: Op,
}

/// The target of a service-score metric scored from `worst` (0) to `best` (5) that
/// passes at `pass_mark`.
pub fn of_metric(best: f64, worst: f64, pass_mark: f64) -> Target {
    Target {
        value: worst - pass_mark * (worst - best) / 5.0,
        condition: if best < worst { Op::Le } else { Op::Ge },
    }
}

/// How far `value` is from its target, in the metric's unit: 0 when the value meets it
/// (`met`, decided by the rule or the pass mark with SPEC §1's tolerance), the absolute
/// difference otherwise; `None` for a null value.
pub fn distance(value: Option<f64>, target: f64, met: Option<bool>) -> Option<f64> {
    match (value, met) {
        (None, _) | (_, None) => None,
        (Some(_), Some(true)) => Some(0.0),
        (Some(v), Some(false)) => Some((v - target).abs()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn a_metric_where_lower_is_better_targets_the_value_scoring_the_pass_mark() {
        // quality_refund_rate: best 0, worst 0.02, pass mark 3: 0.02 − 0.02 × 3/5.
        let t = of_metric(0.0, 0.02, 3.0);
        assert!(close(t.value, 0.008) && t.condition == Op::Le, "{t:?}");
        // delivery_hours_avg: best 48, worst 120: 120 − 72 × 3/5 = 76.8 hours.
        let t = of_metric(48.0, 120.0, 3.0);
        assert!(close(t.value, 76.8) && t.condition == Op::Le, "{t:?}");
    }

    #[test]
    fn a_metric_where_higher_is_better_is_reached_from_below() {
        // satisfaction_rate: best 0.95, worst 0.70: 0.70 + 0.25 × 3/5 = 0.85.
        let t = of_metric(0.95, 0.70, 3.0);
        assert!(close(t.value, 0.85) && t.condition == Op::Ge, "{t:?}");
        // ship_on_time_rate(48): best 1.0, worst 0.8: 0.8 + 0.2 × 3/5 = 0.92.
        assert!(close(of_metric(1.0, 0.8, 3.0).value, 0.92));
    }

    #[test]
    fn distance_is_zero_when_met_and_the_gap_otherwise() {
        assert!(close(
            distance(Some(0.05), 0.008, Some(false)).unwrap(),
            0.042
        ));
        assert!(close(distance(Some(0.7), 0.85, Some(false)).unwrap(), 0.15));
        // Within the tolerance counts as met: no distance left.
        assert_eq!(distance(Some(0.8499999999999), 0.85, Some(true)), Some(0.0));
        assert_eq!(distance(None, 0.85, None), None);
    }
}
