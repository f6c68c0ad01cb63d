//! Status and claim as a pure state machine:
//! `(ticket, command, actor, now) -> (ticket', effects) | refusal`.
//!
//! No I/O here. The service loads a ticket, applies a command inside a store
//! transaction, writes the result back, and only then carries out the
//! effects. Every rule about who may do what lives in this file.

use chrono::{DateTime, Duration, Utc};

use super::model::{Actor, Agent, Claim, Origin, ReplyChannel, Resolution, Role, State, Ticket};

/// What an agent (or a lead) asks of a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Take the ticket. `force` (leads only) takes it from its holder.
    Claim {
        force: bool,
    },
    /// Give the ticket back to the queue.
    Unclaim,
    /// Give the ticket to an agent (leads only).
    Assign {
        to: Agent,
    },
    Resolve {
        note: Option<String>,
    },
    Reopen,
    /// An internal note; never sent to the customer.
    Note {
        text: String,
    },
    /// Answer by public reply or by DM from now on.
    SetReplyChannel(ReplyChannel),
    /// Speak to the customer: the reply goes out on the ticket's channel.
    Reply {
        text: String,
    },
    /// Remind the caller of a resolved ticket at `at` (`None`: take the
    /// follow-up back).
    FollowUp {
        at: Option<DateTime<Utc>>,
        note: Option<String>,
    },
    /// Hide an open ticket from the queue until `until` (`None`: now).
    Snooze {
        until: Option<DateTime<Utc>>,
    },
    /// Move the ticket to account `to`'s queue, unclaimed. X lets an
    /// account answer in public only posts that mention it, so replies
    /// go by DM from then on.
    Forward {
        to: super::ids::AccountKey,
        note: Option<String>,
    },
}

impl Command {
    /// The verb written to the audit log.
    pub fn verb(&self) -> &'static str {
        match self {
            Self::Claim { force: false } => "claim",
            Self::Claim { force: true } => "claim force",
            Self::Unclaim => "unclaim",
            Self::Assign { .. } => "assign",
            Self::Resolve { .. } => "resolve",
            Self::Reopen => "reopen",
            Self::Note { .. } => "note",
            Self::SetReplyChannel(ReplyChannel::Dm) => "dm",
            Self::SetReplyChannel(ReplyChannel::Public) => "public",
            Self::Reply { .. } => "reply",
            Self::FollowUp { at: Some(_), .. } => "followup",
            Self::FollowUp { at: None, .. } => "followup cancel",
            Self::Snooze { until: Some(_) } => "snooze",
            Self::Snooze { until: None } => "snooze off",
            Self::Forward { .. } => "forward",
        }
    }
}

/// Settings from config that the rules depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    /// When true, replying to an unclaimed ticket is refused; otherwise the
    /// first agent to reply claims it.
    pub require_explicit_claim: bool,
    /// A claim with no reply for this long is released.
    pub idle_release: Option<Duration>,
}

/// Something the service must do after the new ticket is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Redraw the ticket card in every thread that shows it.
    RefreshCards,
    /// Append to the audit log.
    Audit {
        action: String,
        detail: Option<String>,
    },
    /// Tell an agent privately what happened to a ticket they care about.
    NotifyAgent { agent: Agent, text: String },
    /// Release the claim at this time unless the holder replies first.
    ArmIdleRelease { at: DateTime<Utc> },
    /// Put the reply in the outbox for X.
    SendReply { text: String, channel: ReplyChannel },
}

/// The ticket after a command, and what must happen because of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub ticket: Ticket,
    pub effects: Vec<Effect>,
}

/// A command's change in the making: the ticket before, the ticket
/// after, and what people must hear.
struct Draft<'a> {
    before: &'a Ticket,
    next: Ticket,
    effects: Vec<Effect>,
    me: &'a Agent,
    lead: bool,
    now: DateTime<Utc>,
}

impl Draft<'_> {
    fn notify(&mut self, who: &Agent, what: String) {
        let effect = notify(who, self.before, what);
        self.effects.push(effect);
    }

    /// Not resolved, and not held by someone else (unless a lead asks).
    fn open_and_mine(&self) -> Result<(), Refusal> {
        match &self.before.state {
            State::Resolved(_) => Err(Refusal::Resolved),
            State::Claimed(claim) if claim.holder.id != self.me.id && !self.lead => {
                Err(Refusal::NotHolder {
                    holder: claim.holder.clone(),
                })
            }
            _ => Ok(()),
        }
    }

    fn claimed_by_me(&mut self) {
        self.next.state = State::Claimed(Claim::new(self.me.clone(), self.now));
    }
}

