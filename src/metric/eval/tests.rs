//! The metrics of the catalogue, each measured on rows worked out by hand.
use super::*;
use crate::metric::catalogue::RefundSla;
use crate::metric::{ChatRow, ComplaintRow, RefundRow};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}
const TZ: Tz = chrono_tz::Asia::Shanghai;

/// The window every test here measures, 1–10 October (UTC), evaluated at its end.
fn first_ten_days_of_october() -> (DateTime<Utc>, Scope) {
    let e = t("2026-10-10T00:00:00Z");
    let lo = t("2026-10-01T00:00:00Z");
    (e, Scope { lo, hi: e, e })
}

fn order(
    id: &str,
    created: &str,
    paid: Option<&str>,
    shipped: Option<&str>,
    cancelled: Option<&str>,
) -> OrderRow {
    OrderRow {
        order_id: id.into(),
        created_at: t(created),
        paid_at: paid.map(t),
        shipped_at: shipped.map(t),
        delivered_at: None,
        cancelled_at: cancelled.map(t),
        cancel_initiator: cancelled.map(|_| CancelInitiator::Buyer),
        amount_cents: Some(1000),
    }
}

#[test]
fn ship_on_time_counts_due_orders_only() {
    let (e, scope) = first_ten_days_of_october();
    let d = ShopData {
        orders: vec![
            // shipped 48h after payment exactly: on time
            order(
                "a",
                "2026-10-01T00:00:00Z",
                Some("2026-10-01T00:00:00Z"),
                Some("2026-10-03T00:00:00Z"),
                None,
            ),
            // shipped after 49h: late
            order(
                "b",
                "2026-10-01T00:00:00Z",
                None,
                Some("2026-10-03T01:00:00Z"),
                None,
            ),
            // unshipped, paid 47h before E: not yet due
            order("c", "2026-10-08T01:00:00Z", None, None, None),
            // cancelled before shipping: never due
            order(
                "d",
                "2026-10-01T00:00:00Z",
                None,
                None,
                Some("2026-10-02T00:00:00Z"),
            ),
            // unshipped and overdue: due and late
            order("e", "2026-10-02T00:00:00Z", None, None, None),
        ],
        ..Default::default()
    };
    let h = 48 * 3600;
    assert_eq!(
        evaluate(&Metric::ShipOnTimeRate(h), &d, scope, TZ),
        Some(1.0 / 3.0)
    );
    assert_eq!(
        evaluate(&Metric::LateShipments(h), &d, scope, TZ),
        Some(2.0)
    );
    let late: Vec<_> = late_orders(&d, h, e)
        .iter()
        .map(|o| o.order_id.as_str())
        .collect();
    assert_eq!(late, ["b", "e"]);
    assert_eq!(evaluate(&Metric::Orders, &d, scope, TZ), Some(5.0));
    assert_eq!(evaluate(&Metric::DeliveryHoursAvg, &d, scope, TZ), None);
    // The basis: the 3 due orders (a, b, e) for the rate and the late count, all 5
    // for the order count and the cancel rate, no delivered order for the mean.
    let n = |m: Metric| measure(&m, &d, scope, TZ).n;
    assert_eq!(n(Metric::ShipOnTimeRate(h)), 3);
    assert_eq!(n(Metric::LateShipments(h)), 3);
    assert_eq!(n(Metric::LateShipmentRate(h)), 3);
    assert_eq!(n(Metric::Orders), 5);
    assert_eq!(n(Metric::SellerCancelRate), 5);
    assert_eq!(n(Metric::DeliveryHoursAvg), 0);
}

#[test]
fn zero_denominators_are_null() {
    let (_, scope) = first_ten_days_of_october();
    let d = ShopData::default();
    for m in [
        Metric::SellerCancelRate,
        Metric::NegativeReviewRate,
        Metric::QualityRefundRate,
        Metric::SatisfactionRate,
        Metric::ComplaintRate,
        Metric::OfflineMessageRate,
        Metric::MaxDailyOfflineMessageRate,
        Metric::HumanReplyRate(45),
    ] {
        let measured = measure(&m, &d, scope, TZ);
        assert_eq!((measured.value, measured.n), (None, 0), "{m:?}");
    }
    assert_eq!(
        evaluate(&Metric::BotFirstResponses, &d, scope, TZ),
        Some(0.0)
    );
}

