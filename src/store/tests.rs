use chrono::Duration;

use super::*;
use crate::testing::{actor, agent, mention, t0};
use crate::ticket::{
    self, ChatThread, Command, Policy, Priority, ReplyChannel, Role, State, Ticket, TicketId,
};

fn temp() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open store");
    (dir, store)
}

#[test]
fn tickets_are_numbered_and_found_by_conversation_tweet_and_thread() {
    let (_dir, store) = temp();
    let first = store.open_ticket(mention(100)).expect("open");
    let second = store.open_ticket(mention(200)).expect("open");
    assert!(matches!(&first, Opened::New(t) if t.id == TicketId::new(1)));
    assert!(matches!(&second, Opened::New(t) if t.id == TicketId::new(2)));

    // The same conversation again: the existing ticket, nothing new.
    let again = store.open_ticket(mention(100)).expect("open");
    assert!(matches!(&again, Opened::Existing(t) if t.id == TicketId::new(1)));
    assert_eq!(store.tickets().expect("list").len(), 2);

    let conv = &first.ticket().conversation;
    assert_eq!(
        store
            .ticket_for_conversation(conv)
            .expect("get")
            .map(|t| t.id),
        Some(TicketId::new(1))
    );
    assert_eq!(
        store
            .ticket_for_tweet(&"200".into())
            .expect("get")
            .map(|t| t.id),
        Some(TicketId::new(2))
    );

    let thread = ChatThread::Slack {
        channel: "C1".into(),
        thread_ts: "1700000000.000100".into(),
    };
    store
        .link_thread(TicketId::new(2), thread.clone())
        .expect("link");
    store
        .link_thread(TicketId::new(2), thread.clone())
        .expect("link twice");
    let found = store.ticket_for_thread(&thread).expect("get");
    assert_eq!(
        found.map(|t| (t.id, t.threads.len())),
        Some((TicketId::new(2), 1))
    );
    store
        .link_tweet(TicketId::new(2), &"201".into())
        .expect("link tweet");
    assert_eq!(
        store
            .ticket_for_tweet(&"201".into())
            .expect("get")
            .map(|t| t.id),
        Some(TicketId::new(2))
    );
}

#[test]
fn an_update_is_stored_with_its_audit_entries_and_a_refusal_writes_nothing() {
    let (_dir, store) = temp();
    let id = store.open_ticket(mention(1)).expect("open").ticket().id;
    let jo = actor("jo", Role::Agent);
    let sam = actor("sam", Role::Agent);
    let claim = |who: &ticket::Actor| {
        let who = who.clone();
        move |t: &ticket::Ticket| {
            ticket::apply(
                t,
                Command::Claim { force: false },
                &who,
                t0(),
                &Policy::default(),
            )
        }
    };
    let won = store
        .update_ticket(id, Some(&jo.agent), t0(), claim(&jo))
        .expect("store");
    assert!(won.is_ok());
    let lost = store
        .update_ticket(id, Some(&sam.agent), t0(), claim(&sam))
        .expect("store");
    assert!(
        matches!(lost, Err(ticket::Refusal::HeldBy { ref holder, .. }) if holder.id.as_str() == "jo")
    );

    let stored = store.ticket(id).expect("get").expect("exists");
    assert_eq!(stored.holder().map(|h| h.id.as_str()), Some("jo"));
    let log = store.audit_log(Some(id)).expect("audit");
    let actions: Vec<(&str, Option<&str>)> = log
        .iter()
        .map(|e| (e.action.as_str(), e.actor.as_ref().map(|a| a.id.as_str())))
        .collect();
    assert_eq!(actions, [("open", None), ("claim", Some("jo"))]);
}

#[test]
fn updating_a_missing_ticket_is_an_error_not_a_panic() {
    let (_dir, store) = temp();
    let out = store.update_ticket(TicketId::new(9), None, t0(), |t| {
        Ok(ticket::customer_wrote(t, mention(1).first_message))
    });
    assert!(matches!(out, Err(StoreError::NoSuchTicket(id)) if id == TicketId::new(9)));
}

