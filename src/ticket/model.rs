//! What a ticket is: the conversation with one customer on one account.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{
    AccountKey, AgentId, ChatThread, ConversationKey, DmEventId, TicketId, TweetId, XUserId,
};

/// How urgent a ticket is. Ordered: `Urgent` sorts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Urgent,
    High,
    Normal,
    Low,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Self::Urgent, Self::High, Self::Normal, Self::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Urgent => "urgent",
            Self::High => "high",
            Self::Normal => "normal",
            Self::Low => "low",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the customer reached us.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// The account was mentioned (or quoted).
    Mention,
    /// A keyword search rule matched; the account was not necessarily named.
    SearchHit { rule: String },
    /// A direct message.
    Dm,
}

impl Origin {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Mention => "mention",
            Self::SearchHit { .. } => "search",
            Self::Dm => "DM",
        }
    }
}

/// How an agent's reply reaches the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyChannel {
    Public,
    Dm,
}

impl fmt::Display for ReplyChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Public => "public reply",
            Self::Dm => "DM",
        })
    }
}

/// The person on X.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: XUserId,
    /// Without the `@`.
    pub handle: String,
    pub name: String,
}

/// Someone who acts on tickets, as the state machine sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    pub id: AgentId,
    pub name: String,
}

/// What an actor may do. Resolved from config (agents, groups, roles) by the
/// service; the state machine only reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Not an agent: may read threads, may not act or speak to customers.
    Outsider,
    Agent,
    /// May force a claim, assign and release others' claims.
    Lead,
}

/// Someone acting on a ticket: the agent and the role they hold right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub agent: Agent,
    pub role: Role,
}

/// Who holds a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub holder: Agent,
    pub since: DateTime<Utc>,
    /// The holder's last reply to the customer; idle release counts from
    /// here (or from `since` when there is none).
    pub last_reply_at: Option<DateTime<Utc>>,
}

impl Claim {
    pub fn new(holder: Agent, since: DateTime<Utc>) -> Self {
        Self {
            holder,
            since,
            last_reply_at: None,
        }
    }

    /// When the holder last showed they are working on it.
    pub fn last_activity(&self) -> DateTime<Utc> {
        self.last_reply_at.unwrap_or(self.since).max(self.since)
    }
}

/// Why and by whom a ticket was closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    pub by: Agent,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
}

/// Status and claim in one value, so that a resolved ticket cannot also be
/// claimed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum State {
    Open,
    Claimed(Claim),
    Resolved(Resolution),
}

impl State {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Claimed(_) => "claimed",
            Self::Resolved(_) => "resolved",
        }
    }

    pub fn claim(&self) -> Option<&Claim> {
        match self {
            Self::Claimed(claim) => Some(claim),
            _ => None,
        }
    }
}

/// Who wrote a message in the ticket's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Author {
    Customer,
    Agent {
        agent: Agent,
    },
    /// perch itself, with a reply configured in `[auto_replies]`.
    Auto {
        reply: AutoReply,
    },
    /// Someone of the team, in X's own app (not through perch).
    Team,
}

/// A reply perch sends on its own when a ticket opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoReply {
    /// Outside the published support hours.
    OffHours,
    /// To a customer who starts a DM conversation.
    DmWelcome,
}

impl fmt::Display for AutoReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OffHours => "off-hours reply",
            Self::DmWelcome => "DM welcome",
        })
    }
}

/// Where a message lives on X.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum XRef {
    Tweet { id: TweetId },
    DmEvent { id: DmEventId },
}

/// One message in the conversation, customer's or ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub author: Author,
    pub x_ref: XRef,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// An internal note left by an agent; never sent to the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub by: Agent,
    pub at: DateTime<Utc>,
    pub text: String,
}

/// A conversation with one customer, shown as one thread per chat route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: TicketId,
    pub account: AccountKey,
    pub origin: Origin,
    pub customer: Customer,
    pub conversation: ConversationKey,
    pub messages: Vec<Message>,
    pub notes: Vec<Note>,
    pub priority: Priority,
    pub category: Option<String>,
    pub tags: BTreeSet<String>,
    pub state: State,
    pub reply_channel: ReplyChannel,
    /// X accepts a public reply only to a post that mentioned or quoted the
    /// replying account; search hits usually cannot be answered in public.
    pub can_reply_publicly: bool,
    /// The chat threads showing this ticket (one per route).
    pub threads: Vec<ChatThread>,
    pub created_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// How many times the stored ticket has changed; the store bumps it.
    #[serde(default)]
    pub revision: u64,
    /// A reply to this ticket waits for X's rate limit window until then
    /// (shown on the card; cleared when the reply goes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_held_until: Option<DateTime<Utc>>,
    /// When the team last answered through perch (the reply may still
    /// travel to X); the response targets count from the customer's
    /// words after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_response_at: Option<DateTime<Utc>>,
    /// The response target's alarms for the current wait.
    #[serde(default, skip_serializing_if = "is_default")]
    pub alarms: super::targets::Alarms,
    /// `followup 3d`: a reminder about a resolved ticket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUp>,
    /// `snooze 2h`: hidden from the queue until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snoozed_until: Option<DateTime<Utc>>,
    /// How many times the ticket opened again after it was resolved (by
    /// `reopen` or because the customer wrote).
    #[serde(default, skip_serializing_if = "is_default")]
    pub reopened: u32,
}

/// A reminder about a resolved ticket, for whoever set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub at: DateTime<Utc>,
    pub note: Option<String>,
    pub by: Agent,
    /// The reminder went off (the threads say it; the card shows it).
    pub done: bool,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// What is known when a ticket is first opened.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub account: AccountKey,
    pub origin: Origin,
    pub customer: Customer,
    pub conversation: ConversationKey,
    pub first_message: Message,
    pub priority: Priority,
    pub category: Option<String>,
    pub tags: BTreeSet<String>,
    pub can_reply_publicly: bool,
}

impl Ticket {
    /// A fresh, unclaimed ticket. DMs are answered by DM; everything else
    /// publicly when X allows it, else by DM.
    pub fn open(id: TicketId, new: NewTicket) -> Self {
        let reply_channel = if matches!(new.origin, Origin::Dm) || !new.can_reply_publicly {
            ReplyChannel::Dm
        } else {
            ReplyChannel::Public
        };
        let at = new.first_message.at;
        Self {
            id,
            account: new.account,
            origin: new.origin,
            customer: new.customer,
            conversation: new.conversation,
            messages: vec![new.first_message],
            notes: Vec::new(),
            priority: new.priority,
            category: new.category,
            tags: new.tags,
            state: State::Open,
            reply_channel,
            can_reply_publicly: new.can_reply_publicly,
            threads: Vec::new(),
            created_at: at,
            first_response_at: None,
            resolved_at: None,
            updated_at: at,
            revision: 0,
            reply_held_until: None,
            last_response_at: None,
            alarms: super::targets::Alarms::default(),
            follow_up: None,
            snoozed_until: None,
            reopened: 0,
        }
    }

    pub fn holder(&self) -> Option<&Agent> {
        self.state.claim().map(|c| &c.holder)
    }
}
