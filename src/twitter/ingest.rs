//! Polling ingest, one source at a time.
//!
//! A poll reads every page (following `next_token`), records each item in
//! the store's inbox (deduplicated by post or DM id, so a post reached by
//! two sources, or by a retry, is one item), and only then moves the
//! source's cursor to the first page's `newest_id`. A crash mid-poll
//! therefore re-reads, and dedupe drops what was already recorded.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::api::{Includes, PostPage, User};
pub use super::budget::{
    month, paced_interval, reads_by_source, reads_this_month, skipped_by_source, ReadToday,
};
use super::inbound::{InboundItem, Source};
use super::{Since, XClient, XError};
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
    /// Posts or DM events X returned.
    pub reads: u64,
    /// Of those, what X bills: the ones not read before this UTC day.
    pub billed: u64,
    pub pages: u32,
    /// Items older than the backfill window, left alone.
    pub skipped: u64,
}

/// When perch began watching a source, and how far back it reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Watch {
    pub(crate) since: DateTime<Utc>,
    pub(crate) from: DateTime<Utc>,
}

/// Ingest for one account.
pub struct Ingest {
    pub account: Account,
    pub client: Arc<XClient>,
    pub store: Store,
    /// How far before it started watching a source its first poll reads.
    pub backfill: Duration,
    /// Authors X left out of a page's expansions, looked up once.
    pub users: UserCache,
    /// What was read today, so a read X does not bill again is not
    /// counted again.
    pub read_today: ReadToday,
}

/// Users looked up by id, remembered for the life of the process.
#[derive(Default)]
pub struct UserCache(std::sync::Mutex<std::collections::HashMap<String, User>>);

/// X's recent search reaches this far back.
const SEARCH_REACH: chrono::Duration = chrono::Duration::days(7);

/// How many DM events a poll asks for, page by page (the last size for
/// every page after): the newest first, which on a quiet poll is all it
/// reads, then more while everything is new.
pub const DM_PAGES: [u8; 3] = [1, 10, 100];

impl Ingest {
    pub async fn poll_mentions(&self, now: DateTime<Utc>) -> Result<PollReport, XError> {
        self.poll_posts(Source::Mentions, "mentions", None, now)
            .await
    }