#[test]
fn a_damaged_value_is_an_error_naming_its_key() {
    let (_dir, store) = temp();
    let id = store.open_ticket(mention(1)).expect("open").ticket().id;
    let key = codec::number_key(id.get());
    let mut bytes = store
        .tickets
        .get(&key)
        .expect("get")
        .expect("exists")
        .to_vec();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    store.tickets.insert(&key, bytes).expect("corrupt");

    let err = store
        .ticket(id)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("tickets/00000000000000000001") && err.contains("damaged"),
        "{err}"
    );
    assert!(store.verify().is_err());
    let update = store.update_ticket(id, None, t0(), |t| {
        Ok(ticket::customer_wrote(t, mention(1).first_message))
    });
    assert!(matches!(update, Err(StoreError::Damaged { .. })));
    let mut sink = Vec::new();
    assert!(matches!(
        store.export(&mut sink),
        Err(StoreError::Damaged { .. })
    ));
}

#[test]
fn seen_ids_are_reported_once_until_they_expire() {
    let (_dir, store) = temp();
    let ttl = Duration::hours(24);
    assert!(store.mark_seen("slack", "Ev1", ttl, t0()).expect("seen"));
    assert!(!store
        .mark_seen("slack", "Ev1", ttl, t0() + Duration::hours(1))
        .expect("seen"));
    assert!(store
        .mark_seen("discord", "Ev1", ttl, t0())
        .expect("another namespace"));
    assert_eq!(
        store.purge_seen(t0() + Duration::hours(23)).expect("purge"),
        0
    );
    assert_eq!(
        store.purge_seen(t0() + Duration::hours(25)).expect("purge"),
        2
    );
    assert!(store
        .mark_seen("slack", "Ev1", ttl, t0() + Duration::hours(25))
        .expect("seen"));
}

#[test]
fn cursors_and_claims_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let store = Store::open(dir.path()).expect("open");
        store
            .set_cursor("acme", "mentions", "1789")
            .expect("cursor");
        let id = store.open_ticket(mention(1)).expect("open").ticket().id;
        let jo = actor("jo", Role::Lead);
        store
            .update_ticket(id, Some(&jo.agent), t0(), |t| {
                ticket::apply(
                    t,
                    Command::Claim { force: false },
                    &jo,
                    t0(),
                    &Policy::default(),
                )
            })
            .expect("store")
            .expect("claimed");
    }
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(
        store.cursor("acme", "mentions").expect("cursor").as_deref(),
        Some("1789")
    );
    assert_eq!(store.cursor("acme", "dms").expect("cursor"), None);
    let t = store
        .ticket(TicketId::new(1))
        .expect("get")
        .expect("exists");
    assert!(matches!(t.state, State::Claimed(ref c) if c.holder.id.as_str() == "jo"));
}

#[test]
fn the_queue_is_most_urgent_then_oldest_and_mine_is_what_i_hold() {
    let (_dir, store) = temp();
    for (n, priority, minutes) in [
        (1, Priority::Low, 0),
        (2, Priority::Urgent, 10),
        (3, Priority::Urgent, 5),
        (4, Priority::Normal, 1),
    ] {
        let mut new = mention(n);
        new.priority = priority;
        new.first_message.at = t0() + Duration::minutes(minutes);
        store.open_ticket(new).expect("open");
    }
    let jo = actor("jo", Role::Agent);
    store
        .update_ticket(TicketId::new(4), Some(&jo.agent), t0(), |t| {
            ticket::apply(
                t,
                Command::Claim { force: false },
                &jo,
                t0(),
                &Policy::default(),
            )
        })
        .expect("store")
        .expect("claimed");
    let queue: Vec<u64> = store
        .queue()
        .expect("queue")
        .iter()
        .map(|t| t.id.get())
        .collect();
    assert_eq!(queue, [3, 2, 1]);
    let mine: Vec<u64> = store
        .held_by(&"jo".into())
        .expect("mine")
        .iter()
        .map(|t| t.id.get())
        .collect();
    assert_eq!(mine, [4]);
}

