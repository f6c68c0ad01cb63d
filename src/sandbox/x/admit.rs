//! What the fake X checks before it does anything: the credentials, of
//! the kind each endpoint takes (a user's, or the app's own bearer
//! token), a fault switched on, and the rate limit with X's headers.

use std::collections::BTreeMap;

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::api::problem;
use super::auth::{self, AuthFailure};
use super::{unix_now, State, Window};

/// One API request as it came.
pub(super) struct Call<'a> {
    pub endpoint: &'a str,
    pub method: &'a Method,
    pub path: &'a str,
    pub query: &'a BTreeMap<String, String>,
    pub headers: &'a HeaderMap,
}

/// Who the app's own bearer token (OAuth 2.0 application-only) acts as.
pub(super) const APP: &str = "app";

/// Endpoints X serves to the app alone, and to a user alone.
const APP_ONLY: [&str; 12] = [
    "GET /2/webhooks",
    "POST /2/webhooks",
    "PUT /2/webhooks/:id",
    "DELETE /2/webhooks/:id",
    "POST /2/webhooks/replay",
    "GET /2/activity/subscriptions",
    "DELETE /2/activity/subscriptions/:id",
    "GET /2/usage/tweets",
    "GET /2/tweets/search/stream",
    "GET /2/activity/stream",
    "GET /2/tweets/search/stream/rules",
    "POST /2/tweets/search/stream/rules",
];
const USER_ONLY: [&str; 4] = [
    "GET /2/users/me",
    "GET /2/dm_events",
    "POST /2/tweets",
    "POST /2/dm_conversations/with/:id/messages",
];

/// X's 403 for credentials of the wrong kind.
fn unsupported_authentication(app_called: bool) -> Response {
    let detail = if app_called {
        "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context]."
    } else {
        "Authenticating with OAuth 1.0a User Context is forbidden for this endpoint.  Supported authentication types are [OAuth 2.0 Application-Only]."
    };
    let body = json!({
        "title": "Unsupported Authentication",
        "detail": detail,
        "type": "https://api.twitter.com/2/problems/unsupported-authentication",
        "status": 403,
    });
    let mut r = (StatusCode::FORBIDDEN, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

/// What X checks before it does anything: the credentials (of the kind
/// the endpoint takes), a fault switched on, the rate limit. Gives who
/// the request acts for and the window to report, or X's refusal (boxed:
/// a response is large beside what it admits).
pub(super) fn admit(s: &mut State, call: &Call<'_>) -> Result<(String, Window), Box<Response>> {
    let host = call
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let base_url = format!("http://{host}{}", call.path);
    let user_id = match authenticate(s, call.headers, call.method.as_str(), &base_url, call.query) {
        Ok(u) => u,
        Err(AuthFailure(why)) => {
            tracing::debug!(why, "fake X refused credentials");
            return Err(Box::new(problem(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Unauthorized",
            )));
        }
    };
    let app = user_id == APP;
    if (app && USER_ONLY.contains(&call.endpoint)) || (!app && APP_ONLY.contains(&call.endpoint)) {
        return Err(Box::new(unsupported_authentication(app)));
    }
    if let Some(fault) = s.faults.get_mut(call.endpoint).filter(|f| f.times > 0) {
        fault.times -= 1;
        let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let title = status.canonical_reason().unwrap_or("Error");
        return Err(Box::new(problem(status, title, title)));
    }
    match take_budget(s, &user_id, call.endpoint) {
        Ok(w) => Ok((user_id, w)),
        Err(w) => {
            let mut r = problem(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                "Too Many Requests",
            );
            set_limit_headers(&mut r, w);
            Err(Box::new(r))
        }
    }
}

pub(super) fn set_limit_headers(r: &mut Response, w: Window) {
    let h = r.headers_mut();
    for (name, value) in [
        ("x-rate-limit-limit", w.limit),
        ("x-rate-limit-remaining", w.remaining),
        ("x-rate-limit-reset", w.reset),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            h.insert(name, v);
        }
    }
}

/// Spends one request of the window; `Err` with the spent window when
/// there is none left.
fn take_budget(s: &mut State, user: &str, endpoint: &str) -> Result<Window, Window> {
    let (limit, secs) = s.limits.get(endpoint).copied().unwrap_or((300, 900));
    let now = unix_now();
    let w = s
        .windows
        .entry((user.to_owned(), endpoint.to_owned()))
        .or_insert(Window {
            limit,
            remaining: limit,
            reset: now + secs,
        });
    if now >= w.reset {
        *w = Window {
            limit,
            remaining: limit,
            reset: now + secs,
        };
    }
    if w.remaining == 0 {
        return Err(*w);
    }
    w.remaining -= 1;
    Ok(*w)
}

fn authenticate(
    s: &mut State,
    headers: &HeaderMap,
    method: &str,
    base_url: &str,
    query: &BTreeMap<String, String>,
) -> Result<String, AuthFailure> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .ok_or_else(|| AuthFailure("no Authorization header".to_owned()))?;
    if let Some(token) = value.strip_prefix("Bearer ") {
        if !s.app_bearer.is_empty() && token == s.app_bearer {
            return Ok(APP.to_owned());
        }
        let now = unix_now();
        return s
            .oauth2
            .iter()
            .find(|o| !o.access.is_empty() && o.access == token && o.access_expires > now)
            .map(|o| o.user_id.clone())
            .ok_or_else(|| AuthFailure("unknown or expired bearer token".to_owned()));
    }
    let keys: Vec<auth::OAuth1Keys> = s.accounts.iter().filter_map(|a| a.oauth1.clone()).collect();
    let mut nonces = std::mem::take(&mut s.nonces);
    let result = auth::verify_oauth1(
        value,
        method,
        base_url,
        query,
        &keys,
        unix_now(),
        &mut nonces,
    );
    s.nonces = nonces;
    let token = result?;
    s.accounts
        .iter()
        .find(|a| a.oauth1.as_ref().is_some_and(|k| k.token == token))
        .map(|a| a.user_id.clone())
        .ok_or_else(|| AuthFailure("token of no account".to_owned()))
}
