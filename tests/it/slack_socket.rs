//! The Slack adapter over Socket Mode, through slack-morphism, against the
//! fake Slack: what people do in Slack reaches perch once, promptly.

use crate::common::chat::{
    fake_slack, run, slack_adapter, ticket_card, Running, SLACK_APP_TOKEN, SLACK_BOT_TOKEN,
    SLACK_CHANNEL, SLACK_JO,
};
use crate::common::{next_event, no_more_events, until};

use std::sync::Arc;
use std::time::Duration;

use perch::chat::slack::{Connection, SlackAdapter, SlackWeb};
use perch::chat::{Card, CardAction, ChatEvent, ChatPlatform, Text};
use perch::config::Secret;
use perch::sandbox::slack::FakeSlack;
use perch::store::Store;
use perch::testing::mention;
use perch::ticket::{ChatThread, Ticket, TicketId};
use tokio::sync::{mpsc, watch};

const CHANNEL: &str = SLACK_CHANNEL;
const JO: &str = SLACK_JO;

struct Rig {
    slack: FakeSlack,
    adapter: std::sync::Arc<SlackAdapter>,
    events: mpsc::Receiver<ChatEvent>,
    stop: watch::Sender<bool>,
    thread_ts: String,
    _dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let slack = fake_slack().await;
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path()).expect("store");
    let adapter = Arc::new(socket_adapter(&slack, store).await);
    let Running { events, stop } = run(adapter.clone());
    let ChatThread::Slack { thread_ts, .. } = ticket_card(adapter.as_ref(), CHANNEL).await else {
        panic!()
    };
    until("the adapter connected to Socket Mode", || {
        (slack.socket_connects() > 0).then_some(())
    })
    .await;
    Rig {
        slack,
        adapter,
        events,
        stop,
        thread_ts: thread_ts.to_string(),
        _dir: dir,
    }
}