/// Jo's public reply to ticket 1, waiting to go.
pub(super) fn pending_reply(origin: Option<crate::chat::MessageRef>) -> OutboxEntry {
    OutboxEntry {
        ticket: TicketId::new(1),
        account: "acme".into(),
        agent: agent("jo"),
        text: "On it! ^JD".to_owned(),
        channel: ReplyChannel::Public,
        created_at: t0(),
        delivery: Delivery::Pending,
        in_reply_to: None,
        recipient: None,
        origin,
        auto: None,
        held_until: None,
        signature: None,
        prompt: None,
    }
}

#[test]
fn an_outbox_entry_moves_forward_once() {
    let (_dir, store) = temp();
    let entry = pending_reply(None);
    let id = store.enqueue(&entry).expect("enqueue");
    let sending = Delivery::Sending {
        since: t0(),
        attempt: 1,
    };
    assert!(store
        .set_delivery(id, &Delivery::Pending, sending.clone())
        .expect("move"));
    // A second worker holding the stale state loses.
    assert!(!store
        .set_delivery(id, &Delivery::Pending, sending.clone())
        .expect("move"));
    assert_eq!(store.undelivered().expect("list").len(), 1);
    let sent = Delivery::Sent {
        x_ref: ticket::XRef::Tweet { id: "555".into() },
        at: t0(),
    };
    assert!(store
        .set_delivery(id, &sending, sent.clone())
        .expect("move"));
    assert!(store.undelivered().expect("list").is_empty());
    assert_eq!(
        store.outbox_entry(id).expect("get").map(|e| e.delivery),
        Some(sent)
    );
}

#[test]
fn configured_agents_are_recorded() {
    let (_dir, store) = temp();
    let agents = vec![crate::config::AgentConfig {
        key: "jo".into(),
        name: "Jo Doe".to_owned(),
        initials: "JD".to_owned(),
        slack_user: Some("U0JO".into()),
        discord_user: None,
        lead: true,
    }];
    assert_eq!(store.sync_agents(&agents, t0()).expect("sync"), 1);
    assert_eq!(
        store
            .sync_agents(&agents, t0() + Duration::hours(1))
            .expect("sync"),
        0
    );
    assert_eq!(
        store
            .agents()
            .expect("list")
            .first()
            .map(|a| a.name.as_str()),
        Some("Jo Doe")
    );
}

#[test]
fn a_reply_is_written_with_the_change_that_asks_for_it_and_a_first_reply_with_its_ticket() {
    let (_dir, store) = temp();
    let opened = store.open_ticket(mention(100)).expect("open");
    let policy = Policy::default();
    let jo = actor("jo", Role::Agent);
    let reply = |t: &Ticket| {
        let text = "@cust100 On it ^JD".to_owned();
        ticket::apply(t, Command::Reply { text }, &jo, t0(), &policy)
    };
    // Jo's reply, if the change has one, as outbox entry `n`.
    let reply_as = |n| Also {
        outbox: Some((
            n,
            Outgoing::Reply {
                agent: &jo.agent,
                origin: None,
                at: t0(),
                delivery: &Delivery::Pending,
                signature: "JD",
            },
        )),
        ..Also::default()
    };
    let sent = store
        .update_ticket_also(
            opened.ticket().id,
            Some(&jo.agent),
            t0(),
            reply,
            &reply_as(7),
        )
        .expect("store")
        .expect("reply");
    let entry = store.outbox_entry(7).expect("get").expect("written");
    assert_eq!(entry.ticket, sent.ticket.id);
    assert_eq!(entry.text, "@cust100 On it ^JD");
    assert_eq!(entry.agent, jo.agent);
    assert_eq!(entry.in_reply_to, Some("100".into()));
    assert_eq!(entry.recipient, Some(sent.ticket.customer.id.clone()));

    // A change with no reply in it writes no entry.
    let note = |t: &Ticket| {
        let text = "internal".to_owned();
        ticket::apply(t, Command::Note { text }, &jo, t0(), &policy)
    };
    store
        .update_ticket_also(
            opened.ticket().id,
            Some(&jo.agent),
            t0(),
            note,
            &reply_as(8),
        )
        .expect("store")
        .expect("note");
    assert_eq!(store.outbox_entry(8).expect("get"), None);

    // The automatic reply of a new ticket carries the number it was given.
    let first = FirstReply {
        entry: OutboxEntry {
            ticket: TicketId::new(0),
            ..entry.clone()
        },
        once: "acme/cust200/DmWelcome".to_owned(),
        quiet_until: t0() + Duration::hours(12),
    };
    let second = store
        .open_ticket_from(mention(200), None, Some((9, &first)))
        .expect("open");
    let auto = store.outbox_entry(9).expect("get").expect("written");
    assert_eq!(auto.ticket, second.ticket().id);
    assert_ne!(auto.ticket, TicketId::new(0));
}

