//! Polling ingest, one source at a time.
//!
//! A poll reads every page (following `next_token`), records each item in
//! the store's inbox (deduplicated by post or DM id, so a post reached by
//! two sources, or by a retry, is one item), and only then moves the
//! source's cursor to the first page's `newest_id`. A crash mid-poll
//! therefore re-reads, and dedupe drops what was already recorded.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use tokio::sync::watch;

use super::api::PostPage;
use super::inbound::{InboundItem, Source};
use super::{XClient, XError};
use crate::config::{Account, SearchRule};
use crate::store::Store;
use crate::xrules::limits;

/// How long an inbound id is remembered: longer than X lets DMs be re-read.
pub fn dedupe_ttl() -> chrono::Duration {
    chrono::Duration::days(35)
}

/// The most pages one poll follows before it stops and warns.
const MAX_PAGES: u32 = 50;

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Items recorded for the first time.
    pub recorded: Vec<InboundItem>,
    /// Posts or DM events X returned (and bills for).
    pub reads: u64,
    pub pages: u32,
}

/// Ingest for one account.
pub struct Ingest {
    pub account: Account,
    pub client: Arc<XClient>,
    pub store: Store,
}

/// How many DM events a poll reads first (then 100 a page while all are
/// new).
pub const DM_FIRST_PAGE: u8 = 10;

impl Ingest {
    pub async fn poll_mentions(&self, now: DateTime<Utc>) -> Result<PollReport, XError> {
        self.poll_posts(Source::Mentions, "mentions", now).await
    }

    pub async fn poll_search(
        &self,
        rule: &SearchRule,
        now: DateTime<Utc>,
    ) -> Result<PollReport, XError> {
        let source = Source::Search {
            rule: rule.name.clone(),
        };
        self.poll_posts(source, &format!("search:{}", rule.name), now)
            .await
    }

    async fn fetch(
        &self,
        source: &Source,
        since: Option<&str>,
        page: Option<&str>,
    ) -> Result<PostPage, XError> {
        match source {
            Source::Search { rule } => {
                let query = self
                    .account
                    .ingest
                    .search
                    .iter()
                    .find(|r| &r.name == rule)
                    .map(|r| r.query.clone())
                    .ok_or_else(|| XError::Invalid(format!("no search rule `{rule}`")))?;
                self.client.search_recent(&query, since, page).await
            }
            _ => {
                self.client
                    .mentions(self.account.user_id.as_str(), since, page)
                    .await
            }
        }
    }

    async fn poll_posts(
        &self,
        source: Source,
        cursor: &str,
        now: DateTime<Utc>,
    ) -> Result<PollReport, XError> {
        let key = self.account.key.as_str();
        let since = self.store.cursor(key, cursor)?;
        let mut report = PollReport::default();
        let mut newest: Option<String> = None;
        let mut page_token: Option<String> = None;
        loop {
            let page = self
                .fetch(&source, since.as_deref(), page_token.as_deref())
                .await?;
            report.pages += 1;
            report.reads += page.data.len() as u64;
            if newest.is_none() {
                newest = page.meta.newest_id.clone();
            }
            for post in &page.data {
                let Some(item) = InboundItem::from_post(
                    &self.account,
                    source.clone(),
                    post,
                    page.includes.as_ref(),
                    now,
                ) else {
                    continue;
                };
                if self
                    .store
                    .record_inbound(&item.dedupe_key(), &item, dedupe_ttl(), now)?
                {
                    report.recorded.push(item);
                }
            }
            page_token = page.meta.next_token.clone();
            if page_token.is_none() {
                break;
            }
            if report.pages >= MAX_PAGES {
                tracing::warn!(
                    account = key,
                    source = cursor,
                    "stopped after {MAX_PAGES} pages; the rest is read next time"
                );
                break;
            }
        }
        self.count_reads(&source, report.reads, now)?;
        // Everything the pages covered is recorded: now the cursor moves.
        if let Some(newest) = newest {
            if report.pages < MAX_PAGES {
                self.store.set_cursor(key, cursor, &newest)?;
            }
        }
        Ok(report)
    }

    /// DMs have no cursor: every poll reads the recent events and dedupe
    /// drops those already recorded.
    pub async fn poll_dms(&self, now: DateTime<Utc>) -> Result<PollReport, XError> {
        let mut report = PollReport::default();
        let mut page_token: Option<String> = None;
        loop {
            // X has no `since_id` for DMs and bills every event returned,
            // so a poll starts with a small page: when nothing is new, that
            // is all it reads.
            let size = if page_token.is_none() {
                DM_FIRST_PAGE
            } else {
                100
            };
            let page = self.client.dm_events(page_token.as_deref(), size).await?;
            report.pages += 1;
            report.reads += page.data.len() as u64;
            let mut all_known = !page.data.is_empty();
            for event in &page.data {
                let Some(item) =
                    InboundItem::from_dm(&self.account, event, page.includes.as_ref(), now)
                else {
                    continue;
                };
                if self
                    .store
                    .record_inbound(&item.dedupe_key(), &item, dedupe_ttl(), now)?
                {
                    all_known = false;
                    report.recorded.push(item);
                }
            }
            page_token = page.meta.next_token.clone();
            // Newest first: once a whole page is known, older pages are too.
            if page_token.is_none() || all_known || report.pages >= MAX_PAGES {
                break;
            }
        }
        self.count_reads(&Source::Dms, report.reads, now)?;
        Ok(report)
    }