/// Applies `command` by `actor` to `ticket` at `now`.
pub fn apply(
    ticket: &Ticket,
    command: Command,
    actor: &Actor,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Result<Transition, Refusal> {
    if actor.role == Role::Outsider {
        return Err(Refusal::NotAnAgent);
    }
    let verb = command.verb();
    let mut d = Draft {
        before: ticket,
        next: ticket.clone(),
        effects: Vec::new(),
        me: &actor.agent,
        lead: actor.role == Role::Lead,
        now,
    };
    match command {
        // A note changes nothing anyone sees on the card.
        Command::Note { text } => return note(d, verb, &text),
        Command::Claim { force } => claim(&mut d, force)?,
        Command::Unclaim => unclaim(&mut d)?,
        Command::Assign { to } => assign(&mut d, to)?,
        Command::Resolve { note } => resolve(&mut d, note)?,
        Command::Reopen => reopen(&mut d)?,
        Command::SetReplyChannel(channel) => set_reply_channel(&mut d, channel)?,
        Command::Reply { text } => reply(&mut d, &text, policy)?,
        Command::FollowUp { at, note } => later::follow_up(&mut d, at, note)?,
        Command::Snooze { until } => later::snooze(&mut d, until)?,
        Command::Forward { to, note } => later::forward(&mut d, to, note)?,
    }
    let Draft {
        mut next,
        mut effects,
        ..
    } = d;
    next.updated_at = now;
    effects.push(Effect::RefreshCards);
    effects.push(audit(verb, detail_of(&next, ticket)));
    if let (Some(idle), State::Claimed(claim)) = (policy.idle_release, &next.state) {
        if ticket.state.claim() != Some(claim) {
            effects.push(Effect::ArmIdleRelease {
                at: claim.last_activity() + idle,
            });
        }
    }
    Ok(Transition {
        ticket: next,
        effects,
    })
}

fn claim(d: &mut Draft<'_>, force: bool) -> Result<(), Refusal> {
    match &d.before.state {
        State::Resolved(_) => Err(Refusal::Resolved),
        State::Open => {
            d.claimed_by_me();
            Ok(())
        }
        State::Claimed(claim) if claim.holder.id == d.me.id => {
            Err(Refusal::AlreadyYours { since: claim.since })
        }
        State::Claimed(claim) if !force => Err(Refusal::HeldBy {
            holder: claim.holder.clone(),
            since: claim.since,
        }),
        State::Claimed(_) if !d.lead => Err(Refusal::NeedsLead {
            action: "take over a ticket someone else holds",
        }),
        State::Claimed(claim) => {
            let holder = claim.holder.clone();
            d.notify(&holder, format!("{} took it over from you", d.me.name));
            d.claimed_by_me();
            Ok(())
        }
    }
}

fn unclaim(d: &mut Draft<'_>) -> Result<(), Refusal> {
    match &d.before.state {
        State::Open | State::Resolved(_) => return Err(Refusal::NotClaimed),
        State::Claimed(claim) if claim.holder.id == d.me.id => {}
        State::Claimed(claim) if d.lead => {
            let holder = claim.holder.clone();
            d.notify(&holder, format!("{} released your claim", d.me.name));
        }
        State::Claimed(claim) => {
            return Err(Refusal::NotHolder {
                holder: claim.holder.clone(),
            })
        }
    }
    d.next.state = State::Open;
    Ok(())
}

fn assign(d: &mut Draft<'_>, to: Agent) -> Result<(), Refusal> {
    if !d.lead {
        return Err(Refusal::NeedsLead {
            action: "assign tickets",
        });
    }
    match &d.before.state {
        State::Resolved(_) => return Err(Refusal::Resolved),
        State::Claimed(claim) if claim.holder.id == to.id => {
            return Err(Refusal::AlreadyHeld {
                holder: claim.holder.clone(),
            })
        }
        State::Claimed(claim) if claim.holder.id != d.me.id => {
            let holder = claim.holder.clone();
            d.notify(
                &holder,
                format!("{} reassigned it to {}", d.me.name, to.name),
            );
        }
        State::Claimed(_) | State::Open => {}
    }
    if to.id != d.me.id {
        d.notify(&to, format!("{} assigned it to you", d.me.name));
    }
    d.next.state = State::Claimed(Claim::new(to, d.now));
    Ok(())
}

fn resolve(d: &mut Draft<'_>, note: Option<String>) -> Result<(), Refusal> {
    match &d.before.state {
        State::Resolved(_) => return Err(Refusal::Resolved),
        State::Open => {}
        State::Claimed(claim) if claim.holder.id == d.me.id => {}
        State::Claimed(claim) if d.lead => {
            let holder = claim.holder.clone();
            d.notify(&holder, format!("{} resolved it", d.me.name));
        }
        State::Claimed(claim) => {
            return Err(Refusal::NotHolder {
                holder: claim.holder.clone(),
            })
        }
    }
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    d.next.state = State::Resolved(Resolution {
        by: d.me.clone(),
        at: d.now,
        note,
    });
    d.next.resolved_at = Some(d.now);
    Ok(())
}

fn reopen(d: &mut Draft<'_>) -> Result<(), Refusal> {
    if !matches!(d.before.state, State::Resolved(_)) {
        return Err(Refusal::NotResolved);
    }
    d.next.state = State::Open;
    d.next.resolved_at = None;
    d.next.follow_up = None;
    d.next.reopened += 1;
    Ok(())
}

/// A note joins the ticket and the audit log; nothing is redrawn.
fn note(d: Draft<'_>, verb: &str, text: &str) -> Result<Transition, Refusal> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Refusal::EmptyText("note"));
    }
    let Draft {
        mut next,
        mut effects,
        me,
        now,
        ..
    } = d;
    next.notes.push(super::model::Note {
        by: me.clone(),
        at: now,
        text: text.to_owned(),
    });
    next.updated_at = now;
    effects.push(audit(verb, Some(text.to_owned())));
    Ok(Transition {
        ticket: next,
        effects,
    })
}

