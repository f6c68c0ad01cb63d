//! The command grammar every chat platform shares: what follows `/perch`
//! on Slack or Discord, and what the buttons map to.

use std::time::Duration;

use super::ids::{DiscordUserId, SlackUserId, TicketId};

/// A parsed chat command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatCommand {
    /// Acts on one ticket: the thread's, or the one named with `#42`.
    Ticket {
        ticket: Option<TicketId>,
        action: TicketAction,
    },
    /// Unclaimed tickets, most urgent and oldest first.
    Queue,
    /// Tickets the caller holds.
    Mine,
    /// The saved replies, by name.
    SavedReplies,
    /// Response rate and time to first response over a period.
    Stats { period: Duration },
    /// The help text; `problem` says what was wrong with the input, if
    /// anything.
    Help { problem: Option<String> },
}

/// A command about one ticket, before the agent it names is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketAction {
    Claim {
        force: bool,
    },
    Unclaim,
    Assign {
        to: AgentMention,
    },
    Resolve {
        note: Option<String>,
    },
    Reopen,
    Note {
        text: String,
    },
    Dm,
    Public,
    /// Send the saved reply `name` as the caller's reply.
    SavedReply {
        name: String,
    },
}

/// How a command names an agent: a platform mention, or a configured
/// agent's key, name or initials (`@sam`, `sam`, `SK`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentMention {
    Slack(SlackUserId),
    Discord(DiscordUserId),
    Name(String),
}

/// The default `stats` period.
pub const DEFAULT_STATS_PERIOD: Duration = Duration::from_secs(7 * 24 * 3600);

pub const HELP: &str = "\
perch commands. In a ticket thread they act on that ticket; elsewhere add its number (#42).
  claim            take the ticket: your replies in the thread go to the customer
  claim force      (leads) take a ticket someone else holds
  unclaim          give it back to the queue (also: release)
  assign @agent    (leads) give the ticket to an agent
  resolve [note]   close it, with an optional note
  reopen           open a resolved ticket again
  note <text>      internal note (or start a thread message with // or note:)
  dm | public      answer by DM or by public reply from now on
  reply <name>     send a saved reply as your reply (signed; claims like a reply)
  replies          the saved replies
  queue            unclaimed tickets, most urgent and oldest first
  mine             the tickets you hold
  stats [period]   response rate and time to first response (today, 24h, 7d, 30d; default 7d)
  help             this text";

/// Parses the text of a command. Never fails: anything it does not
/// understand becomes `Help` with the reason.
pub fn parse(text: &str) -> ChatCommand {
    let text = text.trim();
    let (verb, rest) = split_word(text);
    let verb = verb.to_ascii_lowercase();
    match verb.as_str() {
        "" | "help" | "?" => ChatCommand::Help { problem: None },
        "queue" => no_args(rest, "queue", ChatCommand::Queue),
        "mine" => no_args(rest, "mine", ChatCommand::Mine),
        "replies" => no_args(rest, "replies", ChatCommand::SavedReplies),
        "reply" => {
            let (ticket, name) = take_ticket(rest);
            if name.is_empty() || name.contains(char::is_whitespace) {
                return help(
                    "`reply` takes a saved reply's name: `reply refund` (`replies` lists them)"
                        .to_owned(),
                );
            }
            ticket_cmd(
                ticket,
                TicketAction::SavedReply {
                    name: name.to_owned(),
                },
            )
        }
        "stats" => parse_stats(rest),
        "claim" => {
            let (ticket, rest) = take_ticket(rest);
            match rest.to_ascii_lowercase().as_str() {
                "" => ticket_cmd(ticket, TicketAction::Claim { force: false }),
                "force" | "--force" | "!" => {
                    ticket_cmd(ticket, TicketAction::Claim { force: true })
                }
                other => help(format!(
                    "`claim` takes no `{other}`: try `claim` or `claim force`"
                )),
            }
        }
        "claim!" => simple(rest, "claim!", TicketAction::Claim { force: true }),
        "unclaim" | "release" => simple(rest, "unclaim", TicketAction::Unclaim),
        "reopen" => simple(rest, "reopen", TicketAction::Reopen),
        "dm" => simple(rest, "dm", TicketAction::Dm),
        "public" => simple(rest, "public", TicketAction::Public),
        "assign" => parse_assign(rest),
        "resolve" => {
            let (ticket, note) = take_ticket(rest);
            let note = (!note.is_empty()).then(|| note.to_owned());
            ticket_cmd(ticket, TicketAction::Resolve { note })
        }
        "note" => {
            let (ticket, note) = take_ticket(rest);
            if note.is_empty() {
                return help("`note` needs text: `note called the courier`".to_owned());
            }
            ticket_cmd(
                ticket,
                TicketAction::Note {
                    text: note.to_owned(),
                },
            )
        }
        _ => help(format!("unknown command `{}`", truncate(text, 40))),
    }
}

fn split_word(text: &str) -> (&str, &str) {
    match text.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (text, ""),
    }
}

