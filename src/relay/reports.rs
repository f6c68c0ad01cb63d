//! What `queue`, `mine` and `stats` answer (the figures read from the
//! store, drawn by `report`); and the line a ticket command answers with.

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::report::{Format, Report};
use crate::store::{Store, StoreError};
use crate::ticket::figures::{Figures, Setting, Tickets};
use crate::ticket::{AgentId, Author, State, Ticket};
use crate::twitter::spend::Month;

/// The unclaimed tickets (most urgent and oldest first), 20 at most.
pub(super) fn queue(queue: &[Ticket], now: DateTime<Utc>) -> String {
    let (snoozed, queue): (Vec<&Ticket>, Vec<&Ticket>) = queue
        .iter()
        .partition(|t| t.snoozed_until.is_some_and(|u| u > now));
    let aside = match snoozed.len() {
        0 => String::new(),
        n => format!(" ({n} snoozed, not shown)"),
    };
    if queue.is_empty() {
        return format!("The queue is empty: every open ticket is claimed{aside}.");
    }
    let mut out = format!(
        "{} unclaimed, most urgent and oldest first{aside}:",
        queue.len()
    );
    for t in queue.iter().take(20) {
        out.push_str(&format!("\n{}", line(t, now)));
    }
    out
}

/// The tickets a person holds.
pub(super) fn mine(mine: &[Ticket], now: DateTime<Utc>) -> String {
    if mine.is_empty() {
        return "You hold no tickets. `queue` shows the unclaimed ones.".to_owned();
    }
    let mut out = format!("You hold {}:", mine.len());
    for t in mine {
        out.push_str(&format!("\n{}", line(t, now)));
    }
    out
}

/// The figures of the tickets opened since `since`, read from the store's
/// indexes (the period's tickets, those resolved in it, the open ones).
pub fn figures(
    store: &Store,
    config: &Config,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Figures, StoreError> {
    let opened = store.opened_since(since)?;
    let resolved = store.resolved_since(since)?;
    let active = store.active_summaries()?;
    let agents: Vec<AgentId> = config.agents.iter().map(|a| a.key.clone()).collect();
    let hours = config.support_hours.as_ref();
    let setting = Setting {
        targets: &config.response_targets,
        hours,
        zone: config.zone(),
        agents: &agents,
    };
    let tickets = Tickets {
        opened: &opened,
        resolved: &resolved,
        active: &active,
    };
    Ok(Figures::work_out(&setting, &tickets, since, now))
}

/// An agent's name as the config gives it (the key when it is gone).
pub fn agent_name(config: &Config, id: &AgentId) -> String {
    config
        .agent(id)
        .map_or_else(|| id.as_str().to_owned(), |a| a.name.clone())
}

/// The month's X spend as `stats` says it, where the store can tell.
pub fn spend_line(store: &Store, config: &Config, now: DateTime<Utc>) -> Option<String> {
    match Month::read(store, config.x.spend, now) {
        Ok(month) => Some(month.line()),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the month's X spend");
            None
        }
    }
}

/// The report since `since` in `format` (`None`: the `stats` answer).
pub fn render(
    store: &Store,
    config: &Config,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    format: Option<Format>,
) -> Result<String, StoreError> {
    let figures = figures(store, config, since, now)?;
    let names = |id: &AgentId| agent_name(config, id);
    let report = Report {
        figures: &figures,
        names: &names,
        spend: spend_line(store, config, now),
    };
    Ok(match format {
        Some(format) => report.render(format),
        None => report.chat(),
    })
}

/// A ticket command's answer: what was done and where the ticket stands.
pub(super) fn done(verb: &str, t: &Ticket) -> String {
    let when = |at: DateTime<Utc>| at.format("%a %d %b %H:%M UTC").to_string();
    match (verb, &t.follow_up, t.snoozed_until) {
        ("followup", Some(f), _) => {
            return format!(
                "{}: follow-up set for {}; its thread will remind you then.",
                t.id,
                when(f.at)
            )
        }
        ("snooze", _, Some(until)) => {
            return format!(
                "{}: snoozed until {}: out of `queue` until then, or until the customer writes.",
                t.id,
                when(until)
            )
        }
        _ => {}
    }
    let status = match &t.state {
        State::Claimed(c) => format!("claimed by {}", c.holder.name),
        other => other.label().to_owned(),
    };
    format!(
        "{}: {verb} done; it is now {status}, answered by {}.",
        t.id, t.reply_channel
    )
}

/// One ticket in a list.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::mention;
    use crate::ticket::TicketId;

    #[test]
    fn lists_say_when_they_are_empty() {
        let now = Utc::now();
        assert!(queue(&[], now).starts_with("The queue is empty"));
        assert!(mine(&[], now).starts_with("You hold no tickets"));
        let t = Ticket::open(TicketId::new(4), mention(4));
        let listed = queue(std::slice::from_ref(&t), now);
        assert!(
            listed.starts_with("1 unclaimed") && listed.contains("@customer4"),
            "{listed}"
        );
    }
}
