//! A reply leaves only when its agent meant it: in `undo` mode it waits
//! out its window (the relay's clock is moved by hand) with an Undo
//! button, an edit changes it and a delete takes it back; in `confirm`
//! mode nothing leaves before Send; and a SIGKILL in the window neither
//! loses the reply nor sends it twice.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use perch::clock::ManualClock;
use perch::sandbox::run::{fake_secret, Sandbox};
use perch::sandbox::slack::Message as SlackMessage;
use serde_json::Value;

use crate::common::relay::{
    config, never, replies_to, sandbox_toml, slack_cards, until, Ports, Scene, JO_DISCORD,
    JO_SLACK, SAM_SLACK, SLACK,
};
use crate::common::{http_get, perch};

pub(crate) const UNDO: (&str, &str) = ("send_mode = \"direct\"", "send_mode = \"undo\"");
pub(crate) const CONFIRM: (&str, &str) = ("send_mode = \"direct\"", "send_mode = \"confirm\"");

/// perch's relay on a clock the test moves; the fakes on real time.
pub(crate) async fn scene_on_clock(edit: (&str, &str)) -> (Scene, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let scene = Scene::start_on_clock(&[edit], clock.clone()).await;
    (scene, clock)
}

/// The end of the default 20 s undo window, and a little more.
pub(crate) fn past_the_window() -> chrono::Duration {
    chrono::Duration::seconds(21)
}

/// The undo window ends, and nothing reaches X.
pub(crate) async fn nothing_on_x_after_the_window(scene: &Scene, clock: &ManualClock) {
    clock.advance(past_the_window());
    never("anything on X", Duration::from_secs(2), || {
        !scene.sandbox.x.posted().is_empty()
    })
    .await;
}

/// The bot's message in the thread under `card` whose text has `words`.
async fn prompt_with(scene: &Scene, card: &SlackMessage, words: &str) -> SlackMessage {
    until(&format!("perch's `{words}` in the thread"), || {
        scene
            .slack_thread(card)
            .into_iter()
            .find(|m| m.bot_id.is_some() && m.text.contains(words))
    })
    .await
}

/// The message `ts` under `card` as it reads now.
fn now_reads(scene: &Scene, card: &SlackMessage, ts: &str) -> Option<SlackMessage> {
    scene.slack_thread(card).into_iter().find(|m| m.ts == ts)
}

