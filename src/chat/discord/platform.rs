//! `ChatPlatform` for Discord: what perch says goes through REST
//! (`DiscordRest`), what people do comes in through the gateway
//! (`gateway`), and names in what agents write are asked of REST
//! (`names`).

use async_trait::async_trait;
use serenity::all::CreateInteractionResponseFollowup;
use serenity::builder::Builder;
use tokio::sync::{mpsc, watch};

use super::classify;
use super::gateway::DiscordAdapter;
use crate::chat::{
    Asking, Capabilities, Card, ChatError, ChatEvent, ChatPlatform, MessageRef, Platform, Prompt,
    Reaction, Responder, Text, Visibility,
};
use crate::ticket::{ChatThread, TicketId};

#[async_trait]
impl ChatPlatform for DiscordAdapter {
    fn platform(&self) -> Platform {
        Platform::Discord
    }

    async fn probe(&self) -> Result<(), ChatError> {
        self.rest()
            .http
            .get_current_user()
            .await
            .map(|_| ())
            .map_err(super::classify)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            ephemeral: true,
            reactions: true,
            forum_posts: true,
            max_message_chars: 2000,
        }
    }

    async fn open_thread(&self, channel: &str, card: &Card) -> Result<ChatThread, ChatError> {
        self.rest().open_thread(channel, card).await
    }

    async fn post(&self, thread: &ChatThread, text: &Text) -> Result<MessageRef, ChatError> {
        self.rest().post(thread, text).await
    }

    async fn announce(&self, channel: &str, text: &Text) -> Result<(), ChatError> {
        self.rest().announce(channel, text).await
    }

    async fn update_card(&self, thread: &ChatThread, card: &Card) -> Result<(), ChatError> {
        self.rest().update_card(thread, card).await
    }

    async fn plain_text(&self, text: &str) -> String {
        DiscordAdapter::plain_text(self, text).await
    }

    async fn ask(&self, at: &Asking<'_>, prompt: &Prompt) -> Result<Option<MessageRef>, ChatError> {
        self.rest().ask(at, prompt).await
    }

    async fn settle(&self, message: &MessageRef, text: &Text) -> Result<(), ChatError> {
        self.rest().settle(message, text).await
    }

    async fn find_card(
        &self,
        channel: &str,
        ticket: TicketId,
    ) -> Result<Option<ChatThread>, ChatError> {
        self.rest().find_card(channel, ticket).await
    }

    async fn react(&self, message: &MessageRef, reaction: Reaction) -> Result<(), ChatError> {
        self.rest().react(message, reaction).await
    }

    async fn answer(
        &self,
        to: &Responder,
        text: &str,
        visibility: Visibility,
    ) -> Result<(), ChatError> {
        let token = match to {
            Responder::Discord { token, .. } => token,
            Responder::Thread { thread } => {
                return self
                    .rest()
                    .post(thread, &Text::Ours(text.to_owned()))
                    .await
                    .map(|_| ())
            }
            Responder::Slack { .. } => {
                return Err(ChatError::Refused("not a Discord interaction".to_owned()))
            }
        };
        CreateInteractionResponseFollowup::new()
            .content(text)
            .ephemeral(visibility == Visibility::Caller)
            .allowed_mentions(serenity::all::CreateAllowedMentions::new())
            .execute(&*self.rest().http, (None, token))
            .await
            .map(|_| ())
            .map_err(classify)
    }

    async fn run(
        &self,
        events: mpsc::Sender<ChatEvent>,
        stop: watch::Receiver<bool>,
    ) -> Result<(), ChatError> {
        self.connect(events, stop).await
    }
}
