//! Why a command was refused, in the words the person who asked reads.

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::ticket::model::{Agent, ReplyChannel};

/// Why a command was refused. `Display` is the message shown to the person
/// who asked, so it says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    #[error("only support agents can act on tickets; ask a lead to add you to the agents group")]
    NotAnAgent,
    #[error("held by {} since {}; a lead can take it over with `claim force`", holder.name, fmt_time(*since))]
    HeldBy { holder: Agent, since: DateTime<Utc> },
    #[error("you already hold it (since {})", fmt_time(*since))]
    AlreadyYours { since: DateTime<Utc> },
    #[error("only {} (who holds it) or a lead can do that", holder.name)]
    NotHolder { holder: Agent },
    #[error("only a lead can {action}")]
    NeedsLead { action: &'static str },
    #[error("it is not claimed")]
    NotClaimed,
    #[error("it is resolved; `reopen` it first")]
    Resolved,
    #[error("it is not resolved")]
    NotResolved,
    #[error("{} already holds it", holder.name)]
    AlreadyHeld { holder: Agent },
    #[error("replies already go out as a {0}")]
    AlreadyChannel(ReplyChannel),
    #[error("{reason}")]
    ChannelUnavailable { reason: &'static str },
    #[error("claim it first (`claim`): this team requires an explicit claim before replying")]
    MustClaimFirst,
    #[error("there is nothing to {0}: add some text")]
    EmptyText(&'static str),
    /// The reply cannot go out as written (recomposed in the transaction:
    /// the reply channel may have changed).
    #[error(transparent)]
    Compose(#[from] crate::ticket::reply::ComposeError),
    #[error("a follow-up is for a resolved ticket: `resolve` it first, or `snooze 2h` to set an open one aside")]
    FollowUpNeedsResolved,
    #[error("it is on that account already")]
    SameAccount,
    #[error("there is no follow-up to take back")]
    NoFollowUp,
    #[error("it is not snoozed")]
    NotSnoozed,
    /// The customer's message is on the ticket already (recorded before a
    /// restart).
    #[error("the message is on the ticket already")]
    AlreadyRecorded,
}

pub(super) fn fmt_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}
