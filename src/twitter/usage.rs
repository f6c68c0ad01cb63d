//! X's own count of the posts read, compared with perch's: once a day
//! perch reads `GET /2/usage/tweets` (app-only) and sets X's daily figures
//! beside its own count of the posts it read (`spend::Meter`). X counts
//! the whole project (every app in it), so X may count more; perch
//! counting more than X, or X far more than perch, is logged as a warning
//! with what it may mean.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use tokio::sync::watch;

use super::{XClient, XError};
use crate::store::Store;

/// How often X's count is read.
pub const EVERY: Duration = Duration::from_secs(24 * 3600);

/// The store counter of the posts perch read on `day` (UTC).
pub fn perch_key(day: NaiveDate) -> String {
    format!("posts-read/{day}")
}

fn x_key(day: NaiveDate) -> String {
    format!("x-posts-read/{day}")
}

/// What `GET /2/usage/tweets` says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// Posts read by the project this billing cycle.
    pub project_usage: Option<u64>,
    pub project_cap: Option<u64>,
    /// Posts read by the project per UTC day.
    pub daily: BTreeMap<NaiveDate, u64>,
}

/// A count X writes as a string (the spec) or a number (some answers).
fn count(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.trim().parse().ok())
}

/// `2026-12-05T00:00:00.000Z` or `2026-12-05`.
fn day(v: &Value) -> Option<NaiveDate> {
    let s = v.as_str()?;
    s.get(..10)?.parse().ok()
}

impl Usage {
    /// Reads X's answer. X's documentation shows two shapes of the daily
    /// figures: `daily_project_usage.usage[] {date, usage}` (the OpenAPI
    /// file) and `daily_project_usage[] {date, usage[] {tweets_consumed}}`
    /// (the usage page); both are read.
    pub fn read(answer: &Value) -> Self {
        let data = &answer["data"];
        let mut daily = BTreeMap::new();
        let project = &data["daily_project_usage"];
        for entry in project["usage"].as_array().into_iter().flatten() {
            if let (Some(d), Some(n)) = (day(&entry["date"]), count(&entry["usage"])) {
                daily.insert(d, n);
            }
        }
        for entry in project.as_array().into_iter().flatten() {
            let n = entry["usage"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|u| count(&u["tweets_consumed"]))
                .sum();
            if let Some(d) = day(&entry["date"]) {
                daily.insert(d, n);
            }
        }
        Self {
            project_usage: count(&data["project_usage"]),
            project_cap: count(&data["project_cap"]),
            daily,
        }
    }
}

impl XClient {
    /// X's count of the posts the project read, for the last `days` days
    /// (app-only).
    pub async fn usage(&self, days: u32) -> Result<Usage, XError> {
        let query = BTreeMap::from([
            ("days", days.clamp(1, 90).to_string()),
            (
                "usage.fields",
                "daily_project_usage,project_cap,project_usage".to_owned(),
            ),
        ]);
        let answer: Value = self.get("/2/usage/tweets", &query).await?;
        Ok(Usage::read(&answer))
    }
}

/// One day's two counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub day: NaiveDate,
    pub perch: u64,
    pub x: Option<u64>,
}

impl Day {
    /// What is worth a warning, if anything.
    pub fn problem(&self) -> Option<String> {
        let x = self.x?;
        if self.perch > x {
            return Some(format!(
                "perch counted {} posts read on {} and X counts {x}: perch's spend figures run high (X deduplicates more than perch knows)",
                self.perch, self.day
            ));
        }
        // X counts every app of the project; far more is worth knowing.
        let slack = (self.perch / 20).max(2);
        (x > self.perch + slack).then(|| format!(
            "X counts {x} posts read on {} by the project and perch counted {}: another app in the project reads too, or perch misses reads in its spend figures",
            self.day, self.perch
        ))
    }
}

/// The last `days` days' counts, oldest first.
pub fn days(store: &Store, now: DateTime<Utc>, days: u32) -> Result<Vec<Day>, XError> {
    let today = now.date_naive();
    let mut out = Vec::new();
    for back in (0..days).rev() {
        let day = today - chrono::Duration::days(i64::from(back));
        let perch = store.counter(&perch_key(day))?.unwrap_or(0);
        let x = store.counter(&x_key(day))?;
        out.push(Day { day, perch, x });
    }
    Ok(out)
}

/// Sets X's figures beside perch's and says what differs.
pub fn compare(store: &Store, usage: &Usage, now: DateTime<Utc>) -> Result<Vec<Day>, XError> {
    for (day, n) in &usage.daily {
        store.set_counter(&x_key(*day), *n)?;
    }
    let compared = days(store, now, 2)?;
    for d in &compared {
        match d.problem() {
            Some(p) => tracing::warn!(day = %d.day, perch = d.perch, x = d.x, "{p}"),
            None => {
                tracing::info!(day = %d.day, perch = d.perch, x = d.x, "X's count of posts read agrees with perch's")
            }
        }
    }
    Ok(compared)
}

/// Reads X's count now and then every `EVERY` until `stop`.
pub async fn run(app: Arc<XClient>, store: Store, mut stop: watch::Receiver<bool>) {
    loop {
        match app.usage(2).await {
            Ok(usage) => {
                if let Err(e) = compare(&store, &usage, Utc::now()) {
                    tracing::warn!(error = %e, "cannot keep X's count of posts read");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read X's count of posts read (GET /2/usage/tweets); will try again tomorrow")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn on(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap_or_default()
    }

    #[test]
    fn both_documented_shapes_are_read() {
        let spec = json!({"data": {"project_usage": "43435", "project_cap": "3000000",
            "daily_project_usage": {"project_id": "1", "usage": [
                {"date": "2026-12-04T00:00:00.000Z", "usage": "12"},
                {"date": "2026-12-05T00:00:00.000Z"}]}}});
        let u = Usage::read(&spec);
        assert_eq!(u.project_usage, Some(43_435));
        assert_eq!(u.project_cap, Some(3_000_000));
        assert_eq!(u.daily, BTreeMap::from([(on(4), 12)]));
        let page = json!({"data": {"daily_project_usage": [
            {"date": "2026-12-05", "usage": [{"app_id": "1", "tweets_consumed": 15}, {"app_id": "2", "tweets_consumed": 5}]}],
            "project_cap": 10_000_000}});
        let u = Usage::read(&page);
        assert_eq!(u.daily, BTreeMap::from([(on(5), 20)]));
        assert_eq!(u.project_cap, Some(10_000_000));
    }

    #[test]
    fn a_difference_worth_knowing_is_said() {
        let day = |perch, x| Day {
            day: on(5),
            perch,
            x,
        };
        assert_eq!(day(10, None).problem(), None);
        assert_eq!(day(100, Some(100)).problem(), None);
        // Another app's few reads, within 5% (or 2): nothing to say.
        assert_eq!(day(100, Some(104)).problem(), None);
        assert!(day(100, Some(130))
            .problem()
            .is_some_and(|p| p.contains("another app")));
        assert!(day(12, Some(10))
            .problem()
            .is_some_and(|p| p.contains("run high")));
    }
}