fn has_buttons(m: &SlackMessage) -> bool {
    m.blocks
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|b| !b.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_undo_mode_a_reply_waits_its_window_then_goes_once() {
    let (scene, clock) = scene_on_clock(UNDO).await;
    let (post, card, _) = scene.mention("kim", "the zip broke").await;
    scene
        .slack()
        .thread_reply(SLACK, &card.ts, JO_SLACK, "A new one ships today.");
    let prompt = prompt_with(
        &scene,
        &card,
        "goes as @AcmeSupport, a public reply to @kim",
    )
    .await;
    assert!(prompt.text.contains("20 s to Undo"), "{}", prompt.text);
    assert!(
        prompt.text.contains("<!date^"),
        "in the reader's time zone: {}",
        prompt.text
    );
    assert!(prompt.text.contains("@kim A new one ships today. ^JD"));
    assert!(has_buttons(&prompt), "an Undo button: {prompt:?}");
    let health = scene.health().await;
    assert_eq!(health["replies_awaiting_agent"], 1, "{health}");
    assert_eq!(health["replies_waiting"], 0, "{health}");
    never(
        "the reply on X inside its window",
        Duration::from_secs(2),
        || !scene.sandbox.x.posted().is_empty(),
    )
    .await;
    clock.advance(past_the_window());
    let reply = until("the reply on X", || {
        scene.replies_to(&post.id).into_iter().next()
    })
    .await;
    assert_eq!(reply.text, "@kim A new one ships today. ^JD");
    until("the prompt to say it was sent, without its button", || {
        now_reads(&scene, &card, &prompt.ts)
            .filter(|m| m.text.starts_with("Sent as a public reply") && !has_buttons(m))
    })
    .await;
    // An edit now changes nothing on X, and the thread says so.
    let said = scene
        .slack_thread(&card)
        .into_iter()
        .find(|m| m.user == JO_SLACK)
        .expect("Jo's message");
    assert!(scene
        .slack()
        .edit_message(SLACK, &said.ts, JO_SLACK, "A new one ships now."));
    scene
        .slack_says(&card, "edit came after the reply went to X")
        .await;
    never("a second reply", Duration::from_secs(1), || {
        scene.replies_to(&post.id).len() > 1
    })
    .await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_and_a_deleted_message_each_take_a_reply_back() {
    let (scene, clock) = scene_on_clock(UNDO).await;
    let (_, card, _) = scene.mention("lee", "wrong colour").await;
    scene
        .slack()
        .thread_reply(SLACK, &card.ts, JO_SLACK, "Oops, wrong ticket");
    let first = prompt_with(&scene, &card, "Oops, wrong ticket").await;
    let pressed = scene
        .slack()
        .press_button(SLACK, &first.ts, JO_SLACK, "perch_undo");
    assert!(pressed.is_some(), "the prompt has an Undo button");
    scene.told(JO_SLACK, "Not sent: nothing reached X").await;
    until("the prompt to say it was undone", || {
        now_reads(&scene, &card, &first.ts)
            .filter(|m| m.text.contains("undone by Jo Doe") && !has_buttons(m))
    })
    .await;

    // Jo holds the ticket now (a reply claims it); her next one she deletes.
    let second = scene
        .slack()
        .thread_reply(SLACK, &card.ts, JO_SLACK, "Also the wrong ticket");
    let prompt = prompt_with(&scene, &card, "Also the wrong ticket").await;
    assert!(scene.slack().delete_message(SLACK, &second, JO_SLACK));
    until("the prompt to say the message was deleted", || {
        now_reads(&scene, &card, &prompt.ts)
            .filter(|m| m.text.contains("Jo Doe deleted their message"))
    })
    .await;
    nothing_on_x_after_the_window(&scene, &clock).await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_inside_the_window_changes_what_is_sent() {
    let (scene, clock) = scene_on_clock(UNDO).await;
    let (post, card, _) = scene.mention("max", "lost parcel").await;
    let said = scene
        .slack()
        .thread_reply(SLACK, &card.ts, SAM_SLACK, "It ships tomorow.");
    prompt_with(&scene, &card, "It ships tomorow.").await;
    assert!(scene
        .slack()
        .edit_message(SLACK, &said, SAM_SLACK, "It ships *tomorrow*."));
    prompt_with(&scene, &card, "@max It ships tomorrow. ^SL").await;
    clock.advance(past_the_window());
    let reply = until("the reply on X", || {
        scene.replies_to(&post.id).into_iter().next()
    })
    .await;
    assert_eq!(reply.text, "@max It ships tomorrow. ^SL");
    never("the first version too", Duration::from_secs(2), || {
        scene.replies_to(&post.id).len() > 1
    })
    .await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_confirm_mode_nothing_leaves_before_send() {
    let (scene, _clock) = scene_on_clock(CONFIRM).await;
    let (post, card, discord) = scene.mention("ola", "where is it").await;
    scene.slack().thread_reply(
        SLACK,
        &card.ts,
        JO_SLACK,
        "Tracking: <https://acme.com/t/42>",
    );
    let preview = until("Jo's private preview", || {
        scene
            .slack()
            .ephemerals_for(JO_SLACK)
            .into_iter()
            .find(|e| e.text.starts_with("Only you see this"))
    })
    .await;
    assert!(
        preview
            .text
            .contains("as @AcmeSupport, a public reply to @ola"),
        "{}",
        preview.text
    );
    assert!(
        preview.text.contains("of 280 characters"),
        "{}",
        preview.text
    );
    assert!(preview.text.contains("carries a link"), "{}", preview.text);
    assert!(
        scene.slack().ephemerals_for(SAM_SLACK).is_empty(),
        "only Jo sees it"
    );
    never("the reply on X before Send", Duration::from_secs(2), || {
        !scene.sandbox.x.posted().is_empty()
    })
    .await;
    scene
        .slack()
        .press_button(SLACK, &preview.ts, JO_SLACK, "perch_send")
        .expect("a Send button");
    let reply = until("the reply on X", || {
        scene.reply_texts_to(&post.id).into_iter().next()
    })
    .await;
    assert_eq!(reply, "@ola Tracking: https://acme.com/t/42 ^JD");

    // On Discord the preview is in the thread (a message has no private
    // answer), and Cancel takes it back.
    scene
        .discord()
        .user_message(discord.id, JO_DISCORD, "Jo", &[], "Never mind");
    let asked = until("Jo's preview in the Discord thread", || {
        scene
            .discord_thread(&discord)
            .into_iter()
            .find(|m| m.content.contains("@ola Never mind ^JD") && m.content.contains("Send it"))
    })
    .await;
    let cancel = asked.components[0]["components"][1]["custom_id"]
        .as_str()
        .expect("a Cancel button")
        .to_owned();
    scene
        .discord()
        .press_button(discord.id, asked.id, JO_DISCORD, "Jo", &cancel)
        .expect("pressed");
    until("the preview to say it was cancelled", || {
        scene
            .discord_thread(&discord)
            .into_iter()
            .find(|m| m.id == asked.id && m.content.contains("cancelled by Jo Doe"))
    })
    .await;
    never("a second reply", Duration::from_secs(2), || {
        scene.replies_to(&post.id).len() > 1
    })
    .await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_confirm_mode_a_saved_reply_waits_for_send_too() {
    let (scene, _clock) = scene_on_clock(CONFIRM).await;
    let (post, _, _) = scene.mention("rae", "charged twice").await;
    scene
        .slack()
        .slash_command(SLACK, SAM_SLACK, "reply refund #1");
    scene
        .told(
            SAM_SLACK,
            "the saved reply `refund` waits for you to press Send",
        )
        .await;
    let preview = until("Sam's private preview", || {
        scene
            .slack()
            .ephemerals_for(SAM_SLACK)
            .into_iter()
            .find(|e| e.text.starts_with("Only you see this") && e.text.contains("double charge"))
    })
    .await;
    never(
        "the saved reply on X before Send",
        Duration::from_secs(2),
        || !scene.sandbox.x.posted().is_empty(),
    )
    .await;
    scene
        .slack()
        .press_button(SLACK, &preview.ts, SAM_SLACK, "perch_send")
        .expect("a Send button");
    let reply = until("the saved reply on X", || {
        scene.reply_texts_to(&post.id).into_iter().next()
    })
    .await;
    assert!(
        reply.starts_with("@rae Sorry about the double charge!"),
        "{reply}"
    );
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_direct_mode_a_reply_naming_someone_else_asks_first() {
    let scene = Scene::start().await;
    let (post, card, _) = scene.mention("pia", "who made this?").await;
    scene
        .slack()
        .thread_reply(SLACK, &card.ts, JO_SLACK, "Ask @AcmeDesign, they know");
    let preview = until("Jo's private preview", || {
        scene
            .slack()
            .ephemerals_for(JO_SLACK)
            .into_iter()
            .find(|e| e.text.contains("X will also notify @AcmeDesign"))
    })
    .await;
    never("the reply on X before Send", Duration::from_secs(2), || {
        !scene.replies_to(&post.id).is_empty()
    })
    .await;
    scene
        .slack()
        .press_button(SLACK, &preview.ts, JO_SLACK, "perch_send")
        .expect("a Send button");
    until("the reply on X", || {
        scene.replies_to(&post.id).into_iter().next()
    })
    .await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_in_the_undo_window_neither_loses_nor_repeats_the_reply() {
    let dir = tempfile::tempdir().expect("dir");
    let ports = Ports::free();
    let source = sandbox_toml(
        &dir.path().join("data"),
        &ports,
        &[(
            "send_mode = \"direct\"",
            "send_mode = \"undo\"\nundo_window = \"5s\"",
        )],
    );
    let cfg = config(&source);
    let sandbox = Sandbox::start(&cfg).await.expect("fakes");
    let slack = sandbox.slack.as_ref().expect("slack");
    let path = dir.path().join("perch.toml");
    std::fs::write(&path, &source).expect("config");
    let start = || {
        let mut cmd = perch();
        cmd.args(["run", "--config"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for e in cfg.secrets() {
            cmd.env(&e.name, fake_secret(&e.name));
        }
        cmd.spawn().expect("perch run")
    };
    let healthy = || async {
        until("perch's health", || {
            http_get(ports.health, "/healthz")
                .ok()
                .filter(|(s, _)| *s == 200)
        })
        .await;
        crate::common::receiving(ports.health, "acme").await;
    };
    let mut child = start();
    healthy().await;
    let post = sandbox.x.post("quinn", "@AcmeSupport refund?", None, None);
    let card = until("quinn's card", || {
        slack_cards(slack, "quinn").into_iter().next()
    })
    .await;
    slack.thread_reply(SLACK, &card.ts, JO_SLACK, "Refunded today.");
    until("the countdown", || {
        slack
            .messages(SLACK)
            .into_iter()
            .find(|m| m.bot_id.is_some() && m.text.contains("Refunded today."))
    })
    .await;
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");

    let mut child = start();
    healthy().await;
    let reply = until("the reply on X after the restart", || {
        replies_to(&sandbox.x.posted(), &post.id).into_iter().next()
    })
    .await;
    assert_eq!(reply.text, "@quinn Refunded today. ^JD");
    never("a second reply", Duration::from_secs(2), || {
        replies_to(&sandbox.x.posted(), &post.id).len() > 1
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
}
