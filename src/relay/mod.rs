//! The relay: X items become ticket threads, and what people do in those
//! threads becomes claims, notes and replies on X.
//!
//! Everything it acts on is in the store first, and each step consumes its
//! input in the same transaction as its result, so a crash anywhere
//! repeats at most a step that is checked before it is repeated:
//!
//! - `inbound`: the X inbox -> tickets (opened, or the message added),
//!   with the off-hours or welcome reply (`auto_reply`) of a new one;
//! - `threads`: tickets that asked for it (`chat_sync`) -> a card and
//!   thread on every route, redrawn cards, the customer's follow-ups; one
//!   loop per route, each at its platform's pace, most urgent first;
//! - `commands`: the chat journal -> the state machine, answers, and
//!   replies written to the outbox with the ticket change;
//! - `to_x`: the outbox -> X, reconciled against the account's own posts
//!   before anything whose fate is unknown is sent again.
//!
//! Each step is a struct that owns what only it uses (`Inbound`,
//! `Threads`, `Commands` with the roles and the claim policy, `Outbox` with
//! the X clients and the rate-limit holds) beside the `Core` all share; the
//! `speaking` functions are how any of them talks in chat.

mod alarms;
mod auto_reply;
mod commands;
mod digest;
mod forward;
mod holding;
mod idle;
mod inbound;
mod not_before;
mod notices;
mod oncall;
mod parked;
mod people;
mod posting;
mod replies;
pub mod reports;
mod saved;
mod speaking;
mod spending;
mod threads;
mod to_x;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

use crate::chat::{ChatEvent, ChatPlatform, Platform, Text};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::store::Store;
use crate::ticket::{AccountKey, ChatThread, Policy, Ticket, Transition, XRef};
use crate::twitter::XClient;

pub use digest::{digest_loop, last_moment};
pub use idle::{idle_release_loop, release_idle_claims};
pub use parked::Parked;
pub use people::Roles;
pub use spending::spending_loop;

/// How often each loop looks for work it was not woken for.
const TICK: Duration = Duration::from_millis(500);

/// What every step shares: the config, the store, the chat platforms and
/// the notices queued for them, the clock, and each loop's wake-up.
pub(crate) struct Core {
    config: Config,
    store: Store,
    platforms: Vec<Arc<dyn ChatPlatform>>,
    notices: notices::Notices,
    clock: Arc<dyn Clock>,
    metrics: crate::metrics::Metrics,
    wake: Wake,
    /// Journal keys whose damage was logged already (once each).
    damaged: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// Wakes a loop that another step just gave work.
struct Wake {
    /// Every route's thread loop (each keeps its own "rung since I last
    /// looked").
    threads: watch::Sender<()>,
    commands: Notify,
    outbox: Notify,
    alarms: Notify,
}

impl Default for Wake {
    fn default() -> Self {
        Self {
            threads: watch::Sender::new(()),
            commands: Notify::new(),
            outbox: Notify::new(),
            alarms: Notify::new(),
        }
    }
}

/// What wakes a loop before its tick.
enum Wakeup {
    By(fn(&Relay) -> &Notify),
    Rung(watch::Receiver<()>),
}

/// The X inbox into tickets.
pub(crate) struct Inbound {
    core: Arc<Core>,
}

/// Tickets into cards and threads.
pub(crate) struct Threads {
    core: Arc<Core>,
    parked: Parked,
}

/// The chat journal into the state machine, answers and replies.
pub(crate) struct Commands {
    core: Arc<Core>,
    roles: Roles,
    policy: Policy,
}

/// The outbox onto X.
pub(crate) struct Outbox {
    core: Arc<Core>,
    x: HashMap<AccountKey, Arc<XClient>>,
    not_before: to_x::NotBefore,
}

/// The relay's four steps, each run by a loop of its own. Built once by
/// the service.
pub struct Relay {
    core: Arc<Core>,
    inbound: Inbound,
    threads: Threads,
    commands: Commands,
    outbox: Outbox,
}

impl Relay {
    pub fn new(
        config: Config,
        store: Store,
        platforms: Vec<Arc<dyn ChatPlatform>>,
        x: HashMap<AccountKey, Arc<XClient>>,
    ) -> Arc<Self> {
        Self::with_clock(
            config,
            store,
            platforms,
            x,
            Arc::new(SystemClock),
            crate::metrics::Metrics::default(),
        )
    }

