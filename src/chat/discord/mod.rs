//! Discord, through serenity.
//!
//! This is the REST side of the adapter: opening a ticket as a thread from
//! its card message (text channels) or as a forum post whose status shows
//! as a forum tag, posting in it with no mention parsed, redrawing the card
//! and tags, reactions. `DiscordAdapter` (in `gateway`) adds the gateway:
//! `/perch`, buttons and thread messages, and implements `ChatPlatform`.
//!
//! Against the sandbox, serenity's proxy setting points it at the fake and
//! its rate limiter must be off (its own requests ignore the proxy); the
//! adapter then paces itself per channel by Discord's rate-limit headers
//! on what it creates in a channel (messages, forum posts): a channel
//! whose bucket is spent waits until Discord said it resets. In
//! production: no proxy, and serenity's limiter on as well.

pub mod card;
mod gateway;
mod names;
mod platform;
mod prompts;
pub mod text;

pub use gateway::{intents, perch_command, DiscordAdapter};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serenity::all::{
    ChannelId, ChannelType, CreateAllowedMentions, CreateForumPost, CreateMessage, CreateThread,
    EditMessage, EditThread, ForumTagId, GetMessages, GuildChannel, Http, HttpBuilder, Message,
    MessageId, ReactionType,
};
use serenity::http::{LightMethod, Request, Route};
use tokio::sync::Mutex;

use super::pace::Pacer;
use super::{Card, ChatError, MessageRef, Reaction, Text};
use crate::config::Secret;
use crate::ticket::{ChatMessageId, ChatThread, TicketId};

/// Snowflakes count milliseconds from here (2015-01-01 UTC).
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// The snowflake of a moment: messages after it are newer.
pub(crate) fn snowflake_at(at: chrono::DateTime<chrono::Utc>) -> u64 {
    u64::try_from(at.timestamp_millis() - DISCORD_EPOCH_MS).map_or(1, |ms| (ms << 22).max(1))
}

/// The moment a snowflake was made.
pub(crate) fn snowflake_time(id: u64) -> Option<chrono::DateTime<chrono::Utc>> {
    let ms = i64::try_from(id >> 22).ok()?;
    chrono::DateTime::from_timestamp_millis(ms + DISCORD_EPOCH_MS)
}

/// No floor between posts in a channel: Discord allows about 5 messages
/// per 5 s per channel and says in each answer what is left
/// (`create_in` waits when nothing is), so a burst goes at Discord's own
/// pace rather than one a second.
pub const DEFAULT_POST_INTERVAL: Duration = Duration::ZERO;

pub struct DiscordRest {
    pub(crate) http: Arc<Http>,
    token: Secret,
    api_url: Option<String>,
    /// Posts per channel.
    pacer: Pacer<u64>,
    /// Route channels: text or forum, and a forum's tags by name.
    kinds: Mutex<HashMap<u64, GuildChannel>>,
}

/// Classes serenity's errors once, for every call.
///
/// Against Discord, serenity's rate limiter waits out a 429 for the
/// response's `Retry-After` itself and tries again, so no 429 reaches
/// perch. Against the sandbox the limiter must be off (its request path
/// drops the proxy address), and serenity then hands back a 429 without
/// its headers, and without its body when the body has no `code` (which
/// Discord's 429 body often lacks): the second perch waits then is the
/// one value it can know, Discord's own one message a second per channel.
pub(crate) fn classify(e: serenity::Error) -> ChatError {
    use serenity::http::HttpError;
    match e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => match r.status_code.as_u16() {
            429 => ChatError::RateLimited {
                retry_after: Duration::from_secs(1),
            },
            401 | 403 => ChatError::Unauthorized(r.error.message),
            404 => ChatError::NotFound(r.error.message),
            s if s >= 500 => ChatError::Unavailable(r.error.message),
            _ => ChatError::Refused(r.error.message),
        },
        other => ChatError::Unavailable(other.to_string()),
    }
}

