//! The outbox to X. An entry is marked `Sending` before it is handed to
//! X; one found `Sending` later (perch stopped, or X's answer was lost)
//! is first looked for among the account's own recent posts or DMs, and
//! sent again only when it is not there. So a customer never gets the
//! same reply twice, and none is lost.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::people::Person;
use super::Relay;
use crate::chat::Reaction;
use crate::store::{Delivery, OutboxEntry, OutboxId, StoreError};
use crate::ticket::{Author, Effect, Message, ReplyChannel, Ticket, Transition, TweetId, XRef};
use crate::twitter::publish::{self, Posted, MAX_WEIGHTED};
use crate::twitter::{XClient, XError};

/// Tries before a reply that X keeps refusing for passing reasons fails.
const MAX_ATTEMPTS: u32 = 5;
/// X allows 10,000 characters in a DM.
const MAX_DM_CHARS: usize = 10_000;

/// Why an agent's words cannot go out as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    #[error("the message is empty")]
    Empty,
    #[error("the reply is {count} characters as X counts them (the @handle and your signature included); the limit is {limit}, so cut {}", count - limit)]
    TooLong { count: usize, limit: usize },
}

/// The text that goes to X for an agent's message: a public reply names
/// the customer, and every reply carries the agent's signature (`^JD`).
/// The length is checked as X counts it, never truncated.
pub fn compose(ticket: &Ticket, person: &Person, words: &str) -> Result<String, ComposeError> {
    let words = words.trim();
    if words.is_empty() {
        return Err(ComposeError::Empty);
    }
    match ticket.reply_channel {
        ReplyChannel::Public => {
            let text = format!("@{} {words} ^{}", ticket.customer.handle, person.initials);
            let count = publish::weighted_length(&text);
            if count > MAX_WEIGHTED {
                return Err(ComposeError::TooLong {
                    count,
                    limit: MAX_WEIGHTED,
                });
            }
            Ok(text)
        }
        ReplyChannel::Dm => {
            let text = format!("{words}\n^{}", person.initials);
            let count = text.chars().count();
            if count > MAX_DM_CHARS {
                return Err(ComposeError::TooLong {
                    count,
                    limit: MAX_DM_CHARS,
                });
            }
            Ok(text)
        }
    }
}

/// When each entry that X turned away for a passing reason may be tried
/// again (in memory: after a restart everything is tried at once).
#[derive(Default)]
pub(super) struct Backoff(Mutex<HashMap<OutboxId, Instant>>);

impl Backoff {
    fn ready(&self, id: OutboxId) -> bool {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&id).is_none_or(|at| Instant::now() >= *at)
    }

    fn forget(&self, id: OutboxId) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&id);
    }

    fn delay(&self, id: OutboxId, attempt: u32) {
        let wait = Duration::from_secs(2u64.saturating_pow(attempt.min(8)));
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(id, Instant::now() + wait);
    }
}