/// Takes a leading `#42` (or trailing, when it is the only other word).
fn take_ticket(rest: &str) -> (Option<TicketId>, &str) {
    let (first, after) = split_word(rest);
    if first.starts_with('#') {
        if let Ok(id) = first.parse() {
            return (Some(id), after);
        }
    }
    if let Some((before, last)) = rest.rsplit_once(char::is_whitespace) {
        if last.starts_with('#') {
            if let Ok(id) = last.parse() {
                return (Some(id), before.trim());
            }
        }
    }
    (None, rest)
}

fn parse_assign(rest: &str) -> ChatCommand {
    let (ticket, rest) = take_ticket(rest);
    let (who, extra) = split_word(rest);
    if who.is_empty() {
        return help("`assign` needs an agent: `assign @sam`".to_owned());
    }
    if !extra.is_empty() {
        return help(format!(
            "`assign` takes one agent, not `{}`",
            truncate(rest, 40)
        ));
    }
    match parse_mention(who) {
        Some(to) => ticket_cmd(ticket, TicketAction::Assign { to }),
        None => help(format!(
            "`{}` is not an agent: use @name",
            truncate(who, 40)
        )),
    }
}

/// `<@U123>`, `<@U123|sam>` (Slack), `<@123>`, `<@!123>` (Discord), `@sam`, `sam`.
fn parse_mention(word: &str) -> Option<AgentMention> {
    if let Some(inner) = word.strip_prefix("<@").and_then(|w| w.strip_suffix('>')) {
        let inner = inner.strip_prefix('!').unwrap_or(inner);
        let id = inner.split('|').next().unwrap_or_default();
        if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
            return Some(AgentMention::Discord(id.into()));
        }
        if id.len() > 1 && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Some(AgentMention::Slack(id.into()));
        }
        return None;
    }
    let name = word.strip_prefix('@').unwrap_or(word);
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    ok.then(|| AgentMention::Name(name.to_owned()))
}

fn parse_stats(rest: &str) -> ChatCommand {
    let period = match rest.to_ascii_lowercase().as_str() {
        "" => DEFAULT_STATS_PERIOD,
        "today" | "day" => Duration::from_secs(24 * 3600),
        "week" => DEFAULT_STATS_PERIOD,
        "month" => Duration::from_secs(30 * 24 * 3600),
        other => match humantime::parse_duration(other) {
            Ok(d) if d.as_secs() >= 60 => d,
            _ => {
                return help(format!(
                    "`{}` is not a period: try today, 24h, 7d or 30d",
                    truncate(other, 40)
                ))
            }
        },
    };
    ChatCommand::Stats { period }
}

fn simple(rest: &str, verb: &str, action: TicketAction) -> ChatCommand {
    let (ticket, rest) = take_ticket(rest);
    if rest.is_empty() {
        ticket_cmd(ticket, action)
    } else {
        help(format!(
            "`{verb}` takes nothing but a ticket number, not `{}`",
            truncate(rest, 40)
        ))
    }
}

fn no_args(rest: &str, verb: &str, command: ChatCommand) -> ChatCommand {
    if rest.is_empty() {
        command
    } else {
        help(format!("`{verb}` takes no arguments"))
    }
}

fn ticket_cmd(ticket: Option<TicketId>, action: TicketAction) -> ChatCommand {
    ChatCommand::Ticket { ticket, action }
}

