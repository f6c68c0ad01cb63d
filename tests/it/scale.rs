//! A year of tickets: what the service does on its own, with nothing
//! due, reads no ticket that is done.

use crate::common::http_get;
use crate::common::relay::{until, Scene, SLACK};
use perch::store::Store;
use perch::testing::{actor, mention, t0};
use perch::ticket::{self, ChatThread, Command, Policy, Role, TicketId};

/// `n` tickets, each shown in a Slack and a Discord thread, resolved, and
/// their threads drawn (nothing left to sync).
fn resolved_history(store: &Store, n: u64) {
    let jo = actor("jo", Role::Agent);
    for k in 1..=n {
        let id = store.open_ticket(mention(k)).expect("open").ticket().id;
        for thread in [
            ChatThread::Slack {
                channel: SLACK.into(),
                thread_ts: format!("1700000000.{k:06}").as_str().into(),
            },
            ChatThread::Discord {
                parent: "1300000000000000001".into(),
                thread: format!("14000000000000{k:05}").as_str().into(),
            },
        ] {
            store.link_thread(id, thread).expect("thread");
        }
        store
            .update_ticket(id, Some(&jo.agent), t0(), |t| {
                ticket::apply(
                    t,
                    Command::Resolve { note: None },
                    &jo,
                    t0(),
                    &Policy::default(),
                )
            })
            .expect("store")
            .expect("resolve");
    }
    for (id, revision) in store.needs_sync().expect("sync") {
        store.synced(id, revision).expect("drawn");
    }
}

/// How many passes each relay loop has made, from `/metrics`.
fn passes(scene: &Scene) -> Option<Vec<f64>> {
    let (_, text) = http_get(scene.health_addr(), "/metrics").ok()?;
    ["inbound", "threads", "commands", "outbox"]
        .iter()
        .map(|step| {
            let series = format!("perch_relay_passes_total{{step=\"{step}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(series.as_str())?.parse().ok())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_loops_read_no_resolved_ticket_when_nothing_is_due() {
    let clock = std::sync::Arc::new(perch::clock::SystemClock);
    let scene = Scene::start_after(&[], clock, |_, store| resolved_history(store, 200)).await;
    let before = scene.store.ticket_reads();
    // Past Discord's catch-up (it reads the threads of open tickets) and
    // several passes of every loop, on their ticks.
    let discord = scene.sandbox.discord.as_ref().expect("discord");
    until("perch on Discord's gateway", || {
        (discord.identified() > 0).then_some(())
    })
    .await;
    let start = until("the relay's first passes", || passes(&scene)).await;
    until("five more passes of every loop", || {
        let now = passes(&scene)?;
        now.iter()
            .zip(&start)
            .all(|(n, s)| *n >= s + 5.0)
            .then_some(())
    })
    .await;
    assert_eq!(
        scene.store.ticket_reads() - before,
        0,
        "the loops read tickets they had no work for"
    );
    let health = scene.health().await;
    assert_eq!(health["tickets"], 200, "{health}");
    assert_eq!(health["unclaimed"], 0, "{health}");

    // The loops are alive: a new mention is read, and becomes a card.
    scene.mention("ona", "where is my parcel").await;
    assert!(scene.store.ticket_reads() > before);
    assert!(scene
        .store
        .ticket(TicketId::new(201))
        .expect("read")
        .is_some());
    scene.stop().await;
}
