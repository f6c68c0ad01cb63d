//! `perch run`: the long-running service. It opens the store, serves the
//! health endpoint (and X webhooks), polls X, connects the chat platforms,
//! runs the relay between them, and releases idle claims.
//!
//! `run` takes its listener and its shutdown signal as arguments (as
//! mini-redis does), so tests start it on 127.0.0.1:0 and stop it at will.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

mod health;
mod report;

use crate::chat::discord::{DiscordAdapter, DiscordRest};
use crate::chat::slack::{Connection, SlackAdapter, SlackWeb};
use crate::chat::ChatPlatform;
use crate::clock::{Clock, SystemClock};
use crate::config::secrets::Lookup;
use crate::config::{Config, SlackMode};
use crate::metrics::Metrics;
use crate::relay::Relay;
use crate::store::Store;

/// How long the loops and connections get to finish at a stop.
const STOP_GRACE: Duration = Duration::from_secs(8);

/// Runs until `shutdown` resolves, then stops serving and flushes the
/// store, within `STOP_GRACE` of being asked whatever is unreachable.
pub async fn run(
    config: Config,
    store: Store,
    listener: TcpListener,
    secrets: Lookup,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    run_on_clock(
        config,
        store,
        listener,
        secrets,
        Arc::new(SystemClock),
        axum::Router::new(),
        shutdown,
    )
    .await
}

/// `run` with the relay on `clock` (tests move its time by hand: undo
/// windows, idle claims), serving `beside` on its HTTP port too (the
/// sandbox's page).
pub async fn run_on_clock(
    config: Config,
    store: Store,
    listener: TcpListener,
    secrets: Lookup,
    clock: Arc<dyn Clock>,
    beside: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // What perch works on is read back once, beside the service rather
    // than before it; the history is checked when it is read (and whole
    // by `perch verify`).
    let damage = Arc::new(std::sync::OnceLock::new());
    let (stop_tx, stop_rx) = watch::channel(false);
    // Set once perch answers HTTP: X checks a webhook with a CRC request
    // when it is registered, so that waits for it.
    let (serving_tx, serving_rx) = watch::channel(false);
    {
        let (store, damage, stop) = (store.clone(), Arc::clone(&damage), stop_rx.clone());
        tokio::task::spawn_blocking(move || match store.verify_live(&|| !*stop.borrow()) {
            Ok(Some(n)) => tracing::info!(values = n, "store checked"),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "store holds a damaged value; serving, but health reports it");
                let _ = damage.set(e.to_string());
            }
        });
    }
    let synced = store.sync_agents(&config.agents, Utc::now())?;
    tracing::debug!(changed = synced, "agents recorded");

    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(maintenance_loop(
        store.clone(),
        config.service.keep_sent_replies,
        stop_rx.clone(),
    )));
    let vitals = crate::vitals::Vitals::new(Arc::clone(&clock));
    let report_token = match &config.service.report_token {
        Some(env) => {
            Some(crate::config::secrets::read(env, &*secrets).map_err(|p| anyhow::anyhow!("{p}"))?)
        }
        None => None,
    };
    let report = report::routes(report::Shared {
        store: store.clone(),
        config: config.clone(),
        token: report_token,
        clock: Arc::clone(&clock),
    });
    let metrics = Metrics::new();
    let x = crate::twitter::runtime::start(
        &config,
        &store,
        &*secrets,
        &vitals,
        &metrics,
        &stop_rx,
        &serving_rx,
    )?;
    tasks.extend(x.tasks);

    let (events_tx, events_rx) = mpsc::channel(256);
    let platforms = chat_platforms(&config, &store, &*secrets, &metrics).await?;
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
    tasks.push(tokio::spawn(probe_loop(
        platforms.clone(),
        vitals.clone(),
        stop_rx.clone(),
    )));
    let relay = Relay::with_clock(
        config.clone(),
        store.clone(),
        platforms,
        x.clients,
        clock,
        metrics.clone(),
    );
    tasks.extend(relay.start(events_rx, stop_rx.clone()));
    tasks.push(tokio::spawn(crate::relay::digest_loop(
        Arc::clone(&relay),
        stop_rx.clone(),
    )));
    tasks.push(tokio::spawn(crate::relay::spending_loop(
        Arc::clone(&relay),
        stop_rx.clone(),
    )));
    if let Some(idle) = config.service.claim_idle_release {
        tasks.push(tokio::spawn(crate::relay::idle_release_loop(
            Arc::clone(&relay),
            store.clone(),
            idle,
            stop_rx.clone(),
        )));
    }

    let app = health::routes(health::Shared {
        store: store.clone(),
        damage,
        parked: relay.parked(),
        vitals,
        metrics,
        config: config.clone(),
    })
    .merge(report)
    .merge(x.routes)
    .merge(beside);
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "perch is running; health at /healthz");
    let mut server_stop = stop_rx.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = server_stop.wait_for(|stop| *stop).await;
    });
    let server = tokio::spawn(async move { server.await });
    serving_tx.send_replace(true);

    shutdown.await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    server.await??;
    // Everything that matters is in the store already: a task still
    // waiting on an unreachable platform past the grace is left behind
    // (the runtime drops it), so a stop is bounded.
    let joined = tokio::time::timeout(STOP_GRACE, async {
        for task in tasks {
            task.await?;
        }
        Ok::<_, tokio::task::JoinError>(())
    })
    .await;
    match joined {
        Ok(result) => result?,
        Err(_) => tracing::warn!(
            grace_s = STOP_GRACE.as_secs(),
            "some work did not stop in time (a platform is unreachable); stopping anyway"
        ),
    }
    store.flush()?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// How often each chat platform is asked whether it answers.
