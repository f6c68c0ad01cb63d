//! `perch auth x`: the OAuth 2.0 Authorization Code flow with PKCE for a
//! brand account, with its callback served on 127.0.0.1. The person opens
//! X's consent page signed in as the brand account, X sends the browser
//! back to perch with a code, perch exchanges it (with the PKCE verifier)
//! for tokens, checks that they act as the configured account with the
//! scopes perch needs, and stores the refresh token where `perch run`
//! looks first. The `oauth2` crate builds the request and the exchange.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use super::api::User;
use crate::config::{secrets, Account, Config, XAuth};
use crate::store::Store;

/// What perch asks X for: read and write posts and DMs, read users, and a
/// refresh token (`offline.access`) so it keeps working unattended.
pub const SCOPES: [&str; 6] = [
    "tweet.read",
    "tweet.write",
    "users.read",
    "dm.read",
    "dm.write",
    "offline.access",
];

/// Which of perch's `SCOPES` are not in `granted`.
pub fn missing_scopes(granted: &[String]) -> Vec<&'static str> {
    SCOPES
        .iter()
        .copied()
        .filter(|s| !granted.iter().any(|g| g == s))
        .collect()
}

/// The callback perch serves unless told another; register exactly this
/// in the X app's "Callback URI / Redirect URL".
pub const DEFAULT_CALLBACK: &str = "http://127.0.0.1:8765/callback";

/// How long perch waits for the person to consent.
pub const PATIENCE: Duration = Duration::from_secs(10 * 60);

/// The account perch signed in as, and what X granted.
#[derive(Debug, Clone)]
pub struct Authorized {
    pub user: User,
    pub scopes: Vec<String>,
}

/// A sign-in under way: the address to open, and the callback waiting.
pub struct Pending {
    url: String,
    client: Client,
    verifier: PkceCodeVerifier,
    csrf: CsrfToken,
    listener: TcpListener,
    callback_path: String,
    api_url: String,
    account: Account,
    store: Store,
    patience: Duration,
}

type Client = BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

/// Checks that `redirect` is a callback perch can serve itself: plain
/// http on a loopback address, with a port (X sends the browser there).
pub fn loopback_callback(redirect: &str) -> anyhow::Result<(url::Url, std::net::SocketAddr)> {
    let url = url::Url::parse(redirect).with_context(|| format!("`{redirect}` is not a URL"))?;
    let host = url.host_str().unwrap_or_default();
    let ip: std::net::IpAddr = match host {
        "localhost" => std::net::Ipv4Addr::LOCALHOST.into(),
        h => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .with_context(|| format!("`{redirect}`: the callback must be on 127.0.0.1"))?,
    };
    if url.scheme() != "http" || !ip.is_loopback() {
        bail!("`{redirect}`: the callback must be http://127.0.0.1:PORT/PATH (perch serves it on this machine)");
    }
    let port = url
        .port()
        .with_context(|| format!("`{redirect}` needs a port"))?;
    Ok((url, std::net::SocketAddr::new(ip, port)))
}

impl Pending {
    /// Prepares the sign-in for `account` with the callback `redirect`,
    /// served on `listener` (bound to the callback's address).
    pub fn begin(
        config: &Config,
        account: &Account,
        store: Store,
        lookup: &dyn Fn(&str) -> Option<String>,
        redirect: &url::Url,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let XAuth::OAuth2 {
            client_id,
            client_secret,
            ..
        } = &account.auth
        else {
            bail!(
                "account `{}` uses OAuth 1.0a (its access token and secret come from the X developer portal); `perch auth x` is for kind = \"oauth2\"",
                account.key
            );
        };
        let read = |env| secrets::read(env, lookup).map_err(|p| anyhow::anyhow!("{p}"));
        let mut client = BasicClient::new(ClientId::new(read(client_id)?.expose().to_owned()))
            .set_auth_uri(AuthUrl::new(config.x.authorize_url.clone())?)
            .set_token_uri(TokenUrl::new(format!(
                "{}/2/oauth2/token",
                config.x.api_url
            ))?)
            .set_redirect_uri(RedirectUrl::new(redirect.to_string())?);
        if let Some(secret) = client_secret {
            client = client.set_client_secret(ClientSecret::new(read(secret)?.expose().to_owned()));
        }
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, csrf) = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(SCOPES.iter().map(|s| Scope::new((*s).to_owned())))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Self {
            url: url.to_string(),
            client,
            verifier,
            csrf,
            listener,
            callback_path: redirect.path().to_owned(),
            api_url: config.x.api_url.clone(),
            account: account.clone(),
            store,
            patience: PATIENCE,
        })
    }

    /// X's consent page for this sign-in.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Waits for X to send the browser back, exchanges the code, checks
    /// the tokens and stores the refresh token.
    pub async fn finish(self) -> anyhow::Result<Authorized> {
        let (tx, mut rx) = mpsc::channel::<Callback>(4);
        let app = Router::new()
            .route(&self.callback_path, get(callback))
            .with_state(tx);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let serving = axum::serve(self.listener, app).with_graceful_shutdown(async {
            let _ = stop_rx.await;
        });
        let server = tokio::spawn(async move { serving.await });
        let outcome = tokio::time::timeout(self.patience, rx.recv()).await;
        let result = match outcome {
            Err(_) => Err(anyhow::anyhow!(
                "nobody came back from X within {} minutes; run `perch auth x` again",
                self.patience.as_secs() / 60
            )),
            Ok(None) => Err(anyhow::anyhow!("the callback server stopped")),
            Ok(Some(Callback { params, answer })) => {
                let result = exchange(
                    &self.client,
                    self.verifier,
                    &self.csrf,
                    &params,
                    &self.api_url,
                    &self.account,
                    &self.store,
                )
                .await;
                let page = match &result {
                    Ok(done) => format!(
                        "perch now acts as @{} on X. You can close this tab.",
                        done.user.username
                    ),
                    Err(e) => format!("perch could not finish: {e:#}"),
                };
                let _ = answer.send(page);
                result
            }
        };
        let _ = stop_tx.send(());
        let _ = server.await;
        result
    }
}

