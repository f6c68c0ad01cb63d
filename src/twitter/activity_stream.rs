//! The X Activity API without a public URL: for the accounts with
//! `[accounts.ingest.activity_stream]` perch subscribes each to its events
//! with no webhook (so X delivers them on the app's activity stream) and
//! holds that one connection (`GET /2/activity/stream`, app-only). A
//! line is the same envelope a webhook delivery is, and goes through the
//! same deduplicated inbox. A reconnection asks for the backfill X allows
//! (5 minutes); after a longer gap perch catches up by one poll (the
//! mentions after the last one read, the DMs down to the first it knows),
//! as it does when X will not replay a webhook's gap.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::watch;

use super::activity::{self, Delivery};
use super::ingest::Ingest;
use super::lines::{Lines, Next};
use super::spend::Meter;
use super::stream::after_session;
use super::subscriptions::in_step;
use super::webhook::http::Taker;
use super::{XClient, XError};
use crate::config::Account;
use crate::store::Store;

/// X's largest backfill on a reconnection.
const BACKFILL_MINUTES: u32 = 5;

/// Where perch notes until when it was reading the stream.
const UPTO: &str = "activity-stream-upto";

/// An account read from the stream: its events, its own client (X takes
/// subscriptions to private events only from the user) and its ingest
/// (for the catch-up poll).
pub struct Reader {
    pub account: Account,
    pub events: Vec<String>,
    pub user: Arc<XClient>,
    pub ingest: Arc<Ingest>,
}

/// Holds the activity stream until `stop`.
pub struct ActivityStreamer {
    pub app: Arc<XClient>,
    pub readers: Vec<Reader>,
    pub store: Store,
    pub metrics: crate::metrics::Metrics,
    pub meter: Arc<Meter>,
    pub vitals: crate::vitals::Vitals,
}

impl ActivityStreamer {
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let link = "x activity stream";
        // Subscribed first (again after a failure), then connected.
        let mut subscribed = false;
        let mut failures = 0u32;
        let mut first = true;
        loop {
            let outcome = tokio::select! {
                outcome = self.session(&mut subscribed, first) => outcome,
                _ = stop.wait_for(|s| *s) => {
                    self.mark(Utc::now());
                    return;
                }
            };
            first = false;
            let (error, wait) = after_session(outcome, &mut failures);
            tracing::warn!(error = %error, retry_s = wait.as_secs_f64(), "the X Activity API stream is down; reconnecting (with 5 minutes of backfill)");
            self.vitals
                .failed(link, &error, crate::vitals::PLATFORM_PATIENCE);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => {
                    self.mark(Utc::now());
                    return;
                }
            }
        }
    }

    /// Notes until when perch was reading the stream.
    fn mark(&self, now: DateTime<Utc>) {
        for r in &self.readers {
            if let Err(e) = self
                .store
                .set_cursor(r.account.key.as_str(), UPTO, &now.to_rfc3339())
            {
                tracing::warn!(account = %r.account.key, error = %e, "cannot note until when the activity stream was read");
            }
        }
    }

    /// Subscribes (once), catches up after a gap (the first time),
    /// connects and reads until the stream ends.
    async fn session(&self, subscribed: &mut bool, first: bool) -> Result<(), XError> {
        if !*subscribed {
            for r in &self.readers {
                let done = in_step(&self.app, &r.user, &r.account, &r.events, None).await?;
                tracing::info!(account = %r.account.key, subscribed = ?done.created, kept = ?done.kept, removed = ?done.removed, "X delivers the account's activity on the app's activity stream");
                for source in ["mentions", "dms"] {
                    r.ingest.watch(source, Utc::now())?;
                }
            }
            *subscribed = true;
        }
        if first {
            self.catch_up().await;
        }
        let query = BTreeMap::from([("backfill_minutes", BACKFILL_MINUTES.to_string())]);
        let response = self.app.open_stream("/2/activity/stream", &query).await?;
        self.vitals.ok("x activity stream");
        tracing::info!("the X Activity API stream is up: mentions and DMs arrive as they come");
        let mut lines = Lines::new(response, Duration::from_secs(300));
        loop {
            match lines.next().await {
                Next::Line(line) => {
                    self.vitals.ok("x activity stream");
                    self.line(&line, Utc::now())?;
                    self.mark(Utc::now());
                }
                Next::Quiet => self.mark(Utc::now()),
                Next::Ended(why) => {
                    tracing::warn!(why, "the X Activity API stream ended");
                    return Ok(());
                }
            }
        }
    }

    /// After a gap longer than X's backfill: one poll per account.
    async fn catch_up(&self) {
        let now = Utc::now();
        for r in &self.readers {
            let key = r.account.key.as_str();
            let upto = self
                .store
                .cursor(key, UPTO)
                .ok()
                .flatten()
                .and_then(|at| DateTime::parse_from_rfc3339(&at).ok())
                .map(|at| at.with_timezone(&Utc));
            let Some(upto) = upto else {
                continue;
            };
            if now - upto <= chrono::Duration::minutes(i64::from(BACKFILL_MINUTES)) {
                continue;
            }
            super::replay::catch_up(&r.ingest, upto).await;
        }
    }

    /// One line: an event for one of the accounts (others are left).
    fn line(&self, line: &[u8], now: DateTime<Utc>) -> Result<(), XError> {
        let payload: Value = match serde_json::from_slice(line) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "an activity-stream line is not JSON; left");
                return Ok(());
            }
        };
        let for_user = payload["data"]["filter"]["user_id"].as_str();
        let Some(reader) = self
            .readers
            .iter()
            .find(|r| Some(r.account.user_id.as_str()) == for_user)
        else {
            tracing::info!(
                for_user,
                "an activity-stream event for an account perch does not read; left"
            );
            return Ok(());
        };
        let Delivery::Event {
            event_type, items, ..
        } = activity::read(&reader.account, &payload, now)
        else {
            return Ok(());
        };
        let taker = Taker {
            account: &reader.account,
            store: &self.store,
            metrics: &self.metrics,
            meter: &self.meter,
        };
        taker.take_in(Some(&event_type), &items, now)?;
        Ok(())
    }
}