impl Relay {
    pub(super) async fn drain_outbox(&self) {
        let entries = match self.store.undelivered() {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox; will retry");
                return;
            }
        };
        for (id, entry) in entries {
            if !self.backoff.ready(id) {
                continue;
            }
            if let Err(e) = self.deliver(id, &entry).await {
                tracing::error!(outbox = id, error = %e, "cannot record a reply's delivery; will retry");
            }
        }
    }

    async fn deliver(&self, id: OutboxId, entry: &OutboxEntry) -> Result<(), StoreError> {
        let Some(client) = self.x.get(&entry.account) else {
            let reason = format!("account `{}` is not configured any more", entry.account);
            return self.failed(id, entry, &entry.delivery, &reason).await;
        };
        let attempt = match &entry.delivery {
            Delivery::Pending => 1,
            Delivery::Sending { attempt, .. } => {
                // Handed to X before, with no answer recorded.
                match self.find_sent(client, entry).await {
                    Ok(Some(x_ref)) => {
                        tracing::info!(outbox = id, "reply found on X; not sending it again");
                        return self.sent(id, entry, &entry.delivery, x_ref).await;
                    }
                    Ok(None) => attempt + 1,
                    Err(e) => {
                        tracing::warn!(outbox = id, error = %e, "cannot check X for an earlier send; will retry");
                        self.backoff.delay(id, *attempt);
                        return Ok(());
                    }
                }
            }
            Delivery::Sent { .. } | Delivery::Failed { .. } => return Ok(()),
        };
        if attempt > MAX_ATTEMPTS {
            let reason = format!("X did not take it after {MAX_ATTEMPTS} tries");
            return self.failed(id, entry, &entry.delivery, &reason).await;
        }
        let sending = Delivery::Sending {
            since: Utc::now(),
            attempt,
        };
        if !self
            .store
            .set_delivery(id, &entry.delivery, sending.clone())?
        {
            return Ok(());
        }
        match self.send(client, entry).await {
            Ok(x_ref) => self.sent(id, entry, &sending, x_ref).await,
            // Its fate is unknown: it stays `Sending`, to be looked for first.
            Err(e) if e.is_retryable() => {
                tracing::warn!(outbox = id, attempt, error = %e, "X did not take a reply; will check and retry");
                self.backoff.delay(id, attempt);
                Ok(())
            }
            Err(e) => self.failed(id, entry, &sending, &e.to_string()).await,
        }
    }

    async fn send(&self, client: &XClient, entry: &OutboxEntry) -> Result<XRef, XError> {
        match entry.channel {
            ReplyChannel::Public => {
                let Some(to) = &entry.in_reply_to else {
                    return Err(XError::Invalid(
                        "the ticket has no post of the customer's to reply to; answer by DM (`dm`)"
                            .to_owned(),
                    ));
                };
                match publish::reply(client, to.as_str(), true, &entry.text).await? {
                    Posted::Created { id } => Ok(XRef::Tweet {
                        id: TweetId::from(id.as_str()),
                    }),
                    Posted::AlreadyPosted => match self.find_sent(client, entry).await? {
                        Some(x_ref) => Ok(x_ref),
                        None => Err(XError::Invalid(
                            "X refused it as a duplicate of an earlier post; reword it".to_owned(),
                        )),
                    },
                }
            }
            ReplyChannel::Dm => {
                let Some(to) = &entry.recipient else {
                    return Err(XError::Invalid(
                        "the ticket names no customer to DM".to_owned(),
                    ));
                };
                let id = publish::direct_message(client, to.as_str(), &entry.text).await?;
                Ok(XRef::DmEvent {
                    id: id.as_str().into(),
                })
            }
        }
    }

    /// Looks for the entry among what the account sent recently.
    async fn find_sent(
        &self,
        client: &XClient,
        entry: &OutboxEntry,
    ) -> Result<Option<XRef>, XError> {
        let Some(account) = self.config.account(&entry.account) else {
            return Ok(None);
        };
        let me = account.user_id.as_str();
        match entry.channel {
            ReplyChannel::Public => {
                let page = client.user_posts(me, None).await?;
                let target = entry.in_reply_to.as_ref().map(TweetId::as_str);
                Ok(page
                    .data
                    .iter()
                    .find(|p| {
                        p.text.trim() == entry.text.trim()
                            && p.referenced_tweets
                                .iter()
                                .any(|r| r.kind == "replied_to" && Some(r.id.as_str()) == target)
                    })
                    .map(|p| XRef::Tweet {
                        id: TweetId::from(p.id.as_str()),
                    }))
            }
            ReplyChannel::Dm => {
                let page = client.dm_events(None, 100).await?;
                let to = entry.recipient.as_ref().map_or("", |r| r.as_str());
                Ok(page
                    .data
                    .iter()
                    .find(|e| {
                        e.sender_id.as_deref() == Some(me)
                            && e.text.as_deref().map(str::trim) == Some(entry.text.trim())
                            && e.dm_conversation_id
                                .as_deref()
                                .is_some_and(|c| c.split('-').any(|part| part == to))
                    })
                    .map(|e| XRef::DmEvent {
                        id: e.id.as_str().into(),
                    }))
            }
        }
    }

    async fn sent(
        &self,
        id: OutboxId,
        entry: &OutboxEntry,
        from: &Delivery,
        x_ref: XRef,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let to = Delivery::Sent {
            x_ref: x_ref.clone(),
            at: now,
        };
        if !self.store.set_delivery(id, from, to)? {
            return Ok(());
        }
        self.backoff.forget(id);
        let (author, detail) = match entry.auto {
            Some(reply) => (
                Author::Auto { reply },
                format!("{reply} ({})", entry.channel),
            ),
            None => (
                Author::Agent {
                    agent: entry.agent.clone(),
                },
                entry.channel.to_string(),
            ),
        };
        // The audit log names no actor when perch acted on its own.
        let actor = entry.auto.is_none().then_some(&entry.agent);
        let message = Message {
            author,
            x_ref: x_ref.clone(),
            text: entry.text.clone(),
            at: now,
        };
        let recorded = self.store.update_ticket(entry.ticket, actor, now, |t| {
            let mut next = t.clone();
            next.messages.push(message.clone());
            let mut effects = vec![Effect::Audit {
                action: "sent".to_owned(),
                detail: Some(detail.clone()),
            }];
            // The thread loop shows perch's own replies in the threads.
            if entry.auto.is_some() {
                effects.push(Effect::RefreshCards);
            }
            Ok(Transition {
                ticket: next,
                effects,
            })
        })?;
        if let XRef::Tweet { id: tweet } = &x_ref {
            self.store.link_tweet(entry.ticket, tweet)?;
        }
        let link = self.link(&entry.account, &x_ref);
        tracing::info!(outbox = id, ticket = %entry.ticket, channel = %entry.channel, "reply sent to X");
        if let Some(origin) = &entry.origin {
            self.mark(origin, Reaction::Sent).await;
            self.post(
                &origin.thread,
                &format!("Sent as a {}: {link}", entry.channel),
            )
            .await;
        }
        if entry.auto.is_some() {
            self.wake_threads.notify_one();
            return Ok(());
        }
        if let Ok(transition) = recorded {
            let words = format!(
                "{} replied ({}): {}\n{link}",
                entry.agent.name, entry.channel, entry.text
            );
            self.say_everywhere(
                &transition.ticket,
                &words,
                entry.origin.as_ref().map(|o| &o.thread),
            )
            .await;
        }
        Ok(())
    }

    async fn failed(
        &self,
        id: OutboxId,
        entry: &OutboxEntry,
        from: &Delivery,
        reason: &str,
    ) -> Result<(), StoreError> {
        let to = Delivery::Failed {
            reason: reason.to_owned(),
            at: Utc::now(),
        };
        if !self.store.set_delivery(id, from, to)? {
            return Ok(());
        }
        self.backoff.forget(id);
        tracing::warn!(outbox = id, ticket = %entry.ticket, reason, "reply not sent");
        if let Some(origin) = &entry.origin {
            self.mark(origin, Reaction::Failed).await;
            self.post(&origin.thread, &format!("Not sent to X: {reason}"))
                .await;
        }
        if let (Some(reply), Some(ticket)) = (entry.auto, self.store.ticket(entry.ticket)?) {
            let words = format!("perch could not send the {reply} to X: {reason}");
            self.say_everywhere(&ticket, &words, None).await;
        }
        Ok(())
    }
}
