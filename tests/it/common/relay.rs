//! The whole product on the sandbox: the fake X, Slack and Discord from
//! `bot-config/sandbox.toml` (on free ports), and perch's service between
//! them, in this process. Scenarios act as customers and agents through
//! the fakes and read what each side sees.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use perch::config::Config;
use perch::sandbox::discord::Message as DiscordMessage;
use perch::sandbox::run::Sandbox;
use perch::sandbox::slack::Message as SlackMessage;
use perch::store::Store;
use perch::twitter::api::Post;

use super::{free_addr, repo_path, Running};
pub use super::{never, until};

pub const SLACK: &str = "C0SUPPORT1";
pub const DISCORD: u64 = 1_100_000_000_000_000_001;
pub const JO_SLACK: &str = "U0JODOE01";
pub const SAM_SLACK: &str = "U0SAMLEE1";
pub const JO_DISCORD: u64 = 1_400_000_000_000_000_001;
pub const SAM_DISCORD: u64 = 1_400_000_000_000_000_002;
pub const ACME_ID: &str = "1500000000000000001";

/// Where the fakes and perch listen for one scenario.
pub struct Ports {
    pub x: SocketAddr,
    pub slack: SocketAddr,
    pub discord: SocketAddr,
    pub health: SocketAddr,
}

impl Ports {
    pub fn free() -> Self {
        Self {
            x: free_addr(),
            slack: free_addr(),
            discord: free_addr(),
            health: free_addr(),
        }
    }
}

/// An edit of `sandbox_toml`: the account's mentions polled every second
/// as well (the sandbox has X deliver them by webhook).
pub const POLL_MENTIONS: (&str, &str) = (
    "[accounts.ingest.webhook]",
    "[accounts.ingest.mentions]\ninterval = \"1s\"\n\n[accounts.ingest.webhook]",
);

/// An edit of `sandbox_toml`: brand search polled only (the sandbox has
/// its hits come on X's filtered stream).
pub const POLL_SEARCH: (&str, &str) = ("filtered_stream = true", "filtered_stream = false");

/// `bot-config/sandbox.toml` on `ports` with its store in `data`, its
/// webhook at perch's health address, polling every second, with `edits`
/// (`from` -> `to`) applied; each must match.
pub fn sandbox_toml(data: &Path, ports: &Ports, edits: &[(&str, &str)]) -> String {
    let mut src =
        std::fs::read_to_string(repo_path("bot-config/sandbox.toml")).expect("sandbox.toml");
    let data_dir = format!("data_dir = \"{}\"", data.display());
    let health = format!("health_addr = \"{}\"", ports.health);
    let x = format!("http://{}", ports.x);
    let slack = format!("http://{}/api", ports.slack);
    let discord = format!("http://{}", ports.discord);
    let hook = format!("http://{}/x/webhook", ports.health);
    let fixed = [
        ("data_dir = \"target/sandbox-store\"", data_dir.as_str()),
        ("health_addr = \"127.0.0.1:8080\"", health.as_str()),
        ("http://127.0.0.1:8080/x/webhook", hook.as_str()),
        ("http://127.0.0.1:18080", x.as_str()),
        ("http://127.0.0.1:18081/api", slack.as_str()),
        ("http://127.0.0.1:18082", discord.as_str()),
        ("interval = \"5s\"", "interval = \"1s\""),
    ];
    for (from, to) in fixed.iter().chain(edits) {
        assert!(src.contains(from), "sandbox.toml no longer has `{from}`");
        src = src.replace(from, to);
    }
    src
}

