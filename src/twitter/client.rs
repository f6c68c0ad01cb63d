//! A thin typed X API v2 client on reqwest.
//!
//! Every request goes through `send`, which is the one place that signs,
//! reads the rate-limit headers, refuses to send into a window it knows is
//! spent (and never sleeps for one: `RateLimited` says when it resets, and
//! the caller decides, so one spent endpoint never holds back another),
//! backs off on 5xx (reads only: a post that failed may still exist, so
//! the outbox checks before sending again), refreshes an expired OAuth 2.0
//! token once, and turns error bodies into typed errors.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::api::{self, ErrorBody};
use super::oauth2::OAuth2Session;
use super::windows::{endpoint_key, Windows};
use super::XError;
use crate::backoff::Backoff;
use crate::config::Secret;
use crate::ticket::AccountKey;
use crate::xrules::limits;

/// How the client authenticates as the account.
pub enum Auth {
    OAuth1 {
        consumer_key: Secret,
        consumer_secret: Secret,
        token: Secret,
        token_secret: Secret,
    },
    /// Boxed: it holds a store handle and a lock, much larger than the keys.
    OAuth2(Box<OAuth2Session>),
    /// The app itself (OAuth 2.0 application-only), for what X takes from
    /// the app alone: webhooks, replay, the list of subscriptions.
    App { bearer: Secret },
}

/// How patient the client is.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    /// Attempts for one read when X fails with 5xx or the network drops.
    pub attempts: u32,
    /// The waits between those attempts.
    pub backoff: Backoff,
}

impl Default for Patience {
    fn default() -> Self {
        Self {
            attempts: 4,
            backoff: Backoff {
                first: Duration::from_millis(500),
                max: Duration::from_secs(4),
            },
        }
    }
}

pub use super::windows::RateLimit;

pub struct XClient {
    http: reqwest::Client,
    base: String,
    account: AccountKey,
    auth: Auth,
    patience: Patience,
    windows: Windows,
    /// X's `x-access-level` on the last OAuth 1.0a answer.
    access_level: std::sync::Mutex<Option<String>>,
    metrics: crate::metrics::Metrics,
    /// Prices what X answers (perch run), for the account's user id.
    meter: Option<(std::sync::Arc<super::spend::Meter>, String)>,
}

/// Who the credentials act as, and what they may do.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: api::User,
    /// OAuth 1.0a: the app's permission (`read-write-directmessages`).
    pub access_level: Option<String>,
    /// OAuth 2.0: the scopes the token was granted.
    pub scopes: Option<Vec<String>>,
}

