//! `ChatPlatform` for Slack: the Web API for what perch says, Socket Mode
//! (no public URL needed) for what people do.
//!
//! slack-morphism acknowledges each envelope when our callback returns, so
//! callbacks only check for redelivery and hand the event on: Slack gets
//! its ack well within its 3 seconds, and the work happens after.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use slack_morphism::prelude::*;
use tokio::sync::{mpsc, watch};

use super::{classify, events, SlackWeb};
use crate::chat::{
    Capabilities, Card, ChatError, ChatEvent, ChatPlatform, Journal, MessageRef, Platform,
    Reaction, Responder, Text, Visibility,
};
use crate::config::Secret;
use crate::ticket::{ChatThread, TicketId};

/// How Slack reaches perch.
pub enum Connection {
    /// perch dials out; no public URL needed (the default).
    SocketMode { app_token: Secret },
    /// Slack posts to `addr` (behind your public URL), signed with the
    /// app's signing secret.
    EventsApi {
        signing_secret: Secret,
        addr: std::net::SocketAddr,
    },
}

pub struct SlackAdapter {
    web: SlackWeb,
    connection: Connection,
    /// Learned from auth.test at `connect`, or in `run` when Slack was
    /// unreachable at start.
    bot_user: Option<String>,
    journal: Arc<dyn Journal>,
    reconnect_backoff: Duration,
}

/// What the callbacks need (slack-morphism callbacks are plain `fn`s).
pub(super) struct Inbound {
    pub(super) events: mpsc::Sender<ChatEvent>,
    pub(super) journal: Arc<dyn Journal>,
    pub(super) bot_user: String,
}

impl SlackAdapter {
    /// Checks the bot token (auth.test) and learns the bot's user id.
    pub async fn connect(
        web: SlackWeb,
        connection: Connection,
        journal: Arc<dyn Journal>,
    ) -> Result<Self, ChatError> {
        let bot_user = web.whoami().await?;
        let mut adapter = Self::offline(web, connection, journal);
        adapter.bot_user = Some(bot_user);
        Ok(adapter)
    }

    /// An adapter for a Slack that could not be reached yet: `run` checks
    /// the token (retrying while Slack is unreachable) before listening.
    pub fn offline(web: SlackWeb, connection: Connection, journal: Arc<dyn Journal>) -> Self {
        Self {
            web,
            connection,
            bot_user: None,
            journal,
            reconnect_backoff: Duration::from_secs(5),
        }
    }

    /// Checks the bot token now (auth.test) and learns the bot's user id.
    pub async fn check(&mut self) -> Result<(), ChatError> {
        self.bot_user = Some(self.web.whoami().await?);
        Ok(())
    }

    /// The bot's user id: known, or asked of Slack until it answers.
    async fn bot_user(
        &self,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Option<String>, ChatError> {
        if let Some(u) = &self.bot_user {
            return Ok(Some(u.clone()));
        }
        loop {
            match self.web.whoami().await {
                Ok(u) => return Ok(Some(u)),
                Err(e) if e.is_retryable() => {
                    tracing::warn!(error = %e, "Slack is unreachable; retrying");
                }
                Err(e) => return Err(e),
            }
            tokio::select! {
                () = tokio::time::sleep(self.reconnect_backoff) => {}
                _ = stop.wait_for(|s| *s) => return Ok(None),
            }
        }
    }

    /// Seconds to wait before reconnecting after a drop (tests use 1).
    pub fn with_reconnect_backoff(mut self, backoff: Duration) -> Self {
        self.reconnect_backoff = backoff;
        self
    }

    pub fn web(&self) -> &SlackWeb {
        &self.web
    }
}

/// Hands an event on unless this delivery id was seen already (Slack
/// redelivers what it thinks was not acknowledged, also across restarts).
pub(super) async fn forward(inbound: &Inbound, key: &str, event: ChatEvent) {
    crate::chat::deliver_once(
        inbound.journal.as_ref(),
        Platform::Slack,
        key,
        &inbound.events,
        event,
    )
    .await;
}

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<SlackHyperClient>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let guard = state.read().await;
    if let Some(inbound) = guard.get_user_state::<Inbound>() {
        if let Some(chat_event) = events::from_push(&event, &inbound.bot_user) {
            forward(inbound, &format!("event/{}", event.event_id), chat_event).await;
        }
    }
    Ok(())
}

async fn on_command(
    event: SlackCommandEvent,
    _client: Arc<SlackHyperClient>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    let guard = state.read().await;
    if let Some(inbound) = guard.get_user_state::<Inbound>() {
        forward(
            inbound,
            &format!("trigger/{}", event.trigger_id),
            events::from_command(&event),
        )
        .await;
    }
    let echo = format!("`/perch {}` …", event.text.as_deref().unwrap_or_default());
    Ok(SlackCommandEventResponse::new(
        SlackMessageContent::new().with_text(echo),
    ))
}

