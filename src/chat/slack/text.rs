//! Slack's text rules, both ways.
//!
//! Outbound: Slack reads `<…>` as links, mentions and `<!channel>`, so
//! text from X is escaped (`&`, `<`, `>`) and cannot ping or fool anyone.
//! Inbound: an agent's message arrives with Slack's escapes and markup;
//! `to_x` turns it into what the customer should read.

use crate::chat::markup::{link_text, name_of, strip_line_marks, strip_marks, Held, Names, Ref};

/// How Slack writes quoted words (escaped) and moments (`<!date>`, shown
/// in each reader's time zone, with UTC for clients that cannot).
pub const STYLE: crate::chat::Style = crate::chat::Style {
    inert: escape,
    moment: |t| {
        format!(
            "<!date^{}^{{time_secs}}|{} UTC>",
            t.timestamp(),
            t.format("%H:%M:%S")
        )
    },
    ping: |m| match (&m.slack, m.group) {
        (Some(id), false) => format!("<@{id}>"),
        (Some(id), true) => format!("<!subteam^{id}>"),
        (None, _) => format!("@{}", escape(&m.name)),
    },
};

/// Makes text inert for Slack: `&` `<` `>` escaped, as Slack documents.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// A link we make: `<url|label>`, with the label escaped and `|` and `>`
/// kept out of the URL, so a link can never be re-opened from inside.
pub fn link(url: &str, label: &str) -> String {
    let url: String = url
        .chars()
        .filter(|c| !matches!(c, '|' | '>' | '<' | ' '))
        .collect();
    format!("<{url}|{}>", escape(label).replace('|', "¦"))
}

/// One `<…>` token of Slack's markup.
enum Token<'a> {
    User {
        id: &'a str,
        label: Option<&'a str>,
    },
    Channel {
        id: &'a str,
        label: Option<&'a str>,
    },
    Group {
        id: &'a str,
        label: Option<&'a str>,
    },
    /// `<!here>`, `<!channel>`, `<!everyone>`.
    Everyone(&'a str),
    /// `<!date^…|fallback>` and other specials: their fallback.
    Fallback(&'a str),
    Link {
        url: &'a str,
        label: Option<&'a str>,
    },
}

fn token(inner: &str) -> Token<'_> {
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(l).filter(|l| !l.is_empty())),
        None => (inner, None),
    };
    if let Some(id) = target.strip_prefix('@') {
        Token::User { id, label }
    } else if let Some(id) = target.strip_prefix('#') {
        Token::Channel { id, label }
    } else if let Some(id) = target.strip_prefix("!subteam^") {
        Token::Group { id, label }
    } else if let Some(special) = target.strip_prefix('!') {
        match special {
            "here" | "channel" | "everyone" => Token::Everyone(special),
            _ => Token::Fallback(label.unwrap_or_default()),
        }
    } else {
        Token::Link { url: target, label }
    }
}

/// The `<…>` tokens of `text`, with the plain text between them.
fn split(text: &str) -> Vec<Result<&str, Token<'_>>> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            break;
        };
        parts.push(Ok(&rest[..open]));
        parts.push(Err(token(&after[..close])));
        rest = &after[close + 1..];
    }
    parts.push(Ok(rest));
    parts
}

/// What `text` names by id only, to look up before `to_x`.
pub fn refs(text: &str) -> Vec<Ref> {
    split(text)
        .into_iter()
        .filter_map(|part| match part {
            Err(Token::User { id, label: None }) => Some(Ref::User(id.to_owned())),
            Err(Token::Channel { id, label: None }) => Some(Ref::Channel(id.to_owned())),
            Err(Token::Group { id, label: None }) => Some(Ref::Group(id.to_owned())),
            _ => None,
        })
        .collect()
}

/// Slack's escapes undone, as Slack documents them.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// What an agent wrote in Slack, as the customer should read it on X:
/// mentions as names without `@`, channels as `#name`, links as their
/// address (and label when it differs), emoji shortcodes as emoji,
/// formatting marks and quote marks removed, Slack's escapes undone.
pub fn to_x(text: &str, names: &Names) -> String {
    let mut shown = Held::default();
    let mut held = String::with_capacity(text.len());
    for part in split(text) {
        let t = match part {
            Ok(plain) => {
                held.push_str(plain);
                continue;
            }
            Err(t) => t,
        };
        let words = match t {
            Token::User { id, label } => label.map_or_else(
                || name_of(names, &Ref::User(id.to_owned())),
                |l| l.trim_start_matches('@').to_owned(),
            ),
            Token::Channel { id, label } => format!(
                "#{}",
                label.map_or_else(
                    || name_of(names, &Ref::Channel(id.to_owned())),
                    str::to_owned
                )
            ),
            Token::Group { id, label } => label.map_or_else(
                || name_of(names, &Ref::Group(id.to_owned())),
                |l| l.trim_start_matches('@').to_owned(),
            ),
            Token::Everyone(word) => word.to_owned(),
            Token::Fallback(words) => words.to_owned(),
            Token::Link { url, label } => link_text(url, label),
        };
        held.push(shown.hold(unescape(&words)));
    }
    let plain = strip_line_marks(&unescape(&held), &["> ", ">"]);
    shown.restore(&emoji(&strip_marks(&plain, &["```", "*", "_", "~", "`"])))
}