    fn count_reads(&self, source: &Source, n: u64, now: DateTime<Utc>) -> Result<(), XError> {
        if n > 0 {
            let name = format!("{}/{}/{}", month(now), self.account.key, source.label());
            self.store.add_to_counter(&format!("reads/{name}"), n)?;
        }
        Ok(())
    }
}

/// `2026-11`.
pub fn month(now: DateTime<Utc>) -> String {
    now.format("%Y-%m").to_string()
}

/// Posts read this month per `account/source`.
pub fn reads_by_source(store: &Store, now: DateTime<Utc>) -> Result<Vec<(String, u64)>, XError> {
    let prefix = format!("reads/{}/", month(now));
    Ok(store
        .counters(&prefix)?
        .into_iter()
        .map(|(name, n)| (name.trim_start_matches(&prefix).to_owned(), n))
        .collect())
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
    let month_s = (next - start).num_seconds().max(1) as f64;
    // At least an hour in, so the first polls of a month do not look fast.
    let elapsed_s = ((now - start).num_seconds() as f64).max(3600.0);
    let projected = used as f64 * month_s / elapsed_s;
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

/// Which poll a loop runs.
#[derive(Debug, Clone)]
pub enum Task {
    Mentions,
    Dms,
    Search(SearchRule),
}

impl Task {
    /// The X endpoint its polls count against.
    pub fn endpoint(&self) -> &'static str {
        match self {
            Self::Mentions => limits::MENTIONS,
            Self::Dms => limits::DM_EVENTS,
            Self::Search(_) => limits::SEARCH_RECENT,
        }
    }

    /// `mentions`, `dms`, `search:brand`: the name in logs and counters.
    pub fn label(&self) -> String {
        match self {
            Self::Mentions => "mentions".to_owned(),
            Self::Dms => "dms".to_owned(),
            Self::Search(rule) => format!("search:{}", rule.name),
        }
    }
}

/// How one loop polls: its configured interval, the month's read budget,
/// and how many loops of its account poll the same endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub interval: Duration,
    pub budget: Option<u64>,
    pub sharers: u32,
}

/// Polls one source until `stop`: at its interval, paced by the budget
/// and by X's window for its endpoint (spread over the window, so that the
/// window is never spent before it resets).
pub async fn run(ingest: Arc<Ingest>, task: Task, pace: Pace, mut stop: watch::Receiver<bool>) {
    let account = ingest.account.key.clone();
    let source = task.label();
    let mut stretched = false;
    loop {
        let now = Utc::now();
        let poll = async {
            match &task {
                Task::Mentions => ingest.poll_mentions(now).await,
                Task::Dms => ingest.poll_dms(now).await,
                Task::Search(rule) => ingest.poll_search(rule, now).await,
            }
        };
        // Stopping mid-poll is safe: the cursor moves last, and dedupe
        // drops what the next run reads again.
        let outcome = tokio::select! {
            outcome = poll => outcome,
            _ = stop.wait_for(|s| *s) => return,
        };
        match outcome {
            Ok(report) if !report.recorded.is_empty() => {
                tracing::info!(%account, source = %source, new = report.recorded.len(), reads = report.reads, "ingested")
            }
            Ok(_) => {}
            Err(e) if e.is_retryable() => {
                tracing::warn!(%account, source = %source, error = %e, "poll failed; retrying next round")
            }
            Err(e) => tracing::error!(%account, source = %source, error = %e, "poll failed"),
        }
        let used = reads_this_month(&ingest.store, now).unwrap_or(0);
        let (budgeted, warning) = paced_interval(pace.interval, used, pace.budget, now);
        if let Some(w) = warning {
            tracing::warn!(%account, source = %source, "{w}");
        }
        let window = ingest.client.window(task.endpoint());
        let wait = limits::paced(budgeted, window, pace.sharers);
        if (wait > budgeted) != stretched {
            stretched = wait > budgeted;
            if stretched {
                tracing::info!(%account, source = %source, endpoint = task.endpoint(), every = %humantime::format_duration(round_s(wait)), "polling slowed to stay within X's rate limit window");
            } else {
                tracing::info!(%account, source = %source, every = %humantime::format_duration(budgeted), "polling at the configured interval again");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// Whole seconds, for logs.
fn round_s(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs_f64().round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0)
            .single()
            .unwrap_or_default()
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
