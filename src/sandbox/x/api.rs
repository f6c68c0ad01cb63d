//! The X API endpoints of the fake: one handler that authenticates,
//! applies faults and rate limits, records the request, and dispatches.

use std::collections::BTreeMap;
use std::sync::MutexGuard;

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{json, Value};

use super::admit::{admit, set_limit_headers, Call};
use super::pages::{dm_page, post_page, users};
use super::query::Query;
use super::{lock, Shared, State};
use crate::twitter::api::{CreateDm, CreatePost, Post, User};
use crate::xrules::text;

/// `GET /2/users/123/mentions` -> `GET /2/users/:id/mentions`.
pub fn endpoint_of(method: &Method, path: &str) -> Option<String> {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let shape = match parts.as_slice() {
        ["", "2", "users", _, "mentions"] => "/2/users/:id/mentions",
        ["", "2", "users", _, "tweets"] => "/2/users/:id/tweets",
        ["", "2", "tweets", "search", "recent"] => "/2/tweets/search/recent",
        ["", "2", "tweets"] => "/2/tweets",
        ["", "2", "dm_events"] => "/2/dm_events",
        ["", "2", "dm_conversations", "with", _, "messages"] => {
            "/2/dm_conversations/with/:id/messages"
        }
        ["", "2", "oauth2", "token"] => "/2/oauth2/token",
        ["", "i", "oauth2", "authorize"] => "/i/oauth2/authorize",
        ["", "2", "users", "me"] => "/2/users/me",
        ["", "2", "users"] => "/2/users",
        ["", "2", "webhooks"] => "/2/webhooks",
        ["", "2", "webhooks", "replay"] => "/2/webhooks/replay",
        ["", "2", "webhooks", _] => "/2/webhooks/:id",
        ["", "2", "activity", "subscriptions"] => "/2/activity/subscriptions",
        ["", "2", "activity", "subscriptions", _] => "/2/activity/subscriptions/:id",
        ["", "2", "usage", "tweets"] => "/2/usage/tweets",
        ["", "2", "tweets", "search", "stream"] => "/2/tweets/search/stream",
        ["", "2", "activity", "stream"] => "/2/activity/stream",
        ["", "2", "tweets", "search", "stream", "rules"] => "/2/tweets/search/stream/rules",
        _ => return None,
    };
    Some(format!("{method} {shape}"))
}

/// An X problem body, as X sends for 401/403/429/5xx.
pub(super) fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = json!({ "title": title, "detail": detail, "type": "about:blank", "status": status.as_u16() });
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

