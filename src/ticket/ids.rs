//! Typed identifiers. A tweet id is not a ticket id is not a Slack ts: each
//! has its own type so the compiler refuses to mix them up.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Defines a string-backed id newtype with `Display`, `From<&str>` and serde
/// as a plain string.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

string_id!(
    /// A person on a chat platform: a Slack `U…` id or a Discord user
    /// snowflake, as the platform sent it.
    ChatUserId
);

string_id!(
    /// A message on a chat platform: a Slack `ts` or a Discord message
    /// snowflake.
    ChatMessageId
);

string_id!(
    /// The config key of an X account (`accounts[].key`), e.g. `acme`.
    AccountKey
);
string_id!(
    /// A post on X (numeric, kept as a string as the API sends it).
    TweetId
);
string_id!(
    /// A user on X (numeric string).
    XUserId
);
string_id!(
    /// X's `conversation_id`: the id of the post that started a reply chain.
    XConversationId
);
string_id!(
    /// X's `dm_conversation_id` (e.g. `123-456` for a one-to-one chat).
    DmConversationId
);
string_id!(
    /// A DM event on X.
    DmEventId
);

impl DmConversationId {
    /// The one-to-one conversation of two users, as X names it: the two
    /// ids, smaller first, compared as numbers (`750362064426721281` comes
    /// before `1072250532645998596`, though not as text).
    pub fn between(a: &str, b: &str) -> Self {
        let as_number = |id: &str| (id.trim_start_matches('0').len(), id.to_owned());
        let (first, second) = if as_number(a) <= as_number(b) {
            (a, b)
        } else {
            (b, a)
        };
        Self::new(format!("{first}-{second}"))
    }
}
string_id!(
    /// A Slack channel (`C…`).
    SlackChannelId
);
string_id!(
    /// A Slack message timestamp (`1700000000.000100`), which is also a
    /// thread's id within its channel.
    SlackTs
);
string_id!(
    /// A Slack user (`U…` or `W…`).
    SlackUserId
);
string_id!(
    /// A Discord channel, thread or forum post (snowflake).
    DiscordChannelId
);
string_id!(
    /// A Discord user (snowflake).
    DiscordUserId
);
string_id!(
    /// Who acts on tickets. A configured agent's key (`jo`), or for people who
    /// are agents only through a group or role, `slack:U…` / `discord:…`.
    AgentId
);

/// A ticket number, shown to people as `#42`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketId(u64);

impl TicketId {
    pub const fn new(n: u64) -> Self {
        Self(n)
    }

    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl FromStr for TicketId {
    type Err = String;

    /// Accepts `#42`, `42` and `T-42`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s
            .strip_prefix('#')
            .or_else(|| s.strip_prefix("T-"))
            .or_else(|| s.strip_prefix("t-"))
            .unwrap_or(s);
        match digits.parse::<u64>() {
            Ok(n) if n > 0 => Ok(Self(n)),
            _ => Err(format!("`{s}` is not a ticket number (expected e.g. #42)")),
        }
    }
}

/// What a ticket is keyed by, so that later messages find it: a public
/// reply chain or a DM conversation, always within one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConversationKey {
    Public {
        account: AccountKey,
        conversation: XConversationId,
    },
    Dm {
        account: AccountKey,
        conversation: DmConversationId,
    },
}

impl ConversationKey {
    /// The key used in the store's `conversations` tree.
    pub fn storage_key(&self) -> String {
        match self {
            Self::Public {
                account,
                conversation,
            } => format!("{account}/public/{conversation}"),
            Self::Dm {
                account,
                conversation,
            } => format!("{account}/dm/{conversation}"),
        }
    }
}

/// A chat platform perch speaks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Slack,
    Discord,
}

impl Platform {
    pub fn name(self) -> &'static str {
        match self {
            Self::Slack => "slack",
            Self::Discord => "discord",
        }
    }
}

/// Where a ticket's thread lives on a chat platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "platform", rename_all = "snake_case")]
pub enum ChatThread {
    Slack {
        channel: SlackChannelId,
        thread_ts: SlackTs,
    },
    Discord {
        /// The text or forum channel the thread lives in (where the card
        /// of a text-channel thread is a message).
        parent: DiscordChannelId,
        /// The thread or forum post (a channel in Discord's model; a
        /// thread started from a message has that message's id).
        thread: DiscordChannelId,
    },
}

impl ChatThread {
    pub fn platform(&self) -> Platform {
        match self {
            Self::Slack { .. } => Platform::Slack,
            Self::Discord { .. } => Platform::Discord,
        }
    }

    /// The key used in the store's `threads` tree.
    pub fn storage_key(&self) -> String {
        match self {
            Self::Slack { channel, thread_ts } => format!("slack/{channel}/{thread_ts}"),
            Self::Discord { thread, .. } => format!("discord/{thread}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_ids_parse_in_the_forms_people_type() {
        assert_eq!("#42".parse::<TicketId>(), Ok(TicketId::new(42)));
        assert_eq!("42".parse::<TicketId>(), Ok(TicketId::new(42)));
        assert_eq!("T-7".parse::<TicketId>(), Ok(TicketId::new(7)));
        assert!("#0".parse::<TicketId>().is_err());
        assert!("#x".parse::<TicketId>().is_err());
        assert_eq!(TicketId::new(9).to_string(), "#9");
    }

    #[test]
    fn storage_keys_keep_accounts_and_kinds_apart() {
        let public = ConversationKey::Public {
            account: "acme".into(),
            conversation: "1".into(),
        };
        let dm = ConversationKey::Dm {
            account: "acme".into(),
            conversation: "1".into(),
        };
        assert_ne!(public.storage_key(), dm.storage_key());
        let slack = ChatThread::Slack {
            channel: "C1".into(),
            thread_ts: "1.2".into(),
        };
        assert_eq!(slack.storage_key(), "slack/C1/1.2");
    }
}

#[cfg(test)]
mod dm_conversation_tests {
    use super::DmConversationId;

    #[test]
    fn a_dm_conversation_orders_its_ids_as_numbers() {
        // As in X's answer to POST /2/dm_conversations/with/:id/messages.
        let id = DmConversationId::between("1072250532645998596", "750362064426721281");
        assert_eq!(id.as_str(), "750362064426721281-1072250532645998596");
        assert_eq!(
            DmConversationId::between("750362064426721281", "1072250532645998596"),
            id
        );
        assert_eq!(DmConversationId::between("9", "10").as_str(), "9-10");
    }
}
