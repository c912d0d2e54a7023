//! SPEC §4.6: gold customer-service team eligibility, cohorts and ranking. Pure.

use std::collections::BTreeMap;

use super::service;
use crate::domain::{ShopInfo, Tier, TierReason, TierStatus};
use crate::metric::{evaluate, Metric, Scope, ShopData};
use crate::policy::{indicator, CsTierPolicy, Policy};

/// A shop's figures for month M (the period evaluated at the first instant of M+1).
#[derive(Debug, Clone, PartialEq)]
pub struct TierInput {
    pub shop_id: String,
    pub industry: String,
    pub orders: i64,
    pub integrity_flags: i64,
    pub ratings: i64,
    pub satisfaction_rate: Option<f64>,
    pub service_score: Option<f64>,
    pub consultation: Option<f64>,
}

/// Why a shop is not ranked, in SPEC's order of checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusion {
    /// An `integrity.flagged` in M: `disqualified`, with a security warning.
    IntegrityFlag,
    ExcludedIndustry,
    TooFewRatings,
    GateFailed,
}

impl Exclusion {
    pub fn reason(self) -> TierReason {
        match self {
            Exclusion::IntegrityFlag => TierReason::IntegrityFlag,
            Exclusion::ExcludedIndustry => TierReason::ExcludedIndustry,
            Exclusion::TooFewRatings => TierReason::TooFewRatings,
            Exclusion::GateFailed => TierReason::GateFailed,
        }
    }
}

/// The first failing condition, or `None` when eligible. A null gate fails.
pub fn eligibility(i: &TierInput, p: &CsTierPolicy, eps: f64) -> Option<Exclusion> {
    let gate = |v: Option<f64>, min: f64| v.is_some_and(|v| v >= min - eps);
    if i.integrity_flags > 0 {
        Some(Exclusion::IntegrityFlag)
    } else if p.excluded_industries.contains(&i.industry) {
        Some(Exclusion::ExcludedIndustry)
    } else if i.ratings < p.min_ratings {
        Some(Exclusion::TooFewRatings)
    } else if !(gate(i.service_score, p.service_score_gate)
        && gate(i.consultation, p.consultation_gate))
    {
        Some(Exclusion::GateFailed)
    } else {
        None
    }
}

/// What an ineligible shop lacked: the figure checked, its value (null when it has
/// none) and the threshold it had to reach. Only `too_few_ratings` and `gate_failed`
/// have one.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortfall {
    /// `ratings`, `service_score` or `consultation` (the first gate that failed).
    pub figure: &'static str,
    pub have: Option<f64>,
    pub need: f64,
}

/// The shortfall behind `exclusion`, from the same figures `eligibility` checked.
pub fn shortfall(
    i: &TierInput,
    p: &CsTierPolicy,
    eps: f64,
    exclusion: Option<Exclusion>,
) -> Option<Shortfall> {
    let gate_fails = |v: Option<f64>, min: f64| !v.is_some_and(|v| v >= min - eps);
    match exclusion? {
        Exclusion::TooFewRatings => Some(Shortfall {
            figure: "ratings",
            have: Some(i.ratings as f64),
            need: p.min_ratings as f64,
        }),
        Exclusion::GateFailed if gate_fails(i.service_score, p.service_score_gate) => {
            Some(Shortfall {
                figure: "service_score",
                have: i.service_score,
                need: p.service_score_gate,
            })
        }
        Exclusion::GateFailed => Some(Shortfall {
            figure: "consultation",
            have: i.consultation,
            need: p.consultation_gate,
        }),
        Exclusion::IntegrityFlag | Exclusion::ExcludedIndustry => None,
    }
}

/// A ranked shop's place in its cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub shop_id: String,
    pub rank: u32,
    pub tier: Tier,
    pub cohort_size: u32,
}

/// `ceil(pct × n)` with SPEC's tolerance, so 0.1 × 30 is 3, not 4.
fn ceil_share(pct: f64, n: usize, eps: f64) -> usize {
    ((pct * n as f64) - eps).ceil().max(0.0) as usize
}