fn help(problem: String) -> ChatCommand {
    ChatCommand::Help {
        problem: Some(problem),
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Whether a thread message is an internal note (`// …` or `note: …`), and
/// its text without the marker.
pub fn internal_note(text: &str) -> Option<&str> {
    let trimmed = text.trim_start();
    if let Some(rest) = trimmed.strip_prefix("//") {
        return Some(rest.trim());
    }
    let head = trimmed.get(..5)?;
    head.eq_ignore_ascii_case("note:")
        .then(|| trimmed[5..].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(n: u64) -> Option<TicketId> {
        Some(TicketId::new(n))
    }

    fn on(ticket: Option<TicketId>, action: TicketAction) -> ChatCommand {
        ChatCommand::Ticket { ticket, action }
    }

    #[test]
    fn the_grammar_parses_what_agents_type() {
        let cases: Vec<(&str, ChatCommand)> = vec![
            ("claim", on(None, TicketAction::Claim { force: false })),
            ("  CLAIM  ", on(None, TicketAction::Claim { force: false })),
            ("claim #42", on(t(42), TicketAction::Claim { force: false })),
            ("claim force", on(None, TicketAction::Claim { force: true })),
            (
                "claim #7 force",
                on(t(7), TicketAction::Claim { force: true }),
            ),
            ("claim!", on(None, TicketAction::Claim { force: true })),
            ("unclaim", on(None, TicketAction::Unclaim)),
            ("release #3", on(t(3), TicketAction::Unclaim)),
            (
                "assign @sam",
                on(
                    None,
                    TicketAction::Assign {
                        to: AgentMention::Name("sam".into()),
                    },
                ),
            ),
            (
                "assign <@U024BE7LH>",
                on(
                    None,
                    TicketAction::Assign {
                        to: AgentMention::Slack("U024BE7LH".into()),
                    },
                ),
            ),
            (
                "assign <@U024BE7LH|sam>",
                on(
                    None,
                    TicketAction::Assign {
                        to: AgentMention::Slack("U024BE7LH".into()),
                    },
                ),
            ),
            (
                "assign <@!80351110224678912>",
                on(
                    None,
                    TicketAction::Assign {
                        to: AgentMention::Discord("80351110224678912".into()),
                    },
                ),
            ),
            (
                "assign @sam #9",
                on(
                    t(9),
                    TicketAction::Assign {
                        to: AgentMention::Name("sam".into()),
                    },
                ),
            ),
            (
                "assign #9 @sam",
                on(
                    t(9),
                    TicketAction::Assign {
                        to: AgentMention::Name("sam".into()),
                    },
                ),
            ),
            ("resolve", on(None, TicketAction::Resolve { note: None })),
            (
                "resolve refunded, thanks",
                on(
                    None,
                    TicketAction::Resolve {
                        note: Some("refunded, thanks".into()),
                    },
                ),
            ),
            (
                "resolve #5 refunded",
                on(
                    t(5),
                    TicketAction::Resolve {
                        note: Some("refunded".into()),
                    },
                ),
            ),
            ("reopen", on(None, TicketAction::Reopen)),
            ("dm", on(None, TicketAction::Dm)),
            ("public", on(None, TicketAction::Public)),
            (
                "note called the courier",
                on(
                    None,
                    TicketAction::Note {
                        text: "called the courier".into(),
                    },
                ),
            ),
            ("queue", ChatCommand::Queue),
            ("replies", ChatCommand::SavedReplies),
            (
                "reply refund #4",
                on(
                    t(4),
                    TicketAction::SavedReply {
                        name: "refund".into(),
                    },
                ),
            ),
            ("mine", ChatCommand::Mine),
            (
                "stats",
                ChatCommand::Stats {
                    period: DEFAULT_STATS_PERIOD,
                },
            ),
            (
                "stats today",
                ChatCommand::Stats {
                    period: Duration::from_secs(86_400),
                },
            ),
            (
                "stats 30d",
                ChatCommand::Stats {
                    period: Duration::from_secs(30 * 86_400),
                },
            ),
            ("help", ChatCommand::Help { problem: None }),
            ("", ChatCommand::Help { problem: None }),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input), want, "input: {input:?}");
        }
    }

    #[test]
    fn anything_else_gets_the_help_text_with_the_reason() {
        for (input, reason) in [
            ("dance", "unknown command `dance`"),
            ("assign", "needs an agent"),
            ("assign @sam @kim", "one agent"),
            ("assign <@>", "is not an agent"),
            ("claim now please", "`claim` takes no"),
            ("queue all", "takes no arguments"),
            ("stats forever", "not a period"),
            ("stats 5s", "not a period"),
            ("note", "needs text"),
            ("reply", "takes a saved reply's name"),
            ("reply sorry about that", "takes a saved reply's name"),
            ("reopen it", "takes nothing but a ticket number"),
        ] {
            match parse(input) {
                ChatCommand::Help { problem: Some(p) } => {
                    assert!(p.contains(reason), "{input:?}: {p}")
                }
                other => panic!("{input:?} parsed as {other:?}"),
            }
        }
    }

    #[test]
    fn long_unknown_input_is_cut_in_the_reason() {
        let long = "x".repeat(500);
        let ChatCommand::Help { problem: Some(p) } = parse(&long) else {
            panic!()
        };
        assert!(p.len() < 100, "{p}");
    }

    #[test]
    fn internal_notes_are_recognised() {
        assert_eq!(internal_note("// just checking"), Some("just checking"));
        assert_eq!(internal_note("Note: call back"), Some("call back"));
        assert_eq!(internal_note("noted, thanks!"), None);
        assert_eq!(internal_note("Hi there"), None);
        assert_eq!(internal_note("é"), None);
    }
}
