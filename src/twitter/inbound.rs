//! What ingest hands to the relay: one item per post or DM, whichever
//! source found it, with everything the relay needs to open or find the
//! ticket and to answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::api::{DmEvent, Includes, Post, User};
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
    /// A DM the account sent: typed by someone of the team in X's own app,
    /// or perch's own reply coming back from X. `author` is the customer
    /// it went to.
    SentDm {
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
    /// Written before perch watched its source (read back by the first
    /// poll's backfill): a ticket, but never an automatic reply.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backfilled: bool,
}

impl InboundItem {
    /// The key that makes one item of a post found by several sources.
    pub fn dedupe_key(&self) -> String {
        match &self.kind {
            InboundKind::Post { tweet_id, .. } => format!("{}/post/{tweet_id}", self.account),
            InboundKind::Dm { event_id, .. } | InboundKind::SentDm { event_id, .. } => {
                format!("{}/dm/{event_id}", self.account)
            }
        }
    }

    /// From a post and the page's expansions. `None` for the account's own
    /// posts (never ingested), and for posts whose author is not in
    /// `includes` (ingest looks them up first: a reply never goes to a
    /// number).
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
        let user = includes.and_then(|i| i.users.iter().find(|u| u.id == author_id))?;
        let mentioned = post.entities.as_ref().is_some_and(|e| {
            e.mentions
                .iter()
                .any(|m| m.username.eq_ignore_ascii_case(&account.handle))
        });
        let quoted = post.referenced_tweets.iter().any(|r| {
            r.kind == "quoted"
                && includes
                    .and_then(|i| i.tweets.iter().find(|p| p.id == r.id))
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
            author: customer(user),
            text: post.full_text(),
            created_at: post.created_at.unwrap_or(now),
            backfilled: false,
        })
    }

    /// From a DM event. `None` for what the account itself sent, for
    /// events that are not messages, and for senders not in `includes`.
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
        let user = includes.and_then(|i| i.users.iter().find(|u| u.id == sender))?;
        Some(Self {
            account: account.key.clone(),
            source: Source::Dms,
            kind: InboundKind::Dm {
                event_id: DmEventId::from(event.id.as_str()),
                dm_conversation_id: event.dm_conversation_id.as_deref().map_or_else(
                    || DmConversationId::between(sender, account.user_id.as_str()),
                    DmConversationId::from,
                ),
            },
            author: customer(user),
            text: event.text.clone().unwrap_or_default(),
            created_at: event.created_at.unwrap_or(now),
            backfilled: false,
        })
    }
}

fn customer(user: &User) -> Customer {
    Customer {
        id: XUserId::from(user.id.as_str()),
        handle: user.username.clone(),
        name: user.name.clone(),
    }
}
