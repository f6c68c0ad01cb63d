//! What people do in chat, through the shared grammar and the state
//! machine. Each journal entry is consumed in the transaction that acts on
//! it; answers and marks follow.

use chrono::{DateTime, Utc};

use super::people::Person;
use super::to_x::{compose, ComposeError};
use super::Relay;
use crate::chat::{
    CardAction, ChatEvent, ChatUser, MessageRef, Platform, Reaction, Responder, Text, Visibility,
};
use crate::store::{Also, OutboxEntry, StoreError};
use crate::ticket::grammar::{self, ChatCommand, TicketAction};
use crate::ticket::{
    self, Author, ChatThread, Command, Effect, Refusal, Role, State, Ticket, TicketId, Transition,
    XRef,
};

/// How long a message in a thread perch does not know is kept in case the
/// thread turns out to be a ticket's.
const UNKNOWN_THREAD_GRACE: chrono::Duration = chrono::Duration::minutes(10);

impl Relay {
    /// Acts on every chat event in the journal, oldest first.
    pub(super) async fn handle_chat_events(&self) {
        let events = match self.store.chat_events() {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the chat journal; will retry");
                return;
            }
        };
        for (key, event) in events {
            if let Err(e) = self.handle(&key, event).await {
                tracing::error!(error = %e, key, "cannot act on a chat event; will retry");
                continue;
            }
        }
    }

    async fn handle(&self, key: &str, event: ChatEvent) -> Result<(), StoreError> {
        match event {
            ChatEvent::ThreadMessage {
                message,
                author,
                text,
                ..
            } => self.thread_message(key, message, author, text).await,
            ChatEvent::Command {
                author,
                text,
                thread,
                responder,
            } => {
                self.command(key, &author, &text, thread.as_ref(), &responder)
                    .await
            }
            ChatEvent::Button {
                author,
                action,
                thread,
                responder,
            } => self.button(key, &author, action, &thread, &responder).await,
        }
    }

    /// A person wrote in a thread: a reply to the customer, a note, or
    /// internal discussion.
    async fn thread_message(
        &self,
        key: &str,
        message: MessageRef,
        author: ChatUser,
        text: String,
    ) -> Result<(), StoreError> {
        let Some(ticket) = self.store.ticket_for_thread(&message.thread)? else {
            // Not a ticket thread, or not yet known as one: a card's thread
            // is linked just after the platform answered, and after a
            // crash only when the card is found again. Kept for a while.
            let age = message
                .written_at()
                .map_or(chrono::Duration::MAX, |at| Utc::now() - at);
            if age < UNKNOWN_THREAD_GRACE {
                return Ok(());
            }
            return self.store.take_chat_event(key);
        };
        let person = self.roles.resolve(&author).await;
        if let Some(note) = grammar::internal_note(&text) {
            if person.actor.role != Role::Outsider && !note.is_empty() {
                let note = note.to_owned();
                let outcome = self.store.update_ticket_also(
                    ticket.id,
                    Some(&person.actor.agent),
                    Utc::now(),
                    |t| {
                        ticket::apply(
                            t,
                            Command::Note { text: note.clone() },
                            &person.actor,
                            Utc::now(),
                            &self.policy,
                        )
                    },
                    &Also {
                        chat_event: Some(key),
                        ..Also::default()
                    },
                )?;
                if outcome.is_ok() {
                    return Ok(());
                }
            }
            return self.store.take_chat_event(key);
        }
        if person.actor.role == Role::Outsider {
            self.tell(
                &author,
                &message.thread,
                &format!(
                    "Only support agents' messages go to the customer; yours stays here in the thread. {}",
                    Refusal::NotAnAgent
                ),
            )
            .await;
            return self.store.take_chat_event(key);
        }
        if let Err(e) = compose(&ticket, &person, &text) {
            let in_thread = matches!(e, ComposeError::TooLong { .. });
            self.refused(&author, &message, &e.to_string(), in_thread)
                .await;
            return self.store.take_chat_event(key);
        }
        let outcome = self
            .write_reply(key, ticket.id, &person, &text, Some(&message))
            .await?;
        match outcome {
            Ok(_) => self.mark(&message, Reaction::Pending).await,
            Err(refusal) => {
                let why = match &refusal {
                    Refusal::NotHolder { holder } => format!(
                        "Not sent: {} holds {} and only they speak to the customer; your message stays in the thread as internal discussion. Ask them, or a lead can `claim force`.",
                        holder.name, ticket.id
                    ),
                    Refusal::HeldBy { holder, .. } => format!(
                        "Not sent: {} holds {}; your message stays in the thread.",
                        holder.name, ticket.id
                    ),
                    other => format!("Not sent: {other}."),
                };
                self.tell(&author, &message.thread, &why).await;
                self.store.take_chat_event(key)?;
            }
        }
        Ok(())
    }

    /// Writes an agent's reply to the outbox, with the claim it may take
    /// and the chat event it answers, in one transaction. `origin` is the
    /// agent's message, marked as the reply travels.
    pub(super) async fn write_reply(
        &self,
        key: &str,
        ticket: TicketId,
        person: &Person,
        words: &str,
        origin: Option<&MessageRef>,
    ) -> Result<Result<Transition, Refusal>, StoreError> {
        let number = self.store.next_outbox_id()?;
        let now = Utc::now();
        let make = |t: &Transition| -> Option<OutboxEntry> {
            t.effects.iter().find_map(|e| match e {
                Effect::SendReply { text, channel } => Some(OutboxEntry {
                    ticket: t.ticket.id,
                    account: t.ticket.account.clone(),
                    agent: person.actor.agent.clone(),
                    text: text.clone(),
                    channel: *channel,
                    created_at: now,
                    delivery: crate::store::Delivery::Pending,
                    in_reply_to: last_customer_post(&t.ticket),
                    recipient: Some(t.ticket.customer.id.clone()),
                    origin: origin.cloned(),
                    auto: None,
                    held_until: None,
                }),
                _ => None,
            })
        };
        let outcome = self.store.update_ticket_also(
            ticket,
            Some(&person.actor.agent),
            now,
            |t| {
                // The channel may have changed since `compose` read it.
                let text = compose(t, person, words).map_err(|_| Refusal::EmptyText("send"))?;
                ticket::apply(t, Command::Reply { text }, &person.actor, now, &self.policy)
            },
            &Also {
                chat_event: Some(key),
                outbox: Some((number, &make)),
                ..Also::default()
            },
        )?;
        if let Ok(transition) = &outcome {
            self.wake_outbox.notify_one();
            self.wake_threads.notify_one();
            self.carry_out(transition).await;
        }
        Ok(outcome)
    }

    async fn refused(&self, author: &ChatUser, message: &MessageRef, why: &str, in_thread: bool) {
        self.mark(message, Reaction::Failed).await;
        let text = format!("Not sent: {why}.");
        if in_thread {
            self.post(&message.thread, &text).await;
        } else {
            self.tell(author, &message.thread, &text).await;
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

    async fn command(
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
            ChatCommand::Help { problem } => Some(match problem {
                Some(p) => format!("{p}\n\n{}", grammar::HELP),
                None => grammar::HELP.to_owned(),
            }),
            _ if person.actor.role == Role::Outsider => Some(Refusal::NotAnAgent.to_string()),
            ChatCommand::Queue => Some(self.queue_text()?),
            ChatCommand::Mine => Some(self.mine_text(&person)?),
            ChatCommand::SavedReplies => Some(self.saved_replies_text()),
            ChatCommand::Stats { period } => Some(self.stats_text(period, Utc::now())?),
            ChatCommand::Ticket { ticket, action } => {
                let target = match ticket {
                    Some(id) => Some(id),
                    None => match thread {
                        Some(t) => self.store.ticket_for_thread(t)?.map(|t| t.id),
                        None => None,
                    },
                };
                match target {
                    None => Some(
                        "Which ticket? Run it in the ticket's thread, or add its number (`claim #42`)."
                            .to_owned(),
                    ),
                    Some(id) => self.ticket_command(key, &person, id, action).await?,
                }
            }
        };
        if let Some(answer) = answer {
            self.answer(responder, &answer).await;
        }
        // Consumed already when the ticket changed; otherwise now.
        self.store.take_chat_event(key)
    }

    /// Applies a ticket command; returns what to answer.
    async fn ticket_command(
        &self,
        key: &str,
        person: &Person,
        id: TicketId,
        action: TicketAction,
    ) -> Result<Option<String>, StoreError> {
        let Some(current) = self.store.ticket(id)? else {
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
            TicketAction::SavedReply { name } => {
                return self.saved_reply(key, person, &current, &name).await;
            }
        };
        let verb = command.verb();
        let now = Utc::now();
        let outcome = self.store.update_ticket_also(
            id,
            Some(&person.actor.agent),
            now,
            |t| ticket::apply(t, command.clone(), &person.actor, now, &self.policy),
            &Also {
                chat_event: Some(key),
                ..Also::default()
            },
        )?;
        Ok(Some(match outcome {
            Ok(transition) => {
                self.wake_threads.notify_one();
                self.carry_out(&transition).await;
                done_text(verb, &transition.ticket)
            }
            Err(refusal) => format!("{id}: {refusal}"),
        }))
    }

    /// Effects that reach people (cards are redrawn by the thread loop).
    pub(super) async fn carry_out(&self, transition: &Transition) {
        for effect in &transition.effects {
            if let Effect::NotifyAgent { agent, text } = effect {
                self.say_everywhere(&transition.ticket, &format!("{}: {text}", agent.name), None)
                    .await;
            }
        }
    }

    /// Answers a command or button (only the caller sees it, where the
    /// platform allows).
    async fn answer(&self, to: &Responder, text: &str) {
        let which = match to {
            Responder::Slack { .. } => Platform::Slack,
            Responder::Discord { .. } => Platform::Discord,
        };
        if let Some(p) = self.platform(which) {
            if let Err(e) = p.answer(to, text, Visibility::Caller).await {
                tracing::warn!(error = %e, "cannot answer a command");
            }
        }
    }

    /// Tells one person something about a thread: privately on Slack, in
    /// the thread on Discord (a bot cannot whisper outside an interaction).
    pub(super) async fn tell(&self, who: &ChatUser, thread: &ChatThread, text: &str) {
        match (who.platform, thread) {
            (Platform::Slack, ChatThread::Slack { channel, thread_ts }) => {
                let to = Responder::Slack {
                    channel: channel.as_str().to_owned(),
                    user: who.id.clone(),
                    thread_ts: Some(thread_ts.as_str().to_owned()),
                };
                let whispered = match self.platform(Platform::Slack) {
                    Some(p) => p.answer(&to, text, Visibility::Caller).await,
                    None => return,
                };
                // Slack refuses an ephemeral to someone it does not count
                // as in the channel; they still must hear why.
                if let Err(e) = whispered {
                    tracing::warn!(error = %e, "cannot answer privately; answering in the thread");
                    let name = who.name.clone().unwrap_or_else(|| format!("<@{}>", who.id));
                    self.post(thread, &format!("{name}: {text}")).await;
                }
            }
            _ => {
                let name = who.name.clone().unwrap_or_else(|| who.id.clone());
                self.post(thread, &format!("{name}: {text}")).await;
            }
        }
    }

    pub(super) async fn post(&self, thread: &ChatThread, text: &str) {
        if let Some(p) = self.platform(thread.platform()) {
            if let Err(e) = p.post(thread, &Text::Ours(text.to_owned())).await {
                tracing::warn!(error = %e, "cannot post in a ticket thread");
            }
        }
    }

    pub(super) async fn mark(&self, message: &MessageRef, reaction: Reaction) {
        if let Some(p) = self.platform(message.thread.platform()) {
            if p.capabilities().reactions {
                if let Err(e) = p.react(message, reaction).await {
                    tracing::warn!(error = %e, "cannot mark a message");
                }
            }
        }
    }

    fn queue_text(&self) -> Result<String, StoreError> {
        let queue = self.store.queue()?;
        if queue.is_empty() {
            return Ok("The queue is empty: every open ticket is claimed.".to_owned());
        }
        let now = Utc::now();
        let mut out = format!("{} unclaimed, most urgent and oldest first:", queue.len());
        for t in queue.iter().take(20) {
            out.push_str(&format!("\n{}", line(t, now)));
        }
        Ok(out)
    }

    fn mine_text(&self, person: &Person) -> Result<String, StoreError> {
        let mine = self.store.held_by(&person.actor.agent.id)?;
        if mine.is_empty() {
            return Ok("You hold no tickets. `queue` shows the unclaimed ones.".to_owned());
        }
        let now = Utc::now();
        let mut out = format!("You hold {}:", mine.len());
        for t in &mine {
            out.push_str(&format!("\n{}", line(t, now)));
        }
        Ok(out)
    }

    fn stats_text(
        &self,
        period: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let since = now - chrono::Duration::from_std(period).unwrap_or(chrono::Duration::days(7));
        let tickets: Vec<Ticket> = self
            .store
            .tickets()?
            .into_iter()
            .filter(|t| t.created_at >= since)
            .collect();
        let mut waits: Vec<i64> = tickets
            .iter()
            .filter_map(|t| {
                t.first_response_at
                    .map(|f| (f - t.created_at).num_seconds())
            })
            .collect();
        waits.sort_unstable();
        let period = humantime::format_duration(period);
        if tickets.is_empty() {
            return Ok(format!("No tickets in the last {period}."));
        }
        let rate = waits.len() * 100 / tickets.len();
        let median = waits
            .get(waits.len() / 2)
            .map(|s| {
                humantime::format_duration(std::time::Duration::from_secs(
                    u64::try_from(*s).unwrap_or(0),
                ))
                .to_string()
            })
            .unwrap_or_else(|| "n/a".to_owned());
        Ok(format!(
            "Last {period}: {} tickets, {} answered ({rate}%), median time to first response {median}.",
            tickets.len(),
            waits.len()
        ))
    }
}

