//! Tickets and the indexes that find them: by conversation, by tweet, by
//! chat thread.

use std::convert::Infallible;

use chrono::{DateTime, Utc};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use sled::Transactional;

use super::audit::AuditEntry;
use super::codec::{self, number_key};
use super::index::{reindex_entry, reindex_ticket};
use super::outbox::{Delivery, OutboxEntry, OutboxId};
use super::{abort, finish, Abort, Store, StoreError, TxResult};
use crate::chat::MessageRef;
use crate::ticket::{
    last_customer_post, Agent, ChatThread, ConversationKey, Effect, NewTicket, Refusal, State,
    Ticket, TicketId, Transition, TweetId, XRef,
};

/// The result of `open_ticket`.
#[derive(Debug, Clone, PartialEq)]
pub enum Opened {
    /// A new ticket was created.
    New(Ticket),
    /// The conversation already had a ticket; nothing was written.
    Existing(Ticket),
}

impl Opened {
    pub fn ticket(&self) -> &Ticket {
        match self {
            Self::New(t) | Self::Existing(t) => t,
        }
    }
}

/// The result of an update: the transition that was stored.
pub type Updated = Transition;

/// What else a ticket change consumes or produces, in its transaction, so
/// that a crash leaves either all of it or none.
#[derive(Default)]
pub struct Also<'a> {
    /// A chat-journal entry the change acts on.
    pub chat_event: Option<&'a str>,
    /// An X inbox item the change records.
    pub inbound: Option<&'a str>,
    /// An outbox entry the change writes, under this number.
    pub outbox: Option<(OutboxId, Outgoing<'a>)>,
}

/// The outbox entry a ticket change writes.
pub enum Outgoing<'a> {
    /// The reply the change asks for (its `SendReply` effect, if it has
    /// one), written by `agent` at `at` in the chat message `origin`.
    /// It starts in `delivery` (`Pending`, or waiting for the agent in
    /// the undo and confirm modes), signed with `signature`.
    Reply {
        agent: &'a Agent,
        origin: Option<&'a MessageRef>,
        at: DateTime<Utc>,
        delivery: &'a Delivery,
        signature: &'a str,
    },
    /// This entry as it is (one rewritten with what people were told).
    Entry(&'a OutboxEntry),
}

impl Outgoing<'_> {
    /// The entry to write once `transition` is known: the change runs in
    /// the transaction, so the reply's text and channel come from there.
    pub fn entry(&self, transition: &Transition) -> Option<OutboxEntry> {
        match *self {
            Self::Entry(entry) => Some(entry.clone()),
            Self::Reply {
                agent,
                origin,
                at,
                delivery,
                signature,
            } => transition.effects.iter().find_map(|e| match e {
                Effect::SendReply { text, channel } => Some(OutboxEntry {
                    ticket: transition.ticket.id,
                    account: transition.ticket.account.clone(),
                    agent: agent.clone(),
                    text: text.clone(),
                    channel: *channel,
                    created_at: at,
                    delivery: delivery.clone(),
                    in_reply_to: last_customer_post(&transition.ticket),
                    recipient: Some(transition.ticket.customer.id.clone()),
                    origin: origin.cloned(),
                    auto: None,
                    held_until: None,
                    signature: Some(signature.to_owned()),
                    prompt: None,
                }),
                _ => None,
            }),
        }
    }
}

/// An automatic reply to a new ticket, sent at most once per `once` key
/// until `quiet_until` (kept with the seen ids). The store gives `entry`
/// the number of the ticket it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstReply {
    pub entry: OutboxEntry,
    pub once: String,
    pub quiet_until: DateTime<Utc>,
}

fn read_ticket<R>(tickets: &TransactionalTree, id: TicketId) -> TxResult<Ticket, R> {
    let key = number_key(id.get());
    match tickets.get(&key)? {
        Some(bytes) => codec::decode("tickets", key.as_bytes(), &bytes).or_else(abort),
        None => abort(StoreError::NoSuchTicket(id)),
    }
}

pub(super) fn write<T: serde::Serialize, R>(
    tree: &TransactionalTree,
    key: &str,
    value: &T,
) -> TxResult<(), R> {
    let bytes = codec::encode(value).or_else(abort)?;
    tree.insert(key.as_bytes(), bytes)?;
    Ok(())
}

