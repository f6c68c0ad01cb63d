//! The X inbox into tickets: a new conversation opens a ticket; a later
//! message (same conversation, same DM conversation, or a reply to a post
//! of the ticket) joins it, and reopens it when it was resolved.

use chrono::{DateTime, Utc};

use super::{auto_reply, Inbound};
use crate::config::Classification;
use crate::store::{Also, Opened, StoreError};
use crate::ticket::{
    self, Author, ConversationKey, DmConversationId, DmEventId, Message, NewTicket, Origin, Ticket,
    TicketId, XRef,
};
use crate::twitter::inbound::{InboundItem, InboundKind, Source};

impl Inbound {
    /// Takes every item in the inbox. An item that cannot be handled stays
    /// there (and is tried again) with the reason logged.
    pub(super) fn take_inbox(&self) {
        let items = match self.core.store.inbox::<InboundItem>() {
            Ok(items) => items,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the X inbox; will retry");
                return;
            }
        };
        let mut changed = false;
        for (key, item) in items {
            match self.accept(&key, &item) {
                Ok(Some(id)) => {
                    changed = true;
                    tracing::info!(ticket = %id, account = %item.account, source = %item.source.label(), "X item recorded");
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, key, "cannot record an X item; it stays in the inbox")
                }
            }
        }
        if changed {
            self.core.wake_threads();
        }
    }

    /// Whether perch may answer `item` on its own: never what was written
    /// before it watched the source, nor what it reads late (after an
    /// outage) beyond `x.auto_reply_max_age`.
    fn answers_on_its_own(&self, item: &InboundItem, now: DateTime<Utc>) -> bool {
        let max_age = chrono::Duration::from_std(self.core.config.x.auto_reply_max_age)
            .unwrap_or(chrono::Duration::MAX);
        let fresh = now - item.created_at <= max_age;
        if item.backfilled || !fresh {
            tracing::info!(account = %item.account, author = %item.author.handle, written = %item.created_at.to_rfc3339(), backfilled = item.backfilled, "no automatic reply: written before perch watched this source, or longer ago than x.auto_reply_max_age");
        }
        !item.backfilled && fresh
    }

    /// Records one item; returns its ticket.
    pub(crate) fn accept(
        &self,
        key: &str,
        item: &InboundItem,
    ) -> Result<Option<TicketId>, StoreError> {
        if let InboundKind::SentDm {
            event_id,
            dm_conversation_id,
        } = &item.kind
        {
            return self.team_sent(key, item, event_id, dm_conversation_id);
        }
        let message = customer_message(item);
        // A reply to a post of a ticket (ours or the customer's) joins it,
        // whatever conversation id the source gave (webhooks give none).
        if let InboundKind::Post {
            in_reply_to: Some(parent),
            ..
        } = &item.kind
        {
            if let Some(t) = self.core.store.ticket_for_tweet(parent)? {
                if t.account == item.account {
                    return self.add_message(&t, key, message).map(Some);
                }
            }
        }
        let new = new_ticket(
            item,
            message.clone(),
            self.core.config.rules.classify(&item.text),
        );
        let now = self.core.now();
        // The ticket's number is given in the transaction; the reply does
        // not depend on it.
        let preview = Ticket::open(TicketId::new(0), new.clone());
        let auto = match auto_reply::first_reply(&self.core.config, &preview, now) {
            Some(first) if self.answers_on_its_own(item, now) => {
                Some((self.core.store.next_outbox_id()?, first))
            }
            _ => None,
        };
        match self.core.store.open_ticket_from(
            new,
            Some(key),
            auto.as_ref().map(|(n, f)| (*n, f)),
        )? {
            Opened::New(t) => {
                if auto.is_some() {
                    self.core.wake.outbox.notify_one();
                }
                Ok(Some(t.id))
            }
            Opened::Existing(t) => self.add_message(&t, key, message).map(Some),
        }
    }

    /// A DM the account sent. perch's own replies come back this way and
    /// are already in the ticket (or on their way: the outbox is sending
    /// the same words); one typed in X's own app joins the ticket's
    /// conversation as the team's, so the thread shows the customer was
    /// answered and nobody answers twice. A DM to someone with no ticket
    /// is left alone.
    fn team_sent(
        &self,
        key: &str,
        item: &InboundItem,
        event_id: &DmEventId,
        conversation: &DmConversationId,
    ) -> Result<Option<TicketId>, StoreError> {
        let store = &self.core.store;
        let found = store.ticket_for_conversation(&ConversationKey::Dm {
            account: item.account.clone(),
            conversation: conversation.clone(),
        })?;
        let x_ref = XRef::DmEvent {
            id: event_id.clone(),
        };
        let Some(ticket) = found else {
            store.take_inbound(key)?;
            return Ok(None);
        };
        let sending = store.undelivered()?.into_iter().any(|(_, e)| {
            e.ticket == ticket.id
                && e.text == item.text
                && matches!(e.delivery, crate::store::Delivery::Sending { .. })
        });
        if sending || ticket.messages.iter().any(|m| m.x_ref == x_ref) {
            store.take_inbound(key)?;
            return Ok(None);
        }
        let message = Message {
            author: Author::Team,
            x_ref,
            text: item.text.clone(),
            at: item.created_at,
        };
        self.record_once(&ticket, key, &message, |current| {
            ticket::reply::reply_sent(current, message.clone(), "DM from X's own app".to_owned())
        })?;
        Ok(Some(ticket.id))
    }

    /// Adds `message` to `ticket` by `change` and takes the inbox item
    /// `key` in the same transaction, once: a crash after this and before
    /// the item was taken finds the message there, and only the item is
    /// taken.
    fn record_once(
        &self,
        ticket: &Ticket,
        key: &str,
        message: &Message,
        change: impl Fn(&Ticket) -> ticket::Transition,
    ) -> Result<(), StoreError> {
        let outcome = self.core.store.update_ticket_also(
            ticket.id,
            None,
            self.core.now(),
            |current| {
                if current.messages.iter().any(|m| m.x_ref == message.x_ref) {
                    return Err(ticket::Refusal::AlreadyRecorded);
                }
                Ok(change(current))
            },
            &Also {
                inbound: Some(key),
                ..Also::default()
            },
        )?;
        if outcome.is_err() {
            self.core.store.take_inbound(key)?;
        }
        Ok(())
    }

    /// Adds the customer's message to `ticket` (once: a crash after this
    /// and before the inbox item was taken finds it already there), and
    /// lets it raise the priority.
    fn add_message(
        &self,
        ticket: &Ticket,
        key: &str,
        message: Message,
    ) -> Result<TicketId, StoreError> {
        let class = self.core.config.rules.classify(&message.text);
        let tweet = match &message.x_ref {
            XRef::Tweet { id } => Some(id.clone()),
            XRef::DmEvent { .. } => None,
        };
        self.record_once(ticket, key, &message, |current| {
            let mut t = ticket::customer_wrote(current, message.clone());
            t.ticket.priority = t.ticket.priority.min(class.priority);
            t.ticket.tags.extend(class.tags.iter().cloned());
            if t.ticket.category.is_none() {
                t.ticket.category.clone_from(&class.category);
            }
            t
        })?;
        if let Some(tweet) = tweet {
            self.core.store.link_tweet(ticket.id, &tweet)?;
        }
        Ok(ticket.id)
    }
}

