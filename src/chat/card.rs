//! The ticket card every platform draws: what a person needs at a glance.

use crate::ticket::{Origin, Priority, ReplyChannel, State, Ticket, TicketId, XRef};

/// A button on the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardAction {
    Claim,
    Release,
    Resolve,
    Reopen,
}

impl CardAction {
    pub const ALL: [CardAction; 4] = [Self::Claim, Self::Release, Self::Resolve, Self::Reopen];

    /// The action id carried by the button.
    pub fn id(self) -> &'static str {
        match self {
            Self::Claim => "perch_claim",
            Self::Release => "perch_release",
            Self::Resolve => "perch_resolve",
            Self::Reopen => "perch_reopen",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Claim => "Claim",
            Self::Release => "Release",
            Self::Resolve => "Resolve",
            Self::Reopen => "Reopen",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.id() == id)
    }

    /// The command-grammar text the button stands for.
    pub fn command(self) -> &'static str {
        match self {
            Self::Claim => "claim",
            Self::Release => "unclaim",
            Self::Resolve => "resolve",
            Self::Reopen => "reopen",
        }
    }
}

/// A platform-neutral view of a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub ticket: TicketId,
    pub customer_name: String,
    pub customer_handle: String,
    /// The customer's latest words, from X (adapters make them inert).
    pub text: String,
    /// The post on X; none for DMs.
    pub link: Option<String>,
    pub origin: String,
    pub priority: Priority,
    pub status: &'static str,
    /// Who holds the claim.
    pub holder: Option<String>,
    pub reply_channel: ReplyChannel,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub actions: Vec<CardAction>,
    /// A reply waits for X's rate limit until then (adapters show the
    /// time in each reader's own time zone).
    pub reply_held_until: Option<chrono::DateTime<chrono::Utc>>,
    /// When the answer the customer waits for is due, and how it stands.
    pub due: Option<Due>,
    /// A resolved ticket's follow-up: when, and whether it went off.
    pub follow_up: Option<(chrono::DateTime<chrono::Utc>, bool)>,
    /// Out of the queue until then.
    pub snoozed_until: Option<chrono::DateTime<chrono::Utc>>,
}

/// The response target of the current wait, as the card shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub at: chrono::DateTime<chrono::Utc>,
    pub stands: Stands,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stands {
    InTime,
    /// The warning went off.
    Soon,
    Late,
}

impl Due {
    fn of(ticket: &Ticket) -> Option<Self> {
        // Answered or resolved: nothing is due (the plan may lag a moment).
        crate::ticket::targets::waiting(ticket)?;
        let alarms = &ticket.alarms;
        let at = alarms.due_at?;
        let stands = if alarms.late() {
            Stands::Late
        } else if alarms.done_until.is_some() {
            Stands::Soon
        } else {
            Stands::InTime
        };
        Some(Self { at, stands })
    }
}

impl Card {
    pub fn of(ticket: &Ticket) -> Self {
        let last = ticket
            .messages
            .iter()
            .rev()
            .find(|m| matches!(m.author, crate::ticket::Author::Customer));
        let link = last.and_then(|m| match &m.x_ref {
            XRef::Tweet { id } => Some(format!(
                "https://x.com/{}/status/{id}",
                ticket.customer.handle
            )),
            XRef::DmEvent { .. } => None,
        });
        let origin = match &ticket.origin {
            Origin::SearchHit { rule } => format!("search ({rule})"),
            other => other.label().to_owned(),
        };
        let actions = match &ticket.state {
            State::Open => vec![CardAction::Claim, CardAction::Resolve],
            State::Claimed(_) => vec![CardAction::Release, CardAction::Resolve],
            State::Resolved(_) => vec![CardAction::Reopen],
        };
        Self {
            ticket: ticket.id,
            customer_name: ticket.customer.name.clone(),
            customer_handle: ticket.customer.handle.clone(),
            text: last.map(|m| m.text.clone()).unwrap_or_default(),
            link,
            origin,
            priority: ticket.priority,
            status: ticket.state.label(),
            holder: ticket.holder().map(|h| h.name.clone()),
            reply_channel: ticket.reply_channel,
            category: ticket.category.clone(),
            tags: ticket.tags.iter().cloned().collect(),
            actions,
            reply_held_until: ticket.reply_held_until,
            due: Due::of(ticket),
            follow_up: ticket.follow_up.as_ref().map(|f| (f.at, f.done)),
            snoozed_until: ticket.snoozed_until,
        }
    }

    /// One line for notifications and screen readers.
    pub fn summary(&self) -> String {
        format!(
            "{} {} from @{} ({}, {}): {}",
            self.ticket,
            self.origin,
            self.customer_handle,
            self.priority,
            self.status,
            self.text.chars().take(100).collect::<String>()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{agent, mention};
    use crate::ticket::{Claim, TicketId};

    #[test]
    fn the_card_shows_the_ticket_and_the_buttons_that_apply() {
        let mut t = Ticket::open(TicketId::new(7), mention(100));
        let card = Card::of(&t);
        assert_eq!(
            card.link.as_deref(),
            Some("https://x.com/customer100/status/100")
        );
        assert_eq!((card.status, card.holder.as_deref()), ("open", None));
        assert_eq!(card.actions, [CardAction::Claim, CardAction::Resolve]);
        t.state = State::Claimed(Claim::new(agent("jo"), crate::testing::t0()));
        let card = Card::of(&t);
        assert_eq!(
            (card.status, card.holder.as_deref()),
            ("claimed", Some("Agent jo"))
        );
        assert_eq!(card.actions, [CardAction::Release, CardAction::Resolve]);
        assert!(card.summary().starts_with("#7 mention from @customer100"));
        for a in CardAction::ALL {
            assert_eq!(CardAction::from_id(a.id()), Some(a));
        }
    }

    #[test]
    fn the_due_time_shows_while_the_customer_waits_and_late_once_passed() {
        let mut t = Ticket::open(TicketId::new(7), mention(100));
        let due = crate::testing::t0() + chrono::Duration::hours(1);
        t.alarms.due_at = Some(due);
        let card = Card::of(&t);
        assert_eq!(
            card.due.map(|d| (d.at, d.stands)),
            Some((due, Stands::InTime))
        );
        t.alarms.done_until = Some(due);
        assert_eq!(Card::of(&t).due.map(|d| d.stands), Some(Stands::Late));
        // Resolved before the plan caught up: nothing is due any more.
        t.state = State::Resolved(crate::ticket::Resolution {
            by: agent("jo"),
            at: due,
            note: None,
        });
        assert_eq!(Card::of(&t).due, None);
    }
}
