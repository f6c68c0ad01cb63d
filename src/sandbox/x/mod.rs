//! A fake X API v2 on 127.0.0.1 for tests and the demo.
//!
//! It enforces what X enforces: OAuth 1.0a signatures over the URL actually
//! called, expiring OAuth 2.0 bearer tokens and rotating refresh tokens,
//! per-endpoint rate limits with the real `x-rate-limit-*` headers and
//! 429s, the real error bodies (401, 403 duplicate content, 403 reply not
//! allowed, 5xx), `data` absent when nothing matched, and paging.
//!
//! A control API (Rust methods here, and HTTP under `/_sandbox/`) acts as
//! the customers: post, mention, DM; and reads what the accounts posted,
//! switches faults on and off, and lists the requests received.

mod activity;
mod admit;
mod api;
pub mod auth;
pub mod billing;
pub use stream::Rule as StreamRule;
mod control;
mod oauth2;
mod pages;
pub mod query;
mod stream;
mod webhooks;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::State as AxumState;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::serve::{bind, serve, Served, ANY_PORT};

use crate::ticket::DmConversationId;
use crate::twitter::api::{
    DmEvent, Entities, MentionEntity, NoteTweet, Post, ReferencedPost, User,
};
use crate::xrules::{self, limits};

/// X's snowflake epoch (2010-11-04), in Unix milliseconds.
const TWITTER_EPOCH_MS: i64 = 1_288_834_974_657;

/// Where X cuts the `text` of a long post (the rest is in `note_tweet`).
const CUT_AT: usize = 270;

pub use activity::{Sent, Subscription, APP_BEARER};
pub use auth::OAuth1Keys;
pub use webhooks::Webhook;

/// An X account the fake hosts (a brand account perch acts as).
#[derive(Debug, Clone)]
pub struct FakeAccount {
    pub user_id: String,
    pub handle: String,
    pub name: String,
    pub oauth1: Option<OAuth1Keys>,
    /// (client id, first refresh token) for OAuth 2.0.
    pub oauth2: Option<(String, String)>,
}

/// A request the fake received.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub method: String,
    /// Normalised, e.g. `GET /2/users/:id/mentions`.
    pub endpoint: String,
    pub path_and_query: String,
    pub body: String,
    pub status: u16,
    /// What the fake answered.
    pub response: String,
    /// When it was answered, in microseconds since the epoch.
    pub at_us: i64,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    limit: u64,
    remaining: u64,
    reset: u64,
}

#[derive(Debug, Clone)]
struct Fault {
    status: u16,
    times: u32,
}

struct OAuth2State {
    client_id: String,
    /// Empty when the last grant had no `offline.access`.
    refresh: String,
    access: String,
    access_expires: u64,
    user_id: String,
    /// What the tokens were granted.
    scopes: Vec<String>,
    /// The app's registered callback URIs.
    callbacks: Vec<String>,
}

/// The callback URI the fake's OAuth 2.0 apps have registered unless a
/// test registers another (`perch auth x`'s default).
pub use crate::twitter::authorize::DEFAULT_CALLBACK;

/// What X grants when the person consents to everything perch asks.
const GRANTED: &str = "tweet.read tweet.write users.read dm.read dm.write offline.access";

#[derive(Default)]
pub(crate) struct State {
    accounts: Vec<FakeAccount>,
    users: Vec<User>,
    posts: Vec<Post>,
    dms: Vec<(DmEvent, Vec<String>)>,
    next_id: u64,
    past_serial: u64,
    next_user_id: u64,
    /// Users X leaves out of a page's `includes.users` (as it does at times).
    unexpanded: HashSet<String>,
    /// Recorded answers of real X to serve next, per endpoint, after the
    /// credentials and the rate limit are checked.
    recorded: HashMap<String, std::collections::VecDeque<Value>>,
    /// Links wrapped so far (each gets its own t.co address).
    links: u64,
    nonces: HashSet<String>,
    windows: HashMap<(String, String), Window>,
    limits: HashMap<String, (u64, u64)>,
    faults: HashMap<String, Fault>,
    /// How long the answer to an endpoint is held back after the work is
    /// done (X is not instant: a client may stop while waiting).
    delays: HashMap<String, std::time::Duration>,
    oauth2: Vec<OAuth2State>,
    codes: Vec<oauth2::Code>,
    /// Who is signed in to x.com at the consent page (a user id); the
    /// app's own account when `None`.
    signed_in: Option<String>,
    /// The person at the consent page presses Cancel.
    declines: bool,
    /// The app's permission per account, as X reports it to OAuth 1.0a
    /// requests in `x-access-level` (`read-write-directmessages` unless set).
    access_levels: HashMap<String, String>,
    token_serial: u64,
    access_ttl: u64,
    requests: Vec<RequestRecord>,
    /// The app's own bearer token (OAuth 2.0 application-only).
    app_bearer: String,
    activity: activity::Activity,
    /// What X would bill for what the fake served and delivered.
    bill: billing::Bill,
    stream: stream::Stream,
    /// Raised at each post and DM, for the demo page.
    changes: super::serve::Changes,
}

