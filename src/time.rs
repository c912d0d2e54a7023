//! Time in the policy time zone (SPEC §1), for the policy, the jobs and the API alike:
//! local midnights, months, yearly campaigns, the evaluation instant
//! `E = min(as_of, end + settle)` of a closed period, the accepted `as_of` range, and
//! how every instant is written in a response.

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

/// The first instant of a local date (resolving a DST gap forward).
pub fn local_midnight(tz: Tz, d: NaiveDate) -> DateTime<Utc> {
    local_instant(tz, d, 0)
}

/// The instant of `minutes` past local midnight of `d` (1440 = next midnight).
pub fn local_instant(tz: Tz, d: NaiveDate, minutes: u32) -> DateTime<Utc> {
    let (d, minutes) = if minutes >= 1440 {
        (d + Days::new(1), minutes - 1440)
    } else {
        (d, minutes)
    };
    let naive = d
        .and_hms_opt(minutes / 60, minutes % 60, 0)
        .expect("valid clock");
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        // In a DST gap: the first instant after it.
        chrono::LocalResult::None => tz
            .from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
            .expect("an hour after a gap exists")
            .with_timezone(&Utc),
    }
}

/// An instant as every response writes it: RFC 3339 in the policy time zone, with
/// as many fractional digits as it has.
pub fn format_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// SPEC §1: the `as_of` instants accepted, from local midnight of 2000-01-01 in the
/// policy time zone to `now` + 366 days. Outside it is a client's mistake (422); inside
/// it every instant renders as RFC 3339, and a recompute's month walk stays short.
pub fn as_of_range(now: DateTime<Utc>, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let first = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a real date");
    (local_midnight(tz, first), now + Duration::days(366))
}

/// Checks `t` against [`as_of_range`]; the error says the range.
pub fn check_as_of(t: DateTime<Utc>, now: DateTime<Utc>, tz: Tz) -> Result<(), String> {
    let (lo, hi) = as_of_range(now, tz);
    if t < lo || t > hi {
        return Err(format!(
            "must be between {} and {} (now + 366 days)",
            lo.with_timezone(&tz).to_rfc3339(),
            hi.with_timezone(&tz).to_rfc3339()
        ));
    }
    Ok(())
}

/// A calendar month, `year * 12 + (month − 1)`, so that months are plain integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(pub i32);

impl Month {
    pub fn new(year: i32, month: u32) -> Month {
        Month(year * 12 + month as i32 - 1)
    }
    pub fn of(t: DateTime<Utc>, tz: Tz) -> Month {
        let l = t.with_timezone(&tz);
        Month::new(l.year(), l.month())
    }
    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }
    pub fn month(self) -> u32 {
        self.0.rem_euclid(12) as u32 + 1
    }
    pub fn prev(self) -> Month {
        Month(self.0 - 1)
    }
    pub fn next(self) -> Month {
        Month(self.0 + 1)
    }
    pub fn start(self, tz: Tz) -> DateTime<Utc> {
        local_midnight(
            tz,
            NaiveDate::from_ymd_opt(self.year(), self.month(), 1).expect("valid month"),
        )
    }
    pub fn end(self, tz: Tz) -> DateTime<Utc> {
        self.next().start(tz)
    }
    /// `YYYY-MM`.
    pub fn label(self) -> String {
        format!("{:04}-{:02}", self.year(), self.month())
    }
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
        (1..=12).contains(&m).then(|| Month::new(y, m))
    }
}

/// The evaluation instant of a closed period (SPEC §1).
pub fn eval_instant(
    as_of: DateTime<Utc>,
    end: DateTime<Utc>,
    settle_seconds: i64,
) -> DateTime<Utc> {
    as_of.min(end + Duration::seconds(settle_seconds))
}

/// The latest yearly campaign `[start, end)` (local month-day pairs) that has started by `as_of`.
pub fn latest_campaign(
    as_of: DateTime<Utc>,
    tz: Tz,
    start: (u32, u32),
    end: (u32, u32),
) -> (DateTime<Utc>, DateTime<Utc>, NaiveDate, NaiveDate) {
    let year = as_of.with_timezone(&tz).year();
    let at =
        |y: i32, (m, d): (u32, u32)| NaiveDate::from_ymd_opt(y, m, d).expect("validated month-day");
    let y = if local_midnight(tz, at(year, start)) <= as_of {
        year
    } else {
        year - 1
    };
    let (s, e) = (at(y, start), at(y, end));
    (local_midnight(tz, s), local_midnight(tz, e), s, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TZ: Tz = chrono_tz::Asia::Shanghai;
    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn as_of_range_is_local_2000_to_now_plus_366_days() {
        let now = t("2026-11-23T12:00:00Z");
        assert!(check_as_of(t("2000-01-01T00:00:00+08:00"), now, TZ).is_ok());
        assert!(check_as_of(t("1999-12-31T23:59:59+08:00"), now, TZ).is_err());
        assert!(check_as_of(t("2027-11-24T12:00:00Z"), now, TZ).is_ok());
        assert!(check_as_of(t("2027-11-24T12:00:00.000001Z"), now, TZ).is_err());
        let e = check_as_of(t("9999-12-31T23:59:59Z"), now, TZ).unwrap_err();
        assert_eq!(e, "must be between 2000-01-01T00:00:00+08:00 and 2027-11-24T20:00:00+08:00 (now + 366 days)");
    }

    #[test]
    fn months_use_the_policy_zone() {
        let m = Month::of(t("2026-10-31T16:30:00Z"), TZ); // 00:30 on Nov 1 in Shanghai
        assert_eq!(m.label(), "2026-11");
        assert_eq!(m.start(TZ), t("2026-11-01T00:00:00+08:00"));
        assert_eq!(Month::new(2026, 1).prev().label(), "2025-12");
        assert_eq!(Month::parse("2026-09"), Some(Month::new(2026, 9)));
        assert_eq!(Month::parse("2026-13"), None);
    }

    #[test]
    fn latest_campaign_started_by_as_of() {
        let (s, e, _, last) = latest_campaign(t("2026-09-20T07:00:00+08:00"), TZ, (10, 1), (10, 8));
        assert_eq!(
            (s, e),
            (
                t("2025-10-01T00:00:00+08:00"),
                t("2025-10-08T00:00:00+08:00")
            )
        );
        assert_eq!(last.to_string(), "2025-10-08");
        let (s, _, _, _) = latest_campaign(t("2026-10-01T00:00:00+08:00"), TZ, (10, 1), (10, 8));
        assert_eq!(s, t("2026-10-01T00:00:00+08:00"));
        assert_eq!(
            eval_instant(t("2026-10-20T00:00:00+08:00"), e, 120 * 3600),
            t("2025-10-13T00:00:00+08:00")
        );
    }
}
