//! Bringing each ticket's threads up to date: a card and thread on every
//! route of its account, the card redrawn when the ticket changed, and the
//! customer's later messages (and perch's automatic replies) posted in the
//! thread.
//!
//! A card is posted at most once per route: before posting, the route's
//! view says a card is being opened; if perch stops before the thread is
//! linked, the channel is searched for the card before another is posted.

use std::collections::{HashMap, HashSet};

use futures_util::future::join_all;

use super::Threads;
use crate::chat::{Card, ChatError, ChatPlatform, Platform, Text};
use crate::store::StoreError;
use crate::ticket::{Author, AutoReply, ChatThread, Message, Ticket, TicketId, XRef};

#[derive(Debug, thiserror::Error)]
enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Chat(#[from] ChatError),
}

/// A route: a platform and a channel on it.
struct Route<'a> {
    platform: &'a dyn ChatPlatform,
    channel: String,
}

impl Route<'_> {
    fn key(&self) -> String {
        format!("{}:{}", self.platform.platform().name(), self.channel)
    }

    fn shows(&self, thread: &ChatThread) -> bool {
        match thread {
            ChatThread::Slack { channel, .. } => {
                self.platform.platform() == Platform::Slack && channel.as_str() == self.channel
            }
            ChatThread::Discord { parent, .. } => {
                self.platform.platform() == Platform::Discord && parent.as_str() == self.channel
            }
        }
    }
}

impl Threads {
    fn routes(&self, ticket: &Ticket) -> Vec<Route<'_>> {
        let Some(account) = self.core.config.account(&ticket.account) else {
            return Vec::new();
        };
        let slack = account
            .routes
            .slack_channels
            .iter()
            .map(|c| (Platform::Slack, c.as_str().to_owned()));
        let discord = account
            .routes
            .discord_channels
            .iter()
            .map(|c| (Platform::Discord, c.as_str().to_owned()));
        slack
            .chain(discord)
            .filter_map(|(p, channel)| {
                self.core.platform(p).map(|platform| Route {
                    platform: platform.as_ref(),
                    channel,
                })
            })
            .collect()
    }

    /// Works through every ticket that asked for its threads to be synced.
    /// Each route (a channel) takes its tickets in order, side by side
    /// with the other routes: one channel's pacing or rate limit never
    /// holds back another channel's cards.
    pub(super) async fn sync_threads(&self) {
        let wanted = match self.core.store.needs_sync() {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(error = %e, "cannot read which threads need work; will retry");
                return;
            }
        };
        let mut tickets = Vec::new();
        for (id, revision) in wanted {
            match self.core.store.ticket(id) {
                Ok(Some(ticket)) => tickets.push((ticket, revision)),
                Ok(None) => self.synced(id, revision),
                Err(e) => {
                    tracing::error!(ticket = %id, error = %e, "cannot read a ticket to draw it")
                }
            }
        }
        let mut by_route: HashMap<String, (Route<'_>, Vec<&Ticket>)> = HashMap::new();
        for (ticket, _) in &tickets {
            for route in self.routes(ticket) {
                by_route
                    .entry(route.key())
                    .or_insert_with(|| (route, Vec::new()))
                    .1
                    .push(ticket);
            }
        }
        let behind: Vec<HashSet<TicketId>> = join_all(by_route.into_values().map(
            |(route, tickets)| async move {
                let key = route.key();
                let mut behind = HashSet::new();
                if !self.parked.may_try(&key, self.core.now()) {
                    behind.extend(tickets.iter().map(|t| t.id));
                    return behind;
                }
                for (i, ticket) in tickets.iter().enumerate() {
                    match self.sync_route(&route, ticket).await {
                        Ok(()) => self.parked.worked(&key, self.core.now()),
                        Err(SyncError::Chat(e)) if super::parked::blocks_route(&e) => {
                            // The route is broken, not this ticket: the
                            // rest wait with it, untried.
                            self.parked.failed(&key, &e, self.core.now());
                            behind.extend(tickets[i..].iter().map(|t| t.id));
                            break;
                        }
                        Err(e) => {
                            behind.insert(ticket.id);
                            let retry = matches!(&e, SyncError::Chat(c) if c.is_retryable());
                            tracing::warn!(ticket = %ticket.id, route = %key, error = %e, will_retry = retry, "cannot update a ticket thread");
                        }
                    }
                }
                behind
            },
        ))
        .await;
        for (ticket, revision) in &tickets {
            if !behind.iter().any(|b| b.contains(&ticket.id)) {
                self.synced(ticket.id, *revision);
            }
        }
    }

    /// Records that every route of ticket `id` shows `revision`.
    fn synced(&self, id: TicketId, revision: u64) {
        if let Err(e) = self.core.store.synced(id, revision) {
            tracing::error!(ticket = %id, error = %e, "cannot record a synced ticket");
        }
    }

    async fn sync_route(&self, route: &Route<'_>, ticket: &Ticket) -> Result<(), SyncError> {
        let key = route.key();
        let mut view = self.core.store.route_view(ticket.id, &key)?;
        let thread = match ticket.threads.iter().find(|t| route.shows(t)) {
            Some(t) => t.clone(),
            None => {
                let found = match view.opening_since {
                    Some(_) => route.platform.find_card(&route.channel, ticket.id).await?,
                    None => None,
                };
                let thread = match found {
                    Some(t) => {
                        tracing::info!(ticket = %ticket.id, route = %key, "found the card posted before a restart");
                        view.card_revision = 0;
                        t
                    }
                    None => {
                        view.opening_since = Some(self.core.now());
                        self.core.store.set_route_view(ticket.id, &key, &view)?;
                        let t = route
                            .platform
                            .open_thread(&route.channel, &Card::of(ticket))
                            .await?;
                        view.card_revision = ticket.revision;
                        t
                    }
                };
                self.core.store.link_thread(ticket.id, thread.clone())?;
                view.opening_since = None;
                view.relayed = 1;
                self.core.store.set_route_view(ticket.id, &key, &view)?;
                tracing::info!(ticket = %ticket.id, route = %key, "ticket thread opened");
                thread
            }
        };
        if view.card_revision < ticket.revision {
            route
                .platform
                .update_card(&thread, &Card::of(ticket))
                .await?;
            view.card_revision = ticket.revision;
            self.core.store.set_route_view(ticket.id, &key, &view)?;
        }
        // The customer's messages and perch's own replies; agents' replies
        // are shown as they are sent.
        let relayed: Vec<_> = ticket
            .messages
            .iter()
            .filter(|m| !matches!(m.author, Author::Agent { .. }))
            .collect();
        while let Some(m) = relayed.get(view.relayed) {
            let text = match &m.author {
                Author::Auto { reply } => Text::Ours(self.auto_reply_line(ticket, *reply, m)),
                _ => Text::Quoted(format!("@{}: {}", ticket.customer.handle, m.text)),
            };
            route.platform.post(&thread, &text).await?;
            view.relayed += 1;
            self.core.store.set_route_view(ticket.id, &key, &view)?;
        }
        Ok(())
    }

    fn auto_reply_line(&self, ticket: &Ticket, reply: AutoReply, m: &Message) -> String {
        let how = match &m.x_ref {
            XRef::Tweet { .. } => "public reply",
            XRef::DmEvent { .. } => "DM",
        };
        let link = self.core.link(&ticket.account, &m.x_ref);
        format!("perch sent the {reply} ({how}): {}\n{link}", m.text)
    }
}
