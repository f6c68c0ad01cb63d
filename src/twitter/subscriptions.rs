//! The X Activity API from perch's side: the app's webhook at an
//! account's URL, the account's subscriptions kept as the config asks
//! (`perch x subscribe`), and the replay of what X delivered while perch
//! was down.
//!
//! X takes webhooks, replay and the list of subscriptions from the app
//! alone (its bearer token), and a subscription to private events (DMs,
//! mentions) only with the credentials of the user it watches.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::client::parse;
use super::{XClient, XError};
use crate::config::Account;

/// A webhook of the app (`GET /2/webhooks`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WebhookConfig {
    pub id: String,
    pub url: String,
    #[serde(default)]
    pub valid: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// An XAA subscription (`GET /2/activity/subscriptions`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ActivitySubscription {
    pub subscription_id: String,
    pub event_type: String,
    #[serde(default)]
    pub filter: Filter,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub webhook_id: Option<String>,
}

#[derive(Deserialize)]
struct List<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
    #[serde(default)]
    meta: Option<Meta>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Deserialize)]
struct One<T> {
    data: T,
}

#[derive(Deserialize)]
struct Created {
    subscription: ActivitySubscription,
}

#[derive(Deserialize)]
struct Job {
    job_id: String,
}

/// X's minutes for a replay window: `yyyymmddhhmm`, UTC.
fn minute(at: DateTime<Utc>) -> String {
    at.format("%Y%m%d%H%M").to_string()
}

impl XClient {
    /// The app's webhooks (app-only).
    pub async fn webhooks(&self) -> Result<Vec<WebhookConfig>, XError> {
        let list: List<WebhookConfig> = self.get("/2/webhooks", &BTreeMap::new()).await?;
        Ok(list.data)
    }

    /// Registers `url`; X checks it with a CRC request first, so perch
    /// must be serving it (app-only).
    pub async fn create_webhook(&self, url: &str) -> Result<WebhookConfig, XError> {
        let created: One<WebhookConfig> = self
            .post("/2/webhooks", &serde_json::json!({ "url": url }))
            .await?;
        Ok(created.data)
    }

    /// Every subscription of the app, page by page (app-only).
    pub async fn subscriptions(&self) -> Result<Vec<ActivitySubscription>, XError> {
        let mut all = Vec::new();
        let mut query = BTreeMap::new();
        query.insert("max_results", "1000".to_owned());
        loop {
            let page: List<ActivitySubscription> =
                self.get("/2/activity/subscriptions", &query).await?;
            all.extend(page.data);
            match page.meta.and_then(|m| m.next_token) {
                Some(next) => query.insert("pagination_token", next),
                None => return Ok(all),
            };
        }
    }

    /// Subscribes `user_id` to `event_type`, delivered to `webhook_id`
    /// (private events: with that user's credentials).
    pub async fn subscribe(
        &self,
        event_type: &str,
        user_id: &str,
        tag: &str,
        webhook_id: Option<&str>,
    ) -> Result<ActivitySubscription, XError> {
        let mut body = serde_json::json!({
            "event_type": event_type,
            "filter": { "user_id": user_id },
            "tag": tag,
        });
        // With no webhook, X delivers on the app's activity stream.
        if let Some(id) = webhook_id {
            body["webhook_id"] = id.into();
        }
        let created: One<Created> = self.post("/2/activity/subscriptions", &body).await?;
        Ok(created.data.subscription)
    }

    /// Deletes one subscription (app-only).
    pub async fn unsubscribe(&self, id: &str) -> Result<(), XError> {
        self.send(
            Method::DELETE,
            &format!("/2/activity/subscriptions/{id}"),
            &BTreeMap::new(),
            None::<&()>,
        )
        .await
        .map(drop)
    }

