//! perch's prompts on Discord: a reply waiting for its agent (Send,
//! Cancel, Undo buttons), asked privately where an interaction allows it,
//! and redrawn without its buttons once settled.

use serenity::all::{ChannelId, CreateMessage, EditMessage, MessageId};
use serenity::builder::Builder;

use super::{classify, id, no_pings, text, DiscordRest};
use crate::chat::{Asking, ChatError, MessageRef, Prompt, PromptAction, Responder, Text};
use crate::ticket::ChatThread;

impl DiscordRest {
    /// Asks in the thread, or privately as the answer to the agent's
    /// command when there is one (a thread message has none to answer).
    pub async fn ask(
        &self,
        at: &Asking<'_>,
        prompt: &Prompt,
    ) -> Result<Option<MessageRef>, ChatError> {
        let content = prompt.text.render(&text::STYLE);
        let buttons = vec![serenity::all::CreateActionRow::Buttons(
            prompt
                .actions
                .iter()
                .map(|a| {
                    let style = match a {
                        PromptAction::Send => serenity::all::ButtonStyle::Success,
                        PromptAction::Cancel | PromptAction::Undo => {
                            serenity::all::ButtonStyle::Danger
                        }
                    };
                    serenity::all::CreateButton::new(format!("{}:{}", a.id(), prompt.reply))
                        .label(a.label())
                        .style(style)
                })
                .collect(),
        )];
        if let (true, Some(Responder::Discord { token, .. })) = (at.privately, at.responder) {
            serenity::all::CreateInteractionResponseFollowup::new()
                .content(content)
                .ephemeral(true)
                .components(buttons)
                .allowed_mentions(no_pings())
                .execute(&*self.http, (None, token))
                .await
                .map_err(classify)?;
            return Ok(None);
        }
        let ChatThread::Discord { thread: t, .. } = at.thread else {
            return Err(ChatError::Refused("not a Discord thread".to_owned()));
        };
        let message = CreateMessage::new()
            .content(content)
            .components(buttons)
            .allowed_mentions(no_pings());
        self.send_in(at.thread, t.as_str(), message).await.map(Some)
    }

    /// Redraws one of perch's messages with `words` and no buttons.
    pub async fn settle(&self, message: &MessageRef, words: &Text) -> Result<(), ChatError> {
        let ChatThread::Discord { thread, .. } = &message.thread else {
            return Err(ChatError::Refused("not a Discord thread".to_owned()));
        };
        let edit = EditMessage::new()
            .content(words.render(&text::STYLE))
            .components(Vec::new())
            .allowed_mentions(no_pings());
        ChannelId::new(id(thread.as_str())?)
            .edit_message(&*self.http, MessageId::new(id(message.id.as_str())?), edit)
            .await
            .map_err(classify)?;
        Ok(())
    }
}
