//! `perch auth x`: OAuth 2.0 with PKCE against the fake X's consent page
//! and token endpoint, the callback served by perch on 127.0.0.1.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use perch::config::{self, Config};
use perch::sandbox::x::FakeX;
use perch::store::Store;
use perch::twitter::authorize::{loopback_callback, Pending};
use perch::twitter::oauth2::OAuth2Session;
use perch::twitter::{Auth, XClient};

use crate::common::x::{fake, patience, ACME_ID};
use crate::common::{free_addr, perch};

/// An OAuth 2.0 account with no refresh token in the environment: the
/// first comes from `perch auth x`.
fn config_text(x: &FakeX, data: &std::path::Path) -> String {
    format!(
        r#"
[service]
data_dir = "{}"
health_addr = "127.0.0.1:0"
[x]
api_url = "{url}"
authorize_url = "{url}/i/oauth2/authorize"
[[accounts]]
key = "acme"
handle = "AcmeSupport"
user_id = "{ACME_ID}"
[accounts.auth]
kind = "oauth2"
client_id_env = "ACME_CLIENT_ID"
[accounts.ingest.mentions]
interval = "1m"
[accounts.routes]
slack_channels = ["C0SUPPORT1"]
[slack]
bot_token_env = "SLACK_BOT"
app_token_env = "SLACK_APP"
api_url = "http://127.0.0.1:9/api"
[[agents]]
key = "jo"
name = "Jo Doe"
initials = "JD"
slack_user = "U0JODOE01"
"#,
        data.display(),
        url = x.base_url()
    )
}

fn parsed(text: &str) -> Config {
    match config::from_str(text) {
        Ok(l) => l.config,
        Err(p) => panic!("{p:?}"),
    }
}

fn lookup(name: &str) -> Option<String> {
    (name == "ACME_CLIENT_ID").then(|| "client-acme".to_owned())
}

/// A callback on a port that was free, registered in the fake X's app.
fn callback(x: &FakeX) -> String {
    let uri = format!("http://{}/callback", free_addr());
    x.register_callback("client-acme", &uri);
    uri
}

/// What a browser does with X's consent page: follow X's redirect to the
/// callback and read the page there. (status of X's page, final page)
async fn browse(url: &str) -> (u16, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let at_x = http.get(url).send().await.unwrap();
    let status = at_x.status().as_u16();
    let Some(back) = at_x.headers().get("location").cloned() else {
        return (status, at_x.text().await.unwrap());
    };
    let page = http
        .get(back.to_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (status, page)
}

async fn begin(x: &FakeX, store: &Store, redirect: &str) -> Pending {
    let dir = tempfile::tempdir().unwrap();
    let config = parsed(&config_text(x, dir.path()));
    let (url, addr) = loopback_callback(redirect).unwrap();
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    Pending::begin(
        &config,
        &config.accounts[0],
        store.clone(),
        &lookup,
        &url,
        listener,
    )
    .unwrap()
}

#[tokio::test]
async fn the_binary_signs_the_account_in_and_perch_then_acts_with_the_stored_token() {
    let x = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perch.toml");
    let data = dir.path().join("store");
    std::fs::write(&path, config_text(&x, &data)).unwrap();
    let redirect = callback(&x);
    let mut child = perch()
        .args(["auth", "x", "--account", "acme", "--redirect", &redirect])
        .arg("--config")
        .arg(&path)
        .env("ACME_CLIENT_ID", "client-acme")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let Some(line) = lines.next() else {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            panic!("perch ended before printing the consent page: {err}");
        };
        let line = line.unwrap();
        if let Some(u) = line.trim().strip_prefix("http") {
            break format!("http{u}");
        }
    };
    // The request X sees: PKCE S256, the scopes perch needs, a state.
    let asked = url::Url::parse(&url).unwrap();
    let query: std::collections::HashMap<_, _> = asked.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(
        query["scope"],
        "tweet.read tweet.write users.read dm.read dm.write offline.access"
    );
    assert_eq!(query["redirect_uri"], redirect);
    assert!(query["state"].len() >= 16);

    let (status, page) = browse(&url).await;
    assert_eq!(status, 302);
    assert!(page.contains("perch now acts as @AcmeSupport"), "{page}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{rest:?} {output:?}");
    assert!(rest
        .join("\n")
        .contains("Signed in: perch acts as @AcmeSupport"));

    // The exchange sent the verifier whose digest was the challenge, and
    // the refresh token X gave is the one in the store.
    let exchange = x
        .requests_to("POST /2/oauth2/token")
        .pop()
        .expect("a code exchange");
    assert!(exchange.body.contains("grant_type=authorization_code"));
    assert!(exchange.body.contains("code_verifier="));
    let store = Store::open(&data).unwrap();
    let stored = store.refresh_token("acme").unwrap();
    assert_eq!(stored, x.current_refresh_token("client-acme"));

    // perch run's client uses it with no refresh_token_env (and rotates it).
    let session = OAuth2Session::new(
        &x.base_url(),
        "acme".into(),
        perch::config::Secret::new("client-acme"),
        None,
        None,
        store.clone(),
    );
    let client = XClient::new(
        &x.base_url(),
        "acme".into(),
        Auth::OAuth2(Box::new(session)),
        patience(),
    )
    .unwrap();
    let me = client.me().await.unwrap();
    assert_eq!(me.user.id, ACME_ID);
    assert!(me.scopes.unwrap().contains(&"dm.write".to_owned()));
    assert_ne!(store.refresh_token("acme").unwrap(), stored);
}

