//! Property tests of the pure core: scores stay within 0–5, rates within 0–1, and
//! credit points do not depend on the order of their inputs.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use super::credit::{points, CountedReview};
use super::service::{metric_score, service_score};
use crate::metric::{evaluate, Metric, OrderRow, Scope, ShopData};
use crate::policy::Policy;

fn base() -> DateTime<Utc> {
    "2026-10-01T00:00:00Z".parse().unwrap()
}

prop_compose! {
    fn review()(buyer in 0..4u8, item in proptest::option::of(0..3u8), rating in -1i16..=1, day in 0..120i64,
                amount in proptest::option::of(0..400i64), order in 0..1000u32) -> CountedReview {
        CountedReview {
            order_id: format!("o{order}"),
            buyer_id: format!("b{buyer}"),
            rating,
            reviewed_at: base() + Duration::days(day + 3),
            created_at: Some(base() + Duration::days(day)),
            amount_cents: amount,
            item_id: item.map(|i| format!("i{i}")),
        }
    }
}

prop_compose! {
    fn order()(created in 0..30i64, paid in proptest::option::of(0..100i64), shipped in proptest::option::of(0..200i64),
               cancelled in proptest::option::of(0..200i64)) -> OrderRow {
        let at = |h: i64| base() + Duration::hours(h);
        OrderRow {
            order_id: format!("o{created}"),
            created_at: at(created),
            paid_at: paid.map(|p| at(created + p)),
            shipped_at: shipped.map(|s| at(created + s)),
            delivered_at: None,
            cancelled_at: cancelled.map(|c| at(created + c)),
            cancel_initiator: cancelled.map(|_| crate::domain::CancelInitiator::Seller),
            amount_cents: Some(100),
        }
    }
}

proptest! {
    #[test]
    fn metric_scores_stay_within_0_and_5(v in -1e6f64..1e6, best in -100f64..100.0, span in 0.001f64..100.0, flip: bool) {
        let worst = if flip { best - span } else { best + span };
        let s = metric_score(v, best, worst);
        prop_assert!((0.0..=5.0).contains(&s));
    }

    #[test]
    fn service_scores_stay_within_0_and_5(values in proptest::collection::vec(proptest::option::of(-10f64..1000.0), 10)) {
        let p = Policy::default_policy();
        let names: Vec<String> = p.service.metrics().map(|m| m.name.clone()).collect();
        let map: HashMap<String, Option<f64>> = names.into_iter().zip(values).collect();
        let s = service_score(&crate::scoring::service::measured(&map), "x", &p.service, 1e-9);
        if let Some(score) = s.score {
            prop_assert!((0.0..=5.0).contains(&score));
        }
        for ind in s.indicators.values() {
            prop_assert!(ind.score.is_none_or(|x| (0.0..=5.0).contains(&x)));
        }
    }

    #[test]
    fn order_rates_stay_within_0_and_1(orders in proptest::collection::vec(order(), 0..20), h in 1i64..100) {
        let scope = Scope { lo: base(), hi: base() + Duration::days(30), e: base() + Duration::days(10) };
        let d = ShopData { orders, ..Default::default() };
        let tz = chrono_tz::Asia::Shanghai;
        for m in [Metric::ShipOnTimeRate(h * 3600), Metric::SellerCancelRate, Metric::LateShipmentRate(h * 3600)] {
            if let Some(v) = evaluate(&m, &d, scope, tz) {
                prop_assert!((0.0..=1.0).contains(&v), "{m:?} = {v}");
            }
        }
    }

    #[test]
    fn credit_points_ignore_input_order_and_respect_the_cap(mut reviews in proptest::collection::vec(review(), 0..40), seed: u64) {
        let p = Policy::default_policy();
        // One counted review per order, as the SQL guarantees.
        reviews.sort_by(|a, b| a.order_id.cmp(&b.order_id));
        reviews.dedup_by(|a, b| a.order_id == b.order_id);
        let before = points(&reviews, &p.credit, p.tz);
        let mut shuffled = reviews.clone();
        let n = shuffled.len();
        if n > 1 {
            for i in 0..n {
                shuffled.swap(i, (seed as usize).wrapping_mul(i + 7) % n);
            }
        }
        prop_assert_eq!(points(&shuffled, &p.credit, p.tz), before);
        // At most ±6 for each buyer and month: 4 buyers over at most 5 months.
        prop_assert!(before.abs() <= 6 * 4 * 5);
        prop_assert!(before.abs() <= reviews.len() as i64);
    }
}
