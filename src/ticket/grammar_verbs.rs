//! The list of verbs: the help text, Discord's `/perch` subcommands and
//! the grammar's tests are made from it.

/// One verb of the grammar: how it is written, what it does, and the
/// short line Discord shows beside the subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verb {
    pub name: &'static str,
    /// Its arguments, as the help text shows them.
    pub usage: &'static str,
    pub help: &'static str,
    /// Discord's description (at most 100 characters).
    pub summary: &'static str,
}

/// Every verb, once: the help text, Discord's `/perch` subcommands and the
/// grammar's tests are made from this list.
pub const VERBS: &[Verb] = &[
    Verb {
        name: "claim",
        usage: "",
        help: "take the ticket: your replies in the thread go to the customer",
        summary: "Take the ticket (add #42 outside its thread)",
    },
    Verb {
        name: "claim",
        usage: "force",
        help: "(leads) take a ticket someone else holds",
        summary: "",
    },
    Verb {
        name: "unclaim",
        usage: "",
        help: "give it back to the queue (also: release)",
        summary: "Give the ticket back to the queue",
    },
    Verb {
        name: "assign",
        usage: "@agent",
        help: "(leads) give the ticket to an agent",
        summary: "Give the ticket to an agent: @agent [#42] (leads)",
    },
    Verb {
        name: "resolve",
        usage: "[note]",
        help: "close it, with an optional note",
        summary: "Close the ticket, with an optional note",
    },
    Verb {
        name: "reopen",
        usage: "",
        help: "open a resolved ticket again",
        summary: "Open a resolved ticket again",
    },
    Verb {
        name: "note",
        usage: "<text>",
        help: "internal note (or start a thread message with // or note:)",
        summary: "Leave an internal note",
    },
    Verb {
        name: "dm",
        usage: "",
        help: "answer by DM from now on",
        summary: "Answer by DM from now on",
    },
    Verb {
        name: "public",
        usage: "",
        help: "answer by public reply from now on",
        summary: "Answer by public reply from now on",
    },
    Verb {
        name: "reply",
        usage: "<name>",
        help: "send a saved reply as your reply (signed; claims like a reply)",
        summary: "Send a saved reply as your reply: <name> [#42]",
    },
    Verb {
        name: "followup",
        usage: "<3d> [note]",
        help:
            "on a resolved ticket: remind you then, with the note (`followup cancel` takes it back)",
        summary: "Remind you of a resolved ticket: 3d [note], or cancel",
    },
    Verb {
        name: "snooze",
        usage: "<2h>",
        help: "hide an open ticket from the queue until then (`snooze off` brings it back)",
        summary: "Hide an open ticket from the queue: 2h, or off",
    },
    Verb {
        name: "forward",
        usage: "@account [note]",
        help: "move it to another brand account's queue and channels, with a note",
        summary: "Move the ticket to another brand account: @account [note]",
    },
    Verb {
        name: "replies",
        usage: "",
        help: "the saved replies",
        summary: "The saved replies",
    },
    Verb {
        name: "queue",
        usage: "",
        help: "unclaimed tickets, most urgent and oldest first",
        summary: "Unclaimed tickets, most urgent first",
    },
    Verb {
        name: "mine",
        usage: "",
        help: "the tickets you hold",
        summary: "The tickets you hold",
    },
    Verb {
        name: "stats",
        usage: "[period]",
        help: "response rate and time to first response (today, 24h, 7d, 30d; default 7d)",
        summary: "Response rate and time to first response: today, 7d, 30d",
    },
    Verb {
        name: "oncall",
        usage: "[me|@agent] [for 4h]",
        help: "who is on call now and next; `oncall me for 4h` stands in (leads: `oncall @sam`)",
        summary: "Who is on call; stand in: me [for 4h], or @agent (leads)",
    },
    Verb {
        name: "help",
        usage: "",
        help: "this text",
        summary: "What perch understands",
    },
];
