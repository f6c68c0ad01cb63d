//! The outbox: replies to post to X. A reply is written here before
//! anything is sent, so a crash between "agent wrote it" and "X has it"
//! neither loses it nor, with reconciliation, sends it twice.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{codec, Store, StoreError};
use crate::chat::MessageRef;
use crate::ticket::{AccountKey, Agent, AutoReply, ReplyChannel, TicketId, TweetId, XRef, XUserId};

/// An outbox entry's number.
pub type OutboxId = u64;

/// Where a reply is in its journey to X.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Delivery {
    /// Waiting to be sent.
    Pending,
    /// Handed to X at `since`; if perch stops now, its fate is unknown and
    /// must be checked against the account's recent posts before resending.
    Sending {
        since: DateTime<Utc>,
        attempt: u32,
    },
    Sent {
        x_ref: XRef,
        at: DateTime<Utc>,
    },
    /// X refused it for good (the reason is shown to the agent).
    Failed {
        reason: String,
        at: DateTime<Utc>,
    },
    /// Written in `undo` mode: it goes at `until` unless the agent takes
    /// it back first; until then an edit of their message changes it.
    Scheduled {
        until: DateTime<Utc>,
    },
    /// Written in `confirm` mode (or naming someone on X): it goes only
    /// when the agent presses Send.
    Unconfirmed,
    /// The agent took it back before it went (`how`: undone, cancelled,
    /// their message deleted).
    Withdrawn {
        how: String,
        at: DateTime<Utc>,
    },
}

impl Delivery {
    /// Whether it still waits for the agent (and may be edited or taken
    /// back).
    pub fn awaits_agent(&self) -> bool {
        matches!(self, Self::Scheduled { .. } | Self::Unconfirmed)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub ticket: TicketId,
    pub account: AccountKey,
    pub agent: Agent,
    /// The full text as it goes to X, signature included.
    pub text: String,
    pub channel: ReplyChannel,
    pub created_at: DateTime<Utc>,
    pub delivery: Delivery,
    /// The customer's post a public reply answers.
    #[serde(default)]
    pub in_reply_to: Option<TweetId>,
    /// Whom a DM goes to.
    #[serde(default)]
    pub recipient: Option<XUserId>,
    /// The agent's chat message it came from (marked as it travels).
    #[serde(default)]
    pub origin: Option<MessageRef>,
    /// Set when perch sends it on its own (`agent` is then perch).
    #[serde(default)]
    pub auto: Option<AutoReply>,
    /// When X's rate limit last held it, it was to go then (the agent was
    /// told, once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_until: Option<DateTime<Utc>>,
    /// The agent's initials, to sign an edited text again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// perch's message with the Undo or Send button, redrawn when the
    /// reply goes or is taken back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<MessageRef>,
}

/// What the outbox holds, for health.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Not yet sent (or still to be checked on X).
    pub waiting: usize,
    /// Of those, held by X's rate limit now.
    pub held: usize,
    /// Refused by X for good.
    pub failed: usize,
    /// In their undo window, or waiting for Send.
    pub awaiting_agent: usize,
    /// Since when the longest-waiting reply perch should have sent (not
    /// held by X's limit) has been due.
    pub oldest_due: Option<DateTime<Utc>>,
}

impl Store {
    /// Adds a reply to send; returns its number.
    pub fn enqueue(&self, entry: &OutboxEntry) -> Result<OutboxId, StoreError> {
        let id = self.next_outbox_id()?;
        self.put(&self.outbox, &codec::number_key(id), entry)?;
        Ok(id)
    }

    /// A number for an entry written inside a ticket transaction (sled's
    /// id generator must not run in one).
    pub fn next_outbox_id(&self) -> Result<OutboxId, StoreError> {
        Ok(self.db.generate_id()?)
    }

    pub fn outbox_entry(&self, id: OutboxId) -> Result<Option<OutboxEntry>, StoreError> {
        self.get(&self.outbox, "outbox", &codec::number_key(id))
    }

    /// Entries not yet sent, failed or taken back, oldest first (those
    /// still waiting for their agent included).
    pub fn undelivered(&self) -> Result<Vec<(OutboxId, OutboxEntry)>, StoreError> {
        Ok(self
            .all::<OutboxEntry>(&self.outbox, "outbox")?
            .into_iter()
            .filter(|(_, e)| {
                matches!(
                    e.delivery,
                    Delivery::Pending
                        | Delivery::Sending { .. }
                        | Delivery::Scheduled { .. }
                        | Delivery::Unconfirmed
                )
            })
            .filter_map(|(k, e)| k.parse().ok().map(|id| (id, e)))
            .collect())
    }

    /// How many replies wait to be sent (or checked), how many of those
    /// X's rate limit holds at `now`, and how many failed.
    pub fn outbox_counts(&self, now: DateTime<Utc>) -> Result<OutboxCounts, StoreError> {
        let mut counts = OutboxCounts::default();
        for (_, e) in self.all::<OutboxEntry>(&self.outbox, "outbox")? {
            match e.delivery {
                Delivery::Scheduled { .. } | Delivery::Unconfirmed => counts.awaiting_agent += 1,
                Delivery::Pending | Delivery::Sending { .. } => {
                    counts.waiting += 1;
                    if e.held_until.is_some_and(|until| until > now) {
                        counts.held += 1;
                    } else {
                        let due = e.held_until.unwrap_or(e.created_at).max(e.created_at);
                        counts.oldest_due = Some(counts.oldest_due.map_or(due, |o| o.min(due)));
                    }
                }
                Delivery::Failed { .. } => counts.failed += 1,
                Delivery::Sent { .. } | Delivery::Withdrawn { .. } => {}
            }
        }
        Ok(counts)
    }

    /// Rewrites an entry still in `from` with `change` (an edited text, its
    /// prompt); `false` (and nothing written) if it moved on meanwhile.
    pub fn revise_entry(
        &self,
        id: OutboxId,
        from: &Delivery,
        change: impl Fn(&mut OutboxEntry),
    ) -> Result<bool, StoreError> {
        let key = codec::number_key(id);
        let Some(bytes) = self.outbox.get(&key)? else {
            return Ok(false);
        };
        let mut entry: OutboxEntry = codec::decode("outbox", key.as_bytes(), &bytes)?;
        if &entry.delivery != from {
            return Ok(false);
        }
        change(&mut entry);
        let swapped = self
            .outbox
            .compare_and_swap(&key, Some(bytes), Some(codec::encode(&entry)?))?
            .is_ok();
        if swapped {
            self.flush()?;
        }
        Ok(swapped)
    }

    /// The entry written from the chat message `written`, if any.
    pub fn entry_from(
        &self,
        written: &crate::chat::Written,
    ) -> Result<Option<(OutboxId, OutboxEntry)>, StoreError> {
        Ok(self
            .all::<OutboxEntry>(&self.outbox, "outbox")?
            .into_iter()
            .filter(|(_, e)| e.origin.as_ref().is_some_and(|o| written.is(o)))
            .find_map(|(k, e)| k.parse().ok().map(|id| (id, e))))
    }

    /// Moves an entry from `from` to `to`; `false` (and nothing written) if
    /// it was no longer in `from`, so two workers never both send it.
    pub fn set_delivery(
        &self,
        id: OutboxId,
        from: &Delivery,
        to: Delivery,
    ) -> Result<bool, StoreError> {
        self.revise_entry(id, from, |e| e.delivery = to.clone())
    }
}
