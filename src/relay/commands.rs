//! What people do in chat, through the shared grammar and the state
//! machine. Each journal entry is consumed in the transaction that acts on
//! it; answers and marks follow.

use super::people::Person;
use super::{reports, Commands};
use crate::chat::{CardAction, ChatEvent, ChatUser, Responder};
use crate::store::{Also, OutboxId, Outgoing, StoreError};
use crate::ticket::grammar::{self, ChatCommand, TicketAction};
use crate::ticket::{self, ChatThread, Command, Refusal, Role, TicketId, Transition};

/// What became of a chat event. Whatever a handler did, the event is
/// taken from the journal here, in one place (a handler that changed a
/// ticket consumed it already in that transaction; taking it again is a
/// no-op), so no branch can forget it and act on it again every tick.
pub(super) enum Handled {
    Done,
    /// Not yet: kept for the next pass (a thread perch does not know yet).
    Later,
}

impl Commands {
    /// Acts on every chat event in the journal, oldest first.
    pub(super) async fn handle_chat_events(&self) {
        let events = match self.core.store.chat_events() {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the chat journal; will retry");
                return;
            }
        };
        // A damaged entry is left where it is and said once; the others
        // go on.
        for (key, e) in &events.damaged {
            if self.core.reported_damage(key) {
                tracing::error!(key, error = %e, "a chat event cannot be read; it is kept in the journal and skipped");
            }
        }
        for (key, event) in events.readable {
            let taken = match self.handle(&key, event).await {
                Ok(Handled::Done) => self.core.store.take_chat_event(&key),
                Ok(Handled::Later) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = taken {
                tracing::error!(error = %e, key, "cannot act on a chat event; will retry");
            }
        }
    }

    async fn handle(&self, key: &str, event: ChatEvent) -> Result<Handled, StoreError> {
        match event {
            ChatEvent::ThreadMessage {
                message,
                author,
                text,
                files,
                ..
            } => self.thread_message(key, message, author, text, files).await,
            ChatEvent::MessageEdited { message, text, .. } => {
                self.message_edited(&message, &text).await?;
                Ok(Handled::Done)
            }
            ChatEvent::MessageDeleted { message, .. } => {
                self.message_deleted(&message).await?;
                Ok(Handled::Done)
            }
            ChatEvent::ReplyButton {
                author,
                action,
                reply,
                responder,
            } => {
                self.reply_button(&author, action, reply, &responder)
                    .await?;
                Ok(Handled::Done)
            }
            ChatEvent::Command {
                author,
                text,
                thread,
                responder,
            } => {
                self.command(key, &author, &text, thread.as_ref(), &responder)
                    .await?;
                Ok(Handled::Done)
            }
            ChatEvent::Button {
                author,
                action,
                thread,
                responder,
            } => {
                self.button(key, &author, action, &thread, &responder)
                    .await?;
                Ok(Handled::Done)
            }
        }
    }

    async fn button(
        &self,
        key: &str,
        author: &ChatUser,
        action: CardAction,
        thread: &ChatThread,
        responder: &Responder,
    ) -> Result<(), StoreError> {
        self.command(key, author, action.command(), Some(thread), responder)
            .await
    }

