//! Indexes over tickets and the outbox, written in the same transaction as
//! the value they point at, so that what lists or counts reads only what
//! it needs instead of every ticket a year has opened.
//!
//! `ticket_index` (each value a `Summary` of the ticket):
//!
//! - `active/{number}`: the open and claimed tickets (the queue, who holds
//!   what, idle claims, the threads to watch);
//! - `opened/{created_at µs}/{number}`: every ticket by when it was opened
//!   (`stats` over a period reads that period only);
//! - `resolved/{resolved_at µs}/{number}`: the resolved tickets by when
//!   they were resolved (the backlog of a day in the past), each value
//!   only when the ticket was opened: the key of its `opened/` row, which
//!   holds the rest;
//! - `alarm/…` and `replan/…`: the response targets' timers (`alarms`).
//!
//! `outbox_index` (each value the entry's number):
//!
//! - `waiting/{number}`, `agent/{number}`, `failed/{number}`: entries still
//!   to send (or to check on X), waiting for their agent, refused for good;
//! - `origin/{platform}/{channel}/{message}`: the entry an agent's chat
//!   message wrote (its edit or deletion acts on it).
//!
//! Both are derived: exports leave them out and an import (or a store
//! from before them) builds them again from the values.

use chrono::{DateTime, Utc};
use sled::transaction::TransactionalTree;

use super::codec::{self, number_key};
use super::outbox::{Delivery, OutboxEntry, OutboxId};
use super::{Store, StoreError, TxResult};
use crate::chat::{MessageRef, Written};
pub use crate::ticket::Summary;
use crate::ticket::{ChatThread, State, Ticket, TicketId};

/// Bumped when what the indexes hold changes: a store indexed by another
/// version is indexed again when it opens.
const INDEX_VERSION: u64 = 4;
pub(super) const VERSION_KEY: &str = "index_version";

fn time_key(kind: &str, at: DateTime<Utc>, id: TicketId) -> String {
    format!(
        "{kind}/{:020}/{}",
        at.timestamp_micros().max(0),
        number_key(id.get())
    )
}

/// The value of an index row: a ticket's summary, or (for `resolved/`)
/// when it was opened.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
enum Row {
    Summary(Box<Summary>),
    Opened(DateTime<Utc>),
}

fn ticket_rows(t: &Ticket) -> Vec<(String, Row)> {
    let summary = Summary::of(t);
    let active = !matches!(t.state, State::Resolved(_));
    let mut rows: Vec<(String, Row)> = super::alarms::rows(t, &summary, active)
        .into_iter()
        .map(|(key, s)| (key, Row::Summary(Box::new(s))))
        .collect();
    if let Some(at) = t.resolved_at.filter(|_| !active) {
        rows.push((time_key("resolved", at, t.id), Row::Opened(t.created_at)));
    }
    if active {
        let key = format!("active/{}", number_key(t.id.get()));
        rows.push((key, Row::Summary(Box::new(summary.clone()))));
    }
    rows.push((
        time_key("opened", t.created_at, t.id),
        Row::Summary(Box::new(summary)),
    ));
    rows
}

/// Brings a ticket's rows from what `old` had to what `new` needs.
pub(super) fn reindex_ticket<R>(
    index: &TransactionalTree,
    old: Option<&Ticket>,
    new: &Ticket,
) -> TxResult<(), R> {
    let before = old.map(ticket_rows).unwrap_or_default();
    let after = ticket_rows(new);
    for (key, _) in &before {
        if !after.iter().any(|(k, _)| k == key) {
            index.remove(key.as_bytes())?;
        }
    }
    for (key, row) in &after {
        if !before.iter().any(|(k, r)| k == key && r == row) {
            super::tickets::write(index, key, row)?;
        }
    }
    Ok(())
}

/// Where a chat message was written, as `Written::is` compares it.
fn origin_key(origin: &MessageRef) -> String {
    let channel = match &origin.thread {
        ChatThread::Slack { channel, .. } => channel.as_str(),
        ChatThread::Discord { thread, .. } => thread.as_str(),
    };
    written_key(&Written {
        platform: origin.thread.platform(),
        channel: channel.to_owned(),
        id: origin.id.clone(),
    })
}

fn written_key(w: &Written) -> String {
    format!(
        "origin/{}/{}/{}",
        w.platform.name(),
        w.channel,
        w.id.as_str()
    )
}