    /// Asks X to deliver again what it delivered or tried to deliver to
    /// `webhook_id` from `from` to `to` (within the last 24 hours; whole
    /// minutes). Returns the job's id; X says when it is done with a
    /// `replay_job_status` delivery.
    pub async fn replay(
        &self,
        webhook_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<String, XError> {
        let body = serde_json::json!({
            "webhook_id": webhook_id,
            "from_date": minute(from),
            "to_date": minute(to),
        });
        let bytes = self
            .send(
                Method::POST,
                "/2/webhooks/replay",
                &BTreeMap::new(),
                Some(&body),
            )
            .await?;
        let job: One<Job> = parse(&bytes)?;
        Ok(job.data.job_id)
    }
}

/// perch's tag on the subscriptions it makes, so it knows its own.
pub fn tag(account: &Account, event_type: &str) -> String {
    format!("perch:{}:{event_type}", account.key)
}

/// What `perch x subscribe` found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscribed {
    pub webhook: Option<WebhookConfig>,
    /// Event types subscribed now, and those that already were.
    pub created: Vec<String>,
    pub kept: Vec<String>,
    /// Subscriptions perch made that the config no longer asks for.
    pub removed: Vec<String>,
    /// Subscriptions of the account on this webhook perch did not make.
    pub foreign: Vec<ActivitySubscription>,
}

/// The account's webhook (registered now if X has none at its URL).
pub async fn webhook_of(
    app: &XClient,
    url: &str,
    create: bool,
) -> Result<Option<WebhookConfig>, XError> {
    if let Some(found) = app.webhooks().await?.into_iter().find(|w| w.url == url) {
        return Ok(Some(found));
    }
    if !create {
        return Ok(None);
    }
    app.create_webhook(url).await.map(Some)
}

/// Makes X's subscriptions for `account` what its config asks: its
/// webhook registered, a subscription per configured event type, and
/// those perch made that are no longer asked for removed. `app` acts as
/// the app, `user` as the account.
pub async fn reconcile(
    app: &XClient,
    user: &XClient,
    account: &Account,
) -> Result<Subscribed, XError> {
    let Some(hook) = &account.ingest.webhook else {
        return Err(XError::Invalid(format!(
            "account `{}` has no [accounts.ingest.webhook]",
            account.key
        )));
    };
    let Some(url) = &hook.url else {
        return Err(XError::Invalid(format!(
            "account `{}`: set accounts.ingest.webhook.url, the address at which X reaches {}",
            account.key, hook.path
        )));
    };
    let Some(webhook) = webhook_of(app, url, true).await? else {
        return Ok(Subscribed::default());
    };
    let mut done = in_step(app, user, account, &hook.events, Some(&webhook.id)).await?;
    done.webhook = Some(webhook);
    Ok(done)
}

/// Makes the account's subscriptions delivered to `webhook` (none: the
/// app's activity stream) exactly `events`: perch's own that are no
/// longer asked for go, others' are left and named.
pub async fn in_step(
    app: &XClient,
    user: &XClient,
    account: &Account,
    events: &[String],
    webhook: Option<&str>,
) -> Result<Subscribed, XError> {
    let mut done = Subscribed::default();
    let ours: Vec<ActivitySubscription> = app
        .subscriptions()
        .await?
        .into_iter()
        .filter(|s| {
            s.webhook_id.as_deref() == webhook
                && s.filter.user_id.as_deref() == Some(account.user_id.as_str())
        })
        .collect();
    for s in ours {
        let asked = events.contains(&s.event_type);
        let made_by_perch = s.tag.as_deref() == Some(tag(account, &s.event_type).as_str());
        if asked && !done.kept.contains(&s.event_type) {
            done.kept.push(s.event_type.clone());
        } else if made_by_perch {
            app.unsubscribe(&s.subscription_id).await?;
            done.removed.push(s.event_type.clone());
        } else {
            done.foreign.push(s);
        }
    }
    for event in events {
        if done.kept.contains(event) {
            continue;
        }
        user.subscribe(
            event,
            account.user_id.as_str(),
            &tag(account, event),
            webhook,
        )
        .await?;
        done.created.push(event.clone());
    }
    Ok(done)
}
