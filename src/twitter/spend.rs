//! What perch spends on X, in money: every answer the X client gets is
//! priced as X bills it (`xrules::prices`, at the prices in config), and
//! added to this month's spend per account and source in the store. The
//! polls read it to keep within the monthly cap; `/healthz`, `/metrics`
//! and `stats` show it, with the month's projection.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::budget::{month, month_bounds, projected, ReadToday};
use super::XError;
use crate::config::{AtCap, Spend};
use crate::store::Store;
use crate::ticket::AccountKey;
use crate::xrules::prices::{self, Priced, MICROS_PER_DOLLAR};

/// Where a bill comes from: the source a request serves.
pub fn source_of(method: &str, path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("POST", ["2", "tweets"] | ["2", "dm_conversations", ..]) => "replies",
        (_, ["2", "users", _, "mentions"]) => "mentions",
        (_, ["2", "tweets", "search", ..]) => "search",
        (_, ["2", "dm_events"]) => "dms",
        _ => "lookups",
    }
}

/// Dollars, from micro-dollars.
pub fn dollars(micros: u64) -> f64 {
    micros as f64 / MICROS_PER_DOLLAR as f64
}

/// `$12.35`.
pub fn show(micros: u64) -> String {
    format!("${:.2}", dollars(micros))
}

/// Prices what X answers and counts it into the store.
pub struct Meter {
    store: Store,
    prices: prices::Prices,
    today: ReadToday,
}

impl Meter {
    pub fn new(store: Store, prices: prices::Prices) -> Self {
        Self {
            store,
            prices,
            today: ReadToday::default(),
        }
    }

    /// A successful answer to `method path`, for `account` (user `me`):
    /// `sent` is the request's body, `answer` X's.
    pub fn answered(
        &self,
        account: &AccountKey,
        me: &str,
        (method, path): (&str, &str),
        sent: &[u8],
        answer: &[u8],
        now: DateTime<Utc>,
    ) -> Result<u64, XError> {
        let read = |bytes: &[u8]| serde_json::from_slice(bytes).unwrap_or(Value::Null);
        let charges = prices::charges(method, path, me, &read(sent), &read(answer));
        let billed: Vec<Priced> = charges
            .iter()
            .filter(|c| {
                c.resource
                    .as_deref()
                    .is_none_or(|r| self.today.first(r, now))
            })
            .map(|c| c.what)
            .collect();
        let micros = billed.iter().map(|p| self.prices.of(*p)).sum();
        self.add(account, source_of(method, path), micros, now)?;
        // X's usage endpoint counts posts read per day: kept to compare.
        let posts = billed
            .iter()
            .filter(|p| matches!(p, Priced::PostRead | Priced::OwnedRead))
            .count() as u64;
        if posts > 0 {
            let day = super::usage::perch_key(now.date_naive());
            self.store.add_to_counter(&day, posts)?;
        }
        Ok(micros)
    }

    /// A line of the filtered stream (a post matching a rule of
    /// `account`'s), billed as a read of the post and its authors.
    pub fn streamed(
        &self,
        account: &AccountKey,
        line: &Value,
        now: DateTime<Utc>,
    ) -> Result<u64, XError> {
        let bytes = serde_json::to_vec(line).unwrap_or_default();
        let call = ("GET", "/2/tweets/search/stream");
        self.answered(account, "", call, b"", &bytes, now)
    }

    /// An X Activity API event of `event_type` delivered for `account`.
    pub fn delivered(
        &self,
        account: &AccountKey,
        event_type: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, XError> {
        let micros = prices::event(event_type).map_or(0, |p| self.prices.of(p));
        self.add(account, "webhook", micros, now)?;
        Ok(micros)
    }

    fn add(
        &self,
        account: &AccountKey,
        source: &str,
        micros: u64,
        now: DateTime<Utc>,
    ) -> Result<(), XError> {
        if micros > 0 {
            let name = format!("spend/{}/{account}/{source}", month(now));
            self.store.add_to_counter(&name, micros)?;
        }
        Ok(())
    }
}

/// This month's spend in micro-dollars per `account/source`.
pub fn by_source(store: &Store, now: DateTime<Utc>) -> Result<Vec<(String, u64)>, XError> {
    let prefix = format!("spend/{}/", month(now));
    Ok(store
        .counters(&prefix)?
        .into_iter()
        .map(|(name, n)| (name.trim_start_matches(&prefix).to_owned(), n))
        .collect())
}

/// This month's spend in micro-dollars.
pub fn this_month(store: &Store, now: DateTime<Utc>) -> Result<u64, XError> {
    Ok(by_source(store, now)?.iter().map(|(_, n)| n).sum())
}

/// The month's spend so far, for people: `stats`, `/healthz`, `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Month {
    /// `2026-12`.
    pub month: String,
    pub spent: u64,
    pub projected: u64,
    pub spend: Spend,
    /// Per `account/source`.
    pub by_source: Vec<(String, u64)>,
}

impl Month {
    pub fn read(store: &Store, spend: Spend, now: DateTime<Utc>) -> Result<Self, XError> {
        let by_source = by_source(store, now)?;
        let spent = by_source.iter().map(|(_, n)| n).sum();
        Ok(Self {
            month: month(now),
            spent,
            projected: projected(spent, now),
            spend,
            by_source,
        })
    }