/// The `sandbox_toml` edit that closes support from yesterday to tomorrow
/// (UTC, as holidays), so that every new ticket is off hours whenever the
/// test runs; with the day the team is back, as customers read it.
pub fn closed_until_day_after_tomorrow() -> ((&'static str, String), String) {
    let today = chrono::Utc::now().date_naive();
    let days: Vec<String> = (-1..=1)
        .map(|n| format!("\"{}\"", today + chrono::Duration::days(n)))
        .collect();
    let back = (today + chrono::Duration::days(2)).format("%A 00:00 UTC");
    (
        ("holidays = []", format!("holidays = [{}]", days.join(", "))),
        back.to_string(),
    )
}

pub fn config(source: &str) -> Config {
    match perch::config::from_str(source) {
        Ok(v) => v.config,
        Err(problems) => panic!("config: {problems:?}"),
    }
}

/// The fakes and perch, running.
pub struct Scene {
    pub sandbox: Sandbox,
    pub store: Store,
    pub config: Config,
    /// The config's text (`config` read from it).
    pub source: String,
    service: Option<Running>,
    _dir: tempfile::TempDir,
}

impl Scene {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    pub async fn start_with(edits: &[(&str, &str)]) -> Self {
        Self::start_on_clock(edits, Arc::new(perch::clock::SystemClock)).await
    }

    /// `start_with`, perch's relay on `clock`.
    pub async fn start_on_clock(
        edits: &[(&str, &str)],
        clock: Arc<dyn perch::clock::Clock>,
    ) -> Self {
        let scene = Self::start_after(edits, clock, |_, _| {}).await;
        // Brand search hits come on the filtered stream once perch holds it.
        if scene.config.x.filtered_stream {
            until("perch on the filtered stream", || {
                scene.sandbox.x.streaming().then_some(())
            })
            .await;
        }
        // Discord delivers what people write only to a connected gateway:
        // a scenario's first message must not go out before perch is on it.
        if let Some(discord) = &scene.sandbox.discord {
            until("perch on Discord's gateway", || {
                (discord.identified() > 0).then_some(())
            })
            .await;
        }
        scene
    }

    /// `start_on_clock`, with `before` done to the fakes and the store
    /// before perch starts (a revoked token, a fault from the first
    /// request, a history of tickets).
    pub async fn start_after(
        edits: &[(&str, &str)],
        clock: Arc<dyn perch::clock::Clock>,
        before: impl FnOnce(&Sandbox, &Store),
    ) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let source = sandbox_toml(&dir.path().join("data"), &Ports::free(), edits);
        let config = config(&source);
        let sandbox = Sandbox::start(&config).await.expect("the fakes start");
        let store = Store::open(&config.service.data_dir).expect("store");
        before(&sandbox, &store);
        let service =
            Running::start_on_clock(config.clone(), store.clone(), Sandbox::lookup(), clock).await;
        Self {
            sandbox,
            store,
            config,
            source,
            service: Some(service),
            _dir: dir,
        }
    }

    /// Stops perch and starts it again on the same store and fakes, its
    /// relay on `clock`: nothing but the store carries over.
    pub async fn restart(&mut self, clock: Arc<dyn perch::clock::Clock>) {
        if let Some(s) = self.service.take() {
            s.stop().await;
        }
        let before = self.sandbox.discord.as_ref().map_or(0, |d| d.identified());
        self.service = Some(
            Running::start_on_clock(
                self.config.clone(),
                self.store.clone(),
                Sandbox::lookup(),
                clock,
            )
            .await,
        );
        if let Some(discord) = &self.sandbox.discord {
            until("perch on Discord's gateway again", || {
                (discord.identified() > before).then_some(())
            })
            .await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.service.take() {
            s.stop().await;
        }
    }

    /// perch's health now, read on this thread (for `until` probes in
    /// multi-threaded tests); `None` while it does not answer.
    pub fn health_now(&self) -> Option<serde_json::Value> {
        let addr = self.service.as_ref()?.addr;
        let (_, body) = super::http_get(addr, "/healthz").ok()?;
        serde_json::from_str(&body).ok()
    }

    /// Where perch serves health.
    pub fn health_addr(&self) -> SocketAddr {
        self.service.as_ref().expect("running").addr
    }

    /// perch's health endpoint, as JSON.
    pub async fn health(&self) -> serde_json::Value {
        let addr = self.service.as_ref().expect("running").addr;
        let (_, body) = tokio::task::spawn_blocking(move || super::http_get(addr, "/healthz"))
            .await
            .expect("join")
            .expect("health");
        serde_json::from_str(&body).expect("health is JSON")
    }

    pub fn slack(&self) -> &perch::sandbox::slack::FakeSlack {
        self.sandbox.slack.as_ref().expect("the sandbox has Slack")
    }

    pub fn discord(&self) -> &perch::sandbox::discord::FakeDiscord {
        self.sandbox
            .discord
            .as_ref()
            .expect("the sandbox has Discord")
    }

    /// The customer `handle`'s ticket cards in Slack (top-level bot posts).
    pub fn slack_cards(&self, handle: &str) -> Vec<SlackMessage> {
        slack_cards(self.slack(), handle)
    }

    /// The replies in the Slack thread under `card`.
    pub fn slack_thread(&self, card: &SlackMessage) -> Vec<SlackMessage> {
        self.slack()
            .messages(SLACK)
            .into_iter()
            .filter(|m| m.thread_ts.as_deref() == Some(card.ts.as_str()) && m.ts != card.ts)
            .collect()
    }

    pub fn discord_cards(&self, handle: &str) -> Vec<DiscordMessage> {
        discord_cards(self.discord(), handle)
    }

    /// The messages in the Discord thread started from `card`.
    pub fn discord_thread(&self, card: &DiscordMessage) -> Vec<DiscordMessage> {
        self.discord().messages(card.id)
    }

    /// The texts perch posted (with X's answer 201) in reply to post `id`,
    /// as perch wrote them (X stores its own t.co links and escapes).
    pub fn reply_texts_to(&self, id: &str) -> Vec<String> {
        self.sandbox
            .x
            .requests_to("POST /2/tweets")
            .into_iter()
            .filter(|r| r.status == 201)
            .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.body).ok())
            .filter(|b| b["reply"]["in_reply_to_tweet_id"] == id)
            .filter_map(|b| b["text"].as_str().map(str::to_owned))
            .collect()
    }

    /// The account's public replies to post `id`.
    pub fn replies_to(&self, id: &str) -> Vec<Post> {
        replies_to(&self.sandbox.x.posted(), id)
    }

    /// A customer mentions the account; waits for the ticket's card in
    /// both places and returns them.
    pub async fn mention(&self, from: &str, words: &str) -> (Post, SlackMessage, DiscordMessage) {
        let post = self
            .sandbox
            .x
            .post(from, &format!("@AcmeSupport {words}"), None, None);
        let slack = until(&format!("{from}'s card in Slack"), || {
            self.slack_cards(from).into_iter().next()
        })
        .await;
        let discord = until(&format!("{from}'s card in Discord"), || {
            self.discord_cards(from).into_iter().next()
        })
        .await;
        // A message in a thread perch has not recorded yet is not a
        // ticket's: a scenario speaks once perch knows both threads.
        until(&format!("{from}'s threads recorded"), || {
            self.store
                .tickets()
                .ok()?
                .into_iter()
                .find(|t| t.customer.handle == from && t.threads.len() == 2)
        })
        .await;
        (post, slack, discord)
    }

    /// Waits for a message with `words` in the Slack thread under `card`.
    pub async fn slack_says(&self, card: &SlackMessage, words: &str) -> SlackMessage {
        until(&format!("`{words}` in the Slack thread"), || {
            self.slack_thread(card)
                .into_iter()
                .find(|m| m.text.contains(words))
        })
        .await
    }

    /// Waits for a message with `words` in the Discord thread of `card`.
    pub async fn discord_says(&self, card: &DiscordMessage, words: &str) -> DiscordMessage {
        until(&format!("`{words}` in the Discord thread"), || {
            self.discord_thread(card)
                .into_iter()
                .find(|m| m.content.contains(words))
        })
        .await
    }

    /// Waits until the agent's message `ts` in the thread under `card`
    /// carries `reaction` (`x`, `white_check_mark`).
    pub async fn slack_marked(&self, card: &SlackMessage, ts: &str, reaction: &str) {
        until(&format!("the message marked {reaction}"), || {
            self.slack_thread(card)
                .into_iter()
                .find(|m| m.ts == ts && m.reactions.iter().any(|r| r == reaction))
        })
        .await;
    }

    /// Waits for Slack to show `user` (only) an answer with `words`.
    pub async fn told(&self, user: &str, words: &str) -> String {
        until(&format!("`{words}` told to {user}"), || {
            self.slack()
                .ephemerals_for(user)
                .into_iter()
                .map(|e| e.text)
                .find(|t| t.contains(words))
        })
        .await
    }

    /// The card's current state, as Slack shows it.
    pub fn slack_card_now(&self, card: &SlackMessage) -> SlackMessage {
        self.slack()
            .messages(SLACK)
            .into_iter()
            .find(|m| m.ts == card.ts)
            .expect("the card is still there")
    }

    pub fn discord_card_now(&self, card: &DiscordMessage) -> DiscordMessage {
        self.discord()
            .messages(DISCORD)
            .into_iter()
            .find(|m| m.id == card.id)
            .expect("the card is still there")
    }
}