async fn on_interaction(
    event: SlackInteractionEvent,
    _client: Arc<SlackHyperClient>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let guard = state.read().await;
    if let (Some(inbound), SlackInteractionEvent::BlockActions(b)) =
        (guard.get_user_state::<Inbound>(), &event)
    {
        if let Some(chat_event) = events::from_interaction(&event) {
            forward(inbound, &format!("trigger/{}", b.trigger_id), chat_event).await;
        }
    }
    Ok(())
}

fn on_error(
    err: Box<dyn std::error::Error + Send + Sync>,
    _client: Arc<SlackHyperClient>,
    _state: SlackClientEventsUserState,
) -> HttpStatusCode {
    tracing::warn!(error = %err, "Slack event handling failed");
    HttpStatusCode::OK
}

#[async_trait]
impl ChatPlatform for SlackAdapter {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    async fn probe(&self) -> Result<(), ChatError> {
        self.web.whoami().await.map(|_| ())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            ephemeral: true,
            reactions: true,
            forum_posts: false,
            max_message_chars: 40_000,
        }
    }

    async fn open_thread(&self, channel: &str, card: &Card) -> Result<ChatThread, ChatError> {
        self.web.open_thread(channel, card).await
    }

    async fn post(&self, thread: &ChatThread, text: &Text) -> Result<MessageRef, ChatError> {
        self.web.post(thread, text).await
    }

    async fn announce(&self, channel: &str, text: &Text) -> Result<(), ChatError> {
        self.web.announce(channel, text).await
    }

    async fn update_card(&self, thread: &ChatThread, card: &Card) -> Result<(), ChatError> {
        self.web.update_card(thread, card).await
    }

    async fn plain_text(&self, text: &str) -> String {
        self.web.plain_text(text).await
    }

    async fn ask(
        &self,
        at: &crate::chat::Asking<'_>,
        prompt: &crate::chat::Prompt,
    ) -> Result<Option<MessageRef>, ChatError> {
        self.web.ask(at, prompt).await
    }

    async fn settle(&self, message: &MessageRef, text: &Text) -> Result<(), ChatError> {
        self.web.settle(message, text).await
    }

    async fn find_card(
        &self,
        channel: &str,
        ticket: TicketId,
    ) -> Result<Option<ChatThread>, ChatError> {
        self.web.find_card(channel, ticket).await
    }

    async fn group_members(&self, group: &str) -> Result<Vec<String>, ChatError> {
        self.web.group_members(group).await
    }

    async fn react(&self, message: &MessageRef, reaction: Reaction) -> Result<(), ChatError> {
        self.web.react(message, reaction).await
    }

    async fn answer(
        &self,
        to: &Responder,
        text: &str,
        visibility: Visibility,
    ) -> Result<(), ChatError> {
        self.web.answer(to, text, visibility).await
    }

    async fn run(
        &self,
        events: mpsc::Sender<ChatEvent>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), ChatError> {
        let Some(bot_user) = self.bot_user(&mut stop).await? else {
            return Ok(());
        };
        let inbound = Inbound {
            events,
            journal: Arc::clone(&self.journal),
            bot_user,
        };
        let app_token = match &self.connection {
            Connection::SocketMode { app_token } => app_token,
            Connection::EventsApi {
                signing_secret,
                addr,
            } => {
                return super::events_api::serve(
                    Arc::clone(&self.web.client),
                    signing_secret.expose(),
                    *addr,
                    inbound,
                    stop,
                )
                .await;
            }
        };
        let environment = Arc::new(
            SlackClientEventsListenerEnvironment::new(Arc::clone(&self.web.client))
                .with_error_handler(on_error)
                .with_user_state(inbound),
        );
        let callbacks = SlackSocketModeListenerCallbacks::new()
            .with_push_events(on_push)
            .with_command_events(on_command)
            .with_interaction_events(on_interaction);
        let config = SlackClientSocketModeConfig::new()
            .with_max_connections_count(1)
            .with_initial_backoff_in_seconds(self.reconnect_backoff.as_secs().max(1));
        let listener = SlackClientSocketModeListener::new(&config, environment, callbacks);
        let token = SlackApiToken::new(SlackApiTokenValue(app_token.expose().to_owned()));
        listener.listen_for(&token).await.map_err(classify)?;
        listener.start().await;
        tracing::info!("Slack Socket Mode connected");
        let _ = stop.wait_for(|s| *s).await;
        listener.shutdown().await;
        Ok(())
    }
}
