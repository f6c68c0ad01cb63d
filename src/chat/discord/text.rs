//! Discord's text rules, both ways.
//!
//! Outbound, pings are stopped by `allowed_mentions` with nothing to parse
//! (sent on every post), and markdown in quoted words is escaped where it
//! would mislead: emphasis, code, spoilers, quotes, headings and masked
//! links. Inbound, `to_x` turns what an agent wrote into what the customer
//! should read.

use crate::chat::markup::{
    disarm_everyone, link_text, name_of, strip_line_marks, strip_marks, Held, Names, Ref,
};

/// How Discord writes quoted words (markdown escaped) and moments
/// (`<t:…>`: the reader's own time, and how long until then, counting).
pub const STYLE: crate::chat::Style = crate::chat::Style {
    inert: escape,
    moment: |t| format!("<t:{0}:T> (<t:{0}:R>)", t.timestamp()),
    ping: |m| match (&m.discord, m.group) {
        (Some(id), false) => format!("<@{id}>"),
        (Some(id), true) => format!("<@&{id}>"),
        (None, _) => format!("@{}", escape(&m.name)),
    },
};

/// Escapes Discord markdown so customer text shows as written.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut at_line_start = true;
    for c in text.chars() {
        let special = matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '(' | ')'
        ) || (at_line_start && matches!(c, '>' | '#' | '-'));
        if special {
            out.push('\\');
        }
        out.push(c);
        at_line_start = c == '\n' || (at_line_start && c == ' ');
    }
    out
}

/// A `<…>` token, a masked link, or a backslash escape: what `to_x`
/// reads before the formatting marks.
static TOKEN: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
    regex::Regex::new(concat!(
        r"<@!?(?P<user>\d+)>|<@&(?P<role>\d+)>|<#(?P<channel>\d+)>",
        r"|<a?:(?P<emoji>\w+):\d+>|<t:(?P<time>-?\d+)(?::[tTdDfFR])?>",
        r"|</(?P<command>[\w -]+):\d+>|<(?P<url>https?://[^\s>]+)>",
        r"|\[(?P<label>[^\]\n]+)\]\((?P<target>https?://[^\s)]+)\)",
        r"|\\(?P<escaped>[^\w\s])",
    ))
    .ok()
});

/// What `text` names by id, to look up before `to_x`.
pub fn refs(text: &str) -> Vec<Ref> {
    let Some(re) = TOKEN.as_ref() else {
        return Vec::new();
    };
    re.captures_iter(text)
        .filter_map(|c| {
            if let Some(id) = c.name("user") {
                Some(Ref::User(id.as_str().to_owned()))
            } else if let Some(id) = c.name("role") {
                Some(Ref::Group(id.as_str().to_owned()))
            } else {
                c.name("channel")
                    .map(|id| Ref::Channel(id.as_str().to_owned()))
            }
        })
        .collect()
}

/// What an agent wrote in Discord, as the customer should read it on X:
/// mentions as names without `@` (`@everyone` and `@here` as words),
/// channels as `#name`, custom emoji as `:name:`, timestamps in UTC, links
/// as their address (and label when it differs), markdown marks removed.
pub fn to_x(text: &str, names: &Names) -> String {
    let Some(re) = TOKEN.as_ref() else {
        return text.to_owned();
    };
    let mut shown = Held::default();
    let held = re.replace_all(text, |c: &regex::Captures<'_>| {
        let id = |k: &str| c.name(k).map(|m| m.as_str().to_owned());
        let words = if let Some(u) = id("user") {
            name_of(names, &Ref::User(u))
        } else if let Some(r) = id("role") {
            name_of(names, &Ref::Group(r))
        } else if let Some(ch) = id("channel") {
            format!("#{}", name_of(names, &Ref::Channel(ch)))
        } else if let Some(e) = id("emoji") {
            format!(":{e}:")
        } else if let Some(t) = id("time") {
            t.parse::<i64>()
                .ok()
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        } else if let Some(command) = id("command") {
            format!("/{command}")
        } else if let Some(url) = id("url") {
            url
        } else if let (Some(label), Some(target)) = (id("label"), id("target")) {
            link_text(&target, Some(&label))
        } else {
            id("escaped").unwrap_or_default()
        };
        shown.hold(words).to_string()
    });
    let plain = strip_line_marks(&held, &[">>> ", "> ", "### ", "## ", "# ", "-# "]);
    let plain = strip_marks(&plain, &["```", "**", "__", "~~", "||", "*", "_", "`"]);
    shown.restore(&disarm_everyone(&plain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_in_a_tweet_is_shown_as_written() {
        assert_eq!(
            escape("**free** `money` ||spoiler|| [click](https://evil)"),
            r"\*\*free\*\* \`money\` \|\|spoiler\|\| \[click\]\(https://evil\)"
        );
        assert_eq!(
            escape("> not a quote\n# not a heading"),
            "\\> not a quote\n\\# not a heading"
        );
        assert_eq!(escape("a - b > c"), "a - b > c");
        assert_eq!(escape("@everyone hi"), "@everyone hi");
    }

    #[test]
    fn an_agents_discord_message_reads_on_x_as_the_table_says() {
        let mut names = Names::new();
        names.insert(Ref::User("123".into()), "Sam Lee".into());
        names.insert(Ref::Channel("77".into()), "billing".into());
        names.insert(Ref::Group("55".into()), "Agents".into());
        let cases = [
            ("ask <@123> or <@!123>", "ask Sam Lee or Sam Lee"),
            ("ask <@999>", "ask a colleague"),
            ("<@&55> will call", "Agents will call"),
            ("see <#77>", "see #billing"),
            (
                "love it <:acme:1066> <a:party:1067>",
                "love it :acme: :party:",
            ),
            (
                "**bold** *it* __under__ ~~gone~~ ||hidden|| `ORD_1`",
                "bold it under gone hidden ORD_1",
            ),
            ("@everyone and @here", "everyone and here"),
            (
                "[our help](https://acme.com/help)",
                "our help (https://acme.com/help)",
            ),
            ("[acme.com](https://acme.com)", "https://acme.com"),
            ("<https://acme.com/a_b_c>", "https://acme.com/a_b_c"),
            ("https://acme.com/a_b_c", "https://acme.com/a_b_c"),
            ("> you said\n# Sorry\nfixed", "you said\nSorry\nfixed"),
            ("2\\*3 is \\*not\\* bold", "2*3 is *not* bold"),
            ("at <t:1700000000:R>", "at 2023-11-14 22:13 UTC"),
            ("<!channel> is Slack's", "<!channel> is Slack's"),
            ("snake_case stays", "snake_case stays"),
        ];
        for (input, want) in cases {
            assert_eq!(to_x(input, &names), want, "{input:?}");
        }
        assert_eq!(
            refs("<@1> <@!2> <@&3> <#4> <:e:5>"),
            vec![
                Ref::User("1".into()),
                Ref::User("2".into()),
                Ref::Group("3".into()),
                Ref::Channel("4".into())
            ]
        );
    }
}
