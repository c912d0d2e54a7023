//! SPEC §4.4: service star level. Pure.

use super::card::{ServiceScore, StarDimensions, StarLevel};
use crate::policy::{indicator, StarsPolicy};

pub const UNSATISFACTORY: &str = "unsatisfactory";

/// The grade of a 0–5 value: the first policy grade whose minimum it reaches.
pub fn grade(v: Option<f64>, p: &StarsPolicy, eps: f64) -> String {
    match v {
        None => "unrated".into(),
        Some(v) => p
            .grades
            .iter()
            .find(|g| v >= g.min - eps)
            .map_or(UNSATISFACTORY.to_string(), |g| g.grade.clone()),
    }
}

/// Whether one of the last complete months meets five stars' monthly condition (SPEC
/// §4.4): the policy metric, evaluated over that month, at least the threshold.
pub fn five_star_month_met(value: Option<f64>, p: &StarsPolicy, eps: f64) -> bool {
    value.is_some_and(|v| v >= p.five_star_threshold - eps)
}

/// Stars from the service score; five stars also need no `unsatisfactory` dimension and
/// `five_star_months_ok` (the policy metric met in each of the last complete months).
pub fn star_level(
    ss: &ServiceScore,
    dsr_service: Option<f64>,
    five_star_months_ok: bool,
    p: &StarsPolicy,
    eps: f64,
) -> StarLevel {
    let ind = |name: &str| ss.indicators.get(name).and_then(|i| i.score);
    let dimensions = StarDimensions {
        quality: grade(ind(indicator::PRODUCT), p, eps),
        response: grade(ind(indicator::CONSULTATION), p, eps),
        ability: grade(ind(indicator::AFTER_SALES), p, eps),
        performance: grade(ind(indicator::LOGISTICS), p, eps),
        attitude: grade(dsr_service, p, eps),
    };
    let stars = ss.score.map(|s| {
        let by_score = 1 + p.bands.iter().filter(|b| s >= **b - eps).count() as u8;
        let blocked = [
            &dimensions.quality,
            &dimensions.response,
            &dimensions.ability,
            &dimensions.performance,
            &dimensions.attitude,
        ]
        .iter()
        .any(|g| g.as_str() == UNSATISFACTORY);
        if by_score == 5 && (blocked || !five_star_months_ok) {
            4
        } else {
            by_score
        }
    });
    StarLevel { stars, dimensions }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::scoring::service::service_score;
    use std::collections::HashMap;

    #[test]
    fn grades_and_stars() {
        let p = Policy::default_policy();
        let st = &p.stars;
        assert_eq!(grade(Some(4.5), st, 1e-9), "excellent");
        assert_eq!(grade(Some(4.4999999999), st, 1e-9), "excellent"); // within 1e-9
        assert_eq!(grade(Some(3.5), st, 1e-9), "fair");
        assert_eq!(grade(Some(2.5), st, 1e-9), "pass");
        assert_eq!(grade(Some(2.49), st, 1e-9), "unsatisfactory");
        assert_eq!(grade(None, st, 1e-9), "unrated");

        let mut v = HashMap::new();
        v.insert("quality_refund_rate".to_string(), Some(0.0));
        let ss = service_score(
            &crate::scoring::service::measured(&v),
            "x",
            &p.service,
            1e-9,
        );
        assert_eq!(ss.score, Some(5.0));
        assert_eq!(star_level(&ss, None, true, st, 1e-9).stars, Some(5));
        assert_eq!(star_level(&ss, None, false, st, 1e-9).stars, Some(4));
        assert_eq!(star_level(&ss, Some(1.0), true, st, 1e-9).stars, Some(4)); // attitude unsatisfactory
        v.insert("quality_refund_rate".to_string(), Some(0.02 * 0.5)); // 2.5
        let ss = service_score(
            &crate::scoring::service::measured(&v),
            "x",
            &p.service,
            1e-9,
        );
        assert_eq!(star_level(&ss, None, true, st, 1e-9).stars, Some(1));
    }

    #[test]
    fn a_five_star_month_needs_a_value_at_its_threshold() {
        let p = Policy::default_policy();
        let (s, eps) = (&p.stars, p.epsilon);
        let at = s.five_star_threshold;
        assert!(five_star_month_met(Some(at), s, eps));
        assert!(five_star_month_met(Some(at - eps / 2.0), s, eps));
        assert!(!five_star_month_met(Some(at - 2.0 * eps), s, eps));
        assert!(!five_star_month_met(None, s, eps));
    }
}
