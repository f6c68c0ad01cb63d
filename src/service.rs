//! `perch run`: the long-running service. It opens the store, serves the
//! health endpoint (and X webhooks), polls X, connects the chat platforms,
//! runs the relay between them, and releases idle claims.
//!
//! `run` takes its listener and its shutdown signal as arguments (as
//! mini-redis does), so tests start it on 127.0.0.1:0 and stop it at will.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::chat::discord::{DiscordAdapter, DiscordRest};
use crate::chat::slack::{Connection, SlackAdapter, SlackWeb};
use crate::chat::ChatPlatform;
use crate::config::secrets::Lookup;
use crate::config::{Config, SlackMode};
use crate::relay::Relay;
use crate::store::{Store, StoreError};
use crate::ticket::{self, State as TicketState, Transition};

struct Shared {
    store: Store,
    /// Set when the start-up check found a damaged value.
    damage: Option<String>,
}

/// Runs until `shutdown` resolves, then stops serving and flushes the store.
pub async fn run(
    config: Config,
    store: Store,
    listener: TcpListener,
    secrets: Lookup,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let damage = match store.verify() {
        Ok(n) => {
            tracing::info!(values = n, "store checked");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "store holds a damaged value; serving, but health reports it");
            Some(e.to_string())
        }
    };
    let synced = store.sync_agents(&config.agents, Utc::now())?;
    tracing::debug!(changed = synced, "agents recorded");

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(maintenance_loop(
        store.clone(),
        stop_rx.clone(),
    )));
    let x = crate::twitter::runtime::start(&config, &store, &*secrets, &stop_rx)?;
    tasks.extend(x.tasks);

    let (events_tx, events_rx) = mpsc::channel(256);
    let platforms = chat_platforms(&config, &store, &*secrets).await?;
    for platform in &platforms {
        let platform = Arc::clone(platform);
        let (events, stop) = (events_tx.clone(), stop_rx.clone());
        tasks.push(tokio::spawn(async move {
            let name = platform.platform().name();
            if let Err(e) = platform.run(events, stop).await {
                tracing::error!(platform = name, error = %e, "chat connection ended");
            }
        }));
    }
    drop(events_tx);
    let relay = Relay::new(config.clone(), store.clone(), platforms, x.clients);
    tasks.extend(relay.start(events_rx, stop_rx.clone()));
    if let Some(idle) = config.service.claim_idle_release {
        tasks.push(tokio::spawn(idle_release_loop(
            Arc::clone(&relay),
            store.clone(),
            idle,
            stop_rx.clone(),
        )));
    }

    let shared = Arc::new(Shared {
        store: store.clone(),
        damage,
    });
    let app = Router::new()
        .route("/healthz", get(health))
        .with_state(shared)
        .merge(x.routes);
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "perch is running; health at /healthz");
    let mut server_stop = stop_rx.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = server_stop.wait_for(|stop| *stop).await;
    });
    let server = tokio::spawn(async move { server.await });

    shutdown.await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    server.await??;
    for task in tasks {
        task.await?;
    }
    store.flush()?;
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn health(State(shared): State<Arc<Shared>>) -> (StatusCode, Json<Value>) {
    let counts = shared.store.counts();
    let count = |name: &str| {
        counts
            .iter()
            .find(|(t, _)| *t == name)
            .map_or(0, |(_, n)| *n)
    };
    let queue = shared.store.queue().map(|q| q.len());
    let replies = shared.store.outbox_counts(Utc::now()).ok();
    let body = |status: &str, error: Option<String>| {
        json!({
            "status": status,
            "version": env!("CARGO_PKG_VERSION"),
            "tickets": count("tickets"),
            "unclaimed": queue.as_ref().ok(),
            "outbox": count("outbox"),
            "inbox": count("inbox"),
            // What the relay has yet to do: a number that keeps growing
            // means a platform is refusing perch (see the logs).
            "replies_waiting": replies.map(|r| r.waiting),
            // Of those, how many wait for X's rate limit window to reset.
            "replies_held_by_x_limit": replies.map(|r| r.held),
            "replies_failed": replies.map(|r| r.failed),
            "chat_events_waiting": count("chat_inbox"),
            "tickets_to_redraw": count("chat_sync"),
            "x_reads_this_month": crate::twitter::ingest::reads_this_month(&shared.store, Utc::now()).ok(),
            "x_reads_by_source": crate::twitter::ingest::reads_by_source(&shared.store, Utc::now())
                .map(|r| r.into_iter().collect::<std::collections::BTreeMap<_, _>>())
                .ok(),
            "error": error,
        })
    };
    match (&queue, &shared.damage) {
        (Err(e), _) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(body("error", Some(e.to_string()))),
        ),
        (Ok(_), Some(damage)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(body("degraded", Some(damage.clone()))),
        ),
        (Ok(_), None) => (StatusCode::OK, Json(body("ok", None))),
    }
}

