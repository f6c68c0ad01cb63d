//! Slack payloads (as slack-morphism parses them) into `ChatEvent`s.
//!
//! Slash commands cannot be used in Slack threads (Slack documents this,
//! and their payload names no thread). So in a ticket thread, commands are
//! written to the bot: `@perch claim` arrives as a thread message that
//! starts with the bot's mention and becomes a `Command` for that thread.
//! `/perch` elsewhere needs a ticket number (`/perch claim #42`).

use slack_morphism::prelude::*;

use super::text::command_text;
use crate::chat::{
    CardAction, ChatEvent, ChatUser, MessageRef, Platform, PromptAction, Responder, Written,
};
use crate::ticket::{ChatMessageId, ChatThread, ChatUserId};

fn user(id: &str, name: Option<String>) -> ChatUser {
    ChatUser {
        platform: Platform::Slack,
        id: ChatUserId::from(id),
        name,
        roles: Vec::new(),
    }
}

/// A person's message in a thread, also one sent to the channel too
/// (`thread_broadcast`) or with a file (`file_share`); a person's edit or
/// delete of one. Never the bot's own, nor a top-level message.
pub fn from_push(callback: &SlackPushEventCallback, bot_user: &str) -> Option<ChatEvent> {
    let SlackEventCallbackBody::Message(m) = &callback.event else {
        return None;
    };
    let event_id = callback.event_id.to_string();
    match &m.subtype {
        None | Some(SlackMessageEventType::ThreadBroadcast | SlackMessageEventType::FileShare) => {}
        Some(SlackMessageEventType::MessageChanged) => {
            let edited = m.message.as_ref()?;
            let author = edited.sender.user.as_ref()?.to_string();
            if edited.sender.bot_id.is_some() || author == bot_user {
                return None;
            }
            return Some(ChatEvent::MessageEdited {
                message: Written {
                    platform: Platform::Slack,
                    channel: m.origin.channel.as_ref()?.to_string(),
                    id: ChatMessageId::new(edited.ts.to_string()),
                },
                text: edited
                    .content
                    .as_ref()
                    .and_then(|c| c.text.clone())
                    .unwrap_or_default(),
                event_id,
            });
        }
        Some(SlackMessageEventType::MessageDeleted) => {
            let was = m.previous_message.as_ref();
            if was.is_some_and(|p| p.sender.bot_id.is_some()) {
                return None;
            }
            return Some(ChatEvent::MessageDeleted {
                message: Written {
                    platform: Platform::Slack,
                    channel: m.origin.channel.as_ref()?.to_string(),
                    id: ChatMessageId::new(m.deleted_ts.as_ref()?.to_string()),
                },
                event_id,
            });
        }
        Some(_) => return None,
    }
    if m.sender.bot_id.is_some() {
        return None;
    }
    let author = m.sender.user.as_ref()?.to_string();
    if author == bot_user {
        return None;
    }
    let thread_ts = m.origin.thread_ts.as_ref()?.to_string();
    let ts = m.origin.ts.to_string();
    if thread_ts == ts {
        return None;
    }
    let channel = m.origin.channel.as_ref()?.to_string();
    let content = m.content.as_ref();
    let raw = content.and_then(|c| c.text.clone()).unwrap_or_default();
    let files = content
        .and_then(|c| c.files.as_ref())
        .map(|files| {
            files
                .iter()
                .map(|f| f.name.clone().unwrap_or_else(|| f.id.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let thread = ChatThread::Slack {
        channel: channel.as_str().into(),
        thread_ts: thread_ts.as_str().into(),
    };
    if let Some(rest) = raw.trim_start().strip_prefix(&format!("<@{bot_user}>")) {
        return Some(ChatEvent::Command {
            author: user(&author, None),
            text: command_text(rest.trim()),
            thread: Some(thread),
            responder: Responder::Slack {
                channel,
                user: author,
                thread_ts: Some(thread_ts),
            },
        });
    }
    Some(ChatEvent::ThreadMessage {
        message: MessageRef {
            thread,
            id: ChatMessageId::new(ts),
        },
        author: user(&author, None),
        text: raw,
        event_id,
        files,
    })
}

/// `/perch <text>`: outside a thread by Slack's rules.
pub fn from_command(c: &SlackCommandEvent) -> ChatEvent {
    ChatEvent::Command {
        author: user(c.user_id.as_ref(), None),
        text: command_text(c.text.as_deref().unwrap_or_default()),
        thread: None,
        responder: Responder::Slack {
            channel: c.channel_id.to_string(),
            user: c.user_id.to_string(),
            thread_ts: None,
        },
    }
}

/// A press of one of our card buttons.
pub fn from_interaction(event: &SlackInteractionEvent) -> Option<ChatEvent> {
    let SlackInteractionEvent::BlockActions(b) = event else {
        return None;
    };
    let SlackInteractionActionContainer::Message(container) = &b.container else {
        return None;
    };
    let presser = b.user.as_ref()?;
    let channel = container
        .channel_id
        .as_ref()
        .map(ToString::to_string)
        .or_else(|| b.channel.as_ref().map(|c| c.id.to_string()))?;
    let actions = b.actions.as_ref()?;
    let on_prompt = actions.iter().find_map(|a| {
        let action = PromptAction::from_id(a.action_id.as_ref())?;
        Some((action, a.value.as_deref()?.parse().ok()?))
    });
    if let Some((action, reply)) = on_prompt {
        return Some(ChatEvent::ReplyButton {
            author: user(presser.id.as_ref(), presser.name.clone()),
            action,
            reply,
            responder: Responder::Slack {
                channel,
                user: presser.id.to_string(),
                thread_ts: None,
            },
        });
    }
    let action = actions
        .iter()
        .find_map(|a| CardAction::from_id(a.action_id.as_ref()))?;
    let card_ts = container.message_ts.to_string();
    Some(ChatEvent::Button {
        author: user(presser.id.as_ref(), presser.name.clone()),
        action,
        thread: ChatThread::Slack {
            channel: channel.as_str().into(),
            thread_ts: card_ts.as_str().into(),
        },
        responder: Responder::Slack {
            channel,
            user: presser.id.to_string(),
            thread_ts: Some(card_ts),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn push(event: serde_json::Value) -> SlackPushEventCallback {
        serde_json::from_value(json!({
            "team_id": "T1", "api_app_id": "A1", "event": event, "type": "event_callback",
            "event_id": "Ev1", "event_time": 1_700_000_000,
        }))
        .unwrap_or_else(|e| panic!("slack-morphism cannot read the fixture: {e}"))
    }

    #[test]
    fn a_persons_thread_reply_is_an_event_and_the_rest_is_not() {
        let reply = push(
            json!({"type": "message", "channel": "C1", "user": "U1", "text": "On it &amp; more", "ts": "2.0", "thread_ts": "1.0"}),
        );
        match from_push(&reply, "UBOT") {
            Some(ChatEvent::ThreadMessage {
                text,
                event_id,
                message,
                ..
            }) => {
                assert_eq!(
                    (text.as_str(), event_id.as_str(), message.id.as_str()),
                    ("On it &amp; more", "Ev1", "2.0")
                );
            }
            other => panic!("{other:?}"),
        }
        let cases = [
            (
                "the bot's own",
                json!({"type": "message", "channel": "C1", "user": "UBOT", "bot_id": "B1", "text": "x", "ts": "3.0", "thread_ts": "1.0"}),
            ),
            (
                "top level",
                json!({"type": "message", "channel": "C1", "user": "U1", "text": "x", "ts": "4.0"}),
            ),
            (
                "an edit",
                json!({"type": "message", "subtype": "message_changed", "channel": "C1", "ts": "5.0", "thread_ts": "1.0", "hidden": true}),
            ),
            (
                "another bot",
                json!({"type": "message", "channel": "C1", "bot_id": "B9", "text": "x", "ts": "6.0", "thread_ts": "1.0"}),
            ),
        ];
        for (what, event) in cases {
            assert_eq!(
                from_push(&push(event), "UBOT"),
                None,
                "{what} must not be a reply"
            );
        }
    }

    #[test]
    fn mentioning_the_bot_in_a_thread_is_a_command_for_that_thread() {
        let mention = push(
            json!({"type": "message", "channel": "C1", "user": "U1", "text": "<@UBOT> assign <@U2|sam>", "ts": "2.0", "thread_ts": "1.0"}),
        );
        match from_push(&mention, "UBOT") {
            Some(ChatEvent::Command {
                text,
                thread: Some(ChatThread::Slack { thread_ts, .. }),
                ..
            }) => {
                assert_eq!(text, "assign <@U2|sam>");
                assert_eq!(thread_ts.as_str(), "1.0");
            }
            other => panic!("{other:?}"),
        }
    }
}
