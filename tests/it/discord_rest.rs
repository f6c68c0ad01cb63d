//! The Discord adapter's REST side, through serenity, against the fake
//! Discord.

use std::time::{Duration, Instant};

use perch::chat::discord::DiscordRest;
use perch::chat::{Card, ChatError, Reaction, Text};
use perch::config::Secret;
use perch::sandbox::discord::{ChannelSpec, FakeDiscord};
use perch::testing::{agent, mention, t0};
use perch::ticket::{ChatThread, Claim, State, Ticket, TicketId};

const TOKEN: &str = "discord-bot-token";
const TEXT: u64 = 1_100_000_000_000_000_001;
const FORUM: u64 = 1_100_000_000_000_000_002;

async fn fake(per_window: u32, window_ms: u64) -> FakeDiscord {
    let channels = [
        ChannelSpec {
            id: TEXT,
            name: "support",
            forum_tags: &[],
        },
        ChannelSpec {
            id: FORUM,
            name: "tickets",
            forum_tags: &["open", "claimed", "resolved"],
        },
    ];
    FakeDiscord::start(
        TOKEN,
        &channels,
        per_window,
        Duration::from_millis(window_ms),
    )
    .await
    .expect("fake Discord")
}

fn rest(d: &FakeDiscord, interval_ms: u64) -> DiscordRest {
    DiscordRest::new(
        &Secret::new(TOKEN),
        Some(&d.url()),
        Duration::from_millis(interval_ms),
    )
}

fn ticket() -> Ticket {
    let mut new = mention(100);
    new.first_message.text =
        "@everyone **urgent** <@&1500000000000000002> my order is late".to_owned();
    Ticket::open(TicketId::new(7), new)
}

fn ids(thread: &ChatThread) -> (u64, u64) {
    let ChatThread::Discord { parent, thread } = thread else {
        panic!("{thread:?}")
    };
    (
        parent.as_str().parse().unwrap_or(0),
        thread.as_str().parse().unwrap_or(0),
    )
}

#[tokio::test]
async fn a_ticket_in_a_text_channel_is_a_thread_started_from_its_card() {
    let d = fake(50, 1000).await;
    let thread = rest(&d, 0)
        .open_thread(&TEXT.to_string(), &Card::of(&ticket()))
        .await
        .expect("open");
    let (parent, thread_id) = ids(&thread);
    assert_eq!(parent, TEXT);
    let card = d.messages(TEXT).pop().expect("the card");
    assert_eq!(
        card.id, thread_id,
        "the thread is started from the card message"
    );
    assert_eq!(
        d.channel(thread_id).map(|c| (c.kind, c.parent_id)),
        Some((11, Some(TEXT)))
    );
    let embed = card.embeds.to_string();
    for part in [
        "#7",
        "@customer100",
        "https://x.com/customer100/status/100",
        "mention",
        "normal",
        "open",
        "nobody",
    ] {
        assert!(embed.contains(part), "the card lacks {part:?}: {embed}");
    }
    let buttons = card.components.to_string();
    assert!(
        buttons.contains("perch_claim:7") && buttons.contains("perch_resolve:7"),
        "{buttons}"
    );
    assert!(card.pinged.is_empty(), "{:?}", card.pinged);
}