    /// `X spend in 2026-12: $1.23 so far, $4.56 projected, of a $50.00 cap.`
    pub fn line(&self) -> String {
        let cap = match self.spend.monthly_cap {
            Some(cap) => {
                let then = match self.spend.at_cap {
                    AtCap::Slow => "polling slows",
                    AtCap::Stop => "reading stops",
                };
                format!(
                    ", of a {} cap ({}%; at the cap {then}, replies still go)",
                    show(cap),
                    self.spent * 100 / cap.max(1)
                )
            }
            None => " (no cap set: x.spend.monthly_cap)".to_owned(),
        };
        format!(
            "X spend in {}: {} so far, {} projected for the month{cap}.",
            self.month,
            show(self.spent),
            show(self.projected)
        )
    }

    /// For `/healthz`, in dollars.
    pub fn json(&self) -> Value {
        let sources: serde_json::Map<String, Value> = self
            .by_source
            .iter()
            .map(|(k, n)| (k.clone(), Value::from(dollars(*n))))
            .collect();
        serde_json::json!({
            "month": self.month,
            "spent_usd": dollars(self.spent),
            "projected_usd": dollars(self.projected),
            "cap_usd": self.spend.monthly_cap.map(dollars),
            "at_cap": match self.spend.at_cap { AtCap::Slow => "slow", AtCap::Stop => "stop" },
            "by_source_usd": sources,
        })
    }
}

/// The share of the cap spent that is worth saying: 50, 80 or 100 (%).
pub fn threshold(spent: u64, cap: u64) -> Option<u8> {
    let share = spent as f64 / cap.max(1) as f64;
    [100u8, 80, 50]
        .into_iter()
        .find(|t| share >= f64::from(*t) / 100.0)
}

/// What a poll does next, given the month's spend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Polling {
    /// Poll after this long (the base interval, or stretched).
    Every(Duration),
    /// Read nothing until the month turns (`at_cap = "stop"`).
    StopUntil(DateTime<Utc>),
}

/// How long to wait before the next poll: the base interval while the
/// month's projection is within the cap, stretched in proportion when it
/// runs ahead (up to 10x); at the cap, 10x (`slow`) or nothing until the
/// month turns (`stop`). Replies are never held: only reads are paced.
pub fn pace(base: Duration, spent: u64, spend: &Spend, now: DateTime<Utc>) -> Polling {
    const MAX_SLOWDOWN: f64 = 10.0;
    let Some(cap) = spend.monthly_cap.filter(|c| *c > 0) else {
        return Polling::Every(base);
    };
    if spent >= cap {
        return match spend.at_cap {
            AtCap::Slow => Polling::Every(base.mul_f64(MAX_SLOWDOWN)),
            AtCap::Stop => Polling::StopUntil(month_bounds(now).1),
        };
    }
    let projected = projected(spent, now);
    if projected <= cap {
        return Polling::Every(base);
    }
    let factor = (projected as f64 / cap as f64).min(MAX_SLOWDOWN);
    Polling::Every(Duration::from_secs_f64(
        (base.as_secs_f64() * factor).round(),
    ))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    use crate::testing::november as at;

    fn spend(cap_dollars: u64, at_cap: AtCap) -> Spend {
        Spend {
            monthly_cap: Some(cap_dollars * MICROS_PER_DOLLAR),
            at_cap,
        }
    }

    #[test]
    fn polls_keep_their_pace_within_the_cap_and_stretch_ahead_of_it() {
        let base = Duration::from_secs(60);
        let cap = spend(100, AtCap::Slow);
        // Halfway through November: $40 of $100 is on pace.
        assert_eq!(
            pace(base, 40_000_000, &cap, at(16, 0)),
            Polling::Every(base)
        );
        // $75 halfway is on pace for $150: 1.5x slower.
        assert_eq!(
            pace(base, 75_000_000, &cap, at(16, 0)),
            Polling::Every(Duration::from_secs(90))
        );
        assert_eq!(
            pace(base, 75_000_000, &Spend::default(), at(16, 0)),
            Polling::Every(base)
        );
    }

    #[test]
    fn at_the_cap_slow_stretches_and_stop_waits_for_the_month() {
        let base = Duration::from_secs(60);
        assert_eq!(
            pace(base, 100_000_000, &spend(100, AtCap::Slow), at(20, 0)),
            Polling::Every(Duration::from_secs(600))
        );
        assert_eq!(
            pace(base, 100_000_000, &spend(100, AtCap::Stop), at(20, 0)),
            Polling::StopUntil(
                Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
                    .single()
                    .unwrap_or_default()
            )
        );
    }

    #[test]
    fn the_month_is_projected_from_its_pace_and_shares_are_told_once() {
        // $10 in the first 15 days of a 30-day month: $20 by its end.
        assert_eq!(projected(10_000_000, at(16, 0)), 20_000_000);
        assert_eq!(threshold(49, 100), None);
        assert_eq!(threshold(50, 100), Some(50));
        assert_eq!(threshold(99, 100), Some(80));
        assert_eq!(threshold(130, 100), Some(100));
        assert_eq!(show(12_345_678), "$12.35");
        assert_eq!(source_of("GET", "/2/tweets/search/recent"), "search");
        assert_eq!(
            source_of("POST", "/2/dm_conversations/with/1/messages"),
            "replies"
        );
    }
}
