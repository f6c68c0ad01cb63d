//! The fake X's control API over HTTP (`/_sandbox/...`): post and DM as
//! a customer, read what the brand account posted and every request
//! perch made, inject faults and set rate limits.

use super::*;

#[derive(Deserialize)]
struct PostIn {
    from: String,
    text: String,
    in_reply_to: Option<String>,
    quote_of: Option<String>,
}

#[derive(Deserialize)]
struct DmIn {
    from: String,
    /// The account's user id or handle.
    to: String,
    text: String,
}

/// An account's past: what customers wrote before perch was set up.
#[derive(Deserialize)]
struct BacklogIn {
    /// The account's user id or handle.
    to: String,
    #[serde(default)]
    mentions: u32,
    #[serde(default)]
    dms: u32,
    /// Spread evenly over this many days before now.
    days: u32,
}

#[derive(Deserialize)]
struct FaultIn {
    endpoint: String,
    status: u16,
    times: u32,
}

#[derive(Deserialize)]
struct LimitIn {
    endpoint: String,
    limit: u64,
    window_secs: u64,
}

/// The control routes, beside the X API.
pub(super) fn routes() -> Router<Shared> {
    let control = Router::new()
        .route("/_sandbox/timeline", get(control_timeline))
        .route("/_sandbox/events", get(control_events))
        .route("/_sandbox/posts", post(control_post))
        .route("/_sandbox/dms", post(control_dm))
        .route("/_sandbox/backlog", post(control_backlog))
        .route("/_sandbox/posted", get(control_posted))
        .route("/_sandbox/faults", post(control_fault))
        .route("/_sandbox/rate_limits", post(control_limit))
        .route("/_sandbox/requests", get(control_requests));
    super::super::serve::for_the_page(control)
}

async fn control_post(
    AxumState(state): AxumState<Shared>,
    Json(body): Json<PostIn>,
) -> (StatusCode, Json<Value>) {
    let mut s = lock(&state);
    let author = s.user_by_name(&body.from);
    let post = s.create_post(
        &author,
        &body.text,
        body.in_reply_to.as_deref(),
        body.quote_of.as_deref(),
    );
    (StatusCode::CREATED, Json(json!({ "data": post })))
}

async fn control_dm(
    AxumState(state): AxumState<Shared>,
    Json(body): Json<DmIn>,
) -> (StatusCode, Json<Value>) {
    let mut s = lock(&state);
    let to = body.to.trim_start_matches('@');
    let Some(account) = s.hosted(to).map(|a| a.user_id) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": format!("no hosted account `{to}`")})),
        );
    };
    let sender = s.user_by_name(&body.from);
    let event = s.create_dm(&sender, &account, &body.text);
    (StatusCode::CREATED, Json(json!({ "data": event })))
}

async fn control_backlog(
    AxumState(state): AxumState<Shared>,
    Json(body): Json<BacklogIn>,
) -> (StatusCode, Json<Value>) {
    let mut s = lock(&state);
    let to = body.to.trim_start_matches('@');
    let Some(account) = s.hosted(to) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": format!("no hosted account `{to}`")})),
        );
    };
    s.seed_backlog(&account, body.mentions, body.dms, body.days);
    (
        StatusCode::CREATED,
        Json(json!({ "mentions": body.mentions, "dms": body.dms, "days": body.days })),
    )
}

impl State {
    /// The hosted account with this user id or handle.
    fn hosted(&self, who: &str) -> Option<FakeAccount> {
        self.accounts
            .iter()
            .find(|a| a.user_id == who || a.handle.eq_ignore_ascii_case(who))
            .cloned()
    }

    /// What customers wrote to `account` over the `days` before now:
    /// `mentions` posts and `dms` DMs, evenly spread, the newest a minute
    /// ago, with ids of their own time (below everything written since).
    pub(super) fn seed_backlog(
        &mut self,
        account: &FakeAccount,
        mentions: u32,
        dms: u32,
        days: u32,
    ) {
        let span = chrono::Duration::days(i64::from(days.max(1)));
        let now = Utc::now();
        let at = |i: u32, n: u32| {
            let back =
                span * i32::try_from(n - i - 1).unwrap_or(0) / i32::try_from(n.max(1)).unwrap_or(1);
            now - chrono::Duration::minutes(1) - back
        };
        for i in 0..mentions {
            let author = self.user_by_name(&format!("past_customer{}", i % 40));
            let text = format!(
                "@{} order {i} never came & nobody answers <3",
                account.handle
            );
            self.create_post_at(&author, &text, None, None, at(i, mentions));
        }
        for i in 0..dms {
            let sender = self.user_by_name(&format!("past_dm{i}"));
            let text = format!("hello, about order {i}");
            self.create_dm_at(&sender, &account.user_id, &text, at(i, dms));
        }
    }
}

/// `GET /_sandbox/events`: an event at each post or DM.
async fn control_events(AxumState(state): AxumState<Shared>) -> impl axum::response::IntoResponse {
    let changes = lock(&state).changes.clone();
    changes.events()
}

