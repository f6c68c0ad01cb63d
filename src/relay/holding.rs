//! Replies that wait for their agent before they leave for X, as the
//! account's `send_mode` says: for the undo window (`Scheduled`, with an
//! Undo button and the time it goes), or until the agent presses Send
//! under a preview (`Unconfirmed`). Meanwhile an edit of the agent's chat
//! message changes what is sent and deleting it takes the reply back;
//! afterwards both are noted in the thread and change nothing on X.
//!
//! The waiting state is the outbox entry's, written with the reply in one
//! transaction, so a restart in the window neither loses the reply nor
//! sends it twice: it goes when the window ends, or stays taken back.

use chrono::{DateTime, Utc};

use super::notices::Notice;
use super::{Commands, Outbox};
use crate::chat::{Asking, ChatUser, Prompt, PromptAction, Reaction, Responder, Text, Written};
use crate::config::SendMode;
use crate::store::{Delivery, OutboxEntry, OutboxId, StoreError};
use crate::ticket::{compose, ReplyChannel, Role, Ticket};
use crate::xrules::text;

/// Where a reply written in `mode` at `now` starts.
pub(super) fn waiting_for_agent(mode: &SendMode, now: DateTime<Utc>) -> Delivery {
    match mode {
        SendMode::Direct => Delivery::Pending,
        SendMode::Undo { window } => Delivery::Scheduled {
            until: now + chrono::Duration::from_std(*window).unwrap_or_default(),
        },
        SendMode::Confirm => Delivery::Unconfirmed,
    }
}

/// Whether a private answer can reach the agent there: Slack whispers in
/// any thread; Discord only in answer to an interaction.
fn private_there(at: &Asking<'_>) -> bool {
    at.thread.platform() == crate::chat::Platform::Slack
        || matches!(at.responder, Some(Responder::Discord { .. }))
}

/// Who X will notify besides the customer: the `@handles` in `composed`.
fn others_named(ticket: &Ticket, composed: &str) -> Vec<String> {
    let mut named: Vec<String> = text::mentioned(composed)
        .into_iter()
        .filter(|h| !h.eq_ignore_ascii_case(&ticket.customer.handle))
        .collect();
    named.dedup();
    named
}

impl Commands {
    /// The account's send mode for `composed`; a reply that names other
    /// people on X is never sent without the agent seeing so first.
    pub(super) fn mode_for(&self, ticket: &Ticket, composed: &str) -> SendMode {
        let mode = self
            .core
            .config
            .account(&ticket.account)
            .map_or(SendMode::Direct, |a| a.send_mode);
        match mode {
            SendMode::Direct if !others_named(ticket, composed).is_empty() => SendMode::Confirm,
            other => other,
        }
    }

    /// Shows the agent the reply `number` waits for them: the countdown in
    /// the thread (undo), or the preview only they see (confirm). `false`
    /// when there was nothing to show (it goes at once) or no entry.
    pub(super) async fn ask_about(
        &self,
        number: OutboxId,
        mode: &SendMode,
        at: &Asking<'_>,
    ) -> Result<bool, StoreError> {
        let Some(entry) = self.core.store.outbox_entry(number)? else {
            return Ok(false);
        };
        let Some(ticket) = self.core.store.ticket(entry.ticket)? else {
            return Ok(false);
        };
        let (words, actions, privately) = match (mode, &entry.delivery) {
            (SendMode::Undo { .. }, Delivery::Scheduled { until }) => (
                self.countdown(&ticket, &entry, *until),
                vec![PromptAction::Undo],
                false,
            ),
            (_, Delivery::Unconfirmed) => (
                self.preview(&ticket, &entry, private_there(at)),
                vec![PromptAction::Send, PromptAction::Cancel],
                true,
            ),
            _ => return Ok(false),
        };
        let Some(platform) = self.core.platform(at.thread.platform()) else {
            return Ok(false);
        };
        let prompt = Prompt {
            reply: number,
            text: words,
            actions,
        };
        let asking = Asking { privately, ..*at };
        match platform.ask(&asking, &prompt).await {
            Ok(Some(message)) => {
                let shown = Some(message);
                self.core
                    .store
                    .revise_entry(number, &entry.delivery, |e| e.prompt.clone_from(&shown))?;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(outbox = number, error = %e, "cannot show the agent their waiting reply")
            }
        }
        Ok(true)
    }

