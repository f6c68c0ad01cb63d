//! The outbox to X. An entry is marked `Sending` before it is handed to
//! X; one found `Sending` later (perch stopped, or X's answer was lost)
//! is first looked for among the account's own recent posts or DMs, and
//! sent again only when it is not there. So a customer never gets the
//! same reply twice, and none is lost. How a reply goes on X's wire, and
//! is found again, is in `posting`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::future::join_all;

use super::holding::Ready;
pub(super) use super::not_before::NotBefore;
use super::notices::Notice;
use super::Outbox;
use crate::chat::{Reaction, Text};
use crate::store::{Also, Delivery, OutboxEntry, OutboxId, Outgoing, StoreError};
use crate::ticket::{
    reply, AccountKey, Author, ConversationKey, DmConversationId, Message, Refusal, ReplyChannel,
    TicketId, XRef,
};
use crate::twitter::XError;
use crate::xrules::limits;

/// Tries before a reply that X keeps refusing for passing reasons fails.
const MAX_ATTEMPTS: u32 = 5;

/// What became of an entry in one pass.
enum Outcome {
    /// Sent or failed: nothing more to do.
    Done,
    /// Still to go (backing off, or waiting for X's window): the ticket's
    /// later replies wait behind it.
    Waiting,
}

/// The endpoint a reply is posted through.
fn posting_endpoint(channel: ReplyChannel) -> &'static str {
    match channel {
        ReplyChannel::Public => limits::CREATE_POST,
        ReplyChannel::Dm => limits::SEND_DM,
    }
}