/// Ranks the eligible shops of each cohort (industry, scale) by satisfaction rate desc,
/// ratings desc, shop id asc: the first ⌈gold·n⌉ gold, up to ⌈silver·n⌉ cumulative
/// silver, and (when enabled) the bottom ⌈black·n⌉ of the rest black.
pub fn rank(eligible: &[(TierInput, String)], p: &CsTierPolicy, eps: f64) -> Vec<Ranked> {
    let mut cohorts: BTreeMap<(&str, &str), Vec<&TierInput>> = BTreeMap::new();
    for (i, scale) in eligible {
        cohorts
            .entry((i.industry.as_str(), scale.as_str()))
            .or_default()
            .push(i);
    }
    let mut out = Vec::new();
    for shops in cohorts.values_mut() {
        shops.sort_by(|a, b| {
            let (sa, sb) = (
                a.satisfaction_rate.unwrap_or(0.0),
                b.satisfaction_rate.unwrap_or(0.0),
            );
            sb.total_cmp(&sa)
                .then(b.ratings.cmp(&a.ratings))
                .then(a.shop_id.as_bytes().cmp(b.shop_id.as_bytes()))
        });
        let n = shops.len();
        let gold = ceil_share(p.gold_pct, n, eps).min(n);
        let silver = ceil_share(p.silver_cumulative_pct, n, eps).clamp(gold, n);
        let black = if p.black_enabled {
            ceil_share(p.black_pct, n, eps).min(n - silver)
        } else {
            0
        };
        for (i, s) in shops.iter().enumerate() {
            let tier = if i < gold {
                Tier::Gold
            } else if i < silver {
                Tier::Silver
            } else if i >= n - black {
                Tier::Black
            } else {
                Tier::None
            };
            out.push(Ranked {
                shop_id: s.shop_id.clone(),
                rank: i as u32 + 1,
                tier,
                cohort_size: n as u32,
            });
        }
    }
    out
}

/// A shop's tier inputs for month M, its cohort scale, why it is excluded (if it is),
/// and whether a tier it holds is cancelled at `as_of` (`verified_complaint` or
/// `integrity_flag` in M+1).
#[derive(Debug, Clone)]
pub struct TierRow {
    pub input: TierInput,
    pub scale: String,
    pub exclusion: Option<Exclusion>,
    pub cancel_reason: Option<TierReason>,
}

/// The metrics a tier row reads besides the service score's.
pub const TIER_METRICS: [Metric; 4] = [
    Metric::Orders,
    Metric::IntegrityFlags,
    Metric::SatisfactionRatings,
    Metric::SatisfactionRate,
];

/// A shop's tier row for month M from its rows in M (`scope`, evaluated at M's end):
/// its inputs, cohort scale and exclusion. What M+1 cancels is `cancel_reason`'s.
pub fn tier_row(shop: &ShopInfo, d: &ShopData, scope: Scope, policy: &Policy) -> TierRow {
    let v = |m: &Metric| evaluate(m, d, scope, policy.tz);
    let count = |m: &Metric| v(m).unwrap_or(0.0) as i64;
    let ss = service::score_in(d, scope, &shop.industry, policy);
    let input = TierInput {
        shop_id: shop.shop_id.clone(),
        industry: shop.industry.clone(),
        orders: count(&Metric::Orders),
        integrity_flags: count(&Metric::IntegrityFlags),
        ratings: count(&Metric::SatisfactionRatings),
        satisfaction_rate: v(&Metric::SatisfactionRate),
        service_score: ss.score,
        consultation: (ss.indicators.get(indicator::CONSULTATION)).and_then(|i| i.score),
    };
    TierRow {
        exclusion: eligibility(&input, &policy.cs_tier, policy.epsilon),
        scale: policy.cs_tier.scale_for(input.orders).to_string(),
        input,
        cancel_reason: None,
    }
}

/// The metrics `cancel_reason` reads.
pub const CANCEL_METRICS: [Metric; 2] = [Metric::ConductVerifications, Metric::IntegrityFlags];

/// What cancels a tier held for M, from the shop's rows in M+1 up to `as_of`: an
/// integrity flag first, then a verified conduct complaint.
pub fn cancel_reason(d: &ShopData) -> Option<TierReason> {
    if d.integrity > 0 {
        Some(TierReason::IntegrityFlag)
    } else if d.verifications > 0 {
        Some(TierReason::VerifiedComplaint)
    } else {
        None
    }
}

