//! Items worked out by hand, and their totals against the metric's value.
use super::*;
use crate::metric::eval::measure;
use crate::metric::{ChatRow, ComplaintRow, OrderRow, RefundRow};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn order(id: &str, paid: &str, shipped: Option<&str>, cancelled: Option<&str>) -> OrderRow {
    OrderRow {
        order_id: id.into(),
        created_at: t(paid),
        paid_at: Some(t(paid)),
        shipped_at: shipped.map(t),
        delivered_at: None,
        cancelled_at: cancelled.map(t),
        cancel_initiator: cancelled.map(|_| CancelInitiator::Seller),
        amount_cents: Some(1000),
    }
}

/// Evaluated at 10 October: "b" shipped 50 h after payment, "a" 24 h, "c" is unshipped
/// 72 h after payment, "d" was paid 10 h before the instant, "e" cancelled unshipped.
fn shop() -> (ShopData, Scope) {
    let e = t("2026-10-10T00:00:00Z");
    let d = ShopData {
        orders: vec![
            order(
                "b",
                "2026-10-01T00:00:00Z",
                Some("2026-10-03T02:00:00Z"),
                None,
            ),
            order(
                "a",
                "2026-10-01T00:00:00Z",
                Some("2026-10-02T00:00:00Z"),
                None,
            ),
            order("c", "2026-10-07T00:00:00Z", None, None),
            order("d", "2026-10-09T14:00:00Z", None, None),
            order(
                "e",
                "2026-10-01T00:00:00Z",
                None,
                Some("2026-10-01T01:00:00Z"),
            ),
        ],
        ..ShopData::default()
    };
    let lo = t("2026-10-01T00:00:00Z");
    (d, Scope { lo, hi: e, e })
}

fn by_id(items: &[Item]) -> Vec<(&str, Counts, &str)> {
    items
        .iter()
        .map(|i| (i.id.as_str(), i.counts, i.reason.as_str()))
        .collect()
}

#[test]
fn ship_on_time_lists_every_order_with_why_it_counts() {
    let (d, scope) = shop();
    let items = items(
        &Metric::ShipOnTimeRate(48 * 3600),
        &d,
        scope,
        chrono_tz::UTC,
    )
    .unwrap();
    assert_eq!(
        by_id(&items),
        [
            (
                "a",
                Counts::Numerator,
                "shipped 24 h after payment, within 48 h"
            ),
            (
                "b",
                Counts::Denominator,
                "shipped 50 h after payment, over 48 h"
            ),
            ("c", Counts::Denominator, "not shipped 48 h after payment"),
            (
                "d",
                Counts::Excluded,
                "not due yet: 48 h after payment is after the evaluation instant"
            ),
            ("e", Counts::Excluded, "cancelled before it shipped"),
        ]
    );
    // 1 on time of 3 due, as the metric says.
    let m = measure(
        &Metric::ShipOnTimeRate(48 * 3600),
        &d,
        scope,
        chrono_tz::UTC,
    );
    assert_eq!((m.value, m.n), (Some(1.0 / 3.0), 3));
    assert_eq!(
        items[0].times,
        [
            ("created_at", t("2026-10-01T00:00:00Z")),
            ("paid_at", t("2026-10-01T00:00:00Z")),
            ("shipped_at", t("2026-10-02T00:00:00Z"))
        ]
    );
}

#[test]
fn late_shipments_count_the_late_ones() {
    let (d, scope) = shop();
    let items = items(&Metric::LateShipments(48 * 3600), &d, scope, chrono_tz::UTC).unwrap();
    let late: Vec<&str> = (items.iter())
        .filter(|i| i.counts == Counts::Numerator)
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(late, ["b", "c"]);
}

#[test]
fn delivery_hours_list_their_terms() {
    let (mut d, scope) = shop();
    d.orders[0].delivered_at = Some(t("2026-10-04T14:00:00Z")); // b: 36 h after shipping
    let items = items(&Metric::DeliveryHoursAvg, &d, scope, chrono_tz::UTC).unwrap();
    let b = items.iter().find(|i| i.id == "b").unwrap();
    assert_eq!((b.counts, b.value), (Counts::Term, Some(36.0)));
    assert_eq!(b.reason, "delivered 36 h after shipping");
    let a = items.iter().find(|i| i.id == "a").unwrap();
    assert_eq!(
        (a.counts, a.reason.as_str()),
        (Counts::Excluded, "shipped, not delivered yet")
    );
}

