//! Real-time delivery kept working by `perch run`, for each account with
//! a webhook URL: once perch serves the webhook (X checks it with a CRC
//! request), its X Activity API subscriptions are made what the config
//! asks (as `perch x subscribe` does), tried again until X takes them.
//! Then nothing is lost across downtime: perch notes, while it runs and
//! when it stops, until when it was there to receive X's deliveries; at
//! the next start it asks X to deliver again what came to the webhook
//! since then (`POST /2/webhooks/replay`, at most the last 24 hours).
//! What it receives twice is recorded once (the inbox is deduplicated by
//! post and DM id), and what is older than 24 hours is left to the
//! polling sources' catch-up with `since_id`, when they are on.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::ingest::Ingest;
use super::subscriptions::{reconcile, webhook_of, Subscribed};
use super::{XClient, XError};
use crate::backoff::Backoff;
use crate::config::Account;
use crate::store::Store;
use crate::vitals::Vitals;

/// The store's note of when perch last knew it was receiving.
const UPTO: &str = "webhook-upto";

/// How often the note is renewed while perch runs: a crash replays at
/// most this much (already recorded, so dropped) more.
const MARK_EVERY: Duration = Duration::from_secs(300);

/// How long perch waits before asking X again after a refusal.
const AGAIN: Backoff = Backoff {
    first: Duration::from_secs(1),
    max: Duration::from_secs(300),
};

/// How many times perch asks for a replay (X runs one job per webhook at
/// a time: a restart while the last one runs is refused for a while).
const REPLAY_TRIES: u32 = 6;

/// How far back X replays.
const REACH: chrono::Duration = chrono::Duration::hours(24);

fn mark(store: &Store, account: &Account, now: DateTime<Utc>) {
    if let Err(e) = store.set_cursor(account.key.as_str(), UPTO, &now.to_rfc3339()) {
        tracing::warn!(account = %account.key, error = %e, "cannot note until when perch received X's deliveries");
    }
}

