//! How the relay speaks in chat: answers to a command or button, a word
//! to one person about a thread, a post in a thread, a mark on a message.

use super::Core;
use crate::chat::{
    ChatPlatform, ChatUser, MessageRef, Platform, Reaction, Responder, Text, Visibility,
};
use crate::ticket::{ChatThread, Effect, Ticket, Transition};

/// Posts `text` in `thread` as the bot (best effort: a failure is logged).
pub(super) async fn say(platform: &dyn ChatPlatform, thread: &ChatThread, text: &str) {
    say_text(platform, thread, &Text::Ours(text.to_owned())).await;
}

/// Posts `text`, quotes made inert, in `thread` (best effort).
pub(super) async fn say_text(platform: &dyn ChatPlatform, thread: &ChatThread, text: &Text) {
    if let Err(e) = platform.post(thread, text).await {
        tracing::warn!(error = %e, "cannot post in a ticket thread");
    }
}

/// Marks `message` where the platform has reactions (best effort).
pub(super) async fn mark(platform: &dyn ChatPlatform, message: &MessageRef, reaction: Reaction) {
    if !platform.capabilities().reactions {
        return;
    }
    if let Err(e) = platform.react(message, reaction).await {
        tracing::warn!(error = %e, "cannot mark a message");
    }
}

impl Core {
    /// Answers a command or button (only the caller sees it, where the
    /// platform allows).
    pub(super) async fn answer(&self, to: &Responder, text: &str) {
        if let Some(p) = self.platform(to.platform()) {
            if let Err(e) = p.answer(to, text, Visibility::Caller).await {
                tracing::warn!(error = %e, "cannot answer a command");
            }
        }
    }

    /// Tells one person something about a thread: privately on Slack, in
    /// the thread on Discord (a bot cannot whisper outside an interaction).
    pub(super) async fn tell(&self, who: &ChatUser, thread: &ChatThread, text: &str) {
        match (who.platform, thread) {
            (Platform::Slack, ChatThread::Slack { channel, thread_ts }) => {
                let to = Responder::Slack {
                    channel: channel.as_str().to_owned(),
                    user: who.id.to_string(),
                    thread_ts: Some(thread_ts.as_str().to_owned()),
                };
                let whispered = match self.platform(Platform::Slack) {
                    Some(p) => p.answer(&to, text, Visibility::Caller).await,
                    None => return,
                };
                // Slack refuses an ephemeral to someone it does not count
                // as in the channel; they still must hear why.
                if let Err(e) = whispered {
                    tracing::warn!(error = %e, "cannot answer privately; answering in the thread");
                    let name = who.name.clone().unwrap_or_else(|| format!("<@{}>", who.id));
                    self.post(thread, &format!("{name}: {text}")).await;
                }
            }
            _ => {
                let name = who.name.clone().unwrap_or_else(|| who.id.to_string());
                self.post(thread, &format!("{name}: {text}")).await;
            }
        }
    }

    /// Where to answer a command `who` wrote in `thread` as a message:
    /// privately on Slack, in the thread on Discord.
    pub(super) fn responder_in(&self, who: &ChatUser, thread: &ChatThread) -> Responder {
        match thread {
            ChatThread::Slack { channel, thread_ts } => Responder::Slack {
                channel: channel.as_str().to_owned(),
                user: who.id.to_string(),
                thread_ts: Some(thread_ts.as_str().to_owned()),
            },
            ChatThread::Discord { .. } => Responder::Thread {
                thread: thread.clone(),
            },
        }
    }

    pub(super) async fn post(&self, thread: &ChatThread, text: &str) {
        if let Some(p) = self.platform(thread.platform()) {
            say(p.as_ref(), thread, text).await;
        }
    }

    pub(super) async fn mark(&self, message: &MessageRef, reaction: Reaction) {
        if let Some(p) = self.platform(message.thread.platform()) {
            mark(p.as_ref(), message, reaction).await;
        }
    }

    /// Says something in every thread of a ticket (best effort: a failure
    /// is logged, and the ticket itself is unaffected).
    pub(super) async fn say_everywhere(&self, ticket: &Ticket, text: &str) {
        for thread in &ticket.threads {
            self.post(thread, text).await;
        }
    }

    /// Effects that reach people (cards are redrawn by the thread loop).
    pub(super) async fn carry_out(&self, transition: &Transition) {
        for effect in &transition.effects {
            if let Effect::NotifyAgent { agent, text } = effect {
                self.say_everywhere(&transition.ticket, &format!("{}: {text}", agent.name))
                    .await;
            }
        }
    }
}
