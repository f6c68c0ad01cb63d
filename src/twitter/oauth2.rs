//! OAuth 2.0 user tokens with refresh. X's refresh tokens rotate: each
//! refresh returns a new one and the old one stops working, so the new one
//! is stored (and flushed) before the access token is used. A crash after
//! the refresh therefore never strands the account.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::XError;
use crate::config::Secret;
use crate::store::Store;
use crate::ticket::AccountKey;

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
}

struct Access {
    token: Secret,
    expires_at: Instant,
}

pub struct OAuth2Session {
    token_url: String,
    account: AccountKey,
    client_id: Secret,
    client_secret: Option<Secret>,
    /// The refresh token from the environment, used until the store has a
    /// newer one (none when `perch auth x` stored the first).
    seed: Option<Secret>,
    store: Store,
    access: Mutex<Option<Access>>,
    /// The scopes of the last token X gave.
    granted: std::sync::Mutex<Option<Vec<String>>>,
}

impl OAuth2Session {
    pub fn new(
        base: &str,
        account: AccountKey,
        client_id: Secret,
        client_secret: Option<Secret>,
        seed: Option<Secret>,
        store: Store,
    ) -> Self {
        Self {
            token_url: format!("{}/2/oauth2/token", base.trim_end_matches('/')),
            account,
            client_id,
            client_secret,
            seed,
            store,
            access: Mutex::new(None),
            granted: std::sync::Mutex::default(),
        }
    }

    /// The scopes X granted the current token (once one was fetched).
    pub fn scopes(&self) -> Option<Vec<String>> {
        self.granted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// A valid access token, refreshed when it is about to expire.
    pub async fn access_token(&self, http: &reqwest::Client) -> Result<Secret, XError> {
        let mut access = self.access.lock().await;
        if let Some(a) = access.as_ref() {
            if a.expires_at > Instant::now() + Duration::from_secs(60) {
                return Ok(a.token.clone());
            }
        }
        let fresh = self.exchange(http).await?;
        let token = fresh.token.clone();
        *access = Some(fresh);
        Ok(token)
    }

    /// Forces a refresh (after a 401).
    pub async fn refresh(&self, http: &reqwest::Client) -> Result<(), XError> {
        let mut access = self.access.lock().await;
        *access = Some(self.exchange(http).await?);
        Ok(())
    }

    async fn exchange(&self, http: &reqwest::Client) -> Result<Access, XError> {
        let refresh = match (self.store.refresh_token(self.account.as_str())?, &self.seed) {
            (Some(stored), _) => Secret::new(stored),
            (None, Some(seed)) => seed.clone(),
            (None, None) => {
                return Err(XError::Refresh {
                    account: self.account.clone(),
                    detail: format!(
                        "no refresh token yet: run `perch auth x --account {}` (or set the account's refresh_token_env)",
                        self.account
                    ),
                })
            }
        };
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose()),
            ("client_id", self.client_id.expose()),
        ];
        let mut request = http.post(&self.token_url).form(&form);
        if let Some(secret) = &self.client_secret {
            request = request.basic_auth(self.client_id.expose(), Some(secret.expose()));
        }
        let failed = |detail: String| XError::Refresh {
            account: self.account.clone(),
            detail,
        };
        let response = request.send().await.map_err(|e| XError::Unavailable {
            detail: e.to_string(),
        })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| XError::Unavailable {
            detail: e.to_string(),
        })?;
        if status.is_server_error() {
            return Err(XError::Unavailable {
                detail: format!("token endpoint answered {status}"),
            });
        }
        if !status.is_success() {
            return Err(failed(format!(
                "X answered {status}: {}; authorize the account again and put the new refresh token in its refresh_token_env",
                String::from_utf8_lossy(&body).chars().take(200).collect::<String>()
            )));
        }
        let parsed: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| failed(format!("unreadable answer: {e}")))?;
        if let Some(next) = &parsed.refresh_token {
            // Durable before use: the old refresh token is dead now.
            self.store.set_refresh_token(self.account.as_str(), next)?;
        }
        if let Some(scope) = &parsed.scope {
            *self
                .granted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some(scope.split_whitespace().map(str::to_owned).collect());
        }
        tracing::info!(account = %self.account, "OAuth 2.0 access token refreshed");
        Ok(Access {
            token: Secret::new(parsed.access_token),
            expires_at: Instant::now() + Duration::from_secs(parsed.expires_in.unwrap_or(7200)),
        })
    }
}
