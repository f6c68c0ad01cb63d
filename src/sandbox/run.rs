//! `perch sandbox`: the fakes and perch itself on 127.0.0.1, so a newcomer
//! can watch perch work without any account anywhere. A short scene plays
//! first (see `scene.rs`); then everything keeps running for the
//! newcomer's own tweets and replies through the fakes' control APIs.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;

use super::discord::{ChannelSpec, FakeDiscord};
use super::slack::FakeSlack;
use super::x::{FakeAccount, FakeX, OAuth1Keys};
use crate::config::secrets::Lookup;
use crate::config::{Config, SlackMode, XAuth};
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
                    // Without one, `perch auth x` gets the first.
                    refresh_token
                        .as_ref()
                        .map(|r| fake_secret(&r.name))
                        .unwrap_or_default(),
                )),
                XAuth::OAuth1 { .. } => None,
            },
        })
        .collect()
}

/// The fakes a config points at, started where it points.
pub struct Sandbox {
    pub x: FakeX,
    pub slack: Option<FakeSlack>,
    pub discord: Option<FakeDiscord>,
}

impl Sandbox {
    /// Starts the fake X, and the fake Slack and Discord when the config
    /// has them, on the loopback addresses it names, accepting exactly the
    /// credentials `lookup` hands perch.
    pub async fn start(config: &Config) -> anyhow::Result<Self> {
        let busy = |what: &str, addr: SocketAddr| {
            format!("cannot start the fake {what} on {addr}; is another sandbox running?")
        };
        let x_addr = loopback(&config.x.api_url, "x.api_url")?;
        let x = FakeX::start_on(x_addr, fake_accounts(config))
            .await
            .with_context(|| busy("X", x_addr))?;
        if let Some(env) = &config.x.bearer_token {
            x.set_app_bearer(&fake_secret(&env.name));
        }
        let slack = match &config.slack {
            None => None,
            Some(slack) => {
                let SlackMode::Socket { app_token } = &slack.mode else {
                    anyhow::bail!(
                        "slack.mode: the sandbox runs Slack in Socket Mode; set mode = \"socket\""
                    );
                };
                let addr = loopback(&slack.api_url, "slack.api_url")?;
                let channels: Vec<&str> = config
                    .accounts
                    .iter()
                    .flat_map(|a| a.routes.slack_channels.iter().map(|c| c.as_str()))
                    .collect();
                let fake = FakeSlack::start_on(
                    addr,
                    &fake_secret(&slack.bot_token.name),
                    &fake_secret(&app_token.name),
                    &channels,
                    crate::chat::slack::DEFAULT_POST_INTERVAL,
                )
                .await
                .with_context(|| busy("Slack", addr))?;
                for agent in &config.agents {
                    if let Some(u) = &agent.slack_user {
                        fake.add_user(u.as_str(), &agent.name);
                    }
                }
                let (user, _, name) = super::page::NOT_AN_AGENT;
                fake.add_user(user, name);
                Some(fake)
            }
        };
        let discord = match &config.discord {
            None => None,
            Some(discord) => {
                let url = discord
                    .api_url
                    .as_deref()
                    .context("discord.api_url: the sandbox needs the fake Discord's address")?;
                let addr = loopback(url, "discord.api_url")?;
                let ids: Vec<u64> = config
                    .accounts
                    .iter()
                    .flat_map(|a| a.routes.discord_channels.iter())
                    .filter_map(|c| c.as_str().parse().ok())
                    .collect();
                // The support channels, and the guild's own chatter: most
                // of a real guild's messages are in channels perch ignores.
                let specs: Vec<ChannelSpec<'_>> = ids
                    .iter()
                    .map(|id| ChannelSpec {
                        id: *id,
                        name: "support",
                        forum_tags: &[],
                    })
                    .chain([ChannelSpec {
                        id: crate::sandbox::discord::GENERAL,
                        name: "general",
                        forum_tags: &[],
                    }])
                    .collect();
                let fake = FakeDiscord::start_on(
                    addr,
                    &fake_secret(&discord.bot_token.name),
                    &specs,
                    5,
                    std::time::Duration::from_secs(5),
                )
                .await
                .with_context(|| busy("Discord", addr))?;
                for agent in &config.agents {
                    if let Some(u) = agent
                        .discord_user
                        .as_ref()
                        .and_then(|u| u.as_str().parse().ok())
                    {
                        fake.add_member(u, &agent.name, &[]);
                    }
                }
                let (_, member, name) = super::page::NOT_AN_AGENT;
                fake.add_member(member, name, &[]);
                Some(fake)
            }
        };
        Ok(Self { x, slack, discord })
    }

