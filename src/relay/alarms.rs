//! The response targets' alarms (`ticket::targets`), fired from the
//! store's timer rows: a ticket that moved on is planned again, a due
//! alarm is recorded on the ticket with whom it calls (the on-call agent
//! resolved at that moment), and every thread then says it once, pinging
//! exactly those people (`threads`). A crash between the two repeats
//! nothing: the alarm is in the store before anyone is pinged.

use chrono::{DateTime, Utc};

use super::{Core, Relay};
use crate::chat::{Mention, Text};
use crate::store::{Also, Delivery, Outgoing, StoreError};
use crate::ticket::oncall::{self, OnCall};
use crate::ticket::targets::{self, Alarms, Called, Fired, Ping, Step, Targets};
use crate::ticket::{Effect, Ticket, Transition};

impl Core {
    /// Who is on call at `now`: a stand-in, else the rota's.
    pub(super) fn on_call(&self, now: DateTime<Utc>) -> Option<OnCall> {
        let stand_in = self.store.stand_in().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read who stands in on call; the rota's person is called");
            None
        });
        oncall::on_call(self.config.oncall.as_ref(), stand_in.as_ref(), now)
    }

    /// How a chat platform calls `called`.
    pub(super) fn mention(&self, called: &Called) -> Mention {
        let permissions = &self.config.permissions;
        match called {
            Called::Agent(id) => {
                let agent = self.config.agent(id);
                Mention {
                    name: agent.map_or_else(|| id.to_string(), |a| a.name.clone()),
                    slack: agent
                        .and_then(|a| a.slack_user.as_ref())
                        .map(|u| u.to_string()),
                    discord: agent
                        .and_then(|a| a.discord_user.as_ref())
                        .map(|u| u.to_string()),
                    group: false,
                }
            }
            Called::Agents => Mention {
                name: "agents".to_owned(),
                slack: permissions.slack_agent_group.clone(),
                discord: permissions.discord_agent_role.clone(),
                group: true,
            },
            Called::Leads => Mention {
                name: "leads".to_owned(),
                slack: permissions.slack_lead_group.clone(),
                discord: permissions.discord_lead_role.clone(),
                group: true,
            },
        }
    }

    /// What a thread says when `fired` went off on `ticket`.
    pub(super) fn alarm_line(&self, ticket: &Ticket, fired: &Fired) -> Text {
        if fired.step == Step::FollowUp {
            return self.follow_up_line(ticket, fired);
        }
        let (mark, words) = match fired.step {
            Step::FollowUp => ("🔁", ""),
            Step::Urgent => ("🔔", "Urgent, and nobody holds it; the answer is due at "),
            Step::Warning => ("⏳", "The answer is due at "),
            Step::Breach | Step::Rung(0) => ("🚨", "Late: the answer was due at "),
            Step::Rung(_) => ("🚨", "Still unanswered, due at "),
        };
        let mut parts = vec![
            Text::Ours(format!("{mark} {} · {words}", ticket.id)),
            Text::At(fired.due_at),
            Text::Ours(". ".to_owned()),
        ];
        for (i, called) in fired.called.iter().enumerate() {
            if i > 0 {
                parts.push(Text::Ours(", ".to_owned()));
            }
            parts.push(Text::Ping(self.mention(called)));
        }
        let ask = match (&fired.step, ticket.holder()) {
            (_, Some(_)) => ", please answer the customer.",
            (Step::Rung(i), None) if *i > 0 => {
                ", nobody has claimed it yet: please take it or find someone who can."
            }
            (_, None) => ", please claim it or find someone who can.",
        };
        parts.push(Text::Ours(ask.to_owned()));
        Text::Mixed(parts)
    }
}

impl Core {
    /// What a thread says when a follow-up is due: who set it, and why.
    fn follow_up_line(&self, ticket: &Ticket, fired: &Fired) -> Text {
        let mut parts = vec![
            Text::Ours(format!("🔁 {} · Follow-up due (", ticket.id)),
            Text::At(fired.due_at),
            Text::Ours("): ".to_owned()),
        ];
        for called in &fired.called {
            parts.push(Text::Ping(self.mention(called)));
        }
        let note = ticket
            .follow_up
            .as_ref()
            .and_then(|f| f.note.clone())
            .map_or_else(
                || " check in with the customer.".to_owned(),
                |n| format!(" {n}"),
            );
        parts.push(Text::Quoted(note));
        Text::Mixed(parts)
    }
}

/// `ticket` with its alarms planned as `alarms`.
fn planned(ticket: &Ticket, alarms: Alarms) -> Transition {
    let mut next = ticket.clone();
    next.alarms = alarms;
    let effects = if next.alarms.due_at == ticket.alarms.due_at {
        Vec::new()
    } else {
        vec![Effect::RefreshCards]
    };
    Transition {
        ticket: next,
        effects,
    }
}

