//! Bringing each ticket's threads up to date: a card and thread on every
//! route of its account, the card redrawn when the ticket changed, and the
//! customer's later messages (and perch's automatic replies) posted in the
//! thread.
//!
//! A card is posted at most once per route: before posting, the route's
//! view says a card is being opened; if perch stops before the thread is
//! linked, the channel is searched for the card before another is posted.

use std::collections::{BTreeSet, HashMap};

use super::Threads;
use crate::chat::{Card, ChatError, ChatPlatform, Platform, Text};
use crate::config::Account;
use crate::store::StoreError;
use crate::ticket::{Author, AutoReply, ChatThread, Message, Priority, Ticket, TicketId, XRef};

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

/// A route by name, for a loop of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RouteKey {
    platform: Platform,
    channel: String,
}

/// The channels an account's tickets are shown in, on either platform.
fn channels(account: &Account) -> impl Iterator<Item = (Platform, &str)> {
    let slack = account
        .routes
        .slack_channels
        .iter()
        .map(|c| (Platform::Slack, c.as_str()));
    let discord = account
        .routes
        .discord_channels
        .iter()
        .map(|c| (Platform::Discord, c.as_str()));
    slack.chain(discord)
}

/// The messages a thread relays: the customer's, perch's own replies and
/// what the team wrote in X's own app; agents' replies are shown as they
/// are sent.
fn relayed(ticket: &Ticket) -> impl Iterator<Item = &Message> {
    ticket
        .messages
        .iter()
        .filter(|m| !matches!(m.author, Author::Agent { .. }))
}

/// Of the ticket's alarms, how many a thread opened now leaves unsaid:
/// all but the latest, and that one too unless it is about the wait the
/// customer is in now (an urgent call that fired before the card was up
/// is still said).
fn alarms_to_skip(ticket: &Ticket) -> usize {
    let fired = &ticket.alarms.fired;
    let current = fired.last().is_some_and(|f| {
        crate::ticket::targets::waiting(ticket).is_some() && Some(f.due_at) == ticket.alarms.due_at
    });
    fired.len() - usize::from(current)
}