    /// A relay on `clock` (tests move time by hand), counting into
    /// `metrics`.
    pub fn with_clock(
        config: Config,
        store: Store,
        platforms: Vec<Arc<dyn ChatPlatform>>,
        x: HashMap<AccountKey, Arc<XClient>>,
        clock: Arc<dyn Clock>,
        metrics: crate::metrics::Metrics,
    ) -> Arc<Self> {
        let policy = Policy {
            require_explicit_claim: config.service.require_explicit_claim,
            idle_release: config
                .service
                .claim_idle_release
                .and_then(|d| chrono::Duration::from_std(d).ok()),
        };
        let roles = Roles::new(&config, platforms.clone());
        let core = Arc::new(Core {
            config,
            store,
            platforms,
            notices: notices::Notices::default(),
            clock,
            metrics,
            wake: Wake::default(),
            damaged: std::sync::Mutex::default(),
        });
        Arc::new(Self {
            inbound: Inbound {
                core: Arc::clone(&core),
            },
            threads: Threads {
                core: Arc::clone(&core),
                parked: Parked::default(),
            },
            commands: Commands {
                core: Arc::clone(&core),
                roles,
                policy,
            },
            outbox: Outbox {
                core: Arc::clone(&core),
                x,
                not_before: to_x::NotBefore::default(),
            },
            core,
        })
    }

    /// The relay's time (the system's, unless made `with_clock`).
    fn now(&self) -> DateTime<Utc> {
        self.core.now()
    }

    /// The routes parked until a person fixes them (for health).
    pub fn parked(&self) -> Parked {
        self.threads.parked.clone()
    }

    /// Tells people what a change made outside chat (an idle release)
    /// means for them; the cards follow through the thread loop.
    pub async fn announce(&self, transition: &Transition) {
        for effect in &transition.effects {
            if let crate::ticket::Effect::NotifyAgent { agent, text } = effect {
                tracing::info!(ticket = %transition.ticket.id, agent = %agent.id, "{text}");
            }
        }
        self.core.wake_threads();
        self.core.carry_out(transition).await;
    }

