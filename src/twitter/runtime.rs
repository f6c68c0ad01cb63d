//! Starting the X side of `perch run`: a client per account from its
//! secrets, a polling loop per enabled source, and the webhook routes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::ingest::{self, Ingest, Task};
use super::oauth2::OAuth2Session;
use super::polling::{self, Pace};
use super::spend::Meter;
use super::webhook::http::{self as webhook_http, Hook};
use super::{Auth, Patience, XClient, XError};
use crate::config::{secrets, Account, Config, XAuth};
use crate::store::Store;
use crate::ticket::AccountKey;

/// What the X side runs: routes to serve and loops to await on shutdown.
pub struct Started {
    pub routes: Router,
    pub tasks: Vec<JoinHandle<()>>,
    /// One client per account, shared by ingest and the relay (an OAuth
    /// 2.0 session must not be refreshed from two places).
    pub clients: HashMap<AccountKey, Arc<XClient>>,
}

fn secret(
    env: &crate::config::EnvVar,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<crate::config::Secret, XError> {
    secrets::read(env, lookup).map_err(|p| XError::Invalid(p.to_string()))
}

/// A client for `account` with its secrets.
pub fn client(
    config: &Config,
    account: &Account,
    store: &Store,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<XClient, XError> {
    XClient::new(
        &config.x.api_url,
        account.key.clone(),
        auth(config, account, Some(store), lookup)?,
        Patience::default(),
    )
}

/// A client acting as the app itself, with `x.bearer_token_env`.
pub fn app_client(
    config: &Config,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<XClient, XError> {
    let Some(env) = &config.x.bearer_token else {
        return Err(XError::Invalid(
            "set x.bearer_token_env: X takes webhooks, replay and the list of subscriptions only with the app's bearer token (X Developer Console > your app > Keys and tokens > Bearer token)".to_owned(),
        ));
    };
    XClient::new(
        &config.x.api_url,
        "app".into(),
        Auth::App {
            bearer: secret(env, lookup)?,
        },
        Patience::default(),
    )
}

/// How `account` signs its requests. OAuth 2.0 needs the store (its
/// refresh tokens rotate and live there); without one it is refused.
pub fn auth(
    config: &Config,
    account: &Account,
    store: Option<&Store>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Auth, XError> {
    Ok(match &account.auth {
        XAuth::OAuth1 {
            consumer_key,
            consumer_secret,
            access_token,
            access_token_secret,
        } => Auth::OAuth1 {
            consumer_key: secret(consumer_key, lookup)?,
            consumer_secret: secret(consumer_secret, lookup)?,
            token: secret(access_token, lookup)?,
            token_secret: secret(access_token_secret, lookup)?,
        },
        XAuth::OAuth2 {
            client_id,
            client_secret,
            refresh_token,
        } => {
            let seed = refresh_token
                .as_ref()
                .map(|s| secret(s, lookup))
                .transpose()?;
            let Some(store) = store else {
                return Err(XError::Invalid(format!(
                    "account `{}` uses OAuth 2.0, whose tokens live in the store, and the store is in use (perch is running: its /healthz says how X answers)",
                    account.key
                )));
            };
            if seed.is_none() && store.refresh_token(account.key.as_str())?.is_none() {
                return Err(XError::Invalid(format!(
                    "account `{}` has no OAuth 2.0 tokens yet: run `perch auth x --account {}` (or set its refresh_token_env)",
                    account.key, account.key
                )));
            }
            Auth::OAuth2(Box::new(OAuth2Session::new(
                &config.x.api_url,
                account.key.clone(),
                secret(client_id, lookup)?,
                client_secret
                    .as_ref()
                    .map(|s| secret(s, lookup))
                    .transpose()?,
                seed,
                store.clone(),
            )))
        }
    })
}

/// Starts ingest for every account.
pub fn start(
    config: &Config,
    store: &Store,
    lookup: &dyn Fn(&str) -> Option<String>,
    vitals: &crate::vitals::Vitals,
    metrics: &crate::metrics::Metrics,
    stop: &watch::Receiver<bool>,
    serving: &watch::Receiver<bool>,
) -> Result<Started, XError> {
    let mut routes = Router::new();
    let mut tasks = Vec::new();
    let mut clients = HashMap::new();
    let budget = config.x.monthly_read_budget;
    let meter = Arc::new(Meter::new(store.clone(), config.x.prices.clone()));
    // The app itself (its bearer token): webhooks, the filtered stream,
    // X's usage count.
    let app = match &config.x.bearer_token {
        Some(_) => Some(Arc::new(
            app_client(config, lookup)?.with_metrics(metrics.clone()),
        )),
        None => None,
    };
    let (live, streaming) = watch::channel(false);
    let streamed = config.x.filtered_stream.then_some(streaming);
    let mut ingests = Vec::new();
    let mut readers = Vec::new();
    for account in &config.accounts {
        let x = Arc::new(
            client(config, account, store, lookup)?
                .with_metrics(metrics.clone())
                .with_meter(Arc::clone(&meter), account.user_id.as_str()),
        );
        clients.insert(account.key.clone(), Arc::clone(&x));
        let ingest = Arc::new(Ingest {
            account: account.clone(),
            client: Arc::clone(&x),
            store: store.clone(),
            backfill: config.x.backfill,
            users: ingest::UserCache::default(),
            read_today: ingest::ReadToday::default(),
        });
        ingests.push(Arc::clone(&ingest));
        if let Some(events) = &account.ingest.activity_stream {
            readers.push(super::activity_stream::Reader {
                account: account.clone(),
                events: events.clone(),
                user: Arc::clone(&x),
                ingest: Arc::clone(&ingest),
            });
        }
        let mut loops = Vec::new();
        if let Some(p) = &account.ingest.mentions {
            loops.push((Task::Mentions, p.interval));
        }
        if let Some(p) = &account.ingest.dms {
            loops.push((Task::Dms, p.interval));
        }
        for rule in &account.ingest.search {
            loops.push((Task::Search(rule.clone()), rule.interval));
        }
        for (task, interval) in &loops {
            // Loops of one account polling one endpoint share its window.
            let sharers = loops
                .iter()
                .filter(|(t, _)| t.endpoint() == task.endpoint())
                .count();
            let pace = Pace {
                interval: *interval,
                budget,
                spend: config.x.spend,
                sharers: u32::try_from(sharers).unwrap_or(u32::MAX),
            };
            // Watching starts now, before health says perch is up: what is
            // written from here on is never taken for the past.
            ingest.watch(&task.label(), chrono::Utc::now())?;
            tracing::info!(account = %account.key, source = %task.label(), every = %humantime::format_duration(*interval), "polling X");
            tasks.push(tokio::spawn(polling::run(
                Arc::clone(&ingest),
                task.clone(),
                pace,
                vitals.clone(),
                metrics.clone(),
                matches!(task, Task::Search(_))
                    .then(|| streamed.clone())
                    .flatten(),
                stop.clone(),
            )));
        }
        if let (
            Some(w),
            XAuth::OAuth1 {
                consumer_secret, ..
            },
        ) = (&account.ingest.webhook, &account.auth)
        {
            tracing::info!(account = %account.key, path = %w.path, "serving the X webhook");
            if let Some(url) = &w.url {
                let Some(app) = &app else {
                    return Err(app_client(config, lookup).err().unwrap_or_else(|| {
                        XError::Invalid("x.bearer_token_env is needed".to_owned())
                    }));
                };
                let keeper = super::replay::Keeper {
                    app: Arc::clone(app),
                    user: Arc::clone(&x),
                    account: account.clone(),
                    url: url.clone(),
                    replay: w.replay,
                    store: store.clone(),
                    vitals: vitals.clone(),
                    ingest: Arc::clone(&ingest),
                    serving: serving.clone(),
                };
                tasks.push(tokio::spawn(keeper.run(stop.clone())));
            }
            routes = routes.merge(webhook_http::routes(Hook {
                account: account.clone(),
                consumer_secret: secret(consumer_secret, lookup)?,
                store: store.clone(),
                metrics: metrics.clone(),
                meter: Arc::clone(&meter),
            }));
        }
    }
    if let Some(app) = &app {
        // X's own count of the posts read, daily beside perch's.
        tasks.push(tokio::spawn(super::usage::run(
            Arc::clone(app),
            store.clone(),
            stop.clone(),
        )));
        if !readers.is_empty() {
            let streamer = super::activity_stream::ActivityStreamer {
                app: Arc::clone(app),
                readers,
                store: store.clone(),
                metrics: metrics.clone(),
                meter: Arc::clone(&meter),
                vitals: vitals.clone(),
            };
            tasks.push(tokio::spawn(streamer.run(stop.clone())));
        }
        if config.x.filtered_stream {
            let streamer = super::stream::Streamer {
                app: Arc::clone(app),
                wanted: super::stream::wanted(config),
                ingests,
                meter: Arc::clone(&meter),
                vitals: vitals.clone(),
                live,
                spend: config.x.spend,
                store: store.clone(),
            };
            tasks.push(tokio::spawn(streamer.run(stop.clone())));
        }
    }
    Ok(Started {
        routes,
        tasks,
        clients,
    })
}
