//! Agent presence (SPEC §3): online intervals per agent, the shop staffed while any agent
//! is online, and hours of a daily local slot during which it was staffed.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;

use super::catalogue::Slot;
use crate::time::{local_instant, local_midnight};

type Time = DateTime<Utc>;

/// `changes` are (agent, time, online), each agent's in the order its events apply (by
/// time, then event id); agents may be interleaved. An agent is online on
/// `[online, next offline)`, or until `until`; before its first event it is offline; a
/// repeated status changes nothing. Returns the union over agents: sorted, disjoint, non-empty intervals.
pub fn staffed_intervals(changes: &[(String, Time, bool)], until: Time) -> Vec<(Time, Time)> {
    let mut per_agent: BTreeMap<&str, Vec<(Time, bool)>> = BTreeMap::new();
    for (agent, at, online) in changes {
        per_agent.entry(agent).or_default().push((*at, *online));
    }
    let mut intervals = Vec::new();
    for changes in per_agent.values() {
        let mut since: Option<Time> = None;
        for &(at, online) in changes {
            match (since, online) {
                (None, true) => since = Some(at),
                (Some(start), false) => {
                    if at > start {
                        intervals.push((start, at));
                    }
                    since = None;
                }
                _ => {}
            }
        }
        if let Some(start) = since {
            if until > start {
                intervals.push((start, until));
            }
        }
    }
    intervals.sort();
    let mut merged: Vec<(Time, Time)> = Vec::with_capacity(intervals.len());
    for (s, e) in intervals {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// Whether the shop was staffed at instant `t`.
pub fn staffed_at(staffed: &[(Time, Time)], t: Time) -> bool {
    let i = staffed.partition_point(|(s, _)| *s <= t);
    i > 0 && staffed[i - 1].1 > t
}

/// Seconds of `[from, to)` covered by the staffed intervals.
pub fn staffed_seconds(staffed: &[(Time, Time)], from: Time, to: Time) -> f64 {
    let mut micros: i64 = 0;
    for (s, e) in staffed {
        let (a, b) = ((*s).max(from), (*e).min(to));
        if b > a {
            micros += (b - a).num_microseconds().unwrap_or(i64::MAX);
        }
    }
    micros as f64 / 1e6
}

/// The local days `[start, end)` lying wholly inside `[lo, hi)` and ending by `e`.
pub fn whole_days(tz: Tz, lo: Time, hi: Time, e: Time) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut d = lo.with_timezone(&tz).date_naive();
    loop {
        let (start, end) = (local_midnight(tz, d), local_midnight(tz, d + Days::new(1)));
        if end > hi || end > e {
            break;
        }
        if start >= lo {
            out.push(d);
        }
        d = d + Days::new(1);
    }
    out
}

/// The slot of local day `day`, as instants.
pub fn slot_of(tz: Tz, slot: Slot, day: NaiveDate) -> (Time, Time) {
    (
        local_instant(tz, day, slot.start_min),
        local_instant(tz, day, slot.end_min),
    )
}

/// Staffed hours of the slot on local day `day`.
pub fn slot_hours(tz: Tz, staffed: &[(Time, Time)], slot: Slot, day: NaiveDate) -> f64 {
    let (from, to) = slot_of(tz, slot, day);
    staffed_seconds(staffed, from, to) / 3600.0
}

/// `online_hours_avg(slot)`: mean staffed hours of the slot over the whole days, and
/// how many whole days there were (none: null).
pub fn online_hours_avg(
    tz: Tz,
    staffed: &[(Time, Time)],
    slot: Slot,
    lo: Time,
    hi: Time,
    e: Time,
) -> (Option<f64>, usize) {
    let days = whole_days(tz, lo, hi, e);
    let total: f64 = days.iter().map(|d| slot_hours(tz, staffed, slot, *d)).sum();
    let n = days.len();
    ((n > 0).then(|| total / n as f64), n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Time {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    const TZ: Tz = chrono_tz::Asia::Shanghai;

    #[test]
    fn overlapping_agents_union_and_open_interval_ends_at_until() {
        let changes = vec![
            ("a1".to_string(), t("2026-10-01T09:00:00+08:00"), true),
            ("a1".to_string(), t("2026-10-01T09:30:00+08:00"), true), // repeated: nothing
            ("a1".to_string(), t("2026-10-01T12:00:00+08:00"), false),
            ("a2".to_string(), t("2026-10-01T11:00:00+08:00"), true),
            ("a2".to_string(), t("2026-10-01T13:00:00+08:00"), false),
            ("a3".to_string(), t("2026-10-01T20:00:00+08:00"), false), // offline first: nothing
            ("a3".to_string(), t("2026-10-01T22:00:00+08:00"), true),
        ];
        let until = t("2026-10-02T00:00:00+08:00");
        let s = staffed_intervals(&changes, until);
        assert_eq!(
            s,
            vec![
                (
                    t("2026-10-01T09:00:00+08:00"),
                    t("2026-10-01T13:00:00+08:00")
                ),
                (t("2026-10-01T22:00:00+08:00"), until),
            ]
        );
        assert!(staffed_at(&s, t("2026-10-01T09:00:00+08:00")));
        assert!(!staffed_at(&s, t("2026-10-01T13:00:00+08:00")));
        let slot = Slot {
            start_min: 9 * 60,
            end_min: 1440,
        };
        let day_lo = t("2026-10-01T00:00:00+08:00");
        assert_eq!(
            online_hours_avg(TZ, &s, slot, day_lo, until, until),
            (Some(6.0), 1)
        );
    }

    #[test]
    fn only_whole_days_ending_by_e_count() {
        let lo = t("2026-10-01T00:00:00+08:00");
        let hi = t("2026-10-08T00:00:00+08:00");
        assert_eq!(whole_days(TZ, lo, hi, hi).len(), 7);
        assert_eq!(
            whole_days(TZ, lo, hi, t("2026-10-03T12:00:00+08:00")).len(),
            2
        );
        // A rolling window (T-30d, T] with T at midnight: the first day starts at
        // T-30d, which the open end excludes, so 29 days lie wholly inside.
        let w = super::super::Scope::rolling(hi, 30);
        assert_eq!(whole_days(TZ, w.lo, w.hi, w.e).len(), 29);
        let whole_day = Slot {
            start_min: 0,
            end_min: 1440,
        };
        assert_eq!(online_hours_avg(TZ, &[], whole_day, lo, hi, lo), (None, 0));
    }
}