/// `GET /_sandbox/timeline`: every post and DM as people on X see them
/// (authors by handle, text unescaped), oldest first, and the hosted
/// accounts' handles.
async fn control_timeline(AxumState(state): AxumState<Shared>) -> Json<Value> {
    let s = lock(&state);
    let handle = |id: Option<&str>| {
        id.and_then(|id| s.user(id))
            .map_or_else(String::new, |u| u.username.clone())
    };
    let text = |t: &str| html_escape::decode_html_entities(t).into_owned();
    let posts: Vec<Value> = s
        .posts
        .iter()
        .map(|p| {
            let replied_to = p
                .referenced_tweets
                .iter()
                .find(|r| r.kind == "replied_to")
                .map(|r| r.id.clone());
            json!({
                "id": p.id, "author": handle(p.author_id.as_deref()),
                "text": text(p.note_tweet.as_ref().map_or(p.text.as_str(), |n| n.text.as_str())),
                "conversation_id": p.conversation_id, "in_reply_to": replied_to,
                "created_at": p.created_at,
                "brand": p.author_id.as_deref().is_some_and(|a| s.is_account(a)),
            })
        })
        .collect();
    let dms: Vec<Value> = s
        .dms
        .iter()
        .map(|(e, between)| {
            let sender = e.sender_id.as_deref().unwrap_or_default();
            let other = between.iter().find(|u| *u != sender).map(String::as_str);
            json!({
                "id": e.id, "from": handle(Some(sender)), "to": handle(other),
                "text": e.text.as_deref().map(text), "conversation_id": e.dm_conversation_id,
                "created_at": e.created_at, "brand": s.is_account(sender),
            })
        })
        .collect();
    let accounts: Vec<&str> = s.accounts.iter().map(|a| a.handle.as_str()).collect();
    Json(json!({ "accounts": accounts, "posts": posts, "dms": dms }))
}

async fn control_posted(AxumState(state): AxumState<Shared>) -> Json<Value> {
    let s = lock(&state);
    let posts: Vec<&Post> = s
        .posts
        .iter()
        .filter(|p| p.author_id.as_deref().is_some_and(|a| s.is_account(a)))
        .collect();
    let dms: Vec<&DmEvent> = s
        .dms
        .iter()
        .map(|(e, _)| e)
        .filter(|e| e.sender_id.as_deref().is_some_and(|a| s.is_account(a)))
        .collect();
    Json(json!({ "posts": posts, "dms": dms }))
}

async fn control_fault(AxumState(state): AxumState<Shared>, Json(f): Json<FaultIn>) -> StatusCode {
    lock(&state).faults.insert(
        f.endpoint,
        Fault {
            status: f.status,
            times: f.times,
        },
    );
    StatusCode::NO_CONTENT
}

async fn control_limit(AxumState(state): AxumState<Shared>, Json(l): Json<LimitIn>) -> StatusCode {
    let mut s = lock(&state);
    s.limits
        .insert(l.endpoint.clone(), (l.limit, l.window_secs.max(1)));
    s.windows.retain(|(_, e), _| *e != l.endpoint);
    StatusCode::NO_CONTENT
}

async fn control_requests(AxumState(state): AxumState<Shared>) -> Json<Vec<RequestRecord>> {
    Json(lock(&state).requests.clone())
}

/// What tests set up on the fake beyond what a customer can do.
impl FakeX {
    /// The next request to `endpoint` (e.g. `GET /2/users/:id/mentions`)
    /// is answered with `body`, a recorded answer of real X.
    pub fn answer_next_with(&self, endpoint: &str, body: Value) {
        lock(&self.state)
            .recorded
            .entry(endpoint.to_owned())
            .or_default()
            .push_back(body);
    }

    /// From now on `handle` is left out of pages' `includes.users`: perch
    /// must look them up (`GET /2/users`).
    pub fn leave_out_of_expansions(&self, handle: &str) {
        let mut s = lock(&self.state);
        let user = s.user_by_name(handle);
        s.unexpanded.insert(user.id);
    }

    /// Gives the hosted account `user_id` a past: `mentions` posts and
    /// `dms` DMs from customers over the `days` before now.
    pub fn backlog(&self, user_id: &str, mentions: u32, dms: u32, days: u32) {
        let mut s = lock(&self.state);
        if let Some(account) = s.accounts.iter().find(|a| a.user_id == user_id).cloned() {
            s.seed_backlog(&account, mentions, dms, days);
        }
    }
}

/// Faults, limits and what was asked, for the tests.
impl FakeX {
    /// The next `times` requests to `endpoint` (e.g. `GET /2/dm_events`)
    /// fail with `status`; `times = 0` switches the fault off.
    pub fn fail_next(&self, endpoint: &str, status: u16, times: u32) {
        self.state()
            .faults
            .insert(endpoint.to_owned(), Fault { status, times });
    }

    /// Sets an endpoint's limit per window (and starts a fresh window).
    pub fn set_rate_limit(&self, endpoint: &str, limit: u64, window: Duration) {
        let mut s = self.state();
        s.limits
            .insert(endpoint.to_owned(), (limit, window.as_secs().max(1)));
        s.windows.retain(|(_, e), _| e != endpoint);
    }

    /// Holds back answers to `endpoint` (e.g. `POST /2/tweets`) for
    /// `delay` after the post is made, widening the moment in which a
    /// client that stops cannot know whether X has it.
    pub fn set_delay(&self, endpoint: &str, delay: Duration) {
        self.state().delays.insert(endpoint.to_owned(), delay);
    }

    /// How long new OAuth 2.0 access tokens live.
    pub fn set_access_token_ttl(&self, ttl: Duration) {
        self.state().access_ttl = ttl.as_secs();
    }

    /// Ends every OAuth 2.0 access token now.
    pub fn expire_access_tokens(&self) {
        for o in &mut self.state().oauth2 {
            o.access_expires = 0;
        }
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state().requests.clone()
    }

    /// Requests to one endpoint (normalised form).
    pub fn requests_to(&self, endpoint: &str) -> Vec<RequestRecord> {
        self.state()
            .requests
            .iter()
            .filter(|r| r.endpoint == endpoint)
            .cloned()
            .collect()
    }
}