struct Callback {
    params: HashMap<String, String>,
    answer: oneshot::Sender<String>,
}

/// The browser arrives back from X: hand the query to `finish` and show
/// the person what came of it.
async fn callback(
    State(tx): State<mpsc::Sender<Callback>>,
    Query(params): Query<HashMap<String, String>>,
) -> Html<String> {
    let (answer, page) = oneshot::channel();
    if tx.send(Callback { params, answer }).await.is_err() {
        return Html("perch is no longer waiting for this sign-in.".to_owned());
    }
    let text = page.await.unwrap_or_default();
    Html(format!(
        "<!doctype html><title>perch</title><p>{}</p>",
        html_escape::encode_text(&text)
    ))
}

async fn exchange(
    client: &Client,
    verifier: PkceCodeVerifier,
    csrf: &CsrfToken,
    params: &HashMap<String, String>,
    api_url: &str,
    account: &Account,
    store: &Store,
) -> anyhow::Result<Authorized> {
    if params.get("state").map(String::as_str) != Some(csrf.secret().as_str()) {
        bail!("X's answer is not for this sign-in (its state differs); run `perch auth x` again");
    }
    if let Some(error) = params.get("error") {
        let hint = if error == "access_denied" {
            ": the sign-in was cancelled; run again and choose \"Authorize app\""
        } else {
            ""
        };
        bail!("X answered `{error}`{hint}");
    }
    let code = params
        .get("code")
        .context("X sent the browser back without a code")?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => anyhow::anyhow!(
                "X refused the code: {} ({}); check the app's client id and secret, and that its type is \"Web App, Automated App or Bot\"",
                r.error(),
                r.error_description().map_or("", String::as_str)
            ),
            other => anyhow::anyhow!("cannot reach X's token endpoint: {other}"),
        })?;
    let scopes: Vec<String> = tokens
        .scopes()
        .map(|s| s.iter().map(|s| s.to_string()).collect())
        .unwrap_or_else(|| SCOPES.iter().map(|s| (*s).to_owned()).collect());
    let missing = missing_scopes(&scopes);
    if !missing.is_empty() {
        bail!(
            "X granted {} but not {}: in the app's User authentication settings choose \"Read and write and Direct message\", then run again",
            scopes.join(" "),
            missing.join(" ")
        );
    }
    let refresh = tokens
        .refresh_token()
        .context("X gave no refresh token (scope offline.access); run again")?;
    let user = whoami(&http, api_url, tokens.access_token().secret()).await?;
    if user.id != account.user_id.as_str() {
        bail!(
            "you signed in to X as @{} (user id {}), but account `{}` is @{} (user id {}): sign out of X, sign in as @{} and run again",
            user.username,
            user.id,
            account.key,
            account.handle,
            account.user_id,
            account.handle
        );
    }
    store.set_refresh_token(account.key.as_str(), refresh.secret())?;
    Ok(Authorized { user, scopes })
}

/// `GET /2/users/me` with a fresh access token.
async fn whoami(http: &reqwest::Client, api_url: &str, token: &str) -> anyhow::Result<User> {
    #[derive(serde::Deserialize)]
    struct Me {
        data: User,
    }
    let answer = http
        .get(format!("{api_url}/2/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .context("cannot reach X to ask who signed in")?;
    let status = answer.status();
    let body = answer.bytes().await?;
    if !status.is_success() {
        bail!(
            "X answered {status} to GET /2/users/me: {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(200)
                .collect::<String>()
        );
    }
    let me: Me = serde_json::from_slice(&body).context("X's answer to GET /2/users/me")?;
    Ok(me.data)
}
