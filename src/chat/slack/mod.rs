//! Slack, through slack-morphism.
//!
//! - `SlackWeb`: the Web API side: opening ticket threads with their Block
//!   Kit card, posting in them, redrawing cards, reactions and ephemeral
//!   answers, paced per channel and honouring `Retry-After`.
//! - `SlackAdapter`: `ChatPlatform` over `SlackWeb` and Socket Mode.
//! - `events`: Slack payloads into `ChatEvent`s. `text`: escaping both
//!   ways. `blocks`: the card.

pub mod blocks;
pub mod events;
mod events_api;
mod socket_mode;
pub mod text;

pub use socket_mode::{Connection, SlackAdapter};

use std::sync::Arc;
use std::time::Duration;

use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use super::markup::{Names, Ref};
use super::pace::Pacer;
use super::{Asking, Card, ChatError, MessageRef, Prompt, Reaction, Responder, Text, Visibility};
use crate::config::Secret;
use crate::ticket::{ChatMessageId, ChatThread, TicketId};

/// Slack allows about one message per second per channel.
pub const DEFAULT_POST_INTERVAL: Duration = Duration::from_secs(1);

type Connector = SlackClientHyperHttpsConnector;

/// The Web API side of the Slack adapter.
pub struct SlackWeb {
    pub(crate) client: Arc<SlackClient<Connector>>,
    token: SlackApiToken,
    /// Posts per channel.
    pacer: Pacer<String>,
}

fn connector(api_url: &str) -> Result<Connector, ChatError> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| ChatError::Unavailable(format!("no TLS root certificates: {e}")))?
        .https_or_http()
        .enable_http1()
        .build();
    // slack-morphism joins `{base}/{method}`.
    Ok(SlackClientHyperConnector::with_connector(https)
        .with_slack_api_url(api_url.trim_end_matches('/')))
}

/// Classes a slack-morphism error, once, for every call.
pub(crate) fn classify(e: SlackClientError) -> ChatError {
    match e {
        SlackClientError::RateLimitError(r) => ChatError::RateLimited {
            retry_after: r.retry_after.unwrap_or(Duration::from_secs(1)),
        },
        SlackClientError::ApiError(api) => match api.code.as_str() {
            "not_authed" | "invalid_auth" | "token_revoked" | "account_inactive" => {
                ChatError::Unauthorized(api.code)
            }
            "channel_not_found" | "message_not_found" | "thread_not_found" | "user_not_found" => {
                ChatError::NotFound(api.code)
            }
            "ratelimited" => ChatError::RateLimited {
                retry_after: Duration::from_secs(1),
            },
            "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
                ChatError::Unavailable(api.code)
            }
            _ => ChatError::Refused(api.code),
        },
        other => ChatError::Unavailable(other.to_string()),
    }
}

impl SlackWeb {
    /// `api_url` is `https://slack.com/api` in production.
    pub fn new(
        api_url: &str,
        bot_token: &Secret,
        post_interval: Duration,
    ) -> Result<Self, ChatError> {
        Ok(Self {
            client: Arc::new(SlackClient::new(connector(api_url)?)),
            token: SlackApiToken::new(SlackApiTokenValue(bot_token.expose().to_owned())),
            pacer: Pacer::new("Slack", post_interval),
        })
    }

