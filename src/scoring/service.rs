//! SPEC §4.3: the service score, its indicators and industry comparisons; SPEC §4.2's
//! DSR industry figures. Pure.

use std::collections::HashMap;

use indexmap::IndexMap;

use super::card::{DsrDimension, Indicator, MetricScore, ServiceScore};
use super::target;
use crate::metric::eval::{measure_all, Measured};
use crate::metric::{Scope, ShopData};
use crate::policy::{Policy, ServiceScorePolicy};

/// `5 × clamp((worst − v) ÷ (worst − best), 0, 1)`.
pub fn metric_score(v: f64, best: f64, worst: f64) -> f64 {
    5.0 * ((worst - v) / (worst - best)).clamp(0.0, 1.0)
}

/// The service score of one shop from its metric values (keyed by the policy's metric
/// names). A null metric is left out of its indicator; an indicator without metrics is
/// null; the score is the weighted mean of the non-null indicators.
pub fn service_score(
    values: &HashMap<String, Measured>,
    industry: &str,
    p: &ServiceScorePolicy,
    eps: f64,
) -> ServiceScore {
    let mut indicators = IndexMap::new();
    let (mut weighted, mut weights) = (0.0, 0.0);
    for ind in &p.indicators {
        let mut metrics = IndexMap::new();
        let (mut sum, mut n) = (0.0, 0usize);
        for m in &ind.metrics {
            let measured = values.get(&m.named.name).copied().unwrap_or_default();
            let value = measured.value;
            let (best, worst) = p.bounds(industry, m);
            let score = value.map(|v| metric_score(v, best, worst));
            let passes = score.map(|s| s >= p.pass_mark - eps);
            let target = target::of_metric(best, worst, p.pass_mark);
            if let Some(s) = score {
                sum += s;
                n += 1;
            }
            metrics.insert(
                m.named.name.clone(),
                MetricScore {
                    value,
                    n: measured.n,
                    score,
                    passes,
                    target_value: target.value,
                    target_condition: target.condition,
                    distance: target::distance(value, target.value, passes),
                },
            );
        }
        let score = (n > 0).then(|| sum / n as f64);
        if let Some(s) = score {
            weighted += s * ind.weight;
            weights += ind.weight;
        }
        indicators.insert(
            ind.name.clone(),
            Indicator {
                score,
                metrics_averaged: n as u32,
                metrics,
            },
        );
    }
    ServiceScore {
        window_days: p.window_days,
        score: (weights > 0.0).then(|| weighted / weights),
        industry_avg: None,
        beats_pct: None,
        indicators,
    }
}

/// An industry's non-null figures (one per shop, the shop being scored included), kept
/// with their mean and sorted, so that each of a run's ten thousand cards compares with
/// its industry in O(log n) rather than rescanning the list for every card.
#[derive(Debug, Clone, Default)]
pub struct Population {
    /// The mean, summed in the order the figures were given (so it is bit-for-bit the
    /// mean of that list).
    mean: Option<f64>,
    sorted: Vec<f64>,
}

impl Population {
    pub fn new(values: Vec<f64>) -> Population {
        let mean = mean(&values);
        let mut sorted = values;
        sorted.sort_by(f64::total_cmp);
        Population { mean, sorted }
    }