    /// Where the reply goes and to whom, as the agent reads it.
    fn destination(&self, ticket: &Ticket, entry: &OutboxEntry) -> String {
        let account = self
            .core
            .config
            .account(&entry.account)
            .map_or_else(|| entry.account.to_string(), |a| format!("@{}", a.handle));
        match entry.channel {
            ReplyChannel::Public => {
                format!(
                    "as {account}, a public reply to @{}",
                    ticket.customer.handle
                )
            }
            ReplyChannel::Dm => format!("as {account}, a DM to @{}", ticket.customer.handle),
        }
    }

    fn countdown(&self, ticket: &Ticket, entry: &OutboxEntry, until: DateTime<Utc>) -> Text {
        let seconds = (until - self.core.now()).num_seconds().max(0);
        let named = others_named(ticket, &entry.text);
        let tail = if named.is_empty() {
            String::new()
        } else {
            format!("\nX will also notify @{}.", named.join(", @"))
        };
        Text::Mixed(vec![
            Text::Ours(format!(
                "⏳ {}'s reply goes {}, at ",
                entry.agent.name,
                self.destination(ticket, entry)
            )),
            Text::At(until),
            Text::Ours(format!(
                ". {seconds} s to Undo, or to edit or delete your message:\n"
            )),
            Text::Quoted(entry.text.clone()),
            Text::Ours(tail),
        ])
    }

    fn preview(&self, ticket: &Ticket, entry: &OutboxEntry, private: bool) -> Text {
        let length = match entry.channel {
            ReplyChannel::Public => format!(
                "{} of {} characters",
                text::weighted_length(&entry.text),
                text::MAX_WEIGHTED
            ),
            ReplyChannel::Dm => format!("{} characters", entry.text.chars().count()),
        };
        let mut notes = Vec::new();
        let named = others_named(ticket, &entry.text);
        if !named.is_empty() {
            notes.push(format!(
                "X will also notify @{}: check that you mean them.",
                named.join(", @")
            ));
        }
        if entry.channel == ReplyChannel::Public && !text::links(&entry.text).is_empty() {
            notes.push(
                "It carries a link: X bills a post with a link at a much higher rate.".to_owned(),
            );
        }
        let mut tail = String::new();
        for n in notes {
            tail.push('\n');
            tail.push_str(&n);
        }
        tail.push_str("\nSend it, or Cancel.");
        let who = if private {
            "Only you see this. Your reply".to_owned()
        } else {
            format!("Only {} can send this. Their reply", entry.agent.name)
        };
        Text::Mixed(vec![
            Text::Ours(format!(
                "{who} goes {}, {length}:\n",
                self.destination(ticket, entry)
            )),
            Text::Quoted(entry.text.clone()),
            Text::Ours(tail),
        ])
    }