#[test]
fn conversations_and_complaints_say_why_they_count() {
    let e = t("2026-10-10T00:00:00Z");
    let chat = |id: &str, t0: &str, human: Option<&str>| ChatRow {
        t0: t(t0),
        first_sender: Some(Sender::Agent),
        first_human: human.map(t),
        conversation_id: id.into(),
    };
    let complaint =
        |id: &str, resolved: Option<&str>, outcome, followup: Option<&str>| ComplaintRow {
            opened_at: t("2026-10-01T00:00:00Z"),
            accepted_at: None,
            resolved_at: resolved.map(t),
            outcome,
            ruled_against: None,
            first_followup_at: followup.map(t),
            complaint_id: id.into(),
        };
    let d = ShopData {
        chats: vec![
            chat("c1", "2026-10-01T00:00:00Z", Some("2026-10-01T00:00:30Z")),
            chat("c2", "2026-10-01T00:00:00Z", Some("2026-10-01T00:05:00Z")),
            chat("c3", "2026-10-01T00:00:00Z", None),
            chat("c4", "2026-10-09T23:59:00Z", None),
        ],
        complaints: vec![
            complaint(
                "k1",
                Some("2026-10-02T00:00:00Z"),
                Some(ComplaintOutcome::Resolved),
                Some("2026-10-01T12:00:00Z"),
            ),
            complaint(
                "k2",
                Some("2026-10-02T00:00:00Z"),
                Some(ComplaintOutcome::Resolved),
                None,
            ),
            complaint(
                "k3",
                Some("2026-10-02T00:00:00Z"),
                Some(ComplaintOutcome::Irregular),
                None,
            ),
            complaint("k4", None, None, None),
        ],
        ..ShopData::default()
    };
    let scope = Scope {
        lo: t("2026-10-01T00:00:00Z"),
        hi: e,
        e,
    };
    let chats = items(&Metric::HumanReplyRate(180), &d, scope, chrono_tz::UTC).unwrap();
    assert_eq!(
        by_id(&chats),
        [
            (
                "c1",
                Counts::Numerator,
                "a human replied 30 s after the first buyer message, within 180 s"
            ),
            (
                "c2",
                Counts::Denominator,
                "a human replied 300 s after the first buyer message, over 180 s"
            ),
            (
                "c3",
                Counts::Denominator,
                "no human reply within 180 s of the first buyer message"
            ),
            (
                "c4",
                Counts::Excluded,
                "not due yet: 180 s after the first buyer message is after the evaluation instant"
            ),
        ]
    );
    // Closed within 120 h: k1 resolved with a follow-up first; k2 without one; k3
    // irregular; k4 still open after 120 h.
    let closures = items(
        &Metric::ComplaintClosureRate(120 * 3600),
        &d,
        scope,
        chrono_tz::UTC,
    )
    .unwrap();
    assert_eq!(
        by_id(&closures),
        [
            (
                "k1",
                Counts::Numerator,
                "resolved 24 h after opening, within 120 h"
            ),
            (
                "k2",
                Counts::Denominator,
                "resolved in time, but without a follow-up before it"
            ),
            (
                "k3",
                Counts::Denominator,
                "closed in time as irregular, not resolved"
            ),
            (
                "k4",
                Counts::Denominator,
                "not resolved within 120 h of opening"
            ),
        ]
    );
    let m = measure(
        &Metric::ComplaintClosureRate(120 * 3600),
        &d,
        Scope {
            lo: t("2026-10-01T00:00:00Z"),
            hi: e,
            e,
        },
        chrono_tz::UTC,
    );
    assert_eq!((m.value, m.n), (Some(0.25), 4));
}

#[test]
fn review_rating_and_tally_metrics_take_their_own_rows() {
    let (d, scope) = shop();
    for m in [
        Metric::Reviews,
        Metric::SatisfactionRate,
        Metric::IntegrityFlags,
    ] {
        assert_eq!(items(&m, &d, scope, chrono_tz::UTC), None, "{m:?}");
    }
}