/// `:tada:` and `:+1::skin-tone-3:` as the emoji; shortcodes no emoji
/// has (a workspace's own) stay as written.
fn emoji(text: &str) -> String {
    static SHORTCODE: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r":([a-z0-9_+'-]+):(?::skin-tone-([2-6]):)?").ok()
    });
    let Some(re) = SHORTCODE.as_ref() else {
        return text.to_owned();
    };
    re.replace_all(text, |c: &regex::Captures<'_>| {
        let Some(found) = c.get(1).and_then(|n| emojis::get_by_shortcode(n.as_str())) else {
            return c[0].to_owned();
        };
        let tone = c.get(2).and_then(|t| match t.as_str() {
            "2" => Some(emojis::SkinTone::Light),
            "3" => Some(emojis::SkinTone::MediumLight),
            "4" => Some(emojis::SkinTone::Medium),
            "5" => Some(emojis::SkinTone::MediumDark),
            "6" => Some(emojis::SkinTone::Dark),
            _ => None,
        });
        tone.and_then(|t| found.with_skin_tone(t))
            .unwrap_or(found)
            .as_str()
            .to_owned()
    })
    .into_owned()
}

/// A command's text as the grammar reads it: Slack's escapes undone,
/// mentions kept as `<@U…>` (the grammar knows people by id).
pub fn command_text(text: &str) -> String {
    unescape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_x_cannot_ping_or_forge_links() {
        let tweet = "<!channel> hey <@U123> see <https://evil.example|https://acme.com> & more";
        let safe = escape(tweet);
        assert_eq!(
            safe,
            "&lt;!channel&gt; hey &lt;@U123&gt; see &lt;https://evil.example|https://acme.com&gt; &amp; more"
        );
        assert!(!safe.contains('<') && !safe.contains('>'));
    }

    #[test]
    fn our_links_keep_their_label_inert() {
        assert_eq!(
            link("https://x.com/a/status/1", "View <on> X"),
            "<https://x.com/a/status/1|View &lt;on&gt; X>"
        );
        assert_eq!(link("https://x.com/a|b>c", "x"), "<https://x.com/abc|x>");
    }

    #[test]
    fn an_agents_slack_message_reads_on_x_as_the_table_says() {
        let mut names = Names::new();
        names.insert(Ref::User("U0SAMLEE1".into()), "Sam Lee".into());
        names.insert(Ref::Channel("C0BILLING".into()), "billing".into());
        let cases = [
            (":pray: :tada:", "🙏 🎉"),
            (":+1::skin-tone-3: thanks", "👍🏼 thanks"),
            (":acme-logo: stays", ":acme-logo: stays"),
            ("at 12:30:45 sharp", "at 12:30:45 sharp"),
            ("ask <@U0SAMLEE1>", "ask Sam Lee"),
            ("ask <@U0SAMLEE1|sam>", "ask sam"),
            ("ask <@U0NOBODY1>", "ask a colleague"),
            (
                "see <#C0BILLING> or <#C0HELP|help>",
                "see #billing or #help",
            ),
            ("<!subteam^S0AGENTS|@agents> will call", "agents will call"),
            ("<!here> <!channel> <!everyone>", "here channel everyone"),
            ("<https://x.com|label>", "label (https://x.com)"),
            (
                "<https://acme.com/help|acme.com/help>",
                "https://acme.com/help",
            ),
            ("<https://acme.com/a_b_c>", "https://acme.com/a_b_c"),
            (
                "mail <mailto:help@acme.com|help@acme.com>",
                "mail help@acme.com",
            ),
            ("*really* _sorry_ ~late~ `ORD-1`", "really sorry late ORD-1"),
            ("&gt; you said\nwe hear you", "you said\nwe hear you"),
            ("fish &amp; chips &lt;3", "fish & chips <3"),
            ("<!date^1392734382^{date}|Feb 18, 2014>", "Feb 18, 2014"),
            ("no closing < bracket", "no closing < bracket"),
            (
                "*see <https://acme.com/x_y|docs>*",
                "see docs (https://acme.com/x_y)",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(to_x(input, &names), want, "{input:?}");
        }
    }

    #[test]
    fn only_what_carries_no_name_is_looked_up() {
        assert_eq!(
            refs("<@U1> <@U2|kim> <#C1> <#C2|x> <!subteam^S1> <!subteam^S2|@a> <https://a>"),
            vec![
                Ref::User("U1".into()),
                Ref::Channel("C1".into()),
                Ref::Group("S1".into())
            ]
        );
        assert_eq!(command_text("assign <@U1> &amp; go"), "assign <@U1> & go");
    }
}
