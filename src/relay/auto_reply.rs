//! What perch says on its own when a ticket opens: outside the published
//! support hours the off-hours reply, and to a new DM conversation the
//! welcome. The reply is written to the outbox in the transaction that
//! opens the ticket, so it goes out exactly once, as an agent's reply
//! does, and the thread loop shows it in the ticket's threads. It is not
//! the team's first response: response times still wait for a person.

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::store::{Delivery, FirstReply, OutboxEntry};
use crate::ticket::{last_customer_post, Agent, AutoReply, Origin, ReplyChannel, Ticket};

/// A customer hears the same automatic reply at most once in this long:
/// nobody wants to read it twice, and X refuses a post that repeats one.
const QUIET: chrono::Duration = chrono::Duration::hours(12);

/// Who an automatic reply is from, in the outbox and the audit log.
pub(super) fn perch() -> Agent {
    Agent {
        id: "perch".into(),
        name: "perch".to_owned(),
    }
}

/// The automatic reply a ticket opened at `now` gets, if any.
///
/// Someone found by a search rule did not write to us, and someone who
/// mentioned us where we cannot answer in public did not ask for a DM: neither gets
/// one. Outside support hours the off-hours reply takes the welcome's place.
pub(super) fn first_reply(
    config: &Config,
    ticket: &Ticket,
    now: DateTime<Utc>,
) -> Option<FirstReply> {
    let replies = &config.auto_replies;
    let wrote_to_us = match ticket.origin {
        Origin::Dm => true,
        Origin::Mention => ticket.reply_channel == ReplyChannel::Public,
        Origin::SearchHit { .. } => false,
    };
    if !wrote_to_us {
        return None;
    }
    let closed = config.support_hours.as_ref().filter(|h| !h.is_open(now));
    let (kind, words) = match closed.and_then(|hours| replies.off_hours_text(hours, now)) {
        Some(words) => (AutoReply::OffHours, words),
        None if ticket.origin == Origin::Dm => (AutoReply::DmWelcome, replies.dm_welcome.clone()?),
        None => return None,
    };
    let text = match ticket.reply_channel {
        ReplyChannel::Public => format!("@{} {words}", ticket.customer.handle),
        ReplyChannel::Dm => words,
    };
    let entry = OutboxEntry {
        ticket: ticket.id,
        account: ticket.account.clone(),
        agent: perch(),
        text,
        channel: ticket.reply_channel,
        created_at: now,
        delivery: Delivery::Pending,
        in_reply_to: last_customer_post(ticket),
        recipient: Some(ticket.customer.id.clone()),
        origin: None,
        auto: Some(kind),
        held_until: None,
        signature: None,
        prompt: None,
    };
    Some(FirstReply {
        once: format!("{}/{}/{kind:?}", ticket.account, ticket.customer.id),
        quiet_until: now + QUIET,
        entry,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::ticket::TicketId;

    fn mention(n: u64) -> Ticket {
        Ticket::open(TicketId::new(n), crate::testing::mention(n))
    }

    const CONFIG: &str = include_str!("../../bot-config/sandbox.toml");

    fn config(edit: impl Fn(String) -> String) -> Config {
        match crate::config::from_str(&edit(CONFIG.to_owned())) {
            Ok(v) => v.config,
            Err(problems) => panic!("config: {problems:?}"),
        }
    }

    /// Monday 2026-11-23 10:00 UTC (open in the sandbox's hours), and
    /// Saturday 2026-11-28 10:00 UTC (closed).
    fn monday() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
            .single()
            .unwrap_or_default()
    }
    fn saturday() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn dm() -> Ticket {
        let mut t = mention(3);
        t.origin = Origin::Dm;
        t.reply_channel = ReplyChannel::Dm;
        t.can_reply_publicly = false;
        t
    }

    #[test]
    fn who_gets_which_automatic_reply() {
        let with_opens = config(|c| {
            c.replace(
                "off_hours = \"Thanks! Our team is offline right now and will answer from {opens}.\"",
                "off_hours = \"We are back {opens}.\"",
            )
            .replace("sat = \"00:00-24:00\"\n", "")
            .replace("sun = \"00:00-24:00\"\n", "")
        });
        let mut search = mention(4);
        search.origin = Origin::SearchHit {
            rule: "brand".into(),
        };
        let mut quoted_elsewhere = mention(5);
        quoted_elsewhere.reply_channel = ReplyChannel::Dm;

        // (what, ticket, when, the reply it gets: kind, channel, words)
        type Case<'a> = (
            &'a str,
            &'a Ticket,
            DateTime<Utc>,
            Option<(AutoReply, ReplyChannel, &'a str)>,
        );
        let cases: [Case; 6] = [
            ("a mention in hours", &mention(1), monday(), None),
            (
                "a DM in hours",
                &dm(),
                monday(),
                Some((
                    AutoReply::DmWelcome,
                    ReplyChannel::Dm,
                    "Hi! Thanks for your message",
                )),
            ),
            (
                "a mention off hours",
                &mention(1),
                saturday(),
                Some((
                    AutoReply::OffHours,
                    ReplyChannel::Public,
                    "We are back Monday 00:00 UTC.",
                )),
            ),
            (
                "a DM off hours",
                &dm(),
                saturday(),
                Some((
                    AutoReply::OffHours,
                    ReplyChannel::Dm,
                    "We are back Monday 00:00 UTC.",
                )),
            ),
            ("a search hit off hours", &search, saturday(), None),
            (
                "a mention we can only DM",
                &quoted_elsewhere,
                saturday(),
                None,
            ),
        ];
        for (what, ticket, now, want) in cases {
            let got = first_reply(&with_opens, ticket, now);
            match (got.map(|f| f.entry), want) {
                (None, None) => {}
                (Some(entry), Some((kind, channel, words))) => {
                    assert_eq!(entry.auto, Some(kind), "{what}");
                    assert_eq!(entry.channel, channel, "{what}");
                    assert!(entry.text.contains(words), "{what}: {}", entry.text);
                    assert_eq!(entry.agent, perch(), "{what}");
                    if channel == ReplyChannel::Public {
                        assert!(
                            entry
                                .text
                                .starts_with(&format!("@{} ", ticket.customer.handle)),
                            "{what}"
                        );
                        assert!(entry.in_reply_to.is_some(), "{what}");
                    }
                }
                (got, want) => panic!("{what}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn nothing_is_sent_without_the_text_or_the_hours() {
        let none = config(|c| {
            let start = c.find("[auto_replies]").unwrap_or(c.len());
            c[..start].to_owned()
        });
        assert_eq!(first_reply(&none, &dm(), saturday()), None);
        let always_open = config(|c| c);
        let welcome = first_reply(&always_open, &dm(), saturday()).map(|f| f.entry.auto);
        assert_eq!(welcome, Some(Some(AutoReply::DmWelcome)));
        assert_eq!(first_reply(&always_open, &mention(1), saturday()), None);
    }
}
