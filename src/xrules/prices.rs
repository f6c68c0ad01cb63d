//! What X bills, as it publishes it (pay-per-use, 2026): every resource a
//! read returns (a post, a user, a DM event), every post or DM created,
//! and every X Activity API event delivered. A resource read again within
//! the same UTC day is billed once. Amounts are in micro-dollars (a
//! millionth of a US dollar), so sums stay exact.

use serde_json::Value;

/// One micro-dollar per millionth of a dollar.
pub const MICROS_PER_DOLLAR: u64 = 1_000_000;

/// What X bills for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priced {
    /// A post someone else wrote, returned by a read.
    PostRead,
    /// A user object (in `data` or `includes.users`).
    UserRead,
    /// A DM event.
    DmEventRead,
    /// One of the account's own posts, read back with its own token.
    OwnedRead,
    /// A post created.
    PostCreate,
    /// A post created with a link in it.
    PostCreateWithUrl,
    /// A DM sent.
    DmCreate,
    /// A `post.mention.create` event delivered.
    MentionEvent,
    /// A `dm.received` event delivered.
    DmReceivedEvent,
}

impl Priced {
    pub const ALL: [Self; 9] = [
        Self::PostRead,
        Self::UserRead,
        Self::DmEventRead,
        Self::OwnedRead,
        Self::PostCreate,
        Self::PostCreateWithUrl,
        Self::DmCreate,
        Self::MentionEvent,
        Self::DmReceivedEvent,
    ];

    /// Its name in config (`[x.prices]`) and in figures.
    pub fn key(self) -> &'static str {
        match self {
            Self::PostRead => "post_read",
            Self::UserRead => "user_read",
            Self::DmEventRead => "dm_event_read",
            Self::OwnedRead => "owned_read",
            Self::PostCreate => "post_create",
            Self::PostCreateWithUrl => "post_create_with_url",
            Self::DmCreate => "dm_create",
            Self::MentionEvent => "mention_event",
            Self::DmReceivedEvent => "dm_received_event",
        }
    }

    /// X's published price, in micro-dollars: "Posts: Read $0.005 per
    /// resource", "User: Read $0.010", "DM Event: Read $0.010", owned
    /// reads $0.001, "Content: Create $0.015 per request", "Content:
    /// Create (with URL) $0.200", "DM Interaction: Create $0.015", and
    /// the X Activity API's `post.mention.create` $0.005 and
    /// `dm.received` $0.01 per event (`dm.sent` is not billed).
    pub fn published(self) -> u64 {
        match self {
            Self::PostRead | Self::MentionEvent => 5_000,
            Self::UserRead | Self::DmEventRead | Self::DmReceivedEvent => 10_000,
            Self::OwnedRead => 1_000,
            Self::PostCreate | Self::DmCreate => 15_000,
            Self::PostCreateWithUrl => 200_000,
        }
    }
}

/// A price per thing billed, in micro-dollars: X's published ones unless
/// config says otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prices(std::collections::BTreeMap<Priced, u64>);

impl Default for Prices {
    fn default() -> Self {
        Self(Priced::ALL.iter().map(|p| (*p, p.published())).collect())
    }
}

impl Prices {
    pub fn of(&self, what: Priced) -> u64 {
        self.0
            .get(&what)
            .copied()
            .unwrap_or_else(|| what.published())
    }

    pub fn set(&mut self, what: Priced, micros: u64) {
        self.0.insert(what, micros);
    }
}

/// One billed thing: what it is, and the resource it is (reads are billed
/// once a UTC day per resource; writes and events every time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub what: Priced,
    pub resource: Option<String>,
}

impl Charge {
    fn read(what: Priced, kind: &str, id: &str) -> Self {
        Self {
            what,
            resource: Some(format!("{kind}:{id}")),
        }
    }

    fn once(what: Priced) -> Self {
        Self {
            what,
            resource: None,
        }
    }
}

/// The X Activity API event `event_type` delivered, if X bills it.
pub fn event(event_type: &str) -> Option<Priced> {
    match event_type {
        "post.mention.create" => Some(Priced::MentionEvent),
        "dm.received" => Some(Priced::DmReceivedEvent),
        _ => None,
    }
}

/// Whether a post's text carries a link (X bills such a post more).
pub fn has_url(text: &str) -> bool {
    text.split_whitespace()
        .any(|w| w.starts_with("http://") || w.starts_with("https://"))
}