    pub(super) async fn command(
        &self,
        key: &str,
        author: &ChatUser,
        text: &str,
        thread: Option<&ChatThread>,
        responder: &Responder,
    ) -> Result<(), StoreError> {
        let person = self.roles.resolve(author).await;
        let parsed = grammar::parse(text);
        let answer = match parsed {
            ChatCommand::Help { problem } => {
                let oncall = self.on_call_line(self.core.now());
                Some(match problem {
                    Some(p) => format!("{p}\n\n{}\n\n{oncall}", grammar::help_text()),
                    None => format!("{}\n\n{oncall}", grammar::help_text()),
                })
            }
            _ if person.actor.role == Role::Outsider => Some(Refusal::NotAnAgent.to_string()),
            ChatCommand::Queue => Some(reports::queue(&self.core.store.queue()?, self.core.now())),
            ChatCommand::Mine => Some(reports::mine(
                &self.core.store.held_by(&person.actor.agent.id)?,
                self.core.now(),
            )),
            ChatCommand::SavedReplies => Some(self.saved_replies_text()),
            ChatCommand::Stats { period } => {
                let now = self.core.now();
                let since = period.since(now, self.core.config.zone());
                let mut answer =
                    reports::render(&self.core.store, &self.core.config, since, now, None)?;
                answer.push_str(&format!("\n{}", self.on_call_line(now)));
                Some(answer)
            }
            ChatCommand::OnCall { stand_in: None } => Some(self.on_call_line(self.core.now())),
            ChatCommand::OnCall {
                stand_in: Some(ask),
            } => Some(self.stand_in(&person.actor, author, &ask)?),
            ChatCommand::Ticket { ticket, action } => {
                let target = match ticket {
                    Some(id) => Some(id),
                    None => match thread {
                        Some(t) => self.core.store.ticket_for_thread(t)?.map(|t| t.id),
                        None => None,
                    },
                };
                match target {
                    None => Some(
                        "Which ticket? Run it in the ticket's thread, or add its number (`claim #42`)."
                            .to_owned(),
                    ),
                    Some(id) => {
                        self.ticket_command(key, (&person, author, responder), id, action)
                            .await?
                    }
                }
            }
        };
        if let Some(answer) = answer {
            self.core.answer(responder, &answer).await;
        }
        Ok(())
    }

    /// Applies a ticket command; returns what to answer.
    async fn ticket_command(
        &self,
        key: &str,
        (person, author, responder): (&Person, &ChatUser, &Responder),
        id: TicketId,
        action: TicketAction,
    ) -> Result<Option<String>, StoreError> {
        let Some(current) = self.core.store.ticket(id)? else {
            return Ok(Some(format!("There is no ticket {id}.")));
        };
        let command = match action {
            TicketAction::Claim { force } => Command::Claim { force },
            TicketAction::Unclaim => Command::Unclaim,
            TicketAction::Assign { to } => match self.roles.named(&to) {
                Some(agent) => Command::Assign { to: agent },
                None => return Ok(Some(
                    "No configured agent by that name; use their key, name, initials or mention."
                        .to_owned(),
                )),
            },
            TicketAction::Resolve { note } => Command::Resolve { note },
            TicketAction::Reopen => Command::Reopen,
            TicketAction::Note { text } => Command::Note { text },
            TicketAction::Dm => Command::SetReplyChannel(ticket::ReplyChannel::Dm),
            TicketAction::Public => Command::SetReplyChannel(ticket::ReplyChannel::Public),
            TicketAction::FollowUp { after, note } => Command::FollowUp {
                at: after.map(|a| self.core.now() + span(a)),
                note,
            },
            TicketAction::Snooze { span: s } => Command::Snooze {
                until: s.map(|s| self.core.now() + span(s)),
            },
            TicketAction::Forward { to, note } => {
                return self
                    .forward(key, (person, author, responder), &current, (&to, note))
                    .await;
            }
            TicketAction::SavedReply { name } => {
                return self
                    .saved_reply(key, (person, author, responder), &current, &name)
                    .await;
            }
        };
        let now = self.core.now();
        let outcome = self.apply(key, person, id, &command, now, None).await?;
        Ok(Some(match outcome {
            Ok(transition) => reports::done(command.verb(), &transition.ticket),
            Err(refusal) => format!("{id}: {refusal}"),
        }))
    }

    /// Applies `command` by `person` to ticket `id` at `now`, consuming
    /// the chat event `key` (and writing `outbox`, if any) in the same
    /// transaction; a change wakes the threads and is carried out.
    pub(super) async fn apply(
        &self,
        key: &str,
        person: &Person,
        id: TicketId,
        command: &Command,
        now: chrono::DateTime<chrono::Utc>,
        outbox: Option<(OutboxId, Outgoing<'_>)>,
    ) -> Result<Result<Transition, Refusal>, StoreError> {
        let outcome = self.core.store.update_ticket_also(
            id,
            Some(&person.actor.agent),
            now,
            |t| ticket::apply(t, command.clone(), &person.actor, now, &self.policy),
            &Also {
                chat_event: Some(key),
                outbox,
                ..Also::default()
            },
        )?;
        if let Ok(transition) = &outcome {
            self.core.wake_threads();
            self.core.carry_out(transition).await;
        }
        Ok(outcome)
    }
}

/// A span the grammar checked (at most 90 days) as the clock counts it.
fn span(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(90))
}
