//! What goes out to the customer, as pure functions: an agent's words
//! composed into the text X receives, the post a public reply answers,
//! and the ticket's changes while a reply waits for X's rate limit and
//! once it is sent.

use chrono::{DateTime, Utc};

use super::machine::{Effect, Transition};
use super::model::{Author, Message, ReplyChannel, Ticket, XRef};
use super::TweetId;
use crate::xrules::text;

/// Why an agent's words cannot go out as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    #[error("the message is empty")]
    Empty,
    #[error("the reply is {count} characters as X counts them (the @handle and your signature included); the limit is {limit}, so cut {}", count - limit)]
    TooLong { count: usize, limit: usize },
}

/// The text that goes to X for an agent's message: a public reply names
/// the customer, and every reply carries the agent's signature (`^JD`,
/// from `initials`). The length is checked as X counts it, never
/// truncated.
pub fn compose(ticket: &Ticket, initials: &str, words: &str) -> Result<String, ComposeError> {
    let words = words.trim();
    if words.is_empty() {
        return Err(ComposeError::Empty);
    }
    let (composed, fits) = match ticket.reply_channel {
        ReplyChannel::Public => {
            let composed = format!("@{} {words} ^{initials}", ticket.customer.handle);
            let fits = text::fits_post(&composed);
            (composed, fits)
        }
        ReplyChannel::Dm => {
            let composed = format!("{words}\n^{initials}");
            let fits = text::fits_dm(&composed);
            (composed, fits)
        }
    };
    match fits {
        Ok(_) => Ok(composed),
        Err(text::TooLong { count, limit }) => Err(ComposeError::TooLong { count, limit }),
    }
}

/// The customer's latest post in a ticket, which a public reply answers.
pub fn last_customer_post(ticket: &Ticket) -> Option<TweetId> {
    ticket
        .messages
        .iter()
        .rev()
        .find_map(|m| match (&m.author, &m.x_ref) {
            (Author::Customer, XRef::Tweet { id }) => Some(id.clone()),
            _ => None,
        })
}

/// A reply reached X: it joins the ticket's messages (`detail` says how,
/// for the audit log). The cards are redrawn when it was not an agent's
/// through perch (perch's own, or the team's in X's app: the threads show
/// it) or when they said a reply was waiting.
pub fn reply_sent(ticket: &Ticket, message: Message, detail: String) -> Transition {
    let automatic = !matches!(message.author, Author::Agent { .. });
    let mut next = ticket.clone();
    next.messages.push(message);
    let mut effects = vec![Effect::Audit {
        action: "sent".to_owned(),
        detail: Some(detail),
    }];
    if automatic || next.reply_held_until.take().is_some() {
        effects.push(Effect::RefreshCards);
    }
    Transition {
        ticket: next,
        effects,
    }
}

/// A reply waits for X's rate limit until `until`: the cards say so (the
/// latest time, when several wait).
pub fn reply_held(ticket: &Ticket, until: DateTime<Utc>) -> Transition {
    let mut next = ticket.clone();
    next.reply_held_until = Some(ticket.reply_held_until.map_or(until, |u| u.max(until)));
    Transition {
        ticket: next,
        effects: vec![Effect::RefreshCards],
    }
}

/// No reply waits any more (the one that did failed for good).
pub fn reply_not_held(ticket: &Ticket) -> Transition {
    let mut next = ticket.clone();
    next.reply_held_until = None;
    Transition {
        ticket: next,
        effects: vec![Effect::RefreshCards],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{agent, mention};
    use crate::ticket::{TicketId, XRef};

    fn ticket() -> Ticket {
        Ticket::open(TicketId::new(1), mention(100))
    }

    #[test]
    fn a_public_reply_names_the_customer_and_a_dm_does_not() {
        let mut t = ticket();
        assert_eq!(
            compose(&t, "JD", "  on it  "),
            Ok("@customer100 on it ^JD".to_owned())
        );
        t.reply_channel = ReplyChannel::Dm;
        assert_eq!(compose(&t, "JD", "on it"), Ok("on it\n^JD".to_owned()));
        assert_eq!(compose(&t, "JD", " \n"), Err(ComposeError::Empty));
    }

    #[test]
    fn a_reply_too_long_for_x_says_by_how_much() {
        let t = ticket();
        // "@customer100 " (13) + words + " ^JD" (4): 264 words fit.
        assert!(compose(&t, "JD", &"a".repeat(263)).is_ok());
        let err = compose(&t, "JD", &"a".repeat(265));
        assert_eq!(
            err,
            Err(ComposeError::TooLong {
                count: 282,
                limit: 280
            })
        );
        assert!(err.err().is_some_and(|e| e.to_string().contains("cut 2")));
    }

    #[test]
    fn a_public_reply_answers_the_customer_latest_post() {
        let mut t = ticket();
        assert_eq!(last_customer_post(&t), Some(TweetId::from("100")));
        t.messages.push(Message {
            author: Author::Agent { agent: agent("jo") },
            x_ref: XRef::Tweet { id: "200".into() },
            text: "ours".into(),
            at: t.created_at,
        });
        assert_eq!(last_customer_post(&t), Some(TweetId::from("100")));
    }

    #[test]
    fn a_held_reply_shows_on_the_cards_until_it_is_sent() {
        let t = ticket();
        let at = t.created_at;
        let held = reply_held(&t, at + chrono::Duration::minutes(5));
        assert_eq!(held.effects, vec![Effect::RefreshCards]);
        let later = reply_held(&held.ticket, at + chrono::Duration::minutes(2));
        assert_eq!(
            later.ticket.reply_held_until,
            Some(at + chrono::Duration::minutes(5)),
            "the latest time stays"
        );
        let message = Message {
            author: Author::Agent { agent: agent("jo") },
            x_ref: XRef::Tweet { id: "300".into() },
            text: "@customer100 done ^JD".into(),
            at,
        };
        let sent = reply_sent(&later.ticket, message.clone(), "public reply".into());
        assert_eq!(sent.ticket.reply_held_until, None);
        assert!(sent.effects.contains(&Effect::RefreshCards));
        assert_eq!(sent.ticket.messages.last(), Some(&message));
        // Sent without a wait: the agent's reply shows in the threads as it
        // is sent, so the cards stay as they are.
        let plain = reply_sent(&t, message, "public reply".into());
        assert!(!plain.effects.contains(&Effect::RefreshCards));
        assert_eq!(reply_not_held(&held.ticket).ticket.reply_held_until, None);
    }
}