    /// One poll of the mentions after perch was away (and X did not
    /// replay what it missed): from `since_id` when a poll ran before, else
    /// from a minute before `upto` (when perch last knew it was receiving).
    pub async fn catch_up_mentions(
        &self,
        upto: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<PollReport, XError> {
        let floor = upto - chrono::Duration::minutes(1);
        self.poll_posts(Source::Mentions, "mentions", Some(floor), now)
            .await
    }

    pub async fn poll_search(
        &self,
        rule: &SearchRule,
        now: DateTime<Utc>,
    ) -> Result<PollReport, XError> {
        let source = Source::Search {
            rule: rule.name.clone(),
        };
        self.poll_posts(source, &format!("search:{}", rule.name), None, now)
            .await
    }

    async fn fetch(
        &self,
        source: &Source,
        since: Since<'_>,
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

    /// `includes` with every one of `authors` in its users: X leaves some
    /// out at times, and those are looked up (once) so that nobody is
    /// addressed by number. One X has no more (deleted, suspended) stays
    /// missing, and their post is left, with a warning.
    pub(crate) async fn with_authors<'a>(
        &self,
        includes: Option<&Includes>,
        authors: impl Iterator<Item = &'a str>,
    ) -> Result<Includes, XError> {
        let mut complete = includes.cloned().unwrap_or_default();
        let mut missing: Vec<&str> = Vec::new();
        {
            let cache = self
                .users
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // The account's own posts are never ingested: nobody to look up.
            for id in authors.filter(|id| *id != self.account.user_id.as_str()) {
                if complete.users.iter().any(|u| u.id == id) || missing.contains(&id) {
                    continue;
                }
                match cache.get(id) {
                    Some(user) => complete.users.push(user.clone()),
                    None => missing.push(id),
                }
            }
        }
        if missing.is_empty() {
            return Ok(complete);
        }
        let found = self.client.users(&missing).await?;
        let mut cache = self
            .users
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for id in &missing {
            if !found.iter().any(|u| u.id == *id) {
                tracing::warn!(account = %self.account.key, user = id, "X does not know this author any more; their post or DM is left unanswered");
            }
        }
        for user in found {
            cache.insert(user.id.clone(), user.clone());
            complete.users.push(user);
        }
        Ok(complete)
    }

    /// When perch started watching `source` (now, the first time it is
    /// asked), and from when its first poll reads: `backfill` before that.
    pub(crate) fn watch(&self, source: &str, now: DateTime<Utc>) -> Result<Watch, XError> {
        let key = self.account.key.as_str();
        let name = format!("{source}#watching_since");
        let backfill = chrono::Duration::from_std(self.backfill).unwrap_or_default();
        let since = match self.store.cursor(key, &name)? {
            Some(at) => DateTime::parse_from_rfc3339(&at)
                .map(|at| at.with_timezone(&Utc))
                .unwrap_or(now),
            None => {
                self.store.set_cursor(key, &name, &now.to_rfc3339())?;
                tracing::info!(account = key, source, from = %(now - backfill).to_rfc3339(), "watching a new source: its first poll reads from here (x.backfill), and nothing older becomes a ticket");
                now
            }
        };
        let from = since - backfill;
        Ok(Watch { since, from })
    }

    /// Reads `source` after its cursor, or (none yet) from when perch
    /// began watching it, and from `floor` if that is later.
    async fn poll_posts(
        &self,
        source: Source,
        cursor: &str,
        floor: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<PollReport, XError> {
        let key = self.account.key.as_str();
        let since = self.store.cursor(key, cursor)?;
        let watch = self.watch(cursor, now)?;
        let from = floor.map_or(watch.from, |f| watch.from.max(f));
        let start = match &since {
            Some(id) => Since::Id(id),
            // X answers recent search for the last 7 days only.
            None if matches!(source, Source::Search { .. }) => {
                Since::Time(from.max(now - SEARCH_REACH + chrono::Duration::minutes(1)))
            }
            None => Since::Time(from),
        };
        let mut report = PollReport::default();
        let mut newest: Option<String> = None;
        let mut page_token: Option<String> = None;
        loop {
            let page = self.fetch(&source, start, page_token.as_deref()).await?;
            report.pages += 1;
            report.reads += page.data.len() as u64;
            report.billed += self
                .read_today
                .billed(page.data.iter().map(|p| p.id.as_str()), now);
            if newest.is_none() {
                newest = page.meta.newest_id.clone();
            }
            let authors = page.data.iter().filter_map(|p| p.author_id.as_deref());
            let includes = self.with_authors(page.includes.as_ref(), authors).await?;
            for post in &page.data {
                let Some(mut item) = InboundItem::from_post(
                    &self.account,
                    source.clone(),
                    post,
                    Some(&includes),
                    now,
                ) else {
                    continue;
                };
                if item.created_at < watch.from {
                    report.skipped += 1;
                    continue;
                }
                item.backfilled = item.created_at < watch.since;
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
        self.count_reads(&source, report.billed, now)?;
        self.count_skipped(&source, report.skipped)?;
        // Everything the pages covered is recorded: now the cursor moves.
        if let Some(newest) = newest {
            if report.pages < MAX_PAGES {
                self.store.set_cursor(key, cursor, &newest)?;
            }
        }
        Ok(report)
    }

    /// DMs have no cursor: a poll reads the newest event, and further
    /// (newest first) only until it meets one already recorded, or one
    /// older than the backfill. What is new is recorded oldest first, so a
    /// poll cut short (a crash, an error) leaves the newest unrecorded,
    /// and the next poll, which stops at the first event it knows, reads
    /// down to them again instead of stopping above them.
    pub async fn poll_dms(&self, now: DateTime<Utc>) -> Result<PollReport, XError> {
        let watch = self.watch("dms", now)?;
        let mut report = PollReport::default();
        let mut fresh = Vec::new();
        let mut page_token: Option<String> = None;
        'pages: loop {
            // X bills every event returned and has no `since_id` for DMs.
            let size = DM_PAGES[(report.pages as usize).min(DM_PAGES.len() - 1)];
            let page = self.client.dm_events(page_token.as_deref(), size).await?;
            report.pages += 1;
            report.reads += page.data.len() as u64;
            let first: Vec<bool> = page
                .data
                .iter()
                .map(|e| self.read_today.first(&e.id, now))
                .collect();
            report.billed += first.iter().filter(|f| **f).count() as u64;
            let senders = page.data.iter().filter_map(|e| e.sender_id.as_deref());
            let includes = self.with_authors(page.includes.as_ref(), senders).await?;
            for (event, first) in page.data.iter().zip(first) {
                let Some(mut item) =
                    InboundItem::from_dm(&self.account, event, Some(&includes), now)
                else {
                    continue;
                };
                // Older than the backfill: the account's past, and all
                // that follows is older still (counted once a day, as the
                // quiet polls meet it again).
                if item.created_at < watch.from {
                    report.skipped += u64::from(first);
                    break 'pages;
                }
                if self.store.was_recorded(&item.dedupe_key(), now)? {
                    break 'pages;
                }
                item.backfilled = item.created_at < watch.since;
                fresh.push(item);
            }
            page_token = page.meta.next_token.clone();
            if page_token.is_none() || report.pages >= MAX_PAGES {
                break;
            }
        }
        for item in fresh.into_iter().rev() {
            if self
                .store
                .record_inbound(&item.dedupe_key(), &item, dedupe_ttl(), now)?
            {
                report.recorded.push(item);
            }
        }
        report.recorded.reverse();
        self.count_reads(&Source::Dms, report.billed, now)?;
        self.count_skipped(&Source::Dms, report.skipped)?;
        Ok(report)
    }

    /// Counts what was left unread as older than the backfill, for health.
    fn count_skipped(&self, source: &Source, n: u64) -> Result<(), XError> {
        if n > 0 {
            let name = format!("skipped/{}/{}", self.account.key, source.label());
            self.store.add_to_counter(&name, n)?;
            tracing::info!(account = %self.account.key, source = %source.label(), skipped = n, "left posts or DMs older than the backfill window unread: no ticket, no reply");
        }
        Ok(())
    }

    fn count_reads(&self, source: &Source, n: u64, now: DateTime<Utc>) -> Result<(), XError> {
        if n > 0 {
            let name = format!("{}/{}/{}", month(now), self.account.key, source.label());
            self.store.add_to_counter(&format!("reads/{name}"), n)?;
        }
        Ok(())
    }
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
