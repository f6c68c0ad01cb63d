//! The chat-platform interface that Slack and Discord both implement, so
//! the relay has one core.
//!
//! - Outbound, perch calls `ChatPlatform` methods: open a ticket thread with
//!   its card, post in it, redraw the card, react, answer a command.
//! - Inbound, each adapter turns its platform's payloads into one
//!   `ChatEvent` enum (thread message, command, button press) and sends
//!   them on the channel it is given at `run`.
//! - What only some platforms can do is a `Capabilities` value, not a
//!   trait per feature.
//!
//! Every method says when it is called and what it must not do. Words
//! someone else wrote (a customer on X, a person on the other chat
//! platform) are always passed as `Text::Quoted`, and each adapter makes
//! them inert (no pings, no forged links) before posting.

pub mod card;
pub mod discord;
pub mod markup;
mod pace;
pub mod prompt;
pub mod slack;

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

pub use card::{Card, CardAction};
pub use prompt::{Asking, Prompt, PromptAction};

pub use crate::ticket::Platform;
use crate::ticket::{ChatMessageId, ChatThread, ChatUserId, TicketId};

/// A person on a chat platform, as the event saw them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatUser {
    pub platform: Platform,
    /// Slack `U…` / Discord snowflake.
    pub id: ChatUserId,
    pub name: Option<String>,
    /// Discord role ids (Slack sends none; groups are looked up).
    pub roles: Vec<String>,
}

/// A message perch posted or received, within a thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRef {
    pub thread: ChatThread,
    /// Slack `ts` / Discord message id.
    pub id: ChatMessageId,
}

impl MessageRef {
    /// When the message was written, read from its id (a Slack `ts` is
    /// epoch seconds; a Discord snowflake carries milliseconds since
    /// Discord's epoch).
    pub fn written_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let id = self.id.as_str();
        match &self.thread {
            ChatThread::Slack { .. } => {
                let (secs, micros) = id.split_once('.').unwrap_or((id, "0"));
                let micros: u32 = format!("{micros:0<6}").get(..6)?.parse().ok()?;
                chrono::DateTime::from_timestamp(secs.parse().ok()?, micros * 1000)
            }
            ChatThread::Discord { .. } => discord::snowflake_time(id.parse().ok()?),
        }
    }
}

/// A message as edits and deletes name it: where it was written (a Slack
/// channel, a Discord thread's channel) and its id; Slack's edit events
/// do not say which thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    pub platform: Platform,
    pub channel: String,
    pub id: ChatMessageId,
}

impl Written {
    /// Whether `message` is this one.
    pub fn is(&self, message: &MessageRef) -> bool {
        let channel = match &message.thread {
            ChatThread::Slack { channel, .. } => channel.as_str(),
            ChatThread::Discord { thread, .. } => thread.as_str(),
        };
        message.thread.platform() == self.platform
            && channel == self.channel
            && message.id == self.id
    }
}

/// Words to post. `Quoted` is what someone else wrote (a customer on X,
/// an agent on the other platform) and is made inert; `At` is a moment,
/// which each platform shows in the reader's own time zone; `Ping` calls
/// a person or a group (the only way perch ever pings); `Mixed` is
/// perch's words around those.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    Ours(String),
    Quoted(String),
    At(chrono::DateTime<chrono::Utc>),
    Ping(Mention),
    Mixed(Vec<Text>),
}

/// Someone to call, with their id on each platform (where they have one:
/// elsewhere their name is written, and nobody is pinged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub name: String,
    pub slack: Option<String>,
    pub discord: Option<String>,
    /// A Slack user group and Discord role rather than a person.
    pub group: bool,
}

/// How a platform writes what `Text` leaves to it.
pub struct Style {
    /// Makes quoted words inert.
    pub inert: fn(&str) -> String,
    /// Writes a moment in the platform's own markup.
    pub moment: fn(chrono::DateTime<chrono::Utc>) -> String,
    /// Writes a mention in the platform's own markup.
    pub ping: fn(&Mention) -> String,
}

impl Text {
    /// The text to send, in the platform's `style`.
    pub fn render(&self, style: &Style) -> String {
        match self {
            Self::Ours(s) => s.clone(),
            Self::Quoted(s) => (style.inert)(s),
            Self::At(t) => (style.moment)(*t),
            Self::Ping(m) => (style.ping)(m),
            Self::Mixed(parts) => parts.iter().map(|p| p.render(style)).collect(),
        }
    }

    /// Everyone the text calls.
    pub fn pings(&self) -> Vec<&Mention> {
        match self {
            Self::Ping(m) => vec![m],
            Self::Mixed(parts) => parts.iter().flat_map(Self::pings).collect(),
            _ => Vec::new(),
        }
    }
}

/// Marks on an agent's message while its reply travels to X.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    Pending,
    Sent,
    Failed,
}