/// The adapter over Socket Mode, reconnecting after a second.
async fn socket_adapter(slack: &FakeSlack, store: Store) -> SlackAdapter {
    let connection = Connection::SocketMode {
        app_token: Secret::new(SLACK_APP_TOKEN),
    };
    slack_adapter(slack, connection, store)
        .await
        .with_reconnect_backoff(Duration::from_secs(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_thread_reply_arrives_once_even_when_redelivered() {
    let mut r = rig().await;
    r.slack.thread_reply(
        CHANNEL,
        &r.thread_ts,
        JO,
        "Sorry to hear that! Checking now.",
    );
    match next_event(&mut r.events).await {
        ChatEvent::ThreadMessage {
            author,
            text,
            message,
            ..
        } => {
            assert_eq!(author.id.as_str(), JO);
            assert_eq!(text, "Sorry to hear that! Checking now.");
            assert!(
                matches!(message.thread, ChatThread::Slack { ref thread_ts, .. } if thread_ts.as_str() == r.thread_ts)
            );
        }
        other => panic!("{other:?}"),
    }
    let envelope = r
        .slack
        .envelopes()
        .into_iter()
        .rev()
        .find(|e| e.payload.to_string().contains("Checking now"))
        .expect("the envelope");
    r.slack.redeliver(&envelope.id).expect("redelivered");
    no_more_events(&mut r.events, Duration::from_millis(800)).await;
    let _ = r.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bots_own_posts_are_not_replies() {
    let mut r = rig().await;
    let thread = ChatThread::Slack {
        channel: CHANNEL.into(),
        thread_ts: r.thread_ts.as_str().into(),
    };
    r.adapter
        .post(&thread, &Text::Ours("Reply sent to @customer1".into()))
        .await
        .expect("post");
    // The fake sends the bot's own message event, like Slack; the adapter
    // acknowledges it (and hands nothing on).
    until("the bot's own message event acknowledged", || {
        r.slack
            .envelopes()
            .iter()
            .any(|e| e.payload.to_string().contains("Reply sent to") && e.acked_after.is_some())
            .then_some(())
    })
    .await;
    no_more_events(&mut r.events, Duration::from_millis(800)).await;
    let _ = r.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slash_command_is_acknowledged_within_three_seconds() {
    let mut r = rig().await;
    let id = r.slack.slash_command(CHANNEL, JO, "claim #7");
    match next_event(&mut r.events).await {
        ChatEvent::Command {
            text,
            thread,
            author,
            ..
        } => {
            assert_eq!(
                (text.as_str(), thread, author.id.as_str()),
                ("claim #7", None, JO)
            );
        }
        other => panic!("{other:?}"),
    }
    let acked = until("the command's envelope acknowledged", || {
        r.slack
            .envelopes()
            .into_iter()
            .find(|e| e.id == id)
            .map(|e| e.acked_after)
            .filter(Option::is_some)
    })
    .await;
    assert!(
        acked.is_some_and(|d| d < Duration::from_secs(3)),
        "ack: {acked:?}"
    );
    let _ = r.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentioning_the_bot_in_a_thread_runs_a_command_there() {
    let mut r = rig().await;
    r.slack
        .thread_reply(CHANNEL, &r.thread_ts, JO, "<@U0PERCHBOT> claim");
    match next_event(&mut r.events).await {
        ChatEvent::Command {
            text,
            thread: Some(ChatThread::Slack { thread_ts, .. }),
            ..
        } => {
            assert_eq!(text, "claim");
            assert_eq!(thread_ts.as_str(), r.thread_ts);
        }
        other => panic!("{other:?}"),
    }
    let _ = r.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pressing_claim_on_the_card_is_a_button_event_for_that_ticket() {
    let mut r = rig().await;
    r.slack
        .press_button(CHANNEL, &r.thread_ts, JO, "perch_claim")
        .expect("the card has a Claim button");
    match next_event(&mut r.events).await {
        ChatEvent::Button {
            action,
            thread: ChatThread::Slack { thread_ts, .. },
            author,
            ..
        } => {
            assert_eq!(action, CardAction::Claim);
            assert_eq!(thread_ts.as_str(), r.thread_ts);
            assert_eq!(author.id.as_str(), JO);
        }
        other => panic!("{other:?}"),
    }
    let _ = r.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_mode_disconnect_loses_nothing() {
    let mut r = rig().await;
    r.slack.disconnect("refresh_requested");
    // Written while the adapter reconnects.
    r.slack
        .thread_reply(CHANNEL, &r.thread_ts, JO, "written during the reconnect");
    match next_event(&mut r.events).await {
        ChatEvent::ThreadMessage { text, .. } => assert_eq!(text, "written during the reconnect"),
        other => panic!("{other:?}"),
    }
    assert!(r.slack.socket_connects() >= 2, "it reconnected");
    no_more_events(&mut r.events, Duration::from_millis(800)).await;
    let _ = r.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_can_drive_slack_through_the_shared_interface() {
    let mut r = rig().await;
    let platform: std::sync::Arc<dyn ChatPlatform> = r.adapter.clone();
    assert!(platform.capabilities().ephemeral && platform.capabilities().reactions);
    let thread = platform
        .open_thread(
            CHANNEL,
            &Card::of(&Ticket::open(TicketId::new(8), mention(2))),
        )
        .await
        .expect("a ticket card");
    assert!(
        r.slack.render(CHANNEL).contains("#8"),
        "{}",
        r.slack.render(CHANNEL)
    );
    let ChatThread::Slack { thread_ts, .. } = &thread else {
        panic!()
    };
    r.slack
        .thread_reply(CHANNEL, thread_ts.as_str(), JO, "on it");
    match next_event(&mut r.events).await {
        ChatEvent::ThreadMessage { message, .. } => assert_eq!(message.thread, thread),
        other => panic!("{other:?}"),
    }
    // Who is who, for roles and names.
    r.slack.set_group("S0AGENTS1", &[JO]);
    assert_eq!(
        r.adapter
            .web()
            .group_members("S0AGENTS1")
            .await
            .expect("group"),
        [JO]
    );
    assert_eq!(r.adapter.web().user_name(JO).await.expect("name"), "jo");
    let _ = r.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_can_be_played_over_the_fakes_http_control_api() {
    let mut r = rig().await;
    let base = format!("http://{}", r.slack.addr());
    let http = reqwest::Client::new();
    let reply = http
        .post(format!("{base}/_sandbox/reply"))
        .json(&serde_json::json!({"channel": CHANNEL, "thread_ts": r.thread_ts, "user": JO, "text": "via HTTP"}))
        .send()
        .await
        .expect("reply");
    assert!(reply.status().is_success());
    let ts = reply.json::<serde_json::Value>().await.expect("JSON")["ts"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        matches!(next_event(&mut r.events).await, ChatEvent::ThreadMessage { text, .. } if text == "via HTTP")
    );
    // "Also send to channel" is a reply; a file comes with its name.
    for (extra, files) in [
        (serde_json::json!({"broadcast": true}), Vec::<String>::new()),
        (
            serde_json::json!({"file": "steps.png"}),
            vec!["steps.png".to_owned()],
        ),
    ] {
        let mut body = serde_json::json!({"channel": CHANNEL, "thread_ts": r.thread_ts, "user": JO, "text": "more"});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let sent = http
            .post(format!("{base}/_sandbox/reply"))
            .json(&body)
            .send()
            .await
            .expect("reply");
        assert!(sent.status().is_success());
        match next_event(&mut r.events).await {
            ChatEvent::ThreadMessage {
                text, files: got, ..
            } => {
                assert_eq!((text.as_str(), got), ("more", files));
            }
            other => panic!("{other:?}"),
        }
    }
    let edited = http
        .post(format!("{base}/_sandbox/edit"))
        .json(&serde_json::json!({"channel": CHANNEL, "ts": ts, "user": JO, "text": "via HTTP, edited"}))
        .send()
        .await
        .expect("edit");
    assert!(edited.status().is_success());
    match next_event(&mut r.events).await {
        ChatEvent::MessageEdited { message, text, .. } => {
            assert_eq!(
                (message.id.as_str(), text.as_str()),
                (ts.as_str(), "via HTTP, edited")
            );
        }
        other => panic!("{other:?}"),
    }
    let deleted = http
        .post(format!("{base}/_sandbox/delete"))
        .json(&serde_json::json!({"channel": CHANNEL, "ts": ts, "user": JO}))
        .send()
        .await
        .expect("delete");
    assert!(deleted.status().is_success());
    assert!(matches!(
        next_event(&mut r.events).await,
        ChatEvent::MessageDeleted { message, .. } if message.id.as_str() == ts
    ));
    let pressed = http
        .post(format!("{base}/_sandbox/button"))
        .json(&serde_json::json!({"channel": CHANNEL, "message_ts": r.thread_ts, "user": JO, "action_id": "perch_claim"}))
        .send()
        .await
        .expect("button");
    assert!(pressed.status().is_success());
    assert!(matches!(
        next_event(&mut r.events).await,
        ChatEvent::Button {
            action: CardAction::Claim,
            ..
        }
    ));
    let missing = http
        .post(format!("{base}/_sandbox/button"))
        .json(&serde_json::json!({"channel": CHANNEL, "message_ts": "0.0", "user": JO, "action_id": "perch_claim"}))
        .send()
        .await
        .expect("button");
    assert_eq!(missing.status().as_u16(), 404);
    let seen: serde_json::Value = http
        .get(format!("{base}/_sandbox/channels/{CHANNEL}"))
        .send()
        .await
        .expect("channel")
        .json()
        .await
        .expect("JSON");
    assert!(
        seen["as_seen"]
            .as_str()
            .unwrap_or_default()
            .contains("↳ jo: more"),
        "{seen}"
    );
    let _ = r.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_to_a_restarted_adapter_is_still_dropped() {
    // The dedupe lives in the store, not in the adapter: a new adapter
    // (new connection, nothing in memory) still drops it. (The store's own
    // durability across a killed process is tests/store_crash.rs.)
    let slack = fake_slack().await;
    let dir = tempfile::tempdir().expect("dir");
    let start = |store: Store| async {
        let Running { events, stop } = run(Arc::new(socket_adapter(&slack, store).await));
        (events, stop)
    };
    let first = slack.socket_connects();
    let store = Store::open(dir.path()).expect("store");
    let (mut events, stop) = start(store.clone()).await;
    until("the adapter connected", || {
        (slack.socket_connects() > first).then_some(())
    })
    .await;
    let web = SlackWeb::new(
        &slack.api_url(),
        &Secret::new(SLACK_BOT_TOKEN),
        Duration::ZERO,
    )
    .expect("web");
    let card = web
        .open_thread(
            CHANNEL,
            &Card::of(&Ticket::open(TicketId::new(9), mention(3))),
        )
        .await
        .expect("card");
    let ChatThread::Slack { thread_ts, .. } = card else {
        panic!()
    };
    let parent = thread_ts.to_string();
    slack.thread_reply(CHANNEL, &parent, JO, "before the restart");
    assert!(matches!(
        next_event(&mut events).await,
        ChatEvent::ThreadMessage { .. }
    ));
    let _ = stop.send(true);
    drop(events);

    // A new adapter connects; Slack redelivers the old event to it.
    let envelope = slack
        .envelopes()
        .into_iter()
        .rev()
        .find(|e| e.payload.to_string().contains("before the restart"))
        .expect("envelope");
    let connects = slack.socket_connects();
    let (mut events, stop) = start(store.clone()).await;
    until("the new adapter connected", || {
        (slack.socket_connects() > connects).then_some(())
    })
    .await;
    let again = slack.redeliver(&envelope.id).expect("redelivered");
    // The new adapter got it (it acknowledges every delivery) and handed
    // nothing on: the store remembered the first delivery.
    until("the redelivery acknowledged by the new adapter", || {
        slack
            .envelopes()
            .into_iter()
            .find(|e| e.id == again && e.acked_after.is_some())
    })
    .await;
    no_more_events(&mut events, Duration::from_millis(800)).await;
    let _ = stop.send(true);
}
