//! Turns one shop's entity rows into metric values (SPEC §3). Pure: no IO, no clock.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::catalogue::{Metric, NamedMetric, RefundSla};
use super::presence;
use super::{ComplaintRow, OrderRow, RefundRow, Scope, ShopData};
use crate::domain::{CancelInitiator, ComplaintOutcome, RefundReason, Sender};

/// A metric's value with its basis `n`: how many things it was computed over — a rate's
/// denominator, a mean's terms, the population a count looks at (the due orders of
/// `late_shipments`, the conversations of `bot_first_responses`, the complaints of
/// `irregular_closures`; the things themselves for `orders`, `reviews`, …), the whole
/// days of `online_hours_avg` and `coverage_rate`, the conversations of
/// `max_daily_offline_message_rate`. A null value has the basis that made it null
/// (0 for a zero denominator).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Measured {
    pub value: Option<f64>,
    pub n: u64,
}

impl Measured {
    fn ratio(num: usize, den: usize) -> Measured {
        Measured {
            value: (den > 0).then(|| num as f64 / den as f64),
            n: den as u64,
        }
    }

    /// `count` things out of a population of `of`.
    fn count(count: usize, of: usize) -> Measured {
        Measured {
            value: Some(count as f64),
            n: of as u64,
        }
    }

    /// A count the projection keeps as a number: the things counted are its population.
    fn tally(count: i64) -> Measured {
        let count = count.max(0) as usize;
        Measured::count(count, count)
    }

    fn mean(values: impl Iterator<Item = f64>) -> Measured {
        let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
        Measured {
            value: (n > 0).then(|| sum / n as f64),
            n: n as u64,
        }
    }
}

/// Each named metric of one shop in `scope`, by its policy name.
pub fn measure_all<'m>(
    named: impl IntoIterator<Item = &'m NamedMetric>,
    d: &ShopData,
    scope: Scope,
    tz: Tz,
) -> HashMap<String, Measured> {
    named
        .into_iter()
        .map(|n| (n.name.clone(), measure(&n.metric, d, scope, tz)))
        .collect()
}

pub(super) fn secs(d: Duration) -> f64 {
    d.num_microseconds()
        .map_or(d.num_seconds() as f64, |us| us as f64 / 1e6)
}

fn within(from: DateTime<Utc>, to: DateTime<Utc>, limit_s: i64) -> bool {
    to - from <= Duration::seconds(limit_s)
}

/// Where an order stands for `ship_on_time_rate(h)` at `E` (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shipping {
    /// Cancelled before it shipped: never due.
    CancelledFirst,
    /// Not shipped, and `paid_at + h` is after `E`.
    NotDue,
    /// Shipped within `h` of payment.
    OnTime,
    /// Due, and not shipped within `h` (shipped later, or not at all).
    Late,
}

impl Shipping {
    fn due(self) -> bool {
        matches!(self, Shipping::OnTime | Shipping::Late)
    }
}

/// SPEC §3 `ship_on_time_rate(h)`: each order's standing. An order cancelled before it
/// shipped is never due; otherwise it is due once shipped or once `paid_at + h ≤ E`.
pub(super) fn ship_counts(
    orders: &[OrderRow],
    h: i64,
    e: DateTime<Utc>,
) -> impl Iterator<Item = (&OrderRow, Shipping)> {
    orders.iter().map(move |o| {
        let paid = o.paid_at.unwrap_or(o.created_at);
        let cancelled_first = match (o.cancelled_at, o.shipped_at) {
            (Some(c), Some(s)) => c < s,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let standing = if cancelled_first {
            Shipping::CancelledFirst
        } else if o.shipped_at.is_some_and(|s| within(paid, s, h)) {
            Shipping::OnTime
        } else if o.shipped_at.is_some() || paid + Duration::seconds(h) <= e {
            Shipping::Late
        } else {
            Shipping::NotDue
        };
        (o, standing)
    })
}

/// The due orders not shipped within `h` (the penalty list of `late_shipments(h)`).
pub fn late_orders(d: &ShopData, h: i64, e: DateTime<Utc>) -> Vec<&OrderRow> {
    ship_counts(&d.orders, h, e)
        .filter(|(_, s)| *s == Shipping::Late)
        .map(|(o, _)| o)
        .collect()
}

/// Something that falls due `limit_s` after `from` unless done earlier (a refund, a
/// reply, a complaint's acceptance or closure).
pub(super) struct Deadline {
    pub from: DateTime<Utc>,
    pub done: Option<DateTime<Utc>>,
    pub limit_s: i64,
    /// Whether what was done counts (a closure must be a proper resolution).
    pub done_well: bool,
}

impl Deadline {
    pub(super) fn plain(
        from: DateTime<Utc>,
        done: Option<DateTime<Utc>>,
        limit_s: i64,
    ) -> Deadline {
        Deadline {
            from,
            done,
            limit_s,
            done_well: true,
        }
    }
}

/// Where a deadline stands at `E`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Standing {
    /// Not done, and its limit has not passed.
    NotDue,
    /// Done (well) within its limit.
    OnTime,
    /// Due, and not done well within its limit.
    Late,
}

