//! The typed calls for the endpoints perch reads and writes (timelines,
//! search, DMs, users, posting), each one request through `XClient::send`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::api;
use super::client::XClient;
use super::XError;

/// Typed calls for the endpoints perch uses.
impl XClient {
    /// Mentions after `since_id`, or (with no cursor yet) from
    /// `start_time` on.
    pub async fn mentions(
        &self,
        user_id: &str,
        since: Since<'_>,
        page: Option<&str>,
    ) -> Result<api::PostPage, XError> {
        let query = post_query(since, page, "pagination_token");
        self.get(&format!("/2/users/{user_id}/mentions"), &query)
            .await
    }

    pub async fn search_recent(
        &self,
        q: &str,
        since: Since<'_>,
        page: Option<&str>,
    ) -> Result<api::PostPage, XError> {
        let mut query = post_query(since, page, "next_token");
        query.insert("query", q.to_owned());
        self.get("/2/tweets/search/recent", &query).await
    }

    /// The account's own recent posts (to reconcile after a crash).
    pub async fn user_posts(
        &self,
        user_id: &str,
        since_id: Option<&str>,
    ) -> Result<api::PostPage, XError> {
        let since = since_id.map_or(Since::Newest, Since::Id);
        let query = post_query(since, None, "pagination_token");
        self.get(&format!("/2/users/{user_id}/tweets"), &query)
            .await
    }

    /// DM events, newest first, `max_results` (1 to 100) at a time.
    pub async fn dm_events(
        &self,
        page: Option<&str>,
        max_results: u8,
    ) -> Result<api::DmPage, XError> {
        let mut query = BTreeMap::new();
        query.insert("event_types", "MessageCreate".to_owned());
        query.insert(
            "dm_event.fields",
            "id,text,event_type,created_at,sender_id,dm_conversation_id".to_owned(),
        );
        query.insert("expansions", "sender_id".to_owned());
        query.insert("user.fields", "username,name".to_owned());
        query.insert("max_results", max_results.clamp(1, 100).to_string());
        if let Some(p) = page {
            query.insert("pagination_token", p.to_owned());
        }
        self.get("/2/dm_events", &query).await
    }

    /// The users with these ids (up to 100); those X does not return are
    /// gone (deleted or suspended).
    pub async fn users(&self, ids: &[&str]) -> Result<Vec<api::User>, XError> {
        let mut query = BTreeMap::new();
        query.insert("ids", ids.join(","));
        query.insert("user.fields", "username,name".to_owned());
        let page: api::UserPage = self.get("/2/users", &query).await?;
        Ok(page.data)
    }

    pub async fn create_post(&self, body: &api::CreatePost) -> Result<api::CreatedPost, XError> {
        let data: api::Data<api::CreatedPost> = self.post("/2/tweets", body).await?;
        Ok(data.data)
    }

    pub async fn send_dm(
        &self,
        participant_id: &str,
        text: &str,
    ) -> Result<api::CreatedDm, XError> {
        let body = api::CreateDm {
            text: text.to_owned(),
        };
        let data: api::Data<api::CreatedDm> = self
            .post(
                &format!("/2/dm_conversations/with/{participant_id}/messages"),
                &body,
            )
            .await?;
        Ok(data.data)
    }
}

/// Where a read of posts starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since<'a> {
    /// After this post (the source's cursor).
    Id(&'a str),
    /// From this moment (a source without a cursor yet).
    Time(DateTime<Utc>),
    /// The newest X has.
    Newest,
}

fn post_query(
    since: Since<'_>,
    page: Option<&str>,
    page_param: &'static str,
) -> BTreeMap<&'static str, String> {
    let mut query = BTreeMap::new();
    query.insert(
        "tweet.fields",
        "id,text,author_id,conversation_id,created_at,in_reply_to_user_id,referenced_tweets,entities,note_tweet".to_owned(),
    );
    query.insert("expansions", "author_id,referenced_tweets.id".to_owned());
    query.insert("user.fields", "username,name".to_owned());
    query.insert("max_results", "100".to_owned());
    match since {
        Since::Id(id) => {
            query.insert("since_id", id.to_owned());
        }
        Since::Time(at) => {
            query.insert(
                "start_time",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
        }
        Since::Newest => {}
    }
    if let Some(p) = page {
        query.insert(page_param, p.to_owned());
    }
    query
}
