//! Response targets as due times: since when the customer has waited for
//! the team, when the answer is due, and the alarms on the way there (a
//! warning, the breach, then the escalation ladder). Pure: the time and
//! the config are given; the relay stores the plan on the ticket and
//! fires each alarm once. An urgent ticket nobody holds calls the
//! on-call agent as soon as it opens.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::hours::SupportHours;
use super::ids::AgentId;
use super::model::{Author, Priority, State, Ticket};

/// Who an alarm calls, as the config names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "agent", rename_all = "snake_case")]
pub enum Ping {
    /// Whoever is on call at the time.
    OnCall,
    /// The agents' Slack user group and Discord role.
    Agents,
    /// The leads' Slack user group and Discord role.
    Leads,
    /// One agent, by key.
    Agent(AgentId),
}

/// A step of the escalation ladder: `after` the breach, call `ping`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rung {
    pub after: Duration,
    pub ping: Ping,
}

/// The response targets and what happens on the way to one.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// For the first response, by priority (`Priority::ALL` order).
    pub first: [Option<Duration>; 4],
    /// For each next response after the customer writes again; where
    /// unset, the first response's.
    pub next: [Option<Duration>; 4],
    /// Count only the time the team is at work.
    pub hours: Option<SupportHours>,
    /// The warning comes at this share of the target (0 for none).
    pub warn_percent: u8,
    /// After the breach, unless the ticket is claimed.
    pub ladder: Vec<Rung>,
}

/// Where a ticket's clock stands: what the alarms were planned for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basis {
    /// When the customer's oldest unanswered words came; `None` when
    /// nobody waits (answered, or resolved).
    pub since: Option<DateTime<Utc>>,
    pub first: bool,
    pub priority: Priority,
    pub claimed: bool,
}

impl Basis {
    pub fn of(ticket: &Ticket) -> Self {
        let waiting = waiting(ticket);
        Self {
            since: waiting.map(|w| w.0),
            first: waiting.is_some_and(|w| w.1),
            priority: ticket.priority,
            claimed: matches!(ticket.state, State::Claimed(_)),
        }
    }
}

/// One alarm on the way to (and past) a due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", content = "rung", rename_all = "snake_case")]
pub enum Step {
    /// An urgent ticket nobody holds goes to the on-call agent first.
    Urgent,
    Warning,
    Breach,
    /// The ladder's rung, counted from 0.
    Rung(usize),
    /// A resolved ticket's follow-up (`followup 3d`) is due.
    FollowUp,
}

/// A step and when it goes off.
pub type Alarm = (Step, DateTime<Utc>);

/// An alarm that went off, kept on the ticket so that every thread says
/// it once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fired {
    pub step: Step,
    pub at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// Who was called, resolved at the time (the on-call agent then).
    pub called: Vec<Called>,
}

/// Someone an alarm calls, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "agent", rename_all = "snake_case")]
pub enum Called {
    Agent(AgentId),
    Agents,
    Leads,
}

/// The ticket's alarms: the plan for its current wait, and every alarm
/// fired so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alarms {
    /// What the plan was made for; the store lists a ticket whose basis
    /// moved on as one to plan again.
    pub basis: Option<Basis>,
    pub due_at: Option<DateTime<Utc>>,
    /// When the next alarm goes off.
    pub next_at: Option<DateTime<Utc>>,
    /// Every step due at or before this went off (or was passed over for
    /// a later one) in the current wait.
    pub done_until: Option<DateTime<Utc>>,
    pub fired: Vec<Fired>,
}

impl Alarms {
    /// The breach of the current wait, if it happened.
    pub fn late(&self) -> bool {
        match (self.due_at, self.done_until) {
            (Some(due), Some(done)) => done >= due,
            _ => false,
        }
    }
}

/// Since when the customer has waited, and whether for a first response:
/// the customer's first words after the team last answered (by perch or
/// in X's own app). `None` when nobody waits.
pub fn waiting(ticket: &Ticket) -> Option<(DateTime<Utc>, bool)> {
    if matches!(ticket.state, State::Resolved(_)) {
        return None;
    }
    let answered = ticket
        .messages
        .iter()
        .filter(|m| matches!(m.author, Author::Agent { .. } | Author::Team))
        .map(|m| m.at)
        .chain(ticket.last_response_at)
        .max();
    let since = ticket
        .messages
        .iter()
        .filter(|m| matches!(m.author, Author::Customer))
        .map(|m| m.at)
        .find(|at| answered.is_none_or(|answered| *at > answered))?;
    Some((
        since,
        answered.is_none() && ticket.first_response_at.is_none(),
    ))
}

fn index(p: Priority) -> usize {
    Priority::ALL.iter().position(|q| *q == p).unwrap_or(0)
}

impl Targets {
    /// The target for a wait on `basis`, if the config sets one.
    pub fn target(&self, basis: &Basis) -> Option<Duration> {
        let i = index(basis.priority);
        let first = self.first.get(i).copied().flatten();
        if basis.first {
            first
        } else {
            self.next.get(i).copied().flatten().or(first)
        }
    }

    /// `span` of counted time after `since`.
    fn after(&self, since: DateTime<Utc>, span: Duration) -> Option<DateTime<Utc>> {
        match &self.hours {
            Some(hours) => hours.after_open_time(since, span),
            None => Some(since + span),
        }
    }