fn read_id<R>(tree: &TransactionalTree, name: &str, key: &str) -> TxResult<Option<TicketId>, R> {
    match tree.get(key)? {
        Some(bytes) => codec::decode(name, key.as_bytes(), &bytes)
            .map(Some)
            .or_else(abort),
        None => Ok(None),
    }
}

/// Appends the audit entries a transition asks for, keyed by ticket and
/// revision so that each ticket's history is one prefix scan. (Not
/// `Db::generate_id`: it waits on the lock a committing transaction holds.)
fn append_audit<R>(
    audit: &TransactionalTree,
    ticket: &Ticket,
    actor: Option<&Agent>,
    now: DateTime<Utc>,
    effects: &[Effect],
) -> TxResult<(), R> {
    let audits = effects.iter().filter_map(|e| match e {
        Effect::Audit { action, detail } => Some((action, detail)),
        _ => None,
    });
    for (i, (action, detail)) in audits.enumerate() {
        {
            let entry = AuditEntry {
                at: now,
                ticket: Some(ticket.id),
                actor: actor.cloned(),
                action: action.clone(),
                detail: detail.clone(),
            };
            write(audit, &audit_key(ticket.id, ticket.revision, i), &entry)?;
        }
    }
    Ok(())
}

/// `ticket/revision/index`: sorts each ticket's history in order.
pub(super) fn audit_key(ticket: TicketId, revision: u64, index: usize) -> String {
    format!("{}/{revision:010}/{index}", number_key(ticket.get()))
}

/// Writes a new ticket's automatic reply to the outbox, unless the same
/// customer had one within its quiet time (kept with the seen ids).
fn write_first_reply(
    outbox: &TransactionalTree,
    outbox_index: &TransactionalTree,
    seen: &TransactionalTree,
    number: OutboxId,
    first: &FirstReply,
    ticket: TicketId,
) -> TxResult<(), Infallible> {
    let once = format!("auto/{}", first.once);
    let quiet = match seen.get(once.as_bytes())? {
        Some(bytes) => super::ingest::unexpired(once.as_bytes(), &bytes, first.entry.created_at)
            .or_else(abort)?,
        None => false,
    };
    if !quiet {
        let entry = OutboxEntry {
            ticket,
            ..first.entry.clone()
        };
        write(outbox, &number_key(number), &entry)?;
        reindex_entry(outbox_index, number, None, Some(&entry))?;
        write(seen, &once, &first.quiet_until.timestamp())?;
    }
    Ok(())
}

impl Store {
    /// Opens a ticket for a new conversation, or returns the one it already
    /// has. Ticket number, ticket, conversation and tweet indexes and the
    /// audit entry are written together or not at all.
    pub fn open_ticket(&self, new: NewTicket) -> Result<Opened, StoreError> {
        self.open_ticket_from(new, None, None)
    }

