//! What the relay keeps for chat:
//!
//! - `chat_inbox`: a journal of chat events, written with their delivery id
//!   in one transaction (as X items are), so a delivery the adapter has
//!   acknowledged survives a crash until the relay has acted on it;
//! - `chat_views`: per ticket and route, how far its thread is drawn (the
//!   card's revision, how many customer messages and automatic replies are
//!   relayed and alarms said, and whether a card is being opened right
//!   now);
//! - `chat_sync`: the tickets whose threads need work, each with the
//!   revision that asked, written in the same transaction as the change.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::codec::{self, number_key};
use super::{Store, StoreError};
use crate::chat::{ChatEvent, Journal, JournalError, Platform};
use crate::ticket::{ChatThread, TicketId};

/// The chat journal as read: the events, and the values that would not
/// read as one.
#[derive(Debug, Default)]
pub struct ChatEvents {
    pub readable: Vec<(String, ChatEvent)>,
    pub damaged: Vec<(String, StoreError)>,
}

/// How far one route's thread of a ticket is drawn.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteView {
    /// Set before a card is posted and cleared once its thread is linked:
    /// if perch stops in between, the card's fate is unknown and the
    /// channel is searched for it before posting another.
    pub opening_since: Option<DateTime<Utc>>,
    /// The ticket revision the card shows.
    pub card_revision: u64,
    /// How many of the customer's messages the thread shows (the card
    /// shows the first).
    pub relayed: usize,
    /// How many of the ticket's response-target alarms the thread said.
    #[serde(default)]
    pub alarms_said: usize,
}

impl Journal for Store {
    fn record(
        &self,
        platform: Platform,
        key: &str,
        event: &ChatEvent,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, JournalError> {
        self.record_chat_event(platform.name(), key, event, window, now)
            .map_err(|e| JournalError(e.to_string()))
    }

    fn open_threads(&self, platform: Platform) -> Result<Vec<ChatThread>, JournalError> {
        let tickets = self.active().map_err(|e| JournalError(e.to_string()))?;
        Ok(tickets
            .into_iter()
            .flat_map(|t| t.threads)
            .filter(|thread| thread.platform() == platform)
            .collect())
    }
}

impl Store {
    /// Records a chat delivery unless its id was seen in the window: the
    /// event joins the journal and its id the seen ids in one transaction.
    /// `true` when it was new.
    pub fn record_chat_event(
        &self,
        namespace: &str,
        delivery_id: &str,
        event: &ChatEvent,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // Before the transaction: the counter must not be part of one.
        let key = number_key(self.next_number()?);
        let seen_key = format!("{namespace}/{delivery_id}");
        let value = codec::encode(event)?;
        self.record_once(&self.chat_inbox, &seen_key, &key, &value, ttl, now)
    }

    /// Chat events not yet acted on, oldest first.
    ///
    /// A value that does not read as an event does not stop the others:
    /// it stays where it is (nothing is lost) and comes back in `damaged`.
    pub fn chat_events(&self) -> Result<ChatEvents, StoreError> {
        let mut events = ChatEvents::default();
        for item in self.chat_inbox.iter() {
            let (key, value) = item?;
            match codec::decode::<ChatEvent>("chat_inbox", &key, &value) {
                Ok(event) => events.readable.push((codec::show_key(&key), event)),
                Err(e) => events.damaged.push((codec::show_key(&key), e)),
            }
        }
        Ok(events)
    }

    /// The relay is done with a chat event.
    pub fn take_chat_event(&self, key: &str) -> Result<(), StoreError> {
        self.chat_inbox.remove(key)?;
        self.flush()
    }

    pub fn route_view(&self, ticket: TicketId, route: &str) -> Result<RouteView, StoreError> {
        Ok(self
            .get(&self.chat_views, "chat_views", &view_key(ticket, route))?
            .unwrap_or_default())
    }

    pub fn set_route_view(
        &self,
        ticket: TicketId,
        route: &str,
        view: &RouteView,
    ) -> Result<(), StoreError> {
        self.put(&self.chat_views, &view_key(ticket, route), view)
    }

    /// Tickets whose threads need work, with the revision that asked.
    pub fn needs_sync(&self) -> Result<Vec<(TicketId, u64)>, StoreError> {
        Ok(self
            .all::<u64>(&self.chat_sync, "chat_sync")?
            .into_iter()
            .filter_map(|(k, rev)| k.parse().ok().map(|n| (TicketId::new(n), rev)))
            .collect())
    }

    /// Asks for a ticket's threads to be brought up to date.
    pub fn request_sync(&self, ticket: TicketId, revision: u64) -> Result<(), StoreError> {
        self.put(&self.chat_sync, &number_key(ticket.get()), &revision)
    }

    /// The threads show `revision`; `false` (and the request kept) when a
    /// newer change asked again meanwhile.
    pub fn synced(&self, ticket: TicketId, revision: u64) -> Result<bool, StoreError> {
        let done = self
            .chat_sync
            .compare_and_swap(
                number_key(ticket.get()),
                Some(codec::encode(&revision)?),
                None as Option<&[u8]>,
            )?
            .is_ok();
        if done {
            self.flush()?;
        }
        Ok(done)
    }
}

fn view_key(ticket: TicketId, route: &str) -> String {
    format!("{}/{route}", number_key(ticket.get()))
}
