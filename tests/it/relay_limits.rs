//! X's rate limits against the whole product on the sandbox: a spent
//! posting window holds only the replies that need it (DMs and another
//! account's replies keep going), the agent is told when a held reply will
//! go, it goes after the reset exactly once and in order; chat notices
//! never hold back the next post; polling is spread over X's read window.

use std::time::Duration;

use crate::common::relay::{discord_field, Scene, ACME_ID, JO_SLACK, POLL_MENTIONS, SLACK};
use crate::common::{until, until_within};

const CREATE_POST: &str = "POST /2/tweets";

/// A second brand account on the same channels.
const BETA: &str = r#"[[accounts]]
key = "beta"
handle = "BetaSupport"
user_id = "1500000000000000002"
send_mode = "direct"

[accounts.auth]
kind = "oauth1"
consumer_key_env = "SANDBOX_BETA_X_CONSUMER_KEY"
consumer_secret_env = "SANDBOX_BETA_X_CONSUMER_SECRET"
access_token_env = "SANDBOX_BETA_X_ACCESS_TOKEN"
access_token_secret_env = "SANDBOX_BETA_X_ACCESS_TOKEN_SECRET"

[accounts.ingest.mentions]
interval = "1s"

[accounts.routes]
slack_channels = ["C0SUPPORT1"]
discord_channels = ["1100000000000000001"]

[slack]
"#;

