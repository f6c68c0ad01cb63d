//! What ingest hands to the relay: one item per post or DM, whichever
//! source found it, with everything the relay needs to open or find the
//! ticket and to answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::api::{DmEvent, Includes, Post};
use crate::config::Account;
use crate::ticket::{
    AccountKey, Customer, DmConversationId, DmEventId, TweetId, XConversationId, XUserId,
};

/// Which source found the item first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    Mentions,
    Search { rule: String },
    Dms,
    Webhook,
}

impl Source {
    pub fn label(&self) -> String {
        match self {
            Self::Mentions => "mentions".to_owned(),
            Self::Search { rule } => format!("search:{rule}"),
            Self::Dms => "dms".to_owned(),
            Self::Webhook => "webhook".to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InboundKind {
    Post {
        tweet_id: TweetId,
        conversation_id: XConversationId,
        /// The post this one replies to, if any.
        in_reply_to: Option<TweetId>,
        /// X accepts a public reply only when this is true.
        mentioned_or_quoted: bool,
    },
    Dm {
        event_id: DmEventId,
        dm_conversation_id: DmConversationId,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundItem {
    pub account: AccountKey,
    pub source: Source,
    pub kind: InboundKind,
    pub author: Customer,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

impl InboundItem {
    /// The key that makes one item of a post found by several sources.
    pub fn dedupe_key(&self) -> String {
        match &self.kind {
            InboundKind::Post { tweet_id, .. } => format!("{}/post/{tweet_id}", self.account),
            InboundKind::Dm { event_id, .. } => format!("{}/dm/{event_id}", self.account),
        }
    }

    /// From a post and the page's expansions. `None` for the account's own
    /// posts (never ingested) and posts without an author.
    pub fn from_post(
        account: &Account,
        source: Source,
        post: &Post,
        includes: Option<&Includes>,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        let author_id = post.author_id.as_deref()?;
        if author_id == account.user_id.as_str() {
            return None;
        }
        let user = includes.and_then(|i| i.users.iter().find(|u| u.id == author_id));
        let mentioned = post.entities.as_ref().is_some_and(|e| {
            e.mentions
                .iter()
                .any(|m| m.username.eq_ignore_ascii_case(&account.handle))
        });
        let quoted = post.referenced_tweets.iter().any(|r| {
            r.kind == "quoted"
                && includes
                    .and_then(|i| i.posts.iter().find(|p| p.id == r.id))
                    .and_then(|p| p.author_id.as_deref())
                    == Some(account.user_id.as_str())
        });
        let in_reply_to = post
            .referenced_tweets
            .iter()
            .find(|r| r.kind == "replied_to")
            .map(|r| TweetId::from(r.id.as_str()));
        Some(Self {
            account: account.key.clone(),
            kind: InboundKind::Post {
                tweet_id: TweetId::from(post.id.as_str()),
                conversation_id: XConversationId::from(
                    post.conversation_id.as_deref().unwrap_or(&post.id),
                ),
                in_reply_to,
                mentioned_or_quoted: matches!(source, Source::Mentions) || mentioned || quoted,
            },
            source,
            author: customer(
                author_id,
                user.map(|u| (u.username.as_str(), u.name.as_str())),
            ),
            text: post.text.clone(),
            created_at: post.created_at.unwrap_or(now),
        })
    }

    /// From a DM event. `None` for what the account itself sent and for
    /// events that are not messages.
    pub fn from_dm(
        account: &Account,
        event: &DmEvent,
        includes: Option<&Includes>,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        if event.event_type != "MessageCreate" {
            return None;
        }
        let sender = event.sender_id.as_deref()?;
        if sender == account.user_id.as_str() {
            return None;
        }
        let user = includes.and_then(|i| i.users.iter().find(|u| u.id == sender));
        Some(Self {
            account: account.key.clone(),
            source: Source::Dms,
            kind: InboundKind::Dm {
                event_id: DmEventId::from(event.id.as_str()),
                dm_conversation_id: DmConversationId::new(
                    event
                        .dm_conversation_id
                        .clone()
                        .unwrap_or_else(|| format!("{sender}-{}", account.user_id)),
                ),
            },
            author: customer(sender, user.map(|u| (u.username.as_str(), u.name.as_str()))),
            text: event.text.clone().unwrap_or_default(),
            created_at: event.created_at.unwrap_or(now),
        })
    }
}

fn customer(id: &str, user: Option<(&str, &str)>) -> Customer {
    let (handle, name) = user.unwrap_or((id, id));
    Customer {
        id: XUserId::from(id),
        handle: handle.to_owned(),
        name: name.to_owned(),
    }
}
