//! Chat markup as a person reads it, on one line: the terminal scene's
//! view of Slack's mrkdwn and Discord's markdown (names for mentions, the
//! fallback of a date, a link's label).

use std::sync::LazyLock;

use regex::{Captures, Regex};

static SLACK_DATE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"<!date\^\d+\^[^|>]*\|([^>]*)>").ok());
static DISCORD_TIME: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"<t:(\d+)(?::([a-zA-Z]))?>").ok());
static MENTION: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"<@!?(\w+)>").ok());
static LINK: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"<(https?://[^|>]+)(?:\|([^>]+))?>").ok());
static FIELD: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\*([^*\n]+)\*\n").ok());
static BOLD: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\*\*?([^*\n]+)\*\*?").ok());
static EMOJI_CODE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r":[a-z][a-z0-9_+-]*: ?").ok());
/// "(in 5 minutes)" after a time already said: the terminal is read later.
static RELATIVE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r" ?\(<t:\d+:R>\)").ok());

fn replace(re: &LazyLock<Option<Regex>>, text: &str, with: impl Fn(&Captures) -> String) -> String {
    match re.as_ref() {
        Some(re) => re.replace_all(text, |c: &Captures| with(c)).into_owned(),
        None => text.to_owned(),
    }
}

/// `text` on one line as a person reads it; `name` names a mentioned id.
pub fn line(text: &str, name: &dyn Fn(&str) -> String) -> String {
    let text = replace(&SLACK_DATE, text, |c| c[1].to_owned());
    let text = replace(&RELATIVE, &text, |_| String::new());
    let text = replace(&DISCORD_TIME, &text, |c| {
        let at = c[1]
            .parse()
            .ok()
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0));
        at.map_or_else(
            || c[0].to_owned(),
            |at| format!("{} UTC", at.format("%H:%M")),
        )
    });
    let text = replace(&MENTION, &text, |c| format!("@{}", name(&c[1])));
    let text = replace(&LINK, &text, |c| match c.get(2) {
        Some(label) => format!("{} {}", label.as_str(), &c[1]),
        None => c[1].to_owned(),
    });
    let text = replace(&FIELD, &text, |c| format!("{}: ", &c[1]));
    let text = replace(&BOLD, &text, |c| c[1].to_owned());
    let text = replace(&EMOJI_CODE, &text, |_| String::new());
    let text = html_escape::decode_html_entities(&text).into_owned();
    text.lines()
        .map(|l| l.trim().trim_start_matches('>').trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_markup_reads_as_one_plain_line() {
        let name = |id: &str| {
            if id == "U0SAM" {
                "Sam Lee".to_owned()
            } else {
                id.to_owned()
            }
        };
        assert_eq!(
            line(
                "🚨 #2 · Late: due at <!date^1796529880^{time_secs}|04:04:40 UTC>. <@U0SAM>, please claim it",
                &name
            ),
            "🚨 #2 · Late: due at 04:04:40 UTC. @Sam Lee, please claim it"
        );
        assert_eq!(
            line(
                "*Priority*\n:red_circle: urgent | <https://x.com/a/status/1|View on X>",
                &name
            ),
            "Priority: urgent | View on X https://x.com/a/status/1"
        );
        assert_eq!(
            line(
                "due at <t:1796529880:T> (<t:1796529880:R>)\n**ok** &amp; done",
                &name
            ),
            "due at 04:04 UTC · ok & done"
        );
    }
}
