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

    /// Indexes every ticket and outbox entry from scratch.
    pub(super) fn index_all(&self) -> Result<(), StoreError> {
        self.ticket_index.clear()?;
        self.outbox_index.clear()?;
        let mut batch = sled::Batch::default();
        for item in self.tickets.iter() {
            let (key, value) = item?;
            let t: Ticket = codec::decode("tickets", &key, &value)?;
            for (k, row) in ticket_rows(&t) {
                batch.insert(k.as_bytes(), codec::encode(&row)?);
            }
        }
        self.ticket_index.apply_batch(batch)?;
        let mut batch = sled::Batch::default();
        for item in self.outbox.iter() {
            let (key, value) = item?;
            let e: OutboxEntry = codec::decode("outbox", &key, &value)?;
            let Some(number) = codec::show_key(&key).parse().ok() else {
                continue;
            };
            for k in outbox_rows(number, &e) {
                batch.insert(k.as_bytes(), codec::encode(&number)?);
            }
        }
        self.outbox_index.apply_batch(batch)?;
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
mod tests {
    use super::super::tests::pending_reply as entry;
    use super::super::Store;
    use super::*;
    use crate::testing::{actor, mention, t0};
    use crate::ticket::{self, Command, Policy, Role, XRef};

    fn temp() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("open store");
        (dir, store)
    }

    fn opened_at(n: u64, minutes: i64) -> crate::ticket::NewTicket {
        let mut new = mention(n);
        new.first_message.at = t0() + chrono::Duration::minutes(minutes);
        new
    }

    fn act(store: &Store, id: u64, who: &str, command: Command) {
        act_at(store, id, who, command, t0());
    }

    fn act_at(store: &Store, id: u64, who: &str, command: Command, now: DateTime<Utc>) {
        let me = actor(who, Role::Lead);
        let outcome = store
            .update_ticket(TicketId::new(id), Some(&me.agent), now, |t| {
                ticket::apply(t, command.clone(), &me, now, &Policy::default())
            })
            .expect("update");
        assert!(outcome.is_ok(), "{outcome:?}");
    }

    fn ids(tickets: &[Ticket]) -> Vec<u64> {
        tickets.iter().map(|t| t.id.get()).collect()
    }

    #[test]
    fn the_ticket_index_follows_every_change() {
        let (_dir, store) = temp();
        for (n, minutes) in [(1, 0), (2, 60), (3, 120)] {
            store.open_ticket(opened_at(n, minutes)).expect("open");
        }
        act(&store, 2, "sam", Command::Claim { force: false });
        act(&store, 3, "sam", Command::Resolve { note: None });

        assert_eq!(ids(&store.active().expect("active")), [1, 2]);
        assert_eq!(ids(&store.queue().expect("queue")), [1]);
        assert_eq!(ids(&store.held_by(&"sam".into()).expect("mine")), [2]);
        assert_eq!(
            store.ticket_counts().expect("counts"),
            [("open", 1), ("claimed", 1), ("resolved", 1)]
        );
        let since = store
            .opened_since(t0() + chrono::Duration::minutes(30))
            .expect("opened");
        let states: Vec<(u64, &str)> = since
            .iter()
            .map(|s| (s.id.get(), s.state.as_str()))
            .collect();
        assert_eq!(states, [(2, "claimed"), (3, "resolved")]);
        assert_eq!(since[1].resolved_at, Some(t0()));

        // Reopened by the lead: active again, in the queue.
        act(&store, 3, "jo", Command::Reopen);
        assert_eq!(ids(&store.active().expect("active")), [1, 2, 3]);
        assert_eq!(store.opened_since(t0()).expect("all").len(), 3);
    }

    #[test]
    fn resolved_rows_lead_to_the_tickets_opened_before_a_period() {
        let (_dir, store) = temp();
        let minutes = chrono::Duration::minutes;
        // 1 opened before the period and resolved in it, 2 opened and
        // resolved in it, 3 opened and resolved before it.
        for (n, opened) in [(1, -60), (2, 10), (3, -90)] {
            store.open_ticket(opened_at(n, opened)).expect("open");
        }
        let resolve = Command::Resolve { note: None };
        act_at(&store, 1, "sam", resolve.clone(), t0() + minutes(30));
        act_at(&store, 2, "sam", resolve.clone(), t0() + minutes(40));
        act_at(&store, 3, "sam", resolve, t0() - minutes(30));

        let resolved = store.resolved_since(t0()).expect("resolved");
        let found: Vec<(u64, Option<DateTime<Utc>>)> = resolved
            .iter()
            .map(|s| (s.id.get(), s.resolved_at))
            .collect();
        assert_eq!(found, [(1, Some(t0() + minutes(30)))]);
        assert_eq!(resolved[0].created_at, t0() - minutes(60));
        // A resolved row holds only when its ticket was opened.
        let row = store
            .ticket_index
            .scan_prefix("resolved/")
            .next()
            .and_then(Result::ok)
            .map(|(_, v)| v.len());
        assert!(row.is_some_and(|len| len < 64), "{row:?}");
    }

    #[test]
    fn lists_read_only_the_tickets_they_show() {
        let (_dir, store) = temp();
        for n in 1..=20 {
            store.open_ticket(mention(n)).expect("open");
            if n > 1 {
                act(&store, n, "sam", Command::Resolve { note: None });
            }
        }
        let before = store.ticket_reads();
        assert_eq!(store.queue().expect("queue").len(), 1);
        assert!(store.held_by(&"sam".into()).expect("mine").is_empty());
        let counts = store.ticket_counts().expect("counts");
        assert_eq!(counts[2], ("resolved", 19));
        assert_eq!(
            store.ticket_reads() - before,
            1,
            "only the open ticket is read"
        );
    }

    #[test]
    fn the_outbox_index_follows_each_delivery() {
        let (_dir, store) = temp();
        let origin = MessageRef {
            thread: ChatThread::Slack {
                channel: "C1".into(),
                thread_ts: "1700000000.000100".into(),
            },
            id: "1700000000.000200".into(),
        };
        let written = Written {
            platform: crate::chat::Platform::Slack,
            channel: "C1".to_owned(),
            id: "1700000000.000200".into(),
        };
        let a = store.enqueue(&entry(Some(origin))).expect("enqueue");
        let b = store.enqueue(&entry(None)).expect("enqueue");
        let waiting: Vec<OutboxId> = store
            .undelivered()
            .expect("list")
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(waiting, [a, b]);
        assert_eq!(
            store.entry_from(&written).expect("origin").map(|(n, _)| n),
            Some(a)
        );

        let sent = Delivery::Sent {
            x_ref: XRef::Tweet { id: "555".into() },
            at: t0(),
        };
        assert!(store
            .set_delivery(a, &Delivery::Pending, sent)
            .expect("sent"));
        let failed = Delivery::Failed {
            reason: "duplicate".to_owned(),
            at: t0(),
        };
        assert!(store
            .set_delivery(b, &Delivery::Pending, failed)
            .expect("failed"));
        assert!(store.undelivered().expect("list").is_empty());
        let counts = store.outbox_counts(t0()).expect("counts");
        assert_eq!((counts.waiting, counts.failed), (0, 1));
        // A sent reply is still found from its message (an edit is told
        // that X keeps what was sent).
        assert_eq!(
            store.entry_from(&written).expect("origin").map(|(n, _)| n),
            Some(a)
        );
    }

    #[test]
    fn a_store_from_before_the_indexes_is_indexed_when_it_opens() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let store = Store::open(dir.path()).expect("open");
            for n in 1..=3 {
                store.open_ticket(mention(n)).expect("open");
            }
            act(&store, 3, "sam", Command::Resolve { note: None });
            store.enqueue(&entry(None)).expect("enqueue");
            // What a store written before the indexes looks like.
            store.ticket_index.clear().expect("clear");
            store.outbox_index.clear().expect("clear");
            store.meta.remove(VERSION_KEY).expect("forget");
            store.flush().expect("flush");
        }
        let store = Store::open(dir.path()).expect("reopen");
        assert_eq!(ids(&store.queue().expect("queue")), [1, 2]);
        assert_eq!(store.undelivered().expect("outbox").len(), 1);
        assert_eq!(store.opened_since(t0()).expect("opened").len(), 3);
    }
}
