//! What X reads cost: reads counted per account, source and month, what
//! was left unread, and polling stretched to stay within the monthly
//! read budget.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};

use super::XError;
use crate::store::Store;

/// The counters under `prefix`, named without it (`account/source`).
fn by_source(store: &Store, prefix: &str) -> Result<Vec<(String, u64)>, XError> {
    Ok(store
        .counters(prefix)?
        .into_iter()
        .map(|(name, n)| (name.trim_start_matches(prefix).to_owned(), n))
        .collect())
}

/// What was left unread as older than the backfill, per `account/source`.
pub fn skipped_by_source(store: &Store) -> Result<Vec<(String, u64)>, XError> {
    by_source(store, "skipped/")
}

/// The resources read so far this UTC day. X bills a post or DM event
/// read more than once in a UTC day once ("deduplication", its pricing
/// page says; a soft guarantee), so only the first read of the day is
/// counted: a quiet DM poll that reads the newest event again costs
/// nothing, and writes nothing. Kept for the life of the process: after a
/// restart the day's first reads count again, which over-counts (the safe
/// side of a budget) and never under-counts.
#[derive(Default)]
pub struct ReadToday(Mutex<Option<(NaiveDate, HashSet<String>)>>);

impl ReadToday {
    /// Whether reading `id` at `now` is billed: it was not read before on
    /// the same UTC day.
    pub fn first(&self, id: &str, now: DateTime<Utc>) -> bool {
        let today = now.date_naive();
        let mut guard = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let seen = match &mut *guard {
            Some((day, seen)) if *day == today => seen,
            other => &mut other.insert((today, HashSet::new())).1,
        };
        seen.insert(id.to_owned())
    }

    /// How many of `ids` (read at `now`) are billed.
    pub fn billed<'a>(&self, ids: impl IntoIterator<Item = &'a str>, now: DateTime<Utc>) -> u64 {
        ids.into_iter().filter(|id| self.first(id, now)).count() as u64
    }
}

/// `2026-11`.
pub fn month(now: DateTime<Utc>) -> String {
    now.format("%Y-%m").to_string()
}

/// The start of `now`'s month and of the next (UTC).
pub fn month_bounds(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    let next = if now.month() == 12 {
        Utc.with_ymd_and_hms(now.year() + 1, 1, 1, 0, 0, 0)
    } else {
        Utc.with_ymd_and_hms(now.year(), now.month() + 1, 1, 0, 0, 0)
    }
    .single()
    .unwrap_or(now);
    (start, next)
}

/// What `used` so far (reads, money) comes to by the month's end at this
/// pace (counted from at least an hour in, so the first minutes of a
/// month do not look fast).
pub fn projected(used: u64, now: DateTime<Utc>) -> u64 {
    let (start, next) = month_bounds(now);
    let month_s = (next - start).num_seconds().max(1) as f64;
    let elapsed_s = ((now - start).num_seconds() as f64).max(3600.0);
    (used as f64 * month_s / elapsed_s).round() as u64
}

/// Posts read this month per `account/source`.
pub fn reads_by_source(store: &Store, now: DateTime<Utc>) -> Result<Vec<(String, u64)>, XError> {
    by_source(store, &format!("reads/{}/", month(now)))
}

/// Posts read so far this month, by every account and source.
pub fn reads_this_month(store: &Store, now: DateTime<Utc>) -> Result<u64, XError> {
    Ok(store
        .counters(&format!("reads/{}/", month(now)))?
        .iter()
        .map(|(_, n)| n)
        .sum())
}

/// How long to wait before the next poll, given the month's reads so far
/// and the budget: the base interval while on pace, stretched in
/// proportion when reads run ahead of the budget (up to 10x), never
/// stopped. Returns a warning to log when slowed.
pub fn paced_interval(
    base: Duration,
    used: u64,
    budget: Option<u64>,
    now: DateTime<Utc>,
) -> (Duration, Option<String>) {
    let Some(budget) = budget.filter(|b| *b > 0) else {
        return (base, None);
    };
    const MAX_SLOWDOWN: f64 = 10.0;
    let projected = projected(used, now) as f64;
    if used >= budget {
        let slowed = base.mul_f64(MAX_SLOWDOWN);
        let warning = format!(
            "the monthly read budget ({budget}) is spent ({used} reads); polling continues every {} until the month ends",
            humantime::format_duration(slowed)
        );
        return (slowed, Some(warning));
    }
    if projected <= budget as f64 {
        return (base, None);
    }
    let factor = (projected / budget as f64).min(MAX_SLOWDOWN);
    let slowed = Duration::from_secs_f64((base.as_secs_f64() * factor).round());
    let warning = format!(
        "on pace to read {} posts this month against a budget of {budget}; polling slowed to every {}",
        projected.round(),
        humantime::format_duration(slowed)
    );
    (slowed, Some(warning))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::november as at;

    #[test]
    fn a_resource_read_again_the_same_utc_day_is_billed_once() {
        let read = ReadToday::default();
        assert_eq!(read.billed(["1", "2"], at(16, 9)), 2);
        assert_eq!(read.billed(["2", "3", "3"], at(16, 23)), 1);
        // A new UTC day bills the same posts again.
        assert_eq!(read.billed(["1", "2", "3"], at(17, 0)), 3);
        assert_eq!(read.billed(["1"], at(17, 12)), 0);
    }

    #[test]
    fn polling_keeps_its_pace_within_budget() {
        let base = Duration::from_secs(60);
        // Halfway through November (30 days), 4,000 of 10,000 read: on pace.
        assert_eq!(
            paced_interval(base, 4_000, Some(10_000), at(16, 0)),
            (base, None)
        );
        assert_eq!(paced_interval(base, 99_999, None, at(16, 0)), (base, None));
    }

    #[test]
    fn polling_slows_in_proportion_when_ahead_of_budget() {
        let base = Duration::from_secs(60);
        // Halfway through, 7,500 read: on pace for 15,000 of 10,000 -> 1.5x.
        let (wait, warning) = paced_interval(base, 7_500, Some(10_000), at(16, 0));
        assert_eq!(wait, Duration::from_secs(90));
        assert!(warning.is_some_and(|w| w.contains("15000") && w.contains("10000")));
    }

    #[test]
    fn a_spent_budget_slows_polling_but_never_stops_it() {
        let base = Duration::from_secs(60);
        let (wait, warning) = paced_interval(base, 10_000, Some(10_000), at(20, 0));
        assert_eq!(wait, Duration::from_secs(600));
        assert!(warning.is_some_and(|w| w.contains("spent") && w.contains("continues")));
        // Early in the month nothing looks alarming.
        assert_eq!(paced_interval(base, 10, Some(10_000), at(1, 0)).0, base);
    }
}
