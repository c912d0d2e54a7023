//! Turns one shop's entity rows into metric values (SPEC §3). Pure: no IO, no clock.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::catalogue::Metric;
use super::presence;
use super::{OrderRow, Scope, ShopData};

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

fn secs(d: Duration) -> f64 {
    d.num_microseconds()
        .map_or(d.num_seconds() as f64, |us| us as f64 / 1e6)
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

fn within(from: DateTime<Utc>, to: DateTime<Utc>, limit_s: i64) -> bool {
    to - from <= Duration::seconds(limit_s)
}

/// SPEC §3 `ship_on_time_rate(h)`: (due, on time). An order cancelled before it shipped
/// is never due; otherwise it is due once shipped or once `paid_at + h ≤ E`.
fn ship_counts(
    orders: &[OrderRow],
    h: i64,
    e: DateTime<Utc>,
) -> impl Iterator<Item = (&OrderRow, bool, bool)> {
    orders.iter().map(move |o| {
        let paid = o.paid_at.unwrap_or(o.created_at);
        let cancelled_first = match (o.cancelled_at, o.shipped_at) {
            (Some(c), Some(s)) => c < s,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let due = !cancelled_first && (o.shipped_at.is_some() || paid + Duration::seconds(h) <= e);
        let on_time = due && o.shipped_at.is_some_and(|s| within(paid, s, h));
        (o, due, on_time)
    })
}

/// The due orders not shipped within `h` (the penalty list of `late_shipments(h)`).
pub fn late_orders(d: &ShopData, h: i64, e: DateTime<Utc>) -> Vec<&OrderRow> {
    ship_counts(&d.orders, h, e)
        .filter(|(_, due, ok)| *due && !ok)
        .map(|(o, _, _)| o)
        .collect()
}

/// The value of `m` for one shop in `scope`; `None` where SPEC says null (a zero
/// denominator, no whole day, …).
pub fn evaluate(m: &Metric, d: &ShopData, scope: Scope, tz: Tz) -> Option<f64> {
    let e = scope.e;
    let orders = d.orders.len();
    match m {
        Metric::Orders => Some(orders as f64),
        Metric::ShipOnTimeRate(h) => {
            let (due, ok) = ship_counts(&d.orders, *h, e).fold((0, 0), |(a, b), (_, due, ok)| {
                (a + due as usize, b + ok as usize)
            });
            ratio(ok, due)
        }
        Metric::LateShipments(h) => Some(late_orders(d, *h, e).len() as f64),
        Metric::LateShipmentRate(h) => {
            let (due, ok) = ship_counts(&d.orders, *h, e).fold((0, 0), |(a, b), (_, due, ok)| {
                (a + due as usize, b + ok as usize)
            });
            ratio(due - ok, due)
        }
        Metric::DeliveryHoursAvg => {
            mean(
                d.orders
                    .iter()
                    .filter_map(|o| match (o.shipped_at, o.delivered_at) {
                        (Some(s), Some(dl)) => Some(secs(dl - s) / 3600.0),
                        _ => None,
                    }),
            )
        }
        Metric::SellerCancelRate => ratio(
            d.orders
                .iter()
                .filter(|o| o.cancel_initiator.as_deref() == Some("seller"))
                .count(),
            orders,
        ),
        Metric::NegativeReviewRate => ratio(
            d.reviews.iter().filter(|r| **r < 0).count(),
            d.reviews.len(),
        ),
        Metric::PositiveRate => ratio(
            d.reviews.iter().filter(|r| **r > 0).count(),
            d.reviews.len(),
        ),
        Metric::Reviews => Some(d.reviews.len() as f64),
        Metric::QualityRefundRate => ratio(
            d.refunds
                .iter()
                .filter(|r| r.reason.as_deref() == Some("quality"))
                .count(),
            orders,
        ),
        Metric::RefundHoursAvg => mean(
            d.refunds
                .iter()
                .filter_map(|r| r.completed_at.map(|c| secs(c - r.requested_at) / 3600.0)),
        ),
        Metric::RefundSlaRate(sla) => {
            let (mut due, mut ok) = (0, 0);
            for r in &d.refunds {
                let Some(limit) = r
                    .reason
                    .as_deref()
                    .and_then(|reason| sla.seconds_for(reason))
                else {
                    continue;
                };
                if r.completed_at.is_none() && r.rejected_at.is_some() {
                    continue; // rejected, never completed: excluded
                }
                if r.completed_at.is_some() || r.requested_at + Duration::seconds(limit) <= e {
                    due += 1;
                    ok += r
                        .completed_at
                        .is_some_and(|c| within(r.requested_at, c, limit))
                        as usize;
                }
            }
            ratio(ok, due)
        }
        Metric::Conversations => Some(d.chats.len() as f64),
        Metric::HumanResponseSecondsAvg => mean(
            d.chats
                .iter()
                .filter_map(|c| c.first_human.map(|h| secs(h - c.t0))),
        ),
        Metric::HumanReplyRate(s) => {
            let (mut due, mut ok) = (0, 0);
            for c in &d.chats {
                if c.first_human.is_some() || c.t0 + Duration::seconds(*s) <= e {
                    due += 1;
                    ok += c.first_human.is_some_and(|h| within(c.t0, h, *s)) as usize;
                }
            }
            ratio(ok, due)
        }
        Metric::BotFirstResponses => Some(
            d.chats
                .iter()
                .filter(|c| c.first_sender.as_deref() == Some("bot"))
                .count() as f64,
        ),
        Metric::OfflineMessageRate => ratio(
            d.chats
                .iter()
                .filter(|c| !presence::staffed_at(&d.staffed, c.t0))
                .count(),
            d.chats.len(),
        ),
        Metric::MaxDailyOfflineMessageRate => {
            let mut per_day: BTreeMap<chrono::NaiveDate, (usize, usize)> = BTreeMap::new();
            for c in &d.chats {
                let day = per_day
                    .entry(c.t0.with_timezone(&tz).date_naive())
                    .or_default();
                day.0 += !presence::staffed_at(&d.staffed, c.t0) as usize;
                day.1 += 1;
            }
            per_day
                .values()
                .filter_map(|(off, n)| ratio(*off, *n))
                .reduce(f64::max)
        }
        Metric::SatisfactionRatings => Some(d.ratings.len() as f64),
        Metric::SatisfactionRate => ratio(
            d.ratings
                .iter()
                .filter(|s| matches!(s.as_str(), "very_satisfied" | "satisfied"))
                .count(),
            d.ratings.len(),
        ),
        Metric::OnlineHoursAvg(slot) => {
            presence::online_hours_avg(tz, &d.staffed, *slot, scope.lo, scope.hi, e)
        }
        Metric::CoverageRate(slot) => {
            presence::online_hours_avg(tz, &d.staffed, *slot, scope.lo, scope.hi, e)
                .map(|h| h / slot.hours())
        }
        Metric::Complaints => Some(d.complaints.len() as f64),
        Metric::ComplaintRate => ratio(d.complaints.len(), orders),
        Metric::RulingRate => ratio(
            d.complaints
                .iter()
                .filter(|c| c.resolved_at.is_some() && c.ruled_against == Some(true))
                .count(),
            orders,
        ),
        Metric::ComplaintReceptionRate(h) => {
            let (mut due, mut ok) = (0, 0);
            for c in &d.complaints {
                if c.accepted_at.is_some() || c.opened_at + Duration::seconds(*h) <= e {
                    due += 1;
                    ok += c.accepted_at.is_some_and(|a| within(c.opened_at, a, *h)) as usize;
                }
            }
            ratio(ok, due)
        }
        Metric::ComplaintClosureRate(h) => {
            let (mut due, mut ok) = (0, 0);
            for c in &d.complaints {
                if c.resolved_at.is_some() || c.opened_at + Duration::seconds(*h) <= e {
                    due += 1;
                    ok += c.resolved_at.is_some_and(|r| {
                        within(c.opened_at, r, *h)
                            && c.outcome.as_deref() == Some("resolved")
                            && c.first_followup_at.is_some_and(|f| f <= r)
                    }) as usize;
                }
            }
            ratio(ok, due)
        }
        Metric::IrregularClosures => Some(
            d.complaints
                .iter()
                .filter(|c| c.outcome.as_deref() == Some("irregular"))
                .count() as f64,
        ),
        Metric::VerifiedConductComplaints => Some(d.verified as f64),
        Metric::ConductVerifications => Some(d.verifications as f64),
        Metric::IntegrityFlags => Some(d.integrity as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalogue::RefundSla;
    use crate::metrics::{ChatRow, ComplaintRow, RefundRow};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    const TZ: Tz = chrono_tz::Asia::Shanghai;

    fn order(
        id: &str,
        created: &str,
        paid: Option<&str>,
        shipped: Option<&str>,
        cancelled: Option<&str>,
    ) -> OrderRow {
        OrderRow {
            shop_id: String::new(),
            order_id: id.into(),
            created_at: t(created),
            paid_at: paid.map(t),
            shipped_at: shipped.map(t),
            delivered_at: None,
            cancelled_at: cancelled.map(t),
            cancel_initiator: cancelled.map(|_| "buyer".into()),
            amount_cents: Some(1000),
        }
    }

    #[test]
    fn ship_on_time_counts_due_orders_only() {
        let e = t("2026-10-10T00:00:00Z");
        let scope = Scope {
            lo: t("2026-10-01T00:00:00Z"),
            hi: e,
            e,
        };
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
    }

    #[test]
    fn zero_denominators_are_null() {
        let e = t("2026-10-10T00:00:00Z");
        let scope = Scope {
            lo: t("2026-10-01T00:00:00Z"),
            hi: e,
            e,
        };
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
            assert_eq!(evaluate(&m, &d, scope, TZ), None, "{m:?}");
        }
        assert_eq!(
            evaluate(&Metric::BotFirstResponses, &d, scope, TZ),
            Some(0.0)
        );
    }

    #[test]
    fn refund_sla_excludes_rejected_and_unlisted_reasons() {
        let e = t("2026-10-10T00:00:00Z");
        let scope = Scope {
            lo: t("2026-10-01T00:00:00Z"),
            hi: e,
            e,
        };
        let r = |reason: &str, req: &str, done: Option<&str>, rej: Option<&str>| RefundRow {
            shop_id: String::new(),
            reason: Some(reason.into()),
            requested_at: t(req),
            completed_at: done.map(t),
            rejected_at: rej.map(t),
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
                ("not_shipped".into(), 4 * 3600),
                ("not_received".into(), 12 * 3600),
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
        let e = t("2026-10-10T00:00:00Z");
        let scope = Scope {
            lo: t("2026-10-01T00:00:00Z"),
            hi: e,
            e,
        };
        let d = ShopData {
            chats: vec![
                ChatRow {
                    shop_id: String::new(),
                    t0: t("2026-10-01T00:00:00Z"),
                    first_sender: Some("bot".into()),
                    first_human: Some(t("2026-10-01T00:01:00Z")),
                },
                ChatRow {
                    shop_id: String::new(),
                    t0: t("2026-10-01T00:00:00Z"),
                    first_sender: Some("agent".into()),
                    first_human: Some(t("2026-10-01T00:00:30Z")),
                },
                ChatRow {
                    shop_id: String::new(),
                    t0: t("2026-10-01T00:00:00Z"),
                    first_sender: None,
                    first_human: None,
                },
                ChatRow {
                    shop_id: String::new(),
                    t0: t("2026-10-09T23:59:30Z"),
                    first_sender: None,
                    first_human: None,
                }, // not yet due at 45 s
            ],
            complaints: vec![
                ComplaintRow {
                    shop_id: String::new(),
                    opened_at: t("2026-10-01T00:00:00Z"),
                    accepted_at: Some(t("2026-10-01T10:00:00Z")),
                    resolved_at: Some(t("2026-10-02T00:00:00Z")),
                    outcome: Some("resolved".into()),
                    ruled_against: Some(true),
                    first_followup_at: Some(t("2026-10-01T12:00:00Z")),
                },
                ComplaintRow {
                    shop_id: String::new(),
                    opened_at: t("2026-10-01T00:00:00Z"),
                    accepted_at: None,
                    resolved_at: Some(t("2026-10-02T00:00:00Z")),
                    outcome: Some("resolved".into()),
                    ruled_against: Some(false),
                    first_followup_at: None,
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
}