    /// Opens a ticket for a conversation not seen before; when it is known,
    /// returns its ticket and changes nothing (the caller adds the message).
    /// A new ticket takes the inbox item `inbound`, asks for its threads,
    /// and writes the outbox entry `reply` makes of it (an automatic
    /// reply), all in the same transaction.
    pub fn open_ticket_from(
        &self,
        new: NewTicket,
        inbound: Option<&str>,
        reply: Option<(OutboxId, &FirstReply)>,
    ) -> Result<Opened, StoreError> {
        let conversation = new.conversation.storage_key();
        let tweet = match &new.first_message.x_ref {
            XRef::Tweet { id } => Some(id.as_str().to_owned()),
            XRef::DmEvent { .. } => None,
        };
        let at = new.first_message.at;
        let result = (
            &self.meta,
            &self.tickets,
            &self.tweets,
            &self.conversations,
            &self.audit,
            &self.inbox,
            &self.chat_sync,
            &self.outbox,
            &self.seen,
            &self.ticket_index,
            &self.outbox_index,
        )
            .transaction(
                |(
                    meta,
                    tickets,
                    tweets,
                    conversations,
                    audit,
                    inbox,
                    sync,
                    outbox,
                    seen,
                    index,
                    outbox_index,
                )|
                 -> TxResult<Opened, Infallible> {
                    if let Some(id) = read_id(conversations, "conversations", &conversation)? {
                        return Ok(Opened::Existing(read_ticket(tickets, id)?));
                    }
                    let next: u64 = match meta.get("next_ticket")? {
                        Some(bytes) => {
                            codec::decode("meta", b"next_ticket", &bytes).or_else(abort)?
                        }
                        None => 1,
                    };
                    write(meta, "next_ticket", &(next + 1))?;
                    let id = TicketId::new(next);
                    let ticket = Ticket::open(id, new.clone());
                    write(tickets, &number_key(next), &ticket)?;
                    reindex_ticket(index, None, &ticket)?;
                    write(conversations, &conversation, &id)?;
                    if let Some(tweet) = &tweet {
                        write(tweets, tweet, &id)?;
                    }
                    let effects = [Effect::Audit {
                        action: "open".to_owned(),
                        detail: Some(format!(
                            "{} from @{}",
                            ticket.origin.label(),
                            ticket.customer.handle
                        )),
                    }];
                    append_audit(audit, &ticket, None, at, &effects)?;
                    if let Some(key) = inbound {
                        inbox.remove(key.as_bytes())?;
                    }
                    write(sync, &number_key(next), &ticket.revision)?;
                    if let Some((number, first)) = reply {
                        write_first_reply(outbox, outbox_index, seen, number, first, id)?;
                    }
                    Ok(Opened::New(ticket))
                },
            );
        let opened = finish(result)?.unwrap_or_else(|never| match never {});
        if matches!(opened, Opened::New(_)) {
            self.flush()?;
        }
        Ok(opened)
    }

    /// Applies `change` to ticket `id` atomically: reads it, runs the pure
    /// `change`, writes the result and its audit entries, flushes. On a
    /// conflict with another writer the transaction runs again on the new
    /// value, so `change` must have no side effects. A refusal writes
    /// nothing and comes back as `Ok(Err(refusal))`.
    pub fn update_ticket<F>(
        &self,
        id: TicketId,
        actor: Option<&Agent>,
        now: DateTime<Utc>,
        change: F,
    ) -> Result<Result<Updated, Refusal>, StoreError>
    where
        F: Fn(&Ticket) -> Result<Transition, Refusal>,
    {
        self.update_ticket_also(id, actor, now, change, &Also::default())
    }

    /// `update_ticket`, also consuming or producing what `also` names in
    /// the same transaction. A change that redraws cards asks for a sync.
    pub fn update_ticket_also<F>(
        &self,
        id: TicketId,
        actor: Option<&Agent>,
        now: DateTime<Utc>,
        change: F,
        also: &Also<'_>,
    ) -> Result<Result<Updated, Refusal>, StoreError>
    where
        F: Fn(&Ticket) -> Result<Transition, Refusal>,
    {
        let key = number_key(id.get());
        let trees = (
            &self.tickets,
            &self.audit,
            &self.outbox,
            &self.chat_inbox,
            &self.inbox,
            &self.chat_sync,
            &self.ticket_index,
            &self.outbox_index,
        );
        let result = trees.transaction(
            |(tickets, audit, outbox, journal, inbox, sync, index, outbox_index)| {
                let ticket = read_ticket(tickets, id)?;
                let mut transition = change(&ticket)
                    .map_err(|r| ConflictableTransactionError::Abort(Abort::Refused(r)))?;
                transition.ticket.revision = ticket.revision + 1;
                write(tickets, &key, &transition.ticket)?;
                reindex_ticket(index, Some(&ticket), &transition.ticket)?;
                append_audit(audit, &transition.ticket, actor, now, &transition.effects)?;
                if let Some((number, outgoing)) = &also.outbox {
                    if let Some(entry) = outgoing.entry(&transition) {
                        let key = number_key(*number);
                        let old: Option<OutboxEntry> = match outbox.get(key.as_bytes())? {
                            Some(bytes) => Some(
                                codec::decode("outbox", key.as_bytes(), &bytes).or_else(abort)?,
                            ),
                            None => None,
                        };
                        write(outbox, &key, &entry)?;
                        reindex_entry(outbox_index, *number, old.as_ref(), Some(&entry))?;
                    }
                }
                if let Some(k) = also.chat_event {
                    journal.remove(k.as_bytes())?;
                }
                if let Some(k) = also.inbound {
                    inbox.remove(k.as_bytes())?;
                }
                if transition.effects.contains(&Effect::RefreshCards) {
                    write(sync, &key, &transition.ticket.revision)?;
                }
                Ok(transition)
            },
        );
        let outcome = finish(result)?;
        if outcome.is_ok() {
            self.flush()?;
        }
        Ok(outcome)
    }

