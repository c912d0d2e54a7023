//! SPEC §4.7: hints, largest service-score gain first. Pure.

use super::card::{Hint, Program, ServiceScore};
use crate::policy::ServiceScorePolicy;

fn fmt(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

pub fn hints(
    ss: &ServiceScore,
    industry: &str,
    programs: &[(&str, &Program)],
    p: &ServiceScorePolicy,
) -> Vec<Hint> {
    let total_weight: f64 = p
        .indicators
        .iter()
        .filter(|i| {
            ss.indicators
                .get(&i.name)
                .is_some_and(|x| x.score.is_some())
        })
        .map(|i| i.weight)
        .sum();
    let mut out = Vec::new();
    for ind in &p.indicators {
        let Some(scored) = ss.indicators.get(&ind.name) else {
            continue;
        };
        let counted = scored
            .metrics
            .values()
            .filter(|m| m.score.is_some())
            .count();
        for m in &ind.metrics {
            let Some(ms) = scored.metrics.get(&m.named.name) else {
                continue;
            };
            if ms.passes != Some(false) {
                continue;
            }
            let (best, _) = p.bounds(industry, m);
            let (value, score) = (ms.value.unwrap_or_default(), ms.score.unwrap_or_default());
            let gain = if total_weight > 0.0 && counted > 0 {
                (5.0 - score) / counted as f64 * ind.weight / total_weight
            } else {
                0.0
            };
            out.push(Hint {
                area: ind.name.clone(),
                metric: m.named.name.clone(),
                value: ms.value,
                target: best,
                gap: Some(best - value),
                gain,
                message: format!(
                    "{} is {}; reaching {} would add up to {} points to the service score",
                    m.named.name,
                    fmt(value),
                    fmt(best),
                    fmt(gain)
                ),
            });
        }
    }
    for (name, prog) in programs {
        for r in prog.rules.iter().filter(|r| r.pass == Some(false)) {
            let value = r.value.unwrap_or_default();
            out.push(Hint {
                area: (*name).to_string(),
                metric: r.metric.clone(),
                value: r.value,
                target: r.threshold,
                gap: Some(r.threshold - value),
                gain: 0.0,
                message: format!(
                    "{name}: {} is {}, the rule needs {} {}",
                    r.metric,
                    fmt(value),
                    r.op,
                    fmt(r.threshold)
                ),
            });
        }
    }
    // Stable: equal gains keep policy order.
    out.sort_by(|a, b| b.gain.total_cmp(&a.gain));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::scoring::service::service_score;
    use std::collections::HashMap;

    #[test]
    fn largest_gain_first() {
        let p = Policy::default_policy();
        let mut v = HashMap::new();
        v.insert("quality_refund_rate".to_string(), Some(0.015)); // 1.25
        v.insert("negative_review_rate".to_string(), Some(0.0)); // 5
        v.insert("human_response_seconds_avg".to_string(), Some(120.0)); // 0, alone in its indicator
        let ss = service_score(&v, "x", &p.service, 1e-9);
        let h = hints(&ss, "x", &[], &p.service);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].metric, "human_response_seconds_avg");
        assert_eq!(h[0].target, 15.0);
        assert!((h[0].gain - 2.5).abs() < 1e-12); // (5-0)/1 * 1/2
        assert!((h[1].gain - (5.0 - 1.25) / 2.0 / 2.0).abs() < 1e-12);
    }
}
