//! `perch sandbox`: the fakes and perch itself on 127.0.0.1, so a newcomer
//! can watch perch work without any account anywhere.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;

use super::x::{FakeAccount, FakeX, OAuth1Keys};
use crate::config::secrets::Lookup;
use crate::config::{Config, XAuth};
use crate::store::Store;

/// The fake credential for an env var name: the sandbox's fakes accept
/// exactly these, and they open nothing real.
pub fn fake_secret(env_name: &str) -> String {
    format!("sandbox-{}", env_name.to_ascii_lowercase())
}

/// Where a loopback URL listens; refuses anything but 127.0.0.1/localhost.
fn loopback(url: &str, key: &str) -> anyhow::Result<SocketAddr> {
    let parsed = url::Url::parse(url).with_context(|| format!("{key} = {url:?} is not a URL"))?;
    let host = parsed.host_str().unwrap_or_default();
    if host != "127.0.0.1" && host != "localhost" {
        anyhow::bail!(
            "{key} = {url:?}: the sandbox only runs on 127.0.0.1; use bot-config/sandbox.toml"
        );
    }
    let port = parsed
        .port()
        .with_context(|| format!("{key} = {url:?} needs a port"))?;
    Ok(SocketAddr::from(([127, 0, 0, 1], port)))
}

fn fake_accounts(config: &Config) -> Vec<FakeAccount> {
    config
        .accounts
        .iter()
        .map(|a| FakeAccount {
            user_id: a.user_id.to_string(),
            handle: a.handle.clone(),
            name: a.handle.clone(),
            oauth1: match &a.auth {
                XAuth::OAuth1 {
                    consumer_key,
                    consumer_secret,
                    access_token,
                    access_token_secret,
                } => Some(OAuth1Keys {
                    consumer_key: fake_secret(&consumer_key.name),
                    consumer_secret: fake_secret(&consumer_secret.name),
                    token: fake_secret(&access_token.name),
                    token_secret: fake_secret(&access_token_secret.name),
                }),
                XAuth::OAuth2 { .. } => None,
            },
            oauth2: match &a.auth {
                XAuth::OAuth2 {
                    client_id,
                    refresh_token,
                    ..
                } => Some((
                    fake_secret(&client_id.name),
                    fake_secret(&refresh_token.name),
                )),
                XAuth::OAuth1 { .. } => None,
            },
        })
        .collect()
}

/// Starts the fake X where the config points and runs perch against it
/// until `shutdown`.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let x_addr = loopback(&config.x.api_url, "x.api_url")?;
    let fake = FakeX::start_on(x_addr, fake_accounts(&config))
        .await
        .with_context(|| {
            format!("cannot start the fake X on {x_addr}; is another sandbox running?")
        })?;
    let store = Store::open(&config.service.data_dir)?;
    let health = config.service.health_addr;
    let listener = tokio::net::TcpListener::bind(health)
        .await
        .with_context(|| format!("cannot listen on {health} (service.health_addr)"))?;
    let lookup: Lookup = Arc::new(|name: &str| Some(fake_secret(name)));
    print_guide(&config, &fake, health);
    crate::service::run(config, store, listener, lookup, shutdown).await
}

fn print_guide(config: &Config, fake: &FakeX, health: SocketAddr) {
    let x = fake.base_url();
    let handle = config
        .accounts
        .first()
        .map_or("AcmeSupport", |a| a.handle.as_str());
    println!(
        "perch sandbox: everything runs on 127.0.0.1 with fake credentials.

  fake X API    {x}
  perch health  http://{health}/healthz

Act as a customer (in another shell):

  curl -s -X POST {x}/_sandbox/posts -H 'content-type: application/json' \\
       -d '{{\"from\": \"dana\", \"text\": \"@{handle} my order never arrived\"}}'
  curl -s -X POST {x}/_sandbox/dms -H 'content-type: application/json' \\
       -d '{{\"from\": \"gina\", \"to\": \"{handle}\", \"text\": \"hi, my account is locked\"}}'

See what perch picked up, and what the account posted:

  curl -s http://{health}/healthz
  curl -s {x}/_sandbox/posted

Stop with Ctrl-C.
"
    );
}