pub fn slack_cards(slack: &perch::sandbox::slack::FakeSlack, handle: &str) -> Vec<SlackMessage> {
    let needle = format!("@{handle} ");
    slack
        .messages(SLACK)
        .into_iter()
        .filter(|m| m.bot_id.is_some() && m.thread_ts.is_none() && m.text.contains(&needle))
        .collect()
}

pub fn discord_cards(
    discord: &perch::sandbox::discord::FakeDiscord,
    handle: &str,
) -> Vec<DiscordMessage> {
    let needle = format!("(@{handle})");
    discord
        .messages(DISCORD)
        .into_iter()
        .filter(|m| {
            m.embeds
                .get(0)
                .and_then(|e| e["title"].as_str())
                .is_some_and(|t| t.contains(&needle))
        })
        .collect()
}

pub fn replies_to(posted: &[Post], id: &str) -> Vec<Post> {
    posted
        .iter()
        .filter(|p| {
            p.referenced_tweets
                .iter()
                .any(|r| r.kind == "replied_to" && r.id == id)
        })
        .cloned()
        .collect()
}

/// What a Discord card's embed says in a field (`Status`, `Holder`).
pub fn discord_field(card: &DiscordMessage, name: &str) -> String {
    card.embeds
        .get(0)
        .and_then(|e| e["fields"].as_array().cloned())
        .into_iter()
        .flatten()
        .find(|f| f["name"] == name)
        .and_then(|f| f["value"].as_str().map(str::to_owned))
        .unwrap_or_default()
}
