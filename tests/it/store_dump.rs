//! `export` then `import` into an empty store reproduces every tree.

use chrono::Duration;
use perch::store::{Delivery, OutboxEntry, Store, TREES};
use perch::testing::{actor, agent, mention, t0};
use perch::ticket::{self, ChatThread, Command, Policy, ReplyChannel, Role, TicketId};

use crate::common::{
    damage_ticket, free_addr, perch, small_config, text, until_blocking, SMALL_SECRETS,
};

/// A store with something in every tree.
fn populated(dir: &std::path::Path) -> Store {
    let store = Store::open(dir).expect("open");
    for n in 1..=5 {
        store.open_ticket(mention(n)).expect("ticket");
    }
    let jo = actor("jo", Role::Agent);
    store
        .update_ticket(TicketId::new(2), Some(&jo.agent), t0(), |t| {
            ticket::apply(
                t,
                Command::Claim { force: false },
                &jo,
                t0(),
                &Policy::default(),
            )
        })
        .expect("store")
        .expect("claim");
    store
        .link_thread(
            TicketId::new(2),
            ChatThread::Slack {
                channel: "C1".into(),
                thread_ts: "1700000000.000100".into(),
            },
        )
        .expect("thread");
    store.set_cursor("acme", "mentions", "99").expect("cursor");
    store.set_refresh_token("acme", "refresh-1").expect("token");
    store
        .record_inbound("acme/post/1", &"item", Duration::hours(1), t0())
        .expect("inbox");
    store
        .mark_seen("slack", "Ev1", Duration::hours(1), t0())
        .expect("seen");
    let event = perch::chat::ChatEvent::ThreadMessage {
        message: perch::chat::MessageRef {
            thread: ChatThread::Slack {
                channel: "C1".into(),
                thread_ts: "1700000000.000100".into(),
            },
            id: "1700000001.000200".into(),
        },
        author: perch::chat::ChatUser {
            platform: perch::chat::Platform::Slack,
            id: "U0JO".into(),
            name: None,
            roles: Vec::new(),
        },
        text: "hello".to_owned(),
        event_id: "Ev2".to_owned(),
        files: Vec::new(),
    };
    store
        .record_chat_event("slack", "Ev2", &event, Duration::hours(1), t0())
        .expect("journal");
    store
        .set_route_view(
            TicketId::new(2),
            "slack:C1",
            &perch::store::RouteView {
                opening_since: None,
                card_revision: 1,
                relayed: 1,
                alarms_said: 0,
            },
        )
        .expect("view");
    store
        .enqueue(&OutboxEntry {
            ticket: TicketId::new(2),
            account: "acme".into(),
            agent: agent("jo"),
            text: "Hi! ^JD".to_owned(),
            channel: ReplyChannel::Public,
            created_at: t0(),
            delivery: Delivery::Pending,
            in_reply_to: None,
            recipient: None,
            origin: None,
            auto: None,
            held_until: None,
            signature: None,
            prompt: None,
        })
        .expect("outbox");
    store
        .sync_agents(
            &[perch::config::AgentConfig {
                key: "jo".into(),
                name: "Jo".to_owned(),
                initials: "JD".to_owned(),
                slack_user: Some("U0JO".into()),
                discord_user: None,
                lead: false,
            }],
            t0(),
        )
        .expect("agents");
    store
}

