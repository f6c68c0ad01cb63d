//! A question to an agent about one reply before it leaves for X: the
//! countdown with Undo (`undo` mode) or the preview with Send and Cancel
//! (`confirm` mode). Each platform draws it with its own buttons; a press
//! comes back as `ChatEvent::ReplyButton` with the reply's number.

use serde::{Deserialize, Serialize};

use super::{ChatThread, ChatUser, Responder, Text};

/// A button under a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptAction {
    Send,
    Cancel,
    Undo,
}

impl PromptAction {
    const ALL: [Self; 3] = [Self::Send, Self::Cancel, Self::Undo];

    /// The action id the button carries (the reply's number is its value).
    pub fn id(self) -> &'static str {
        match self {
            Self::Send => "perch_send",
            Self::Cancel => "perch_cancel",
            Self::Undo => "perch_undo",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Send => "Send",
            Self::Cancel => "Cancel",
            Self::Undo => "Undo",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.id() == id)
    }

    /// `perch_send:42` (a Discord custom id) as the action and reply.
    pub fn parse(custom_id: &str) -> Option<(Self, u64)> {
        let (id, reply) = custom_id.split_once(':')?;
        Some((Self::from_id(id)?, reply.parse().ok()?))
    }
}

/// What to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// The outbox number of the reply it is about.
    pub reply: u64,
    pub text: Text,
    pub actions: Vec<PromptAction>,
}

/// Where to ask, and whom.
#[derive(Debug, Clone, Copy)]
pub struct Asking<'a> {
    pub thread: &'a ChatThread,
    pub agent: &'a ChatUser,
    /// Only the agent sees it, where the platform can do that.
    pub privately: bool,
    /// The command being answered, if the reply came from one (a Discord
    /// interaction can carry a private answer; a thread message cannot).
    pub responder: Option<&'a Responder>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_button_id_names_the_action_and_the_reply() {
        assert_eq!(
            PromptAction::parse("perch_undo:42"),
            Some((PromptAction::Undo, 42))
        );
        assert_eq!(PromptAction::parse("perch_claim:42"), None);
        assert_eq!(PromptAction::parse("perch_send:x"), None);
        assert_eq!(
            PromptAction::from_id(PromptAction::Cancel.id()),
            Some(PromptAction::Cancel)
        );
    }
}
