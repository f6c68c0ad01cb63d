//! A year of tickets as `perch export` writes it: each ticket with the
//! values perch keeps for it (its tweet and conversation, a Slack and a
//! Discord thread, the audit of its claim, reply and resolution, the reply
//! in the outbox, the drawn state of both threads), the newest `active`
//! still open or claimed, the rest resolved; spread over the year before
//! `end`, for the sandbox's account and channels.

use std::io::Write;

use chrono::{DateTime, Duration, Utc};
use perch::store::codec::number_key;
use perch::store::{AuditEntry, Delivery, OutboxEntry, RouteView};
use perch::ticket::{
    self, Actor, Author, ChatThread, Command, ConversationKey, Customer, Effect, Message,
    NewTicket, Origin, Policy, Priority, ReplyChannel, Role, Ticket, TicketId, XRef,
};

pub const SLACK: &str = "C0SUPPORT1";
pub const DISCORD: &str = "1100000000000000001";

fn line(
    out: &mut dyn Write,
    tree: &str,
    key: &str,
    value: &impl serde::Serialize,
) -> anyhow::Result<()> {
    let value = serde_json::to_string(value)?;
    writeln!(
        out,
        "{{\"tree\":\"{tree}\",\"key\":{},\"value\":{value}}}",
        serde_json::to_string(key)?
    )?;
    Ok(())
}

/// Writes the dump of `n` tickets; returns how many lines.
pub fn write(out: &mut dyn Write, n: u64, active: u64, end: DateTime<Utc>) -> anyhow::Result<u64> {
    writeln!(out, "{{\"perch_export\":1,\"schema\":1}}")?;
    let mut lines = 0;
    line(out, "meta", "next_ticket", &(n + 1))?;
    line(out, "meta", "next_number", &(n + 1))?;
    let sam = Actor {
        agent: ticket::Agent {
            id: "sam".into(),
            name: "Sam Lee".to_owned(),
        },
        role: Role::Agent,
    };
    let step = Duration::seconds(365 * 24 * 3600 / i64::try_from(n.max(1))?);
    for k in 1..=n {
        // The active ones are the last half hour's (older claims would be
        // released as idle when perch starts).
        let back = n - k + 1;
        let at = if back <= active {
            end - Duration::seconds(i64::try_from(back)? * 1800 / i64::try_from(active)?)
        } else {
            end - step * i32::try_from(back)?
        };
        let tweet = format!("{}", 1_800_000_000_000_000_000u64 + k);
        let id = TicketId::new(k);
        let new = NewTicket {
            account: "acme".into(),
            origin: if k % 5 == 0 { Origin::Dm } else { Origin::Mention },
            customer: Customer {
                id: format!("{}", 1_600_000_000_000_000_000u64 + k % 40_000).as_str().into(),
                handle: format!("customer{}", k % 40_000),
                name: format!("Customer {}", k % 40_000),
            },
            conversation: ConversationKey::Public {
                account: "acme".into(),
                conversation: tweet.as_str().into(),
            },
            first_message: Message {
                author: Author::Customer,
                x_ref: XRef::Tweet { id: tweet.as_str().into() },
                text: format!("@AcmeSupport my order #{k} has not arrived and tracking shows nothing since Monday"),
                at,
            },
            priority: if k % 17 == 0 { Priority::Urgent } else { Priority::Normal },
            category: None,
            tags: Default::default(),
            can_reply_publicly: true,
        };
        let mut t = Ticket::open(id, new.clone());
        let threads = [
            ChatThread::Slack {
                channel: SLACK.into(),
                thread_ts: format!("{}.{:06}", at.timestamp(), k % 1_000_000)
                    .as_str()
                    .into(),
            },
            ChatThread::Discord {
                parent: DISCORD.into(),
                thread: format!("{}", 1_700_000_000_000_000_000u64 + k)
                    .as_str()
                    .into(),
            },
        ];
        t.threads = threads.to_vec();
        let mut audits = vec![(
            0,
            AuditEntry {
                at,
                ticket: Some(id),
                actor: None,
                action: "open".to_owned(),
                detail: Some(format!("mention from @{}", new.customer.handle)),
            },
        )];
        let open_to = if k > n.saturating_sub(active) {
            k % 3
        } else {
            3
        };
        let commands = [
            Command::Claim { force: false },
            Command::Reply { text: "Sorry about that! It left our warehouse today; here is the new tracking link. ^SL".to_owned() },
            Command::Resolve { note: Some("reshipped".to_owned()) },
        ];
        for (i, command) in commands
            .into_iter()
            .enumerate()
            .take(usize::try_from(open_to)?)
        {
            let now = at + Duration::minutes(12 * (i as i64 + 1));
            let Ok(transition) = ticket::apply(&t, command, &sam, now, &Policy::default()) else {
                anyhow::bail!("ticket {k}: the history's commands were refused");
            };
            t = transition.ticket;
            t.revision += 1;
            for effect in &transition.effects {
                if let Effect::Audit { action, detail } = effect {
                    audits.push((
                        t.revision,
                        AuditEntry {
                            at: now,
                            ticket: Some(id),
                            actor: Some(sam.agent.clone()),
                            action: action.clone(),
                            detail: detail.clone(),
                        },
                    ));
                }
            }
            if let Effect::SendReply { .. } = transition
                .effects
                .iter()
                .find(|e| matches!(e, Effect::SendReply { .. }))
                .unwrap_or(&Effect::RefreshCards)
            {
                let sent = XRef::Tweet {
                    id: format!("{}", 1_900_000_000_000_000_000u64 + k)
                        .as_str()
                        .into(),
                };
                let text = "Sorry about that! It left our warehouse today; here is the new tracking link. ^SL";
                t.messages.push(Message {
                    author: Author::Agent {
                        agent: sam.agent.clone(),
                    },
                    x_ref: sent.clone(),
                    text: text.to_owned(),
                    at: now,
                });
                t.first_response_at = Some(now);
                let entry = OutboxEntry {
                    ticket: id,
                    account: "acme".into(),
                    agent: sam.agent.clone(),
                    text: text.to_owned(),
                    channel: ReplyChannel::Public,
                    created_at: now,
                    delivery: Delivery::Sent {
                        x_ref: sent,
                        at: now,
                    },
                    in_reply_to: Some(tweet.as_str().into()),
                    recipient: Some(new.customer.id.clone()),
                    origin: None,
                    auto: None,
                    held_until: None,
                    signature: Some("SL".to_owned()),
                    prompt: None,
                };
                line(out, "outbox", &number_key(k), &entry)?;
                lines += 1;
            }
        }
        line(out, "tickets", &number_key(k), &t)?;
        line(out, "tweets", &tweet, &id)?;
        line(out, "conversations", &new.conversation.storage_key(), &id)?;
        lines += 3;
        for thread in &threads {
            line(out, "threads", &thread.storage_key(), &id)?;
            lines += 1;
        }
        let mut index = 0;
        let mut last = u64::MAX;
        for (revision, entry) in audits {
            index = if revision == last { index + 1 } else { 0 };
            last = revision;
            line(
                out,
                "audit",
                &format!("{}/{revision:010}/{index}", number_key(k)),
                &entry,
            )?;
            lines += 1;
        }
        for route in [format!("slack:{SLACK}"), format!("discord:{DISCORD}")] {
            let view = RouteView {
                opening_since: None,
                card_revision: t.revision,
                relayed: 1,
                alarms_said: 0,
            };
            line(
                out,
                "chat_views",
                &format!("{}/{route}", number_key(k)),
                &view,
            )?;
            lines += 1;
        }
    }
    Ok(lines)
}
