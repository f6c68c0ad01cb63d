//! Builders for tests (unit tests here, scenarios in tests/). Not part of
//! the product's API.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeZone, Utc};

use crate::ticket::{
    AccountKey, Actor, Agent, Author, ConversationKey, Customer, Message, NewTicket, Origin,
    Priority, Role, XRef,
};

/// A fixed, readable instant: 2026-11-23 09:00 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A mention from customer `n` starting conversation `n`.
/// `hour`:00 UTC on November `day`, 2026 (a 30-day month).
pub fn november(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0)
        .single()
        .unwrap_or_default()
}

pub fn mention(n: u64) -> NewTicket {
    let account = AccountKey::from("acme");
    NewTicket {
        conversation: ConversationKey::Public {
            account: account.clone(),
            conversation: n.to_string().as_str().into(),
        },
        account,
        origin: Origin::Mention,
        customer: Customer {
            id: format!("9{n}").as_str().into(),
            handle: format!("customer{n}"),
            name: format!("Customer {n}"),
        },
        first_message: Message {
            author: Author::Customer,
            x_ref: XRef::Tweet {
                id: n.to_string().as_str().into(),
            },
            text: format!("@acme help with order {n}"),
            at: t0(),
        },
        priority: Priority::Normal,
        category: None,
        tags: BTreeSet::new(),
        can_reply_publicly: true,
    }
}

pub fn agent(id: &str) -> Agent {
    Agent {
        id: id.into(),
        name: format!("Agent {id}"),
    }
}

pub fn actor(id: &str, role: Role) -> Actor {
    Actor {
        agent: agent(id),
        role,
    }
}