impl XClient {
    pub fn new(
        base: &str,
        account: AccountKey,
        auth: Auth,
        patience: Patience,
    ) -> Result<Self, XError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("perch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| XError::Invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            account,
            auth,
            patience,
            windows: Windows::default(),
            access_level: std::sync::Mutex::default(),
            metrics: crate::metrics::Metrics::default(),
            meter: None,
        })
    }

    /// This client, pricing what X answers with `meter`, for the account
    /// whose user id is `me` (its own posts are owned reads).
    #[must_use]
    pub fn with_meter(mut self, meter: std::sync::Arc<super::spend::Meter>, me: &str) -> Self {
        self.meter = Some((meter, me.to_owned()));
        self
    }

    /// This client, counting its requests into `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn account(&self) -> &AccountKey {
        &self.account
    }

    /// The last rate-limit state seen for `method path` (a path with ids,
    /// or its template: X counts `/2/users/1/mentions` and
    /// `/2/users/:id/mentions` as one endpoint).
    pub fn rate_limit(&self, method: &str, path: &str) -> Option<RateLimit> {
        self.windows.get(&endpoint_key(method, path))
    }

    /// What X last said about `endpoint`'s window (`GET
    /// /2/users/:id/mentions`), while it lasts.
    pub fn window(&self, endpoint: &str) -> Option<limits::Window> {
        self.windows.window(endpoint)
    }

    /// `GET path?query`, read as `T`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &BTreeMap<&str, String>,
    ) -> Result<T, XError> {
        let bytes = self.send(Method::GET, path, query, None::<&()>).await?;
        parse(&bytes)
    }

    /// `POST path` with a JSON body, read as `T`.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, XError> {
        let bytes = self
            .send(Method::POST, path, &BTreeMap::new(), Some(body))
            .await?;
        parse(&bytes)
    }

    pub(super) async fn send<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        query: &BTreeMap<&str, String>,
        body: Option<&B>,
    ) -> Result<Vec<u8>, XError> {
        let endpoint = endpoint_key(method.as_str(), path);
        let mut refreshed = false;
        let mut attempt = 0;
        // A post or DM that failed with 5xx or a dropped connection may
        // still have been made: it is not sent again here, but handed back
        // (retryable) for the outbox to look for before any resend.
        let may_repeat = method == Method::GET;
        loop {
            attempt += 1;
            if let Err(e) = self.windows.check(&endpoint) {
                self.metrics
                    .x_limited(self.account.as_str(), &endpoint, false);
                return Err(e);
            }
            let retry = may_repeat && attempt < self.patience.attempts;
            let answer = self.request(&method, path, query, body).await?;
            self.metrics.x_request(
                self.account.as_str(),
                &endpoint,
                answer.as_ref().ok().map(|r| r.status().as_u16()),
            );
            let response = match answer {
                Ok(r) => r,
                Err(e) if retry => {
                    tracing::warn!(account = %self.account, %endpoint, error = %e, "X unreachable; backing off");
                    tokio::time::sleep(self.patience.backoff.after(attempt)).await;
                    continue;
                }
                Err(e) => {
                    return Err(XError::Unavailable {
                        detail: e.to_string(),
                    })
                }
            };
            let status = response.status();
            self.windows.record(&endpoint, response.headers());
            if let Some(level) = response
                .headers()
                .get("x-access-level")
                .and_then(|v| v.to_str().ok())
            {
                *self
                    .access_level
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(level.to_owned());
            }
            let bytes = response
                .bytes()
                .await
                .map_err(|e| XError::Unavailable {
                    detail: e.to_string(),
                })?
                .to_vec();
            if status.is_success() {
                self.bill(&method, path, body, &bytes);
                return Ok(bytes);
            }
            match status {
                StatusCode::TOO_MANY_REQUESTS => {
                    // The headers just recorded say when it resets; until
                    // then nothing more is sent to this endpoint.
                    self.windows.exhaust(&endpoint);
                    self.metrics
                        .x_limited(self.account.as_str(), &endpoint, true);
                    let reset_in = self.windows.reset_in(&endpoint);
                    tracing::warn!(account = %self.account, %endpoint, reset_s = reset_in.as_secs(), "X rate limit hit");
                    return Err(XError::RateLimited { endpoint, reset_in });
                }
                StatusCode::UNAUTHORIZED if !refreshed => {
                    if let Auth::OAuth2(session) = &self.auth {
                        refreshed = true;
                        session.refresh(&self.http).await?;
                        continue;
                    }
                }
                s if s.is_server_error() && retry => {
                    tracing::warn!(account = %self.account, %endpoint, status = s.as_u16(), "X failed; backing off");
                    tokio::time::sleep(self.patience.backoff.after(attempt)).await;
                    continue;
                }
                _ => {}
            }
            return Err(self.refusal(status, &bytes));
        }
    }

    /// Opens a streaming `GET path` (the filtered stream): one request,
    /// with no time limit on the whole answer (the caller watches for
    /// silence), its rate-limit headers read, a refusal typed.
    pub async fn open_stream(
        &self,
        path: &str,
        query: &BTreeMap<&str, String>,
    ) -> Result<reqwest::Response, XError> {
        let endpoint = endpoint_key("GET", path);
        self.windows.check(&endpoint)?;
        let url = format!("{}{path}", self.base);
        let params: BTreeMap<&str, &str> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let full = oauth1_request::to_query(
            url.clone(),
            &oauth1_request::request::AssertSorted::new(&params),
        );
        let response = self
            .http
            .get(&full)
            .header(
                "authorization",
                self.authorization("GET", &url, &params).await?,
            )
            .timeout(Duration::from_secs(100 * 365 * 24 * 3600))
            .send()
            .await
            .map_err(|e| XError::Unavailable {
                detail: e.to_string(),
            })?;
        let status = response.status();
        self.windows.record(&endpoint, response.headers());
        self.metrics
            .x_request(self.account.as_str(), &endpoint, Some(status.as_u16()));
        if status.is_success() {
            return Ok(response);
        }
        let body = response.bytes().await.unwrap_or_default();
        // An HTTP error, 5xx too: X's stream guidance backs off from those
        // more than from a dropped connection.
        Err(match self.refusal(status, &body) {
            XError::Unavailable { detail } => XError::Refused {
                status: status.as_u16(),
                detail,
            },
            other => other,
        })
    }

    /// Counts what X bills for this answer (a failure to count is logged:
    /// the answer is X's all the same).
    fn bill<B: Serialize>(&self, method: &Method, path: &str, body: Option<&B>, answer: &[u8]) {
        let Some((meter, me)) = &self.meter else {
            return;
        };
        let sent = body
            .and_then(|b| serde_json::to_vec(b).ok())
            .unwrap_or_default();
        let call = (method.as_str(), path);
        if let Err(e) = meter.answered(&self.account, me, call, &sent, answer, chrono::Utc::now()) {
            tracing::warn!(account = %self.account, path, error = %e, "cannot count what X bills for this answer");
        }
    }

    /// One signed request (the outer error: it could not be signed; the
    /// inner: it did not reach X or its answer did not come back).
    async fn request<B: Serialize>(
        &self,
        method: &Method,
        path: &str,
        query: &BTreeMap<&str, String>,
        body: Option<&B>,
    ) -> Result<reqwest::Result<reqwest::Response>, XError> {
        let url = format!("{}{path}", self.base);
        let params: BTreeMap<&str, &str> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let full = oauth1_request::to_query(
            url.clone(),
            &oauth1_request::request::AssertSorted::new(&params),
        );
        let mut request = self.http.request(method.clone(), &full).header(
            "authorization",
            self.authorization(method.as_str(), &url, &params).await?,
        );
        if let Some(body) = body {
            request = request.json(body);
        }
        Ok(request.send().await)
    }

    /// The typed error for an answer X refused, from its problem body.
    fn refusal(&self, status: StatusCode, body: &[u8]) -> XError {
        let error: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
        let detail = match error.summary() {
            s if s.is_empty() => status.to_string(),
            s => s,
        };
        match status {
            StatusCode::UNAUTHORIZED => XError::Unauthorized {
                account: self.account.clone(),
                detail,
            },
            StatusCode::FORBIDDEN if detail.contains("duplicate content") => {
                XError::Duplicate { detail }
            }
            StatusCode::FORBIDDEN if super::error::is_reply_restriction(&detail) => {
                XError::ReplyNotAllowed { detail }
            }
            s if s.is_server_error() => XError::Unavailable { detail },
            s => XError::Refused {
                status: s.as_u16(),
                detail,
            },
        }
    }

    async fn authorization(
        &self,
        method: &str,
        url: &str,
        params: &BTreeMap<&str, &str>,
    ) -> Result<String, XError> {
        match &self.auth {
            Auth::OAuth1 {
                consumer_key,
                consumer_secret,
                token,
                token_secret,
            } => {
                let client = oauth1_request::Credentials::new(
                    consumer_key.expose(),
                    consumer_secret.expose(),
                );
                let token = oauth1_request::Credentials::new(token.expose(), token_secret.expose());
                let mut builder =
                    oauth1_request::Builder::new(client, oauth1_request::HmacSha1::new());
                builder.token(token);
                Ok(builder.authorize(
                    method,
                    url,
                    &oauth1_request::request::AssertSorted::new(params),
                ))
            }
            Auth::OAuth2(session) => Ok(format!(
                "Bearer {}",
                session.access_token(&self.http).await?.expose()
            )),
            Auth::App { bearer } => Ok(format!("Bearer {}", bearer.expose())),
        }
    }

    /// `GET /2/users/me`: who the credentials act as (for `perch check
    /// --online` and `perch auth x`).
    pub async fn me(&self) -> Result<Identity, XError> {
        #[derive(serde::Deserialize)]
        struct Me {
            data: api::User,
        }
        let me: Me = self.get("/2/users/me", &BTreeMap::new()).await?;
        let access_level = match &self.auth {
            Auth::OAuth1 { .. } => self
                .access_level
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
            Auth::OAuth2(_) | Auth::App { .. } => None,
        };
        let scopes = match &self.auth {
            Auth::OAuth2(session) => session.scopes(),
            Auth::OAuth1 { .. } | Auth::App { .. } => None,
        };
        Ok(Identity {
            user: me.data,
            access_level,
            scopes,
        })
    }
}

pub(super) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, XError> {
    serde_json::from_slice(bytes).map_err(|e| XError::BadResponse {
        detail: e.to_string(),
    })
}