    /// This client, counting its posts and 429s into `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.pacer.count_into(metrics);
        self
    }

    /// Checks the token; returns the bot's user id.
    pub async fn whoami(&self) -> Result<String, ChatError> {
        let session = self.client.open_session(&self.token);
        let me = session.auth_test().await.map_err(classify)?;
        Ok(me.user_id.to_string())
    }

    /// Whether the bot can read `channel` (it is in it, the id is right,
    /// the app has the history scope): one message of history.
    pub async fn can_read(&self, channel: &str) -> Result<(), ChatError> {
        let session = self.client.open_session(&self.token);
        let request = SlackApiConversationsHistoryRequest::new()
            .with_channel(channel.into())
            .with_limit(1);
        session
            .conversations_history(&request)
            .await
            .map(|_| ())
            .map_err(classify)
    }

    /// Whether `app_token` may open a Socket Mode connection (an `xapp-`
    /// token with `connections:write`).
    pub async fn can_connect(&self, app_token: &Secret) -> Result<(), ChatError> {
        let token = SlackApiToken::new(SlackApiTokenValue(app_token.expose().to_owned()));
        let session = self.client.open_session(&token);
        session
            .apps_connections_open(&SlackApiAppsConnectionOpenRequest::new())
            .await
            .map(|_| ())
            .map_err(classify)
    }

    /// Members of a user group (agents or leads, per `[permissions]`).
    pub async fn group_members(&self, group: &str) -> Result<Vec<String>, ChatError> {
        let session = self.client.open_session(&self.token);
        let request = SlackApiUserGroupsUsersListRequest::new(group.into());
        let list = session
            .usergroups_users_list(&request)
            .await
            .map_err(classify)?;
        Ok(list.users.into_iter().map(|u| u.to_string()).collect())
    }

    /// The thread of `ticket`'s card in `channel`, from recent history.
    pub async fn find_card(
        &self,
        channel: &str,
        ticket: TicketId,
    ) -> Result<Option<ChatThread>, ChatError> {
        let session = self.client.open_session(&self.token);
        let request = SlackApiConversationsHistoryRequest::new()
            .with_channel(channel.into())
            .with_limit(200);
        let history = session
            .conversations_history(&request)
            .await
            .map_err(classify)?;
        // A card's fallback text is its summary, which starts `#42 `.
        let prefix = format!("{ticket} ");
        Ok(history
            .messages
            .iter()
            .find(|m| {
                m.sender.bot_id.is_some()
                    && m.content
                        .text
                        .as_deref()
                        .is_some_and(|t| t.starts_with(&prefix))
            })
            .map(|m| ChatThread::Slack {
                channel: channel.into(),
                thread_ts: m.origin.ts.to_string().as_str().into(),
            }))
    }

    /// A person's display name (falling back to real name, then handle).
    pub async fn user_name(&self, user: &str) -> Result<String, ChatError> {
        let session = self.client.open_session(&self.token);
        let info = session
            .users_info(&SlackApiUsersInfoRequest::new(user.into()))
            .await
            .map_err(classify)?;
        let profile = info.user.profile.as_ref();
        Ok(profile
            .and_then(|p| p.display_name.clone().filter(|n| !n.is_empty()))
            .or_else(|| profile.and_then(|p| p.real_name.clone()))
            .or(info.user.name)
            .unwrap_or_else(|| user.to_owned()))
    }

    /// What an agent wrote, as plain text for X; people named only by id
    /// are looked up (a failed lookup leaves the neutral word).
    pub async fn plain_text(&self, raw: &str) -> String {
        let mut names = Names::new();
        for r in text::refs(raw) {
            if let Ref::User(id) = &r {
                match self.user_name(id).await {
                    Ok(name) => {
                        names.insert(r.clone(), name);
                    }
                    Err(e) => tracing::debug!(user = %id, error = %e, "no name for a mention"),
                }
            }
        }
        text::to_x(raw, &names)
    }

    /// Asks in the thread: privately (ephemeral) or for all to see.
    pub async fn ask(
        &self,
        at: &Asking<'_>,
        prompt: &Prompt,
    ) -> Result<Option<MessageRef>, ChatError> {
        let ChatThread::Slack { channel, thread_ts } = at.thread else {
            return Err(ChatError::Refused("not a Slack thread".to_owned()));
        };
        let words = prompt.text.render(&text::STYLE);
        let content = SlackMessageContent::new()
            .with_text(words.clone())
            .with_blocks(blocks::prompt(prompt, words));
        if at.privately {
            let request = SlackApiChatPostEphemeralRequest::new(
                channel.as_str().into(),
                at.agent.id.as_str().into(),
                content,
            )
            .with_thread_ts(thread_ts.as_str().into());
            let session = self.client.open_session(&self.token);
            session
                .chat_post_ephemeral(&request)
                .await
                .map_err(classify)?;
            return Ok(None);
        }
        let request = SlackApiChatPostMessageRequest::new(channel.as_str().into(), content)
            .with_thread_ts(thread_ts.as_str().into())
            .with_unfurl_links(false)
            .with_unfurl_media(false);
        let posted = self.post_message(request).await?;
        Ok(Some(MessageRef {
            thread: at.thread.clone(),
            id: ChatMessageId::new(posted.ts.to_string()),
        }))
    }

    /// Redraws one of perch's messages with `words` and no buttons.
    pub async fn settle(&self, message: &MessageRef, words: &Text) -> Result<(), ChatError> {
        let ChatThread::Slack { channel, .. } = &message.thread else {
            return Err(ChatError::Refused("not a Slack thread".to_owned()));
        };
        // Without `blocks`, chat.update keeps the old ones (and buttons).
        let content = SlackMessageContent::new()
            .with_text(words.render(&text::STYLE))
            .with_blocks(Vec::new());
        let request = SlackApiChatUpdateRequest::new(
            channel.as_str().into(),
            content,
            message.id.as_str().into(),
        );
        let session = self.client.open_session(&self.token);
        session.chat_update(&request).await.map_err(classify)?;
        Ok(())
    }

    /// Posts, paced per channel, waiting out a 429's `Retry-After`.
    async fn post_message(
        &self,
        request: SlackApiChatPostMessageRequest,
    ) -> Result<SlackApiChatPostMessageResponse, ChatError> {
        let channel = request.channel.to_string();
        let request = &request;
        self.pacer
            .run(&channel, || async move {
                let session = self.client.open_session(&self.token);
                session.chat_post_message(request).await.map_err(classify)
            })
            .await
    }

    /// Opens a ticket thread: the card is the parent message.
    pub async fn open_thread(&self, channel: &str, card: &Card) -> Result<ChatThread, ChatError> {
        let content = SlackMessageContent::new()
            .with_text(text::escape(&card.summary()))
            .with_blocks(blocks::card(card));
        let request = SlackApiChatPostMessageRequest::new(channel.into(), content)
            .with_unfurl_links(false)
            .with_unfurl_media(false);
        let posted = self.post_message(request).await?;
        Ok(ChatThread::Slack {
            channel: posted.channel.to_string().as_str().into(),
            thread_ts: posted.ts.to_string().as_str().into(),
        })
    }

    /// Posts in a ticket thread. Text from X is escaped.
    pub async fn post(&self, thread: &ChatThread, words: &Text) -> Result<MessageRef, ChatError> {
        let ChatThread::Slack { channel, thread_ts } = thread else {
            return Err(ChatError::Refused("not a Slack thread".to_owned()));
        };
        let body = words.render(&text::STYLE);
        let request = SlackApiChatPostMessageRequest::new(
            channel.as_str().into(),
            SlackMessageContent::new().with_text(body),
        )
        .with_thread_ts(thread_ts.as_str().into())
        .with_unfurl_links(false)
        .with_unfurl_media(false);
        let posted = self.post_message(request).await?;
        Ok(MessageRef {
            thread: thread.clone(),
            id: ChatMessageId::new(posted.ts.to_string()),
        })
    }

    /// Posts in the channel itself (not in a thread).
    pub async fn announce(&self, channel: &str, words: &Text) -> Result<(), ChatError> {
        let request = SlackApiChatPostMessageRequest::new(
            channel.into(),
            SlackMessageContent::new().with_text(words.render(&text::STYLE)),
        )
        .with_unfurl_links(false)
        .with_unfurl_media(false);
        self.post_message(request).await.map(|_| ())
    }

    /// Redraws the card (the thread's parent message) in place.
    pub async fn update_card(&self, thread: &ChatThread, card: &Card) -> Result<(), ChatError> {
        let ChatThread::Slack { channel, thread_ts } = thread else {
            return Err(ChatError::Refused("not a Slack thread".to_owned()));
        };
        let content = SlackMessageContent::new()
            .with_text(text::escape(&card.summary()))
            .with_blocks(blocks::card(card));
        let request = SlackApiChatUpdateRequest::new(
            channel.as_str().into(),
            content,
            thread_ts.as_str().into(),
        );
        let session = self.client.open_session(&self.token);
        session.chat_update(&request).await.map_err(classify)?;
        Ok(())
    }

    /// Marks a message with an emoji.
    pub async fn react(&self, message: &MessageRef, reaction: Reaction) -> Result<(), ChatError> {
        let ChatThread::Slack { channel, .. } = &message.thread else {
            return Err(ChatError::Refused("not a Slack thread".to_owned()));
        };
        let name = match reaction {
            Reaction::Pending => "hourglass_flowing_sand",
            Reaction::Sent => "white_check_mark",
            Reaction::Failed => "x",
        };
        let request = SlackApiReactionsAddRequest::new(
            channel.as_str().into(),
            name.into(),
            message.id.as_str().into(),
        );
        let session = self.client.open_session(&self.token);
        match session.reactions_add(&request).await.map_err(classify) {
            Ok(_) | Err(ChatError::Refused(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Answers a command or button: ephemeral to the caller, or in the
    /// thread (or channel) for everyone.
    pub async fn answer(
        &self,
        to: &Responder,
        words: &str,
        visibility: Visibility,
    ) -> Result<(), ChatError> {
        let Responder::Slack {
            channel,
            user,
            thread_ts,
        } = to
        else {
            return Err(ChatError::Refused("not a Slack command".to_owned()));
        };
        let content = SlackMessageContent::new().with_text(words.to_owned());
        match visibility {
            Visibility::Caller => {
                let mut request = SlackApiChatPostEphemeralRequest::new(
                    channel.as_str().into(),
                    user.as_str().into(),
                    content,
                );
                if let Some(ts) = thread_ts {
                    request = request.with_thread_ts(ts.as_str().into());
                }
                let session = self.client.open_session(&self.token);
                session
                    .chat_post_ephemeral(&request)
                    .await
                    .map_err(classify)?;
            }
            Visibility::Channel => {
                let mut request =
                    SlackApiChatPostMessageRequest::new(channel.as_str().into(), content)
                        .with_unfurl_links(false)
                        .with_unfurl_media(false);
                if let Some(ts) = thread_ts {
                    request = request.with_thread_ts(ts.as_str().into());
                }
                self.post_message(request).await?;
            }
        }
        Ok(())
    }
}
