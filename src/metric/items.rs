//! The entities behind a metric (the drill-down): for each one, whether it counts for
//! the numerator, for the denominator only, or not at all and why, with the times that
//! decided it. Pure, and built from the same decisions as `eval::measure`, so the
//! items of a metric always add up to its value and basis.
//!
//! Every metric of the catalogue is listed: those whose items are the window's orders,
//! refunds, conversations or complaints, presence (each whole day a term) and the rates
//! of one kind over another (the orders as denominator, the refunds or complaints the
//! numerator counts beside them) by [`items`]; reviews, satisfaction ratings and the
//! tallies, which the metrics load as counts, from rows of their own by [`reviews`],
//! [`ratings`] and [`tallied`].

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::catalogue::Metric;
use super::eval::{refund_deadline, Deadline, NoSla};
use super::{presence, RatingItemRow, ReviewItemRow, Scope, ShopData, TallyItemRow};
use crate::domain::{CancelInitiator, ComplaintOutcome, RefundReason, Sender};

use parts::*;

crate::domain::vocabulary! {
    /// How an entity takes part in its metric.
    Counts {
        /// Counted in the numerator: an on-time shipment of `ship_on_time_rate`, a late
        /// one of `late_shipments`, each thing a count counts. In the denominator too,
        /// except for a rate of one kind over another (a quality refund is not an order).
        Numerator = "numerator",
        /// Counted in the denominator only: due, but not what the numerator counts.
        Denominator = "denominator",
        /// One term of an average (`value` is the term).
        Term = "term",
        /// Not counted at all (`reason` says why).
        Excluded = "excluded",
    }
}

crate::domain::vocabulary! {
    /// What an item is.
    Kind {
        Order = "order",
        Refund = "refund",
        /// A conversation (its id is the conversation's).
        Conversation = "conversation",
        Complaint = "complaint",
        /// An order's counted review (its id is the order's).
        Review = "review",
        /// A conversation's counted satisfaction rating (its id is the conversation's).
        Rating = "rating",
        /// A whole local day of the window (its id is the date).
        Day = "day",
        /// A `complaint.verified` event (its id is the event's).
        Verification = "verification",
        /// An `integrity.flagged` event (its id is the event's).
        Flag = "flag",
    }
}

/// One entity of a metric's window.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub kind: Kind,
    pub id: String,
    pub counts: Counts,
    /// Why it counts as it does, for people: "shipped 50.5 h after payment, over 48 h".
    pub reason: String,
    /// An average's term (hours, seconds); `None` for counts and rates.
    pub value: Option<f64>,
    /// The times that decided it, by name (only those known at the evaluation instant).
    pub times: Vec<(&'static str, DateTime<Utc>)>,
}

impl Item {
    /// Its place in a page: by id in byte order (SPEC §1), then by kind (an order and a
    /// refund may share an id).
    pub fn key(&self) -> (&[u8], &'static str) {
        (self.id.as_bytes(), self.kind.as_str())
    }
}