/// Where the answer to a command or button press goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "platform", rename_all = "snake_case")]
pub enum Responder {
    Slack {
        channel: String,
        user: String,
        thread_ts: Option<String>,
    },
    Discord {
        interaction_id: String,
        token: String,
    },
    /// A command written to the bot in a thread where the platform gives
    /// no way to answer one person (a Discord message): said in the thread.
    Thread { thread: ChatThread },
}

impl Responder {
    pub fn platform(&self) -> Platform {
        match self {
            Self::Slack { .. } => Platform::Slack,
            Self::Discord { .. } => Platform::Discord,
            Self::Thread { thread } => thread.platform(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Only the person who asked sees it (ephemeral), where possible.
    Caller,
    /// Everyone in the channel or thread.
    Channel,
}

/// Something a person did that perch must act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChatEvent {
    /// A person (never the bot) wrote in a ticket thread. `text` is in
    /// the platform's markup (`ChatPlatform::plain_text` reads it).
    ThreadMessage {
        message: MessageRef,
        author: ChatUser,
        text: String,
        /// The platform's id for this delivery, to drop redeliveries.
        event_id: String,
        /// The names of files attached to the message.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        files: Vec<String>,
    },
    /// A person changed what they wrote (in the platform's markup).
    MessageEdited {
        message: Written,
        text: String,
        event_id: String,
    },
    /// A person deleted what they wrote.
    MessageDeleted { message: Written, event_id: String },
    /// `/perch <text>`, in a ticket thread (`thread`) or elsewhere.
    Command {
        author: ChatUser,
        text: String,
        thread: Option<ChatThread>,
        responder: Responder,
    },
    /// A button under a prompt about reply number `reply`.
    ReplyButton {
        author: ChatUser,
        action: PromptAction,
        reply: u64,
        responder: Responder,
    },
    /// A button on a ticket card.
    Button {
        author: ChatUser,
        action: CardAction,
        thread: ChatThread,
        responder: Responder,
    },
}

/// What a platform can do beyond the common core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Answers only the caller can see.
    pub ephemeral: bool,
    /// Reactions on messages (delivery marks).
    pub reactions: bool,
    /// Tickets as forum posts with status tags.
    pub forum_posts: bool,
    /// The longest message the platform takes.
    pub max_message_chars: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("rate limited; retry after {}s", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    #[error("the platform refused the credentials ({0}); check the bot token")]
    Unauthorized(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("the platform refused the request: {0}")]
    Refused(String),
    #[error("the platform is unreachable: {0}")]
    Unavailable(String),
}

impl ChatError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable(_))
    }
}

/// How long a delivery id is remembered, to drop a platform's
/// redeliveries and replays (also across restarts: it is in the store).
pub fn dedupe_window() -> chrono::Duration {
    chrono::Duration::hours(24)
}

/// What the adapters keep through a restart, and all they know of the
/// store (which implements it): each delivery recorded once, and the
/// ticket threads to read back after a restart.
pub trait Journal: Send + Sync {
    /// Records `event` under the delivery id `key` of `platform` unless
    /// that id was seen within `window`; `true` when it was new. The event
    /// and its id are kept together, so an acknowledged delivery survives
    /// a crash.
    fn record(
        &self,
        platform: Platform,
        key: &str,
        event: &ChatEvent,
        window: chrono::Duration,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, JournalError>;

    /// The threads on `platform` of tickets that are not resolved.
    fn open_threads(&self, platform: Platform) -> Result<Vec<ChatThread>, JournalError>;
}

/// The journal could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JournalError(pub String);

/// Records `event` in the journal unless the delivery `key` was seen in
/// the window, then hands it on. Used by every adapter, so "once" means
/// the same everywhere, and an acknowledged delivery survives a crash: the
/// relay acts on the journal, the channel only wakes it.
pub(crate) async fn deliver_once(
    journal: &dyn Journal,
    platform: Platform,
    key: &str,
    events: &mpsc::Sender<ChatEvent>,
    event: ChatEvent,
) {
    let namespace = platform.name();
    match journal.record(platform, key, &event, dedupe_window(), chrono::Utc::now()) {
        Ok(true) => {
            if events.send(event).await.is_err() {
                tracing::warn!(namespace, "no one is listening for chat events any more");
            }
        }
        Ok(false) => tracing::debug!(namespace, key, "redelivery dropped"),
        Err(e) => {
            tracing::error!(namespace, error = %e, key, "cannot record a chat delivery; dropping it to be safe")
        }
    }
}

#[async_trait]
pub trait ChatPlatform: Send + Sync {
    fn platform(&self) -> Platform;

    fn capabilities(&self) -> Capabilities;

    /// Asks the platform, cheaply, whether it answers and accepts the bot
    /// (for health; posts nothing).
    async fn probe(&self) -> Result<(), ChatError> {
        Ok(())
    }

