//! What the Slack and Discord adapter scenarios share: the fakes with the
//! support channel and Jo in it, an adapter running with its events in a
//! channel, and a ticket card to reply under.

use std::sync::Arc;
use std::time::Duration;

use perch::chat::slack::{Connection, SlackAdapter, SlackWeb};
use perch::chat::{Card, ChatEvent, ChatPlatform};
use perch::config::Secret;
use perch::sandbox::discord::{ChannelSpec, FakeDiscord};
use perch::sandbox::slack::FakeSlack;
use perch::store::Store;
use perch::testing::mention;
use perch::ticket::{ChatThread, Ticket, TicketId};
use tokio::sync::{mpsc, watch};

pub const SLACK_CHANNEL: &str = "C0SUPPORT1";
pub const SLACK_JO: &str = "U0JODOE01";
pub const SLACK_BOT_TOKEN: &str = "xoxb-t";
pub const SLACK_APP_TOKEN: &str = "xapp-t";

pub const DISCORD_TOKEN: &str = "discord-bot-token";
pub const DISCORD_TEXT: u64 = 1_100_000_000_000_000_001;

/// An adapter's events, and the switch that stops it.
pub struct Running {
    pub events: mpsc::Receiver<ChatEvent>,
    pub stop: watch::Sender<bool>,
}

/// Runs `platform` until `stop`, its events into `events`.
pub fn run(platform: Arc<dyn ChatPlatform>) -> Running {
    let (tx, events) = mpsc::channel(64);
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move { platform.run(tx, stopped).await });
    Running { events, stop }
}

/// Ticket #7's card in `channel`, and the thread under it.
pub async fn ticket_card(platform: &dyn ChatPlatform, channel: &str) -> ChatThread {
    platform
        .open_thread(
            channel,
            &Card::of(&Ticket::open(TicketId::new(7), mention(1))),
        )
        .await
        .expect("card")
}

/// The fake Slack with the support channel and Jo, posts unpaced.
pub async fn fake_slack() -> FakeSlack {
    let slack = FakeSlack::start(
        SLACK_BOT_TOKEN,
        SLACK_APP_TOKEN,
        &[SLACK_CHANNEL],
        Duration::ZERO,
    )
    .await
    .expect("fake Slack");
    slack.add_user(SLACK_JO, "jo");
    slack
}

/// The Slack adapter on `connection`, journalling into `store`.
pub async fn slack_adapter(
    slack: &FakeSlack,
    connection: Connection,
    store: Store,
) -> SlackAdapter {
    let web = SlackWeb::new(
        &slack.api_url(),
        &Secret::new(SLACK_BOT_TOKEN),
        Duration::ZERO,
    )
    .expect("web");
    SlackAdapter::connect(web, connection, Arc::new(store))
        .await
        .expect("connect")
}

/// The fake Discord with one text channel, 50 requests a second.
pub async fn fake_discord() -> FakeDiscord {
    FakeDiscord::start(
        DISCORD_TOKEN,
        &[ChannelSpec {
            id: DISCORD_TEXT,
            name: "support",
            forum_tags: &[],
        }],
        50,
        Duration::from_secs(1),
    )
    .await
    .expect("fake Discord")
}