const PROBE_EVERY: Duration = Duration::from_secs(30);

/// Asks each chat platform every `PROBE_EVERY` whether it answers and
/// accepts the bot, for health (a platform can be down while nothing is
/// being posted to it).
async fn probe_loop(
    platforms: Vec<Arc<dyn ChatPlatform>>,
    vitals: crate::vitals::Vitals,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(PROBE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        for platform in &platforms {
            let name = platform.platform().name();
            let answer = tokio::select! {
                answer = tokio::time::timeout(Duration::from_secs(10), platform.probe()) => answer,
                _ = stop.wait_for(|s| *s) => return,
            };
            match answer {
                Ok(Ok(())) => vitals.ok(name),
                Ok(Err(e)) => vitals.failed(name, e, crate::vitals::PLATFORM_PATIENCE),
                Err(_) => vitals.failed(
                    name,
                    "no answer within 10 s",
                    crate::vitals::PLATFORM_PATIENCE,
                ),
            }
        }
    }
}

/// Hourly upkeep (`Store::compact`): forgets inbound event ids past their
/// expiry, so the `seen` tree stays the size of the dedupe window, and
/// replies delivered longer ago than `keep_sent`.
async fn maintenance_loop(store: Store, keep_sent: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let store = store.clone();
        match tokio::task::spawn_blocking(move || store.compact(Utc::now(), keep_sent)).await {
            Ok(Ok(done)) if done == crate::store::Compacted::default() => {}
            Ok(Ok(done)) => tracing::info!(
                inbound_ids = done.seen,
                sent_replies = done.replies,
                "store compacted"
            ),
            Ok(Err(e)) => tracing::error!(error = %e, "compacting the store failed; will retry"),
            Err(e) => tracing::error!(error = %e, "compacting the store stopped"),
        }
    }
}

/// Connects the chat platforms the config names: checks each bot token,
/// so a wrong one stops perch at start with the platform's answer.
async fn chat_platforms(
    config: &Config,
    store: &Store,
    lookup: &(dyn Fn(&str) -> Option<String> + Send + Sync),
    metrics: &Metrics,
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
        )?
        .with_metrics(metrics.clone());
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
        )
        .with_metrics(metrics.clone());
        platforms.push(Arc::new(DiscordAdapter::new(
            rest,
            discord.application_id,
            discord.guild_ids.clone(),
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