    /// Send, Cancel or Undo pressed on reply `number`'s prompt. Its agent
    /// may do any of them; a lead may also take a reply back.
    pub(super) async fn reply_button(
        &self,
        author: &ChatUser,
        action: PromptAction,
        number: OutboxId,
        responder: &Responder,
    ) -> Result<(), StoreError> {
        let Some(entry) = self.core.store.outbox_entry(number)? else {
            self.core
                .answer(responder, "perch has no such reply.")
                .await;
            return Ok(());
        };
        let person = self.roles.resolve(author).await;
        let own = person.actor.agent.id == entry.agent.id;
        let lead_takes_back = action != PromptAction::Send && person.actor.role == Role::Lead;
        if !own && !lead_takes_back {
            let why = format!(
                "Only {} can send this reply or take it back (a lead can take it back).",
                entry.agent.name
            );
            self.core.answer(responder, &why).await;
            return Ok(());
        }
        let answer = match (action, &entry.delivery) {
            (PromptAction::Send, Delivery::Unconfirmed) => {
                if self
                    .core
                    .store
                    .set_delivery(number, &entry.delivery, Delivery::Pending)?
                {
                    self.core.wake.outbox.notify_one();
                    if let Some(prompt) = &entry.prompt {
                        let words = Text::Mixed(vec![
                            Text::Ours("Sending: ".to_owned()),
                            Text::Quoted(entry.text.clone()),
                        ]);
                        self.core
                            .notify(&prompt.thread, Notice::Settle(prompt.clone(), words));
                    }
                    "Sending it; the thread shows it when X has it.".to_owned()
                } else {
                    "It moved on meanwhile; the thread says where it is.".to_owned()
                }
            }
            (PromptAction::Send, Delivery::Scheduled { .. }) => {
                "It goes on its own when the undo time is up.".to_owned()
            }
            (_, d) if d.awaits_agent() => {
                let how = match action {
                    PromptAction::Undo => format!("undone by {}", person.actor.agent.name),
                    _ => format!("cancelled by {}", person.actor.agent.name),
                };
                if self.withdraw(number, &entry, &how)? {
                    "Not sent: nothing reached X.".to_owned()
                } else {
                    "Too late: it has gone to X.".to_owned()
                }
            }
            (_, Delivery::Withdrawn { how, .. }) => format!("That reply was {how} already."),
            (_, Delivery::Failed { reason, .. }) => format!("X refused that reply: {reason}."),
            _ => "Too late: it has gone to X; the thread shows it.".to_owned(),
        };
        self.core.answer(responder, &answer).await;
        Ok(())
    }

    /// Takes a waiting reply back; `false` if it left meanwhile.
    fn withdraw(
        &self,
        number: OutboxId,
        entry: &OutboxEntry,
        how: &str,
    ) -> Result<bool, StoreError> {
        let to = Delivery::Withdrawn {
            how: how.to_owned(),
            at: self.core.now(),
        };
        if !self.core.store.set_delivery(number, &entry.delivery, to)? {
            return Ok(false);
        }
        tracing::info!(outbox = number, ticket = %entry.ticket, how, "reply taken back before it went");
        if let Some(origin) = &entry.origin {
            self.core.notify(
                &origin.thread,
                Notice::Mark(origin.clone(), Reaction::Failed),
            );
        }
        if let Some(prompt) = &entry.prompt {
            let words = Text::Ours(format!("Not sent ({how}); nothing reached X."));
            self.core
                .notify(&prompt.thread, Notice::Settle(prompt.clone(), words));
        }
        Ok(true)
    }

    /// A person changed a message: if it is a reply still waiting, what
    /// goes to X changes with it; after it went, the thread says X keeps
    /// what was sent.
    pub(super) async fn message_edited(
        &self,
        written: &Written,
        raw: &str,
    ) -> Result<(), StoreError> {
        let Some((number, entry)) = self.core.store.entry_from(written)? else {
            return Ok(());
        };
        let (Some(origin), Some(ticket)) = (&entry.origin, self.core.store.ticket(entry.ticket)?)
        else {
            return Ok(());
        };
        if !entry.delivery.awaits_agent() {
            if matches!(
                entry.delivery,
                Delivery::Pending | Delivery::Sending { .. } | Delivery::Sent { .. }
            ) {
                let words = format!(
                    "{}'s edit came after the reply went to X; X keeps what was sent.",
                    entry.agent.name
                );
                self.core.post(&origin.thread, &words).await;
            }
            return Ok(());
        }
        let words = match self.core.platform(written.platform) {
            Some(p) => p.plain_text(raw).await,
            None => raw.to_owned(),
        };
        let signature = entry.signature.clone().unwrap_or_default();
        let composed = match compose(&ticket, &signature, &words) {
            Ok(c) if c == entry.text => return Ok(()),
            Ok(c) => c,
            Err(e) => {
                let why = format!("Your edit is not used ({e}); the reply goes as it was unless you take it back.");
                self.core.post(&origin.thread, &why).await;
                return Ok(());
            }
        };
        let revised = self.core.store.revise_entry(number, &entry.delivery, |e| {
            e.text.clone_from(&composed);
            e.prompt = None;
        })?;
        if !revised {
            return Ok(());
        }
        tracing::info!(outbox = number, ticket = %entry.ticket, "waiting reply edited");
        if let Some(prompt) = &entry.prompt {
            let words = Text::Ours("Changed: see below.".to_owned());
            self.core
                .notify(&prompt.thread, Notice::Settle(prompt.clone(), words));
        }
        let Some(agent) = self.agent_user(&entry, written) else {
            return Ok(());
        };
        let mode = match entry.delivery {
            Delivery::Scheduled { .. } => self
                .core
                .config
                .account(&entry.account)
                .map_or(SendMode::Confirm, |a| a.send_mode),
            _ => SendMode::Confirm,
        };
        let asking = Asking {
            thread: &origin.thread,
            agent: &agent,
            privately: true,
            responder: None,
        };
        self.ask_about(number, &mode, &asking).await?;
        Ok(())
    }