    /// The credentials perch is given: the ones the fakes accept.
    pub fn lookup() -> Lookup {
        Arc::new(|name: &str| Some(fake_secret(name)))
    }
}

/// What `perch sandbox` does besides running perch on the fakes.
pub struct Options {
    /// Play the scene first.
    pub scene: bool,
    /// Open the page in the default browser, when there is one.
    pub open: bool,
}

/// Starts the fakes where the config points, runs perch against them
/// with the sandbox's page on its HTTP port, plays the scene (unless
/// asked not to), and keeps running until `shutdown`.
pub async fn run(
    config: Config,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let sandbox = Arc::new(Sandbox::start(&config).await?);
    let store = Store::open(&fresh_data_dir(&config.service.data_dir)?)?;
    let health = config.service.health_addr;
    let listener = tokio::net::TcpListener::bind(health)
        .await
        .with_context(|| format!("cannot listen on {health} (service.health_addr)"))?;
    // The scene moves perch's clock ahead to show a response target
    // passing; the fakes keep the real time.
    let clock = Arc::new(crate::clock::AheadClock::default());
    let stage = Arc::new(super::page::Stage {
        config: config.clone(),
        sandbox: Arc::clone(&sandbox),
        clock: Arc::clone(&clock),
        narration: Arc::default(),
    });
    let service = tokio::spawn(crate::service::run_on_clock(
        config.clone(),
        store,
        listener,
        Sandbox::lookup(),
        clock.clone(),
        super::page::routes(Arc::clone(&stage)),
        shutdown,
    ));
    // perch watches X from the moment it answers health: a scene played
    // before that would be the account's past, and left unread. The
    // listener is bound, so the request waits until perch serves it.
    let up = format!("http://{health}/healthz");
    if let Err(e) = reqwest::Client::new().get(&up).send().await {
        println!("perch did not answer {up} ({e}); the scene plays anyway");
    }
    let page = format!("http://{health}/sandbox");
    println!("The sandbox's page (X, Slack and Discord side by side): {page}");
    if options.open {
        if let Err(e) = open::that_detached(&page) {
            println!("(no browser opened: {e}; open the address yourself)");
        }
    }
    if options.scene {
        stage.play().await;
    }
    print_guide(&config, &sandbox, health);
    service.await?
}

/// Marks a store the sandbox made, and may empty again.
const SANDBOX_MARK: &str = "perch-sandbox-store";

