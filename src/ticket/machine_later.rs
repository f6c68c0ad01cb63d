//! Commands that set a ticket aside or pass it on: a follow-up after
//! resolution, a snooze, a hand-off to another brand account.

use chrono::{DateTime, Utc};

use super::{Draft, Refusal};
use crate::ticket::model::{Note, ReplyChannel, State};
use crate::ticket::{AccountKey, FollowUp};

pub(super) fn follow_up(
    d: &mut Draft<'_>,
    at: Option<DateTime<Utc>>,
    note: Option<String>,
) -> Result<(), Refusal> {
    let Some(at) = at else {
        if d.before.follow_up.as_ref().is_none_or(|f| f.done) {
            return Err(Refusal::NoFollowUp);
        }
        d.next.follow_up = None;
        return Ok(());
    };
    if !matches!(d.before.state, State::Resolved(_)) {
        return Err(Refusal::FollowUpNeedsResolved);
    }
    d.next.follow_up = Some(FollowUp {
        at,
        note: note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
        by: d.me.clone(),
        done: false,
    });
    Ok(())
}

pub(super) fn forward(
    d: &mut Draft<'_>,
    to: AccountKey,
    note: Option<String>,
) -> Result<(), Refusal> {
    d.open_and_mine()?;
    if d.before.account == to {
        return Err(Refusal::SameAccount);
    }
    let from = d.before.account.clone();
    d.next.account = to;
    d.next.state = State::Open;
    d.next.can_reply_publicly = false;
    d.next.reply_channel = ReplyChannel::Dm;
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    d.next.notes.push(Note {
        by: d.me.clone(),
        at: d.now,
        text: match note {
            Some(n) => format!("forwarded from {from}: {n}"),
            None => format!("forwarded from {from}"),
        },
    });
    Ok(())
}

pub(super) fn snooze(d: &mut Draft<'_>, until: Option<DateTime<Utc>>) -> Result<(), Refusal> {
    d.open_and_mine()?;
    if until.is_none() && d.before.snoozed_until.is_none_or(|u| u <= d.now) {
        return Err(Refusal::NotSnoozed);
    }
    d.next.snoozed_until = until;
    Ok(())
}