#[test]
fn export_then_import_reproduces_every_tree() {
    let (a, b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let original = populated(a.path());
    for (tree, n) in original.counts() {
        assert!(n > 0, "the fixture leaves tree {tree} empty");
    }
    let mut dump = Vec::new();
    let exported = original.export(&mut dump).expect("export");

    let copy = Store::open(b.path()).expect("open");
    let summary = copy.import(&mut dump.as_slice()).expect("import");
    assert_eq!(summary.total(), exported);
    assert_eq!(original.counts(), copy.counts());

    // Byte for byte: a second export is identical.
    let mut again = Vec::new();
    copy.export(&mut again).expect("export copy");
    assert_eq!(
        String::from_utf8_lossy(&dump),
        String::from_utf8_lossy(&again)
    );
    assert_eq!(copy.verify().expect("verify"), exported);
    assert_eq!(
        copy.tickets().expect("tickets"),
        original.tickets().expect("tickets")
    );
    assert_eq!(
        copy.audit_log(None).expect("audit"),
        original.audit_log(None).expect("audit")
    );
    // The copy keeps numbering where the original left off: tickets, and
    // the outbox (a new reply must not overwrite an imported one).
    let next = copy.open_ticket(mention(6)).expect("ticket");
    assert_eq!(next.ticket().id, TicketId::new(6));
    let imported = copy.undelivered().expect("outbox");
    let (last, entry) = imported.last().cloned().expect("an imported reply");
    let new = copy.enqueue(&entry).expect("enqueue");
    assert!(new > last, "reply {new} after imported {last}");
    assert_eq!(
        copy.undelivered().expect("outbox").len(),
        imported.len() + 1
    );
}

#[test]
fn import_refuses_a_store_that_is_not_empty_or_a_bad_dump() {
    let (a, b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let original = populated(a.path());
    let mut dump = Vec::new();
    original.export(&mut dump).expect("export");
    let err = original
        .import(&mut dump.as_slice())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("not empty"), "{err}");

    let empty = Store::open(b.path()).expect("open");
    let cases: [(&str, &str); 6] = [
        ("", "no header"),
        ("{\"hello\":1}\n", "not a perch export header"),
        (
            "{\"perch_export\":1,\"schema\":1}\n{\"tree\":\"tickets\",\"key\":\"1\"}\n",
            "line 2",
        ),
        (
            "{\"perch_export\":1,\"schema\":1}\n{\"tree\":\"nope\",\"key\":\"1\",\"value\":1}\n",
            "`nope` is not a perch tree",
        ),
        // JSON, but not a ticket: startup would refuse the store, so the
        // import refuses the dump, by line.
        (
            "{\"perch_export\":1,\"schema\":1}\n{\"tree\":\"cursors\",\"key\":\"a/b\",\"value\":\"1\"}\n{\"tree\":\"tickets\",\"key\":\"00000000000000000001\",\"value\":{\"id\":\"x\"}}\n",
            "line 3: stored value tickets/00000000000000000001 is damaged",
        ),
        (
            "{\"perch_export\":1,\"schema\":1}\n{\"tree\":\"outbox\",\"key\":\"00000000000000000007\",\"value\":[1,2]}\n",
            "line 2",
        ),
    ];
    for (input, message) in cases {
        let err = empty
            .import(&mut input.as_bytes())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(message), "{input:?}: {err}");
        assert!(empty.is_empty(), "a failed import wrote something");
    }
    assert_eq!(TREES.len(), original.counts().len());
}

#[test]
fn the_cli_exports_and_imports_through_stdout_and_stdin() {
    let (a, b, cfg) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    drop(populated(a.path()));
    let from = cfg.path().join("from.toml");
    let to = cfg.path().join("to.toml");
    std::fs::write(&from, small_config(a.path(), free_addr(), "")).expect("config");
    std::fs::write(&to, small_config(&b.path().join("store"), free_addr(), "")).expect("config");

    let output = perch()
        .args(["export", "--config"])
        .arg(&from)
        .output()
        .expect("export");
    let (dump, err) = text(&output);
    assert!(output.status.success(), "{err}");
    assert!(dump.starts_with("{\"perch_export\":1"), "{dump}");
    assert!(err.contains("exported"), "{err}");

    let mut child = perch()
        .args(["import", "--config"])
        .arg(&to)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("import");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(dump.as_bytes()).expect("write dump");
    }
    let output = child.wait_with_output().expect("import");
    let (_, err) = text(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains("imported") && err.contains("tickets 5"),
        "{err}"
    );

    let copy = Store::open(&b.path().join("store")).expect("open copy");
    assert_eq!(copy.tickets().expect("tickets").len(), 5);
    // Secrets are not needed for backup and restore.
    let _ = SMALL_SECRETS;
}

