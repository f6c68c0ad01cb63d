//! `forward @AcmeBilling [note]`: a customer wrote to the wrong brand
//! account. The ticket moves to the other account's queue and channels
//! (unclaimed, with its history and the note), its old threads say where
//! it went, and X's rule is kept: an account may answer in public only a
//! post that mentions it, so replies go by DM from the new account. A
//! public note from the original account ("we've passed this to …") is
//! offered to the agent with Send and Cancel, never sent on its own.

use super::people::Person;
use super::Commands;
use crate::chat::{Asking, ChatUser, Responder, Text};
use crate::config::SendMode;
use crate::store::{Delivery, OutboxEntry, Outgoing, StoreError};
use crate::ticket::{compose, last_customer_post, Command, Origin, ReplyChannel, Ticket};

impl Commands {
    /// Forwards `ticket` to the account named `to`; returns what to
    /// answer.
    pub(super) async fn forward(
        &self,
        key: &str,
        (person, author, responder): (&Person, &ChatUser, &Responder),
        ticket: &Ticket,
        (to, note): (&str, Option<String>),
    ) -> Result<Option<String>, StoreError> {
        let id = ticket.id;
        let accounts = &self.core.config.accounts;
        let Some(target) = accounts
            .iter()
            .find(|a| a.handle.eq_ignore_ascii_case(to) || a.key.as_str().eq_ignore_ascii_case(to))
        else {
            let known: Vec<String> = accounts.iter().map(|a| format!("@{}", a.handle)).collect();
            return Ok(Some(format!(
                "{id}: there is no account @{to} in perch's config; forward to {}.",
                known.join(" or ")
            )));
        };
        let from = self
            .core
            .config
            .account(&ticket.account)
            .map_or_else(|| ticket.account.to_string(), |a| a.handle.clone());
        // The public note, from the account the customer wrote to.
        let offer = (ticket.origin != Origin::Dm && ticket.can_reply_publicly)
            .then(|| {
                let words = format!(
                    "We've passed this to @{}, who will be in touch by DM.",
                    target.handle
                );
                compose(ticket, &person.initials, &words).ok()
            })
            .flatten();
        let number = self.core.store.next_outbox_id()?;
        let now = self.core.now();
        let note_entry = offer.map(|text| OutboxEntry {
            ticket: id,
            account: ticket.account.clone(),
            agent: person.actor.agent.clone(),
            text,
            channel: ReplyChannel::Public,
            created_at: now,
            delivery: Delivery::Unconfirmed,
            in_reply_to: last_customer_post(ticket),
            recipient: Some(ticket.customer.id.clone()),
            origin: None,
            auto: None,
            held_until: None,
            signature: Some(person.initials.clone()),
            prompt: None,
        });
        let command = Command::Forward {
            to: target.key.clone(),
            note: note.clone(),
        };
        let note_out = note_entry.as_ref().map(|e| (number, Outgoing::Entry(e)));
        let outcome = self.apply(key, person, id, &command, now, note_out).await?;
        if let Err(refusal) = outcome {
            return Ok(Some(format!("{id}: {refusal}")));
        }
        let line = format!(
            "↪ {id} forwarded to @{} by {}{}. It continues in @{}'s channels; replies go by DM from @{}.",
            target.handle,
            person.actor.agent.name,
            note.as_deref().map(|n| format!(": {n}")).unwrap_or_default(),
            target.handle,
            target.handle,
        );
        for thread in &ticket.threads {
            self.core.notify(
                thread,
                super::notices::Notice::Say(Text::Quoted(line.clone())),
            );
        }
        let mut answer = format!(
            "{id}: forwarded to @{} (unclaimed, with its history). X lets @{} answer in public only posts that mention it, so replies go by DM; to answer in public, `forward @{from}` back.",
            target.handle, target.handle
        );
        if note_entry.is_some() {
            let thread = ticket
                .threads
                .iter()
                .find(|th| th.platform() == author.platform);
            if let Some(thread) = thread {
                let asking = Asking {
                    thread,
                    agent: author,
                    privately: true,
                    responder: Some(responder),
                };
                if self.ask_about(number, &SendMode::Confirm, &asking).await? {
                    answer.push_str(&format!(
                        " A public note to the customer from @{from} waits for you to press Send, if you want them to know."
                    ));
                }
            }
        }
        Ok(Some(answer))
    }
}
