//! When a daily digest falls due: a local time of day in an IANA zone,
//! turned into UTC instants day by day. Pure code.
//!
//! A cron expression evaluated in the zone gets daylight saving wrong for
//! times inside the clock change (DESIGN.md §6: skipped on spring-forward
//! days, twice on fall-back days), so the rule is written out here:
//!
//! - a local time that does not exist that day (the clocks jumped over it)
//!   falls due at the first valid instant after it: the moment the clocks
//!   jump;
//! - a local time that happens twice (the clocks went back over it) falls
//!   due once, at its first occurrence.

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A daily local time of day in a time zone: when a chat's digest is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyTime {
    /// Local time of day.
    pub time: NaiveTime,
    /// The zone that time is read in.
    pub zone: Tz,
}

impl DailyTime {
    /// The instant this local time falls due on the local `date`, with the
    /// daylight-saving rules of the module documentation.
    pub fn on(&self, date: NaiveDate) -> DateTime<Utc> {
        let local = date.and_time(self.time);
        match self.zone.from_local_datetime(&local) {
            LocalResult::Single(at) => at.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            LocalResult::None => first_instant_at_or_after(self.zone, local),
        }
    }

    /// The first instant strictly after `t` at which this digest falls due.
    pub fn next_after(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let today = t.with_timezone(&self.zone).date_naive();
        // Yesterday's time can be later than `t` only when a gap pushes it;
        // a week covers even a zone that skipped a whole day.
        today
            .checked_sub_days(Days::new(1))
            .unwrap_or(today)
            .iter_days()
            .take(8)
            .map(|date| self.on(date))
            .find(|at| *at > t)
            .unwrap_or(t + chrono::Duration::days(1))
    }

    /// The last instant at or before `t` at which this digest fell due.
    pub fn last_at_or_before(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let tomorrow = t.with_timezone(&self.zone).date_naive() + Days::new(1);
        tomorrow
            .iter_days()
            .rev()
            .take(8)
            .map(|date| self.on(date))
            .find(|at| *at <= t)
            .unwrap_or(t - chrono::Duration::days(1))
    }
}