    /// Starts the relay's loops; they stop when `stop` turns true. Chat
    /// events arriving on `events` only wake the command loop: the events
    /// themselves are read from the store's journal.
    pub fn start(
        self: &Arc<Self>,
        mut events: mpsc::Receiver<ChatEvent>,
        stop: watch::Receiver<bool>,
    ) -> Vec<JoinHandle<()>> {
        let forward = {
            let relay = Arc::clone(self);
            let mut stop = stop.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        got = events.recv() => match got {
                            Some(_) => relay.core.wake.commands.notify_one(),
                            None => return,
                        },
                        _ = stop.wait_for(|s| *s) => return,
                    }
                }
            })
        };
        let mut loops = vec![
            forward,
            self.every(
                "inbound",
                &stop,
                Wakeup::By(|r| r.core.store.inbox_arrivals()),
                |r| async move { r.inbound.take_inbox() },
            ),
            self.every(
                "commands",
                &stop,
                Wakeup::By(|r| &r.core.wake.commands),
                |r| async move { r.commands.handle_chat_events().await },
            ),
            self.every(
                "outbox",
                &stop,
                Wakeup::By(|r| &r.core.wake.outbox),
                |r| async move { r.outbox.drain_outbox().await },
            ),
        ];
        // The response targets' alarms and the follow-ups: at start every
        // active ticket is planned again (the config may differ).
        {
            let started = Arc::new(std::sync::atomic::AtomicBool::new(false));
            loops.push(self.every(
                "alarms",
                &stop,
                Wakeup::By(|r| &r.core.wake.alarms),
                move |r| {
                    let everything = !started.swap(true, std::sync::atomic::Ordering::SeqCst);
                    async move {
                        if let Err(e) = r.run_alarms(everything) {
                            tracing::error!(error = %e, "cannot check the response targets' alarms; will retry");
                        }
                    }
                },
            ));
        }
        // One thread loop per route, so that each platform and channel
        // goes at its own pace; without routes, one that clears the queue.
        let routes = self.threads.all_routes();
        let routes: Vec<Option<threads::RouteKey>> = if routes.is_empty() {
            vec![None]
        } else {
            routes.into_iter().map(Some).collect()
        };
        for route in routes {
            let rung = Wakeup::Rung(self.core.wake.threads.subscribe());
            loops.push(self.every("threads", &stop, rung, move |r| {
                let route = route.clone();
                async move { r.threads.sync_threads_on(route.as_ref()).await }
            }));
        }
        loops
    }

    /// Runs `step` (counted as `name`) now, then again each tick or when
    /// `wakeup` says so, until `stop`.
    fn every<F, Fut>(
        self: &Arc<Self>,
        name: &'static str,
        stop: &watch::Receiver<bool>,
        mut wakeup: Wakeup,
        step: F,
    ) -> JoinHandle<()>
    where
        F: Fn(Arc<Relay>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let relay = Arc::clone(self);
        let mut stop = stop.clone();
        tokio::spawn(async move {
            loop {
                step(Arc::clone(&relay)).await;
                relay.core.metrics.relay_pass(name);
                let woken = async {
                    match &mut wakeup {
                        Wakeup::By(notify) => notify(&relay).notified().await,
                        Wakeup::Rung(rung) => {
                            if rung.changed().await.is_err() {
                                std::future::pending::<()>().await;
                            }
                        }
                    }
                };
                tokio::select! {
                    () = woken => {}
                    () = tokio::time::sleep(TICK) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        })
    }
}

impl Core {
    /// The relay's time (the system's, unless made `with_clock`).
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Wakes every route's thread loop: a ticket asked to be drawn.
    fn wake_threads(&self) {
        self.wake.threads.send_replace(());
        // A ticket changed: its alarms may need planning.
        self.wake.alarms.notify_one();
    }

    /// Where people can see something the account sent: a post's address,
    /// or "by DM".
    fn link(&self, account: &AccountKey, sent: &XRef) -> String {
        match sent {
            XRef::Tweet { id } => {
                let handle = self
                    .config
                    .account(account)
                    .map_or("i", |a| a.handle.as_str());
                format!("https://x.com/{handle}/status/{id}")
            }
            XRef::DmEvent { .. } => "by DM".to_owned(),
        }
    }

    /// `true` the first time a damaged journal `key` is seen.
    fn reported_damage(&self, key: &str) -> bool {
        self.damaged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key.to_owned())
    }

    fn platform(&self, which: Platform) -> Option<&Arc<dyn ChatPlatform>> {
        self.platforms.iter().find(|p| p.platform() == which)
    }

    /// Queues `notice` for `thread`, said in the background in order.
    fn notify(&self, thread: &ChatThread, notice: notices::Notice) {
        if let Some(platform) = self.platform(thread.platform()) {
            self.notices.push(platform, thread, notice);
        }
    }

    /// Queues `text` for every thread of `ticket` but `except`.
    fn notify_everywhere(&self, ticket: &Ticket, text: &Text, except: Option<&ChatThread>) {
        for thread in ticket.threads.iter().filter(|t| Some(*t) != except) {
            self.notify(thread, notices::Notice::Say(text.clone()));
        }
    }
}