/// The rows of an outbox entry: its delivery class, and its origin.
fn outbox_rows(number: OutboxId, e: &OutboxEntry) -> Vec<String> {
    let class = match e.delivery {
        Delivery::Pending | Delivery::Sending { .. } => Some("waiting"),
        Delivery::Scheduled { .. } | Delivery::Unconfirmed => Some("agent"),
        Delivery::Failed { .. } => Some("failed"),
        Delivery::Sent { .. } | Delivery::Withdrawn { .. } => None,
    };
    let mut rows: Vec<String> = class
        .map(|c| format!("{c}/{}", number_key(number)))
        .into_iter()
        .collect();
    rows.extend(e.origin.as_ref().map(origin_key));
    rows
}

/// Brings an outbox entry's rows from what `old` had to what `new` needs
/// (`None`: the entry is gone).
pub(super) fn reindex_entry<R>(
    index: &TransactionalTree,
    number: OutboxId,
    old: Option<&OutboxEntry>,
    new: Option<&OutboxEntry>,
) -> TxResult<(), R> {
    let before = old.map(|e| outbox_rows(number, e)).unwrap_or_default();
    let after = new.map(|e| outbox_rows(number, e)).unwrap_or_default();
    for key in before.iter().filter(|k| !after.contains(k)) {
        index.remove(key.as_bytes())?;
    }
    for key in after.iter().filter(|k| !before.contains(k)) {
        super::tickets::write(index, key, &number)?;
    }
    Ok(())
}

/// Rows written to a tree in batches of `BATCH_ROWS`.
struct Batched<'a> {
    tree: &'a sled::Tree,
    batch: sled::Batch,
    rows: usize,
}

/// A few megabytes a batch; in the unit tests, a few rows, so that their
/// small stores are indexed in several batches too.
const BATCH_ROWS: usize = if cfg!(test) { 4 } else { 20_000 };

impl<'a> Batched<'a> {
    fn new(tree: &'a sled::Tree) -> Self {
        Self {
            tree,
            batch: sled::Batch::default(),
            rows: 0,
        }
    }

    fn insert(&mut self, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        self.batch.insert(key.as_bytes(), value);
        self.rows += 1;
        if self.rows >= BATCH_ROWS {
            self.finish()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), StoreError> {
        self.tree.apply_batch(std::mem::take(&mut self.batch))?;
        self.rows = 0;
        Ok(())
    }
}

impl Store {
    /// Indexes every ticket and outbox entry again unless the store is
    /// indexed by this version already (a store from before the indexes,
    /// or one just imported). Returns whether it did.
    pub(super) fn ensure_indexes(&self) -> Result<bool, StoreError> {
        let current: Option<u64> = self.get(&self.meta, "meta", VERSION_KEY)?;
        if current == Some(INDEX_VERSION) {
            return Ok(false);
        }
        // Tickets from before this version never had alarms planned.
        if current.is_none_or(|v| v < 2) {
            self.mark_tickets_before_alarms()?;
        }
        self.index_all()?;
        Ok(true)
    }

    /// Indexes every ticket and outbox entry from scratch, a batch of
    /// rows at a time: one batch for a million tickets held gigabytes.
    /// Nothing reads the indexes before the version is written, last; a
    /// stop half way indexes again at the next open.
    pub(super) fn index_all(&self) -> Result<(), StoreError> {
        self.ticket_index.clear()?;
        self.outbox_index.clear()?;
        let mut batch = Batched::new(&self.ticket_index);
        for item in self.tickets.iter() {
            let (key, value) = item?;
            let t: Ticket = codec::decode("tickets", &key, &value)?;
            for (k, row) in ticket_rows(&t) {
                batch.insert(&k, codec::encode(&row)?)?;
            }
        }
        batch.finish()?;
        let mut batch = Batched::new(&self.outbox_index);
        for item in self.outbox.iter() {
            let (key, value) = item?;
            let e: OutboxEntry = codec::decode("outbox", &key, &value)?;
            let Some(number) = codec::show_key(&key).parse().ok() else {
                continue;
            };
            for k in outbox_rows(number, &e) {
                batch.insert(&k, codec::encode(&number)?)?;
            }
        }
        batch.finish()?;
        self.put(&self.meta, VERSION_KEY, &INDEX_VERSION)
    }

