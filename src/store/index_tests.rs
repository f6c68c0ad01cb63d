//! The indexes follow every change, and lists read only what they show.

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