    /// The agent of a waiting reply, as the platform they wrote it on
    /// knows them (to ask them again).
    fn agent_user(&self, entry: &OutboxEntry, written: &Written) -> Option<ChatUser> {
        let id = match self.roles.chat_id(&entry.agent.id, written.platform) {
            Some(id) => id,
            // Not a configured agent: known as `platform:id`.
            None => entry.agent.id.as_str().split_once(':')?.1.to_owned(),
        };
        Some(ChatUser {
            platform: written.platform,
            id: id.as_str().into(),
            name: Some(entry.agent.name.clone()),
            roles: Vec::new(),
        })
    }

    /// A person deleted a message: a reply still waiting is taken back;
    /// one that went stays on X, and the thread says so.
    pub(super) async fn message_deleted(&self, written: &Written) -> Result<(), StoreError> {
        let Some((number, entry)) = self.core.store.entry_from(written)? else {
            return Ok(());
        };
        if entry.delivery.awaits_agent() {
            let how = format!("{} deleted their message", entry.agent.name);
            if self.withdraw(number, &entry, &how)? {
                return Ok(());
            }
        }
        let (Some(origin), Some(entry)) = (&entry.origin, self.core.store.outbox_entry(number)?)
        else {
            return Ok(());
        };
        let link = match &entry.delivery {
            Delivery::Sent { x_ref, .. } => self.core.link(&entry.account, x_ref),
            Delivery::Pending | Delivery::Sending { .. } => "it is on its way".to_owned(),
            _ => return Ok(()),
        };
        let words = format!(
            "{} deleted their message here, but the reply went to X ({link}); delete it on X if it must go.",
            entry.agent.name
        );
        self.core.post(&origin.thread, &words).await;
        Ok(())
    }
}

impl Outbox {
    /// Whether `entry` may go now: a scheduled reply whose undo time is up
    /// is released (`Pending`) here, once; one still in its window, or
    /// waiting for Send, is not ready. The entry to deliver, if any.
    pub(super) fn ready_to_go(
        &self,
        number: OutboxId,
        entry: OutboxEntry,
    ) -> Result<Ready, StoreError> {
        match entry.delivery {
            Delivery::Unconfirmed => Ok(Ready::Untouched),
            Delivery::Scheduled { until } if until > self.core.now() => Ok(Ready::Later),
            Delivery::Scheduled { .. } => {
                let released =
                    self.core
                        .store
                        .set_delivery(number, &entry.delivery, Delivery::Pending)?;
                Ok(if released {
                    Ready::Now(Box::new(OutboxEntry {
                        delivery: Delivery::Pending,
                        ..entry
                    }))
                } else {
                    Ready::Untouched
                })
            }
            _ => Ok(Ready::Now(Box::new(entry))),
        }
    }

    /// Redraws a sent or failed reply's prompt with what became of it.
    pub(super) fn settle_prompt(&self, entry: &OutboxEntry, words: String) {
        if let Some(prompt) = &entry.prompt {
            self.core.notify(
                &prompt.thread,
                Notice::Settle(prompt.clone(), Text::Ours(words)),
            );
        }
    }
}

/// What `Outbox::ready_to_go` found.
pub(super) enum Ready {
    Now(Box<OutboxEntry>),
    /// In its undo window: the ticket's later replies wait behind it.
    Later,
    /// Waiting for Send, or moved on meanwhile: skipped, holding nothing.
    Untouched,
}