/// Checks for idle claims often enough to release each within a minute (or
/// a quarter of the idle time) of its deadline.
async fn idle_release_loop(
    relay: Arc<Relay>,
    store: Store,
    idle: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let period = (idle / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match release_idle_claims(&store, idle, Utc::now()) {
            Ok(released) => {
                for transition in &released {
                    relay.announce(transition).await;
                }
            }
            Err(e) => tracing::error!(error = %e, "idle-claim check failed; will retry"),
        }
    }
}

/// Hourly upkeep: forgets inbound event ids past their expiry, so the
/// `seen` tree stays the size of the dedupe window.
async fn maintenance_loop(store: Store, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match store.purge_seen(Utc::now()) {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "expired inbound ids forgotten"),
            Err(e) => tracing::error!(error = %e, "purging expired inbound ids failed; will retry"),
        }
    }
}

/// Releases every claim idle for `idle` at `now`; returns what changed.
pub fn release_idle_claims(
    store: &Store,
    idle: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<Transition>, StoreError> {
    let idle = chrono::Duration::from_std(idle).unwrap_or(chrono::Duration::MAX);
    let mut released = Vec::new();
    for t in store.tickets()? {
        if !matches!(t.state, TicketState::Claimed(_)) {
            continue;
        }
        // Re-checked inside the transaction: the holder may reply meanwhile.
        let outcome = store.update_ticket(t.id, None, now, |current| {
            ticket::release_if_idle(current, idle, now).ok_or(ticket::Refusal::NotClaimed)
        })?;
        if let Ok(transition) = outcome {
            released.push(transition);
        }
    }
    Ok(released)
}

/// Connects the chat platforms the config names: checks each bot token,
/// so a wrong one stops perch at start with the platform's answer.
async fn chat_platforms(
    config: &Config,
    store: &Store,
    lookup: &(dyn Fn(&str) -> Option<String> + Send + Sync),
) -> anyhow::Result<Vec<Arc<dyn ChatPlatform>>> {
    let secret = |env: &crate::config::EnvVar| {
        crate::config::secrets::read(env, lookup).map_err(|p| anyhow::anyhow!("{p}"))
    };
    let mut platforms: Vec<Arc<dyn ChatPlatform>> = Vec::new();
    if let Some(slack) = &config.slack {
        let web = SlackWeb::new(
            &slack.api_url,
            &secret(&slack.bot_token)?,
            crate::chat::slack::DEFAULT_POST_INTERVAL,
        )?;
        let connection = match &slack.mode {
            SlackMode::Socket { app_token } => Connection::SocketMode {
                app_token: secret(app_token)?,
            },
            SlackMode::Events {
                signing_secret,
                addr,
            } => Connection::EventsApi {
                signing_secret: secret(signing_secret)?,
                addr: *addr,
            },
        };
        let mut adapter = SlackAdapter::offline(web, connection, Arc::new(store.clone()));
        match adapter.check().await {
            Ok(()) => tracing::info!("Slack bot token accepted"),
            Err(e) if e.is_retryable() => {
                tracing::warn!(error = %e, "Slack is unreachable; perch starts and keeps trying")
            }
            Err(e) => anyhow::bail!("cannot start the Slack adapter: {e}"),
        }
        platforms.push(Arc::new(adapter));
    }
    if let Some(discord) = &config.discord {
        let rest = DiscordRest::new(
            &secret(&discord.bot_token)?,
            discord.api_url.as_deref(),
            crate::chat::discord::DEFAULT_POST_INTERVAL,
        );
        let number = |s: &str| s.parse::<u64>().unwrap_or(0);
        let guilds = discord.guild_ids.iter().map(|g| number(g)).collect();
        platforms.push(Arc::new(DiscordAdapter::new(
            rest,
            number(&discord.application_id),
            guilds,
            Arc::new(store.clone()),
        )));
    }
    Ok(platforms)
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
