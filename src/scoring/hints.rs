//! SPEC §4.7: a hint for each failing metric and each failing programme rule, largest
//! service-score gain first, written for people. Pure.
//!
//! Each hint keeps SPEC's fields (`area`, `metric`, `value`, `target`, `gap`, `message`)
//! and adds what a dashboard needs to show it: the metric in words (`label`, from the
//! policy, in its language), its `unit`, which way is better, where it passes
//! (`pass_at`) and the `gain`. `target` stays what SPEC's example shows: the metric's
//! `best` (a rule's threshold); `pass_at` is the nearer line to aim for first, and the
//! sentence names both. `gap` is the distance to `target` in the direction that
//! improves the metric, so it is never negative. Equal gains are ordered by how far
//! below its pass line each is (as a share of the way), then by policy order.

use super::card::{Hint, Program, RuleResult, ServiceScore};
use crate::domain::ProgramStatus;
use crate::metric::catalogue::Unit;
use crate::policy::{HintsPolicy, Language, Op, Policy};
use crate::text::number;

/// A value with its unit, as people read it: 78.39%, 95 s, 10.5 h, 8.
fn quantity(v: f64, unit: Unit, lang: Language) -> String {
    match (unit, lang) {
        (Unit::Ratio, _) => format!("{}%", number(v * 100.0)),
        (Unit::Seconds, Language::En) => format!("{} s", number(v)),
        (Unit::Seconds, Language::ZhCn) => format!("{}秒", number(v)),
        (Unit::Hours, Language::En) => format!("{} h", number(v)),
        (Unit::Hours, Language::ZhCn) => format!("{}小时", number(v)),
        (Unit::Count, _) => number(v),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|first| first.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A failing indicator metric.
struct MetricFacts<'a> {
    label: &'a str,
    value: f64,
    unit: Unit,
    lower_is_better: bool,
    pass_at: f64,
    best: f64,
    gain: f64,
}

fn metric_sentence(f: &MetricFacts, lang: Language) -> String {
    let q = |v| quantity(v, f.unit, lang);
    match lang {
        Language::En => format!(
            "{} is {}: it passes at {} or {} and is best at {}; reaching {} would add up to {} points to the service score.",
            capitalised(f.label),
            q(f.value),
            q(f.pass_at),
            if f.lower_is_better { "less" } else { "more" },
            q(f.best),
            q(f.best),
            number(f.gain)
        ),
        Language::ZhCn => format!(
            "{}为{}，{}{}即达标，最佳为{}；达到最佳可使服务分最多提高{}分。",
            f.label,
            q(f.value),
            q(f.pass_at),
            if f.lower_is_better { "及以下" } else { "及以上" },
            q(f.best),
            number(f.gain)
        ),
    }
}

/// A failing programme rule.
struct RuleFacts<'a> {
    programme: &'a str,
    label: &'a str,
    rule: &'a RuleResult,
    value: f64,
    op: Op,
    unit: Unit,
    status: &'a ProgramStatus,
    exempt_until: Option<&'a str>,
}

fn rule_sentence(f: &RuleFacts, lang: Language) -> String {
    let q = |v| quantity(v, f.unit, lang);
    let (value, threshold) = (q(f.value), q(f.rule.threshold));
    match lang {
        Language::En => {
            let needs = match f.op {
                Op::Ge => "at least",
                Op::Le => "at most",
                Op::Eq => "exactly",
            };
            let mut s = format!(
                "{}: {} is {value}; the rule asks for {needs} {threshold}.",
                capitalised(f.programme),
                f.label
            );
            match (f.status, f.exempt_until) {
                (ProgramStatus::Exempt, Some(until)) => s.push_str(&format!(
                    " The shop is exempt until {until} (new shops), so this does not count yet."
                )),
                (ProgramStatus::InProgress, _) => {
                    s.push_str(" The period has not settled yet, so this is provisional.")
                }
                _ => {}
            }
            s
        }
        Language::ZhCn => {
            let needs = match f.op {
                Op::Ge => "不低于",
                Op::Le => "不高于",
                Op::Eq => "等于",
            };
            let mut s = format!(
                "{}：{}为{value}，规则要求{needs}{threshold}。",
                f.programme, f.label
            );
            match (f.status, f.exempt_until) {
                (ProgramStatus::Exempt, Some(until)) => {
                    s.push_str(&format!("新店豁免期至{until}，暂不计入考核。"))
                }
                (ProgramStatus::InProgress, _) => s.push_str("考核期尚未结算，结果为暂定。"),
                _ => {}
            }
            s
        }
    }
}

/// How far below its pass line a failing figure is, as a share of the way (0..=1).
fn shortfall(from_pass: f64, scale: f64) -> f64 {
    if scale > 0.0 {
        (from_pass / scale).clamp(0.0, 1.0)
    } else {
        1.0
    }
}