/// The customer's words of an item, as a ticket message.
fn customer_message(item: &InboundItem) -> Message {
    Message {
        author: Author::Customer,
        x_ref: match &item.kind {
            InboundKind::Post { tweet_id, .. } => XRef::Tweet {
                id: tweet_id.clone(),
            },
            InboundKind::Dm { event_id, .. } | InboundKind::SentDm { event_id, .. } => {
                XRef::DmEvent {
                    id: event_id.clone(),
                }
            }
        },
        text: item.text.clone(),
        at: item.created_at,
    }
}

/// The ticket an item opens: its conversation, where it came from (a
/// search hit that did not mention or quote the account can be answered
/// only by DM), and what the rules say of its words.
fn new_ticket(item: &InboundItem, first_message: Message, class: Classification) -> NewTicket {
    let (conversation, origin, can_reply_publicly) = match &item.kind {
        InboundKind::Post {
            conversation_id,
            mentioned_or_quoted,
            ..
        } => (
            ConversationKey::Public {
                account: item.account.clone(),
                conversation: conversation_id.clone(),
            },
            match &item.source {
                Source::Search { rule } if !mentioned_or_quoted => {
                    Origin::SearchHit { rule: rule.clone() }
                }
                _ => Origin::Mention,
            },
            *mentioned_or_quoted,
        ),
        InboundKind::Dm {
            dm_conversation_id, ..
        }
        | InboundKind::SentDm {
            dm_conversation_id, ..
        } => (
            ConversationKey::Dm {
                account: item.account.clone(),
                conversation: dm_conversation_id.clone(),
            },
            Origin::Dm,
            false,
        ),
    };
    NewTicket {
        account: item.account.clone(),
        origin,
        customer: item.author.clone(),
        conversation,
        first_message,
        priority: class.priority,
        category: class.category,
        tags: class.tags,
        can_reply_publicly,
    }
}