pub(crate) fn unix_now() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or(0)
}

impl State {
    fn new(accounts: Vec<FakeAccount>) -> Self {
        let mut state = Self {
            // New users' ids differ from one start of the fake to the next,
            // as X's are unique for good: a store kept across starts (the
            // bench's) must not meet a new customer under an old one's id.
            next_user_id: 1_000_000_000 + (unix_now() % 3_000_000) * 1000,
            access_ttl: 7200,
            app_bearer: activity::APP_BEARER.to_owned(),
            ..Self::default()
        };
        // X's published limits, per user and window.
        for (endpoint, limit) in limits::PUBLISHED {
            state
                .limits
                .insert(endpoint.to_owned(), (limit, limits::WINDOW.as_secs()));
        }
        for a in &accounts {
            state.users.push(User {
                id: a.user_id.clone(),
                name: a.name.clone(),
                username: a.handle.clone(),
            });
            if let Some((client_id, refresh)) = &a.oauth2 {
                state.oauth2.push(OAuth2State {
                    client_id: client_id.clone(),
                    refresh: refresh.clone(),
                    access: String::new(),
                    access_expires: 0,
                    user_id: a.user_id.clone(),
                    scopes: GRANTED.split(' ').map(str::to_owned).collect(),
                    callbacks: vec![DEFAULT_CALLBACK.to_owned()],
                });
            }
        }
        state.accounts = accounts;
        state
    }

    /// A post or DM id: a snowflake of the moment `at`, as X's are, so
    /// that later means larger (an account's past, too).
    fn id_at(&mut self, at: chrono::DateTime<Utc>) -> String {
        let ms = u64::try_from(at.timestamp_millis() - TWITTER_EPOCH_MS).unwrap_or(0);
        let id = (ms << 22).max(self.next_id + 1);
        // Ids stay unique and rising within the fake; a past moment gets
        // its own range, below everything made since.
        if at >= Utc::now() - chrono::Duration::seconds(1) {
            self.next_id = id;
            return id.to_string();
        }
        self.past_serial += 1;
        ((ms << 22) + self.past_serial).to_string()
    }

    /// A new user's id: shorter than the brand accounts' (most real ids
    /// are older than 2016's 19-digit ones).
    fn user_id(&mut self) -> String {
        self.next_user_id += 1;
        self.next_user_id.to_string()
    }

