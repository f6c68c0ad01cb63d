//! What a person writes in a ticket thread: a reply to the customer
//! (its chat markup read as X text, composed, checked, written to the
//! outbox with the claim it takes, in one transaction with the chat
//! event), a note, a command written to perch, or internal discussion.

use super::commands::Handled;
use super::holding::waiting_for_agent;
use super::people::Person;
use super::Commands;
use crate::chat::{Asking, ChatUser, MessageRef, Reaction};
use crate::config::SendMode;
use crate::store::{Also, OutboxId, Outgoing, StoreError};
use crate::ticket::grammar::{self};
use crate::ticket::{
    self, compose, Command, ComposeError, Refusal, Role, Ticket, TicketId, Transition,
};

/// How long a message in a thread perch does not know is kept in case the
/// thread turns out to be a ticket's.
const UNKNOWN_THREAD_GRACE: chrono::Duration = chrono::Duration::minutes(10);

impl Commands {
    /// A person wrote in a thread: a reply to the customer, a note, or
    /// internal discussion.
    pub(super) async fn thread_message(
        &self,
        key: &str,
        message: MessageRef,
        author: ChatUser,
        text: String,
        files: Vec<String>,
    ) -> Result<Handled, StoreError> {
        let Some(ticket) = self.core.store.ticket_for_thread(&message.thread)? else {
            // Not a ticket thread, or not yet known as one: a card's thread
            // is linked just after the platform answered, and after a
            // crash only when the card is found again. Kept for a while.
            let age = message
                .written_at()
                .map_or(chrono::Duration::MAX, |at| self.core.now() - at);
            if age < UNKNOWN_THREAD_GRACE {
                return Ok(Handled::Later);
            }
            return Ok(Handled::Done);
        };
        let person = self.roles.resolve(&author).await;
        if let Some(note) = grammar::internal_note(&text) {
            self.internal_note(key, &ticket, &person, note)?;
            return Ok(Handled::Done);
        }
        if person.actor.role == Role::Outsider {
            self.core.tell(
                &author,
                &message.thread,
                &format!(
                    "Only support agents' messages go to the customer; yours stays here in the thread. {}",
                    Refusal::NotAnAgent
                ),
            )
            .await;
            return Ok(Handled::Done);
        }
        if let Some(command) = grammar::addressed_to_perch(&text) {
            // Meant for perch: done as a command, or answered with help,
            // and never posted.
            let responder = self.core.responder_in(&author, &message.thread);
            self.command(key, &author, command, Some(&message.thread), &responder)
                .await?;
            return Ok(Handled::Done);
        }
        if !files.is_empty() {
            let why = format!(
                "perch sends words only, so {} would not reach the customer. Put a link to it in your words, or send it from X",
                files.join(", ")
            );
            self.refused(&author, &message, &why, false).await;
            return Ok(Handled::Done);
        }
        let words = match self.core.platform(message.thread.platform()) {
            Some(p) => p.plain_text(&text).await,
            None => text,
        };
        let composed = match compose(&ticket, &person.initials, &words) {
            Ok(c) => c,
            Err(e) => {
                let in_thread = matches!(e, ComposeError::TooLong { .. });
                self.refused(&author, &message, &e.to_string(), in_thread)
                    .await;
                return Ok(Handled::Done);
            }
        };
        let mode = self.mode_for(&ticket, &composed);
        let outcome = self
            .write_reply(key, ticket.id, &person, &words, Some(&message), &mode)
            .await?;
        match outcome {
            Ok((number, _)) => {
                self.core.mark(&message, Reaction::Pending).await;
                let asking = Asking {
                    thread: &message.thread,
                    agent: &author,
                    privately: true,
                    responder: None,
                };
                self.ask_about(number, &mode, &asking).await?;
            }
            Err(refusal) => {
                let why = not_sent(&refusal, ticket.id);
                self.core.tell(&author, &message.thread, &why).await;
            }
        }
        Ok(Handled::Done)
    }

    /// `// words` or `(words)` in a thread: a note on the ticket, by an
    /// agent (an outsider's is ignored); the event is consumed with it.
    fn internal_note(
        &self,
        key: &str,
        ticket: &Ticket,
        person: &Person,
        note: &str,
    ) -> Result<(), StoreError> {
        if person.actor.role != Role::Outsider && !note.is_empty() {
            let outcome = self.core.store.update_ticket_also(
                ticket.id,
                Some(&person.actor.agent),
                self.core.now(),
                |t| {
                    ticket::apply(
                        t,
                        Command::Note {
                            text: note.to_owned(),
                        },
                        &person.actor,
                        self.core.now(),
                        &self.policy,
                    )
                },
                &Also {
                    chat_event: Some(key),
                    ..Also::default()
                },
            )?;
            if let Err(refusal) = outcome {
                tracing::debug!(ticket = %ticket.id, %refusal, "note not recorded");
            }
        }
        Ok(())
    }

    /// Writes an agent's reply to the outbox, with the claim it may take
    /// and the chat event it answers, in one transaction; it waits for the
    /// agent as `mode` says. `origin` is the agent's message, marked as the
    /// reply travels. The reply's number with the change.
    pub(super) async fn write_reply(
        &self,
        key: &str,
        ticket: TicketId,
        person: &Person,
        words: &str,
        origin: Option<&MessageRef>,
        mode: &SendMode,
    ) -> Result<Result<(OutboxId, Transition), Refusal>, StoreError> {
        let number = self.core.store.next_outbox_id()?;
        let now = self.core.now();
        let delivery = waiting_for_agent(mode, now);
        let outcome = self.core.store.update_ticket_also(
            ticket,
            Some(&person.actor.agent),
            now,
            |t| {
                // The channel may have changed since `compose` read it.
                let text = compose(t, &person.initials, words)?;
                ticket::apply(t, Command::Reply { text }, &person.actor, now, &self.policy)
            },
            &Also {
                chat_event: Some(key),
                outbox: Some((
                    number,
                    Outgoing::Reply {
                        agent: &person.actor.agent,
                        origin,
                        at: now,
                        delivery: &delivery,
                        signature: &person.initials,
                    },
                )),
                ..Also::default()
            },
        )?;
        if let Ok(transition) = &outcome {
            self.core.wake.outbox.notify_one();
            self.core.wake_threads();
            self.core.carry_out(transition).await;
        }
        Ok(outcome.map(|t| (number, t)))
    }

    pub(super) async fn refused(
        &self,
        author: &ChatUser,
        message: &MessageRef,
        why: &str,
        in_thread: bool,
    ) {
        self.core.mark(message, Reaction::Failed).await;
        let text = format!("Not sent: {why}.");
        if in_thread {
            self.core.post(&message.thread, &text).await;
        } else {
            self.core.tell(author, &message.thread, &text).await;
        }
    }
}

/// What an agent whose reply was refused reads.
fn not_sent(refusal: &Refusal, ticket: TicketId) -> String {
    match refusal {
        Refusal::NotHolder { holder } => format!(
            "Not sent: {} holds {ticket} and only they speak to the customer; your message stays in the thread as internal discussion. Ask them, or a lead can `claim force`.",
            holder.name
        ),
        Refusal::HeldBy { holder, .. } => format!(
            "Not sent: {} holds {ticket}; your message stays in the thread.",
            holder.name
        ),
        other => format!("Not sent: {other}."),
    }
}
