//! How each entity becomes an item: its times, and the reason it counts as it does
//! (shipping, deadlines, averages' terms, presence days), in words for people.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::{Counts, Item, Kind};
use crate::domain::ComplaintOutcome;
use crate::metric::catalogue::Slot;
use crate::metric::eval::{closure_deadline, secs, ship_counts, Deadline, Shipping, Standing};
use crate::metric::{presence, ChatRow, ComplaintRow, OrderRow, RefundRow, Scope, ShopData};
use crate::text::number;

/// An order with its known times.
pub(super) fn order_item(o: &OrderRow, counts: Counts, reason: String) -> Item {
    with(order_entity(o), counts, reason)
}

/// Hours, as people read them: 48, 50.5, 0.25.
pub(super) fn hours(d: Duration) -> String {
    number(d.num_seconds() as f64 / 3600.0)
}

/// The orders of the shipping metrics: due and on time go to `on_time`, due and late
/// to `late`, the rest are excluded.
pub(super) fn shipping(
    d: &ShopData,
    h: i64,
    e: DateTime<Utc>,
    on_time: Counts,
    late: Counts,
) -> Vec<Item> {
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

/// In id order (byte order, as every id compares, SPEC §1), for a stable keyset page.
pub(super) fn sorted(mut items: Vec<Item>) -> Vec<Item> {
    items.sort_by(|a, b| a.key().cmp(&b.key()));
    items
}

/// The items of a rate of one kind over another (`quality_refund_rate`: quality
/// refunds per order): the window's orders, its denominator, and `counted`, the
/// refunds or complaints its numerator may count.
pub(super) fn per_order(d: &ShopData, counted: Vec<Item>) -> Vec<Item> {
    let orders = (d.orders.iter()).map(|o| {
        order_item(
            o,
            Counts::Denominator,
            "an order created in the window".into(),
        )
    });
    orders.chain(counted).collect()
}

/// `item` counting as `counts`, for `reason`.
pub(super) fn with(item: Item, counts: Counts, reason: String) -> Item {
    Item {
        counts,
        reason,
        ..item
    }
}

/// An entity with its id and times, its counting still to be decided.
pub(super) fn entity(
    kind: Kind,
    id: &str,
    times: &[(&'static str, Option<DateTime<Utc>>)],
) -> Item {
    Item {
        kind,
        id: id.to_string(),
        counts: Counts::Excluded,
        reason: String::new(),
        value: None,
        times: times
            .iter()
            .filter_map(|(k, t)| Some((*k, (*t)?)))
            .collect(),
    }
}

pub(super) fn refund_item(r: &RefundRow) -> Item {
    entity(
        Kind::Refund,
        &r.refund_id,
        &[
            ("requested_at", Some(r.requested_at)),
            ("completed_at", r.completed_at),
            ("rejected_at", r.rejected_at),
        ],
    )
}

pub(super) fn chat_item(c: &ChatRow) -> Item {
    entity(
        Kind::Conversation,
        &c.conversation_id,
        &[
            ("started_at", Some(c.t0)),
            ("first_human_reply_at", c.first_human),
        ],
    )
}

pub(super) fn complaint_item(c: &ComplaintRow) -> Item {
    entity(
        Kind::Complaint,
        &c.complaint_id,
        &[
            ("opened_at", Some(c.opened_at)),
            ("accepted_at", c.accepted_at),
            ("first_followup_at", c.first_followup_at),
            ("resolved_at", c.resolved_at),
        ],
    )
}

/// Seconds or hours, as the limit was written: 180 s, 4 h.
pub(super) fn span(d: Duration) -> String {
    if d.num_seconds() < 3600 {
        format!("{} s", d.num_seconds())
    } else {
        format!("{} h", hours(d))
    }
}

/// What a deadline is for, in words: what doing it is ("accepted"), what not having
/// done it is ("not accepted"), and what starts it ("opening").
pub(super) struct Words {
    done: &'static str,
    not_done: &'static str,
    from: &'static str,
}

pub(super) const REFUND: Words = Words {
    done: "completed",
    not_done: "not completed",
    from: "the request",
};
pub(super) const REPLY: Words = Words {
    done: "a human replied",
    not_done: "no human reply",
    from: "the first buyer message",
};
pub(super) const RECEPTION: Words = Words {
    done: "accepted",
    not_done: "not accepted",
    from: "opening",
};
pub(super) const CLOSURE: Words = Words {
    done: "resolved",
    not_done: "not resolved",
    from: "opening",
};

/// Each of `rows` as its item, counting as `decide` says.
pub(super) fn each<T>(
    rows: &[T],
    item: fn(&T) -> Item,
    decide: impl Fn(&T) -> (Counts, String),
) -> Vec<Item> {
    (rows.iter())
        .map(|r| {
            let (counts, reason) = decide(r);
            with(item(r), counts, reason)
        })
        .collect()
}

/// Each of `rows` as its item, counting by its deadline (`deadline_item`).
pub(super) fn deadlines<T>(
    rows: &[T],
    item: fn(&T) -> Item,
    e: DateTime<Utc>,
    words: &Words,
    deadline: impl Fn(&T) -> Deadline,
) -> Vec<Item> {
    (rows.iter())
        .map(|r| deadline_item(item(r), &deadline(r), e, words))
        .collect()
}

/// An order with its known times (its counting still to be decided).
pub(super) fn order_entity(o: &OrderRow) -> Item {
    entity(
        Kind::Order,
        &o.order_id,
        &[
            ("created_at", Some(o.created_at)),
            ("paid_at", o.paid_at),
            ("shipped_at", o.shipped_at),
            ("delivered_at", o.delivered_at),
            ("cancelled_at", o.cancelled_at),
        ],
    )
}

/// An entity with a deadline: on time to the numerator, late to the denominator, not
/// yet due excluded.
pub(super) fn deadline_item(item: Item, dl: &Deadline, e: DateTime<Utc>, w: &Words) -> Item {
    let Words {
        done,
        not_done,
        from,
    } = w;
    let limit = span(Duration::seconds(dl.limit_s));
    match (dl.standing(e), dl.done) {
        (Standing::NotDue, _) => with(
            item,
            Counts::Excluded,
            format!("not due yet: {limit} after {from} is after the evaluation instant"),
        ),
        (Standing::OnTime, Some(t)) => with(
            item,
            Counts::Numerator,
            format!("{done} {} after {from}, within {limit}", span(t - dl.from)),
        ),
        (Standing::Late, Some(t)) => with(
            item,
            Counts::Denominator,
            format!("{done} {} after {from}, over {limit}", span(t - dl.from)),
        ),
        (_, None) => with(
            item,
            Counts::Denominator,
            format!("{not_done} within {limit} of {from}"),
        ),
    }
}

/// A complaint of `complaint_closure_rate(h)`: like any deadline, except that a closure
/// counts only as a proper resolution with a follow-up by then.
pub(super) fn closure_item(c: &ComplaintRow, h: i64, e: DateTime<Utc>) -> Item {
    let dl = closure_deadline(c, h);
    let item = deadline_item(complaint_item(c), &dl, e, &CLOSURE);
    let in_time = dl.done_in_time();
    if dl.standing(e) != Standing::Late || !in_time {
        return item;
    }
    // Closed in time, but not as a proper resolution with a follow-up.
    let reason = match c.outcome {
        Some(ComplaintOutcome::Resolved) => {
            "resolved in time, but without a follow-up before it".to_string()
        }
        Some(o) => format!("closed in time as {}, not resolved", o.as_str()),
        None => "closed in time, not resolved".to_string(),
    };
    with(item, Counts::Denominator, reason)
}

/// An entity of an average: a term once `end` is known (`value` from `start` to `end`,
/// in hours or in seconds), excluded as `missing` otherwise.
pub(super) fn term(
    item: Item,
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    unit: Per,
    words: [&str; 3],
) -> Item {
    let [done, from, missing] = words;
    let Some(end) = end else {
        return with(item, Counts::Excluded, missing.into());
    };
    let seconds = secs(end - start);
    Item {
        value: Some(match unit {
            Per::Hour | Per::ShareOfSlot => seconds / 3600.0,
            Per::Second => seconds,
        }),
        ..with(
            item,
            Counts::Term,
            format!("{done} {} after {from}", span(end - start)),
        )
    }
}

/// The unit of an average's terms.
pub(super) enum Per {
    Hour,
    Second,
    /// Hours of a day's slot over the slot's length (`coverage_rate`).
    ShareOfSlot,
}

/// The whole local days of the window, each a term of `online_hours_avg(slot)` (its
/// staffed hours of the slot) or of `coverage_rate(slot)` (that over the slot's hours).
/// The id is the day; days the window holds only in part are not terms, and not listed.
pub(super) fn days(d: &ShopData, slot: Slot, scope: Scope, tz: Tz, unit: Per) -> Vec<Item> {
    (presence::whole_days(tz, scope.lo, scope.hi, scope.e).into_iter())
        .map(|day| {
            let hours = presence::slot_hours(tz, &d.staffed, slot, day);
            let (from, to) = presence::slot_of(tz, slot, day);
            let value = match unit {
                Per::ShareOfSlot => hours / slot.hours(),
                Per::Hour | Per::Second => hours,
            };
            let reason = format!(
                "staffed {} h of the slot's {} h",
                number(hours),
                number(slot.hours())
            );
            Item {
                value: Some(value),
                ..with(
                    entity(
                        Kind::Day,
                        &day.to_string(),
                        &[("slot_start", Some(from)), ("slot_end", Some(to))],
                    ),
                    Counts::Term,
                    reason,
                )
            }
        })
        .collect()
}

/// A refund of `refund_hours_avg`: a term once completed.
pub(super) fn refund_hours(r: &RefundRow) -> Item {
    let words = ["completed", "the request", "not completed"];
    term(
        refund_item(r),
        r.requested_at,
        r.completed_at,
        Per::Hour,
        words,
    )
}

/// A conversation of `human_response_seconds_avg`: a term once a human replied.
pub(super) fn human_response(c: &ChatRow) -> Item {
    let words = [
        "a human replied",
        "the first buyer message",
        "no human reply",
    ];
    term(chat_item(c), c.t0, c.first_human, Per::Second, words)
}

/// An order of `delivery_hours_avg`: a term once shipped and delivered.
pub(super) fn delivery(o: &OrderRow) -> Item {
    match o.shipped_at {
        Some(s) => {
            let words = ["delivered", "shipping", "shipped, not delivered yet"];
            term(order_entity(o), s, o.delivered_at, Per::Hour, words)
        }
        None => with(order_entity(o), Counts::Excluded, "not shipped".into()),
    }
}