impl Deadline {
    /// Whether it was done within its limit (well or not).
    pub(super) fn done_in_time(&self) -> bool {
        self.done
            .is_some_and(|t| within(self.from, t, self.limit_s))
    }

    /// SPEC §3's "due / on time": due once done or once its limit has passed at E; on
    /// time when done within the limit (and done well).
    pub(super) fn standing(&self, e: DateTime<Utc>) -> Standing {
        if self.done.is_none() && self.from + Duration::seconds(self.limit_s) > e {
            Standing::NotDue
        } else if self.done_well && self.done_in_time() {
            Standing::OnTime
        } else {
            Standing::Late
        }
    }
}

/// SPEC §3's "due / on time" rates: the items on time over the items due.
fn deadline_rate(deadlines: impl Iterator<Item = Deadline>, e: DateTime<Utc>) -> Measured {
    let (mut due, mut ok) = (0, 0);
    for d in deadlines {
        match d.standing(e) {
            Standing::NotDue => {}
            Standing::OnTime => (due, ok) = (due + 1, ok + 1),
            Standing::Late => due += 1,
        }
    }
    Measured::ratio(ok, due)
}

/// Why a refund has no deadline under `refund_sla_rate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NoSla {
    /// Its reason has no SLA (or it has no reason).
    Unlisted,
    /// Rejected and never completed.
    Rejected,
}

/// A refund's deadline under `sla`, or why it has none (it is then excluded).
pub(super) fn refund_deadline(r: &RefundRow, sla: &RefundSla) -> Result<Deadline, NoSla> {
    let limit = (r.reason.and_then(|reason| sla.seconds_for(reason))).ok_or(NoSla::Unlisted)?;
    if r.completed_at.is_none() && r.rejected_at.is_some() {
        return Err(NoSla::Rejected);
    }
    Ok(Deadline::plain(r.requested_at, r.completed_at, limit))
}

/// A complaint's closure deadline: on time only when resolved (not irregular), with a
/// follow-up by then.
pub(super) fn closure_deadline(c: &ComplaintRow, h: i64) -> Deadline {
    Deadline {
        from: c.opened_at,
        done: c.resolved_at,
        limit_s: h,
        done_well: c.outcome == Some(ComplaintOutcome::Resolved)
            && c.first_followup_at
                .is_some_and(|f| c.resolved_at.is_some_and(|r| f <= r)),
    }
}

/// Due and on-time orders of `ship_on_time_rate(h)`.
fn due_on_time(d: &ShopData, h: i64, e: DateTime<Utc>) -> (usize, usize) {
    ship_counts(&d.orders, h, e).fold((0, 0), |(due, ok), (_, s)| {
        (
            due + s.due() as usize,
            ok + (s == Shipping::OnTime) as usize,
        )
    })
}

/// Of `items`, how many `pass`.
fn share<T>(items: &[T], pass: impl Fn(&T) -> bool) -> usize {
    items.iter().filter(|x| pass(x)).count()
}

/// The value of `m` for one shop in `scope`; `None` where SPEC says null (a zero
/// denominator, no whole day, …).
pub fn evaluate(m: &Metric, d: &ShopData, scope: Scope, tz: Tz) -> Option<f64> {
    measure(m, d, scope, tz).value
}

/// The value of `m` for one shop in `scope`, with its basis: a value a what-if sets
/// (`ShopData::values`) replaces the rows' value, on the rows' basis.
pub fn measure(m: &Metric, d: &ShopData, scope: Scope, tz: Tz) -> Measured {
    let measured = from_rows(m, d, scope, tz);
    match d.values.as_deref().and_then(|set| set.get(m)) {
        Some(&v) => Measured {
            value: Some(v),
            ..measured
        },
        None => measured,
    }
}