/// The fakes start empty each time, so the store must too: tickets of an
/// earlier run would claim the fakes' new ids. Only a directory the
/// sandbox made (or an empty one) is emptied; anything else is refused.
fn fresh_data_dir(dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let holds_something = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
    if holds_something {
        if !dir.join(SANDBOX_MARK).exists() {
            anyhow::bail!(
                "service.data_dir {} holds files perch sandbox did not make; the sandbox empties its store at each start, so point data_dir at a directory of its own (if it is an earlier sandbox's store, delete it: rm -r {})",
                dir.display(),
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("cannot empty the sandbox store {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the sandbox store {}", dir.display()))?;
    std::fs::write(
        dir.join(SANDBOX_MARK),
        "made by `perch sandbox`, which empties this directory at each start\n",
    )
    .with_context(|| format!("cannot write in {}", dir.display()))?;
    Ok(dir.to_owned())
}

fn print_guide(config: &Config, sandbox: &Sandbox, health: SocketAddr) {
    let x = sandbox.x.base_url();
    let handle = config
        .accounts
        .first()
        .map_or("AcmeSupport", |a| a.handle.as_str());
    let route = config.accounts.first().map(|a| &a.routes);
    let agent = config.agents.first();
    let mut ports = format!(
        "  the page      http://{health}/sandbox   (X, Slack and Discord side by side; play any part)
  fake X API    {x}
"
    );
    if let Some(slack) = &sandbox.slack {
        ports.push_str(&format!(
            "  fake Slack    http://{}   (Web API at /api, Socket Mode, people at /_sandbox)\n",
            slack.addr()
        ));
    }
    if let Some(discord) = &sandbox.discord {
        ports.push_str(&format!(
            "  fake Discord  {}   (REST, gateway, people at /_sandbox)\n",
            discord.url()
        ));
    }
    let mut guide = format!(
        "perch sandbox: everything runs on 127.0.0.1 with fake credentials.

{ports}  perch health  http://{health}/healthz

Everything below, the page does with buttons; curl does it too.

Act as a customer on X (in another shell):

  curl -s -X POST {x}/_sandbox/posts -H 'content-type: application/json' \\
       -d '{{\"from\": \"dana\", \"text\": \"@{handle} my order never arrived\"}}'
  curl -s -X POST {x}/_sandbox/dms -H 'content-type: application/json' \\
       -d '{{\"from\": \"gina\", \"to\": \"{handle}\", \"text\": \"hi, my account is locked\"}}'
  curl -s {x}/_sandbox/posted          # what the account posted
"
    );
    if let (Some(slack), Some(channel)) =
        (&sandbox.slack, route.and_then(|r| r.slack_channels.first()))
    {
        let base = format!("http://{}", slack.addr());
        let user = agent
            .and_then(|a| a.slack_user.as_ref())
            .map_or("U0JODOE01", |u| u.as_str());
        guide.push_str(&format!(
            "
Act as an agent in Slack (a ticket's thread_ts is its card's ts):

  curl -s {base}/_sandbox/channels/{channel} | jq -r .as_seen
  curl -s {base}/_sandbox/channels/{channel} | jq -r '.messages[] | select(.bot_id and (.thread_ts | not)) | .ts + \"  \" + .text[0:60]'
  curl -s {base}/_sandbox/ephemerals/{user} | jq -r '.ephemerals[].text'   # what only you see
  curl -s -X POST {base}/_sandbox/reply -H 'content-type: application/json' \\
       -d '{{\"channel\": \"{channel}\", \"thread_ts\": \"<card ts>\", \"user\": \"{user}\", \"text\": \"Sorry! Fixed now.\"}}'
  curl -s -X POST {base}/_sandbox/command -H 'content-type: application/json' \\
       -d '{{\"channel\": \"{channel}\", \"user\": \"{user}\", \"text\": \"queue\"}}'
  curl -s -X POST {base}/_sandbox/button -H 'content-type: application/json' \\
       -d '{{\"channel\": \"{channel}\", \"message_ts\": \"<card ts>\", \"user\": \"{user}\", \"action_id\": \"perch_claim\"}}'
"
        ));
    }
    if let (Some(discord), Some(channel)) = (
        &sandbox.discord,
        route.and_then(|r| r.discord_channels.first()),
    ) {
        let base = discord.url();
        let user = agent
            .and_then(|a| a.discord_user.as_ref())
            .map_or("1400000000000000001", |u| u.as_str());
        guide.push_str(&format!(
            "
Act as an agent in Discord (a ticket's thread id is its card message's id):

  curl -s {base}/_sandbox/channels/{channel} | jq -r '.messages[] | .id + \"  \" + (.card // .content)'
  curl -s {base}/_sandbox/whispers/{user} | jq -r '.whispers[].content'   # what only you see
  curl -s -X POST {base}/_sandbox/button -H 'content-type: application/json' \\
       -d '{{\"channel\": {channel}, \"message\": <card id>, \"user\": {user}, \"name\": \"Jo\", \"custom_id\": \"perch_claim:<ticket number>\"}}'
  curl -s -X POST {base}/_sandbox/message -H 'content-type: application/json' \\
       -d '{{\"channel\": <thread id>, \"user\": {user}, \"name\": \"Jo\", \"text\": \"On it!\"}}'
  curl -s -X POST {base}/_sandbox/command -H 'content-type: application/json' \\
       -d '{{\"channel\": <thread id>, \"user\": {user}, \"name\": \"Jo\", \"subcommand\": \"claim\"}}'
"
        ));
    }
    if let Some(env) = &config.service.report_token {
        guide.push_str(&format!(
            "
The figures (stats, the report and the live dashboard) in a browser:

  http://{health}/dashboard?token={token}
  http://{health}/report?token={token}&since=7d&format=html
",
            token = fake_secret(&env.name)
        ));
    }
    guide.push_str("\nStop with Ctrl-C.\n");
    println!("{guide}");
}
