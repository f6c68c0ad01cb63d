//! The fake X's OAuth 2.0 (Authorization Code with PKCE, and refresh):
//! the consent page at `GET /i/oauth2/authorize` (x.com's address; here
//! on the fake's port), which consents at once as the signed-in user and
//! redirects to the app's callback, and the token endpoint
//! `POST /2/oauth2/token`.
//!
//! It holds apps to what X holds them to: the callback must be one the
//! app registered, character for character; a code is good once and for
//! 30 seconds, only with the verifier whose S256 digest was the
//! challenge and the same callback; a refresh token comes only with the
//! `offline.access` scope and rotates on each use. Error bodies are X's
//! (`{"error":"invalid_request","error_description":"Value passed for the
//! code verifier did not match the code challenge."}`, as reported from
//! real X in the twitter-api-typescript-sdk and node-twitter-api-v2
//! issue threads).

use std::collections::BTreeMap;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::api::ok;
use super::{unix_now, FakeX, State};

/// The scopes X's OAuth 2.0 knows (docs.x.com, "OAuth 2.0 Authorization
/// Code Flow with PKCE", scopes table); any other fails the consent page.
const KNOWN_SCOPES: &[&str] = &[
    "tweet.read",
    "tweet.write",
    "tweet.moderate.write",
    "users.email",
    "users.read",
    "follows.read",
    "follows.write",
    "offline.access",
    "space.read",
    "mute.read",
    "mute.write",
    "like.read",
    "like.write",
    "list.read",
    "list.write",
    "block.read",
    "block.write",
    "bookmark.read",
    "bookmark.write",
    "dm.read",
    "dm.write",
    "media.write",
];

/// How long an authorization code is good for (X: 30 seconds).
const CODE_TTL: u64 = 30;

/// An authorization code handed to the callback, not yet exchanged.
pub(super) struct Code {
    code: String,
    client_id: String,
    redirect_uri: String,
    challenge: String,
    scopes: Vec<String>,
    user_id: String,
    expires: u64,
}

/// x.com's answer when the request to authorize is wrong: an error page,
/// no redirect (the app's callback is not trusted yet).
fn error_page(why: &str) -> Response {
    let body = format!(
        "<!doctype html><title>X</title><p>Something went wrong</p>\
         <p>You weren't able to give access to the App. Go back and try logging in again.</p>\
         <!-- fake X: {} -->",
        html_escape::encode_text(why)
    );
    let mut r = (StatusCode::BAD_REQUEST, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn redirect(to: &url::Url) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(to.as_str()) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// `GET /i/oauth2/authorize`: the person is signed in (as the app's
/// account unless a test signed in someone else) and consents, or
/// declines when a test said so.
pub(super) fn authorize(s: &mut State, query: &BTreeMap<String, String>) -> Response {
    let get = |k: &str| query.get(k).map(String::as_str).unwrap_or_default();
    if get("response_type") != "code" {
        return error_page("response_type must be code");
    }
    let Some(app) = s.oauth2.iter().find(|o| o.client_id == get("client_id")) else {
        return error_page("unknown client_id");
    };
    let redirect_uri = get("redirect_uri");
    if !app.callbacks.iter().any(|c| c == redirect_uri) {
        return error_page("redirect_uri is not a callback URI registered for the app");
    }
    let Ok(mut back) = url::Url::parse(redirect_uri) else {
        return error_page("redirect_uri is not a URL");
    };
    if get("code_challenge").is_empty() || get("code_challenge_method") != "S256" {
        return error_page("code_challenge with code_challenge_method S256 is required");
    }
    if get("state").is_empty() {
        return error_page("state is required");
    }
    let scopes: Vec<String> = get("scope").split(' ').map(str::to_owned).collect();
    if scopes.iter().any(|sc| !KNOWN_SCOPES.contains(&sc.as_str())) {
        return error_page("unknown scope");
    }
    let user_id = s.signed_in.clone().unwrap_or_else(|| app.user_id.clone());
    let client_id = app.client_id.clone();
    if s.declines {
        back.query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("state", get("state"));
        return redirect(&back);
    }
    s.token_serial += 1;
    let code = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "code-{}-{}:1:0:ac:1",
        s.token_serial,
        unix_now()
    ));
    s.codes.push(Code {
        code: code.clone(),
        client_id,
        redirect_uri: redirect_uri.to_owned(),
        challenge: get("code_challenge").to_owned(),
        scopes,
        user_id,
        expires: unix_now() + CODE_TTL,
    });
    back.query_pairs_mut()
        .append_pair("state", get("state"))
        .append_pair("code", &code);
    redirect(&back)
}