/// The items of `m` in the window `d` was loaded for, evaluated at `e`, in id order;
/// `None` for a metric not listed yet.
pub fn items(m: &Metric, d: &ShopData, scope: Scope, tz: Tz) -> Option<Vec<Item>> {
    let e = scope.e;
    use Counts::{Denominator as Den, Excluded as Out, Numerator as Num};
    let out: Vec<Item> = match m {
        Metric::Orders => each(&d.orders, order_entity, |_| {
            (Num, "an order created in the window".into())
        }),
        Metric::ShipOnTimeRate(h) => shipping(d, *h, e, Num, Den),
        Metric::LateShipments(h) | Metric::LateShipmentRate(h) => shipping(d, *h, e, Den, Num),
        Metric::DeliveryHoursAvg => d.orders.iter().map(delivery).collect(),
        Metric::SellerCancelRate => each(&d.orders, order_entity, |o| match o.cancel_initiator {
            Some(CancelInitiator::Seller) => (Num, "cancelled by the seller".into()),
            Some(_) => (Den, "cancelled, not by the seller".into()),
            None => (Den, "not cancelled".into()),
        }),
        Metric::RefundHoursAvg => d.refunds.iter().map(refund_hours).collect(),
        Metric::RefundSlaRate(sla) => (d.refunds.iter())
            .map(|r| match refund_deadline(r, sla) {
                Ok(dl) => deadline_item(refund_item(r), &dl, e, &REFUND),
                Err(NoSla::Unlisted) => {
                    with(refund_item(r), Out, "its reason has no refund SLA".into())
                }
                Err(NoSla::Rejected) => {
                    with(refund_item(r), Out, "rejected, never completed".into())
                }
            })
            .collect(),
        Metric::Conversations => each(&d.chats, chat_item, |_| {
            (Num, "a conversation started in the window".into())
        }),
        Metric::HumanResponseSecondsAvg => d.chats.iter().map(human_response).collect(),
        Metric::HumanReplyRate(s) => deadlines(&d.chats, chat_item, e, &REPLY, |c| {
            Deadline::plain(c.t0, c.first_human, *s)
        }),
        Metric::BotFirstResponses => each(&d.chats, chat_item, |c| match c.first_sender {
            Some(Sender::Bot) => (Num, "a bot answered first".into()),
            Some(other) => (Den, format!("answered first by the {}", other.as_str())),
            None => (Den, "no answer yet".into()),
        }),
        Metric::OfflineMessageRate | Metric::MaxDailyOfflineMessageRate => {
            each(&d.chats, chat_item, |c| {
                let day = c.t0.with_timezone(&tz).date_naive();
                match presence::staffed_at(&d.staffed, c.t0) {
                    false => (Num, format!("started on {day} with no agent online")),
                    true => (Den, format!("started on {day} with an agent online")),
                }
            })
        }
        Metric::Complaints => each(&d.complaints, complaint_item, |_| {
            (Num, "a complaint opened in the window".into())
        }),
        Metric::ComplaintReceptionRate(h) => {
            deadlines(&d.complaints, complaint_item, e, &RECEPTION, |c| {
                Deadline::plain(c.opened_at, c.accepted_at, *h)
            })
        }
        Metric::ComplaintClosureRate(h) => d
            .complaints
            .iter()
            .map(|c| closure_item(c, *h, e))
            .collect(),
        Metric::IrregularClosures => each(&d.complaints, complaint_item, |c| match c.outcome {
            Some(ComplaintOutcome::Irregular) => (Num, "closed as irregular".into()),
            Some(o) => (Den, format!("closed as {}", o.as_str())),
            None => (Den, "not closed".into()),
        }),
        Metric::OnlineHoursAvg(slot) => days(d, *slot, scope, tz, Per::Hour),
        Metric::CoverageRate(slot) => days(d, *slot, scope, tz, Per::ShareOfSlot),
        // A rate of one kind over another: the orders are its denominator, and the
        // refunds or complaints that the numerator counts are listed beside them.
        Metric::QualityRefundRate => per_order(
            d,
            each(&d.refunds, refund_item, |r| match r.reason {
                Some(RefundReason::Quality) => (Num, "a quality refund".into()),
                Some(other) => (Out, format!("a refund for {}, not quality", other.as_str())),
                None => (Out, "a refund with no reason".into()),
            }),
        ),
        Metric::ComplaintRate => per_order(
            d,
            each(&d.complaints, complaint_item, |_| {
                (Num, "a complaint opened in the window".into())
            }),
        ),
        Metric::RulingRate => per_order(
            d,
            each(&d.complaints, complaint_item, |c| {
                match (c.resolved_at, c.ruled_against) {
                    (Some(_), Some(true)) => (Num, "ruled against the shop".into()),
                    (Some(_), _) => (Out, "resolved, not ruled against the shop".into()),
                    (None, _) => (Out, "not resolved".into()),
                }
            }),
        ),
        _ => return None,
    };
    Some(sorted(out))
}

/// The items of a review metric (`negative_review_rate`, `positive_rate`, `reviews`):
/// each order's counted review; `None` for other metrics.
pub fn reviews(m: &Metric, rows: &[ReviewItemRow]) -> Option<Vec<Item>> {
    let word = |rating: i16| match rating {
        r if r > 0 => "positive",
        0 => "neutral",
        _ => "negative",
    };
    let decide = |rating: i16| -> (Counts, String) {
        let counted = match m {
            Metric::NegativeReviewRate => rating < 0,
            Metric::PositiveRate => rating > 0,
            _ => true,
        };
        let counts = if counted {
            Counts::Numerator
        } else {
            Counts::Denominator
        };
        (counts, format!("reviewed {}", word(rating)))
    };
    if !matches!(
        m,
        Metric::NegativeReviewRate | Metric::PositiveRate | Metric::Reviews
    ) {
        return None;
    }
    let out = rows.iter().map(|(order, rating, at)| {
        let (counts, reason) = decide(*rating);
        with(
            entity(Kind::Review, order, &[("reviewed_at", Some(*at))]),
            counts,
            reason,
        )
    });
    Some(sorted(out.collect()))
}

/// The items of a tally (`verified_conduct_complaints`, `conduct_verifications`,
/// `integrity_flags`): each thing it counts.
pub fn tallied(m: &Metric, rows: &[TallyItemRow]) -> Vec<Item> {
    let kind = match m {
        Metric::VerifiedConductComplaints => Kind::Complaint,
        Metric::ConductVerifications => Kind::Verification,
        _ => Kind::Flag,
    };
    let out = rows.iter().map(|(id, at, what)| {
        with(
            entity(kind, id, &[("occurred_at", Some(*at))]),
            Counts::Numerator,
            what.clone(),
        )
    });
    sorted(out.collect())
}

/// The items of a satisfaction metric (`satisfaction_rate`, `satisfaction_ratings`):
/// each conversation's counted rating; `None` for other metrics.
pub fn ratings(m: &Metric, rows: &[RatingItemRow]) -> Option<Vec<Item>> {
    if !matches!(m, Metric::SatisfactionRate | Metric::SatisfactionRatings) {
        return None;
    }
    let out = rows.iter().map(|(conversation, s, at)| {
        let counted = *m == Metric::SatisfactionRatings || s.is_satisfied();
        let counts = if counted {
            Counts::Numerator
        } else {
            Counts::Denominator
        };
        let item = entity(Kind::Rating, conversation, &[("rated_at", Some(*at))]);
        with(item, counts, format!("rated {}", s.as_str()))
    });
    Some(sorted(out.collect()))
}

mod parts;
#[cfg(test)]
mod tests;
