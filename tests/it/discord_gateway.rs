//! The fake Discord gateway against serenity's own client: every dispatch
//! the fake sends must make serenity's handler fire (serenity silently
//! drops payloads it cannot parse).

use std::time::Duration;

use perch::sandbox::discord::gateway::APPLICATION_ID;
use perch::sandbox::discord::FakeDiscord;
use serenity::all::{
    ClientBuilder, Context, EventHandler, GatewayIntents, Guild, HttpBuilder, Message, Ready,
};
use tokio::sync::mpsc;

use crate::common::chat::{fake_discord, DISCORD_TEXT, DISCORD_TOKEN};

const TOKEN: &str = DISCORD_TOKEN;
const TEXT: u64 = DISCORD_TEXT;

struct Handler(mpsc::UnboundedSender<String>);

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let _ = self.0.send(format!("ready app={}", ready.application.id));
    }

    async fn guild_create(&self, _ctx: Context, guild: Guild, _is_new: Option<bool>) {
        let _ = self.0.send(format!(
            "guild {} channels={}",
            guild.id,
            guild.channels.len()
        ));
    }

    async fn message(&self, _ctx: Context, message: Message) {
        let roles = message.member.as_ref().map(|m| m.roles.len()).unwrap_or(0);
        let _ = self.0.send(format!(
            "message {} by {} roles={roles}: {}",
            message.channel_id, message.author.id, message.content
        ));
    }
}

async fn client(d: &FakeDiscord, intents: GatewayIntents) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    let http = HttpBuilder::new(TOKEN)
        .proxy(d.url())
        .ratelimiter_disabled(true)
        .build();
    let mut client = ClientBuilder::new_with_http(http, intents)
        .event_handler(Handler(tx))
        .await
        .expect("client");
    tokio::spawn(async move {
        let _ = client.start().await;
    });
    rx
}

async fn next(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
        Ok(Some(s)) => s,
        other => panic!("serenity's handler never fired: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serenity_connects_and_its_handlers_fire_for_ready_and_guild_create() {
    let d = fake_discord().await;
    let mut rx = client(
        &d,
        GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT,
    )
    .await;
    assert_eq!(next(&mut rx).await, format!("ready app={APPLICATION_ID}"));
    let guild = next(&mut rx).await;
    assert!(
        guild.starts_with("guild 1300000000000000001 channels=1"),
        "{guild}"
    );
    assert_eq!(d.identified(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_message_reaches_serenitys_handler_with_its_roles() {
    let d = fake_discord().await;
    let mut rx = client(
        &d,
        GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT,
    )
    .await;
    next(&mut rx).await;
    next(&mut rx).await;
    d.user_message(
        TEXT,
        1_400_000_000_000_000_001,
        "jo",
        &[1_500_000_000_000_000_002],
        "on it",
    );
    assert_eq!(
        next(&mut rx).await,
        format!("message {TEXT} by 1400000000000000001 roles=1: on it")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_message_content_intent_the_content_is_blank() {
    let d = fake_discord().await;
    let mut rx = client(&d, GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES).await;
    next(&mut rx).await;
    next(&mut rx).await;
    d.user_message(TEXT, 1_400_000_000_000_000_001, "jo", &[], "secret words");
    assert_eq!(
        next(&mut rx).await,
        format!("message {TEXT} by 1400000000000000001 roles=0: ")
    );
}
