//! SPEC §3: the named metrics, parsed from the strings the policy writes
//! (`ship_on_time_rate(48)`, `online_hours_avg(09:00,24:00)`).

use std::fmt;

use crate::domain::RefundReason;

/// Refund SLA hours per reason; reasons not listed use `other`, or are excluded when
/// `other` is `None`. Seconds, so that the type is `Eq + Hash`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RefundSla {
    pub per_reason: Vec<(RefundReason, i64)>,
    pub other: Option<i64>,
}

impl RefundSla {
    pub fn seconds_for(&self, reason: RefundReason) -> Option<i64> {
        self.per_reason
            .iter()
            .find(|(r, _)| *r == reason)
            .map(|(_, s)| *s)
            .or(self.other)
    }
}

/// A daily slot on the local clock, in minutes from midnight: `[start, end)`, end ≤ 1440.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot {
    pub start_min: u32,
    pub end_min: u32,
}

impl Slot {
    pub fn hours(self) -> f64 {
        f64::from(self.end_min - self.start_min) / 60.0
    }
}

/// Which projection a metric reads; the recompute loads each family once per scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Orders,
    Reviews,
    Refunds,
    Chat,
    Ratings,
    Presence,
    Complaints,
    Verified,
    Verifications,
    Integrity,
}

/// How a family's query is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Planned anew for each batch's shops and window (an unnamed statement).
    Custom,
    /// Prepared once per connection; Postgres moves it to a generic plan after five runs.
    Cached,
}