/// The first instant whose local time in `zone` is `local` or later: for a
/// local time inside a spring-forward gap, the instant the clocks jump.
///
/// Local time only goes backwards at a fall-back change, and no zone has
/// one within a day of a spring-forward change, so over this window the
/// local time grows with the instant and a binary search finds it.
fn first_instant_at_or_after(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let window = chrono::Duration::hours(26);
    let local_at = |secs: i64| {
        DateTime::from_timestamp(secs, 0)
            .map(|u| zone.from_utc_datetime(&u.naive_utc()).naive_local())
    };
    // UTC offsets lie within ±26 h, so `lo` is before `local` and `hi` after.
    let mut lo = (local - window).and_utc().timestamp();
    let mut hi = (local + window).and_utc().timestamp();
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        match local_at(mid) {
            Some(at) if at >= local => hi = mid,
            _ => lo = mid,
        }
    }
    DateTime::from_timestamp(hi, 0).unwrap_or_else(|| local.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .with_timezone(&Utc)
    }

    fn daily(hh_mm: &str, zone: &str) -> DailyTime {
        DailyTime {
            time: NaiveTime::parse_from_str(hh_mm, "%H:%M").unwrap(),
            zone: zone.parse().unwrap(),
        }
    }

    /// (name, zone, local time, after, expected next instants in order).
    const CASES: &[(&str, &str, &str, &str, &[&str])] = &[
        (
            "ordinary winter day in London",
            "Europe/London",
            "08:00",
            "2026-01-15T07:59:00Z",
            &["2026-01-15T08:00:00Z", "2026-01-16T08:00:00Z"],
        ),
        (
            "an instant exactly at the time is not after it",
            "Europe/London",
            "08:00",
            "2026-01-15T08:00:00Z",
            &["2026-01-16T08:00:00Z"],
        ),
        (
            "London summer time: 08:00 BST is 07:00 UTC",
            "Europe/London",
            "08:00",
            "2026-06-01T00:00:00Z",
            &["2026-06-01T07:00:00Z"],
        ),
        (
            "London spring forward: 08:00 stays 08:00 local",
            "Europe/London",
            "08:00",
            "2026-03-28T07:00:00Z",
            &[
                "2026-03-28T08:00:00Z",
                "2026-03-29T07:00:00Z",
                "2026-03-30T07:00:00Z",
            ],
        ),
        (
            "London fall back: 08:00 stays 08:00 local",
            "Europe/London",
            "08:00",
            "2026-10-24T06:00:00Z",
            &[
                "2026-10-24T07:00:00Z",
                "2026-10-25T08:00:00Z",
                "2026-10-26T08:00:00Z",
            ],
        ),
        (
            "London 01:30 does not exist on 29 March: sent at 02:00 BST",
            "Europe/London",
            "01:30",
            "2026-03-28T12:00:00Z",
            &["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"],
        ),
        (
            "London 01:00 is the first minute of the gap: sent at 02:00 BST",
            "Europe/London",
            "01:00",
            "2026-03-28T12:00:00Z",
            &["2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"],
        ),
        (
            "London 01:30 happens twice on 25 October: sent once, in BST",
            "Europe/London",
            "01:30",
            "2026-10-24T12:00:00Z",
            &["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"],
        ),
        (
            "New York spring forward: 08:00 EST then 08:00 EDT",
            "America/New_York",
            "08:00",
            "2026-03-07T12:00:00Z",
            &[
                "2026-03-07T13:00:00Z",
                "2026-03-08T12:00:00Z",
                "2026-03-09T12:00:00Z",
            ],
        ),
        (
            "New York 02:30 does not exist on 8 March: sent at 03:00 EDT",
            "America/New_York",
            "02:30",
            "2026-03-07T12:00:00Z",
            &["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"],
        ),
        (
            "New York fall back: 08:00 EDT then 08:00 EST",
            "America/New_York",
            "08:00",
            "2026-10-31T11:00:00Z",
            &[
                "2026-10-31T12:00:00Z",
                "2026-11-01T13:00:00Z",
                "2026-11-02T13:00:00Z",
            ],
        ),
        (
            "New York 01:30 happens twice on 1 November: sent once, in EDT",
            "America/New_York",
            "01:30",
            "2026-10-31T12:00:00Z",
            &["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"],
        ),
        (
            "Kolkata is UTC+05:30 all year",
            "Asia/Kolkata",
            "08:00",
            "2026-03-29T00:00:00Z",
            &["2026-03-29T02:30:00Z", "2026-03-30T02:30:00Z"],
        ),
        (
            "Kolkata just after midnight is the previous UTC day",
            "Asia/Kolkata",
            "00:15",
            "2026-03-29T00:00:00Z",
            &["2026-03-29T18:45:00Z"],
        ),
        (
            "Lord Howe moves its clocks by half an hour: 02:15 is missing",
            "Australia/Lord_Howe",
            "02:15",
            "2026-10-03T00:00:00Z",
            &["2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"],
        ),
        (
            "UTC at midnight",
            "UTC",
            "00:00",
            "2026-12-31T23:59:59Z",
            &["2027-01-01T00:00:00Z", "2027-01-02T00:00:00Z"],
        ),
    ];

    #[test]
    fn case_names_are_unique() {
        let mut names: Vec<_> = CASES.iter().map(|c| c.0).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CASES.len());
    }

    #[test]
    fn next_digest_instants_follow_local_time_across_daylight_saving() {
        for (name, zone, time, after, want) in CASES {
            let daily = daily(time, zone);
            let mut t = utc(after);
            for (i, want) in want.iter().enumerate() {
                t = daily.next_after(t);
                assert_eq!(t, utc(want), "{name}: instant #{i}");
            }
        }
    }

    #[test]
    fn the_last_instant_at_or_before_is_the_one_next_after_undoes() {
        for (name, zone, time, after, want) in CASES {
            let daily = daily(time, zone);
            let mut t = utc(after);
            for want in *want {
                let next = daily.next_after(t);
                assert_eq!(next, utc(want), "{name}");
                assert_eq!(daily.last_at_or_before(next), next, "{name}: at {next}");
                assert!(
                    daily.last_at_or_before(next - chrono::Duration::seconds(1)) < next,
                    "{name}: just before {next}"
                );
                t = next;
            }
        }
    }

    #[test]
    fn a_year_of_days_gives_exactly_one_instant_per_local_day() {
        for (zone, time) in [
            ("Europe/London", "01:30"),
            ("Europe/London", "08:00"),
            ("America/New_York", "02:30"),
            ("America/New_York", "01:30"),
            ("Asia/Kolkata", "08:00"),
            ("Australia/Lord_Howe", "02:15"),
        ] {
            let daily = daily(time, zone);
            let midnight = |y: i32| {
                let local = NaiveDate::from_ymd_opt(y, 1, 1)
                    .unwrap()
                    .and_time(NaiveTime::MIN);
                daily
                    .zone
                    .from_local_datetime(&local)
                    .earliest()
                    .unwrap()
                    .with_timezone(&Utc)
            };
            let (start, end) = (midnight(2026), midnight(2027));
            let mut t = start;
            let mut days = std::collections::BTreeSet::new();
            let mut count = 0;
            loop {
                let next = daily.next_after(t);
                if next >= end {
                    break;
                }
                assert!(next > t);
                assert!(
                    t == start || next - t >= chrono::Duration::hours(22),
                    "{zone} {time}: {t} then {next}"
                );
                days.insert(next.with_timezone(&daily.zone).date_naive());
                count += 1;
                t = next;
            }
            assert_eq!(days.len(), count, "{zone} {time}: a day twice");
            assert_eq!(count, 365, "{zone} {time}");
        }
    }
}
