//! The Slack adapter's Web API side, through slack-morphism, against the
//! fake Slack.

use std::time::{Duration, Instant};

use perch::chat::slack::SlackWeb;
use perch::chat::{Card, ChatError, Reaction, Responder, Text, Visibility};
use perch::config::Secret;
use perch::sandbox::slack::{FakeSlack, BOT_USER};
use perch::testing::{agent, mention, t0};
use perch::ticket::{ChatThread, Claim, State, Ticket, TicketId};

const TOKEN: &str = "xoxb-sandbox-token";
const CHANNEL: &str = "C0SUPPORT1";

async fn fake(interval_ms: u64) -> FakeSlack {
    let slack = FakeSlack::start(
        TOKEN,
        "xapp-sandbox",
        &[CHANNEL],
        Duration::from_millis(interval_ms),
    )
    .await
    .expect("fake Slack");
    slack.add_user("U0JODOE01", "jo");
    slack
}

fn web(slack: &FakeSlack, interval_ms: u64) -> SlackWeb {
    SlackWeb::new(
        &slack.api_url(),
        &Secret::new(TOKEN),
        Duration::from_millis(interval_ms),
    )
    .expect("client")
}

fn ticket() -> Ticket {
    let mut new = mention(100);
    new.customer.name = "Dana <script>".to_owned();
    new.first_message.text =
        "@acme <!channel> my order <@U024BE7LH> never arrived & I'm upset".to_owned();
    Ticket::open(TicketId::new(7), new)
}

#[tokio::test]
async fn a_ticket_opens_a_thread_whose_parent_is_the_card() {
    let slack = fake(0).await;
    let web = web(&slack, 0);
    assert_eq!(web.whoami().await.expect("auth.test"), BOT_USER);
    let thread = web
        .open_thread(CHANNEL, &Card::of(&ticket()))
        .await
        .expect("open");
    let ChatThread::Slack { channel, thread_ts } = &thread else {
        panic!("{thread:?}")
    };
    assert_eq!(channel.as_str(), CHANNEL);
    let messages = slack.messages(CHANNEL);
    assert_eq!(messages.len(), 1);
    let card = &messages[0];
    assert_eq!(card.ts, thread_ts.as_str());
    assert_eq!(
        (card.unfurl_links, card.unfurl_media),
        (Some(false), Some(false))
    );
    let seen = slack.render(CHANNEL);
    for part in [
        "#7",
        "@customer100",
        "View on X",
        "https://x.com/customer100/status/100",
        "mention",
        "normal",
        "open",
        "nobody",
        "[Claim] [Resolve]",
    ] {
        assert!(seen.contains(part), "the card lacks {part:?}:\n{seen}");
    }
}

#[tokio::test]
async fn text_from_x_is_posted_inert() {
    let slack = fake(0).await;
    let web = web(&slack, 0);
    let t = ticket();
    let thread = web.open_thread(CHANNEL, &Card::of(&t)).await.expect("open");
    web.post(&thread, &Text::Quoted(t.messages[0].text.clone()))
        .await
        .expect("post");
    for m in slack.messages(CHANNEL) {
        let all = format!(
            "{} {}",
            m.text,
            m.blocks.map(|b| b.to_string()).unwrap_or_default()
        );
        assert!(
            !all.contains("<!channel>") && !all.contains("<@U024BE7LH>"),
            "a ping got through: {all}"
        );
        assert!(!all.contains("<script>"), "{all}");
    }
    let reply = slack.messages(CHANNEL).pop().expect("reply");
    assert_eq!(
        reply.text,
        "@acme &lt;!channel&gt; my order &lt;@U024BE7LH&gt; never arrived &amp; I'm upset"
    );
    assert_eq!(
        reply.thread_ts.as_deref(),
        Some(slack.messages(CHANNEL)[0].ts.as_str())
    );
}