/// X's 400 for bad parameters.
pub(super) fn invalid(detail: &str, parameter: &str) -> Response {
    let body = json!({
        "errors": [{ "parameters": { parameter: [] }, "message": detail }],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.x.com/2/problems/invalid-request",
    });
    let mut r = (StatusCode::BAD_REQUEST, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

pub(super) fn ok(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

pub async fn handle(
    AxumState(state): AxumState<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let raw_query = uri.query().unwrap_or_default().to_owned();
    let query: BTreeMap<String, String> = url::form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .collect();
    let endpoint = endpoint_of(&method, &path);
    // The user an API call was admitted for (what it returns is billed).
    let mut billed_as = None;
    let call = |e| Call {
        endpoint: e,
        method: &method,
        path: &path,
        query: &query,
        headers: &headers,
    };
    let response = {
        let mut s = lock(&state);
        match &endpoint {
            None => problem(
                StatusCode::NOT_FOUND,
                "Not Found Error",
                &format!("no route {method} {path}"),
            ),
            Some(e) if e == "POST /2/oauth2/token" => super::oauth2::token(&mut s, &body, &headers),
            Some(e) if e == "GET /i/oauth2/authorize" => super::oauth2::authorize(&mut s, &query),
            Some(e) if e == "GET /2/tweets/search/stream" || e == "GET /2/activity/stream" => {
                drop(s);
                let which = if e.contains("activity") {
                    super::stream::Which::Activity
                } else {
                    super::stream::Which::Filtered
                };
                // A stream is not kept whole for tests: only its opening.
                let r = super::stream::connect(&state, &call(e), which).await;
                lock(&state).requests.push(super::RequestRecord {
                    method: method.to_string(),
                    endpoint: e.clone(),
                    path_and_query: uri.to_string(),
                    body: String::new(),
                    status: r.status().as_u16(),
                    response: String::new(),
                    at_us: Utc::now().timestamp_micros(),
                });
                return r;
            }
            Some(e) if super::webhooks::checks_url(e) => {
                drop(s);
                super::webhooks::register(&state, &call(e), &body).await
            }
            Some(e) => {
                let (r, user) = api_call(&mut s, e, &method, &path, &query, &headers, &body);
                billed_as = Some(user);
                r
            }
        }
    };
    // Keep a copy of the answer for tests (all bodies here are small JSON).
    let (parts, answer) = response.into_parts();
    let answer = axum::body::to_bytes(answer, 1 << 24)
        .await
        .unwrap_or_default();
    let endpoint = endpoint.unwrap_or_else(|| format!("{method} {path}"));
    let delay = {
        let mut s = lock(&state);
        if let (true, Some(user)) = (parts.status.is_success(), &billed_as) {
            s.bill.answered(&endpoint, user, &path, &body, &answer);
        }
        let delay = s.delays.get(&endpoint).copied();
        s.requests.push(super::RequestRecord {
            method: method.to_string(),
            endpoint,
            path_and_query: uri.to_string(),
            body: String::from_utf8_lossy(&body).into_owned(),
            status: parts.status.as_u16(),
            response: String::from_utf8_lossy(&answer).into_owned(),
            at_us: Utc::now().timestamp_micros(),
        });
        delay
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    Response::from_parts(parts, axum::body::Body::from(answer))
}

fn api_call(
    s: &mut MutexGuard<'_, State>,
    endpoint: &str,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> (Response, String) {
    let call = Call {
        endpoint,
        method,
        path,
        query,
        headers,
    };
    let (user_id, window) = match admit(s, &call) {
        Ok(admitted) => admitted,
        Err(refused) => return (*refused, String::new()),
    };
    let mut r = match s
        .recorded
        .get_mut(endpoint)
        .and_then(|answers| answers.pop_front())
    {
        // A recorded answer of real X, served as it was (tests).
        Some(recorded) => ok(StatusCode::OK, recorded),
        None => dispatch(s, endpoint, path, query, body, &user_id),
    };
    set_limit_headers(&mut r, window);
    // X tells OAuth 1.0a callers what the app may do for this account.
    let oauth1 = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.starts_with("OAuth "));
    if oauth1 {
        let level = s
            .access_levels
            .get(&user_id)
            .map_or("read-write-directmessages", String::as_str);
        if let Ok(v) = HeaderValue::from_str(level) {
            r.headers_mut().insert("x-access-level", v);
        }
    }
    (r, user_id)
}

fn dispatch(
    s: &mut State,
    endpoint: &str,
    path: &str,
    query: &BTreeMap<String, String>,
    body: &[u8],
    me: &str,
) -> Response {
    let segment = |i: usize| path.split('/').nth(i).unwrap_or_default().to_owned();
    match endpoint {
        "GET /2/users/me" => match s.user(me) {
            Some(u) => ok(StatusCode::OK, json!({ "data": u })),
            None => problem(StatusCode::FORBIDDEN, "Forbidden", "Forbidden"),
        },
        "GET /2/users/:id/mentions" => mentions(s, &segment(3), query),
        "GET /2/users/:id/tweets" => {
            let id = segment(3);
            let posts: Vec<Post> = s
                .posts
                .iter()
                .filter(|p| p.author_id.as_deref() == Some(id.as_str()))
                .cloned()
                .collect();
            post_page(s, posts, query, "pagination_token")
        }
        "GET /2/tweets/search/recent" => search_recent(s, query),
        "GET /2/users" => users(s, query),
        "GET /2/dm_events" => dm_page(s, query, me),
        "POST /2/tweets" => create_post(s, body, me),
        "POST /2/dm_conversations/with/:id/messages" => send_dm(s, &segment(4), body, me),
        "GET /2/webhooks" => super::webhooks::list_webhooks(s),
        "DELETE /2/webhooks/:id" => super::webhooks::delete_webhook(s, &segment(3)),
        "POST /2/webhooks/replay" => super::webhooks::replay(s, body),
        "GET /2/activity/subscriptions" => super::activity::list_subscriptions(s),
        "POST /2/activity/subscriptions" => super::activity::subscribe(s, body, me),
        "DELETE /2/activity/subscriptions/:id" => super::activity::unsubscribe(s, &segment(4)),
        "GET /2/usage/tweets" => super::billing::usage(s, query),
        "GET /2/tweets/search/stream/rules" => super::stream::rules(s),
        "POST /2/tweets/search/stream/rules" => super::stream::change_rules(s, body),
        _ => problem(StatusCode::NOT_FOUND, "Not Found Error", endpoint),
    }
}

/// `GET /2/users/:id/mentions`: posts by others that mention the user.
fn mentions(s: &State, id: &str, query: &BTreeMap<String, String>) -> Response {
    let Some(handle) = s.user(id).map(|u| u.username.clone()) else {
        return problem(
            StatusCode::NOT_FOUND,
            "Not Found Error",
            "Could not find user",
        );
    };
    let posts: Vec<Post> = s
        .posts
        .iter()
        .filter(|p| p.author_id.as_deref() != Some(id))
        .filter(|p| {
            p.entities.as_ref().is_some_and(|e| {
                e.mentions
                    .iter()
                    .any(|m| m.username.eq_ignore_ascii_case(&handle))
            })
        })
        .cloned()
        .collect();
    post_page(s, posts, query, "pagination_token")
}

/// `GET /2/tweets/search/recent`: the query checked and matched as X's.
fn search_recent(s: &State, query: &BTreeMap<String, String>) -> Response {
    let Some(q) = query.get("query") else {
        return invalid("The `query` query parameter can not be empty", "query");
    };
    if q.chars().count() > 512 {
        return invalid(
            "The `query` query parameter value is too long (max 512)",
            "query",
        );
    }
    let parsed = match Query::parse(q) {
        Ok(p) => p,
        Err(e) => {
            return invalid(
                &format!("There were errors processing your request: {e}"),
                "query",
            )
        }
    };
    // Recent search reaches back 7 days, and refuses to be asked for more.
    let reach = Utc::now() - chrono::Duration::days(7);
    if let Some(start) = query.get("start_time") {
        if chrono::DateTime::parse_from_rfc3339(start).is_ok_and(|at| at < reach) {
            return invalid(
                &format!(
                    "Invalid 'start_time':'{start}'. 'start_time' must be on or after {}",
                    reach.format("%Y-%m-%dT%H:%MZ")
                ),
                "start_time",
            );
        }
    }
    let posts: Vec<Post> = s
        .posts
        .iter()
        .filter(|p| p.created_at.is_some_and(|at| at >= reach))
        .filter(|p| {
            let author = p
                .author_id
                .as_deref()
                .and_then(|a| s.user(a))
                .map(|u| u.username.as_str())
                .unwrap_or_default();
            parsed.matches(&p.full_text(), author)
        })
        .cloned()
        .collect();
    post_page(s, posts, query, "next_token")
}

/// `POST /2/dm_conversations/with/:id/messages`.
fn send_dm(s: &mut State, to: &str, body: &[u8], me: &str) -> Response {
    let Ok(dm) = serde_json::from_slice::<CreateDm>(body) else {
        return invalid("Body must be JSON with a non-empty `text`", "text");
    };
    if dm.text.is_empty() {
        return invalid("`text` must not be empty", "text");
    }
    if s.user(to).is_none() {
        return invalid("participant_id is not a known user", "participant_id");
    }
    let Some(sender) = s.user(me).cloned() else {
        return problem(StatusCode::FORBIDDEN, "Forbidden", "Forbidden");
    };
    let event = s.create_dm(&sender, to, &dm.text);
    ok(
        StatusCode::CREATED,
        json!({"data": {"dm_conversation_id": event.dm_conversation_id, "dm_event_id": event.id}}),
    )
}

fn create_post(s: &mut State, body: &[u8], me: &str) -> Response {
    let Ok(req) = serde_json::from_slice::<CreatePost>(body) else {
        return invalid("Body must be JSON with `text`", "text");
    };
    if req.text.trim().is_empty() {
        return invalid("`text` must not be empty", "text");
    }
    if text::fits_post(&req.text).is_err() {
        return problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "Your Tweet text is too long.",
        );
    }
    if s.posts
        .iter()
        .any(|p| p.author_id.as_deref() == Some(me) && text::is_post_of(&req.text, p.whole_text()))
    {
        return problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "You are not allowed to create a Tweet with duplicate content.",
        );
    }
    let Some(account) = s.user(me).cloned() else {
        return problem(StatusCode::FORBIDDEN, "Forbidden", "Forbidden");
    };
    if let Some(reply) = &req.reply {
        let Some(target) = s.find_post(&reply.in_reply_to_tweet_id).cloned() else {
            return invalid(
                "Invalid 'in_reply_to_tweet_id' parameter: the post does not exist",
                "reply.in_reply_to_tweet_id",
            );
        };
        if !engaged(s, &target, &account) {
            return problem(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you are replying to.",
            );
        }
    }
    let in_reply_to = req.reply.as_ref().map(|r| r.in_reply_to_tweet_id.as_str());
    let post = s.create_post(&account, &req.text, in_reply_to, None);
    ok(
        StatusCode::CREATED,
        json!({"data": {"id": post.id, "text": post.text, "edit_history_tweet_ids": [post.id]}}),
    )
}

/// X's 2026 rule: a reply is accepted when the post's author mentioned or
/// quoted the replying account (or it is the account's own post).
fn engaged(s: &State, target: &Post, account: &User) -> bool {
    if target.author_id.as_deref() == Some(account.id.as_str()) {
        return true;
    }
    let mentioned = target.entities.as_ref().is_some_and(|e| {
        e.mentions
            .iter()
            .any(|m| m.username.eq_ignore_ascii_case(&account.username))
    });
    let quoted = target.referenced_tweets.iter().any(|r| {
        r.kind == "quoted"
            && s.find_post(&r.id).and_then(|p| p.author_id.as_deref()) == Some(account.id.as_str())
    });
    mentioned || quoted
}