    pub fn ticket(&self, id: TicketId) -> Result<Option<Ticket>, StoreError> {
        self.ticket_reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.get(&self.tickets, "tickets", &number_key(id.get()))
    }

    pub fn ticket_for_conversation(
        &self,
        key: &ConversationKey,
    ) -> Result<Option<Ticket>, StoreError> {
        self.follow(&self.conversations, "conversations", &key.storage_key())
    }

    pub fn ticket_for_tweet(&self, tweet: &TweetId) -> Result<Option<Ticket>, StoreError> {
        self.follow(&self.tweets, "tweets", tweet.as_str())
    }

    pub fn ticket_for_thread(&self, thread: &ChatThread) -> Result<Option<Ticket>, StoreError> {
        self.follow(&self.threads, "threads", &thread.storage_key())
    }

    fn follow(
        &self,
        index: &sled::Tree,
        name: &str,
        key: &str,
    ) -> Result<Option<Ticket>, StoreError> {
        match self.get::<TicketId>(index, name, key)? {
            Some(id) => self.ticket(id),
            None => Ok(None),
        }
    }

    /// Records that `thread` shows ticket `id` (idempotent).
    pub fn link_thread(&self, id: TicketId, thread: ChatThread) -> Result<Ticket, StoreError> {
        let key = number_key(id.get());
        let thread_key = thread.storage_key();
        let result = (&self.tickets, &self.threads).transaction(
            |(tickets, threads)| -> TxResult<Ticket, Infallible> {
                let mut ticket = read_ticket(tickets, id)?;
                if !ticket.threads.contains(&thread) {
                    ticket.threads.push(thread.clone());
                    write(tickets, &key, &ticket)?;
                }
                write(threads, &thread_key, &id)?;
                Ok(ticket)
            },
        );
        let ticket = finish(result)?.unwrap_or_else(|never| match never {});
        self.flush()?;
        Ok(ticket)
    }

    /// Records that a later post in the conversation belongs to ticket `id`.
    pub fn link_tweet(&self, id: TicketId, tweet: &TweetId) -> Result<(), StoreError> {
        self.put(&self.tweets, tweet.as_str(), &id)
    }

    /// Records that the conversation `key` now continues in ticket `id`
    /// (a DM perch sent from it: the customer's answer belongs there).
    pub fn link_conversation(&self, id: TicketId, key: &ConversationKey) -> Result<(), StoreError> {
        self.put(&self.conversations, &key.storage_key(), &id)
    }

    /// Every ticket, in number order (for tests and tools: the service
    /// reads what the indexes point at).
    pub fn tickets(&self) -> Result<Vec<Ticket>, StoreError> {
        let all: Vec<Ticket> = self
            .all(&self.tickets, "tickets")?
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        self.ticket_reads
            .fetch_add(all.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(all)
    }

    /// Unclaimed open tickets: most urgent first, then oldest first.
    pub fn queue(&self) -> Result<Vec<Ticket>, StoreError> {
        let mut open: Vec<Ticket> = self
            .active_where(|s| s.state == "open")?
            .into_iter()
            .filter(|t| t.state == State::Open)
            .collect();
        open.sort_by_key(|t| (t.priority, t.created_at, t.id));
        Ok(open)
    }

    /// Tickets `agent` holds, oldest claim first.
    pub fn held_by(&self, agent: &crate::ticket::AgentId) -> Result<Vec<Ticket>, StoreError> {
        let mut mine: Vec<Ticket> = self
            .active_where(|s| s.holder.as_ref() == Some(agent))?
            .into_iter()
            .filter(|t| t.holder().is_some_and(|h| &h.id == agent))
            .collect();
        mine.sort_by_key(|t| (t.state.claim().map(|c| c.since), t.id));
        Ok(mine)
    }
}