    pub fn mean(&self) -> Option<f64> {
        self.mean
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// How many figures are strictly below `x`.
    pub fn below(&self, x: f64) -> usize {
        self.sorted.partition_point(|v| *v < x)
    }
}

/// `industry_avg` over the industry's non-null scores (the shop included), and
/// `beats_pct`: the share of the *other* non-null shops strictly lower. Both null when
/// the shop's own score is null; `beats_pct` also when there are no others.
pub fn industry_comparison(
    own: Option<f64>,
    industry: &Population,
    eps: f64,
) -> (Option<f64>, Option<f64>) {
    let Some(own) = own else { return (None, None) };
    // The shop itself is one of `industry`; remove one copy of its score.
    let others = industry.len().saturating_sub(1);
    let lower = industry.below(own - eps);
    let beats = (others > 0).then(|| lower as f64 / others as f64 * 100.0);
    (industry.mean(), beats)
}

/// The service score of one shop from its rows in `scope`.
pub fn score_in(d: &ShopData, scope: Scope, industry: &str, policy: &Policy) -> ServiceScore {
    let values = measure_all(policy.service.metrics(), d, scope, policy.tz);
    service_score(&values, industry, &policy.service, policy.epsilon)
}

/// A shop's three DSR averages (SPEC §4.2: description, service, logistics) from the
/// number of its capped ratings and their sums, each with that count: no average
/// without ratings.
pub fn dsr_averages(count: i64, sums: [i64; 3]) -> [(Option<f64>, i64); 3] {
    match count {
        n if n > 0 => sums.map(|s| (Some(s as f64 / n as f64), n)),
        _ => [(None, 0); 3],
    }
}

pub fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// DSR dimension with its industry figures (SPEC §4.2).
pub fn dsr_dimension(score: Option<f64>, count: i64, industry: &Population) -> DsrDimension {
    let (industry_avg, vs) = match score {
        None => (None, None),
        Some(s) => {
            let avg = industry.mean();
            (avg, avg.map(|a| (s - a) / a * 100.0))
        }
    };
    DsrDimension {
        score,
        count,
        industry_avg,
        vs_industry_pct: vs,
    }
}

/// Values without their basis (n = 1 where there is a value), for tests of the scoring.
#[cfg(test)]
pub(crate) fn measured(values: &HashMap<String, Option<f64>>) -> HashMap<String, Measured> {
    values
        .iter()
        .map(|(k, v)| {
            let n = u64::from(v.is_some());
            (k.clone(), Measured { value: *v, n })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    #[test]
    fn null_metric_is_left_out_and_indicators_reweighted() {
        let p = Policy::default_policy();
        let mut v = HashMap::new();
        v.insert("quality_refund_rate".to_string(), Some(0.01)); // 2.5
        v.insert("negative_review_rate".to_string(), None);
        v.insert("ship_on_time_rate(48)".to_string(), Some(0.9)); // 2.5
        v.insert("delivery_hours_avg".to_string(), Some(48.0)); // 5
        let s = service_score(&measured(&v), "toys", &p.service, 1e-9);
        assert_eq!(s.indicators["product"].score, Some(2.5));
        assert_eq!(s.indicators["logistics"].score, Some(3.75));
        assert_eq!(s.indicators["consultation"].score, None);
        assert_eq!(s.score, Some((2.5 + 3.75) / 2.0));
        assert_eq!(
            s.indicators["product"].metrics["negative_review_rate"].passes,
            None
        );
        assert_eq!(
            s.indicators["product"].metrics["quality_refund_rate"].passes,
            Some(false)
        );
        // Targets: the value scoring the pass mark, 3 of 5. quality_refund_rate (0 →
        // 0.02): 0.02 − 0.6 × 0.02 = 0.008, to be at or under; 0.01 is 0.002 over.
        let q = &s.indicators["product"].metrics["quality_refund_rate"];
        assert!((q.target_value - 0.008).abs() < 1e-15, "{q:?}");
        assert_eq!(q.target_condition, crate::policy::Op::Le);
        assert!((q.distance.unwrap() - 0.002).abs() < 1e-15, "{q:?}");
        // delivery_hours_avg (48 → 120): 76.8 h at most; 48 h passes, so no distance.
        let d = &s.indicators["logistics"].metrics["delivery_hours_avg"];
        assert!((d.target_value - 76.8).abs() < 1e-12, "{d:?}");
        assert_eq!(d.distance, Some(0.0));
        // ship_on_time_rate(48) (1.0 → 0.8): at least 0.92; 0.9 is 0.02 short.
        let o = &s.indicators["logistics"].metrics["ship_on_time_rate(48)"];
        assert!((o.target_value - 0.92).abs() < 1e-15, "{o:?}");
        assert_eq!(o.target_condition, crate::policy::Op::Ge);
        assert!((o.distance.unwrap() - 0.02).abs() < 1e-15, "{o:?}");
        // A null metric keeps its target and has no distance.
        let n = &s.indicators["product"].metrics["negative_review_rate"];
        assert!((n.target_value - 0.02).abs() < 1e-15 && n.distance.is_none());
        // 0.9 of (1.0 -> 0.8) is exactly 2.5: below the 3.0 pass mark
        assert!((metric_score(0.84, 1.0, 0.8) - 1.0).abs() < 1e-12);
        assert_eq!(metric_score(2.0, 0.0, 0.02), 0.0);
    }

    #[test]
    fn beats_pct_counts_other_shops_strictly_lower() {
        let all = Population::new(vec![3.0, 2.0, 3.0, 4.0]);
        let (avg, beats) = industry_comparison(Some(3.0), &all, 1e-9);
        assert_eq!(avg, Some(3.0));
        assert!((beats.unwrap() - 100.0 / 3.0).abs() < 1e-12);
        assert_eq!(
            industry_comparison(Some(3.0), &Population::new(vec![3.0]), 1e-9),
            (Some(3.0), None)
        );
        assert_eq!(industry_comparison(None, &all, 1e-9), (None, None));
    }

    #[test]
    fn dsr_averages_are_sums_over_the_capped_count() {
        assert_eq!(
            dsr_averages(4, [18, 20, 16]),
            [(Some(4.5), 4), (Some(5.0), 4), (Some(4.0), 4)]
        );
        assert_eq!(dsr_averages(0, [0, 0, 0]), [(None, 0); 3]);
    }
}