impl Family {
    /// Planning a family query for its parameters means estimating `shop_id = ANY($1)`
    /// for each of a batch's shops, and a large run plans many such queries. The
    /// families whose query is one range scan of a `(shop_id, time)` index get the same
    /// plan whatever the shops and window (checked with `EXPLAIN` under `plan_cache_mode
    /// = force_generic_plan`), so they are planned once. The others are not: a generic
    /// plan, which expects a couple of rows where there are thousands, sorts the latest
    /// review or rating of each order or conversation instead of reading them in index
    /// order (the measurements are in BENCHMARKS.md).
    pub fn plan(self) -> Plan {
        match self {
            Family::Orders
            | Family::Refunds
            | Family::Chat
            | Family::Complaints
            | Family::Verified
            | Family::Verifications
            | Family::Integrity => Plan::Cached,
            Family::Reviews | Family::Ratings | Family::Presence => Plan::Custom,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    Orders,
    /// Parameter: hours, as seconds.
    ShipOnTimeRate(i64),
    LateShipments(i64),
    LateShipmentRate(i64),
    DeliveryHoursAvg,
    SellerCancelRate,
    NegativeReviewRate,
    PositiveRate,
    Reviews,
    QualityRefundRate,
    RefundHoursAvg,
    RefundSlaRate(RefundSla),
    Conversations,
    HumanResponseSecondsAvg,
    /// Parameter: seconds.
    HumanReplyRate(i64),
    BotFirstResponses,
    OfflineMessageRate,
    MaxDailyOfflineMessageRate,
    SatisfactionRatings,
    SatisfactionRate,
    OnlineHoursAvg(Slot),
    CoverageRate(Slot),
    Complaints,
    ComplaintRate,
    RulingRate,
    /// Parameter: hours, as seconds.
    ComplaintReceptionRate(i64),
    ComplaintClosureRate(i64),
    IrregularClosures,
    VerifiedConductComplaints,
    /// Every `complaint.verified` event in the window (not only a complaint's first).
    ConductVerifications,
    IntegrityFlags,
}

/// A metric as a policy names it: its text (`ship_on_time_rate(48)`, the key in
/// scorecards) and what it measures.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedMetric {
    pub name: String,
    pub metric: Metric,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(String);

/// The longest deadline a metric takes: 366 days. A deadline is added to instants, and
/// a metric's text also comes from clients (the drill-down), so it is bounded.
const MAX_HOURS: f64 = 366.0 * 24.0;

fn hours_param(p: &str) -> Result<i64, ParseError> {
    let h: f64 = p
        .parse()
        .map_err(|_| ParseError(format!("{p:?} is not a number of hours")))?;
    if !(h.is_finite() && (0.0..=MAX_HOURS).contains(&h)) {
        return Err(ParseError(format!(
            "{p:?} is not a number of hours from 0 to {MAX_HOURS} (366 days)"
        )));
    }
    Ok((h * 3600.0).round() as i64)
}

fn seconds_param(p: &str) -> Result<i64, ParseError> {
    p.parse::<u32>()
        .map(i64::from)
        .map_err(|_| ParseError(format!("{p:?} is not a whole number of seconds")))
}

fn clock(p: &str) -> Result<u32, ParseError> {
    let bad = || ParseError(format!("{p:?} is not a clock time HH:MM"));
    let (h, m) = p.split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn slot(params: &[&str]) -> Result<Slot, ParseError> {
    let [a, b] = params else {
        return Err(ParseError("needs two clock times (start,end)".into()));
    };
    let (start_min, end_min) = (clock(a)?, clock(b)?);
    if start_min >= end_min {
        return Err(ParseError(format!("slot {a}-{b} is empty")));
    }
    Ok(Slot { start_min, end_min })
}

impl Metric {
    /// Parses `name` or `name(p1,p2)`. `sla` is the refund SLA that `refund_sla_rate` uses.
    pub fn parse(text: &str, sla: &RefundSla) -> Result<Metric, ParseError> {
        let (name, params): (&str, Vec<&str>) = match text.split_once('(') {
            Some((name, rest)) => {
                let inner = rest
                    .strip_suffix(')')
                    .ok_or_else(|| ParseError(format!("{text:?}: missing ')'")))?;
                (name, inner.split(',').collect())
            }
            None => (text, Vec::new()),
        };
        let one = |f: fn(&str) -> Result<i64, ParseError>| -> Result<i64, ParseError> {
            match params.as_slice() {
                [p] => f(p),
                _ => Err(ParseError(format!("{name} takes exactly one parameter"))),
            }
        };
        let none = |m: Metric| -> Result<Metric, ParseError> {
            if params.is_empty() {
                Ok(m)
            } else {
                Err(ParseError(format!("{name} takes no parameters")))
            }
        };
        let m = match name {
            "orders" => none(Metric::Orders)?,
            "ship_on_time_rate" => Metric::ShipOnTimeRate(one(hours_param)?),
            "late_shipments" => Metric::LateShipments(one(hours_param)?),
            "late_shipment_rate" => Metric::LateShipmentRate(one(hours_param)?),
            "delivery_hours_avg" => none(Metric::DeliveryHoursAvg)?,
            "seller_cancel_rate" => none(Metric::SellerCancelRate)?,
            "negative_review_rate" => none(Metric::NegativeReviewRate)?,
            "positive_rate" => none(Metric::PositiveRate)?,
            "reviews" => none(Metric::Reviews)?,
            "quality_refund_rate" => none(Metric::QualityRefundRate)?,
            "refund_hours_avg" => none(Metric::RefundHoursAvg)?,
            "refund_sla_rate" => none(Metric::RefundSlaRate(sla.clone()))?,
            "conversations" => none(Metric::Conversations)?,
            "human_response_seconds_avg" => none(Metric::HumanResponseSecondsAvg)?,
            "human_reply_rate" => Metric::HumanReplyRate(one(seconds_param)?),
            "bot_first_responses" => none(Metric::BotFirstResponses)?,
            "offline_message_rate" => none(Metric::OfflineMessageRate)?,
            "max_daily_offline_message_rate" => none(Metric::MaxDailyOfflineMessageRate)?,
            "satisfaction_ratings" => none(Metric::SatisfactionRatings)?,
            "satisfaction_rate" => none(Metric::SatisfactionRate)?,
            "online_hours_avg" => Metric::OnlineHoursAvg(slot(&params)?),
            "coverage_rate" => Metric::CoverageRate(slot(&params)?),
            "complaints" => none(Metric::Complaints)?,
            "complaint_rate" => none(Metric::ComplaintRate)?,
            "ruling_rate" => none(Metric::RulingRate)?,
            "complaint_reception_rate" => Metric::ComplaintReceptionRate(one(hours_param)?),
            "complaint_closure_rate" => Metric::ComplaintClosureRate(one(hours_param)?),
            "irregular_closures" => none(Metric::IrregularClosures)?,
            "verified_conduct_complaints" => none(Metric::VerifiedConductComplaints)?,
            "conduct_verifications" => none(Metric::ConductVerifications)?,
            "integrity_flags" => none(Metric::IntegrityFlags)?,
            other => return Err(ParseError(format!("unknown metric {other:?}"))),
        };
        Ok(m)
    }

    /// The projections this metric reads.
    pub fn families(&self) -> &'static [Family] {
        use Family as F;
        match self {
            Metric::Orders
            | Metric::ShipOnTimeRate(_)
            | Metric::LateShipments(_)
            | Metric::LateShipmentRate(_)
            | Metric::DeliveryHoursAvg
            | Metric::SellerCancelRate => &[F::Orders],
            Metric::NegativeReviewRate | Metric::PositiveRate | Metric::Reviews => &[F::Reviews],
            Metric::QualityRefundRate => &[F::Refunds, F::Orders],
            Metric::RefundHoursAvg | Metric::RefundSlaRate(_) => &[F::Refunds],
            Metric::Conversations
            | Metric::HumanResponseSecondsAvg
            | Metric::HumanReplyRate(_)
            | Metric::BotFirstResponses => &[F::Chat],
            Metric::OfflineMessageRate | Metric::MaxDailyOfflineMessageRate => {
                &[F::Chat, F::Presence]
            }
            Metric::SatisfactionRatings | Metric::SatisfactionRate => &[F::Ratings],
            Metric::OnlineHoursAvg(_) | Metric::CoverageRate(_) => &[F::Presence],
            Metric::Complaints
            | Metric::ComplaintReceptionRate(_)
            | Metric::ComplaintClosureRate(_)
            | Metric::IrregularClosures => &[F::Complaints],
            Metric::ComplaintRate | Metric::RulingRate => &[F::Complaints, F::Orders],
            Metric::VerifiedConductComplaints => &[F::Verified],
            Metric::ConductVerifications => &[F::Verifications],
            Metric::IntegrityFlags => &[F::Integrity],
        }
    }

    /// What the metric's value counts or measures, for writing it out to people.
    pub fn unit(&self) -> Unit {
        match self {
            Metric::Orders
            | Metric::LateShipments(_)
            | Metric::Reviews
            | Metric::Conversations
            | Metric::BotFirstResponses
            | Metric::SatisfactionRatings
            | Metric::Complaints
            | Metric::IrregularClosures
            | Metric::VerifiedConductComplaints
            | Metric::ConductVerifications
            | Metric::IntegrityFlags => Unit::Count,
            Metric::DeliveryHoursAvg | Metric::RefundHoursAvg | Metric::OnlineHoursAvg(_) => {
                Unit::Hours
            }
            Metric::HumanResponseSecondsAvg => Unit::Seconds,
            Metric::ShipOnTimeRate(_)
            | Metric::LateShipmentRate(_)
            | Metric::SellerCancelRate
            | Metric::NegativeReviewRate
            | Metric::PositiveRate
            | Metric::QualityRefundRate
            | Metric::RefundSlaRate(_)
            | Metric::HumanReplyRate(_)
            | Metric::OfflineMessageRate
            | Metric::MaxDailyOfflineMessageRate
            | Metric::SatisfactionRate
            | Metric::CoverageRate(_)
            | Metric::ComplaintRate
            | Metric::RulingRate
            | Metric::ComplaintReceptionRate(_)
            | Metric::ComplaintClosureRate(_) => Unit::Ratio,
        }
    }
}

/// What a metric's value is: a share in [0, 1] (shown as a percentage), a duration, or
/// a number of things.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Ratio,
    Seconds,
    Hours,
    Count,
}

/// Every metric name the catalogue knows, as a policy writes it before any parameters.
pub const NAMES: &[&str] = &[
    "orders",
    "ship_on_time_rate",
    "late_shipments",
    "late_shipment_rate",
    "delivery_hours_avg",
    "seller_cancel_rate",
    "negative_review_rate",
    "positive_rate",
    "reviews",
    "quality_refund_rate",
    "refund_hours_avg",
    "refund_sla_rate",
    "conversations",
    "human_response_seconds_avg",
    "human_reply_rate",
    "bot_first_responses",
    "offline_message_rate",
    "max_daily_offline_message_rate",
    "satisfaction_ratings",
    "satisfaction_rate",
    "online_hours_avg",
    "coverage_rate",
    "complaints",
    "complaint_rate",
    "ruling_rate",
    "complaint_reception_rate",
    "complaint_closure_rate",
    "irregular_closures",
    "verified_conduct_complaints",
    "conduct_verifications",
    "integrity_flags",
];

/// `ship_on_time_rate(48)` → (`ship_on_time_rate`, [`48`]).
pub fn split_name(text: &str) -> (&str, Vec<&str>) {
    match text.split_once('(') {
        Some((name, rest)) => (name, rest.trim_end_matches(')').split(',').collect()),
        None => (text, Vec::new()),
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02},{:02}:{:02}",
            self.start_min / 60,
            self.start_min % 60,
            self.end_min / 60,
            self.end_min % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sla() -> RefundSla {
        RefundSla {
            per_reason: vec![],
            other: Some(48 * 3600),
        }
    }

    #[test]
    fn parses_parameters() {
        assert_eq!(
            Metric::parse("ship_on_time_rate(48)", &sla()),
            Ok(Metric::ShipOnTimeRate(48 * 3600))
        );
        assert_eq!(
            Metric::parse("human_reply_rate(180)", &sla()),
            Ok(Metric::HumanReplyRate(180))
        );
        assert_eq!(
            Metric::parse("online_hours_avg(09:00,24:00)", &sla()),
            Ok(Metric::OnlineHoursAvg(Slot {
                start_min: 540,
                end_min: 1440
            }))
        );
        assert_eq!(
            Slot {
                start_min: 540,
                end_min: 1440
            }
            .hours(),
            15.0
        );
    }

    /// NAMES lists what `parse` knows: each parses bare or with a parameter of its kind.
    #[test]
    fn every_listed_name_parses() {
        for name in NAMES {
            let parsed = [
                name.to_string(),
                format!("{name}(48)"),
                format!("{name}(09:00,18:00)"),
            ]
            .iter()
            .any(|text| Metric::parse(text, &sla()).is_ok());
            assert!(parsed, "{name}");
        }
        assert_eq!(
            split_name("coverage_rate(09:00,18:00)"),
            ("coverage_rate", vec!["09:00", "18:00"])
        );
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "nope",
            "orders(1)",
            "ship_on_time_rate",
            "online_hours_avg(18:00,09:00)",
            "coverage_rate(09:00,24:30)",
            // Deadlines are added to instants: beyond a year, or not a number, is text
            // no policy means (and a client may send).
            "ship_on_time_rate(1e300)",
            "late_shipments(8785)",
            "complaint_closure_rate(-1)",
            "ship_on_time_rate(NaN)",
            "ship_on_time_rate(48",
        ] {
            assert!(Metric::parse(bad, &sla()).is_err(), "{bad}");
        }
    }
}
