//! The Discord adapter end to end through serenity against the fake
//! Discord: what people do arrives as ChatEvents through the shared
//! interface, promptly acknowledged.

use std::sync::Arc;
use std::time::Duration;

use perch::chat::discord::{DiscordAdapter, DiscordRest};
use perch::chat::{CardAction, ChatEvent, ChatPlatform, Responder, Text, Visibility};
use perch::config::Secret;
use perch::sandbox::discord::gateway::APPLICATION_ID;
use perch::sandbox::discord::{FakeDiscord, GUILD_ID};
use perch::store::Store;
use perch::testing::mention;
use perch::ticket::ChatThread;
use tokio::sync::{mpsc, watch};

use crate::common::chat::{fake_discord, run, ticket_card, Running, DISCORD_TEXT, DISCORD_TOKEN};
use crate::common::{next_event, no_more_events, until};

const TOKEN: &str = DISCORD_TOKEN;
const TEXT: u64 = DISCORD_TEXT;
const JO: u64 = 1_400_000_000_000_000_001;
const AGENTS: u64 = 1_500_000_000_000_000_002;

struct Rig {
    d: FakeDiscord,
    platform: Arc<dyn ChatPlatform>,
    events: mpsc::Receiver<ChatEvent>,
    stop: watch::Sender<bool>,
    thread: ChatThread,
    store: Store,
    _dir: tempfile::TempDir,
}

fn thread_id(t: &ChatThread) -> u64 {
    match t {
        ChatThread::Discord { thread, .. } => thread.as_str().parse().unwrap_or(0),
        other => panic!("{other:?}"),
    }
}

