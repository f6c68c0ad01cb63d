//! The command grammar every chat platform shares: what follows `/perch`
//! on Slack or Discord, and what the buttons map to.

use std::time::Duration;

pub use super::figures::Span;
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
    Stats { period: Span },
    /// Who is on call now and next (`oncall`), or someone standing in:
    /// the caller (`oncall me [for 4h]`) or, for leads, an agent
    /// (`oncall @sam [for 4h]`); without `for`, until the shift ends.
    OnCall { stand_in: Option<StandInAsk> },
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
    /// Remind whoever set it, `after` from now, of a resolved ticket
    /// (`None`: take the follow-up back).
    FollowUp {
        after: Option<Duration>,
        note: Option<String>,
    },
    /// Hide an open ticket from the queue for `span` (`None`: bring it
    /// back now).
    Snooze {
        span: Option<Duration>,
    },
    /// Move the ticket to another brand account's queue (`@handle` or
    /// key, as written).
    Forward {
        to: String,
        note: Option<String>,
    },
}

/// `oncall me` / `oncall @sam`, with how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandInAsk {
    /// `None`: the caller.
    pub who: Option<AgentMention>,
    pub for_: Option<Duration>,
}

/// How a command names an agent: a platform mention, or a configured
/// agent's key, name or initials (`@sam`, `sam`, `SK`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentMention {
    Slack(SlackUserId),
    Discord(DiscordUserId),
    Name(String),
}

/// The help text, from `VERBS`.
pub fn help_text() -> String {
    let mut out = "perch commands. In a ticket thread they act on that ticket; elsewhere add its number (#42).\nIn a thread, write them to perch: `@perch resolve shipped`.".to_owned();
    for v in VERBS {
        let written = if v.usage.is_empty() {
            v.name.to_owned()
        } else {
            format!("{} {}", v.name, v.usage)
        };
        out.push_str(&format!("\n  {written:<16} {}", v.help));
    }
    out
}

/// The verbs Discord offers as `/perch` subcommands: each name once.
pub fn subcommands() -> impl Iterator<Item = &'static Verb> {
    VERBS.iter().filter(|v| !v.summary.is_empty())
}

/// A thread message meant for perch, not for the customer: one that
/// opens with perch's name (`@perch resolve shipped`, `perch: claim`,
/// `/perch queue`), or that is nothing but a command with no words a
/// customer could be meant to read (`claim`, `resolve #42`, `dm`). The
/// command's text, without the name.
pub fn addressed_to_perch(text: &str) -> Option<&str> {
    let text = text.trim();
    let (first, rest) = split_word(text);
    let name = first
        .trim_start_matches(['@', '/'])
        .trim_end_matches([':', ',']);
    if name.eq_ignore_ascii_case("perch") {
        return Some(rest);
    }
    let bare = match parse(text) {
        ChatCommand::Help { problem } => problem.is_none() && !text.is_empty(),
        // Verbs followed by free words need perch's name: the words could
        // be meant for the customer.
        ChatCommand::Ticket {
            action:
                TicketAction::Resolve { note: Some(_) }
                | TicketAction::FollowUp { note: Some(_), .. }
                | TicketAction::Forward { note: Some(_), .. }
                | TicketAction::Note { .. }
                | TicketAction::SavedReply { .. },
            ..
        } => false,
        _ => true,
    };
    bare.then_some(text)
}

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
        "oncall" | "on-call" => parse_oncall(rest),
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
        "followup" | "follow-up" => parse_follow_up(rest),
        "forward" => {
            let (ticket, rest) = take_ticket(rest);
            let (to, note) = split_word(rest);
            match to.strip_prefix('@').filter(|h| {
                !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            }) {
                Some(handle) => ticket_cmd(
                    ticket,
                    TicketAction::Forward {
                        to: handle.to_owned(),
                        note: (!note.is_empty()).then(|| note.to_owned()),
                    },
                ),
                None => help(format!(
                    "`forward` takes the account as @handle, then an optional note: `forward @AcmeBilling refund over $500`, not `{}`",
                    truncate(rest, 40)
                )),
            }
        }
        "snooze" => {
            let (ticket, rest) = take_ticket(rest);
            match rest.to_ascii_lowercase().as_str() {
                "off" | "cancel" => ticket_cmd(ticket, TicketAction::Snooze { span: None }),
                other => match span(other, 60, 30 * 24 * 3600) {
                    Some(d) => ticket_cmd(ticket, TicketAction::Snooze { span: Some(d) }),
                    None => help(format!(
                        "`snooze` takes how long, a minute to 30 days (`snooze 2h`), or `off`, not `{}`",
                        truncate(rest, 40)
                    )),
                },
            }
        }
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

fn parse_oncall(rest: &str) -> ChatCommand {
    let (who, after) = split_word(rest);
    if who.is_empty() {
        return ChatCommand::OnCall { stand_in: None };
    }
    let who = if who.eq_ignore_ascii_case("me") {
        None
    } else {
        match parse_mention(who) {
            Some(m) => Some(m),
            None => {
                return help(format!(
                    "`oncall` takes `me` or an agent, then optionally how long: `oncall me for 4h`, not `{}`",
                    truncate(rest, 40)
                ))
            }
        }
    };
    let span = after
        .strip_prefix("for ")
        .map_or(after, str::trim)
        .to_ascii_lowercase();
    let for_ = match span.as_str() {
        "" => None,
        other => match humantime::parse_duration(other) {
            Ok(d) if d.as_secs() >= 60 && d.as_secs() <= 14 * 24 * 3600 => Some(d),
            _ => {
                return help(format!(
                    "`{}` is not how long to stand in: try `for 4h` (a minute to two weeks)",
                    truncate(after, 40)
                ))
            }
        },
    };
    ChatCommand::OnCall {
        stand_in: Some(StandInAsk { who, for_ }),
    }
}

/// A span of `min_secs` to `max_secs`, as `humantime` reads it.
fn span(text: &str, min_secs: u64, max_secs: u64) -> Option<Duration> {
    humantime::parse_duration(text)
        .ok()
        .filter(|d| (min_secs..=max_secs).contains(&d.as_secs()))
}

fn parse_follow_up(rest: &str) -> ChatCommand {
    let (ticket, rest) = take_ticket(rest);
    let (when, note) = split_word(rest);
    if when.eq_ignore_ascii_case("cancel") || when.eq_ignore_ascii_case("off") {
        return ticket_cmd(
            ticket,
            TicketAction::FollowUp {
                after: None,
                note: None,
            },
        );
    }
    match span(&when.to_ascii_lowercase(), 60, 90 * 24 * 3600) {
        Some(after) => ticket_cmd(
            ticket,
            TicketAction::FollowUp {
                after: Some(after),
                note: (!note.is_empty()).then(|| note.to_owned()),
            },
        ),
        None => help(format!(
            "`followup` takes when, a minute to 90 days, then an optional note: `followup 3d check the refund arrived`, not `{}`",
            truncate(rest, 40)
        )),
    }
}

fn parse_stats(rest: &str) -> ChatCommand {
    match Span::parse(rest) {
        Ok(period) => ChatCommand::Stats { period },
        Err(e) => help(e),
    }
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

#[path = "grammar_verbs.rs"]
mod verbs;
pub use verbs::{Verb, VERBS};

#[cfg(test)]
#[path = "grammar_tests.rs"]
mod tests;