    fn user_by_name(&mut self, username: &str) -> User {
        let username = username.trim_start_matches('@');
        if let Some(u) = self
            .users
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(username))
        {
            return u.clone();
        }
        let user = User {
            id: self.user_id(),
            name: username.to_owned(),
            username: username.to_owned(),
        };
        self.users.push(user.clone());
        user
    }

    fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    fn find_post(&self, id: &str) -> Option<&Post> {
        self.posts.iter().find(|p| p.id == id)
    }

    /// Creates a post by `author` the way X does: mention entities from the
    /// text, the conversation of the post replied to.
    fn create_post(
        &mut self,
        author: &User,
        text: &str,
        in_reply_to: Option<&str>,
        quote_of: Option<&str>,
    ) -> Post {
        let post = self.create_post_at(author, text, in_reply_to, quote_of, Utc::now());
        self.emit_post(&post);
        self.stream_post(&post);
        post
    }

    fn create_post_at(
        &mut self,
        author: &User,
        text: &str,
        in_reply_to: Option<&str>,
        quote_of: Option<&str>,
        at: chrono::DateTime<Utc>,
    ) -> Post {
        let id = self.id_at(at);
        let mut mentions = Vec::new();
        for (start, word) in text
            .char_indices()
            .filter(|(_, c)| *c == '@')
            .map(|(i, _)| (i, &text[i + 1..]))
        {
            let name: String = word
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                let user_id = self
                    .users
                    .iter()
                    .find(|u| u.username.eq_ignore_ascii_case(&name))
                    .map(|u| u.id.clone());
                mentions.push(MentionEntity {
                    start: start as u32,
                    end: (start + 1 + name.len()) as u32,
                    username: name,
                    id: user_id,
                });
            }
        }
        let parent = in_reply_to.and_then(|p| self.find_post(p)).cloned();
        let mut referenced = Vec::new();
        if let Some(p) = &parent {
            referenced.push(ReferencedPost {
                kind: "replied_to".to_owned(),
                id: p.id.clone(),
            });
        }
        if let Some(q) = quote_of {
            referenced.push(ReferencedPost {
                kind: "quoted".to_owned(),
                id: q.to_owned(),
            });
        }
        let (stored, note_tweet) = self.stored_text(text);
        let post = Post {
            id: id.clone(),
            text: stored,
            note_tweet,
            author_id: Some(author.id.clone()),
            conversation_id: Some(
                parent
                    .as_ref()
                    .and_then(|p| p.conversation_id.clone())
                    .unwrap_or(id),
            ),
            created_at: Some(at),
            in_reply_to_user_id: parent.and_then(|p| p.author_id),
            referenced_tweets: referenced,
            entities: (!mentions.is_empty()).then_some(Entities { mentions }),
        };
        self.posts.push(post.clone());
        self.changes.bump();
        post
    }

    /// A post's text as X stores and answers it: HTML-escaped, each link
    /// replaced by a t.co address; over 280 characters, `text` is cut and
    /// the whole is in `note_tweet`.
    fn stored_text(&mut self, text: &str) -> (String, Option<NoteTweet>) {
        let wrapped = xrules::text::replace_links(text, |_| {
            self.links += 1;
            format!("https://t.co/{:0>10}", self.links)
        });
        let escaped = html_escape::encode_text(&wrapped).into_owned();
        if xrules::text::fits_post(&wrapped).is_ok() {
            return (escaped, None);
        }
        let cut: String =
            html_escape::encode_text(&wrapped.chars().take(CUT_AT).collect::<String>())
                .into_owned();
        (format!("{cut}…"), Some(NoteTweet { text: escaped }))
    }

    fn create_dm(&mut self, sender: &User, recipient: &str, text: &str) -> DmEvent {
        let event = self.create_dm_at(sender, recipient, text, Utc::now());
        self.emit_dm(&event, recipient);
        event
    }

    fn create_dm_at(
        &mut self,
        sender: &User,
        recipient: &str,
        text: &str,
        at: chrono::DateTime<Utc>,
    ) -> DmEvent {
        let event = DmEvent {
            id: self.id_at(at),
            event_type: "MessageCreate".to_owned(),
            text: Some(text.to_owned()),
            sender_id: Some(sender.id.clone()),
            dm_conversation_id: Some(
                DmConversationId::between(&sender.id, recipient)
                    .as_str()
                    .to_owned(),
            ),
            created_at: Some(at),
        };
        self.dms
            .push((event.clone(), vec![sender.id.clone(), recipient.to_owned()]));
        self.changes.bump();
        event
    }

    fn is_account(&self, user_id: &str) -> bool {
        self.accounts.iter().any(|a| a.user_id == user_id)
    }
}

/// A running fake X.
pub struct FakeX {
    addr: SocketAddr,
    state: Shared,
    _served: Served,
}

impl FakeX {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start(accounts: Vec<FakeAccount>) -> std::io::Result<Self> {
        Self::start_on(ANY_PORT, accounts).await
    }

    pub async fn start_on(addr: SocketAddr, accounts: Vec<FakeAccount>) -> std::io::Result<Self> {
        let (listener, addr) = bind(addr).await?;
        let state = Arc::new(Mutex::new(State::new(accounts)));
        let app = control::routes()
            .fallback(api::handle)
            .with_state(Arc::clone(&state));
        let wake = Arc::clone(&lock(&state).activity.wake);
        let deliveries = webhooks::deliver(Arc::clone(&state), wake);
        let served = serve("X", listener, app, deliveries);
        Ok(Self {
            addr,
            state,
            _served: served,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// A customer posts (a mention when the text names the account).
    pub fn post(
        &self,
        from: &str,
        text: &str,
        in_reply_to: Option<&str>,
        quote_of: Option<&str>,
    ) -> Post {
        let mut s = self.state();
        let author = s.user_by_name(from);
        s.create_post(&author, text, in_reply_to, quote_of)
    }

    /// A customer sends a DM to `to_user_id`.
    pub fn dm(&self, from: &str, to_user_id: &str, text: &str) -> DmEvent {
        let mut s = self.state();
        let sender = s.user_by_name(from);
        s.create_dm(&sender, to_user_id, text)
    }

    /// What the hosted accounts posted publicly.
    pub fn posted(&self) -> Vec<Post> {
        let s = self.state();
        s.posts
            .iter()
            .filter(|p| p.author_id.as_deref().is_some_and(|a| s.is_account(a)))
            .cloned()
            .collect()
    }

    /// What X would have billed so far, at its published prices.
    pub fn bill(&self) -> billing::Billed {
        self.state().bill.billed()
    }

    /// DMs the hosted accounts sent.
    pub fn sent_dms(&self) -> Vec<DmEvent> {
        let s = self.state();
        s.dms
            .iter()
            .map(|(e, _)| e)
            .filter(|e| e.sender_id.as_deref().is_some_and(|a| s.is_account(a)))
            .cloned()
            .collect()
    }
}

pub(crate) use super::serve::lock;

type Shared = super::serve::Shared<State>;