async fn rig() -> Rig {
    let d = fake_discord().await;
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path()).expect("store");
    let rest = DiscordRest::new(&Secret::new(TOKEN), Some(&d.url()), Duration::ZERO);
    let platform: Arc<dyn ChatPlatform> = Arc::new(DiscordAdapter::new(
        rest,
        APPLICATION_ID,
        vec![GUILD_ID],
        Arc::new(store.clone()),
    ));
    let Running { events, stop } = run(Arc::clone(&platform));
    until("the adapter identified and registered /perch", || {
        (d.identified() > 0
            && d.registered_commands()
                .as_array()
                .is_some_and(|c| !c.is_empty()))
        .then_some(())
    })
    .await;
    let thread = ticket_card(platform.as_ref(), &TEXT.to_string()).await;
    Rig {
        d,
        platform,
        events,
        stop,
        thread,
        store,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn perch_is_registered_with_the_grammars_subcommands() {
    let r = rig().await;
    let commands = r.d.registered_commands();
    assert_eq!(commands[0]["name"], "perch");
    let subs: Vec<&str> = commands[0]["options"]
        .as_array()
        .map(|o| o.iter().filter_map(|s| s["name"].as_str()).collect())
        .unwrap_or_default();
    for verb in [
        "claim", "unclaim", "assign", "resolve", "reopen", "dm", "public", "queue", "mine",
        "stats", "help",
    ] {
        assert!(subs.contains(&verb), "missing subcommand {verb}: {subs:?}");
    }
    let _ = r.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_thread_message_arrives_once_and_the_bots_own_does_not() {
    let mut r = rig().await;
    // The card post and the bot's own message in the thread dispatch too.
    r.platform
        .post(&r.thread, &Text::Ours("Reply sent.".into()))
        .await
        .expect("post");
    r.d.user_message(
        thread_id(&r.thread),
        JO,
        "jo",
        &[AGENTS],
        "Checking the order now",
    );
    match next_event(&mut r.events).await {
        ChatEvent::ThreadMessage {
            message,
            author,
            text,
            ..
        } => {
            assert_eq!(message.thread, r.thread);
            assert_eq!(
                (author.id.as_str(), text.as_str()),
                ("1400000000000000001", "Checking the order now")
            );
            assert_eq!(author.roles, [AGENTS.to_string()]);
        }
        other => panic!("{other:?}"),
    }
    no_more_events(&mut r.events, Duration::from_millis(600)).await;
    let _ = r.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn perch_claim_in_a_thread_is_acknowledged_within_three_seconds_and_answered_privately() {
    let mut r = rig().await;
    let interaction =
        r.d.slash_command(thread_id(&r.thread), JO, "jo", &[AGENTS], "claim", None);
    let (to, thread) = match next_event(&mut r.events).await {
        ChatEvent::Command {
            text,
            thread,
            responder,
            ..
        } => {
            assert_eq!(text, "claim");
            (responder, thread)
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        thread.as_ref(),
        Some(&r.thread),
        "run in the thread, it is about that ticket"
    );
    let (after, kind) = r.d.interaction_response(interaction).expect("answered");
    assert!(after < Duration::from_secs(3), "{after:?}");
    assert_eq!(kind, 5, "a deferred response");
    r.platform
        .answer(&to, "#7 is yours.", Visibility::Caller)
        .await
        .expect("follow-up");
    let followups = r.d.followups();
    assert_eq!(followups.len(), 1);
    assert_eq!(followups[0].1["content"], "#7 is yours.");
    assert_eq!(
        followups[0].1["flags"].as_u64().map(|f| f & 64),
        Some(64),
        "ephemeral"
    );
    assert!(matches!(to, Responder::Discord { .. }));
    let _ = r.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assign_carries_its_arguments_and_a_button_claims_the_cards_ticket() {
    let mut r = rig().await;
    r.d.slash_command(
        TEXT,
        JO,
        "jo",
        &[AGENTS],
        "assign",
        Some("<@1400000000000000002> #7"),
    );
    match next_event(&mut r.events).await {
        ChatEvent::Command {
            text, thread: None, ..
        } => assert_eq!(text, "assign <@1400000000000000002> #7"),
        other => panic!("{other:?}"),
    }
    let card = thread_id(&r.thread);
    let press =
        r.d.press_button(TEXT, card, JO, "jo", "perch_claim:7")
            .expect("the card has a Claim button");
    match next_event(&mut r.events).await {
        ChatEvent::Button { action, thread, .. } => {
            assert_eq!(action, CardAction::Claim);
            assert_eq!(thread, r.thread);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        r.d.interaction_response(press).map(|(_, k)| k),
        Some(6),
        "a deferred update"
    );
    let _ = r.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_drop_mid_conversation_loses_no_message() {
    let mut r = rig().await;
    let thread = thread_id(&r.thread);
    r.d.user_message(thread, JO, "jo", &[AGENTS], "first, before the drop");
    assert!(
        matches!(next_event(&mut r.events).await, ChatEvent::ThreadMessage { text, .. } if text == "first, before the drop")
    );
    r.d.drop_gateway();
    // Written while perch is disconnected.
    r.d.user_message(thread, JO, "jo", &[AGENTS], "second, during the drop");
    match next_event(&mut r.events).await {
        ChatEvent::ThreadMessage { text, .. } => assert_eq!(text, "second, during the drop"),
        other => panic!("{other:?}"),
    }
    assert!(r.d.resumed() >= 1, "serenity resumed the session");
    no_more_events(&mut r.events, Duration::from_millis(800)).await;
    let _ = r.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_invalid_session_the_gap_is_read_back_over_rest() {
    let mut r = rig().await;
    // The thread belongs to an open ticket.
    let id = r.store.open_ticket(mention(1)).expect("ticket").ticket().id;
    r.store.link_thread(id, r.thread.clone()).expect("link");
    let thread = thread_id(&r.thread);
    r.d.user_message(thread, JO, "jo", &[AGENTS], "before the gap");
    assert!(
        matches!(next_event(&mut r.events).await, ChatEvent::ThreadMessage { text, .. } if text == "before the gap")
    );

    r.d.invalidate_sessions();
    // Nobody is connected: the gateway will not replay this.
    r.d.user_message(thread, JO, "jo", &[AGENTS], "during the gap");
    match next_event(&mut r.events).await {
        ChatEvent::ThreadMessage { text, author, .. } => {
            assert_eq!(text, "during the gap");
            assert_eq!(author.name.as_deref(), Some("jo"));
            // History carries no member; the roles were asked for.
            assert_eq!(author.roles, [AGENTS.to_string()]);
        }
        other => panic!("{other:?}"),
    }
    assert!(r.d.identified() >= 2, "it identified again");
    // What was seen before the gap is not delivered twice.
    no_more_events(&mut r.events, Duration::from_millis(800)).await;
    let _ = r.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_can_be_played_over_the_fakes_http_control_api() {
    let mut r = rig().await;
    let base = r.d.url();
    let http = reqwest::Client::new();
    let thread = thread_id(&r.thread);
    let sent = http
        .post(format!("{base}/_sandbox/message"))
        .json(&serde_json::json!({ "channel": thread, "user": JO, "name": "jo", "roles": [AGENTS], "text": "via HTTP" }))
        .send()
        .await
        .expect("message");
    assert!(sent.status().is_success());
    let id = sent.json::<serde_json::Value>().await.expect("JSON")["id"]
        .as_str()
        .and_then(|i| i.parse::<u64>().ok())
        .expect("the message id");
    assert!(
        matches!(next_event(&mut r.events).await, ChatEvent::ThreadMessage { text, .. } if text == "via HTTP")
    );
    let edited = http
        .post(format!("{base}/_sandbox/edit"))
        .json(&serde_json::json!({ "channel": thread, "message": id, "user": JO, "text": "via HTTP, edited" }))
        .send()
        .await
        .expect("edit");
    assert!(edited.status().is_success());
    assert!(
        matches!(next_event(&mut r.events).await, ChatEvent::MessageEdited { text, .. } if text == "via HTTP, edited")
    );
    let other = http
        .post(format!("{base}/_sandbox/delete"))
        .json(&serde_json::json!({ "channel": thread, "message": id, "user": JO + 1 }))
        .send()
        .await
        .expect("delete");
    assert_eq!(
        other.status().as_u16(),
        404,
        "only its author deletes a message"
    );
    let ran = http
        .post(format!("{base}/_sandbox/command"))
        .json(&serde_json::json!({ "channel": thread, "user": JO, "name": "jo", "subcommand": "resolve", "text": "refunded" }))
        .send()
        .await
        .expect("command");
    assert!(ran.status().is_success());
    assert!(
        matches!(next_event(&mut r.events).await, ChatEvent::Command { text, .. } if text == "resolve refunded")
    );
    let pressed = http
        .post(format!("{base}/_sandbox/button"))
        .json(&serde_json::json!({ "channel": TEXT, "message": thread, "user": JO, "name": "jo", "custom_id": "perch_claim:7" }))
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
    let seen: serde_json::Value = http
        .get(format!("{base}/_sandbox/channels/{thread}"))
        .send()
        .await
        .expect("read")
        .json()
        .await
        .expect("JSON");
    assert_eq!(seen["messages"][0]["content"], "via HTTP, edited");
    let deleted = http
        .post(format!("{base}/_sandbox/delete"))
        .json(&serde_json::json!({ "channel": thread, "message": id, "user": JO }))
        .send()
        .await
        .expect("delete");
    assert!(deleted.status().is_success());
    assert!(matches!(
        next_event(&mut r.events).await,
        ChatEvent::MessageDeleted { message, .. } if message.id.as_str() == id.to_string()
    ));
    let _ = r.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_deletes_outside_ticket_threads_are_not_journaled() {
    let mut r = rig().await;
    // In the route channel itself (no thread): ignored, edits and deletes too.
    let chatter = r.d.user_message(TEXT, JO, "jo", &[AGENTS], "lunch?");
    assert!(r.d.edit_user_message(TEXT, chatter, JO, "lunch at 1?"));
    assert!(r.d.delete_user_message(TEXT, chatter, JO));
    // In the ticket's thread: each is an event.
    let thread = thread_id(&r.thread);
    let said = r.d.user_message(thread, JO, "jo", &[AGENTS], "on it");
    assert!(matches!(
        next_event(&mut r.events).await,
        ChatEvent::ThreadMessage { .. }
    ));
    assert!(r.d.delete_user_message(thread, said, JO));
    assert!(matches!(
        next_event(&mut r.events).await,
        ChatEvent::MessageDeleted { message, .. } if message.id.as_str() == said.to_string()
    ));
    no_more_events(&mut r.events, Duration::from_millis(500)).await;
    let _ = r.stop.send(true);
}
