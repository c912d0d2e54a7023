//! Every window and period one run evaluates, from its `as_of` (SPEC §1, §4): built once
//! per run by `Periods::new`, read by every batch, so turning an instant into windows
//! happens here and nowhere else. Pure.

use chrono::{DateTime, Days, Duration, Utc};
use chrono_tz::Tz;

use crate::metric::Scope;
use crate::policy::{PeriodKind, Policy, Program};
use crate::time::{eval_instant, latest_campaign, Month};

/// The windows and periods of a run as of one instant.
#[derive(Debug, Clone)]
pub struct Periods {
    pub as_of: DateTime<Utc>,
    pub tz: Tz,
    /// Credit's positive-rate window (SPEC §4.1).
    pub credit_rate: Scope,
    /// The service score's rolling window (SPEC §4.3).
    pub service: Scope,
    pub dsr: DsrWindow,
    /// The last complete months five stars need (SPEC §4.4), latest first.
    pub five_star_months: Vec<Scope>,
    /// Each programme's period (SPEC §4.5), in the policy's order.
    pub programs: Vec<ProgramPeriod>,
    pub tier: TierPeriod,
}

/// DSR's window (SPEC §4.2) and the local months its per-buyer cap counts in.
#[derive(Debug, Clone)]
pub struct DsrWindow {
    pub from: DateTime<Utc>,
    /// The start of every local month a review in the window can fall in, and of the
    /// month after the last (so each month is `[starts[i], starts[i + 1])`).
    pub month_starts: Vec<DateTime<Utc>>,
}

/// One programme's period as of the run's instant.
#[derive(Debug, Clone)]
pub struct ProgramPeriod {
    /// `[start, end)`, evaluated at the settled instant (a rolling period at `as_of`).
    pub scope: Scope,
    /// `YYYY-MM` for a monthly programme, `first/last` local dates otherwise.
    pub label: String,
    /// The month, for a monthly programme (exemption and failure chains count months).
    pub month: Option<Month>,
    /// A campaign whose end plus settling time is still ahead.
    pub in_progress: bool,
    settle_seconds: i64,
    as_of: DateTime<Utc>,
    tz: Tz,
}

/// The tier month M (the latest complete month) and the span of M+1 that can cancel a
/// tier (SPEC §4.6).
#[derive(Debug, Clone)]
pub struct TierPeriod {
    pub month: Month,
    /// M, evaluated at its end.
    pub scope: Scope,
    /// From M's end up to and including `as_of`.
    pub cancel: Scope,
}

impl Periods {
    pub fn new(policy: &Policy, as_of: DateTime<Utc>) -> Periods {
        let tz = policy.tz;
        let dsr_from = as_of - Duration::days(i64::from(policy.dsr_window_days));
        let month_starts = (Month::of(dsr_from, tz).0..=Month::of(as_of, tz).0 + 1)
            .map(|m| Month(m).start(tz))
            .collect();
        let latest_complete = Month::of(as_of, tz).prev();
        let five_star_months = (0..policy.stars.five_star_months)
            .map(|back| {
                let m = Month(latest_complete.0 - back as i32);
                let end = m.end(tz);
                Scope::period(m.start(tz), end, eval_instant(as_of, end, 0))
            })
            .collect();
        let tier_end = latest_complete.end(tz);
        Periods {
            as_of,
            tz,
            credit_rate: Scope::rolling(as_of, policy.credit.rate_window_days),
            service: Scope::rolling(as_of, policy.service.window_days),
            dsr: DsrWindow {
                from: dsr_from,
                month_starts,
            },
            five_star_months,
            programs: (policy.programs.iter())
                .map(|p| ProgramPeriod::new(p, as_of, tz))
                .collect(),
            tier: TierPeriod {
                month: latest_complete,
                scope: Scope::period(latest_complete.start(tz), tier_end, tier_end),
                cancel: Scope::period(tier_end, as_of + Duration::microseconds(1), as_of),
            },
        }
    }
}