/// Until when perch was receiving for `account`, if it ever was.
pub fn received_until(store: &Store, account: &Account) -> Option<DateTime<Utc>> {
    let at = store.cursor(account.key.as_str(), UPTO).ok()??;
    DateTime::parse_from_rfc3339(&at)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// The window to replay after receiving until `upto`: from the minute
/// before (X counts whole minutes), at most 24 hours back, to now.
pub fn window(upto: DateTime<Utc>, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>, bool) {
    let from = upto - chrono::Duration::minutes(1);
    let earliest = now - REACH + chrono::Duration::minutes(1);
    if from < earliest {
        (earliest, now, true)
    } else {
        (from, now, false)
    }
}

async fn ask(
    app: &XClient,
    account: &Account,
    url: &str,
    upto: DateTime<Utc>,
) -> Result<(), XError> {
    let Some(webhook) = webhook_of(app, url, false).await? else {
        tracing::warn!(account = %account.key, url, "X has no webhook at this address, so nothing is delivered to perch: run `perch x subscribe --account {}`", account.key);
        return Ok(());
    };
    let (from, to, cut) = window(upto, Utc::now());
    if cut {
        tracing::warn!(account = %account.key, down_since = %upto.to_rfc3339(), "perch was away longer than X replays (24 hours): what came before {} is read only by polling, where it is on", from.to_rfc3339());
    }
    let job = app.replay(&webhook.id, from, to).await?;
    tracing::info!(account = %account.key, job, from = %from.to_rfc3339(), to = %to.to_rfc3339(), "asked X to deliver again what perch missed while it was away");
    Ok(())
}

/// X refuses a replay while one still runs for the webhook (400
/// `ReplayConflictError`); that passes, like its 5xx and rate limits.
fn worth_asking_again(e: &XError) -> bool {
    e.is_retryable()
        || matches!(e, XError::Refused { detail, .. } if detail.contains("ReplayConflict"))
}

/// The vitals link of an account's real-time delivery.
pub fn link(account: &Account) -> String {
    format!("x {}/webhook", account.key)
}

/// What `perch run` keeps for one account's webhook.
pub struct Keeper {
    /// The app itself (webhooks, replay, the list of subscriptions).
    pub app: Arc<XClient>,
    /// The account (its private events are subscribed with its own
    /// credentials).
    pub user: Arc<XClient>,
    pub account: Account,
    pub url: String,
    pub replay: bool,
    pub store: Store,
    pub vitals: Vitals,
    /// Reads what X did not replay.
    pub ingest: Arc<Ingest>,
    /// True once perch answers HTTP (X's CRC comes at registration).
    pub serving: watch::Receiver<bool>,
}

impl Keeper {
    /// Subscribes until X takes it (a CRC that perch could not answer
    /// yet, X unreachable) or perch stops; `None` on a stop.
    async fn subscribe(&self, stop: &mut watch::Receiver<bool>) -> Option<Subscribed> {
        let link = link(&self.account);
        let mut serving = self.serving.clone();
        tokio::select! {
            _ = serving.wait_for(|s| *s) => {}
            _ = stop.wait_for(|s| *s) => return None,
        }
        let mut attempt = 0;
        loop {
            match reconcile(&self.app, &self.user, &self.account).await {
                Ok(done) => {
                    self.vitals.ok(&link);
                    return Some(done);
                }
                Err(e) => {
                    attempt += 1;
                    self.vitals
                        .failed(&link, &e, crate::vitals::PLATFORM_PATIENCE);
                    tracing::warn!(account = %self.account.key, error = %e, attempt, "X would not take the webhook's subscriptions; trying again");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(AGAIN.after(attempt)) => {}
                _ = stop.wait_for(|s| *s) => return None,
            }
        }
    }

    /// Asks for the replay of the gap since `upto`, again while X refuses
    /// (a job still running), at most `REPLAY_TRIES` times; whether X took
    /// it.
    async fn replay_since(&self, upto: DateTime<Utc>, stop: &mut watch::Receiver<bool>) -> bool {
        let account = &self.account;
        for attempt in 1..=REPLAY_TRIES {
            match ask(&self.app, account, &self.url, upto).await {
                Ok(()) => return true,
                Err(e) if attempt < REPLAY_TRIES && worth_asking_again(&e) => {
                    tracing::warn!(account = %account.key, error = %e, attempt, "X did not take the replay of what perch missed; asking again");
                }
                Err(e) => {
                    tracing::error!(account = %account.key, error = %e, since = %upto.to_rfc3339(), "X would not replay what perch missed; one poll reads it instead");
                    return false;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(AGAIN.after(attempt)) => {}
                _ = stop.wait_for(|s| *s) => return false,
            }
        }
        false
    }

    /// Subscribes, asks for the replay of the gap (when perch was away),
    /// then notes while it runs, and when it stops, that it was receiving.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let Some(done) = self.subscribe(&mut stop).await else {
            return;
        };
        tracing::info!(account = %self.account.key, subscribed = ?done.created, kept = ?done.kept, removed = ?done.removed, "X delivers the account's activity to its webhook");
        // Mentions and DMs are watched from the first subscription on: a
        // catch-up poll reads nothing from before it.
        for source in ["mentions", "dms"] {
            if let Err(e) = self.ingest.watch(source, Utc::now()) {
                tracing::warn!(account = %self.account.key, source, error = %e, "cannot note since when the webhook watches");
            }
        }
        for s in &done.foreign {
            tracing::info!(account = %self.account.key, event_type = %s.event_type, subscription = %s.subscription_id, "a subscription perch did not make delivers here too; left alone");
        }
        if let Some(upto) = received_until(&self.store, &self.account) {
            let replayed = self.replay && self.replay_since(upto, &mut stop).await;
            if !replayed && !*stop.borrow() {
                catch_up(&self.ingest, upto).await;
            }
        }
        let mut every = tokio::time::interval(MARK_EVERY);
        loop {
            tokio::select! {
                _ = every.tick() => mark(&self.store, &self.account, Utc::now()),
                _ = stop.wait_for(|s| *s) => {
                    mark(&self.store, &self.account, Utc::now());
                    return;
                }
            }
        }
    }
}

/// What X did not bring back after perch was away from `upto`, read by
/// one poll: the mentions after the last one read (or from `upto`), and
/// the DMs down to the first one perch knows. Both go through the same
/// deduplicated inbox.
pub(super) async fn catch_up(ingest: &Ingest, upto: DateTime<Utc>) {
    let key = &ingest.account.key;
    let now = Utc::now();
    match ingest.catch_up_mentions(upto, now).await {
        Ok(r) => {
            tracing::info!(account = %key, new = r.recorded.len(), "caught up on mentions by one poll")
        }
        Err(e) => {
            tracing::error!(account = %key, error = %e, "cannot catch up on mentions missed while perch was away")
        }
    }
    match ingest.poll_dms(now).await {
        Ok(r) => {
            tracing::info!(account = %key, new = r.recorded.len(), "caught up on DMs by one poll")
        }
        Err(e) => {
            tracing::error!(account = %key, error = %e, "cannot catch up on DMs missed while perch was away")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, h, m, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn the_gap_is_replayed_from_the_minute_before_and_at_most_a_day_back() {
        assert_eq!(
            window(at(10, 30), at(11, 0)),
            (at(10, 29), at(11, 0), false)
        );
        let long_ago = at(10, 0) - chrono::Duration::days(2);
        assert_eq!(
            window(long_ago, at(11, 0)),
            (at(11, 1) - chrono::Duration::days(1), at(11, 0), true)
        );
    }
}