#[test]
fn the_startup_check_reads_each_value_as_its_type() {
    let (_dir, store) = temp();
    store.open_ticket(mention(1)).expect("ticket");
    assert_eq!(
        store.verify().ok(),
        Some(store.counts().iter().map(|(_, n)| n).sum())
    );
    // Intact framing, valid JSON, but not a ticket: found at startup, not
    // later by whatever reads it first.
    store
        .tickets
        .insert(
            codec::number_key(2).as_bytes(),
            codec::frame(br#"{"id":"two"}"#),
        )
        .expect("insert");
    let err = store
        .verify()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("tickets/00000000000000000002"), "{err}");
}

#[test]
fn a_damaged_journal_entry_is_kept_and_does_not_hold_back_the_others() {
    let (_dir, store) = temp();
    let event = crate::chat::ChatEvent::MessageDeleted {
        message: crate::chat::Written {
            platform: crate::chat::Platform::Slack,
            channel: "C1".into(),
            id: "1.0".into(),
        },
        event_id: "Ev1".into(),
    };
    let recorded = crate::chat::Journal::record(
        &store,
        crate::chat::Platform::Slack,
        "b",
        &event,
        Duration::hours(1),
        t0(),
    );
    assert_eq!(recorded.ok(), Some(true));
    store
        .chat_inbox
        .insert("a", codec::frame(br#"{"kind":"from_a_newer_perch"}"#))
        .expect("insert");
    let events = store.chat_events().expect("read");
    assert_eq!(events.readable.len(), 1, "{events:?}");
    assert_eq!(events.readable[0].1, event);
    assert_eq!(events.damaged.len(), 1, "{events:?}");
    assert_eq!(store.chat_inbox.len(), 2, "nothing is thrown away");
}

#[test]
fn a_new_inbox_item_wakes_the_relay_and_one_seen_before_does_not() {
    use futures_util::FutureExt;
    let (_dir, store) = temp();
    let now = chrono::Utc::now();
    let ttl = chrono::Duration::hours(1);
    assert!(store.inbox_arrivals().notified().now_or_never().is_none());
    assert!(store
        .record_inbound("acme/post/1", &"item", ttl, now)
        .unwrap());
    assert!(
        store.inbox_arrivals().notified().now_or_never().is_some(),
        "woken"
    );
    assert!(!store
        .record_inbound("acme/post/1", &"item", ttl, now)
        .unwrap());
    assert!(
        store.inbox_arrivals().notified().now_or_never().is_none(),
        "nothing new"
    );
}

#[test]
fn an_inbound_item_reads_as_recorded_until_its_seen_id_expires() {
    let (_dir, store) = temp();
    let now = chrono::Utc::now();
    let ttl = chrono::Duration::hours(1);
    assert!(!store.was_recorded("acme/dm/9", now).unwrap());
    assert!(
        !store.was_recorded("acme/dm/9", now).unwrap(),
        "asking records nothing"
    );
    assert!(store
        .record_inbound("acme/dm/9", &"item", ttl, now)
        .unwrap());
    assert!(store.was_recorded("acme/dm/9", now).unwrap());
    assert!(!store
        .was_recorded("acme/dm/9", now + ttl + chrono::Duration::seconds(1))
        .unwrap());
}
