//! Chat markup as a person reads it, on one line, for the terminal
//! scene: perch's own reading of Slack's mrkdwn and Discord's markdown
//! (`chat::{slack,discord}::text::to_x`: names for mentions, a date's
//! fallback, a link's address), each field's title before its value.

use std::sync::LazyLock;

use regex::Regex;

use crate::chat::markup::{Names, Ref};
use crate::chat::{discord, slack};

/// A card field, `*Title*` on its own line above its value.
static FIELD: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\*([^*\n]+)\*\n").ok());

/// A Slack text on one line; `name` names a mentioned user id.
pub fn slack_line(text: &str, name: &dyn Fn(&str) -> String) -> String {
    let text = fields(text);
    one_line(&slack::text::to_x(
        &text,
        &names(slack::text::refs(&text), name),
    ))
}

/// A Discord text on one line; `name` names a mentioned user id.
pub fn discord_line(text: &str, name: &dyn Fn(&str) -> String) -> String {
    one_line(&discord::text::to_x(
        text,
        &names(discord::text::refs(text), name),
    ))
}

fn fields(text: &str) -> String {
    match FIELD.as_ref() {
        Some(re) => re.replace_all(text, "$1: ").into_owned(),
        None => text.to_owned(),
    }
}

fn names(refs: Vec<Ref>, name: &dyn Fn(&str) -> String) -> Names {
    refs.into_iter()
        .filter_map(|r| match &r {
            Ref::User(id) => Some((r.clone(), name(id))),
            _ => None,
        })
        .collect()
}

fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_markup_reads_as_one_plain_line() {
        let name = |id: &str| match id {
            "U0SAM" | "42" => "Sam Lee".to_owned(),
            _ => id.to_owned(),
        };
        assert_eq!(
            slack_line(
                "🚨 #2 · Late: due at <!date^1796529880^{time_secs}|04:04:40 UTC>. <@U0SAM>, please claim it",
                &name
            ),
            "🚨 #2 · Late: due at 04:04:40 UTC. Sam Lee, please claim it"
        );
        assert_eq!(
            slack_line(
                "*Priority*\n:red_circle: urgent | <https://x.com/a/status/1|View on X>",
                &name
            ),
            "Priority: 🔴 urgent | View on X (https://x.com/a/status/1)"
        );
        assert_eq!(
            discord_line("due at <t:1796529880:T>, <@42>\n**ok** then", &name),
            "due at 2026-12-06 04:04 UTC, Sam Lee · ok then"
        );
    }
}