/// The open periods at `as_of`, evaluated as if they closed then (the projection, issue
/// 24): each programme's and the tier month's.
#[derive(Debug, Clone)]
pub struct Projected {
    pub as_of: DateTime<Utc>,
    /// In policy order.
    pub programs: Vec<ProgramPeriod>,
    /// The month of `as_of`, from its start, its events up to `as_of`.
    pub tier_month: Month,
    pub tier_scope: Scope,
}

impl Projected {
    pub fn new(policy: &Policy, as_of: DateTime<Utc>) -> Projected {
        let tz = policy.tz;
        let month = Month::of(as_of, tz);
        Projected {
            as_of,
            programs: (policy.programs.iter())
                .map(|p| ProgramPeriod::open(p, as_of, tz))
                .collect(),
            tier_month: month,
            tier_scope: Scope::period(month.start(tz), month.end(tz), as_of),
        }
    }
}

impl ProgramPeriod {
    /// The period of `p` open at `as_of` (a monthly programme's month of `as_of`; the
    /// latest campaign; the rolling window), evaluated at `as_of` as if it closed then:
    /// never `in_progress`.
    fn open(p: &Program, as_of: DateTime<Utc>, tz: Tz) -> ProgramPeriod {
        let mut period = ProgramPeriod::new(p, as_of, tz);
        if let PeriodKind::Month = p.period {
            let m = Month::of(as_of, tz);
            period.scope = Scope::period(m.start(tz), m.end(tz), as_of);
            period.label = m.label();
            period.month = Some(m);
        }
        // A campaign keeps its evaluation instant (`as_of`, or its settle time once
        // passed: a settled period never changes); only its status stops being
        // `in_progress`.
        period.in_progress = false;
        period
    }

    fn new(p: &Program, as_of: DateTime<Utc>, tz: Tz) -> ProgramPeriod {
        let (start, end, label, month) = match &p.period {
            PeriodKind::Month => {
                let m = Month::of(as_of, tz).prev();
                (m.start(tz), m.end(tz), m.label(), Some(m))
            }
            PeriodKind::Campaign { start, end } => {
                let (s, e, first, next) = latest_campaign(as_of, tz, *start, *end);
                let last = next - Days::new(1);
                (s, e, format!("{first}/{last}"), None)
            }
            PeriodKind::Rolling { days } => {
                let sc = Scope::rolling(as_of, *days);
                let first = sc.lo.with_timezone(&tz).date_naive();
                let last = as_of.with_timezone(&tz).date_naive();
                (sc.lo, sc.hi, format!("{first}/{last}"), None)
            }
        };
        let e = match p.period {
            PeriodKind::Rolling { .. } => as_of,
            _ => eval_instant(as_of, end, p.settle_seconds),
        };
        ProgramPeriod {
            scope: Scope::period(start, end, e),
            label,
            month,
            in_progress: matches!(p.period, PeriodKind::Campaign { .. })
                && as_of < end + Duration::seconds(p.settle_seconds),
            settle_seconds: p.settle_seconds,
            as_of,
            tz,
        }
    }

    /// The run's instant.
    pub fn as_of(&self) -> DateTime<Utc> {
        self.as_of
    }