/// The customer's latest post in a ticket, which a public reply answers.
pub(super) fn last_customer_post(t: &Ticket) -> Option<crate::ticket::TweetId> {
    t.messages
        .iter()
        .rev()
        .find_map(|m| match (&m.author, &m.x_ref) {
            (Author::Customer, XRef::Tweet { id }) => Some(id.clone()),
            _ => None,
        })
}

fn line(t: &Ticket, now: DateTime<Utc>) -> String {
    let age = (now - t.created_at).num_minutes().max(0);
    let text = t
        .messages
        .iter()
        .rev()
        .find(|m| m.author == Author::Customer)
        .map(|m| m.text.chars().take(60).collect::<String>())
        .unwrap_or_default();
    let holder = match &t.state {
        State::Claimed(c) => format!(" · {}", c.holder.name),
        _ => String::new(),
    };
    format!(
        "{} {} · @{} · {} · {age}m ago{holder}: {text}",
        t.id,
        t.priority,
        t.customer.handle,
        t.origin.label()
    )
}

fn done_text(verb: &str, t: &Ticket) -> String {
    let status = match &t.state {
        State::Claimed(c) => format!("claimed by {}", c.holder.name),
        other => other.label().to_owned(),
    };
    format!(
        "{}: {verb} done; it is now {status}, answered by {}.",
        t.id, t.reply_channel
    )
}
