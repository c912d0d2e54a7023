//! SPEC §4.1: credit points, levels and the 180-day positive rate. Pure.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, Utc};
use chrono_tz::Tz;

use super::card::{Credit, LevelOut, ReviewCounts};
use crate::metric::Scope;
use crate::policy::{CreditPolicy, Level};

/// One order's counted review (its latest) with what credit needs of the order.
#[derive(Debug, Clone)]
pub struct CountedReview {
    pub order_id: String,
    pub buyer_id: String,
    /// +1 positive, 0 neutral, −1 negative.
    pub rating: i16,
    pub reviewed_at: DateTime<Utc>,
    /// The order's `created_at`, when an `order.created` is known.
    pub created_at: Option<DateTime<Utc>>,
    pub amount_cents: Option<i64>,
    pub item_id: Option<String>,
}

impl CountedReview {
    /// The order date: `created_at`, else the review's time.
    pub fn order_date(&self) -> DateTime<Utc> {
        self.created_at.unwrap_or(self.reviewed_at)
    }
}

/// Credit points over all time:
/// - orders with a known amount at or below the floor score nothing;
/// - the scoring orders of one buyer and item form runs by order date (a run takes in
///   later orders dated less than `same_item_days` after its first order); a run gives
///   +1 if any review is positive and −1 if any is negative, dated by its first order;
///   an order without `item_id` is a run of its own;
/// - per buyer and local calendar month the contributions add up to within ±cap.
pub fn points<'a>(reviews: &'a [CountedReview], p: &CreditPolicy, tz: Tz) -> i64 {
    let mut groups: BTreeMap<(&str, Option<&str>), Vec<&CountedReview>> = BTreeMap::new();
    let mut singles: Vec<&CountedReview> = Vec::new();
    for r in reviews
        .iter()
        .filter(|r| r.amount_cents.is_none_or(|a| a > p.floor_cents))
    {
        match r.item_id.as_deref() {
            Some(item) => groups
                .entry((r.buyer_id.as_str(), Some(item)))
                .or_default()
                .push(r),
            None => singles.push(r),
        }
    }
    // (buyer, year, month) -> sum of contributions dated in that month
    let mut monthly: HashMap<(&str, i32, u32), i64> = HashMap::new();
    let mut add_run = |run: &[&'a CountedReview]| {
        let first = run[0];
        let local = first.order_date().with_timezone(&tz);
        let delta = i64::from(run.iter().any(|r| r.rating > 0))
            - i64::from(run.iter().any(|r| r.rating < 0));
        *monthly
            .entry((first.buyer_id.as_str(), local.year(), local.month()))
            .or_default() += delta;
    };
    for r in &singles {
        add_run(std::slice::from_ref(r));
    }
    let span = Duration::days(i64::from(p.same_item_days));
    for orders in groups.values_mut() {
        orders.sort_by(|a, b| (a.order_date(), &a.order_id).cmp(&(b.order_date(), &b.order_id)));
        let mut start = 0;
        for i in 1..=orders.len() {
            if i == orders.len() || orders[i].order_date() >= orders[start].order_date() + span {
                add_run(&orders[start..i]);
                start = i;
            }
        }
    }
    monthly
        .values()
        .map(|sum| (*sum).clamp(-p.monthly_cap, p.monthly_cap))
        .sum()
}

/// The level for `points`, and the points of the next level (`None` at the top).
pub fn level(points: i64, levels: &[Level]) -> (LevelOut, Option<i64>) {
    let reached = levels.iter().take_while(|l| points >= l.min).count();
    let next = levels.get(reached).map(|l| l.min);
    let out = match reached {
        0 => LevelOut {
            index: 0,
            tier: "none".into(),
            rank: 0,
        },
        n => {
            let l = &levels[n - 1];
            LevelOut {
                index: n as u32,
                tier: l.tier.clone(),
                rank: l.rank,
            }
        }
    };
    (out, next)
}