    /// An earlier month of a monthly programme, as its own period evaluated it: what a
    /// failure chain walks back through.
    pub fn earlier(&self, m: Month) -> Scope {
        let end = m.end(self.tz);
        Scope::period(
            m.start(self.tz),
            end,
            eval_instant(self.as_of, end, self.settle_seconds),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_projection_closes_the_open_periods_at_as_of() {
        let policy = Policy::default_policy();
        let as_of = DateTime::parse_from_rfc3339("2026-12-05T10:00:00+08:00")
            .unwrap()
            .to_utc();
        let p = Projected::new(&policy, as_of);
        let tz = policy.tz;
        // cs_daily: December so far, not November (the card's complete month).
        let cs = &p.programs[0];
        assert_eq!(
            (cs.label.as_str(), cs.month),
            ("2026-12", Some(Month::of(as_of, tz)))
        );
        assert_eq!(
            (cs.scope.lo, cs.scope.e),
            (Month::of(as_of, tz).start(tz), as_of)
        );
        // holiday_peak: the October campaign, settled on 13 October: as the card has it.
        let h = &p.programs[1];
        let settled = DateTime::parse_from_rfc3339("2026-10-13T00:00:00+08:00")
            .unwrap()
            .to_utc();
        assert_eq!(
            (h.label.as_str(), h.in_progress, h.scope.e),
            ("2026-10-01/2026-10-07", false, settled)
        );
        // In the campaign, it closes at as_of: pass or fail on the data so far.
        let during = DateTime::parse_from_rfc3339("2026-10-05T12:00:00+08:00")
            .unwrap()
            .to_utc();
        let h = &Projected::new(&policy, during).programs[1];
        assert_eq!((h.in_progress, h.scope.e), (false, during));
        assert_eq!(p.tier_month.label(), "2026-12");
        assert_eq!(p.tier_scope.e, as_of);
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn windows_of_the_default_policy_as_of_a_december_morning() {
        let policy = Policy::default_policy();
        let as_of = t("2026-12-03T10:00:00+08:00");
        let p = Periods::new(&policy, as_of);
        let us = Duration::microseconds(1);
        // Rolling windows: (T − N days, T].
        assert_eq!(p.credit_rate.lo, t("2026-06-06T10:00:00+08:00") + us);
        assert_eq!(p.credit_rate.hi, as_of + us);
        assert_eq!(p.service.lo, t("2026-11-03T10:00:00+08:00") + us);
        // DSR: 180 days back, and every local month from May to January.
        assert_eq!(p.dsr.from, t("2026-06-06T10:00:00+08:00"));
        assert_eq!(
            p.dsr.month_starts.first(),
            Some(&t("2026-06-01T00:00:00+08:00"))
        );
        assert_eq!(
            p.dsr.month_starts.last(),
            Some(&t("2027-01-01T00:00:00+08:00"))
        );
        assert_eq!(p.dsr.month_starts.len(), 8);
        // Five stars: November, then October, both closed.
        let months: Vec<_> = p.five_star_months.iter().map(|s| (s.lo, s.e)).collect();
        assert_eq!(
            months[0],
            (
                t("2026-11-01T00:00:00+08:00"),
                t("2026-12-01T00:00:00+08:00")
            )
        );
        assert_eq!(months[1].0, t("2026-10-01T00:00:00+08:00"));
        // Tiers: November, evaluated at its end; cancellation from then to as_of.
        assert_eq!(p.tier.month, Month::new(2026, 11));
        assert_eq!(p.tier.scope.e, t("2026-12-01T00:00:00+08:00"));
        assert_eq!(
            (p.tier.cancel.lo, p.tier.cancel.e),
            (t("2026-12-01T00:00:00+08:00"), as_of)
        );
    }

    #[test]
    fn programme_periods_settle_and_walk_back_by_their_own_rule() {
        let policy = Policy::default_policy();
        let as_of = t("2026-12-01T02:00:00+08:00");
        let p = Periods::new(&policy, as_of);
        // The monthly programme (settles at once): November, evaluated at its end.
        let month = &p.programs[0];
        assert_eq!(
            (month.label.as_str(), month.month),
            ("2026-11", Some(Month::new(2026, 11)))
        );
        assert_eq!(month.scope.e, t("2026-12-01T00:00:00+08:00"));
        assert!(!month.in_progress);
        let oct = month.earlier(Month::new(2026, 10));
        assert_eq!(
            (oct.lo, oct.hi, oct.e),
            (
                t("2026-10-01T00:00:00+08:00"),
                t("2026-11-01T00:00:00+08:00"),
                t("2026-11-01T00:00:00+08:00")
            )
        );
        // The holiday campaign (1–7 October, settles over 120 h): settled long ago.
        let campaign = &p.programs[1];
        assert_eq!(campaign.label, "2026-10-01/2026-10-07");
        assert_eq!(campaign.scope.e, t("2026-10-13T00:00:00+08:00"));
        assert!(!campaign.in_progress);
        // On 10 October it is still open, evaluated at as_of.
        let open = Periods::new(&policy, t("2026-10-10T09:00:00+08:00"));
        assert!(open.programs[1].in_progress);
        assert_eq!(open.programs[1].scope.e, t("2026-10-10T09:00:00+08:00"));
    }
}