/// SPEC §4.6: a stored shop's status for month M and its reason. A disqualified shop
/// first (integrity flag); an unranked one is ineligible for its exclusion reason; a
/// tier holder is cancelled by a cancel reason found in M+1, else active; a ranked shop
/// without a tier is eligible.
pub fn status(
    disqualified: bool,
    ranked_tier: Option<Tier>,
    ineligible_reason: Option<TierReason>,
    cancel_reason: Option<TierReason>,
) -> (TierStatus, Option<TierReason>) {
    match (disqualified, ranked_tier, cancel_reason) {
        (true, _, _) => (TierStatus::Disqualified, Some(TierReason::IntegrityFlag)),
        (false, None, _) => (TierStatus::Ineligible, ineligible_reason),
        (false, Some(Tier::None), _) => (TierStatus::Eligible, None),
        (false, Some(_), Some(c)) => (TierStatus::Cancelled, Some(c)),
        (false, Some(_), None) => (TierStatus::Active, None),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn status_follows_spec_order() {
        use TierReason::*;
        // Disqualification wins over everything, even a tier and a cancellation.
        assert_eq!(
            status(true, Some(Tier::Gold), None, Some(VerifiedComplaint)),
            (TierStatus::Disqualified, Some(IntegrityFlag))
        );
        assert_eq!(
            status(false, None, Some(TooFewRatings), None),
            (TierStatus::Ineligible, Some(TooFewRatings))
        );
        assert_eq!(
            status(false, Some(Tier::None), None, Some(VerifiedComplaint)),
            (TierStatus::Eligible, None)
        );
        assert_eq!(
            status(false, Some(Tier::Silver), None, Some(VerifiedComplaint)),
            (TierStatus::Cancelled, Some(VerifiedComplaint))
        );
        assert_eq!(
            status(false, Some(Tier::Gold), None, None),
            (TierStatus::Active, None)
        );
    }
    use super::*;
    use crate::policy::Policy;

    fn input(id: &str, rate: f64, ratings: i64) -> TierInput {
        TierInput {
            shop_id: id.into(),
            industry: "apparel".into(),
            orders: 10,
            integrity_flags: 0,
            ratings,
            satisfaction_rate: Some(rate),
            service_score: Some(4.0),
            consultation: Some(4.0),
        }
    }

    #[test]
    fn a_shortfall_names_the_figure_its_value_and_the_threshold() {
        let p = Policy::default_policy();
        let t = &p.cs_tier;
        let few = input("few", 0.99, t.min_ratings - 17);
        let x = eligibility(&few, t, 1e-9);
        assert_eq!(x, Some(Exclusion::TooFewRatings));
        let s = shortfall(&few, t, 1e-9, x).unwrap();
        assert_eq!(
            (s.figure, s.have, s.need),
            (
                "ratings",
                Some((t.min_ratings - 17) as f64),
                t.min_ratings as f64
            )
        );
        // Both gates fail: the first checked is named; a shop with no score has none.
        let mut low = input("low", 0.99, t.min_ratings);
        low.service_score = None;
        low.consultation = Some(t.consultation_gate - 1.0);
        let x = eligibility(&low, t, 1e-9);
        assert_eq!(x, Some(Exclusion::GateFailed));
        let s = shortfall(&low, t, 1e-9, x).unwrap();
        assert_eq!(
            (s.figure, s.have, s.need),
            ("service_score", None, t.service_score_gate)
        );
        low.service_score = Some(t.service_score_gate);
        let s = shortfall(&low, t, 1e-9, eligibility(&low, t, 1e-9)).unwrap();
        assert_eq!(
            (s.figure, s.have, s.need),
            (
                "consultation",
                Some(t.consultation_gate - 1.0),
                t.consultation_gate
            )
        );
        let mut flagged = input("flagged", 0.99, 0);
        flagged.integrity_flags = 1;
        let x = eligibility(&flagged, t, 1e-9);
        assert_eq!(shortfall(&flagged, t, 1e-9, x), None);
        let fine = input("fine", 0.99, t.min_ratings);
        assert_eq!(shortfall(&fine, t, 1e-9, eligibility(&fine, t, 1e-9)), None);
    }

    #[test]
    fn cohort_of_25_gives_3_gold_and_5_silver() {
        let p = Policy::default_policy();
        let shops: Vec<_> = (0..25)
            .map(|i| {
                (
                    input(&format!("s{i:02}"), 0.90 + i as f64 / 1000.0, 100),
                    "small".to_string(),
                )
            })
            .collect();
        let ranked = rank(&shops, &p.cs_tier, 1e-9);
        let count = |t: Tier| ranked.iter().filter(|r| r.tier == t).count();
        assert_eq!(
            (count(Tier::Gold), count(Tier::Silver), count(Tier::None)),
            (3, 5, 17)
        );
        assert_eq!(ranked[0].shop_id, "s24");
        assert!(ranked.iter().all(|r| r.cohort_size == 25));
    }

    #[test]
    fn ties_break_by_ratings_then_shop_id() {
        let p = Policy::default_policy();
        let shops = vec![
            (input("b", 0.95, 200), "small".to_string()),
            (input("a", 0.95, 200), "small".to_string()),
            (input("c", 0.95, 300), "small".to_string()),
        ];
        let order: Vec<_> = rank(&shops, &p.cs_tier, 1e-9)
            .into_iter()
            .map(|r| (r.shop_id, r.rank))
            .collect();
        assert_eq!(
            order,
            [
                ("c".to_string(), 1),
                ("a".to_string(), 2),
                ("b".to_string(), 3)
            ]
        );
        assert_eq!(ceil_share(0.1, 30, 1e-9), 3);
    }

    #[test]
    fn black_is_the_bottom_of_the_rest_when_enabled() {
        let mut p = Policy::default_policy().cs_tier;
        p.black_enabled = true;
        let shops: Vec<_> = (0..10)
            .map(|i| {
                (
                    input(&format!("s{i}"), 0.9 + i as f64 / 100.0, 100),
                    "small".to_string(),
                )
            })
            .collect();
        let ranked = rank(&shops, &p, 1e-9);
        let tiers: Vec<_> = ranked.iter().map(|r| r.tier.as_str()).collect();
        assert_eq!(
            tiers,
            ["gold", "silver", "silver", "none", "none", "none", "none", "none", "none", "black"]
        );
    }

    #[test]
    fn eligibility_order() {
        let p = Policy::default_policy().cs_tier;
        let mut i = input("a", 0.99, 100);
        assert_eq!(eligibility(&i, &p, 1e-9), None);
        i.consultation = None;
        assert_eq!(eligibility(&i, &p, 1e-9), Some(Exclusion::GateFailed));
        i.ratings = 99;
        assert_eq!(eligibility(&i, &p, 1e-9), Some(Exclusion::TooFewRatings));
        i.industry = "travel".into();
        assert_eq!(eligibility(&i, &p, 1e-9), Some(Exclusion::ExcludedIndustry));
        i.integrity_flags = 1;
        assert_eq!(eligibility(&i, &p, 1e-9), Some(Exclusion::IntegrityFlag));
    }

    #[test]
    fn a_tier_row_from_a_month_without_rows_has_too_few_ratings() {
        let p = Policy::default_policy();
        let m = crate::time::Month::new(2026, 11);
        let (start, end) = (m.start(p.tz), m.end(p.tz));
        let shop = ShopInfo {
            shop_id: "s1".into(),
            industry: "apparel".into(),
            first_event_at: Some(start),
        };
        let row = tier_row(
            &shop,
            &ShopData::default(),
            Scope::period(start, end, end),
            &p,
        );
        assert_eq!((row.input.orders, row.input.ratings), (0, 0));
        assert_eq!(row.input.satisfaction_rate, None);
        assert_eq!(row.scale, "small");
        assert_eq!(row.exclusion, Some(Exclusion::TooFewRatings));
        assert_eq!(row.cancel_reason, None);
    }

    #[test]
    fn an_integrity_flag_cancels_before_a_verified_complaint() {
        let d = |integrity, verifications| ShopData {
            integrity,
            verifications,
            ..ShopData::default()
        };
        assert_eq!(cancel_reason(&d(1, 1)), Some(TierReason::IntegrityFlag));
        assert_eq!(cancel_reason(&d(0, 2)), Some(TierReason::VerifiedComplaint));
        assert_eq!(cancel_reason(&d(0, 0)), None);
    }
}