    /// The open and claimed tickets, in number order.
    pub fn active(&self) -> Result<Vec<Ticket>, StoreError> {
        self.active_where(|_| true)
    }

    /// The open and claimed tickets whose summary passes `keep`, in
    /// number order (only those are read whole).
    pub fn active_where(&self, keep: impl Fn(&Summary) -> bool) -> Result<Vec<Ticket>, StoreError> {
        let mut out = Vec::new();
        for item in self.ticket_index.scan_prefix("active/") {
            let (key, value) = item?;
            let row: Summary = codec::decode("ticket_index", &key, &value)?;
            if !keep(&row) {
                continue;
            }
            if let Some(t) = self.ticket(row.id)? {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// How many tickets are open, claimed and resolved.
    pub fn ticket_counts(&self) -> Result<[(&'static str, usize); 3], StoreError> {
        let (mut open, mut claimed) = (0, 0);
        for item in self.ticket_index.scan_prefix("active/") {
            let (key, value) = item?;
            let row: Summary = codec::decode("ticket_index", &key, &value)?;
            match row.state.as_str() {
                "claimed" => claimed += 1,
                _ => open += 1,
            }
        }
        let total = self.ticket_total()?;
        Ok([
            ("open", open),
            ("claimed", claimed),
            ("resolved", total.saturating_sub(open + claimed)),
        ])
    }

    /// How many tickets the store holds (they are numbered from 1 and
    /// never removed).
    pub fn ticket_total(&self) -> Result<usize, StoreError> {
        let next: u64 = self.get(&self.meta, "meta", "next_ticket")?.unwrap_or(1);
        Ok(usize::try_from(next.saturating_sub(1)).unwrap_or(usize::MAX))
    }

    /// Every ticket opened at or after `since`, oldest first.
    pub fn opened_since(&self, since: DateTime<Utc>) -> Result<Vec<Summary>, StoreError> {
        let from = format!("opened/{:020}/", since.timestamp_micros().max(0));
        let mut out = Vec::new();
        for item in self
            .ticket_index
            .range(from.as_bytes()..b"opened0".as_slice())
        {
            let (key, value) = item?;
            out.push(codec::decode("ticket_index", &key, &value)?);
        }
        Ok(out)
    }

    /// The tickets opened before `since` and resolved (last) at or after
    /// it, in the order they were resolved: with `opened_since` and the
    /// active ones, every ticket a period's backlog counts.
    pub fn resolved_since(&self, since: DateTime<Utc>) -> Result<Vec<Summary>, StoreError> {
        let from = format!("resolved/{:020}/", since.timestamp_micros().max(0));
        let mut out = Vec::new();
        for item in self
            .ticket_index
            .range(from.as_bytes()..b"resolved0".as_slice())
        {
            let (key, value) = item?;
            let opened: DateTime<Utc> = codec::decode("ticket_index", &key, &value)?;
            if opened >= since {
                continue;
            }
            let Some(number) = codec::show_key(&key).rsplit('/').next().map(str::to_owned) else {
                continue;
            };
            let opened_key = format!("opened/{:020}/{number}", opened.timestamp_micros().max(0));
            if let Some(row) = self.get(&self.ticket_index, "ticket_index", &opened_key)? {
                out.push(row);
            }
        }
        Ok(out)
    }

    /// The summaries of the open and claimed tickets.
    pub fn active_summaries(&self) -> Result<Vec<Summary>, StoreError> {
        let mut out = Vec::new();
        for item in self.ticket_index.scan_prefix("active/") {
            let (key, value) = item?;
            out.push(codec::decode("ticket_index", &key, &value)?);
        }
        Ok(out)
    }

    /// The numbers of the outbox entries in a class (`waiting`, `agent`,
    /// `failed`), oldest first.
    pub(super) fn outbox_class(&self, class: &str) -> Result<Vec<OutboxId>, StoreError> {
        let mut out = Vec::new();
        for item in self.outbox_index.scan_prefix(format!("{class}/")) {
            let (key, value) = item?;
            out.push(codec::decode("outbox_index", &key, &value)?);
        }
        Ok(out)
    }

    /// The number of the entry written from the chat message `written`.
    pub(super) fn outbox_by_origin(
        &self,
        written: &Written,
    ) -> Result<Option<OutboxId>, StoreError> {
        self.get(&self.outbox_index, "outbox_index", &written_key(written))
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
