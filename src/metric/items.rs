//! The entities behind a metric (the drill-down): for each one, whether it counts for
//! the numerator, for the denominator only, or not at all and why, with the times that
//! decided it. Pure, and built from the same decisions as `eval::measure`, so the
//! items of a metric always add up to its value and basis.
//!
//! Listed so far: the metrics of the order family (`orders`, `ship_on_time_rate(h)`,
//! `late_shipments(h)`, `late_shipment_rate(h)`, `delivery_hours_avg`,
//! `seller_cancel_rate`). [`items`] answers `None` for the others.

use chrono::{DateTime, Duration, Utc};

use super::catalogue::Metric;
use super::eval::{ship_counts, Shipping};
use super::{OrderRow, ShopData};
use crate::domain::CancelInitiator;

crate::domain::vocabulary! {
    /// How an entity takes part in its metric.
    Counts {
        /// Counted in the numerator (and the denominator): an on-time shipment of
        /// `ship_on_time_rate`, a late one of `late_shipments`, each thing a count
        /// counts.
        Numerator = "numerator",
        /// Counted in the denominator only: due, but not what the numerator counts.
        Denominator = "denominator",
        /// One term of an average (`value` is the term).
        Term = "term",
        /// Not counted at all (`reason` says why).
        Excluded = "excluded",
    }
}

/// One entity of a metric's window.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: String,
    pub counts: Counts,
    /// Why it counts as it does, for people: "shipped 50.5 h after payment, over 48 h".
    pub reason: String,
    /// An average's term (hours, seconds); `None` for counts and rates.
    pub value: Option<f64>,
    /// The times that decided it, by name (only those known at the evaluation instant).
    pub times: Vec<(&'static str, DateTime<Utc>)>,
}

/// The items of `m` in the window `d` was loaded for, evaluated at `e`, in id order;
/// `None` for a metric not listed yet.
pub fn items(m: &Metric, d: &ShopData, e: DateTime<Utc>) -> Option<Vec<Item>> {
    let mut out: Vec<Item> = match m {
        Metric::Orders => (d.orders.iter())
            .map(|o| {
                order_item(
                    o,
                    Counts::Numerator,
                    "an order created in the window".into(),
                )
            })
            .collect(),
        Metric::ShipOnTimeRate(h) => shipping(d, *h, e, Counts::Numerator, Counts::Denominator),
        Metric::LateShipments(h) | Metric::LateShipmentRate(h) => {
            shipping(d, *h, e, Counts::Denominator, Counts::Numerator)
        }
        Metric::DeliveryHoursAvg => d.orders.iter().map(delivery).collect(),
        Metric::SellerCancelRate => (d.orders.iter())
            .map(|o| match o.cancel_initiator {
                Some(CancelInitiator::Seller) => {
                    order_item(o, Counts::Numerator, "cancelled by the seller".into())
                }
                Some(_) => order_item(
                    o,
                    Counts::Denominator,
                    "cancelled, not by the seller".into(),
                ),
                None => order_item(o, Counts::Denominator, "not cancelled".into()),
            })
            .collect(),
        _ => return None,
    };
    // Byte order, as every id compares (SPEC §1), for a stable keyset page.
    out.sort_by(|a, b| a.id.as_bytes().cmp(b.id.as_bytes()));
    Some(out)
}

/// An order with its known times.
fn order_item(o: &OrderRow, counts: Counts, reason: String) -> Item {
    let times = [
        ("created_at", Some(o.created_at)),
        ("paid_at", o.paid_at),
        ("shipped_at", o.shipped_at),
        ("delivered_at", o.delivered_at),
        ("cancelled_at", o.cancelled_at),
    ];
    Item {
        id: o.order_id.clone(),
        counts,
        reason,
        value: None,
        times: times
            .into_iter()
            .filter_map(|(k, t)| Some((k, t?)))
            .collect(),
    }
}

/// Hours, as people read them: 48, 50.5, 0.25.
fn hours(d: Duration) -> String {
    let h = d.num_seconds() as f64 / 3600.0;
    let s = format!("{:.2}", h);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The orders of the shipping metrics: due and on time go to `on_time`, due and late
/// to `late`, the rest are excluded.
fn shipping(d: &ShopData, h: i64, e: DateTime<Utc>, on_time: Counts, late: Counts) -> Vec<Item> {
    let limit = hours(Duration::seconds(h));
    ship_counts(&d.orders, h, e)
        .map(|(o, s)| {
            let paid = o.paid_at.unwrap_or(o.created_at);
            // SPEC §3: without a payment, the clock starts when the order was created.
            let start = match o.paid_at {
                Some(_) => "payment",
                None => "creation (no payment recorded)",
            };
            let (counts, reason) = match s {
                Shipping::CancelledFirst => {
                    (Counts::Excluded, "cancelled before it shipped".into())
                }
                Shipping::NotDue => (
                    Counts::Excluded,
                    format!("not due yet: {limit} h after {start} is after the evaluation instant"),
                ),
                Shipping::OnTime => {
                    let took = hours(o.shipped_at.unwrap_or(paid) - paid);
                    (
                        on_time,
                        format!("shipped {took} h after {start}, within {limit} h"),
                    )
                }
                Shipping::Late => match o.shipped_at {
                    Some(at) => (
                        late,
                        format!(
                            "shipped {} h after {start}, over {limit} h",
                            hours(at - paid)
                        ),
                    ),
                    None => (late, format!("not shipped {limit} h after {start}")),
                },
            };
            order_item(o, counts, reason)
        })
        .collect()
}

/// An order of `delivery_hours_avg`: a term once shipped and delivered.
fn delivery(o: &OrderRow) -> Item {
    match (o.shipped_at, o.delivered_at) {
        (Some(s), Some(dl)) => {
            let mut item = order_item(
                o,
                Counts::Term,
                format!("delivered {} h after shipping", hours(dl - s)),
            );
            item.value = Some(super::eval::secs(dl - s) / 3600.0);
            item
        }
        (None, _) => order_item(o, Counts::Excluded, "not shipped".into()),
        (Some(_), None) => order_item(o, Counts::Excluded, "shipped, not delivered yet".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::eval::measure;
    use crate::metric::Scope;

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
        let items = items(&Metric::ShipOnTimeRate(48 * 3600), &d, scope.e).unwrap();
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
        let items = items(&Metric::LateShipments(48 * 3600), &d, scope.e).unwrap();
        let late: Vec<&str> = (items.iter())
            .filter(|i| i.counts == Counts::Numerator)
            .map(|i| i.id.as_str())
            .collect();
        assert_eq!(late, ["b", "c"]);
    }

    #[test]
    fn delivery_hours_list_their_terms() {
        let (mut d, _) = shop();
        d.orders[0].delivered_at = Some(t("2026-10-04T14:00:00Z")); // b: 36 h after shipping
        let items = items(&Metric::DeliveryHoursAvg, &d, t("2026-10-10T00:00:00Z")).unwrap();
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
    fn metrics_of_other_families_are_not_listed_yet() {
        let (d, scope) = shop();
        assert_eq!(items(&Metric::Conversations, &d, scope.e), None);
    }
}