pub fn hints(
    ss: &ServiceScore,
    industry: &str,
    programs: &[(&str, &Program)],
    policy: &Policy,
) -> Vec<Hint> {
    let p = &policy.service;
    let words: &HintsPolicy = &policy.hints;
    let lang = words.language;
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
    // (hint, how far below its pass line), in policy order.
    let mut out: Vec<(Hint, f64)> = Vec::new();
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
            let (Some(false), Some(value), Some(score)) = (ms.passes, ms.value, ms.score) else {
                continue;
            };
            let (best, worst) = p.bounds(industry, m);
            // The value whose score is the pass mark: 5 × (worst − v) ÷ (worst − best).
            let pass_at = super::target::of_metric(best, worst, p.pass_mark).value;
            let gain = if total_weight > 0.0 && counted > 0 {
                (5.0 - score) / counted as f64 * ind.weight / total_weight
            } else {
                0.0
            };
            let label = words.label(&m.named.name);
            let facts = MetricFacts {
                label: &label,
                value,
                unit: m.named.metric.unit(),
                lower_is_better: best < worst,
                pass_at,
                best,
                gain,
            };
            let hint = Hint {
                area: ind.name.clone(),
                metric: m.named.name.clone(),
                label: label.clone(),
                value: Some(value),
                unit: facts.unit,
                lower_is_better: facts.lower_is_better,
                pass_at,
                target: best,
                gap: Some((best - value).abs()),
                gain,
                message: metric_sentence(&facts, lang),
            };
            out.push((hint, shortfall(p.pass_mark - score, p.pass_mark)));
        }
    }
    for (name, prog) in programs {
        let Some(rules) = policy
            .programs
            .iter()
            .find(|q| q.name == *name)
            .map(|q| &q.rules)
        else {
            continue;
        };
        let programme = words.label(name);
        for r in &prog.rules {
            let (Some(false), Some(value)) = (r.pass, r.value) else {
                continue;
            };
            // The policy's rule this result reports (a metric may have two: ≥ and ≤).
            let Some(rule) = rules
                .iter()
                .find(|q| q.named.name == r.metric && q.op == r.op)
            else {
                continue;
            };
            let label = words.label(&r.metric);
            // `=`: better is towards the threshold, from whichever side the value is.
            let lower_is_better = match rule.op {
                Op::Le => true,
                Op::Ge => false,
                Op::Eq => value > r.threshold,
            };
            let facts = RuleFacts {
                programme: &programme,
                label: &label,
                rule: r,
                value,
                op: rule.op,
                unit: rule.named.metric.unit(),
                status: &prog.status,
                exempt_until: prog.exempt_until.as_deref(),
            };
            let gap = (r.threshold - value).abs();
            let hint = Hint {
                area: (*name).to_string(),
                metric: r.metric.clone(),
                label: label.clone(),
                value: Some(value),
                unit: facts.unit,
                lower_is_better,
                pass_at: r.threshold,
                target: r.threshold,
                gap: Some(gap),
                gain: 0.0,
                message: rule_sentence(&facts, lang),
            };
            out.push((hint, shortfall(gap, r.threshold.abs())));
        }
    }
    // Stable: equal gains and shortfalls keep policy order.
    out.sort_by(|(a, fa), (b, fb)| b.gain.total_cmp(&a.gain).then(fb.total_cmp(fa)));
    out.into_iter().map(|(h, _)| h).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::service::service_score;
    use std::collections::HashMap;

    fn zh(mut p: Policy) -> Policy {
        p.hints.language = Language::ZhCn;
        p
    }

    /// Worked by hand on the default policy (pass mark 3, four indicators scored):
    /// - quality_refund_rate 0.015 (best 0, worst 0.02): score 5 × 0.005 ÷ 0.02 = 1.25,
    ///   passes at 0.02 − 0.6 × 0.02 = 0.008; two metrics in `product`, so the gain is
    ///   (5 − 1.25) ÷ 2 × 1 ÷ 2 = 0.9375 (two of five indicators scored: weight 1 of 2).
    /// - negative_review_rate 0: score 5, passes: no hint.
    /// - human_response_seconds_avg 120 (best 15, worst 120): score 0, alone in its
    ///   indicator: gain 5 ÷ 1 × 1 ÷ 2 = 2.5; passes at 120 − 0.6 × 105 = 57.
    #[test]
    fn labelled_largest_gain_first_in_both_languages() {
        let mut v = HashMap::new();
        v.insert("quality_refund_rate".to_string(), Some(0.015));
        v.insert("negative_review_rate".to_string(), Some(0.0));
        v.insert("human_response_seconds_avg".to_string(), Some(120.0));
        let p = Policy::default_policy();
        let ss = service_score(
            &crate::scoring::service::measured(&v),
            "x",
            &p.service,
            1e-9,
        );
        let h = hints(&ss, "x", &[], &p);
        assert_eq!(h.len(), 2);
        let (first, second) = (&h[0], &h[1]);
        assert_eq!(first.metric, "human_response_seconds_avg");
        assert_eq!(first.label, "average time to a person's first reply");
        assert_eq!(first.unit, Unit::Seconds);
        assert!(first.lower_is_better);
        assert_eq!((first.target, first.pass_at), (15.0, 57.0)); // 120 − 3 × 105 ÷ 5
        assert_eq!(first.gap, Some(105.0));
        assert!((first.gain - 2.5).abs() < 1e-12);
        assert_eq!(
            first.message,
            "Average time to a person's first reply is 120 s: it passes at 57 s or less and \
             is best at 15 s; reaching 15 s would add up to 2.5 points to the service score."
        );
        assert_eq!(second.metric, "quality_refund_rate");
        assert_eq!(second.unit, Unit::Ratio);
        assert!((second.pass_at - 0.008).abs() < 1e-12);
        assert_eq!(second.gap, Some(0.015));
        assert!((second.gain - 0.9375).abs() < 1e-12);
        assert_eq!(
            second.message,
            "Quality refund rate is 1.5%: it passes at 0.8% or less and is best at \
             0%; reaching 0% would add up to 0.94 points to the service score."
        );

        let p = zh(Policy::default_policy());
        let h = hints(&ss, "x", &[], &p);
        assert_eq!(h[0].label, "人工平均首次响应时长");
        assert_eq!(
            h[0].message,
            "人工平均首次响应时长为120秒，57秒及以下即达标，最佳为15秒；达到最佳可使服务分最多提高2.5分。"
        );
        assert_eq!(
            h[1].message,
            "品质退款率为1.5%，0.8%及以下即达标，最佳为0%；达到最佳可使服务分最多提高0.94分。"
        );
    }

    fn rule(metric: &str, op: Op, threshold: f64, value: f64) -> RuleResult {
        RuleResult {
            metric: metric.into(),
            op,
            threshold,
            value: Some(value),
            pass: Some(false),
            target_value: threshold,
            target_condition: op,
            distance: Some((value - threshold).abs()),
        }
    }

    /// holiday_peak rules that fail, in policy order: offline rate 0.12 ≤ 0.1 (short by
    /// 0.02 of 0.1: a fifth), bot replies 8 = 0 (a threshold of 0: all the way), human
    /// replies 0.45 ≥ 0.9 (half). Ordered by shortfall: bots, human replies, offline.
    #[test]
    fn failing_rules_say_what_the_rule_asks_and_why_they_do_not_count_yet() {
        let p = Policy::default_policy();
        let prog = |status: &str, until: Option<&str>| Program {
            period: "2026-10-01/2026-10-07".into(),
            status: ProgramStatus::parse(status),
            exempt_until: until.map(Into::into),
            rules: vec![
                rule("offline_message_rate", Op::Le, 0.1, 0.12),
                rule("bot_first_responses", Op::Eq, 0.0, 8.0),
                rule("human_reply_rate(45)", Op::Ge, 0.9, 0.45),
            ],
            basis: Default::default(),
            consecutive_failures: None,
            penalty_cents: None,
            late_orders: None,
        };
        let ss = service_score(&HashMap::new(), "x", &p.service, 1e-9);
        let settled = prog("fail", None);
        let h = hints(&ss, "x", &[("holiday_peak", &settled)], &p);
        let order: Vec<&str> = h.iter().map(|x| x.metric.as_str()).collect();
        assert_eq!(
            order,
            [
                "bot_first_responses",
                "human_reply_rate(45)",
                "offline_message_rate"
            ]
        );
        assert!(h[0].lower_is_better && !h[1].lower_is_better && h[2].lower_is_better);
        assert_eq!(h[0].gap, Some(8.0));
        assert_eq!(h[1].label, "share of chats a person answered within 45 s");
        assert_eq!(
            h[1].message,
            "National Day peak service: share of chats a person answered within 45 s is 45%; \
             the rule asks for at least 90%."
        );
        assert_eq!(
            h[0].message,
            "National Day peak service: number of chats a bot answered first is 8; the rule \
             asks for exactly 0."
        );

        let open = prog("in_progress", None);
        let h = hints(&ss, "x", &[("holiday_peak", &open)], &p);
        assert!(
            h[0].message.ends_with("so this is provisional."),
            "{}",
            h[0].message
        );

        let p = zh(p);
        let exempt = Program {
            rules: vec![rule("online_hours_avg(09:00,24:00)", Op::Ge, 9.0, 4.5)],
            ..prog("exempt", Some("2026-12"))
        };
        let h = hints(&ss, "x", &[("cs_daily", &exempt)], &p);
        assert_eq!(
            h[0].message,
            "日常客服考核：09:00至24:00日均在线时长为4.5小时，规则要求不低于9小时。新店豁免期至2026-12，暂不计入考核。"
        );
    }

    #[test]
    fn numbers_read_naturally() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(-0.0001), "0");
        assert_eq!(number(57.0), "57");
        assert_eq!(number(0.9375), "0.94");
        assert_eq!(number(0.625), "0.63");
        assert_eq!(quantity(0.78391, Unit::Ratio, Language::En), "78.39%");
        assert_eq!(quantity(10.5, Unit::Hours, Language::ZhCn), "10.5小时");
    }
}