#[tokio::test]
async fn signing_in_as_someone_else_is_refused_and_nothing_is_stored() {
    let x = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    x.sign_in_as("jo_personal");
    let pending = begin(&x, &store, &callback(&x)).await;
    let url = pending.url().to_owned();
    let (done, (_, page)) = tokio::join!(pending.finish(), browse(&url));
    let err = format!("{:#}", done.unwrap_err());
    assert!(err.contains("signed in to X as @jo_personal"), "{err}");
    assert!(err.contains("sign in as @AcmeSupport"), "{err}");
    assert!(page.contains("could not finish"), "{page}");
    assert_eq!(store.refresh_token("acme").unwrap(), None);
}

#[tokio::test]
async fn a_cancelled_consent_says_what_to_do() {
    let x = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    x.decline_consent(true);
    let pending = begin(&x, &store, &callback(&x)).await;
    let url = pending.url().to_owned();
    let (done, _) = tokio::join!(pending.finish(), browse(&url));
    let err = format!("{:#}", done.unwrap_err());
    assert!(
        err.contains("access_denied") && err.contains("Authorize app"),
        "{err}"
    );
    assert_eq!(store.refresh_token("acme").unwrap(), None);
}

#[tokio::test]
async fn x_refuses_a_callback_the_app_did_not_register() {
    let x = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let unregistered = format!("http://{}/callback", free_addr());
    let pending = begin(&x, &store, &unregistered).await;
    let (status, page) = browse(pending.url()).await;
    assert_eq!(status, 400);
    assert!(page.contains("Something went wrong"), "{page}");
    assert!(page.contains("not a callback URI registered"), "{page}");
}

#[tokio::test]
async fn the_fake_token_endpoint_holds_codes_to_their_verifier_and_to_one_use() {
    let x = fake().await;
    let redirect = callback(&x);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // S256 of "verifier-of-forty-three-characters-at-least-ok".
    let verifier = "verifier-of-forty-three-characters-at-least-ok";
    let challenge = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
    };
    let authorize = |challenge: &str| {
        let mut u = url::Url::parse(&format!("{}/i/oauth2/authorize", x.base_url())).unwrap();
        u.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", "client-acme")
            .append_pair("redirect_uri", &redirect)
            .append_pair("scope", "tweet.read users.read")
            .append_pair("state", "s1")
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        u.to_string()
    };
    let code_from = |r: reqwest::Response| {
        let back = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        back.query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let exchange = |code: String, verifier: &'static str| {
        let form = [
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", redirect.clone()),
            ("code_verifier", verifier.to_owned()),
            ("client_id", "client-acme".to_owned()),
        ];
        http.post(format!("{}/2/oauth2/token", x.base_url()))
            .form(&form)
            .send()
    };
    let code = code_from(http.get(authorize(&challenge)).send().await.unwrap());
    let wrong = exchange(code, "another-verifier-of-forty-three-characters-x")
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400);
    let body = wrong.text().await.unwrap();
    assert!(body.contains("did not match the code challenge"), "{body}");

    let code = code_from(http.get(authorize(&challenge)).send().await.unwrap());
    let good = exchange(code.clone(), verifier).await.unwrap();
    assert_eq!(good.status(), 200);
    let tokens: serde_json::Value = good.json().await.unwrap();
    assert_eq!(tokens["scope"], "tweet.read users.read");
    // No offline.access asked: no refresh token.
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    let again = exchange(code, verifier).await.unwrap();
    let body = again.text().await.unwrap();
    assert!(body.contains("authorization code was invalid"), "{body}");
}

#[tokio::test]
async fn perch_run_without_tokens_says_to_sign_in_first() {
    let x = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let config = parsed(&config_text(&x, dir.path()));
    let store = Store::open(dir.path()).unwrap();
    let Err(e) = perch::twitter::runtime::client(&config, &config.accounts[0], &store, &lookup)
    else {
        panic!("a client without tokens");
    };
    assert!(
        e.to_string().contains("run `perch auth x --account acme`"),
        "{e}"
    );
}