fn set_reply_channel(d: &mut Draft<'_>, channel: ReplyChannel) -> Result<(), Refusal> {
    let ticket = d.before;
    if let State::Claimed(claim) = &ticket.state {
        if claim.holder.id != d.me.id && !d.lead {
            return Err(Refusal::NotHolder {
                holder: claim.holder.clone(),
            });
        }
    }
    if ticket.reply_channel == channel {
        return Err(Refusal::AlreadyChannel(channel));
    }
    if channel == ReplyChannel::Public {
        if ticket.origin == Origin::Dm {
            return Err(Refusal::ChannelUnavailable {
                reason: "this ticket came in as a DM, so it can only be answered by DM",
            });
        }
        if !ticket.can_reply_publicly {
            return Err(Refusal::ChannelUnavailable {
                reason: "X accepts a public reply only to a post that mentioned or quoted the account; answer by DM",
            });
        }
    }
    d.next.reply_channel = channel;
    Ok(())
}

/// A reply to the customer: by the holder, or claiming an open ticket on
/// the way (unless the team requires an explicit claim).
fn reply(d: &mut Draft<'_>, text: &str, policy: &Policy) -> Result<(), Refusal> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Refusal::EmptyText("send"));
    }
    let mut claim = match &d.before.state {
        State::Resolved(_) => return Err(Refusal::Resolved),
        State::Claimed(claim) if claim.holder.id == d.me.id => claim.clone(),
        State::Claimed(claim) => {
            return Err(Refusal::NotHolder {
                holder: claim.holder.clone(),
            })
        }
        State::Open if policy.require_explicit_claim => return Err(Refusal::MustClaimFirst),
        State::Open => {
            d.effects
                .push(audit("claim", Some("by replying".to_owned())));
            Claim::new(d.me.clone(), d.now)
        }
    };
    claim.last_reply_at = Some(d.now);
    d.next.state = State::Claimed(claim);
    d.next.first_response_at.get_or_insert(d.now);
    d.next.last_response_at = Some(d.now);
    d.effects.push(Effect::SendReply {
        text: text.to_owned(),
        channel: d.before.reply_channel,
    });
    Ok(())
}

fn notify(agent: &Agent, ticket: &Ticket, what: String) -> Effect {
    Effect::NotifyAgent {
        agent: agent.clone(),
        text: format!("{}: {what}", ticket.id),
    }
}

fn audit(action: &str, detail: Option<String>) -> Effect {
    Effect::Audit {
        action: action.to_owned(),
        detail,
    }
}

/// What the audit line adds to the verb: who holds it now, or the note.
fn detail_of(next: &Ticket, before: &Ticket) -> Option<String> {
    match &next.state {
        State::Claimed(claim) if before.state.claim().map(|c| &c.holder) != Some(&claim.holder) => {
            Some(format!("holder: {}", claim.holder.name))
        }
        State::Resolved(Resolution {
            note: Some(note), ..
        }) => Some(note.clone()),
        _ if next.account != before.account => Some(format!(
            "to {}{}",
            next.account,
            next.notes
                .last()
                .and_then(|n| n.text.split_once(": "))
                .map(|(_, note)| format!(": {note}"))
                .unwrap_or_default()
        )),
        _ if next.reply_channel != before.reply_channel => Some(next.reply_channel.to_string()),
        _ if next.follow_up != before.follow_up => next.follow_up.as_ref().map(|f| {
            let due = format!("due {}", fmt_time(f.at));
            match &f.note {
                Some(note) => format!("{due}: {note}"),
                None => due,
            }
        }),
        _ if next.snoozed_until != before.snoozed_until => {
            next.snoozed_until.map(|u| format!("until {}", fmt_time(u)))
        }
        _ => None,
    }
}

fn fmt_duration(d: Duration) -> String {
    d.to_std()
        .map(|d| humantime::format_duration(d).to_string())
        .unwrap_or_else(|_| format!("{}s", d.num_seconds()))
}

#[path = "machine_events.rs"]
mod events;
#[path = "machine_later.rs"]
mod later;
#[path = "machine_refusals.rs"]
mod refusals;
pub use events::{customer_wrote, release_if_idle};
use refusals::fmt_time;
pub use refusals::Refusal;

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
