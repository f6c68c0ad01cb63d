//! A fake X with one brand account, and perch's client, ingest and store
//! pointed at it.

use std::sync::Arc;
use std::time::Duration;

use perch::backoff::Backoff;
use perch::config::{self, Account, Secret};
use perch::sandbox::x::{FakeAccount, FakeX, OAuth1Keys};
use perch::store::Store;
use perch::twitter::ingest::Ingest;
use perch::twitter::oauth2::OAuth2Session;
use perch::twitter::{Auth, Patience, XClient};

pub const ACME_ID: &str = "1500000000000000001";

pub fn keys(secret: &str) -> OAuth1Keys {
    OAuth1Keys {
        consumer_key: "ck-acme".into(),
        consumer_secret: "cs-acme".into(),
        token: "token-acme".into(),
        token_secret: secret.into(),
    }
}

pub fn fake_account() -> FakeAccount {
    FakeAccount {
        user_id: ACME_ID.into(),
        handle: "AcmeSupport".into(),
        name: "Acme Support".into(),
        oauth1: Some(keys("ts-acme")),
        oauth2: Some(("client-acme".into(), "seed-refresh".into())),
    }
}

pub async fn fake() -> FakeX {
    FakeX::start(vec![fake_account()])
        .await
        .expect("start fake X")
}

/// The env vars `config_text` names and the fake X's keys they hold.
pub const SECRETS: [(&str, &str); 4] = [
    ("CK", "ck-acme"),
    ("CS", "cs-acme"),
    ("AT", "token-acme"),
    ("ATS", "ts-acme"),
];

/// A config for the fake X at `x_url`: one account polling mentions, DMs
/// and a brand search (misspelt too) every second, with a webhook; Slack
/// on a closed loopback port (unreachable, and perch keeps trying).
pub fn config_text(x_url: &str, data: &std::path::Path, health: std::net::SocketAddr) -> String {
    format!(
        r#"
[service]
data_dir = "{}"
health_addr = "{health}"
[x]
api_url = "{x_url}"
monthly_read_budget = 10000
[[accounts]]
key = "acme"
handle = "AcmeSupport"
user_id = "{ACME_ID}"
[accounts.auth]
kind = "oauth1"
consumer_key_env = "CK"
consumer_secret_env = "CS"
access_token_env = "AT"
access_token_secret_env = "ATS"
[accounts.ingest.mentions]
interval = "1s"
[accounts.ingest.dms]
interval = "1s"
[[accounts.ingest.search]]
name = "brand"
query = "acme"
misspellings = ["akme"]
interval = "1s"
[accounts.ingest.webhook]
path = "/x/webhook/acme"
[accounts.routes]
slack_channels = ["C0SUPPORT1"]
[slack]
bot_token_env = "SB"
app_token_env = "SA"
api_url = "http://127.0.0.1:9/api"
"#,
        data.display()
    )
}

/// The validated account of `config_text`.
pub fn account(fake: &FakeX) -> Account {
    let src = config_text(
        &fake.base_url(),
        std::path::Path::new("/nonexistent"),
        "127.0.0.1:9".parse().expect("address"),
    );
    match config::from_str(&src) {
        Ok(v) => v.config.accounts.into_iter().next().expect("one account"),
        Err(p) => panic!("{p:?}"),
    }
}

pub fn patience() -> Patience {
    Patience {
        attempts: 4,
        backoff: Backoff {
            first: Duration::from_millis(20),
            max: Duration::from_secs(1),
        },
    }
}

pub fn oauth1(secret: &str) -> Auth {
    let k = keys(secret);
    Auth::OAuth1 {
        consumer_key: Secret::new(k.consumer_key),
        consumer_secret: Secret::new(k.consumer_secret),
        token: Secret::new(k.token),
        token_secret: Secret::new(k.token_secret),
    }
}

pub fn oauth2(fake: &FakeX, store: &Store) -> Auth {
    Auth::OAuth2(Box::new(OAuth2Session::new(
        &fake.base_url(),
        "acme".into(),
        Secret::new("client-acme"),
        None,
        Some(Secret::new("seed-refresh")),
        store.clone(),
    )))
}

pub fn client(fake: &FakeX, auth: Auth) -> Arc<XClient> {
    Arc::new(XClient::new(&fake.base_url(), "acme".into(), auth, patience()).expect("client"))
}

pub fn ingest(fake: &FakeX, store: &Store) -> Ingest {
    Ingest {
        account: account(fake),
        client: client(fake, oauth1("ts-acme")),
        store: store.clone(),
        // The scenarios post first, then poll a new store.
        backfill: std::time::Duration::from_secs(3600),
        users: perch::twitter::ingest::UserCache::default(),
        read_today: perch::twitter::ingest::ReadToday::default(),
    }
}

/// A fake X and an empty store (keep the TempDir alive as long as the store).
pub async fn setup() -> (FakeX, tempfile::TempDir, Store) {
    let x = fake().await;
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path()).expect("store");
    (x, dir, store)
}
