//! What lists and figures need of a ticket, without its messages: the
//! store keeps one beside each ticket in its indexes, so that `queue`,
//! `stats` and the report read these instead of whole tickets.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{AccountKey, AgentId, TicketId};
use super::model::{Author, Origin, Priority, Ticket};
use super::targets::Step;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub id: TicketId,
    pub account: AccountKey,
    pub origin: Origin,
    pub priority: Priority,
    /// `open`, `claimed` or `resolved`.
    pub state: String,
    pub holder: Option<AgentId>,
    pub created_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The customer's handle on X, for the lists of a report.
    #[serde(default)]
    pub handle: String,
    /// The agent whose reply was the ticket's first answer; `None` when
    /// nobody answered yet or the team answered in X's own app.
    #[serde(default)]
    pub first_by: Option<AgentId>,
    /// How many answers the team gave (through perch or in X's app).
    #[serde(default)]
    pub replies: u32,
    #[serde(default)]
    pub reopened: u32,
    /// When each response-target breach went off (one per wait that went
    /// past its due time).
    #[serde(default)]
    pub breaches: Vec<DateTime<Utc>>,
}

impl Summary {
    pub fn of(t: &Ticket) -> Self {
        let answers = || {
            t.messages
                .iter()
                .filter(|m| matches!(m.author, Author::Agent { .. } | Author::Team))
        };
        Self {
            id: t.id,
            account: t.account.clone(),
            origin: t.origin.clone(),
            priority: t.priority,
            state: t.state.label().to_owned(),
            holder: t.holder().map(|h| h.id.clone()),
            created_at: t.created_at,
            first_response_at: t.first_response_at,
            resolved_at: t.resolved_at,
            handle: t.customer.handle.clone(),
            first_by: answers().next().and_then(|m| match &m.author {
                Author::Agent { agent } => Some(agent.id.clone()),
                _ => None,
            }),
            replies: u32::try_from(answers().count()).unwrap_or(u32::MAX),
            reopened: t.reopened,
            breaches: breaches(t),
        }
    }

    /// Whether the ticket is open or claimed.
    pub fn is_active(&self) -> bool {
        self.state != "resolved"
    }
}

/// When each wait that went past its due time was first said to: the
/// breach, or the ladder's step said in its place (after downtime, or a
/// rung due at the same moment, only the latest due step goes off).
fn breaches(t: &Ticket) -> Vec<DateTime<Utc>> {
    let mut out: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for f in &t.alarms.fired {
        if !matches!(f.step, Step::Breach | Step::Rung(_)) {
            continue;
        }
        match out.iter_mut().find(|(due, _)| *due == f.due_at) {
            Some((_, at)) => *at = (*at).min(f.at),
            None => out.push((f.due_at, f.at)),
        }
    }
    out.into_iter().map(|(_, at)| at).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{mention, t0};
    use crate::ticket::targets::Fired;
    use crate::ticket::TicketId;

    #[test]
    fn a_wait_past_its_due_time_is_one_breach_whichever_step_said_it() {
        let mut t = Ticket::open(TicketId::new(1), mention(1));
        let due = t0() + chrono::Duration::minutes(15);
        let fired = |step, minutes| Fired {
            step,
            at: due + chrono::Duration::minutes(minutes),
            due_at: due,
            called: Vec::new(),
        };
        t.alarms.fired = vec![
            fired(Step::Warning, -4),
            fired(Step::Rung(0), 0),
            fired(Step::Rung(1), 15),
        ];
        assert_eq!(Summary::of(&t).breaches, [due]);
        t.alarms.fired.push(Fired {
            due_at: due + chrono::Duration::hours(2),
            ..fired(Step::Breach, 120)
        });
        assert_eq!(
            Summary::of(&t).breaches.len(),
            2,
            "a later wait breached too"
        );
    }
}