/// What a successful answer to `method path` bills, for the account
/// whose user id is `me`: `sent` is the request's JSON body, `answer`
/// X's. Endpoints X does not bill (webhooks, subscriptions, tokens,
/// usage) bill nothing.
pub fn charges(method: &str, path: &str, me: &str, sent: &Value, answer: &Value) -> Vec<Charge> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut out = Vec::new();
    let users = |out: &mut Vec<Charge>, list: &Value| {
        for u in list.as_array().into_iter().flatten() {
            if let Some(id) = u["id"].as_str() {
                out.push(Charge::read(Priced::UserRead, "user", id));
            }
        }
    };
    let posts = |out: &mut Vec<Charge>, list: &Value, what: Priced| {
        for p in list.as_array().into_iter().flatten() {
            if let Some(id) = p["id"].as_str() {
                out.push(Charge::read(what, "post", id));
            }
        }
    };
    match (method, segments.as_slice()) {
        // A post delivered on the filtered stream is read (one per line).
        ("GET", ["2", "tweets", "search", "stream"]) => {
            let one = Value::Array(vec![answer["data"].clone()]);
            posts(&mut out, &one, Priced::PostRead);
            users(&mut out, &answer["includes"]["users"]);
        }
        // Filtered-stream rules are not resources.
        (_, ["2", "tweets", "search", "stream", ..]) => {}
        ("POST", ["2", "tweets"]) => {
            let text = sent["text"].as_str().unwrap_or_default();
            out.push(Charge::once(if has_url(text) {
                Priced::PostCreateWithUrl
            } else {
                Priced::PostCreate
            }));
        }
        ("POST", ["2", "dm_conversations", ..]) => out.push(Charge::once(Priced::DmCreate)),
        ("GET", ["2", "users", "me"]) => {
            users(&mut out, &Value::Array(vec![answer["data"].clone()]))
        }
        ("GET", ["2", "users"]) => users(&mut out, &answer["data"]),
        ("GET", ["2", "users", id, "tweets"]) => {
            let what = if *id == me {
                Priced::OwnedRead
            } else {
                Priced::PostRead
            };
            posts(&mut out, &answer["data"], what);
            users(&mut out, &answer["includes"]["users"]);
        }
        ("GET", ["2", "users", _, "mentions"]) | ("GET", ["2", "tweets", ..]) => {
            posts(&mut out, &answer["data"], Priced::PostRead);
            posts(&mut out, &answer["includes"]["tweets"], Priced::PostRead);
            users(&mut out, &answer["includes"]["users"]);
        }
        ("GET", ["2", "dm_events"]) => {
            for e in answer["data"].as_array().into_iter().flatten() {
                if let Some(id) = e["id"].as_str() {
                    out.push(Charge::read(Priced::DmEventRead, "dm", id));
                }
            }
            users(&mut out, &answer["includes"]["users"]);
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_bill_every_resource_returned_and_writes_every_request() {
        let page = json!({
            "data": [{"id": "1"}, {"id": "2"}],
            "includes": {"users": [{"id": "9"}], "tweets": [{"id": "0"}]}
        });
        let got = charges("GET", "/2/users/42/mentions", "42", &Value::Null, &page);
        let what: Vec<Priced> = got.iter().map(|c| c.what).collect();
        assert_eq!(
            what,
            [
                Priced::PostRead,
                Priced::PostRead,
                Priced::PostRead,
                Priced::UserRead
            ]
        );
        assert_eq!(got[0].resource.as_deref(), Some("post:1"));
        // The account's own posts are owned reads; someone else's are not.
        let own = charges("GET", "/2/users/42/tweets", "42", &Value::Null, &page);
        assert_eq!(own[0].what, Priced::OwnedRead);
        let theirs = charges("GET", "/2/users/7/tweets", "42", &Value::Null, &page);
        assert_eq!(theirs[0].what, Priced::PostRead);
        let linked = charges(
            "POST",
            "/2/tweets",
            "42",
            &json!({"text": "see https://example.com/help"}),
            &json!({}),
        );
        assert_eq!(linked, [Charge::once(Priced::PostCreateWithUrl)]);
        let dm = charges(
            "POST",
            "/2/dm_conversations/with/7/messages",
            "42",
            &json!({}),
            &json!({}),
        );
        assert_eq!(dm, [Charge::once(Priced::DmCreate)]);
        assert!(charges("GET", "/2/webhooks", "42", &Value::Null, &page).is_empty());
    }

    #[test]
    fn published_prices_are_x_s() {
        let dollars = |p: Priced| p.published() as f64 / MICROS_PER_DOLLAR as f64;
        assert_eq!(dollars(Priced::PostRead), 0.005);
        assert_eq!(dollars(Priced::PostCreateWithUrl), 0.2);
        assert_eq!(event("dm.sent"), None);
        assert_eq!(event("dm.received"), Some(Priced::DmReceivedEvent));
    }
}
