//! The outbox: replies to post to X. A reply is written here before
//! anything is sent, so a crash between "agent wrote it" and "X has it"
//! neither loses it nor, with reconciliation, sends it twice.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use std::convert::Infallible;

use sled::Transactional;

use super::index::reindex_entry;
use super::tickets::write;
use super::{abort, codec, finish, Store, StoreError, TxResult};
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
        let key = codec::number_key(id);
        let result = (&self.outbox, &self.outbox_index).transaction(
            |(outbox, index)| -> TxResult<(), Infallible> {
                write(outbox, &key, entry)?;
                reindex_entry(index, id, None, Some(entry))
            },
        );
        finish(result)?.unwrap_or_else(|never| match never {});
        self.flush()?;
        Ok(id)
    }

    /// A number for an entry written inside a ticket transaction (taken
    /// before it: the counter must not be part of one).
    pub fn next_outbox_id(&self) -> Result<OutboxId, StoreError> {
        self.next_number()
    }

    pub fn outbox_entry(&self, id: OutboxId) -> Result<Option<OutboxEntry>, StoreError> {
        self.get(&self.outbox, "outbox", &codec::number_key(id))
    }

    /// The entries of the outbox index's `classes`, oldest first.
    fn entries_in(&self, classes: &[&str]) -> Result<Vec<(OutboxId, OutboxEntry)>, StoreError> {
        let mut ids = Vec::new();
        for class in classes {
            ids.extend(self.outbox_class(class)?);
        }
        ids.sort_unstable();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(entry) = self.outbox_entry(id)? {
                out.push((id, entry));
            }
        }
        Ok(out)
    }

    /// Entries not yet sent, failed or taken back, oldest first (those
    /// still waiting for their agent included).
    pub fn undelivered(&self) -> Result<Vec<(OutboxId, OutboxEntry)>, StoreError> {
        self.entries_in(&["waiting", "agent"])
    }

    /// How many replies wait to be sent (or checked), how many of those
    /// X's rate limit holds at `now`, and how many failed.
    pub fn outbox_counts(&self, now: DateTime<Utc>) -> Result<OutboxCounts, StoreError> {
        let mut counts = OutboxCounts {
            awaiting_agent: self.outbox_class("agent")?.len(),
            failed: self.outbox_class("failed")?.len(),
            ..OutboxCounts::default()
        };
        for (_, e) in self.entries_in(&["waiting"])? {
            counts.waiting += 1;
            if e.held_until.is_some_and(|until| until > now) {
                counts.held += 1;
            } else {
                let due = e.held_until.unwrap_or(e.created_at).max(e.created_at);
                counts.oldest_due = Some(counts.oldest_due.map_or(due, |o| o.min(due)));
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
        let result = (&self.outbox, &self.outbox_index).transaction(
            |(outbox, index)| -> TxResult<bool, Infallible> {
                let Some(bytes) = outbox.get(key.as_bytes())? else {
                    return Ok(false);
                };
                let old: OutboxEntry =
                    codec::decode("outbox", key.as_bytes(), &bytes).or_else(abort)?;
                if &old.delivery != from {
                    return Ok(false);
                }
                let mut entry = old.clone();
                change(&mut entry);
                write(outbox, &key, &entry)?;
                reindex_entry(index, id, Some(&old), Some(&entry))?;
                Ok(true)
            },
        );
        let revised = finish(result)?.unwrap_or_else(|never| match never {});
        if revised {
            self.flush()?;
        }
        Ok(revised)
    }

    /// The entry written from the chat message `written`, if any.
    pub fn entry_from(
        &self,
        written: &crate::chat::Written,
    ) -> Result<Option<(OutboxId, OutboxEntry)>, StoreError> {
        let Some(id) = self.outbox_by_origin(written)? else {
            return Ok(None);
        };
        Ok(self.outbox_entry(id)?.map(|e| (id, e)))
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

/// What `compact` forgot.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Compacted {
    /// Inbound ids past their dedupe window.
    pub seen: usize,
    /// Replies delivered (or taken back) before the retention.
    pub replies: usize,
}

impl Store {
    /// The store's upkeep: forgets inbound ids past their expiry and the
    /// replies delivered before `keep_sent` ago. Run hourly by the
    /// service, and by `perch compact`.
    pub fn compact(
        &self,
        now: DateTime<Utc>,
        keep_sent: std::time::Duration,
    ) -> Result<Compacted, StoreError> {
        let keep = chrono::Duration::from_std(keep_sent).unwrap_or(chrono::Duration::MAX);
        Ok(Compacted {
            seen: self.purge_seen(now)?,
            replies: self.forget_delivered(now.checked_sub_signed(keep).unwrap_or(now))?,
        })
    }

    /// Forgets the replies that went to X (or were taken back) before
    /// `before`: the ticket keeps each as a message and the audit log its
    /// history, so only the delivery record goes. Returns how many.
    pub fn forget_delivered(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut done = Vec::new();
        for item in self.outbox.iter() {
            let (key, value) = item?;
            let entry: OutboxEntry = codec::decode("outbox", &key, &value)?;
            let delivered = match &entry.delivery {
                Delivery::Sent { at, .. } | Delivery::Withdrawn { at, .. } => *at < before,
                _ => false,
            };
            if let (true, Ok(number)) = (delivered, codec::show_key(&key).parse::<OutboxId>()) {
                done.push((number, entry));
            }
        }
        for chunk in done.chunks(1000) {
            let result = (&self.outbox, &self.outbox_index).transaction(
                |(outbox, index)| -> TxResult<(), Infallible> {
                    for (number, entry) in chunk {
                        outbox.remove(codec::number_key(*number).as_bytes())?;
                        reindex_entry(index, *number, Some(entry), None)?;
                    }
                    Ok(())
                },
            );
            finish(result)?.unwrap_or_else(|never| match never {});
        }
        self.flush()?;
        Ok(done.len())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::pending_reply;
    use super::*;
    use crate::testing::t0;

    #[test]
    fn compaction_forgets_only_replies_delivered_before_the_retention() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("open");
        let now = t0() + chrono::Duration::days(60);
        let sent = |days: i64| Delivery::Sent {
            x_ref: XRef::Tweet { id: "555".into() },
            at: now - chrono::Duration::days(days),
        };
        let origin = |ts: &str| crate::chat::MessageRef {
            thread: crate::ticket::ChatThread::Slack {
                channel: "C1".into(),
                thread_ts: "1700000000.000100".into(),
            },
            id: ts.into(),
        };
        let mut ids = Vec::new();
        for (ts, delivery) in [
            ("1.1", sent(40)),
            ("1.2", sent(1)),
            ("1.3", Delivery::Pending),
        ] {
            let entry = OutboxEntry {
                delivery,
                ..pending_reply(Some(origin(ts)))
            };
            ids.push(store.enqueue(&entry).expect("enqueue"));
        }
        let month = std::time::Duration::from_secs(30 * 24 * 3600);
        let done = store.compact(now, month).expect("compact");
        assert_eq!(done.replies, 1);
        assert_eq!(store.outbox_entry(ids[0]).expect("read"), None);
        assert!(store.outbox_entry(ids[1]).expect("read").is_some());
        let written = |ts: &str| crate::chat::Written {
            platform: crate::chat::Platform::Slack,
            channel: "C1".to_owned(),
            id: ts.into(),
        };
        assert_eq!(store.entry_from(&written("1.1")).expect("origin"), None);
        assert!(store.entry_from(&written("1.2")).expect("origin").is_some());
        assert_eq!(store.undelivered().expect("waiting").len(), 1);
        assert_eq!(store.compact(now, month).expect("again").replies, 0);
    }
}