impl Threads {
    fn routes(&self, ticket: &Ticket) -> Vec<Route<'_>> {
        let Some(account) = self.core.config.account(&ticket.account) else {
            return Vec::new();
        };
        channels(account)
            .filter_map(|(p, channel)| {
                self.core.platform(p).map(|platform| Route {
                    platform: platform.as_ref(),
                    channel: channel.to_owned(),
                })
            })
            .collect()
    }

    /// Every route perch shows tickets on: each channel of each account,
    /// on the platforms perch is connected to, once each. Each route has a
    /// loop of its own (`sync_threads_on`).
    pub(super) fn all_routes(&self) -> Vec<RouteKey> {
        let mut all: Vec<RouteKey> = Vec::new();
        for (platform, channel) in self.core.config.accounts.iter().flat_map(channels) {
            let key = RouteKey {
                platform,
                channel: channel.to_owned(),
            };
            if self.core.platform(platform).is_some() && !all.contains(&key) {
                all.push(key);
            }
        }
        all
    }

    /// Brings route `on`'s threads up to date: of the tickets that asked
    /// for it, the most urgent first (the oldest first within a priority),
    /// until none is left that this route has not tried in this pass. A
    /// ticket asking while the route works is taken in its turn by
    /// priority. Each route runs on its own: a slow or rate-limited
    /// platform or channel never holds back another's cards.
    ///
    /// A ticket leaves the queue once every route of it shows it; with
    /// `on` = `None` (perch has no chat route at all) the pass only does
    /// that.
    pub(super) async fn sync_threads_on(&self, on: Option<&RouteKey>) {
        let route = on.and_then(|on| {
            self.core.platform(on.platform).map(|platform| Route {
                platform: platform.as_ref(),
                channel: on.channel.clone(),
            })
        });
        let key = route.as_ref().map(Route::key);
        // What this pass has seen of the queue (ticket and revision), and
        // what is left for this route, by priority then age.
        let mut seen: HashMap<TicketId, u64> = HashMap::new();
        let mut plan: BTreeSet<(Priority, TicketId)> = BTreeSet::new();
        loop {
            if let Some(key) = &key {
                if !self.parked.may_try(key, self.core.now()) {
                    return;
                }
            }
            let wanted = match self.core.store.needs_sync() {
                Ok(w) => w,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read which threads need work; will retry");
                    return;
                }
            };
            for (id, revision) in wanted {
                if seen.insert(id, revision) == Some(revision) {
                    continue;
                }
                match self.core.store.ticket(id) {
                    Ok(Some(ticket)) => match &route {
                        Some(r)
                            if self.routes(&ticket).iter().any(|t| t.key() == r.key())
                                && !self.shows(r, &ticket) =>
                        {
                            plan.insert((ticket.priority, id));
                        }
                        _ => self.synced_if_shown(&ticket, revision),
                    },
                    Ok(None) => self.synced(id, revision),
                    Err(e) => {
                        tracing::error!(ticket = %id, error = %e, "cannot read a ticket to draw it")
                    }
                }
            }
            let (Some(route), Some(key), Some((_, id))) = (&route, &key, plan.pop_first()) else {
                return;
            };
            let ticket = match self.core.store.ticket(id) {
                Ok(Some(t)) => t,
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(ticket = %id, error = %e, "cannot read a ticket to draw it");
                    continue;
                }
            };
            let wanted = seen.get(&id).copied().unwrap_or(ticket.revision);
            match self.sync_route(route, &ticket).await {
                Ok(()) => {
                    self.parked.worked(key, self.core.now());
                    self.synced_if_shown(&ticket, wanted);
                }
                Err(SyncError::Chat(e)) if super::parked::blocks_route(&e) => {
                    // The route is broken, not this ticket: the rest wait
                    // with it, untried.
                    self.parked.failed(key, &e, self.core.now());
                    return;
                }
                Err(e) => {
                    let retry = matches!(&e, SyncError::Chat(c) if c.is_retryable());
                    tracing::warn!(ticket = %ticket.id, route = %key, error = %e, will_retry = retry, "cannot update a ticket thread");
                    if !retry {
                        self.give_up(key, &ticket, wanted);
                    }
                }
            }
        }
    }

    /// Whether `route` shows `ticket` as it is: its thread linked, the card
    /// at its revision, every message relayed.
    fn shows(&self, route: &Route<'_>, ticket: &Ticket) -> bool {
        if !ticket.threads.iter().any(|t| route.shows(t)) {
            return false;
        }
        match self.core.store.route_view(ticket.id, &route.key()) {
            Ok(view) => {
                view.opening_since.is_none()
                    && view.card_revision >= ticket.revision
                    && view.relayed >= relayed(ticket).count()
                    && view.alarms_said >= ticket.alarms.fired.len()
            }
            Err(_) => false,
        }
    }

    /// A thread the platform refuses for good (its card deleted by
    /// someone, a message refused): this revision is taken as drawn on
    /// `key`, so the ticket leaves the queue instead of being tried on
    /// every pass (which would spend the channel's rate limit for
    /// nothing); its next change tries again.
    fn give_up(&self, key: &str, ticket: &Ticket, wanted: u64) {
        let store = &self.core.store;
        let given_up = store.route_view(ticket.id, key).and_then(|mut view| {
            view.card_revision = ticket.revision;
            view.relayed = relayed(ticket).count();
            view.alarms_said = ticket.alarms.fired.len();
            store.set_route_view(ticket.id, key, &view)
        });
        match given_up {
            Ok(()) => self.synced_if_shown(ticket, wanted),
            Err(e) => {
                tracing::error!(ticket = %ticket.id, error = %e, "cannot record a thread given up")
            }
        }
    }

    /// Takes `ticket` off the queue once every route of it shows it.
    fn synced_if_shown(&self, ticket: &Ticket, revision: u64) {
        if self.routes(ticket).iter().all(|r| self.shows(r, ticket)) {
            self.synced(ticket.id, revision);
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
                view.alarms_said = alarms_to_skip(ticket);
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
        let relayed: Vec<_> = relayed(ticket).collect();
        while let Some(m) = relayed.get(view.relayed) {
            let text = match &m.author {
                Author::Auto { reply } => Text::Ours(self.auto_reply_line(ticket, *reply, m)),
                Author::Team => Text::Ours(format!(
                    "Sent from X's own app by the team (DM): {}\n{}",
                    m.text,
                    self.core.link(&ticket.account, &m.x_ref)
                )),
                _ => Text::Quoted(format!("@{}: {}", ticket.customer.handle, m.text)),
            };
            route.platform.post(&thread, &text).await?;
            view.relayed += 1;
            self.core.store.set_route_view(ticket.id, &key, &view)?;
        }
        while let Some(fired) = ticket.alarms.fired.get(view.alarms_said) {
            let line = self.core.alarm_line(ticket, fired);
            route.platform.post(&thread, &line).await?;
            view.alarms_said += 1;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{mention, t0};
    use crate::ticket::targets::{Fired, Step};
    use crate::ticket::TicketId;

    fn fired(step: Step, due_at: chrono::DateTime<chrono::Utc>) -> Fired {
        Fired {
            step,
            at: t0(),
            due_at,
            called: Vec::new(),
        }
    }

    #[test]
    fn a_thread_opened_after_an_alarm_still_says_the_current_one() {
        let mut t = Ticket::open(TicketId::new(1), mention(1));
        let due = t0() + chrono::Duration::minutes(15);
        t.alarms.due_at = Some(due);
        t.alarms.fired.push(fired(Step::Urgent, due));
        assert_eq!(
            alarms_to_skip(&t),
            0,
            "the urgent call fired before the card"
        );
        // An alarm of an earlier wait is history.
        t.alarms.due_at = Some(due + chrono::Duration::hours(2));
        assert_eq!(alarms_to_skip(&t), 1);
        // Answered: nothing is current.
        t.alarms.due_at = Some(due);
        t.last_response_at = Some(t0() + chrono::Duration::minutes(1));
        assert_eq!(alarms_to_skip(&t), 1);
    }
}