#[tokio::test]
async fn a_ticket_in_a_forum_is_a_post_tagged_with_its_status() {
    let d = fake(50, 1000).await;
    let rest = rest(&d, 0);
    let mut t = ticket();
    let thread = rest
        .open_thread(&FORUM.to_string(), &Card::of(&t))
        .await
        .expect("open");
    let (_, post) = ids(&thread);
    let tags = |d: &FakeDiscord| {
        d.channel(post).map(|c| {
            c.applied_tags
                .iter()
                .filter_map(|tag| d.tag_name(FORUM, *tag))
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(tags(&d), Some(vec!["open".to_owned()]));
    t.state = State::Claimed(Claim::new(agent("jo"), t0()));
    rest.update_card(&thread, &Card::of(&t))
        .await
        .expect("update");
    assert_eq!(tags(&d), Some(vec!["claimed".to_owned()]));
    let starter = d.messages(post).pop().expect("starter message");
    assert!(
        starter.edited && starter.embeds.to_string().contains("Agent jo"),
        "{:?}",
        starter.embeds
    );
}

#[tokio::test]
async fn a_tweet_with_everyone_and_a_role_pings_nobody() {
    let d = fake(50, 1000).await;
    let rest = rest(&d, 0);
    let t = ticket();
    let thread = rest
        .open_thread(&TEXT.to_string(), &Card::of(&t))
        .await
        .expect("open");
    let (_, thread_id) = ids(&thread);
    rest.post(&thread, &Text::Quoted(t.messages[0].text.clone()))
        .await
        .expect("post");
    let relayed = d.messages(thread_id).pop().expect("relayed");
    assert!(relayed.pinged.is_empty(), "pinged {:?}", relayed.pinged);
    assert!(
        relayed.content.contains(r"\*\*urgent\*\*"),
        "markdown escaped: {}",
        relayed.content
    );
}

#[tokio::test]
async fn the_card_is_edited_in_place_and_messages_are_marked() {
    let d = fake(50, 1000).await;
    let rest = rest(&d, 0);
    let mut t = ticket();
    let thread = rest
        .open_thread(&TEXT.to_string(), &Card::of(&t))
        .await
        .expect("open");
    let (_, thread_id) = ids(&thread);
    t.state = State::Claimed(Claim::new(agent("jo"), t0()));
    rest.update_card(&thread, &Card::of(&t))
        .await
        .expect("update");
    let cards = d.messages(TEXT);
    assert_eq!(cards.len(), 1, "an update posts nothing new");
    assert!(cards[0].edited && cards[0].components.to_string().contains("perch_release:7"));
    let note = rest
        .post(&thread, &Text::Ours("Reply sent.".into()))
        .await
        .expect("post");
    rest.react(&note, Reaction::Sent).await.expect("react");
    assert_eq!(
        d.messages(thread_id).pop().map(|m| m.reactions),
        Some(vec!["✅".to_owned()])
    );
}

#[tokio::test]
async fn a_bad_token_or_channel_is_a_clear_error() {
    let d = fake(50, 1000).await;
    let wrong = DiscordRest::new(&Secret::new("wrong"), Some(&d.url()), Duration::ZERO);
    let err = wrong
        .open_thread(&TEXT.to_string(), &Card::of(&ticket()))
        .await
        .expect_err("refused");
    assert!(matches!(err, ChatError::Unauthorized(_)), "{err:?}");
    let err = rest(&d, 0)
        .open_thread("1100000000000000999", &Card::of(&ticket()))
        .await
        .expect_err("refused");
    assert!(
        matches!(err, ChatError::NotFound(ref m) if m.contains("Unknown Channel")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_burst_is_paced_without_429s() {
    let d = fake(5, 1000).await;
    // Paced a little under the limit, as the default (1/s against 5 per 5 s) is.
    let rest = std::sync::Arc::new(rest(&d, 250));
    let thread = rest
        .open_thread(&TEXT.to_string(), &Card::of(&ticket()))
        .await
        .expect("open");
    let started = Instant::now();
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let (rest, thread) = (std::sync::Arc::clone(&rest), thread.clone());
            tokio::spawn(
                async move { rest.post(&thread, &Text::Ours(format!("update {i}"))).await },
            )
        })
        .collect();
    for t in tasks {
        t.await.expect("join").expect("posted");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    let statuses: Vec<u16> = d
        .requests()
        .iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with("/messages"))
        .map(|(_, _, s)| *s)
        .collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(statuses.len(), 13);
}

#[tokio::test]
async fn unpaced_posts_wait_for_the_bucket_discord_said_is_spent() {
    let d = fake(2, 1000).await;
    let rest = rest(&d, 0);
    let thread = rest
        .open_thread(&TEXT.to_string(), &Card::of(&ticket()))
        .await
        .expect("open");
    for i in 0..5 {
        rest.post(&thread, &Text::Ours(format!("post {i}")))
            .await
            .expect("posted");
    }
    let (_, thread_id) = ids(&thread);
    let statuses = posts_in(&d, &thread_id);
    // Two fit each window; the second's answer says the bucket is spent
    // (X-RateLimit-Remaining: 0), and the third waits for its reset.
    assert_eq!(statuses, [200; 5], "{statuses:?}");
}

#[tokio::test]
async fn a_429_from_a_bucket_someone_else_spent_is_waited_out() {
    let d = fake(2, 1000).await;
    // Two clients on one bot token (another process, say): the second does
    // not know what the first spent.
    let (first, second) = (rest(&d, 0), rest(&d, 0));
    let thread = first
        .open_thread(&TEXT.to_string(), &Card::of(&ticket()))
        .await
        .expect("open");
    for i in 0..2 {
        first
            .post(&thread, &Text::Ours(format!("first {i}")))
            .await
            .expect("posted");
    }
    second
        .post(&thread, &Text::Ours("second".to_owned()))
        .await
        .expect("posted after waiting");
    let (_, thread_id) = ids(&thread);
    assert_eq!(posts_in(&d, &thread_id), [200, 200, 429, 200]);
}

/// The statuses of the posts in thread channel `thread_id`, in order.
fn posts_in(d: &FakeDiscord, thread_id: &u64) -> Vec<u16> {
    let in_thread = format!("/channels/{thread_id}/messages");
    d.requests()
        .iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with(&in_thread))
        .map(|(_, _, s)| *s)
        .collect()
}