    /// Opens a ticket's thread in `channel` with `card` as its parent.
    /// Called once per route per ticket, after the ticket is stored; the
    /// returned thread is stored before anything else is posted in it.
    /// Posts nothing but the card.
    async fn open_thread(&self, channel: &str, card: &Card) -> Result<ChatThread, ChatError>;

    /// Posts in a ticket thread as the bot. Never pings anyone.
    async fn post(&self, thread: &ChatThread, text: &Text) -> Result<MessageRef, ChatError>;

    /// Posts in `channel` itself, outside any ticket's thread: what the
    /// whole team should read (a warning about X spending). Never pings.
    async fn announce(&self, channel: &str, text: &Text) -> Result<(), ChatError>;

    /// Redraws the card of `thread` in place. Posts nothing new.
    async fn update_card(&self, thread: &ChatThread, card: &Card) -> Result<(), ChatError>;

    /// What a person wrote on this platform (an event's `text`), as the
    /// customer should read it on X: the markup read as its table says
    /// (`slack::text::to_x`, `discord::text::to_x`), names looked up where
    /// the text has only ids. A name it cannot learn becomes a neutral
    /// word; never fails, never posts.
    async fn plain_text(&self, text: &str) -> String;

    /// Asks an agent about a reply before it goes (`prompt`'s buttons);
    /// the message asked in, when it can be redrawn later (`None` for a
    /// private answer). Posts nothing else.
    async fn ask(&self, at: &Asking<'_>, prompt: &Prompt) -> Result<Option<MessageRef>, ChatError>;

    /// Redraws a message perch posted (a prompt) with `text` and no
    /// buttons. Posts nothing new.
    async fn settle(&self, message: &MessageRef, text: &Text) -> Result<(), ChatError>;

    /// Marks a message. Called only when `capabilities().reactions`.
    async fn react(&self, message: &MessageRef, reaction: Reaction) -> Result<(), ChatError>;

    /// Answers a command or button press, within the platform's deadline
    /// (the adapter has already acknowledged receipt).
    async fn answer(
        &self,
        to: &Responder,
        text: &str,
        visibility: Visibility,
    ) -> Result<(), ChatError>;

    /// Finds the card of `ticket` that perch posted in `channel`, when a
    /// restart left its fate unknown; its thread, or `None` when there is
    /// no such card. Reads recent history only; posts nothing, except to
    /// finish a thread whose card was posted but not yet threaded.
    async fn find_card(
        &self,
        channel: &str,
        ticket: TicketId,
    ) -> Result<Option<ChatThread>, ChatError>;

    /// The members of a user group (Slack); platforms whose roles arrive
    /// with each event have none to look up.
    async fn group_members(&self, _group: &str) -> Result<Vec<String>, ChatError> {
        Ok(Vec::new())
    }

    /// Connects and sends every inbound event on `events` until `stop`.
    /// Acknowledges each delivery to the platform before sending it on,
    /// and drops the bot's own messages and redeliveries.
    async fn run(
        &self,
        events: mpsc::Sender<ChatEvent>,
        stop: watch::Receiver<bool>,
    ) -> Result<(), ChatError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_reads_back_as_it_was_journaled() {
        let thread = ChatThread::Discord {
            parent: "1".into(),
            thread: "2".into(),
        };
        let event = ChatEvent::Command {
            author: ChatUser {
                platform: Platform::Discord,
                id: "3".into(),
                name: None,
                roles: Vec::new(),
            },
            text: "claim".into(),
            thread: Some(thread.clone()),
            responder: Responder::Thread { thread },
        };
        let json = serde_json::to_string(&event).unwrap_or_default();
        let back: Result<ChatEvent, _> = serde_json::from_str(&json);
        assert_eq!(back.ok(), Some(event), "{json}");
    }

    #[test]
    fn a_message_id_says_when_it_was_written() {
        let slack = MessageRef {
            thread: ChatThread::Slack {
                channel: "C1".into(),
                thread_ts: "1.0".into(),
            },
            id: "1795419462.000009".into(),
        };
        let at = slack.written_at().map(|t| t.timestamp_micros());
        assert_eq!(at, Some(1_795_419_462_000_009));
        // Discord's own example: 175928847299117063 is 2016-04-30 11:18:25.796 UTC.
        let discord = MessageRef {
            thread: ChatThread::Discord {
                parent: "1".into(),
                thread: "2".into(),
            },
            id: "175928847299117063".into(),
        };
        let at = discord.written_at().map(|t| t.timestamp_millis());
        assert_eq!(at, Some(1_462_015_105_796));
        let junk = MessageRef {
            id: "x".into(),
            ..discord
        };
        assert_eq!(junk.written_at(), None);
    }
}