#[test]
fn presence_lists_each_whole_day_with_its_staffed_hours() {
    use crate::metric::catalogue::Slot;
    // 1–3 October (Shanghai), evaluated at the end of the 3rd: three whole days. An agent
    // online 09:00–19:30 on the 1st, none on the 2nd, all day on the 3rd.
    let tz = chrono_tz::Asia::Shanghai;
    let d = ShopData {
        staffed: vec![
            (
                t("2026-10-01T09:00:00+08:00"),
                t("2026-10-01T19:30:00+08:00"),
            ),
            (
                t("2026-10-03T00:00:00+08:00"),
                t("2026-10-04T00:00:00+08:00"),
            ),
        ],
        ..ShopData::default()
    };
    let e = t("2026-10-04T00:00:00+08:00");
    let scope = Scope {
        lo: t("2026-10-01T00:00:00+08:00"),
        hi: e,
        e,
    };
    let slot = Slot {
        start_min: 9 * 60,
        end_min: 24 * 60,
    };
    let days = items(&Metric::OnlineHoursAvg(slot), &d, scope, tz).unwrap();
    let got: Vec<(&str, Option<f64>, &str)> = days
        .iter()
        .map(|i| (i.id.as_str(), i.value, i.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "2026-10-01",
                Some(10.5),
                "staffed 10.5 h of the slot's 15 h"
            ),
            ("2026-10-02", Some(0.0), "staffed 0 h of the slot's 15 h"),
            ("2026-10-03", Some(15.0), "staffed 15 h of the slot's 15 h"),
        ]
    );
    // Their mean is the metric: (10.5 + 0 + 15) / 3 = 8.5.
    let m = measure(&Metric::OnlineHoursAvg(slot), &d, scope, tz);
    assert_eq!((m.value, m.n), (Some(8.5), 3));
    let coverage = items(&Metric::CoverageRate(slot), &d, scope, tz).unwrap();
    assert_eq!(coverage[0].value, Some(0.7));
}

#[test]
fn reviews_and_ratings_list_each_counted_one() {
    use crate::domain::Satisfaction;
    let at = t("2026-10-02T00:00:00Z");
    let rows = vec![
        ("o2".to_string(), -1, at),
        ("o1".to_string(), 1, at),
        ("o3".to_string(), 0, at),
    ];
    let negative = reviews(&Metric::NegativeReviewRate, &rows).unwrap();
    let got: Vec<(&str, Counts, &str)> = negative
        .iter()
        .map(|i| (i.id.as_str(), i.counts, i.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("o1", Counts::Denominator, "reviewed positive"),
            ("o2", Counts::Numerator, "reviewed negative"),
            ("o3", Counts::Denominator, "reviewed neutral"),
        ]
    );
    assert_eq!(negative[0].times, [("reviewed_at", at)]);
    assert_eq!(reviews(&Metric::Orders, &rows), None);
    let rated = vec![
        ("c1".to_string(), Satisfaction::Satisfied, at),
        ("c2".to_string(), Satisfaction::Unsatisfied, at),
    ];
    let rate = ratings(&Metric::SatisfactionRate, &rated).unwrap();
    assert_eq!(
        (rate[0].counts, rate[1].counts),
        (Counts::Numerator, Counts::Denominator)
    );
    assert_eq!(rate[1].reason, "rated unsatisfied");
}

#[test]
fn a_rate_of_refunds_per_order_lists_both_kinds_in_id_then_kind_order() {
    let refund = |id: &str, reason| RefundRow {
        reason: Some(reason),
        requested_at: t("2026-10-02T00:00:00Z"),
        completed_at: None,
        rejected_at: None,
        refund_id: id.into(),
    };
    let d = ShopData {
        orders: vec![
            order("b", "2026-10-01T00:00:00Z", None, None),
            order("a", "2026-10-01T00:00:00Z", None, None),
        ],
        refunds: vec![
            refund("r2", crate::domain::RefundReason::NotReceived),
            refund("a", crate::domain::RefundReason::Quality),
        ],
        ..ShopData::default()
    };
    let e = t("2026-10-10T00:00:00Z");
    let scope = Scope {
        lo: t("2026-10-01T00:00:00Z"),
        hi: e,
        e,
    };
    let listed = items(&Metric::QualityRefundRate, &d, scope, chrono_tz::UTC).unwrap();
    let got: Vec<(&str, Kind, Counts)> = listed
        .iter()
        .map(|i| (i.id.as_str(), i.kind, i.counts))
        .collect();
    assert_eq!(
        got,
        [
            ("a", Kind::Order, Counts::Denominator),
            ("a", Kind::Refund, Counts::Numerator),
            ("b", Kind::Order, Counts::Denominator),
            ("r2", Kind::Refund, Counts::Excluded),
        ]
    );
    // 1 quality refund over 2 orders.
    let m = measure(&Metric::QualityRefundRate, &d, scope, chrono_tz::UTC);
    assert_eq!((m.value, m.n), (Some(0.5), 2));
}
