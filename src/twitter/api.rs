//! The X API v2 JSON shapes perch reads and writes (the subset it uses),
//! named as the wire names them: `includes.tweets`, `referenced_tweets`,
//! `note_tweet` (the OpenAPI file says `posts`, `referenced_posts`,
//! `note_post`; recorded traffic says otherwise, and wins).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A post (`components.schemas.Post`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub id: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub referenced_tweets: Vec<ReferencedPost>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<Entities>,
    /// The whole text of a post over 280 characters (`text` is cut short),
    /// when `tweet.fields` asks for `note_tweet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note_tweet: Option<NoteTweet>,
}

impl Post {
    /// The whole text as X sends it (escaped).
    pub fn whole_text(&self) -> &str {
        self.note_tweet.as_ref().map_or(&self.text, |n| &n.text)
    }

    /// What the author wrote, whole and unescaped.
    pub fn full_text(&self) -> String {
        crate::xrules::text::unescape(self.whole_text())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteTweet {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferencedPost {
    /// `replied_to`, `quoted` or `retweeted`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entities {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<MentionEntity>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MentionEntity {
    pub start: u32,
    pub end: u32,
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// A user (`components.schemas.User`), as expanded in `includes.users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub username: String,
}

/// `GET /2/users?ids=`: the users X found (`data` is absent when none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<User>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Includes {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<User>,
    /// Posts the page's posts refer to (`expansions=referenced_tweets.id`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tweets: Vec<Post>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(default)]
    pub result_count: u32,
}

/// A page of posts (mentions, search, a user's posts). `data` is absent
/// when nothing matched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostPage {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<Post>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub includes: Option<Includes>,
    #[serde(default)]
    pub meta: PageMeta,
}

/// A DM event (`components.schemas.DmEvent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmEvent {
    pub id: String,
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dm_conversation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmPage {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<DmEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub includes: Option<Includes>,
    #[serde(default)]
    pub meta: PageMeta,
}

/// `POST /2/tweets` body (`CreatePostsRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePost {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<ReplySettings>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplySettings {
    pub in_reply_to_tweet_id: String,
}

/// `POST /2/tweets` answer data (`CreatePostsResponseData`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedPost {
    pub id: String,
    pub text: String,
}

/// `POST /2/dm_conversations/with/{id}/messages` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateDm {
    pub text: String,
}

/// Its answer data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedDm {
    pub dm_conversation_id: String,
    pub dm_event_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Data<T> {
    pub data: T,
}

/// An error body. X sends either a problem (`title`, `detail`, `type`,
/// `status`) or a v1.1-style `errors: [{code, message}]`; both are read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorItem>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl ErrorBody {
    /// One line for people: the detail (else the title), then what each
    /// error says: X's invalid-request detail is only "One or more
    /// parameters to your request was invalid."; its errors say which.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .errors
            .iter()
            .filter_map(|e| e.message.clone().or_else(|| e.detail.clone()))
            .collect();
        let messages = parts.join("; ");
        match self.detail.as_ref().or(self.title.as_ref()) {
            Some(d) if messages.is_empty() || messages == *d => d.clone(),
            Some(d) => format!("{d} ({messages})"),
            None => messages,
        }
    }
}