/// How many of the account's posts have exactly `text`.
fn posted_times(scene: &Scene, text: &str) -> usize {
    scene
        .sandbox
        .x
        .posted()
        .iter()
        .filter(|p| p.text == text)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_posting_window_holds_only_the_replies_that_need_it() {
    let scene = Scene::start_with(&[("[slack]\n", BETA)]).await;
    let x = &scene.sandbox.x;
    let slack = scene.slack();
    let (ann_post, ann, ann_discord) = scene.mention("ann", "my order is late").await;
    let (_, ben, _) = scene.mention("ben", "where is my parcel").await;
    x.dm("dee", ACME_ID, "a private question");
    let dee = until("dee's DM card", || {
        scene.slack_cards("dee").into_iter().next()
    })
    .await;
    x.post("bob", "@BetaSupport help please", None, None);
    let bob = until("bob's card", || scene.slack_cards("bob").into_iter().next()).await;

    // Two public posts per account per 20 s from now on: long enough that
    // everything below happens inside the window, short enough to wait.
    x.set_rate_limit(CREATE_POST, 2, Duration::from_secs(20));
    for words in ["one", "two", "three"] {
        slack.thread_reply(SLACK, &ann.ts, JO_SLACK, words);
    }
    slack.thread_reply(SLACK, &ben.ts, JO_SLACK, "four");
    let held = scene
        .slack_says(
            &ann,
            "X's limit on public replies for @AcmeSupport is reached",
        )
        .await;
    assert!(held.text.contains("goes at"), "{}", held.text);
    assert_eq!(posted_times(&scene, "@ann one ^JD"), 1);
    assert_eq!(posted_times(&scene, "@ann two ^JD"), 1);
    scene
        .slack_says(
            &ben,
            "X's limit on public replies for @AcmeSupport is reached",
        )
        .await;

    // While acme's public replies wait, a DM and the other account's
    // reply go out.
    slack.thread_reply(SLACK, &dee.ts, JO_SLACK, "five");
    slack.thread_reply(SLACK, &bob.ts, JO_SLACK, "six");
    until("the DM reply", || {
        x.sent_dms()
            .iter()
            .any(|d| d.text.as_deref() == Some("five\n^JD"))
            .then_some(())
    })
    .await;
    until("beta's reply", || {
        (posted_times(&scene, "@bob six ^JD") == 1).then_some(())
    })
    .await;
    assert_eq!(
        posted_times(&scene, "@ann three ^JD"),
        0,
        "sent into the window"
    );
    assert_eq!(
        posted_times(&scene, "@ben four ^JD"),
        0,
        "sent into the window"
    );
    // The lead sees it on the card and in health.
    let card = scene.slack_card_now(&ann);
    let blocks = card.blocks.map(|b| b.to_string()).unwrap_or_default();
    assert!(blocks.contains("Waiting on X"), "{blocks}");
    assert!(
        discord_field(&scene.discord_card_now(&ann_discord), "Waiting on X").contains("<t:"),
        "the Discord card says when"
    );
    let health = scene.health().await;
    assert_eq!(health["replies_held_by_x_limit"], 2, "{health}");

    // After the reset the held replies go, each once, in the order written.
    until_within(
        Duration::from_secs(60),
        "the held replies after the reset",
        || {
            (posted_times(&scene, "@ann three ^JD") == 1
                && posted_times(&scene, "@ben four ^JD") == 1)
                .then_some(())
        },
    )
    .await;
    let ann_replies: Vec<String> = scene
        .replies_to(&ann_post.id)
        .into_iter()
        .map(|p| p.text)
        .collect();
    assert_eq!(
        ann_replies,
        ["@ann one ^JD", "@ann two ^JD", "@ann three ^JD"],
        "in the order written"
    );
    until("three `Sent as` lines in ann's thread", || {
        let thread = scene.slack_thread(&ann);
        (thread
            .iter()
            .filter(|m| m.text.starts_with("Sent as"))
            .count()
            == 3)
            .then_some(())
    })
    .await;
    let told = scene
        .slack_thread(&ann)
        .iter()
        .filter(|m| m.text.contains("X's limit on public replies"))
        .count();
    assert_eq!(told, 1, "the agent is told once per held reply");
    until("the card no longer waits", || {
        let blocks = scene.slack_card_now(&ann).blocks.map(|b| b.to_string());
        blocks.filter(|b| !b.contains("Waiting on X"))
    })
    .await;
    // perch never sent into a window it knew was spent.
    let refused: Vec<_> = x
        .requests_to(CREATE_POST)
        .into_iter()
        .filter(|r| r.status == 429)
        .collect();
    assert!(refused.is_empty(), "{refused:#?}");
    let health = scene.health().await;
    assert_eq!(health["replies_held_by_x_limit"], 0, "{health}");
    assert_eq!(health["replies_waiting"], 0, "{health}");
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_reach_x_without_waiting_for_the_chat_notices() {
    let scene = Scene::start().await;
    let slack = scene.slack();
    let (post, card, _) = scene.mention("cat", "twenty questions").await;
    let written: Vec<String> = (0..20).map(|i| format!("answer {i}")).collect();
    for words in &written {
        slack.thread_reply(SLACK, &card.ts, JO_SLACK, words);
    }
    let on_x = until("all 20 replies on X", || {
        let replies = scene.replies_to(&post.id);
        (replies.len() >= 20).then_some(replies)
    })
    .await;
    // Slack takes one post a second in a channel: had each reply waited
    // for its "Sent as" notice, 19 would be in the thread by now.
    let noticed = scene
        .slack_thread(&card)
        .iter()
        .filter(|m| m.text.starts_with("Sent as"))
        .count();
    assert!(
        noticed < 10,
        "{noticed} notices were posted before the 20th reply reached X"
    );
    let texts: Vec<String> = on_x.into_iter().map(|p| p.text).collect();
    let expected: Vec<String> = written.iter().map(|w| format!("@cat {w} ^JD")).collect();
    assert_eq!(texts, expected, "once each, in the order written");
    // The notices follow, none lost.
    until_within(Duration::from_secs(60), "all 20 `Sent as` notices", || {
        let thread = scene.slack_thread(&card);
        let sent = thread.iter().filter(|m| m.text.starts_with("Sent as"));
        (sent.count() == 20).then_some(())
    })
    .await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_are_spread_over_x_read_window() {
    // Mentions polled every second; X allows 300 reads per 15 minutes,
    // one every 3 s at most for the window to last.
    let scene = Scene::start_with(&[POLL_MENTIONS]).await;
    let x = &scene.sandbox.x;
    let polls = until("five mention polls", || {
        let polls = x.requests_to("GET /2/users/:id/mentions");
        (polls.len() >= 5).then_some(polls)
    })
    .await;
    let gaps: Vec<i64> = polls
        .windows(2)
        .map(|w| (w[1].at_us - w[0].at_us) / 1000)
        .collect();
    assert!(
        gaps.iter().all(|g| *g >= 2_900),
        "polled faster than the window allows: {gaps:?} ms apart"
    );
    assert!(polls.iter().all(|p| p.status == 200));
    scene.stop().await;
}