#[test]
fn exporting_a_store_that_does_not_exist_says_so() {
    let cfg = tempfile::tempdir().expect("dir");
    let path = cfg.path().join("perch.toml");
    std::fs::write(
        &path,
        small_config(&cfg.path().join("missing"), free_addr(), ""),
    )
    .expect("config");
    let output = perch()
        .args(["export", "--config"])
        .arg(&path)
        .output()
        .expect("export");
    let (out, err) = text(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(out.is_empty());
    assert!(
        err.contains("there is no store at") && err.contains("service.data_dir"),
        "{err}"
    );
}

#[test]
fn a_store_another_perch_holds_is_refused_in_words() {
    let (a, cfg) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    // This process holds the store open (sled locks it per process).
    let held = populated(a.path());
    let path = cfg.path().join("perch.toml");
    std::fs::write(&path, small_config(a.path(), free_addr(), "")).expect("config");
    let output = perch()
        .args(["export", "--config"])
        .arg(&path)
        .output()
        .expect("perch export");
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(
        stderr.contains("is in use by another perch") && !stderr.contains("WouldBlock"),
        "{stderr}"
    );
    drop(held);
}

/// A dump of more lines than an import holds at once (it writes as it
/// reads): a bad last line still leaves the store empty, and a good dump
/// comes in whole, its tickets indexed for the queue.
#[test]
fn a_big_dump_streams_in_and_a_bad_end_leaves_nothing() {
    let (a, b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let original = populated(a.path());
    let mut dump = Vec::new();
    original.export(&mut dump).expect("export");
    for n in 0..25_000 {
        let line = format!(
            "{{\"tree\":\"seen\",\"key\":\"x/{n:06}\",\"value\":{}}}\n",
            1_900_000_000 + n
        );
        dump.extend_from_slice(line.as_bytes());
    }
    let store = Store::open(b.path()).expect("open");
    let mut damaged = dump.clone();
    damaged.extend_from_slice(b"{\"tree\":\"seen\",\"key\":\"x/last\",\"value\":\"soon\"}\n");
    let err = store
        .import(&mut damaged.as_slice())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("x/last"), "{err}");
    assert!(store.is_empty(), "a failed import left values behind");

    let summary = store.import(&mut dump.as_slice()).expect("import");
    let seen = summary.per_tree.iter().find(|(t, _)| t == "seen");
    assert!(seen.is_some_and(|(_, n)| *n >= 25_000), "{summary:?}");
    let queue: Vec<u64> = store
        .queue()
        .expect("queue")
        .iter()
        .map(|t| t.id.get())
        .collect();
    assert_eq!(queue, [1, 3, 4, 5]);
    assert_eq!(store.held_by(&"jo".into()).expect("mine").len(), 1);
}

/// perch run checks what it works on; `perch verify` reads the history
/// too, and names a damaged resolved ticket there.
#[test]
fn perch_verify_reads_the_history_that_the_start_leaves_alone() {
    let (a, cfg) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let dump = {
        let store = populated(a.path());
        let mut dump = Vec::new();
        store.export(&mut dump).expect("export");
        String::from_utf8(dump).expect("utf-8")
    };
    // Ticket 9: history perch does not work on (no index names it),
    // whose value is not a ticket.
    let damaged = format!(
        "{dump}{{\"tree\":\"tickets\",\"key\":\"00000000000000000009\",\"value\":{{\"id\":9}}}}\n"
    );
    let dir = cfg.path().join("store");
    let store = Store::open(&dir).expect("open");
    // An import refuses it, so the damage is made on disk, as a disk would.
    assert!(store.import(&mut damaged.as_bytes()).is_err());
    store.import(&mut dump.as_bytes()).expect("import");
    drop(store);
    damage_ticket(&dir, "00000000000000000009");

    let config = cfg.path().join("perch.toml");
    std::fs::write(&config, small_config(&dir, free_addr(), "")).expect("config");
    let store = until_blocking("the store to open", || Store::open(&dir).ok());
    assert!(store.verify_live(&|| true).expect("live").is_some());
    assert!(store.verify().is_err());
    drop(store);
    let output = until_blocking("perch verify to have the store", || {
        let output = perch()
            .args(["verify", "--config"])
            .arg(&config)
            .output()
            .expect("verify");
        (!text(&output).1.contains("in use")).then_some(output)
    });
    let (_, err) = text(&output);
    assert!(!output.status.success(), "{err}");
    assert!(err.contains("tickets/00000000000000000009"), "{err}");
}