/// The value of `m` as the shop's rows give it.
fn from_rows(m: &Metric, d: &ShopData, scope: Scope, tz: Tz) -> Measured {
    let e = scope.e;
    let orders = d.orders.len();
    match m {
        Metric::Orders => Measured::count(orders, orders),
        Metric::ShipOnTimeRate(h) => {
            let (due, ok) = due_on_time(d, *h, e);
            Measured::ratio(ok, due)
        }
        Metric::LateShipments(h) => {
            let (due, ok) = due_on_time(d, *h, e);
            Measured::count(due - ok, due)
        }
        Metric::LateShipmentRate(h) => {
            let (due, ok) = due_on_time(d, *h, e);
            Measured::ratio(due - ok, due)
        }
        Metric::DeliveryHoursAvg => {
            Measured::mean(
                d.orders
                    .iter()
                    .filter_map(|o| match (o.shipped_at, o.delivered_at) {
                        (Some(s), Some(dl)) => Some(secs(dl - s) / 3600.0),
                        _ => None,
                    }),
            )
        }
        Metric::SellerCancelRate => Measured::ratio(
            share(&d.orders, |o| {
                o.cancel_initiator == Some(CancelInitiator::Seller)
            }),
            orders,
        ),
        Metric::NegativeReviewRate => {
            Measured::ratio(share(&d.reviews, |r| *r < 0), d.reviews.len())
        }
        Metric::PositiveRate => Measured::ratio(share(&d.reviews, |r| *r > 0), d.reviews.len()),
        Metric::Reviews => Measured::count(d.reviews.len(), d.reviews.len()),
        Metric::QualityRefundRate => Measured::ratio(
            share(&d.refunds, |r| r.reason == Some(RefundReason::Quality)),
            orders,
        ),
        Metric::RefundHoursAvg => Measured::mean(
            d.refunds
                .iter()
                .filter_map(|r| r.completed_at.map(|c| secs(c - r.requested_at) / 3600.0)),
        ),
        Metric::RefundSlaRate(sla) => {
            let deadlines = d
                .refunds
                .iter()
                .filter_map(|r| refund_deadline(r, sla).ok());
            deadline_rate(deadlines, e)
        }
        Metric::Conversations => Measured::count(d.chats.len(), d.chats.len()),
        Metric::HumanResponseSecondsAvg => Measured::mean(
            d.chats
                .iter()
                .filter_map(|c| c.first_human.map(|h| secs(h - c.t0))),
        ),
        Metric::HumanReplyRate(s) => deadline_rate(
            d.chats
                .iter()
                .map(|c| Deadline::plain(c.t0, c.first_human, *s)),
            e,
        ),
        Metric::BotFirstResponses => Measured::count(
            share(&d.chats, |c| c.first_sender == Some(Sender::Bot)),
            d.chats.len(),
        ),
        Metric::OfflineMessageRate => Measured::ratio(
            share(&d.chats, |c| !presence::staffed_at(&d.staffed, c.t0)),
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
            Measured {
                value: per_day
                    .values()
                    .filter_map(|(off, n)| Measured::ratio(*off, *n).value)
                    .reduce(f64::max),
                n: d.chats.len() as u64,
            }
        }
        Metric::SatisfactionRatings => Measured::count(d.ratings.len(), d.ratings.len()),
        Metric::SatisfactionRate => {
            Measured::ratio(share(&d.ratings, |s| s.is_satisfied()), d.ratings.len())
        }
        Metric::OnlineHoursAvg(slot) => {
            let (value, days) =
                presence::online_hours_avg(tz, &d.staffed, *slot, scope.lo, scope.hi, e);
            Measured {
                value,
                n: days as u64,
            }
        }
        Metric::CoverageRate(slot) => {
            let (value, days) =
                presence::online_hours_avg(tz, &d.staffed, *slot, scope.lo, scope.hi, e);
            Measured {
                value: value.map(|h| h / slot.hours()),
                n: days as u64,
            }
        }
        Metric::Complaints => Measured::count(d.complaints.len(), d.complaints.len()),
        Metric::ComplaintRate => Measured::ratio(d.complaints.len(), orders),
        Metric::RulingRate => Measured::ratio(
            share(&d.complaints, |c| {
                c.resolved_at.is_some() && c.ruled_against == Some(true)
            }),
            orders,
        ),
        Metric::ComplaintReceptionRate(h) => deadline_rate(
            d.complaints
                .iter()
                .map(|c| Deadline::plain(c.opened_at, c.accepted_at, *h)),
            e,
        ),
        Metric::ComplaintClosureRate(h) => {
            deadline_rate(d.complaints.iter().map(|c| closure_deadline(c, *h)), e)
        }
        Metric::IrregularClosures => Measured::count(
            share(&d.complaints, |c| {
                c.outcome == Some(ComplaintOutcome::Irregular)
            }),
            d.complaints.len(),
        ),
        Metric::VerifiedConductComplaints => Measured::tally(d.verified),
        Metric::ConductVerifications => Measured::tally(d.verifications),
        Metric::IntegrityFlags => Measured::tally(d.integrity),
    }
}

#[cfg(test)]
mod tests;