impl Outbox {
    /// One pass over the outbox. Accounts go side by side, and within an
    /// account an entry that must wait (X's window for its endpoint is
    /// spent, or X failed) is skipped until then while everything else
    /// keeps flowing: nothing here sleeps on behalf of one reply. Replies
    /// in one ticket go in the order they were written.
    pub(super) async fn drain_outbox(&self) {
        let entries = match self.core.store.undelivered() {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox; will retry");
                return;
            }
        };
        let mut by_account: HashMap<AccountKey, Vec<(OutboxId, OutboxEntry)>> = HashMap::new();
        for (id, entry) in entries {
            by_account
                .entry(entry.account.clone())
                .or_default()
                .push((id, entry));
        }
        join_all(
            by_account
                .into_values()
                .map(|entries| self.drain_account(entries)),
        )
        .await;
    }

    async fn drain_account(&self, entries: Vec<(OutboxId, OutboxEntry)>) {
        let mut waiting: HashSet<TicketId> = HashSet::new();
        for (id, entry) in entries {
            if waiting.contains(&entry.ticket) {
                continue;
            }
            let ticket = entry.ticket;
            let entry = match self.ready_to_go(id, entry) {
                Ok(Ready::Now(entry)) => *entry,
                Ok(Ready::Untouched) => continue,
                Ok(Ready::Later) => {
                    waiting.insert(ticket);
                    continue;
                }
                Err(e) => {
                    tracing::error!(outbox = id, error = %e, "cannot release a reply at the end of its undo time; will retry");
                    waiting.insert(ticket);
                    continue;
                }
            };
            let outcome = if self.not_before.ready(id) {
                self.deliver(id, &entry).await
            } else {
                Ok(Outcome::Waiting)
            };
            match outcome {
                Ok(Outcome::Done) => {}
                Ok(Outcome::Waiting) => {
                    waiting.insert(entry.ticket);
                }
                Err(e) => {
                    tracing::error!(outbox = id, error = %e, "cannot record a reply's delivery; will retry");
                    waiting.insert(entry.ticket);
                }
            }
        }
    }

    async fn deliver(&self, id: OutboxId, entry: &OutboxEntry) -> Result<Outcome, StoreError> {
        let Some(client) = self.x.get(&entry.account) else {
            let reason = format!("account `{}` is not configured any more", entry.account);
            return self.failed(id, entry, &entry.delivery, &reason);
        };
        let attempt = match &entry.delivery {
            Delivery::Pending => 1,
            Delivery::Sending { attempt, .. } => {
                // Handed to X before, with no answer recorded.
                match self.find_sent(client, entry).await {
                    Ok(Some(x_ref)) => {
                        tracing::info!(outbox = id, "reply found on X; not sending it again");
                        return self.sent(id, entry, &entry.delivery, x_ref);
                    }
                    Ok(None) => attempt + 1,
                    Err(XError::RateLimited { endpoint, reset_in }) => {
                        return self.hold(id, entry, &endpoint, reset_in);
                    }
                    Err(e) => {
                        tracing::warn!(outbox = id, error = %e, "cannot check X for an earlier send; will retry");
                        self.not_before.delay(id, *attempt);
                        return Ok(Outcome::Waiting);
                    }
                }
            }
            Delivery::Sent { .. }
            | Delivery::Failed { .. }
            | Delivery::Withdrawn { .. }
            | Delivery::Scheduled { .. }
            | Delivery::Unconfirmed => return Ok(Outcome::Done),
        };
        if attempt > MAX_ATTEMPTS {
            let reason = format!("X did not take it after {MAX_ATTEMPTS} tries");
            return self.failed(id, entry, &entry.delivery, &reason);
        }
        // A window known to be spent is waited for before anything is
        // marked as handed to X.
        let endpoint = posting_endpoint(entry.channel);
        if let Some(w) = client.window(endpoint).filter(|w| w.remaining == 0) {
            return self.hold(id, entry, endpoint, w.resets_in);
        }
        let sending = Delivery::Sending {
            since: self.core.now(),
            attempt,
        };
        if !self
            .core
            .store
            .set_delivery(id, &entry.delivery, sending.clone())?
        {
            return Ok(Outcome::Done);
        }
        match self.send(client, entry).await {
            Ok(x_ref) => self.sent(id, entry, &sending, x_ref),
            // X refused to post it (429), so nothing was made: it is as it
            // was before this try, and waits for the reset.
            Err(XError::RateLimited {
                endpoint: spent,
                reset_in,
            }) if spent == endpoint => {
                self.core
                    .store
                    .set_delivery(id, &sending, entry.delivery.clone())?;
                self.hold(id, entry, endpoint, reset_in)
            }
            // A read after X's duplicate refusal: its fate is unknown, so it
            // stays `Sending`, to be looked for after the reset.
            Err(XError::RateLimited {
                endpoint: spent,
                reset_in,
            }) => {
                let checked = OutboxEntry {
                    delivery: sending,
                    ..entry.clone()
                };
                self.hold(id, &checked, &spent, reset_in)
            }
            // Its fate is unknown: it stays `Sending`, to be looked for first.
            Err(e) if e.is_retryable() => {
                tracing::warn!(outbox = id, attempt, error = %e, "X did not take a reply; will check and retry");
                self.not_before.delay(id, attempt);
                Ok(Outcome::Waiting)
            }
            Err(e) => self.failed(id, entry, &sending, &e.to_string()),
        }
    }

    /// `entry` waits until `endpoint`'s window resets. The first time,
    /// the agent is told in the thread when it will go, and the card says
    /// so, in one transaction with the entry's note that they were told.
    fn hold(
        &self,
        id: OutboxId,
        entry: &OutboxEntry,
        endpoint: &str,
        reset_in: Duration,
    ) -> Result<Outcome, StoreError> {
        self.not_before.until(id, Instant::now() + reset_in);
        let now = self.core.now();
        let until = now + chrono::Duration::from_std(reset_in).unwrap_or_default();
        tracing::info!(outbox = id, ticket = %entry.ticket, account = %entry.account, endpoint, wait_s = reset_in.as_secs(), "X's rate limit window is spent; the reply waits for the reset");
        if entry.held_until.is_some() {
            return Ok(Outcome::Waiting);
        }
        let told = OutboxEntry {
            held_until: Some(until),
            ..entry.clone()
        };
        let also = Also {
            outbox: Some((id, Outgoing::Entry(&told))),
            ..Also::default()
        };
        let held = self.core.store.update_ticket_also(
            entry.ticket,
            None,
            now,
            |t| Ok(reply::reply_held(t, until)),
            &also,
        )?;
        if held.is_ok() {
            self.core.wake_threads();
        }
        if let Some(origin) = &entry.origin {
            let line = self.held_line(&entry.account, endpoint, until);
            self.core
                .notify(&origin.thread, Notice::Say(Text::Ours(line)));
        }
        Ok(Outcome::Waiting)
    }

    /// What the agent reads when X's limit holds their reply.
    fn held_line(&self, account: &AccountKey, endpoint: &str, until: DateTime<Utc>) -> String {
        let handle = self
            .core
            .config
            .account(account)
            .map_or_else(|| account.to_string(), |a| format!("@{}", a.handle));
        let zone = self.core.config.zone();
        let local = until.with_timezone(&zone);
        let today = self.core.now().with_timezone(&zone).date_naive() == local.date_naive();
        let at = if today {
            local.format("%H:%M %Z").to_string()
        } else {
            local.format("%a %d %b %H:%M %Z").to_string()
        };
        let what = match endpoint {
            limits::CREATE_POST => "public replies",
            limits::SEND_DM => "DMs",
            _ => "reads (perch first checks whether an earlier try went out)",
        };
        let allowed = limits::published(endpoint)
            .map(|n| format!(" (X allows {n} per 15 minutes)"))
            .unwrap_or_default();
        format!(
            "⏳ X's limit on {what} for {handle} is reached{allowed}. This reply waits and goes at {at}; you will see it here when it does."
        )
    }

    fn sent(
        &self,
        id: OutboxId,
        entry: &OutboxEntry,
        from: &Delivery,
        x_ref: XRef,
    ) -> Result<Outcome, StoreError> {
        let now = self.core.now();
        let to = Delivery::Sent {
            x_ref: x_ref.clone(),
            at: now,
        };
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
        // The delivery and the ticket's message are one write: X tells
        // perch of its own DM (`dm.sent`) as soon as it is sent, and that
        // echo must find either the entry still sending or the message.
        let delivered = OutboxEntry {
            delivery: to.clone(),
            ..entry.clone()
        };
        let recorded = self.core.store.update_ticket_also(
            entry.ticket,
            actor,
            now,
            |t| {
                if t.messages.iter().any(|m| m.x_ref == x_ref) {
                    return Err(Refusal::AlreadyRecorded);
                }
                Ok(reply::reply_sent(t, message.clone(), detail.clone()))
            },
            &Also {
                outbox: Some((id, Outgoing::Entry(&delivered))),
                ..Also::default()
            },
        )?;
        if recorded.is_err() {
            // Recorded by an earlier pass: only the delivery may be left.
            self.core.store.set_delivery(id, from, to)?;
            return Ok(Outcome::Done);
        }
        self.core.metrics.reply_sent(
            entry.account.as_str(),
            entry.channel == crate::ticket::ReplyChannel::Dm,
        );
        self.not_before.forget(id);
        match (
            &x_ref,
            &entry.recipient,
            self.core.config.account(&entry.account),
        ) {
            (XRef::Tweet { id: tweet }, _, _) => self.core.store.link_tweet(entry.ticket, tweet)?,
            // A DM perch sent starts (or continues) the DM conversation
            // with the customer: what they write back belongs here, not in
            // a new ticket, whoever wrote first and whichever source sees it.
            (XRef::DmEvent { .. }, Some(to), Some(account)) => {
                let key = ConversationKey::Dm {
                    account: entry.account.clone(),
                    conversation: DmConversationId::between(account.user_id.as_str(), to.as_str()),
                };
                self.core.store.link_conversation(entry.ticket, &key)?;
            }
            (XRef::DmEvent { .. }, _, _) => {}
        }
        let link = self.core.link(&entry.account, &x_ref);
        tracing::info!(outbox = id, ticket = %entry.ticket, channel = %entry.channel, "reply sent to X");
        self.settle_prompt(entry, format!("Sent as a {}: {link}", entry.channel));
        // The chat hears of it in the background: its pacing must not hold
        // back the next reply to X.
        if let Some(origin) = &entry.origin {
            self.core
                .notify(&origin.thread, Notice::Mark(origin.clone(), Reaction::Sent));
            self.core.notify(
                &origin.thread,
                Notice::Say(Text::Ours(format!("Sent as a {}: {link}", entry.channel))),
            );
        }
        self.core.wake_threads();
        if let (None, Ok(transition)) = (entry.auto, recorded) {
            // The words are the agent's, written on another platform:
            // quoted, so that markup there cannot ping anyone here.
            let words = Text::Mixed(vec![
                Text::Ours(format!(
                    "{} replied ({}): ",
                    entry.agent.name, entry.channel
                )),
                Text::Quoted(entry.text.clone()),
                Text::Ours(format!("\n{link}")),
            ]);
            self.core.notify_everywhere(
                &transition.ticket,
                &words,
                entry.origin.as_ref().map(|o| &o.thread),
            );
        }
        Ok(Outcome::Done)
    }

    fn failed(
        &self,
        id: OutboxId,
        entry: &OutboxEntry,
        from: &Delivery,
        reason: &str,
    ) -> Result<Outcome, StoreError> {
        let to = Delivery::Failed {
            reason: reason.to_owned(),
            at: self.core.now(),
        };
        if !self.core.store.set_delivery(id, from, to)? {
            return Ok(Outcome::Done);
        }
        self.core.metrics.reply_refused(
            entry.account.as_str(),
            entry.channel == crate::ticket::ReplyChannel::Dm,
        );
        self.not_before.forget(id);
        tracing::warn!(outbox = id, ticket = %entry.ticket, reason, "reply not sent");
        self.settle_prompt(entry, format!("Not sent to X: {reason}"));
        if entry.held_until.is_some() {
            // The card no longer says a reply is on its way.
            let cleared =
                self.core
                    .store
                    .update_ticket(entry.ticket, None, self.core.now(), |t| {
                        Ok(reply::reply_not_held(t))
                    })?;
            if cleared.is_ok() {
                self.core.wake_threads();
            }
        }
        if let Some(origin) = &entry.origin {
            self.core.notify(
                &origin.thread,
                Notice::Mark(origin.clone(), Reaction::Failed),
            );
            self.core.notify(
                &origin.thread,
                Notice::Say(Text::Ours(format!("Not sent to X: {reason}"))),
            );
        }
        if let (Some(reply), Some(ticket)) = (entry.auto, self.core.store.ticket(entry.ticket)?) {
            let words = Text::Ours(format!("perch could not send the {reply} to X: {reason}"));
            self.core.notify_everywhere(&ticket, &words, None);
        }
        Ok(Outcome::Done)
    }
}