fn oauth_error(description: &str) -> Response {
    ok(
        StatusCode::BAD_REQUEST,
        json!({"error": "invalid_request", "error_description": description}),
    )
}

/// The client id from the body, or from Basic auth (confidential clients).
fn client_of(form: &BTreeMap<String, String>, headers: &HeaderMap) -> Option<String> {
    if let Some(id) = form.get("client_id") {
        return Some(id.clone());
    }
    let basic = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic)
        .ok()?;
    let pair = String::from_utf8(decoded).ok()?;
    Some(pair.split_once(':')?.0.to_owned())
}

/// `POST /2/oauth2/token`, for both grants.
pub(super) fn token(s: &mut State, body: &[u8], headers: &HeaderMap) -> Response {
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let Some(client_id) = client_of(&form, headers) else {
        return oauth_error("Missing required parameter [client_id].");
    };
    let (user_id, scopes) = match form.get("grant_type").map(String::as_str) {
        Some("refresh_token") => {
            let refresh = form.get("refresh_token").cloned().unwrap_or_default();
            let Some(o) = s.oauth2.iter().find(|o| {
                o.client_id == client_id && !o.refresh.is_empty() && o.refresh == refresh
            }) else {
                return oauth_error("Value passed for the token was invalid.");
            };
            (o.user_id.clone(), o.scopes.clone())
        }
        Some("authorization_code") => {
            let Some(verifier) = form.get("code_verifier") else {
                return oauth_error("Missing required parameter [code_verifier].");
            };
            let given = form.get("code").cloned().unwrap_or_default();
            let now = unix_now();
            let Some(at) = s
                .codes
                .iter()
                .position(|c| c.code == given && c.client_id == client_id && c.expires > now)
            else {
                return oauth_error("Value passed for the authorization code was invalid.");
            };
            // Good once, whatever comes of this exchange.
            let code = s.codes.remove(at);
            if form.get("redirect_uri") != Some(&code.redirect_uri) {
                return oauth_error("Value passed for the redirect uri did not match the uri of the authorization code.");
            }
            let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(verifier.as_bytes()));
            if digest != code.challenge {
                return oauth_error(
                    "Value passed for the code verifier did not match the code challenge.",
                );
            }
            (code.user_id, code.scopes)
        }
        _ => return oauth_error("Missing required parameter [grant_type]."),
    };
    s.token_serial += 1;
    let serial = s.token_serial;
    let ttl = s.access_ttl;
    let Some(o) = s.oauth2.iter_mut().find(|o| o.client_id == client_id) else {
        return oauth_error("Value passed for the token was invalid.");
    };
    let offline = scopes.iter().any(|sc| sc == "offline.access");
    o.refresh = if offline {
        format!("refresh-{serial}")
    } else {
        String::new()
    };
    o.access = format!("access-{serial}");
    o.access_expires = unix_now() + ttl;
    o.user_id = user_id;
    o.scopes = scopes;
    let mut answer = json!({
        "token_type": "bearer",
        "expires_in": ttl,
        "access_token": o.access,
        "scope": o.scopes.join(" "),
    });
    if offline {
        answer["refresh_token"] = json!(o.refresh);
    }
    ok(StatusCode::OK, answer)
}

/// The control API for sign-ins.
impl FakeX {
    /// Registers another callback URI for an OAuth 2.0 app.
    pub fn register_callback(&self, client_id: &str, uri: &str) {
        for o in &mut self.state().oauth2 {
            if o.client_id == client_id {
                o.callbacks.push(uri.to_owned());
            }
        }
    }

    /// Who consents at the authorize page from now on (by handle; a new
    /// user when X has none by that name).
    pub fn sign_in_as(&self, handle: &str) {
        let mut s = self.state();
        let id = s.user_by_name(handle).id;
        s.signed_in = Some(id);
    }

    /// Whether the person at the authorize page presses Cancel.
    pub fn decline_consent(&self, declines: bool) {
        self.state().declines = declines;
    }

    /// The app's permission on an account as X reports it to OAuth 1.0a
    /// requests (`read`, `read-write`, `read-write-directmessages`).
    pub fn set_access_level(&self, user_id: &str, level: &str) {
        self.state()
            .access_levels
            .insert(user_id.to_owned(), level.to_owned());
    }
    /// The refresh token currently valid for an OAuth 2.0 client.
    pub fn current_refresh_token(&self, client_id: &str) -> Option<String> {
        self.state()
            .oauth2
            .iter()
            .find(|o| o.client_id == client_id)
            .map(|o| o.refresh.clone())
    }
}
