//! A shop's scorecard from its figures and its industry's (SPEC §4, §5). Pure.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use indexmap::IndexMap;

use super::card::{self, Scorecard};
use super::service::{self, Population};
use super::{hints, stars};
use crate::policy::Policy;
use crate::time::format_time;

/// Everything computed for one shop before industry figures are known. (Serialisable:
/// a run holds it in Postgres until its industries are known, `store::held`.)
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ShopFigures {
    pub credit: card::Credit,
    /// DSR description, service, logistics: the mean score (null without ratings) and
    /// the ratings counted.
    pub dsr: [(Option<f64>, i64); 3],
    /// The rolling service score, without its industry comparison.
    pub service: card::ServiceScore,
    /// Whether the five-star metric held in each of the months it must.
    pub five_star_ok: bool,
    pub programs: IndexMap<String, Option<card::Program>>,
}

/// Every non-null figure of each industry: what `industry_avg`, `beats_pct` and the DSR
/// comparisons are taken over.
#[derive(Debug, Default)]
pub struct IndustryFigures {
    pub service: HashMap<String, Population>,
    /// DSR description, service, logistics.
    pub dsr: HashMap<String, [Population; 3]>,
}

impl IndustryFigures {
    /// From each industry's figures, listed in shop order.
    pub fn new(service: HashMap<String, Vec<f64>>, dsr: HashMap<String, [Vec<f64>; 3]>) -> Self {
        IndustryFigures {
            service: service
                .into_iter()
                .map(|(k, v)| (k, Population::new(v)))
                .collect(),
            dsr: dsr
                .into_iter()
                .map(|(k, v)| (k, v.map(Population::new)))
                .collect(),
        }
    }
}

/// The identity and time of one card.
pub struct CardHead<'a> {
    pub shop_id: &'a str,
    pub industry: &'a str,
    pub as_of: DateTime<Utc>,
    /// Already formatted: one instant for every card of a run.
    pub computed_at: &'a str,
}

/// The scorecard: the shop's figures compared with its industry's, its stars and hints.
pub fn assemble(
    policy: &Policy,
    head: CardHead,
    f: ShopFigures,
    industry: &IndustryFigures,
    cs_tier: Option<card::CsTier>,
) -> Scorecard {
    let eps = policy.epsilon;
    let empty: [Population; 3] = Default::default();
    let dsr_lists = industry.dsr.get(head.industry).unwrap_or(&empty);
    let dim = |i: usize| service::dsr_dimension(f.dsr[i].0, f.dsr[i].1, &dsr_lists[i]);
    let dsr = card::Dsr {
        window_days: policy.dsr_window_days,
        description: dim(0),
        service: dim(1),
        logistics: dim(2),
    };
    let mut ss = f.service;
    let none = Population::default();
    let (avg, beats) = service::industry_comparison(
        ss.score,
        industry.service.get(head.industry).unwrap_or(&none),
        eps,
    );
    ss.industry_avg = avg;
    ss.beats_pct = beats;
    let star = stars::star_level(&ss, dsr.service.score, f.five_star_ok, &policy.stars, eps);
    let progs: Vec<(&str, &card::Program)> = f
        .programs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|p| (k.as_str(), p)))
        .collect();
    let hints = hints::hints(&ss, head.industry, &progs, policy);
    Scorecard {
        shop_id: head.shop_id.to_string(),
        industry: head.industry.to_string(),
        as_of: format_time(head.as_of, policy.tz),
        computed_at: head.computed_at.to_string(),
        policy_version: policy.version.clone(),
        credit: f.credit,
        dsr,
        service_score: ss,
        star_level: Some(star),
        programs: f.programs,
        cs_tier,
        hints,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::service::{measured, service_score};

    /// A run holds figures as JSON until its cards (`store::held`): every `f64` must come
    /// back as the same bits, or a card would differ from one made from memory. Values
    /// whose shortest decimal form needs 17 digits, and the neighbours of a threshold.
    #[test]
    fn figures_survive_json_bit_for_bit() {
        let p = Policy::default_policy();
        let awkward = [
            0.1 + 0.2,
            1.0 / 3.0,
            2.0f64.sqrt(),
            f64::MIN_POSITIVE,
            0.95f64.next_up(),
        ];
        for v in awkward {
            let values = HashMap::from([("quality_refund_rate".to_string(), Some(v))]);
            let f = ShopFigures {
                credit: card::Credit {
                    points: 7,
                    level: crate::scoring::credit::level(7, &p.credit.levels).0,
                    next_level_points: Some(4),
                    positive_rate: Some(v),
                    reviews_180d: card::ReviewCounts::default(),
                },
                dsr: [(Some(v), 3), (None, 0), (Some(4.0 + v), 1)],
                service: service_score(&measured(&values), "toys", &p.service, 1e-9),
                five_star_ok: false,
                programs: IndexMap::new(),
            };
            let back: ShopFigures =
                serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
            // `{:?}` prints the shortest form that reads back as the same bits.
            assert_eq!(format!("{back:?}"), format!("{f:?}"), "{v}");
            assert_eq!(back.dsr[0].0.map(f64::to_bits), Some(v.to_bits()));
        }
    }

    /// Shop x in `toys` with DSR service 4.0 over 5 ratings and a service score of 5
    /// (one metric, at best), among industry scores [5, 3, 4] (its own included) and
    /// DSR service figures [4.0, 4.5].
    #[test]
    fn compares_with_the_industry_and_grades() {
        let p = Policy::default_policy();
        let values = HashMap::from([("quality_refund_rate".to_string(), Some(0.0))]);
        let f = ShopFigures {
            credit: card::Credit {
                points: 0,
                level: crate::scoring::credit::level(0, &p.credit.levels).0,
                next_level_points: Some(4),
                positive_rate: None,
                reviews_180d: card::ReviewCounts::default(),
            },
            dsr: [(None, 0), (Some(4.0), 5), (None, 0)],
            service: service_score(&measured(&values), "toys", &p.service, 1e-9),
            five_star_ok: true,
            programs: IndexMap::new(),
        };
        let industry = IndustryFigures::new(
            HashMap::from([("toys".to_string(), vec![5.0, 3.0, 4.0])]),
            HashMap::from([("toys".to_string(), [vec![], vec![4.0, 4.5], vec![]])]),
        );
        let as_of: DateTime<Utc> = "2026-10-31T16:00:00Z".parse().unwrap();
        let head = CardHead {
            shop_id: "x",
            industry: "toys",
            as_of,
            computed_at: "2026-11-01T00:00:01+08:00",
        };
        let c = assemble(&p, head, f, &industry, None);
        assert_eq!(
            (c.shop_id.as_str(), c.as_of.as_str()),
            ("x", "2026-11-01T00:00:00+08:00")
        );
        assert_eq!(c.service_score.score, Some(5.0));
        assert_eq!(c.service_score.industry_avg, Some(4.0)); // (5 + 3 + 4) / 3
        assert_eq!(c.service_score.beats_pct, Some(100.0)); // both others lower
        assert_eq!(c.dsr.service.score, Some(4.0));
        assert_eq!(c.dsr.service.industry_avg, Some(4.25));
        assert_eq!(c.dsr.description.score, None);
        // Stars: score 5 and five-star months held; dimensions: quality excellent
        // (product 5), attitude fair (DSR service 4.0), the rest unrated.
        let star = c.star_level.unwrap();
        assert_eq!(star.stars, Some(5));
        assert_eq!(star.dimensions.attitude, "fair");
        assert!(c.hints.is_empty());
    }
}