/// What the bot must be allowed in each route channel: see it, post and
/// read history, embeds (the card), reactions (delivery marks), threads
/// (one per ticket) and posting in them.
pub fn required_permissions() -> serenity::all::Permissions {
    use serenity::all::Permissions as P;
    P::VIEW_CHANNEL
        | P::SEND_MESSAGES
        | P::EMBED_LINKS
        | P::READ_MESSAGE_HISTORY
        | P::ADD_REACTIONS
        | P::CREATE_PUBLIC_THREADS
        | P::SEND_MESSAGES_IN_THREADS
}

/// The address that adds the bot to a server with the scopes and
/// permissions perch needs.
pub fn invite_url(application_id: u64) -> String {
    format!(
        "https://discord.com/oauth2/authorize?client_id={application_id}&scope=bot+applications.commands&permissions={}",
        required_permissions().bits()
    )
}

/// How long a channel must wait, when Discord's rate-limit headers say its
/// bucket is spent (`X-RateLimit-Remaining: 0`): `X-RateLimit-Reset-After`
/// seconds.
fn spent_for(header: impl Fn(&str) -> Option<String>) -> Option<Duration> {
    let remaining: u64 = header("x-ratelimit-remaining")?.trim().parse().ok()?;
    if remaining > 0 {
        return None;
    }
    let after: f64 = header("x-ratelimit-reset-after")?.trim().parse().ok()?;
    Duration::try_from_secs_f64(after).ok()
}

fn no_pings() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
}

/// Exactly the people and roles `words` calls, and nobody else.
fn only_pings(words: &Text) -> CreateAllowedMentions {
    let ids = |group: bool| -> Vec<u64> {
        words
            .pings()
            .into_iter()
            .filter(|m| m.group == group)
            .filter_map(|m| m.discord.as_deref()?.parse().ok())
            .collect()
    };
    no_pings()
        .users(ids(false).into_iter().map(serenity::all::UserId::new))
        .roles(ids(true).into_iter().map(serenity::all::RoleId::new))
}

fn id(s: &str) -> Result<u64, ChatError> {
    s.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ChatError::Refused(format!("`{s}` is not a Discord id")))
}

impl DiscordRest {
    /// `api_url` is only for the sandbox (the fake's address); `None` is
    /// Discord itself with serenity's rate limiter.
    pub fn new(bot_token: &Secret, api_url: Option<&str>, post_interval: Duration) -> Self {
        let mut builder = HttpBuilder::new(bot_token.expose());
        if let Some(url) = api_url {
            builder = builder.proxy(url).ratelimiter_disabled(true);
        }
        Self {
            http: Arc::new(builder.build()),
            token: bot_token.clone(),
            api_url: api_url.map(str::to_owned),
            pacer: Pacer::new("Discord", post_interval),
            kinds: Mutex::new(HashMap::new()),
        }
    }