    /// The due time and every alarm of a wait, in time order.
    pub fn schedule(&self, basis: &Basis) -> Option<(DateTime<Utc>, Vec<Alarm>)> {
        let since = basis.since?;
        let target = self.target(basis)?;
        let due = self.after(since, target)?;
        let mut steps = Vec::new();
        if basis.priority == Priority::Urgent && basis.first && !basis.claimed {
            steps.push((Step::Urgent, since));
        }
        if (1..100).contains(&self.warn_percent) {
            let share = target * i32::from(self.warn_percent) / 100;
            if let Some(warn) = self.after(since, share) {
                steps.push((Step::Warning, warn));
            }
        }
        steps.push((Step::Breach, due));
        // A claim stops the ladder: the holder is on it.
        if !basis.claimed {
            steps.extend(
                self.ladder
                    .iter()
                    .enumerate()
                    .map(|(i, rung)| (Step::Rung(i), due + rung.after)),
            );
        }
        steps.sort_by_key(|(_, at)| *at);
        Some((due, steps))
    }

    /// The ticket's alarms planned anew for its current wait: kept as they
    /// are when nothing moved, the fired ones kept for the same wait.
    pub fn plan(&self, ticket: &Ticket) -> Alarms {
        let basis = Basis::of(ticket);
        let mut alarms = ticket.alarms.clone();
        let same_wait = alarms
            .basis
            .is_some_and(|b| b.since == basis.since && b.first == basis.first);
        if !same_wait {
            alarms.done_until = None;
        }
        alarms.basis = Some(basis);
        match self.schedule(&basis) {
            Some((due, steps)) => {
                alarms.due_at = Some(due);
                alarms.next_at = steps
                    .iter()
                    .map(|(_, at)| *at)
                    .find(|at| alarms.done_until.is_none_or(|done| *at > done));
            }
            None => {
                alarms.due_at = None;
                alarms.next_at = None;
            }
        }
        alarms
    }

    /// `plan`, with every step already past at `now` taken as done: for
    /// a ticket from before perch planned alarms, whose history nobody
    /// should be called about (the card still shows it late).
    pub fn plan_quietly(&self, ticket: &Ticket, now: DateTime<Utc>) -> Alarms {
        let mut quiet = ticket.clone();
        quiet.alarms = self.plan(ticket);
        if let Some((_, steps)) = quiet.alarms.basis.and_then(|b| self.schedule(&b)) {
            if let Some((_, at)) = steps.iter().rfind(|(_, at)| *at <= now) {
                quiet.alarms.done_until = Some(*at);
                return self.plan(&quiet);
            }
        }
        quiet.alarms
    }

    /// The alarm to fire at `now`: of the steps due and not yet done, the
    /// latest (after downtime, one breach line instead of a warning, a
    /// breach and every rung at once). `None` when nothing is due or the
    /// plan is out of date.
    pub fn due_step(&self, ticket: &Ticket, now: DateTime<Utc>) -> Option<Alarm> {
        let alarms = &ticket.alarms;
        if alarms.basis != Some(Basis::of(ticket)) {
            return None;
        }
        let (_, steps) = self.schedule(alarms.basis.as_ref()?)?;
        steps
            .into_iter()
            .rfind(|(_, at)| *at <= now && alarms.done_until.is_none_or(|done| *at > done))
    }

    /// Who `step` calls, before the on-call agent is known: the holder
    /// for a claimed ticket; else the warning and breach call whoever is
    /// on call, and each rung what the config says.
    pub fn calls(&self, ticket: &Ticket, step: Step) -> Vec<Ping> {
        if let Some(holder) = ticket.holder() {
            return vec![Ping::Agent(holder.id.clone())];
        }
        match step {
            Step::Urgent | Step::Warning | Step::Breach => vec![Ping::OnCall],
            Step::Rung(i) => self
                .ladder
                .get(i)
                .map(|r| vec![r.ping.clone()])
                .unwrap_or_default(),
            Step::FollowUp => ticket
                .follow_up
                .as_ref()
                .map(|f| vec![Ping::Agent(f.by.id.clone())])
                .unwrap_or_default(),
        }
    }
}

/// When the ticket's follow-up is due, unless it went off already.
pub fn follow_up_due(ticket: &Ticket) -> Option<DateTime<Utc>> {
    ticket.follow_up.as_ref().filter(|f| !f.done).map(|f| f.at)
}

/// The ticket with its due follow-up gone off at `now`: done, and
/// recorded as an alarm calling whoever set it. `None` when none is due.
pub fn follow_up_fired(ticket: &Ticket, now: DateTime<Utc>) -> Option<Ticket> {
    let at = follow_up_due(ticket).filter(|at| *at <= now)?;
    let mut next = ticket.clone();
    let f = next.follow_up.as_mut()?;
    f.done = true;
    let called = vec![Called::Agent(f.by.id.clone())];
    next.alarms.fired.push(Fired {
        step: Step::FollowUp,
        at: now,
        due_at: at,
        called,
    });
    Some(next)
}

/// The ticket's alarms after `step`, due at `at`, went off at `now`,
/// calling `called`: recorded (every thread says it once) and the next
/// one planned.
pub fn fired(
    targets: &Targets,
    ticket: &Ticket,
    (step, at): Alarm,
    called: Vec<Called>,
    now: DateTime<Utc>,
) -> Alarms {
    let mut next = ticket.clone();
    next.alarms.done_until = Some(at);
    next.alarms.fired.push(Fired {
        step,
        at: now,
        due_at: ticket.alarms.due_at.unwrap_or(at),
        called,
    });
    targets.plan(&next)
}

#[cfg(test)]
#[path = "targets_tests.rs"]
mod tests;