#[test]
fn refund_sla_excludes_rejected_and_unlisted_reasons() {
    let (_, scope) = first_ten_days_of_october();
    let r = |reason: &str, req: &str, done: Option<&str>, rej: Option<&str>| RefundRow {
        reason: RefundReason::parse(reason),
        requested_at: t(req),
        completed_at: done.map(t),
        rejected_at: rej.map(t),
        refund_id: format!("{reason}-{req}"),
    };
    let d = ShopData {
        refunds: vec![
            r(
                "not_shipped",
                "2026-10-01T00:00:00Z",
                Some("2026-10-01T04:00:00Z"),
                None,
            ), // on time (4h)
            r(
                "not_received",
                "2026-10-01T00:00:00Z",
                Some("2026-10-01T13:00:00Z"),
                None,
            ), // late (12h)
            r(
                "not_shipped",
                "2026-10-01T00:00:00Z",
                None,
                Some("2026-10-01T01:00:00Z"),
            ), // rejected: out
            r("quality", "2026-10-01T00:00:00Z", None, None), // unlisted: out
            r("not_shipped", "2026-10-09T21:00:00Z", None, None), // not yet due
        ],
        ..Default::default()
    };
    let sla = RefundSla {
        per_reason: vec![
            (RefundReason::NotShipped, 4 * 3600),
            (RefundReason::NotReceived, 12 * 3600),
        ],
        other: None,
    };
    assert_eq!(
        evaluate(&Metric::RefundSlaRate(sla), &d, scope, TZ),
        Some(0.5)
    );
    assert_eq!(evaluate(&Metric::RefundHoursAvg, &d, scope, TZ), Some(8.5));
}

#[test]
fn chat_and_complaints() {
    let (_, scope) = first_ten_days_of_october();
    let d = ShopData {
        chats: vec![
            ChatRow {
                t0: t("2026-10-01T00:00:00Z"),
                first_sender: Some(Sender::Bot),
                first_human: Some(t("2026-10-01T00:01:00Z")),
                conversation_id: "c1".into(),
            },
            ChatRow {
                t0: t("2026-10-01T00:00:00Z"),
                first_sender: Some(Sender::Agent),
                first_human: Some(t("2026-10-01T00:00:30Z")),
                conversation_id: "c2".into(),
            },
            ChatRow {
                t0: t("2026-10-01T00:00:00Z"),
                first_sender: None,
                first_human: None,
                conversation_id: "c3".into(),
            },
            ChatRow {
                t0: t("2026-10-09T23:59:30Z"),
                first_sender: None,
                first_human: None,
                conversation_id: "c4".into(),
            }, // not yet due at 45 s
        ],
        complaints: vec![
            ComplaintRow {
                opened_at: t("2026-10-01T00:00:00Z"),
                accepted_at: Some(t("2026-10-01T10:00:00Z")),
                resolved_at: Some(t("2026-10-02T00:00:00Z")),
                outcome: Some(ComplaintOutcome::Resolved),
                ruled_against: Some(true),
                first_followup_at: Some(t("2026-10-01T12:00:00Z")),
                complaint_id: "k1".into(),
            },
            ComplaintRow {
                opened_at: t("2026-10-01T00:00:00Z"),
                accepted_at: None,
                resolved_at: Some(t("2026-10-02T00:00:00Z")),
                outcome: Some(ComplaintOutcome::Resolved),
                ruled_against: Some(false),
                first_followup_at: None,
                complaint_id: "k2".into(),
            },
        ],
        ..Default::default()
    };
    assert_eq!(
        evaluate(&Metric::HumanResponseSecondsAvg, &d, scope, TZ),
        Some(45.0)
    );
    assert_eq!(
        evaluate(&Metric::HumanReplyRate(45), &d, scope, TZ),
        Some(1.0 / 3.0)
    );
    assert_eq!(
        evaluate(&Metric::BotFirstResponses, &d, scope, TZ),
        Some(1.0)
    );
    assert_eq!(
        evaluate(&Metric::OfflineMessageRate, &d, scope, TZ),
        Some(1.0)
    );
    assert_eq!(
        evaluate(&Metric::ComplaintReceptionRate(24 * 3600), &d, scope, TZ),
        Some(0.5)
    );
    assert_eq!(
        evaluate(&Metric::ComplaintClosureRate(120 * 3600), &d, scope, TZ),
        Some(0.5)
    );
    assert_eq!(evaluate(&Metric::RulingRate, &d, scope, TZ), None); // no orders
}