/// Who `called` names, for the audit log.
fn names(called: &[Called]) -> String {
    called
        .iter()
        .map(|c| match c {
            Called::Agent(id) => id.to_string(),
            Called::Agents => "agents".to_owned(),
            Called::Leads => "leads".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn alarm_audit(step: Step, called: &[Called]) -> Effect {
    let step = match step {
        Step::Urgent => "urgent".to_owned(),
        Step::Warning => "warning".to_owned(),
        Step::Breach => "breach".to_owned(),
        Step::Rung(i) => format!("escalation {}", i + 1),
        Step::FollowUp => "follow-up".to_owned(),
    };
    Effect::Audit {
        action: format!("alarm ({step})"),
        detail: Some(format!("called {}", names(called))),
    }
}

/// `ticket` with what is due at `now` fired: its follow-up, and its
/// response target's alarm (or planned again, when nothing is due after
/// all).
fn fire(
    targets: &Targets,
    ticket: &Ticket,
    (on_call, check_in): (Option<&OnCall>, Option<&CheckIn<'_>>),
    now: DateTime<Utc>,
) -> Transition {
    let mut effects = Vec::new();
    let mut next = ticket.clone();
    if let Some(reminded) = targets::follow_up_fired(&next, now) {
        next = reminded;
        if let Some(f) = next.alarms.fired.last() {
            effects.push(alarm_audit(f.step, &f.called));
        }
        if let Some(check_in) = check_in {
            effects.extend(check_in.effect(&next));
        }
    }
    let Some(due) = targets.due_step(&next, now) else {
        if effects.is_empty() {
            return planned(&next, targets.plan(&next));
        }
        effects.push(Effect::RefreshCards);
        return Transition {
            ticket: next,
            effects,
        };
    };
    let called: Vec<Called> = targets
        .calls(&next, due.0)
        .into_iter()
        .map(|ping| match ping {
            Ping::OnCall => on_call.map_or(Called::Agents, |o| Called::Agent(o.agent.clone())),
            Ping::Agents => Called::Agents,
            Ping::Leads => Called::Leads,
            Ping::Agent(id) => Called::Agent(id),
        })
        .collect();
    effects.push(alarm_audit(due.0, &called));
    effects.push(Effect::RefreshCards);
    next.alarms = targets::fired(targets, &next, due, called, now);
    Transition {
        ticket: next,
        effects,
    }
}

impl Relay {
    /// Plans what moved and fires what is due; `everything` plans every
    /// active ticket again (at start: the config may have changed).
    pub(super) fn run_alarms(&self, everything: bool) -> Result<(), StoreError> {
        let core = &self.core;
        let targets = &core.config.response_targets;
        let now = core.now();
        let to_plan = if everything {
            core.store.active()?.into_iter().map(|t| t.id).collect()
        } else {
            core.store.alarms_to_plan()?
        };
        for id in to_plan {
            let Some(ticket) = core.store.ticket(id)? else {
                continue;
            };
            // A ticket from before perch planned alarms is not called out
            // for its history.
            let quiet = ticket.alarms.basis.is_none() && core.store.opened_before_alarms(id)?;
            let plan = |t: &Ticket| match quiet {
                true => targets.plan_quietly(t, now),
                false => targets.plan(t),
            };
            // At start most plans stand as they are: nothing to write.
            if plan(&ticket) != ticket.alarms {
                let _ = core
                    .store
                    .update_ticket(id, None, now, |t| Ok(planned(t, plan(t))))?;
            }
        }
        let due = core.store.alarms_due(now)?;
        if due.is_empty() {
            return Ok(());
        }
        let on_call = core.on_call(now);
        for id in due {
            let Some(ticket) = core.store.ticket(id)? else {
                continue;
            };
            // A due follow-up also sends the check-in DM, if configured,
            // as whoever set it: written with the change, or not at all.
            let check_in = match (&core.config.check_in, &ticket.follow_up) {
                (Some(saved), Some(f)) if !f.done && f.at <= now => Some(CheckIn {
                    words: &saved.text,
                    agent: f.by.clone(),
                    initials: core
                        .config
                        .agent(&f.by.id)
                        .map_or_else(String::new, |a| a.initials.clone()),
                }),
                _ => None,
            };
            let number = match check_in {
                Some(_) => Some(core.store.next_outbox_id()?),
                None => None,
            };
            let delivery = Delivery::Pending;
            let outgoing = check_in.as_ref().zip(number).map(|(c, n)| {
                let reply = Outgoing::Reply {
                    agent: &c.agent,
                    origin: None,
                    at: now,
                    delivery: &delivery,
                    signature: &c.initials,
                };
                (n, reply)
            });
            let outcome = core.store.update_ticket_also(
                id,
                None,
                now,
                |t| Ok(fire(targets, t, (on_call.as_ref(), check_in.as_ref()), now)),
                &Also {
                    outbox: outgoing,
                    ..Also::default()
                },
            )?;
            if let Ok(updated) = outcome {
                if let Some(f) = updated.ticket.alarms.fired.last().filter(|f| f.at == now) {
                    tracing::info!(ticket = %id, step = ?f.step, called = ?f.called, "response target alarm");
                }
                if updated
                    .effects
                    .iter()
                    .any(|e| matches!(e, Effect::SendReply { .. }))
                {
                    core.wake.outbox.notify_one();
                }
            }
        }
        core.wake_threads();
        Ok(())
    }
}

/// `[followups] check_in`: the saved reply a due follow-up sends.
struct CheckIn<'a> {
    words: &'a str,
    agent: crate::ticket::Agent,
    initials: String,
}

impl CheckIn<'_> {
    /// The DM to send, signed by the follow-up's author; none when it
    /// cannot go as written (logged).
    fn effect(&self, ticket: &Ticket) -> Option<Effect> {
        let mut dm = ticket.clone();
        dm.reply_channel = crate::ticket::ReplyChannel::Dm;
        match crate::ticket::compose(&dm, &self.initials, self.words) {
            Ok(text) => Some(Effect::SendReply {
                text,
                channel: crate::ticket::ReplyChannel::Dm,
            }),
            Err(e) => {
                tracing::warn!(ticket = %ticket.id, error = %e, "the follow-up's check-in DM cannot go as written");
                None
            }
        }
    }
}