#[tokio::test]
async fn a_card_is_updated_in_place_and_marks_and_answers_reach_the_right_people() {
    let slack = fake(0).await;
    let web = web(&slack, 0);
    let mut t = ticket();
    let thread = web.open_thread(CHANNEL, &Card::of(&t)).await.expect("open");
    t.state = State::Claimed(Claim::new(agent("jo"), t0()));
    web.update_card(&thread, &Card::of(&t))
        .await
        .expect("update");
    let messages = slack.messages(CHANNEL);
    assert_eq!(messages.len(), 1, "an update posts nothing new");
    assert!(messages[0].edited);
    let seen = slack.render(CHANNEL);
    assert!(
        seen.contains("claimed")
            && seen.contains("Agent jo")
            && seen.contains("[Release] [Resolve]"),
        "{seen}"
    );

    let note = web
        .post(&thread, &Text::Ours("Reply sent.".into()))
        .await
        .expect("post");
    web.react(&note, Reaction::Sent).await.expect("react");
    web.react(&note, Reaction::Sent)
        .await
        .expect("reacting twice is fine");
    assert_eq!(slack.messages(CHANNEL)[1].reactions, ["white_check_mark"]);

    let ChatThread::Slack { thread_ts, .. } = &thread else {
        panic!()
    };
    let to = Responder::Slack {
        channel: CHANNEL.into(),
        user: "U0JODOE01".into(),
        thread_ts: Some(thread_ts.to_string()),
    };
    web.answer(&to, "#7 is yours.", Visibility::Caller)
        .await
        .expect("ephemeral");
    let shown = slack.ephemerals_for("U0JODOE01");
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].text, "#7 is yours.");
    assert_eq!(
        slack.messages(CHANNEL).len(),
        2,
        "an ephemeral answer is not a channel message"
    );
}

#[tokio::test]
async fn a_bad_token_or_channel_is_a_clear_error() {
    let slack = fake(0).await;
    let wrong = SlackWeb::new(&slack.api_url(), &Secret::new("xoxb-wrong"), Duration::ZERO)
        .expect("client");
    let err = wrong.whoami().await.expect_err("refused");
    assert!(
        matches!(err, ChatError::Unauthorized(ref code) if code == "invalid_auth"),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    let err = web(&slack, 0)
        .open_thread("C0NOWHERE", &Card::of(&ticket()))
        .await
        .expect_err("refused");
    assert!(
        matches!(err, ChatError::NotFound(ref code) if code == "channel_not_found"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_burst_in_one_channel_is_paced_without_429s() {
    let slack = fake(100).await;
    let web = std::sync::Arc::new(web(&slack, 100));
    let thread = web
        .open_thread(CHANNEL, &Card::of(&ticket()))
        .await
        .expect("open");
    let start = Instant::now();
    // Twenty posts at once, as twenty agents' updates would come.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (web, thread) = (std::sync::Arc::clone(&web), thread.clone());
            tokio::spawn(async move { web.post(&thread, &Text::Ours(format!("update {i}"))).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("join").expect("posted");
    }
    assert!(
        start.elapsed() >= Duration::from_millis(1900),
        "paced: {:?}",
        start.elapsed()
    );
    let statuses: Vec<u16> = slack
        .calls("chat.postMessage")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses.len(), 21);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(slack.messages(CHANNEL).len(), 21);
}

#[tokio::test]
async fn unpaced_posts_meet_429_and_wait_out_retry_after() {
    let slack = fake(300).await;
    let web = web(&slack, 0);
    let thread = web
        .open_thread(CHANNEL, &Card::of(&ticket()))
        .await
        .expect("open");
    for i in 0..3 {
        web.post(&thread, &Text::Ours(format!("post {i}")))
            .await
            .expect("posted, after waiting if need be");
    }
    let calls = slack.calls("chat.postMessage");
    let statuses: Vec<u16> = calls.iter().map(|c| c.status).collect();
    // The burst of 3 passes, the 4th meets a 429, and the retry after
    // Retry-After succeeds.
    assert_eq!(statuses, [200, 200, 200, 429, 200], "{statuses:?}");
    assert_eq!(calls[3].response["error"], "ratelimited");
    assert_eq!(slack.messages(CHANNEL).len(), 4);
}