    /// This client, counting its posts and 429s into `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.pacer.count_into(metrics);
        self
    }

    /// Another `Http` with the same settings, for the gateway client.
    pub(crate) fn client_http(&self) -> Http {
        let mut builder = HttpBuilder::new(self.token.expose());
        if let Some(url) = &self.api_url {
            builder = builder.proxy(url.as_str()).ratelimiter_disabled(true);
        }
        builder.build()
    }

    /// Sends `message` in `channel`, paced.
    async fn send(&self, channel: u64, message: &CreateMessage) -> Result<Message, ChatError> {
        let route = Route::ChannelMessages {
            channel_id: ChannelId::new(channel),
        };
        self.create_in(channel, route, message).await
    }

    /// Creates something in `channel` through `route` (a message, a forum
    /// post), paced for the channel: when Discord's answer says the
    /// channel's bucket is spent, the channel waits until Discord said it
    /// resets, so the next post does not meet a 429.
    async fn create_in<T: serde::de::DeserializeOwned>(
        &self,
        channel: u64,
        route: Route<'_>,
        body: &impl serde::Serialize,
    ) -> Result<T, ChatError> {
        let body = serde_json::to_vec(body).map_err(|e| ChatError::Refused(e.to_string()))?;
        self.pacer
            .run(&channel, || async {
                let request = Request::new(route, LightMethod::Post).body(Some(body.clone()));
                let answer = self.http.request(request).await.map_err(classify)?;
                let header = |name: &str| {
                    answer
                        .headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                if let Some(wait) = spent_for(header) {
                    self.pacer.hold(&channel, wait).await;
                }
                let bytes = answer
                    .bytes()
                    .await
                    .map_err(|e| ChatError::Unavailable(e.to_string()))?;
                serde_json::from_slice(&bytes).map_err(|e| {
                    ChatError::Unavailable(format!("Discord's answer did not read: {e}"))
                })
            })
            .await
    }

    async fn channel(&self, channel: u64) -> Result<GuildChannel, ChatError> {
        if let Some(c) = self.kinds.lock().await.get(&channel) {
            return Ok(c.clone());
        }
        let fetched = ChannelId::new(channel)
            .to_channel(&*self.http)
            .await
            .map_err(classify)?;
        let guild = fetched.guild().ok_or_else(|| {
            ChatError::Refused(format!("channel {channel} is not a server channel"))
        })?;
        self.kinds.lock().await.insert(channel, guild.clone());
        Ok(guild)
    }

    /// The forum tag for a status (`open`, `claimed`, `resolved`), if the
    /// forum has one by that name.
    fn status_tag(forum: &GuildChannel, status: &str) -> Option<ForumTagId> {
        forum
            .available_tags
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(status))
            .map(|t| t.id)
    }

    /// Opens a ticket in a route channel: a card message and a thread from
    /// it (text channel), or a forum post tagged with the status.
    pub async fn open_thread(&self, channel: &str, card: &Card) -> Result<ChatThread, ChatError> {
        let channel_id = id(channel)?;
        let route = self.channel(channel_id).await?;
        let message = CreateMessage::new()
            .embed(card::embed(card))
            .components(card::buttons(card))
            .allowed_mentions(no_pings());
        let thread = if route.kind == ChannelType::Forum {
            let mut post = CreateForumPost::new(card::thread_name(card), message);
            if let Some(tag) = Self::status_tag(&route, card.status) {
                post = post.add_applied_tag(tag);
            }
            let route = Route::ChannelForumPosts {
                channel_id: ChannelId::new(channel_id),
            };
            self.create_in::<GuildChannel>(channel_id, route, &post)
                .await?
        } else {
            let card_message = self.send(channel_id, &message).await?;
            let name = card::thread_name(card);
            ChannelId::new(channel_id)
                .create_thread_from_message(&*self.http, card_message.id, CreateThread::new(name))
                .await
                .map_err(classify)?
        };
        Ok(ChatThread::Discord {
            parent: channel.into(),
            thread: thread.id.get().to_string().as_str().into(),
        })
    }

    /// The thread of `ticket`'s card in a text channel, from the channel's
    /// recent history; a card whose thread was never started gets it now.
    /// Forum posts are not searched (a forum post is one call, so its fate
    /// is rarely unknown).
    pub async fn find_card(
        &self,
        channel: &str,
        ticket: TicketId,
    ) -> Result<Option<ChatThread>, ChatError> {
        let channel_id = id(channel)?;
        let route = self.channel(channel_id).await?;
        if route.kind == ChannelType::Forum {
            return Ok(None);
        }
        let recent = ChannelId::new(channel_id)
            .messages(&*self.http, GetMessages::new().limit(100))
            .await
            .map_err(classify)?;
        let prefix = format!("{ticket} ·");
        let Some(card) = recent.iter().find(|m| {
            m.author.bot
                && m.embeds
                    .iter()
                    .any(|e| e.title.as_deref().is_some_and(|t| t.starts_with(&prefix)))
        }) else {
            return Ok(None);
        };
        // A thread started from a message has the message's id.
        let thread_id = card.id.get();
        if ChannelId::new(thread_id)
            .to_channel(&*self.http)
            .await
            .is_err()
        {
            let name = format!("{ticket}");
            ChannelId::new(channel_id)
                .create_thread_from_message(&*self.http, card.id, CreateThread::new(name))
                .await
                .map_err(classify)?;
        }
        Ok(Some(ChatThread::Discord {
            parent: channel.into(),
            thread: thread_id.to_string().as_str().into(),
        }))
    }

    /// Posts in a ticket thread; text from X has its markdown escaped, and
    /// nobody is pinged but whom the text calls by `Text::Ping`.
    pub async fn post(&self, thread: &ChatThread, words: &Text) -> Result<MessageRef, ChatError> {
        let ChatThread::Discord { thread: t, .. } = thread else {
            return Err(ChatError::Refused("not a Discord thread".to_owned()));
        };
        let message = CreateMessage::new()
            .content(words.render(&text::STYLE))
            .allowed_mentions(only_pings(words));
        self.send_in(thread, t.as_str(), message).await
    }

    /// Posts in the channel itself (not in a ticket's thread).
    pub async fn announce(&self, channel: &str, words: &Text) -> Result<(), ChatError> {
        let message = CreateMessage::new()
            .content(words.render(&text::STYLE))
            .allowed_mentions(no_pings());
        self.send(id(channel)?, &message).await.map(|_| ())
    }

    /// Sends `message` in the thread channel `thread_channel` of `thread`,
    /// paced per channel.
    async fn send_in(
        &self,
        thread: &ChatThread,
        thread_channel: &str,
        message: CreateMessage,
    ) -> Result<MessageRef, ChatError> {
        let sent = self.send(id(thread_channel)?, &message).await?;
        Ok(MessageRef {
            thread: thread.clone(),
            id: ChatMessageId::new(sent.id.get().to_string()),
        })
    }

    /// Redraws the card, and a forum post's status tag.
    pub async fn update_card(&self, thread: &ChatThread, card: &Card) -> Result<(), ChatError> {
        let ChatThread::Discord { parent, thread: t } = thread else {
            return Err(ChatError::Refused("not a Discord thread".to_owned()));
        };
        let (parent_id, thread_id) = (id(parent.as_str())?, id(t.as_str())?);
        let route = self.channel(parent_id).await?;
        // The card is the thread's starter message: in the forum post itself,
        // or in the text channel with the thread's id.
        let card_channel = if route.kind == ChannelType::Forum {
            thread_id
        } else {
            parent_id
        };
        let edit = EditMessage::new()
            .embed(card::embed(card))
            .components(card::buttons(card))
            .allowed_mentions(no_pings());
        ChannelId::new(card_channel)
            .edit_message(&*self.http, MessageId::new(thread_id), edit)
            .await
            .map_err(classify)?;
        if route.kind == ChannelType::Forum {
            if let Some(tag) = Self::status_tag(&route, card.status) {
                ChannelId::new(thread_id)
                    .edit_thread(&*self.http, EditThread::new().applied_tags([tag]))
                    .await
                    .map_err(classify)?;
            }
        }
        Ok(())
    }

    pub async fn react(&self, message: &MessageRef, reaction: Reaction) -> Result<(), ChatError> {
        let ChatThread::Discord { thread, .. } = &message.thread else {
            return Err(ChatError::Refused("not a Discord thread".to_owned()));
        };
        let emoji = match reaction {
            Reaction::Pending => "⏳",
            Reaction::Sent => "✅",
            Reaction::Failed => "❌",
        };
        ChannelId::new(id(thread.as_str())?)
            .create_reaction(
                &*self.http,
                MessageId::new(id(message.id.as_str())?),
                ReactionType::Unicode(emoji.to_owned()),
            )
            .await
            .map_err(classify)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_bucket_waits_as_long_as_discord_said() {
        let answer = |remaining: &'static str, after: &'static str| {
            move |name: &str| match name {
                "x-ratelimit-remaining" => Some(remaining.to_owned()),
                "x-ratelimit-reset-after" => Some(after.to_owned()),
                _ => None,
            }
        };
        assert_eq!(
            spent_for(answer("0", "1.250")),
            Some(Duration::from_millis(1250))
        );
        assert_eq!(spent_for(answer("3", "1.250")), None, "posts left");
        assert_eq!(spent_for(answer("0", "soon")), None, "unreadable");
        assert_eq!(spent_for(answer("0", "-1")), None, "negative");
        assert_eq!(spent_for(|_: &str| None), None, "no headers");
    }
}
