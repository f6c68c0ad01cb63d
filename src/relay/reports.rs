//! What `queue`, `mine` and `stats` answer, as pure functions of the
//! tickets and the time; and the line a ticket command answers with.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::Summary;
use crate::ticket::{Author, State, Ticket};

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

/// When a `stats` period that ends `now` began.
pub(super) fn since(period: Duration, now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::from_std(period).unwrap_or(chrono::Duration::days(7))
}

/// Of the tickets `tickets`, those opened in the last `period`: how many,
/// how many answered, and the median time to the first response.
pub(super) fn stats(tickets: &[Summary], period: Duration, now: DateTime<Utc>) -> String {
    let since = since(period, now);
    let opened: Vec<&Summary> = tickets.iter().filter(|t| t.created_at >= since).collect();
    let mut waits: Vec<i64> = opened
        .iter()
        .filter_map(|t| {
            t.first_response_at
                .map(|f| (f - t.created_at).num_seconds())
        })
        .collect();
    waits.sort_unstable();
    let period = humantime::format_duration(period);
    if opened.is_empty() {
        return format!("No tickets in the last {period}.");
    }
    let rate = waits.len() * 100 / opened.len();
    let median = waits
        .get(waits.len() / 2)
        .map(|s| {
            humantime::format_duration(Duration::from_secs(u64::try_from(*s).unwrap_or(0)))
                .to_string()
        })
        .unwrap_or_else(|| "n/a".to_owned());
    format!(
        "Last {period}: {} tickets, {} answered ({rate}%), median time to first response {median}.",
        opened.len(),
        waits.len()
    )
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
    fn stats_count_the_period_and_the_median_first_response() {
        let now = Utc::now();
        let mut tickets: Vec<Summary> = (1..=3)
            .map(|n| Summary::of(&Ticket::open(TicketId::new(n), mention(n))))
            .collect();
        for (t, minutes) in tickets.iter_mut().zip([10, 30]) {
            t.created_at = now - chrono::Duration::hours(1);
            t.first_response_at = Some(t.created_at + chrono::Duration::minutes(minutes));
        }
        tickets[2].created_at = now - chrono::Duration::days(30);
        let day = Duration::from_secs(24 * 3600);
        assert_eq!(
            stats(&tickets, day, now),
            "Last 1day: 2 tickets, 2 answered (100%), median time to first response 30m."
        );
        assert_eq!(
            stats(&tickets[2..], day, now),
            "No tickets in the last 1day."
        );
    }

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
