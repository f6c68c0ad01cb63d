//! Support hours: when the team is at work, and when it is next, in its
//! own time zone (holidays closed). Pure arithmetic on a clock it is
//! given.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// Published support hours.
#[derive(Debug, Clone)]
pub struct SupportHours {
    pub zone: Tz,
    /// Monday first; `[start, end)` in minutes after local midnight.
    pub weekly: [Vec<(u16, u16)>; 7],
    pub holidays: BTreeSet<NaiveDate>,
}

impl SupportHours {
    /// Whether the team is at work at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.zone);
        if self.holidays.contains(&local.date_naive()) {
            return false;
        }
        let day = local.weekday().num_days_from_monday() as usize;
        // Unreachable index guard: weekday is always 0..7.
        let Some(ranges) = self.weekly.get(day) else {
            return false;
        };
        let minute = (local.hour() * 60 + local.minute()) as u16;
        ranges
            .iter()
            .any(|&(start, end)| start <= minute && minute < end)
    }

    /// When the team is next at work: `at` itself when it is now, else
    /// the next opening within two weeks (holidays skipped); `None` when
    /// there is none.
    pub fn next_opening(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_open(at) {
            return Some(at);
        }
        let today = at.with_timezone(&self.zone).date_naive();
        (0..15u64)
            .filter_map(|n| today.checked_add_days(Days::new(n)))
            .filter(|day| !self.holidays.contains(day))
            .flat_map(|day| {
                let index = day.weekday().num_days_from_monday() as usize;
                let mut starts: Vec<u16> = self
                    .weekly
                    .get(index)
                    .map(|ranges| ranges.iter().map(|r| r.0).collect())
                    .unwrap_or_default();
                starts.sort_unstable();
                starts.into_iter().filter_map(move |start| {
                    let time =
                        NaiveTime::from_hms_opt(u32::from(start / 60), u32::from(start % 60), 0)?;
                    let local = self.zone.from_local_datetime(&day.and_time(time));
                    Some(local.earliest()?.with_timezone(&Utc))
                })
            })
            .find(|opens| *opens > at)
    }

    /// The moment `span` of open time has passed since `start` (the
    /// clock stops while the team is away: nights, weekends, holidays);
    /// `None` when the hours do not hold that much in a year.
    pub fn after_open_time(&self, start: DateTime<Utc>, span: Duration) -> Option<DateTime<Utc>> {
        if span <= Duration::zero() {
            return Some(start);
        }
        let mut left = span;
        let first = start.with_timezone(&self.zone).date_naive();
        for day in (0..366u64).filter_map(|n| first.checked_add_days(Days::new(n))) {
            if self.holidays.contains(&day) {
                continue;
            }
            let index = day.weekday().num_days_from_monday() as usize;
            let mut ranges = self.weekly.get(index).cloned().unwrap_or_default();
            ranges.sort_unstable();
            for (from, to) in ranges {
                let (Some(from), Some(to)) = (self.moment(day, from), self.moment(day, to)) else {
                    continue;
                };
                let from = from.max(start);
                if to <= from {
                    continue;
                }
                if to - from >= left {
                    return Some(from + left);
                }
                left -= to - from;
            }
        }
        None
    }

    /// How much open time lies between `from` and `to`: a wait counted
    /// the way `support_hours_only` counts it (zero when `to` is not later).
    pub fn open_time_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        let first = from.with_timezone(&self.zone).date_naive();
        let last = to.with_timezone(&self.zone).date_naive();
        let mut day = first;
        while day <= last && from < to {
            let index = day.weekday().num_days_from_monday() as usize;
            let ranges = self
                .weekly
                .get(index)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for &(start, end) in ranges.iter().filter(|_| !self.holidays.contains(&day)) {
                let (Some(start), Some(end)) = (self.moment(day, start), self.moment(day, end))
                else {
                    continue;
                };
                let (start, end) = (start.max(from), end.min(to));
                if end > start {
                    total += end - start;
                }
            }
            let Some(next) = day.checked_add_days(Days::new(1)) else {
                break;
            };
            day = next;
        }
        total
    }

    /// `minute` after local midnight of `day`, as a moment: 24:00 is the
    /// next midnight, and a time the clocks skip (spring forward) is the
    /// first one after the gap.
    fn moment(&self, day: NaiveDate, minute: u16) -> Option<DateTime<Utc>> {
        let midnight = day.and_time(NaiveTime::MIN);
        let local = midnight + Duration::minutes(i64::from(minute));
        self.zone
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| {
                self.zone
                    .from_local_datetime(&(local + Duration::hours(1)))
                    .earliest()
            })
            .map(|at| at.with_timezone(&Utc))
    }

    /// How customers read an opening time: `Monday 09:00 EST`.
    pub fn describe(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.zone)
            .format("%A %H:%M %Z")
            .to_string()
    }
}
