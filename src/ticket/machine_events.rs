//! What happens to a ticket without a command: a claim released for
//! idleness, the customer writing again.

use chrono::{DateTime, Duration, Utc};

use super::{audit, fmt_duration, fmt_time, notify, Effect, Transition};
use crate::ticket::model::{Message, State, Ticket};

/// Releases a claim whose holder has not replied for `idle`. `None` when
/// there is nothing to release (not claimed, or still active).
pub fn release_if_idle(ticket: &Ticket, idle: Duration, now: DateTime<Utc>) -> Option<Transition> {
    let claim = ticket.state.claim()?;
    if now < claim.last_activity() + idle {
        return None;
    }
    let mut next = ticket.clone();
    next.state = State::Open;
    next.updated_at = now;
    let effects = vec![
        notify(
            &claim.holder,
            ticket,
            format!("released after {} with no reply", fmt_duration(idle)),
        ),
        Effect::RefreshCards,
        audit("release (idle)", Some(claim.holder.name.clone())),
    ];
    Some(Transition {
        ticket: next,
        effects,
    })
}

/// The customer wrote again: the message joins the ticket, and a resolved
/// ticket opens again.
pub fn customer_wrote(ticket: &Ticket, message: Message) -> Transition {
    let mut next = ticket.clone();
    next.updated_at = message.at;
    let at = message.at;
    next.messages.push(message);
    let mut effects = vec![Effect::RefreshCards];
    next.snoozed_until = None;
    if matches!(ticket.state, State::Resolved(_)) {
        next.state = State::Open;
        next.resolved_at = None;
        next.follow_up = None;
        next.reopened += 1;
        effects.push(audit("reopen (customer wrote)", Some(fmt_time(at))));
    }
    Transition {
        ticket: next,
        effects,
    }
}