/// A shop's credit (SPEC §4.1): points and level from every counted review, and the
/// positive rate and review counts over those reviewed within `rate_window`.
pub fn credit(counted: &[CountedReview], rate_window: Scope, p: &CreditPolicy, tz: Tz) -> Credit {
    let mut counts = ReviewCounts::default();
    for r in counted
        .iter()
        .filter(|r| rate_window.contains(r.reviewed_at))
    {
        match r.rating {
            1 => counts.positive += 1,
            0 => counts.neutral += 1,
            -1 => counts.negative += 1,
            _ => {}
        }
    }
    let points = points(counted, p, tz);
    let (level, next_level_points) = level(points, &p.levels);
    let total = counts.positive + counts.neutral + counts.negative;
    Credit {
        points,
        level,
        next_level_points,
        positive_rate: (total > 0).then(|| counts.positive as f64 / total as f64),
        reviews_180d: counts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn review(
        order: &str,
        buyer: &str,
        rating: i16,
        created: &str,
        amount: i64,
        item: Option<&str>,
    ) -> CountedReview {
        CountedReview {
            order_id: order.into(),
            buyer_id: buyer.into(),
            rating,
            reviewed_at: t(created) + Duration::days(3),
            created_at: Some(t(created)),
            amount_cents: Some(amount),
            item_id: item.map(Into::into),
        }
    }
    fn pol() -> (CreditPolicy, Tz) {
        let p = Policy::default_policy();
        (p.credit, p.tz)
    }

    #[test]
    fn level_boundaries() {
        let (p, _) = pol();
        let cases = [
            (3, 0, "none", 0, Some(4)),
            (4, 1, "heart", 1, Some(11)),
            (10, 1, "heart", 1, Some(11)),
            (11, 2, "heart", 2, Some(41)),
            (250, 5, "heart", 5, Some(251)),
            (251, 6, "diamond", 1, Some(501)),
            (10_000, 10, "diamond", 5, Some(10_001)),
            (10_001, 11, "crown", 1, Some(20_001)),
            (500_001, 16, "gold_crown", 1, Some(1_000_001)),
            (10_000_000, 19, "gold_crown", 4, Some(10_000_001)),
            (10_000_001, 20, "gold_crown", 5, None),
            (-6, 0, "none", 0, Some(4)),
        ];
        for (points, index, tier, rank, next) in cases {
            let (l, n) = level(points, &p.levels);
            assert_eq!(
                (l.index, l.tier.as_str(), l.rank, n),
                (index, tier, rank, next),
                "{points}"
            );
        }
    }

    #[test]
    fn eight_positives_in_a_month_count_six() {
        let (p, tz) = pol();
        let rs: Vec<_> = (1..=8)
            .map(|i| {
                review(
                    &format!("o{i}"),
                    "b1",
                    1,
                    &format!("2026-10-{i:02}T12:00:00+08:00"),
                    5000,
                    None,
                )
            })
            .collect();
        assert_eq!(points(&rs, &p, tz), 6);
        let neg: Vec<_> = (1..=8)
            .map(|i| {
                review(
                    &format!("o{i}"),
                    "b1",
                    -1,
                    &format!("2026-10-{i:02}T12:00:00+08:00"),
                    5000,
                    None,
                )
            })
            .collect();
        assert_eq!(points(&neg, &p, tz), -6);
    }

    #[test]
    fn same_item_within_14_days_counts_once() {
        let (p, tz) = pol();
        let rs = vec![
            review("o1", "b1", 1, "2026-10-01T00:00:00+08:00", 5000, Some("i1")),
            review("o2", "b1", 1, "2026-10-05T00:00:00+08:00", 5000, Some("i1")),
            review("o3", "b1", 1, "2026-10-14T23:59:59+08:00", 5000, Some("i1")),
            // exactly 14 days after the run's first order: a new run
            review("o4", "b1", 1, "2026-10-15T00:00:00+08:00", 5000, Some("i1")),
            // another buyer, same item: its own run
            review("o5", "b2", 1, "2026-10-02T00:00:00+08:00", 5000, Some("i1")),
        ];
        assert_eq!(points(&rs, &p, tz), 3);
        // A run with a positive and a negative review gives +1 and -1.
        let mixed = vec![
            review("o1", "b1", 1, "2026-10-01T00:00:00+08:00", 5000, Some("i1")),
            review(
                "o2",
                "b1",
                -1,
                "2026-10-02T00:00:00+08:00",
                5000,
                Some("i1"),
            ),
        ];
        assert_eq!(points(&mixed, &p, tz), 0);
    }

    #[test]
    fn floor_orders_score_nothing_and_unknown_orders_score() {
        let (p, tz) = pol();
        let mut unknown = review("o3", "b3", 1, "2026-10-01T00:00:00+08:00", 0, None);
        unknown.created_at = None;
        unknown.amount_cents = None;
        let rs = vec![
            review("o1", "b1", 1, "2026-10-01T00:00:00+08:00", 100, None),
            review("o2", "b2", 1, "2026-10-01T00:00:00+08:00", 101, None),
            unknown,
        ];
        assert_eq!(points(&rs, &p, tz), 2);
    }

    #[test]
    fn the_positive_rate_counts_only_reviews_in_its_window() {
        let p = Policy::default_policy();
        // Three buyers' orders reviewed 3 days after creation; the window holds the
        // reviews of 10 and 20 November, not the one of 1 October.
        let counted = [
            review("o1", "b1", 1, "2026-11-07T10:00:00+08:00", 5000, None),
            review("o2", "b2", 0, "2026-11-17T10:00:00+08:00", 5000, None),
            review("o3", "b3", -1, "2026-09-28T10:00:00+08:00", 5000, None),
        ];
        let window = Scope::period(
            t("2026-11-01T00:00:00+08:00"),
            t("2026-12-01T00:00:00+08:00"),
            t("2026-12-01T00:00:00+08:00"),
        );
        let c = credit(&counted, window, &p.credit, p.tz);
        assert_eq!(
            c.reviews_180d,
            ReviewCounts {
                positive: 1,
                neutral: 1,
                negative: 0
            }
        );
        assert_eq!(c.positive_rate, Some(0.5));
        // Points count every review, in the window or not: +1 + 0 − 1.
        assert_eq!(c.points, points(&counted, &p.credit, p.tz));
        assert_eq!(c.points, 0);
        let none = credit(&counted[2..], window, &p.credit, p.tz);
        assert_eq!(none.positive_rate, None);
    }
}
